"""Run sweep points as tasks on a Ray cluster (`--ray ADDRESS`): one CPU (and one GPU when the
cluster has GPUs) per point. Every node must have gaitsae installed and see the data and the
sweep directory at the same paths (a shared file system)."""

from __future__ import annotations

import os

from gaitsae.progress import progress as progress_bar

from gaitsae.errors import GaitsaeError
from gaitsae.runtime import ONE_THREAD_ENV
from gaitsae.sweep.point import train_point


def run_ray(todo, address: str, progress: bool = True) -> dict:
    """Like run_local, on the Ray cluster at `address` ("auto", "HOST:PORT" or "ray://HOST:PORT")."""
    try:
        import ray
    except ImportError:
        raise GaitsaeError("--ray needs the ray package: pip install 'gaitsae[ray]'") from None
    env = dict(ONE_THREAD_ENV)
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]  # a development checkout: the workers import the same gaitsae
    try:
        ray.init(address=address, logging_level="ERROR", log_to_driver=False, runtime_env={"env_vars": env})
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise GaitsaeError(f"--ray {address}: cannot connect to a Ray cluster ({str(exc).splitlines()[0]})") from None
    try:
        gpus = 1 if ray.cluster_resources().get("GPU", 0) > 0 else 0
        task = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=0)(train_point)
        refs = {task.remote(str(run_dir), mapping, 1): name for name, run_dir, mapping in todo}
        results, pending = {}, list(refs)
        with progress_bar(len(refs), f"sweep (ray, {'GPU' if gpus else 'CPU'})", "point", enabled=progress) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    try:
                        results[refs[ref]] = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - a point's failure is reported, not fatal
                        cause = getattr(exc, "cause", None) or exc
                        results[refs[ref]] = str(cause).strip().splitlines()[-1]
                    bar.update(1)
        return results
    finally:
        ray.shutdown()
