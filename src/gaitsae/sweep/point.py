"""One sweep point = one ordinary run directory: is it finished, and train (or resume) it.

train_point is what a local worker process or a Ray task runs; it takes and returns plain
values (a path and a config mapping) so it pickles cheaply.
"""

from __future__ import annotations

import time
from pathlib import Path

from gaitsae.errors import GaitsaeError
from gaitsae.training.rundir import REQUIRED

_DATASETS: dict = {}  # per worker process: the dataset of the last data selection, reused by its next points


def is_finished(run_dir) -> bool:
    """A complete run directory with its metrics (what `gaitsae train` leaves at the end)."""
    run_dir = Path(run_dir)
    return all((run_dir / f).is_file() for f in (*REQUIRED, "metrics.json"))


def checkpoint_path(run_dir) -> Path:
    from gaitsae.training.checkpoint import FILE
    return Path(run_dir) / "checkpoint" / FILE


def dataset_of(config):
    """The point's GaitDataset (the worker's last one when the data selection is the same)."""
    from gaitsae.data import load_dataset

    key = (config.data.path, tuple(config.data.channels), tuple(config.data.sides))
    if key not in _DATASETS:
        _DATASETS.clear()
        path = config.data.path
        _DATASETS[key] = load_dataset(path.split(",") if "," in path else path, channels=config.data.channels,
                                      sides=config.data.sides)
    return _DATASETS[key]


def train_point(run_dir: str, mapping: dict, threads: int = 1) -> dict:
    """Train the point's run into run_dir with `threads` torch threads (the automatic thread rule
    may not raise it), resuming from its checkpoint when one exists. Returns {"status":
    "trained"|"resumed", "seconds": wall time}."""
    import torch

    from gaitsae.estimator import GaitSAE
    from gaitsae.runtime import limit_threads
    from gaitsae.training.config import config_from_dict

    torch.set_num_threads(threads)
    limit_threads(threads)
    start = time.perf_counter()
    config = config_from_dict(mapping)
    resume = checkpoint_path(run_dir).is_file()
    try:
        GaitSAE.from_config(config, progress=False).fit(dataset_of(config), run_dir=run_dir, resume=resume)
    except GaitsaeError as exc:  # re-raised as a plain error so it crosses process boundaries intact
        raise RuntimeError(f"{type(exc).__name__}: {exc}") from None
    return {"status": "resumed" if resume else "trained", "seconds": time.perf_counter() - start}
