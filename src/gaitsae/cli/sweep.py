"""`gaitsae sweep SPEC.toml --out DIR`: train a grid of runs (local workers or Ray), then one results table."""

from __future__ import annotations

from gaitsae.cli.options import add_overwrite_option


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="train a grid of runs over config keys; results table and sweep.html",
                       description="SPEC.toml is a run config (partial allowed) plus a [grid] table of dotted keys "
                                   "with lists of values, e.g. \"model.k\" = [4, 8], \"training.seed\" = [0, 1, 2]. "
                                   "Each point is a run directory DIR/NAME; finished points are skipped, interrupted "
                                   "ones resume. Writes DIR/sweep.parquet and DIR/sweep.html.")
    p.add_argument("spec", help="sweep spec (TOML)")
    p.add_argument("--out", required=True, help="sweep directory (one run directory per point)")
    p.add_argument("--data", help="data directory (overrides the spec's data.path)")
    p.add_argument("--workers", type=int, default=1, help="local worker processes, one torch thread each (default 1)")
    p.add_argument("--ray", metavar="ADDRESS", help="run the points on this Ray cluster instead (e.g. auto, HOST:6379); "
                                                    "needs pip install 'gaitsae[ray]'")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_overwrite_option(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    from pathlib import Path

    from gaitsae.sweep import run_sweep

    result = run_sweep(args.spec, args.out, data=args.data, workers=args.workers, ray=args.ray,
                       progress=not args.quiet, overwrite=args.overwrite)
    df = result.table
    done = df[df["status"] == "done"]
    print(f"{len(done)} of {len(df)} points done ({len(result.ran)} run now in {result.train_seconds:.0f} s, "
          f"{len(result.skipped)} already finished) "
          f"→ {Path(args.out) / 'sweep.parquet'}, {Path(args.out) / 'sweep.html'}")
    for _, row in result.stability.iterrows():
        start = row.get("untrained_share_0.9_mean")
        print(f"  stability {row['group']}: {row['n_seeds']} seeds, alive features matched at cosine >= 0.9: "
              f"{row['share_0.9_mean']:.0%} (min {row['share_0.9_min']:.0%}; untrained starts "
              f"{'n/a' if start is None or start != start else f'{start:.0%}'})")
    if "synthetic" in df and df["synthetic"].fillna(False).any():
        print("(SYNTHETIC phantom data)")
    return 0
