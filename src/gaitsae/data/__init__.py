"""Data stage: the Gutenberg/GaitRec reader, the synthetic phantom, and the downloader."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gaitsae.data.dataset import GaitDataset

__all__ = ["GaitDataset", "load_dataset"]


def load_dataset(*args, **kwargs) -> GaitDataset:
    """Read one directory (or several, merged) in the Gutenberg/GaitRec layout.

    See gaitsae.data.reader.load_dataset for the parameters.
    """
    from gaitsae.data.reader import load_dataset as _load

    return _load(*args, **kwargs)


def __getattr__(name):
    # GaitDataset on first use: `gaitsae --help` reaches this package without needing pandas.
    if name == "GaitDataset":
        from gaitsae.data.dataset import GaitDataset

        return GaitDataset
    raise AttributeError(f"module 'gaitsae.data' has no attribute {name!r}")
