"""`gaitsae deviations RUN --data DIR --out deviations.parquet`: every stance's and session's
deviation from healthy walking (index on the GDI scale, abnormality score, feature profile)."""

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
                       description="One Parquet file: per stance and per session side (column level), the index on "
                                   "the GDI scale (100 = healthy reference, 10 points = 1 SD), the abnormality "
                                   "score, z per feature (z_0 …) and per session the left − right asymmetry "
                                   "(asym_0 …). Reference subjects are scored with cross-fitting. See docs/clinical.md.")
    add_reference_options(p)
    p.add_argument("--out", required=True, help="Parquet file to write (new, or an earlier gaitsae Parquet output)")
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
    from pathlib import Path

    from gaitsae import outdir
    from gaitsae.cli.encode import _ours
    from gaitsae.clinical.pipeline import deviations, encode, write_parquet

    check_folds(args.folds)
    with outdir.output_file(Path(args.out), _ours, "Parquet output", overwrite=args.overwrite) as out:
        enc = encode(args.run, args.data)
        dev = deviations(enc, args.reference, args.folds, args.seed, args.healthy_run)
        write_parquet(dev, out, enc.meanings)
    print(f"{len(dev.stances)} stances, {len(dev.sessions)} session sides → {args.out}")
    print_reference(dev.reference)
    if enc.dataset.synthetic:
        print("(SYNTHETIC phantom data)")
    return 0
