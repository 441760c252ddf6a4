"""`gaitsae deviations RUN --data DIR --out deviations.parquet`: every stance's and session's
deviation from healthy walking (index on the GDI scale, abnormality score, feature profile),
written as two tables beside --out: NAME_stances.EXT and NAME_sessions.EXT (CSV or Parquet by the
extension)."""

from __future__ import annotations

from gaitsae.cli.options import add_overwrite_option


def add_reference_options(p) -> None:
    """Options `deviations` and `classify` share."""
    p.add_argument("run", help="run directory")
    p.add_argument("--data", required=True, help="data directory")
    p.add_argument("--reference", default="healthy",
                   help="healthy reference: healthy (default: every healthy subject, GaitRec HC and Gutenberg), "
                        "gaitrec-hc, gutenberg, or a filter over the stance table, e.g. "
                        "\"class_label == 'HC' and age_years < 40\"")
    p.add_argument("--folds", type=int, default=5, help="cross-fitting folds over reference subjects (default 5)")
    p.add_argument("--healthy-run", help="a run trained on healthy stances only: adds its reconstruction error")
    p.add_argument("--seed", type=int, default=0, help="seed of the folds and bootstrap resamples (default 0)")


def add_parser(sub) -> None:
    p = sub.add_parser("deviations", help="deviation index, abnormality score and feature profile per stance and session",
                       description="Two tables, CSV or Parquet by the extension of --out: NAME_stances.EXT (one row "
                                   "per stance) and NAME_sessions.EXT (one row per session side), with the index on "
                                   "the GDI scale (100 = healthy reference, 10 points = 1 SD), the abnormality "
                                   "score, z per feature (z_0 …) and per session the left − right asymmetry "
                                   "(asym_0 …). Reference subjects are scored with cross-fitting. See docs/clinical.md.")
    add_reference_options(p)
    p.add_argument("--out", required=True, help="NAME.parquet or NAME.csv: writes NAME_stances and NAME_sessions "
                                                "beside it (new files, or earlier gaitsae Parquet outputs; an "
                                                "existing CSV needs --overwrite)")
    add_overwrite_option(p)
    p.set_defaults(handler=run)


def print_reference(about: dict, warn: bool = True) -> None:
    """The reference rule and its size on stdout; a warning on stderr when it is small."""
    import sys

    print(f"reference: {about['reference_label']}, {about['n_reference_stances']} stances of "
          f"{about['n_reference_subjects']} subjects")
    if warn and "warning" in about:
        print(f"warning: {about['warning']}", file=sys.stderr)


def check_folds(folds: int) -> None:
    from gaitsae.errors import GaitsaeError

    if folds < 2:
        raise GaitsaeError(f"--folds must be an int >= 2, got {folds}")


def run(args) -> int:
    from functools import partial

    from gaitsae.cli.options import check_table_out, write_table_out
    from gaitsae.clinical.pipeline import deviations, encode, table_paths, write_tables

    check_folds(args.folds)
    paths = table_paths(args.out)
    for path in paths.values():
        check_table_out(path, args.overwrite, "deviations")
    enc = encode(args.run, args.data)
    dev = deviations(enc, args.reference, args.folds, args.seed, args.healthy_run)
    write_tables(dev, args.out, enc.names, write=partial(write_table_out, overwrite=args.overwrite, what="deviations"))
    print(f"{len(dev.stances)} stances → {paths['stances']}; {len(dev.sessions)} session sides → {paths['sessions']}")
    print_reference(dev.reference)
    if enc.dataset.synthetic:
        print("(SYNTHETIC phantom data)")
    return 0
