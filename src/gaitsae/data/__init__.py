"""Data stage: the Gutenberg/GaitRec reader, the synthetic phantom, and the downloader."""

from gaitsae.data.dataset import GaitDataset

__all__ = ["GaitDataset", "load_dataset"]


def load_dataset(*args, **kwargs) -> GaitDataset:
    """Read one directory (or several, merged) in the Gutenberg/GaitRec layout.

    See gaitsae.data.reader.load_dataset for the parameters.
    """
    from gaitsae.data.reader import load_dataset as _load

    return _load(*args, **kwargs)
