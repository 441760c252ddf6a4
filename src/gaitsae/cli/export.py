"""`gaitsae export RUN --data DIR --per stance|trial|session --out FILE.csv|.parquet`: every
stance's (trial's, session's) features with its metadata, for R, SPSS or pandas."""

from __future__ import annotations

from gaitsae.cli.options import add_overwrite_option, check_table_out, write_table_out


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="features + metadata as one CSV/Parquet table per stance, trial or session",
                       description="One row per stance (side as a column), per trial or per session (sides side "
                                   "by side: left_latent_3, right_latent_3; per session the means over its trials). "
                                   "Feature columns: scaffold_i for scaffold features, latent_j for sparse ones. "
                                   "Columns are documented in docs/clinical.md.")
    p.add_argument("run", help="run directory")
    p.add_argument("--data", help="data directory (default: the run's data.path)")
    p.add_argument("--per", choices=("stance", "trial", "session"), default="stance", help="one row per … (default stance)")
    p.add_argument("--out", required=True, help="FILE.csv or FILE.parquet")
    add_overwrite_option(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    from gaitsae.clinical.export import export_table
    from gaitsae.clinical.kinds import feature_kinds
    from gaitsae.clinical.pipeline import encode
    from gaitsae.estimator import GaitSAE
    from gaitsae.training.rundir import run_data

    check_table_out(args.out, args.overwrite)
    est = GaitSAE.load(args.run, progress=False)
    enc = encode(args.run, args.data or run_data(args.run, est.config_))
    kinds = feature_kinds(enc.est, enc.latents.shape[1])
    table = export_table(enc.dataset.stances, enc.latents, kinds, args.per, enc.dataset.synthetic)
    write_table_out(args.out, table, args.overwrite)
    counts = {k: int((kinds == k).sum()) for k in ("scaffold", "sparse")}
    print(f"{len(table)} {args.per}s × {counts['scaffold']} scaffold + {counts['sparse']} sparse features, "
          f"{table.shape[1]} columns → {args.out}")
    if enc.dataset.synthetic:
        print("(SYNTHETIC phantom data)")
    return 0
