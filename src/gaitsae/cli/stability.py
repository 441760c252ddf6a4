"""`gaitsae stability RUN RUN ... [--out DIR]`: do the features come back in other runs?"""

from __future__ import annotations

from pathlib import Path

from gaitsae.cli.options import add_overwrite_option


def add_parser(sub) -> None:
    p = sub.add_parser("stability", help="match features between runs (seeds, models) and score their stability",
                       description="Hungarian matching of the alive features' time-domain decoder directions between "
                                   "every pair of runs (and of their untrained starts): share of features matched at cosine >= 0.9 and >= 0.7, activation correlation "
                                   "of matched features on the same stances, and each feature's stability.")
    p.add_argument("runs", nargs="+", help="run directories (at least two; they must share a channel)")
    p.add_argument("--out", default="gaitsae-stability",
                   help="output directory (default: gaitsae-stability, where `analyze` looks for it)")
    p.add_argument("--data", help="data directory (default: the first run's data.path)")
    add_overwrite_option(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    from gaitsae import outdir
    from gaitsae.analysis import stability as S

    with outdir.staged(args.out, "stability", overwrite=args.overwrite) as where:
        result = S.stability(args.runs, data=args.data)
        S.write(result, where)
    path = Path(args.out) / S.FILES[0]
    s = result.summary
    start = s["untrained_share_0.9_mean"]
    stab = s["feature_stability_mean"]
    print(f"{s['n_runs']} runs, {s['n_pairs']} pairs, {s['alive_fraction']:.0%} of features alive: "
          f"alive features matched at cosine >= 0.9: {s['share_0.9_mean']:.0%} "
          f"(min {s['share_0.9_min']:.0%}, max {s['share_0.9_max']:.0%}; untrained starts: "
          f"{'n/a' if start is None else f'{start:.0%}'}), >= 0.7: {s['share_0.7_mean']:.0%}; "
          f"mean feature stability {'n/a' if stab is None else f'{stab:.2f}'} → {path}")
    for p in result.pairs:
        u = p["untrained_share_0.9"]
        print(f"  {p['run_a']} ~ {p['run_b']}: {p['share_0.9']:.0%} of {min(p['n_alive_a'], p['n_alive_b'])} alive "
              f"(untrained starts {'n/a' if u is None else f'{u:.0%}'})")
    if result.stances["synthetic"]:
        print("(SYNTHETIC phantom data)")
    return 0
