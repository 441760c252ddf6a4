"""Cold and cached load time of a GaitRec-sized phantom (gutenberg/ + gaitrec/, 5 channels × 2 sides).

    python benchmarks/load.py [--subjects 350] [--patients 2300] [--dir DIR]

Writes the phantom once (or reuses DIR, e.g. one written by `gaitsae phantom --subjects 350
--with-patients --patients 2300`), then times `load_dataset(DIR)` (imports not counted) with an
empty cache (cold: parse 25 CSV files, check, fill the cache) and with a filled cache (stat the
files, map curves.npy, read stances.parquet), median of `--repeats` each, and prints their
ratio. The baseline, in the same process: the 20 signal files read by the checked pandas path
(what every load did before polars' reader, and what a file that is not plain still takes)
against the plain-number reader that a load now tries first. Targets (issue 31): cold ≤ 2 s,
cached ≤ 0.3 s. Run it with nothing else on the cores: polars' reader uses all of them.
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
    """Writes the phantom into root unless it is there, then times cold and cached loads and the
    two readers of the signal files."""
    from gaitsae.channels import ID_COLUMNS_GAITREC, ID_COLUMNS_GUTENBERG, value_columns
    from gaitsae.data import reader  # (imports are not part of a load)
    from gaitsae.data.csvfile import read_plain_numbers

    if not (root / "gaitrec" / "GRF_metadata.csv").exists():
        start = time.perf_counter()
        write_phantom(root, n_subjects=args.subjects, with_patients=True, n_patients=args.patients, seed=0)
        print(f"wrote phantom in {time.perf_counter() - start:.1f} s")
    signals = []  # (path, channel, ID columns) of every PRO file
    for path in sorted(root.glob("*/GRF_*_PRO_*.csv")):
        channel = path.name.removeprefix("GRF_").rsplit("_PRO_", 1)[0]
        gutenberg = path.read_bytes()[:200].startswith(b"DATASET_ID")
        signals.append((path, channel, list(ID_COLUMNS_GUTENBERG if gutenberg else ID_COLUMNS_GAITREC)))
    cold, cached, plain, checked = [], [], [], []
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
        taken = [read_plain_numbers(path, ids, value_columns(ch)) is not None for path, ch, ids in signals]
        plain.append(time.perf_counter() - start)
        start = time.perf_counter()
        for path, ch, ids in signals:
            reader._checked_signal(path, ch, ids)
        checked.append(time.perf_counter() - start)
    trials = ds.stances[["session", "trial_id"]].drop_duplicates().shape[0]
    size = sum(path.stat().st_size for path, _, _ in signals) / 1e6
    print(f"{trials} trials, {len(ds)} stances, curves {ds.curves.shape}; {size:.0f} MB of signal CSV "
          f"in {len(signals)} files ({sum(taken)} plain)")
    cold_s, cached_s, plain_s, checked_s = (statistics.median(t) for t in (cold, cached, plain, checked))
    runs = (lambda ts: ", ".join(f"{t:.2f}" for t in ts))
    print(f"cold load   median {cold_s:6.2f} s  (runs: {runs(cold)})  target ≤ 2 s")
    print(f"cached load median {cached_s:6.2f} s  (runs: {runs(cached)})  target ≤ 0.3 s")
    print(f"signal files, plain-number reader (polars) median {plain_s:6.2f} s  (runs: {runs(plain)})")
    print(f"signal files, checked pandas path          median {checked_s:6.2f} s  (runs: {runs(checked)})")
    print(f"checked / plain = {checked_s / plain_s:.2f}x; cold / cached = {cold_s / cached_s:.1f}x")


if __name__ == "__main__":
    main()
