"""Training throughput quiet and under load, with torch's default threads vs gaitsae's choice.

    python benchmarks/threads.py [--subjects 120] [--epochs 4] [-n 3]

Trains `topk` on a SYNTHETIC phantom (numbers are about the phantom and this machine) as a
separate `gaitsae train` process with OMP_NUM_THREADS unset: `chosen` leaves training.threads
at 0 (gaitsae picks: one thread for these small steps), `default` sets it to the core count
(what torch does by default). "quiet" is one training alone; "loaded" is two at once. The
time is the training loop's own (metrics.json train_seconds); the table gives medians over n
repeats and loaded / quiet. Goal (issue 13): each loaded training within 2.2x of its quiet time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def trainings(data: Path, work: Path, threads: int, epochs: int, at_once: int) -> list[float]:
    """Start `at_once` trainings together; their training seconds."""
    config = work / f"threads{threads}.toml"
    config.write_text(f"[model]\nname = 'topk'\n[training]\nepochs = {epochs}\npatience = 1000\nthreads = {threads}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["PYTHONPATH"] = str(SRC)
    outs = [Path(tempfile.mkdtemp(dir=work)) / "run" for _ in range(at_once)]
    procs = [subprocess.Popen([sys.executable, "-m", "gaitsae", "train", "--data", str(data), "--out", str(out),
                               "--config", str(config), "--quiet"], env=env, stdout=subprocess.DEVNULL)
             for out in outs]
    for p in procs:
        if p.wait() != 0:
            raise SystemExit("a training failed")
    return [json.loads((out / "metrics.json").read_text())["train_seconds"] for out in outs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=120)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("-n", type=int, default=3, help="repeats (default 3)")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        subprocess.run([sys.executable, "-m", "gaitsae", "phantom", "--out", str(work / "data"), "--subjects",
                        str(args.subjects)], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"topk, {args.subjects}-subject SYNTHETIC phantom, {args.epochs} epochs, {cores} cores, "
              f"load average before: {os.getloadavg()[0]:.1f}")
        print(f"{'threads':<22}{'quiet s':>9}{'loaded s':>10}{'loaded/quiet':>14}")
        results = {}
        for name, threads in (("chosen (0 = auto)", 0), (f"default ({cores})", cores)):
            quiet, loaded = [], []
            for _ in range(args.n):
                quiet += trainings(work / "data", work, threads, args.epochs, 1)
                loaded += trainings(work / "data", work, threads, args.epochs, 2)
            q, l = statistics.median(quiet), statistics.median(loaded)
            results[name] = (q, l)
            print(f"{name:<22}{q:>9.2f}{l:>10.2f}{l / q:>13.2f}x", flush=True)
        (cq, cl), (dq, dl) = results.values()
        print(f"default / chosen: quiet {dq / cq:.2f}x, loaded {dl / cl:.2f}x; load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
