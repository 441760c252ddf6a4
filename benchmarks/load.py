"""Cold and cached load time of a GaitRec-sized phantom (gutenberg/ + gaitrec/, 5 channels × 2 sides).

    python benchmarks/load.py [--subjects 350] [--patients 2300] [--dir DIR]

Writes the phantom once (or reuses DIR, e.g. one written by `gaitsae phantom --subjects 350
--with-patients --patients 2300`), then times `load_dataset(DIR)` (imports not counted) with an
empty cache (cold: parse 25 CSV files, check, fill the cache) and with a filled cache (stat the
files, map curves.npy, read stances.parquet), median of `--repeats` each, and prints their
ratio, and the ratio of the cold load to the bare parse of the same files by pandas (the floor of
a cold load that reads CSV text). Targets (issue 31): cold ≤ 2 s, cached ≤ 0.3 s.
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
    parser.add_argument("--subjects", type=int, default=350, help="Gutenberg-style healthy subjects")
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
    import io

    import pandas as pd

    import gaitsae.data.reader  # noqa: F401  (imports are not part of a load)

    if not (root / "gaitrec" / "GRF_metadata.csv").exists():
        start = time.perf_counter()
        write_phantom(root, n_subjects=args.subjects, with_patients=True, n_patients=args.patients, seed=0)
        print(f"wrote phantom in {time.perf_counter() - start:.1f} s")
    cold, cached, parse = [], [], []
    files = sorted(root.glob("*/GRF_*_PRO_*.csv")) + sorted(root.glob("*/GRF_metadata.csv"))
    for _ in range(args.repeats):
        cache = Path(tempfile.mkdtemp(prefix="gaitsae-cache-"))
        start = time.perf_counter()
        ds = load_dataset(root, cache_dir=cache)
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        load_dataset(root, cache_dir=cache)
        cached.append(time.perf_counter() - start)
        shutil.rmtree(cache)
        start = time.perf_counter()
        for f in files:  # the bare parse, as read_csv calls it, without checks, assembly or cache
            pd.read_csv(io.BytesIO(f.read_bytes()), na_values=["NaN", "nan", ""], keep_default_na=False, low_memory=False)
        parse.append(time.perf_counter() - start)
    trials = ds.stances[["session", "trial_id"]].drop_duplicates().shape[0]
    print(f"{trials} trials, {len(ds)} stances, curves {ds.curves.shape}; {sum(f.stat().st_size for f in files) / 1e6:.0f} MB of CSV")
    cold_s, cached_s, parse_s = (statistics.median(t) for t in (cold, cached, parse))
    runs = (lambda ts: ", ".join(f"{t:.2f}" for t in ts))
    print(f"cold load   median {cold_s:6.2f} s  (runs: {runs(cold)})  target ≤ 2 s")
    print(f"cached load median {cached_s:6.2f} s  (runs: {runs(cached)})  target ≤ 0.3 s")
    print(f"bare pandas parse of the same files median {parse_s:6.2f} s  (runs: {runs(parse)})")
    print(f"cold / cached = {cold_s / cached_s:.1f}x; cold / bare parse = {cold_s / parse_s:.2f}x")


if __name__ == "__main__":
    main()
