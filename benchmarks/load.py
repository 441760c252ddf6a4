"""Cold and cached load time of a GaitRec-sized phantom (≥ 75,000 trials, 5 channels × 2 sides).

    python benchmarks/load.py [--patients 2300] [--dir DIR]

Writes the phantom once (or reuses DIR), then times `load_dataset` with an empty cache (cold:
parse 10 CSV files of ~75k rows, validate, cache) and with a filled cache (hash the files'
content, read .npy + .parquet), median of 3 each, and prints their ratio. Targets on a
2-core machine: cold < 30 s, cached < 3 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from gaitsae.data import load_dataset
from gaitsae.data.phantom import write_phantom


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2300, help="GaitRec-style subjects (2,300 ≈ 75k trials)")
    parser.add_argument("--dir", default=None, help="reuse or create the phantom here")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    if args.dir:
        measure(Path(args.dir), args)
        return
    with tempfile.TemporaryDirectory(prefix="gaitsae-load-") as root:  # a GaitRec-size phantom: not left in /tmp
        measure(Path(root), args)


def measure(root: Path, args) -> None:
    """Writes the phantom into root unless it is there, then times cold and cached loads."""
    data = root / "gaitrec"
    if not (data / "GRF_metadata.csv").exists():
        start = time.perf_counter()
        write_phantom(root, n_subjects=1, with_patients=True, n_patients=args.patients, seed=0)
        print(f"wrote phantom in {time.perf_counter() - start:.1f} s")
    cold, cached = [], []
    for _ in range(args.repeats):
        cache = Path(tempfile.mkdtemp(prefix="gaitsae-cache-"))
        start = time.perf_counter()
        ds = load_dataset(data, cache_dir=cache)
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        load_dataset(data, cache_dir=cache)
        cached.append(time.perf_counter() - start)
        shutil.rmtree(cache)
    trials = ds.stances[["session", "trial_id"]].drop_duplicates().shape[0]
    print(f"{trials} trials, {len(ds)} stances, curves {ds.curves.shape}")
    cold_s, cached_s = statistics.median(cold), statistics.median(cached)
    print(f"cold load   median {cold_s:6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in cold)})  target < 30 s")
    print(f"cached load median {cached_s:6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in cached)})  target < 3 s")
    print(f"cold / cached = {cold_s / cached_s:.1f}x")


if __name__ == "__main__":
    main()
