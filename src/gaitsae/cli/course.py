"""`gaitsae course RUN --data DIR --subject ID [--out DIR]`: one patient's course through their
sessions (index per session and side over the healthy band, the features that move most);
`gaitsae course RUN --data DIR --all --out FILE.csv|.parquet`: every subject's trend."""

from __future__ import annotations

from gaitsae.cli.deviations import check_folds, print_reference
from gaitsae.cli.options import add_overwrite_option, check_table_out, write_table_out

FIGURE, TABLE = "course.png", "course"


def add_parser(sub) -> None:
    p = sub.add_parser("course", help="a patient's course over their sessions; --all: every subject's trend",
                       description="With --subject: OUT/course.png (the deviation index per session, affected and "
                                   "unaffected side with 95 % intervals over trials, over the healthy band; the "
                                   "features that move most, in their channel's unit) and OUT/course.csv (or "
                                   ".parquet). With --all: one row per subject with at least two sessions: the "
                                   "slope of the index over sessions with a 95 % interval. See docs/clinical.md.")
    p.add_argument("run", help="run directory")
    p.add_argument("--data", required=True, help="data directory")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--subject", help="subject ID (e.g. gaitrec:12; a bare number when only one subject has it)")
    who.add_argument("--all", action="store_true", help="every subject's trend into --out FILE.csv|.parquet")
    p.add_argument("--out", help="--subject: directory to write (default course-SUBJECT); --all: the table file")
    p.add_argument("--table", choices=("csv", "parquet"), default="csv", help="--subject: table format (default csv)")
    p.add_argument("--reference", default="healthy", help="healthy reference (as for `gaitsae deviations`)")
    p.add_argument("--folds", type=int, default=5, help="cross-fitting folds over reference subjects (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the folds and the trend intervals (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_overwrite_option(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    from gaitsae import outdir
    from gaitsae.clinical import course as C
    from gaitsae.clinical.pipeline import deviations, encode
    from gaitsae.errors import GaitsaeError
    from gaitsae.fsio import write_bytes, write_table

    check_folds(args.folds)
    if args.all and not args.out:
        raise GaitsaeError("--all needs --out FILE.csv or FILE.parquet")
    if args.all:
        check_table_out(args.out, args.overwrite)
    enc = encode(args.run, args.data)
    subject = None if args.all else C.find_subject(enc.dataset.stances["subject"].unique(), args.subject)
    dev = deviations(enc, args.reference, args.folds, args.seed)
    inputs = C.inputs_from_run(enc, dev)
    if args.all:
        trends = C.cohort(inputs, seed=args.seed, progress=not args.quiet)
        write_table_out(args.out, trends, args.overwrite)
        print(f"{len(trends)} subjects with at least two sessions → {args.out}")
        for r in C.class_summary(trends).itertuples():
            print(f"  {r.class_label}: {r.n_subjects} subjects, median slope {r.median_slope:+.2f} index points "
                  f"per session, {r.share_improving:.0%} improving (interval above 0)")
    else:
        c = C.course(inputs, subject)
        out = args.out or f"course-{subject.replace(':', '-')}"
        with outdir.replacing(out, "course", overwrite=args.overwrite) as where:
            write_bytes(where / FIGURE, C.course_figure(c, synthetic=enc.dataset.synthetic))
            write_table(where / f"{TABLE}.{args.table}", C.course_table(c))
        print(f"{subject}: {len(c.sessions)} sessions ({', '.join(c.sessions['type'])}); course index "
              + ", ".join(f"{v:.1f}" for v in c.sessions["index"])
              + f"; healthy band {c.band[0]:.1f}–{c.band[1]:.1f} → {out}")
        if c.note:
            print(f"note: {c.note}")
    print_reference(dev.reference)
    if enc.dataset.synthetic:
        print("(SYNTHETIC phantom data)")
    return 0
