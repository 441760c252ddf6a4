"""The one exception type for problems a user can fix (bad files, bad configs, bad arguments).

The CLI prints such errors as one line and exits non-zero, without a traceback; anything else
is a bug in gaitsae and keeps its traceback.
"""


class GaitsaeError(Exception):
    """A user-facing error; the message names what is wrong and where (file, row, column, key)."""


class DataError(GaitsaeError):
    """Input data that cannot be read as the Gutenberg/GaitRec layout."""


class ConfigError(GaitsaeError):
    """A config with an unknown key, a wrong type or an out-of-range value."""


class CheckpointError(GaitsaeError):
    """A model or run directory that is missing, truncated, corrupted or does not match."""


class OutputError(GaitsaeError):
    """An output that cannot or must not be written (a user's folder, a locked run, a full disk)."""
