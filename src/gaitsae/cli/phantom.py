"""`gaitsae phantom`: write the synthetic phantom database."""

from __future__ import annotations

from gaitsae.data.phantom import write_phantom


def add_parser(sub) -> None:
    p = sub.add_parser("phantom", help="write the SYNTHETIC phantom database in the Gutenberg/GaitRec layout",
                       description="Write a deterministic synthetic gait database (no real person) with known factors.")
    p.add_argument("--out", required=True, help="directory to write")
    p.add_argument("--subjects", type=int, default=350, help="healthy Gutenberg-style subjects (default 350)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed writes the same files (default 0)")
    p.add_argument("--with-patients", action="store_true",
                   help="also write GaitRec-style patients (hip/knee/ankle/calcaneus) into OUT/gaitrec")
    p.add_argument("--patients", type=int, default=None,
                   help="GaitRec-style subjects with --with-patients (default: as many as --subjects)")
    p.set_defaults(handler=run)


def run(args) -> int:
    summary = write_phantom(args.out, n_subjects=args.subjects, seed=args.seed,
                            with_patients=args.with_patients, n_patients=args.patients)
    where = ", ".join(str(d) for d in summary.directories)
    print(f"SYNTHETIC phantom written to {where}: {summary.n_subjects} subjects, "
          f"{summary.n_sessions} sessions, {summary.n_trials} trials")
    return 0
