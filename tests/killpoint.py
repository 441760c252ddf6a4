"""Run the gaitsae CLI and SIGKILL it right after its Nth file write under a folder: a kill
mid-write at a chosen, repeatable moment (tests/test_data_safety.py).

    python -m tests.killpoint N FOLDER gaitsae-args...

Counted events, each of a path under FOLDER (the reader's cache lives elsewhere and is not
counted): fsio.atomic_path starting (its temporary exists) and finishing (the file is in place),
except for the `.gaitsae` marker; DataFrame.to_parquet and numpy.save finishing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from gaitsae import fsio
from gaitsae.cli import main

N, FOLDER = int(sys.argv[1]), Path(sys.argv[2]).resolve()
_count = 0


def _written(path) -> None:
    global _count
    path = Path(path).absolute()
    if path.name != ".gaitsae" and FOLDER in path.parents:
        _count += 1
        if _count == N:
            os.kill(os.getpid(), signal.SIGKILL)


_atomic_path = fsio.atomic_path


@contextlib.contextmanager
def _counted_atomic_path(path):
    with _atomic_path(path) as tmp:
        _written(path)
        yield tmp
    _written(path)


def _counted(write):
    def counted(obj, path, *args, **kwargs):
        result = write(obj, path, *args, **kwargs)
        if isinstance(path, (str, os.PathLike)):
            _written(path)
        return result
    return counted


fsio.atomic_path = _counted_atomic_path
pd.DataFrame.to_parquet = _counted(pd.DataFrame.to_parquet)
_save = np.save
np.save = lambda path, arr, *a, **k: (_save(path, arr, *a, **k), _written(path))[0]

if __name__ == "__main__":
    sys.exit(main(sys.argv[3:]))
