"""`gaitsae stability RUN RUN ... [--out DIR]`: do the features come back in other runs?"""

from __future__ import annotations

import os
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("stability", help="match features between runs (seeds, models) and score their stability",
                       description="Hungarian matching of time-domain decoder directions between every pair of runs: "
                                   "share of features matched at cosine >= 0.9 and >= 0.7, activation correlation "
                                   "of matched features on the same stances, and each feature's stability.")
    p.add_argument("runs", nargs="+", help="run directories (at least two; they must share a channel)")
    p.add_argument("--out", help="output directory (default: the runs' common parent directory)")
    p.add_argument("--data", help="data directory (default: the first run's data.path)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from gaitsae.analysis import stability as S

    out = Path(args.out) if args.out else Path(os.path.commonpath([Path(r).resolve().parent for r in args.runs]))
    result = S.stability(args.runs, data=args.data)
    path = S.write(result, out)
    s = result.summary
    print(f"{s['n_runs']} runs, {s['n_pairs']} pairs: features matched at cosine >= 0.9: {s['share_0.9_mean']:.0%} "
          f"(min {s['share_0.9_min']:.0%}, max {s['share_0.9_max']:.0%}), >= 0.7: {s['share_0.7_mean']:.0%}; "
          f"mean feature stability {s['feature_stability_mean']:.2f} → {path}")
    if result.stances["synthetic"]:
        print("(SYNTHETIC phantom data)")
    return 0
