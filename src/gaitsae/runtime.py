"""Intra-op CPU threads chosen for the size of the work, set in one place.

A batch-32 step of a ~520 × 100 model is far too small for a pool of threads: on a busy
2-core machine torch's default (a thread per core, spinning while it waits for work) made an
epoch 7× slower than one thread (issue 13). Small steps run on one thread; large ones on the
cores this process may use. `training.threads` (> 0) overrides the choice. A sweep worker is one
of several processes sharing the machine: `limit_threads(1)` caps the automatic choice in that
process, so N workers do not each take every core.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# Multiply-adds of one encoder pass (batch × inputs × latents) below which one thread is faster:
# a 32 × 520 × 100 step is 1.7 M; the thread pool's hand-offs only pay from ~10 M upwards.
SMALL_STEP = 16_000_000
_limit: int | None = None  # this process's share of the cores (a sweep worker's), None: all
# The environment of a worker process that shares the cores with others: one thread in each
# library's own pool (OpenMP/MKL under torch and numpy, polars' CSV reader), read at import.
ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "POLARS_MAX_THREADS": "1"}


def limit_threads(n: int | None) -> None:
    """Cap the automatic thread choice in this process at n threads (None: no cap)."""
    global _limit
    _limit = n


def choose_threads(requested: int, batch_size: int, n_inputs: int, n_latents: int, device: torch.device) -> int:
    """requested (> 0) as given; else 1 for small steps or a GPU (the CPU only feeds it), else
    every core this process may run on (at most its limit_threads share)."""
    if requested > 0:
        return requested
    if device.type != "cpu" or batch_size * n_inputs * n_latents < SMALL_STEP:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(cores, _limit) if _limit else cores


def use_threads(config, n_inputs: int, device: torch.device) -> int:
    """Set torch's intra-op threads for training `config` on `device`; returns the number set."""
    import torch

    t = config.training
    n = choose_threads(t.threads, t.batch_size, n_inputs, int(config.model.get("n_latents", 1)), device)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
