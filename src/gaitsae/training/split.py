"""Subject-wise train/validation/test split: no subject's stances in two splits.

Where a dataset publishes its own split (GaitRec's TEST flags vary within it), its TEST = 1
subjects form its test part; the subjects of other datasets (Gutenberg marks every session
TRAIN) are shuffled with the seed and `test_fraction` of them go to test. Validation subjects
(`val_fraction` of all) are then drawn from the subjects not in test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gaitsae.errors import DataError

SPLITS = ("train", "val", "test")


def split_subjects(stances: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int) -> np.ndarray:
    """Per-stance split names ("train", "val", "test"), assigned by subject."""
    rng = np.random.default_rng(seed)
    subject = stances["subject"]
    test = stances["test"] if "test" in stances else pd.Series(np.nan, index=stances.index)
    published = test.groupby(stances["dataset"]).transform(lambda t: t.nunique() > 1).astype(bool)
    test_subjects = set(subject[published & (test == 1)])
    free = np.array(sorted(set(subject[~published])))
    rng.shuffle(free)
    test_subjects |= set(free[: int(round(test_fraction * len(free)))])
    rest = np.array(sorted(set(subject) - test_subjects))
    rng.shuffle(rest)
    n_val = int(round(val_fraction * subject.nunique()))
    val_subjects = set(rest[:n_val])
    if not test_subjects or not val_subjects or len(rest) <= n_val:
        raise DataError(f"{subject.nunique()} subjects are too few for a train/validation/test split")
    return np.where(subject.isin(test_subjects), "test", np.where(subject.isin(val_subjects), "val", "train"))
