"""Run sweep points in N local worker processes, one torch thread each."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed


from gaitsae.progress import progress as progress_bar
from gaitsae.runtime import ONE_THREAD_ENV
from gaitsae.sweep.point import train_point


@contextlib.contextmanager
def _one_thread_env():
    """One thread per library pool for the workers started inside (they inherit the environment)."""
    saved = {k: os.environ.get(k) for k in ONE_THREAD_ENV}
    os.environ.update(ONE_THREAD_ENV)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_local(todo, workers: int, progress: bool = True) -> dict:
    """Train points [(name, run_dir, mapping)] in `workers` processes. Returns {name: result dict
    or the exception's message}; one failing point does not stop the others."""
    results: dict = {}
    # spawn, not fork: a forked child would inherit the parent's torch thread pools and locks.
    context = multiprocessing.get_context("spawn")
    with _one_thread_env(), ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = {pool.submit(train_point, str(run_dir), mapping, 1): name for name, run_dir, mapping in todo}
        try:
            with progress_bar(len(futures), "sweep", "point", enabled=progress) as bar:
                for future in as_completed(futures):
                    name = futures[future]
                    try:
                        results[name] = future.result()
                    except Exception as exc:  # noqa: BLE001 - a point's failure is reported, not fatal
                        results[name] = f"{exc}"
                    bar.update()
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return results
