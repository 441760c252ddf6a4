"""How fast `gaitsae --help` and `gaitsae SUBCOMMAND --help` answer, and how much memory they take.

    python benchmarks/startup.py                       # this tree's src/
    python benchmarks/startup.py --before /work/main/src   # and compare with another tree

Each command runs N times in a fresh interpreter (OMP_NUM_THREADS=1); the table gives the
median wall time and the peak resident set size (from wait4's rusage of that child alone).
The goal (issue 13): every line under 0.5 s and 100 MB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
COMMANDS = [[], ["demo"], ["phantom"], ["inspect"], ["download"], ["train"], ["encode"], ["analyze"], ["compare"]]


def measure(src: Path, args: list[str], n: int) -> tuple[float, float]:
    """(median seconds, max peak RSS in MB) of `python -m gaitsae ARGS --help`."""
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    times, rss = [], []
    for _ in range(n):
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "gaitsae", *args, "--help"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"gaitsae {' '.join(args)} --help exited {proc.returncode}")
        rss.append(usage.ru_maxrss / 1024)  # kB on Linux
    return statistics.median(times), max(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="runs per command (default 5)")
    parser.add_argument("--before", type=Path, help="another tree's src/ to compare with")
    args = parser.parse_args()
    trees = ([("before", args.before)] if args.before else []) + [("after", SRC)]
    print(f"{'command':<28}" + "".join(f"{name + ' s':>10}{name + ' MB':>11}" for name, _ in trees)
          + ("   time ratio  RSS ratio" if args.before else ""))
    for cmd in COMMANDS:
        row = [measure(src, cmd, args.n) for _, src in trees]
        line = f"{'gaitsae ' + ' '.join(cmd + ['--help']):<28}" + "".join(f"{t:>10.3f}{m:>11.1f}" for t, m in row)
        if args.before:
            line += f"   {row[0][0] / row[1][0]:>9.1f}x {row[0][1] / row[1][1]:>9.1f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
