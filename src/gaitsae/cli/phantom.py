"""`gaitsae phantom`: write the synthetic phantom database."""

from __future__ import annotations

from pathlib import Path

from gaitsae.cli.options import add_overwrite_option


def add_parser(sub) -> None:
    p = sub.add_parser("phantom", help="write the SYNTHETIC phantom database in the Gutenberg/GaitRec layout",
                       description="Write a deterministic synthetic gait database (no real person) with known factors. "
                                   "OUT must be new, empty or an earlier phantom (replaced as a whole).")
    p.add_argument("--out", required=True, help="directory to write")
    p.add_argument("--subjects", type=int, default=350, help="healthy Gutenberg-style subjects (default 350)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed writes the same files (default 0)")
    p.add_argument("--with-patients", action="store_true",
                   help="also write GaitRec-style patients (hip/knee/ankle/calcaneus) into OUT/gaitrec")
    p.add_argument("--patients", type=int, default=None,
                   help="GaitRec-style subjects with --with-patients (default: as many as --subjects)")
    add_overwrite_option(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    from gaitsae import outdir
    from gaitsae.data.phantom import write_phantom

    with outdir.replacing(args.out, "phantom", overwrite=args.overwrite) as where:
        summary = write_phantom(where, n_subjects=args.subjects, seed=args.seed,
                                with_patients=args.with_patients, n_patients=args.patients)
    written = ", ".join(str(Path(args.out, Path(d).relative_to(where))) for d in summary.directories)
    print(f"SYNTHETIC phantom written to {written}: {summary.n_subjects} subjects, "
          f"{summary.n_sessions} sessions, {summary.n_trials} trials")
    return 0
