"""Single-stance latency of a trained run: GaitSAE.encode_stance (curves in, latents out, wavelet
transform included) on its test subjects' stances, p50/p99 over 2,000 calls (benchmarks/run.py's
measurement, for any run, e.g. the default model's run that benchmarks/gaitrec_workflow.py --keep
leaves). Target (issue 28): p99 ≤ 1 ms.

    python benchmarks/stance_latency.py RUN [--data DIR] [--calls 2000]
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from run import stance_latency  # noqa: E402

from gaitsae.data import load_dataset  # noqa: E402
from gaitsae.estimator import GaitSAE  # noqa: E402
from gaitsae.training.rundir import run_data  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="run directory")
    parser.add_argument("--data", help="data directory (default: the run's data.path)")
    parser.add_argument("--calls", type=int, default=2000, help="encode_stance calls (the first 50 are warm-up)")
    args = parser.parse_args()
    est = GaitSAE.load(args.run, progress=False)
    data = args.data or run_data(args.run, est.config_)
    ds = est.select(load_dataset(data.split(","), channels=est.config_.data.channels, sides=est.config_.data.sides))
    test = set(est.split_.loc[est.split_["split"].eq("test"), "subject"])
    curves = ds.curves[ds.stances["subject"].isin(test).to_numpy()]
    p50, p99 = stance_latency(est, curves, n=args.calls)
    print(f"{args.run}: model {est.model}, {len(est.feature_kinds_)} features, {curves.shape[1]} channels, "
          f"{est.config_.features.domain} domain; {torch.get_num_threads()} torch threads, {platform.machine()}")
    print(f"encode_stance p50 {p50:.3f} ms, p99 {p99:.3f} ms over {args.calls - 50} calls (target p99 <= 1 ms)")


if __name__ == "__main__":
    main()
