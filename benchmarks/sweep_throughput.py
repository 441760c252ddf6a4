"""Sweep throughput: points per hour with 1 and 2 local workers and through a local Ray head.

    python benchmarks/sweep_throughput.py --points 6 --subjects 20 --epochs 3 [--no-ray]

Small points (a tiny SYNTHETIC phantom, TopK with 32 latents, a few epochs) so the overhead of
starting workers, loading data and writing run directories shows. Each mode sweeps the same
grid ("training.seed" = 0..N-1) into a fresh directory; points per hour count the training phase
(workers or Ray tasks started, data loaded, points trained and saved); the results phase
(baselines, stability across seeds, sweep.parquet/html) is reported beside it.
The Ray head is started on 127.0.0.1 with as many CPUs as the machine has and stopped after.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gaitsae.data.phantom import write_phantom
from gaitsae.sweep import run_sweep


def timed_sweep(spec, out, data, **kw) -> tuple[float, float]:
    start = time.perf_counter()
    result = run_sweep(spec, out, data=data, progress=False, **kw)
    return time.perf_counter() - start, result.train_seconds


def ray_head(cpus: int, temp: str):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    head = subprocess.Popen([str(Path(sys.executable).parent / "ray"), "start", "--head", "--block",
                             "--node-ip-address=127.0.0.1", f"--port={port}", f"--num-cpus={cpus}",
                             "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(180):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return head, f"127.0.0.1:{port}"
        time.sleep(0.5)
    raise RuntimeError("ray head did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=6)
    parser.add_argument("--subjects", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    cpus = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="sweepbench") as tmp:
        tmp = Path(tmp)
        write_phantom(tmp / "data", n_subjects=args.subjects, seed=0, progress=False)
        (tmp / "spec.toml").write_text(f'[model]\nn_latents = 32\nk = 4\n[training]\nepochs = {args.epochs}\n'
                                       f'[grid]\n"training.seed" = {list(range(args.points))}\n')
        modes = [("1 local worker", {"workers": 1}), ("2 local workers", {"workers": 2})]
        head = None
        if not args.no_ray:
            head, address = ray_head(cpus, tempfile.mkdtemp(prefix="ray"))
            modes.append((f"Ray head on 127.0.0.1 ({cpus} CPUs)", {"ray": address}))
        print(f"| mode | points | sweep s | results phase s | training phase s | points / hour |\n|---|---|---|---|---|---|")
        try:
            for i, (name, kw) in enumerate(modes):
                total, train = timed_sweep(tmp / "spec.toml", tmp / f"out{i}", str(tmp / "data"), **kw)
                results = total - train
                print(f"| {name} | {args.points} | {total:.0f} | {results:.0f} | {train:.0f} | "
                      f"{3600 * args.points / train:.0f} |", flush=True)
        finally:
            if head is not None:
                os.killpg(head.pid, signal.SIGTERM)
                try:
                    head.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(head.pid, signal.SIGKILL)
    print(f"\n{args.subjects}-subject SYNTHETIC phantom, TopK 32 latents k=4, {args.epochs} epochs per point; "
          f"{cpus} cores; load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
