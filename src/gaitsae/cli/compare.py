"""`gaitsae compare RUN... [--out DIR]`: one report and comparison.json across runs; analyses
that are current are reused (--force redoes them)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from gaitsae.cli.options import add_overwrite_option


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="compare several runs in one report",
                       description="Analyse each run and write DIR/report.html and DIR/comparison.json.")
    p.add_argument("runs", nargs="+", help="run directories")
    p.add_argument("--out", default="gaitsae-compare", help="report directory (default: gaitsae-compare)")
    p.add_argument("--data", help="data directory (default: each run's data.path, if it still holds the data "
                                  "the run was trained on)")
    add_overwrite_option(p)
    p.add_argument("--force", action="store_true", help="re-analyse runs whose analysis.json is current")
    p.set_defaults(handler=run)


def run(args) -> int:
    from gaitsae import outdir
    from gaitsae.report.build import REPORT_FILES, analyze_runs, write_comparison
    from gaitsae.report.run import ANALYSIS_FILE, FIGURES_FILE
    from gaitsae.training.rundir import load_run, run_data

    if args.data is None:
        for run_dir in args.runs:
            run_data(run_dir, load_run(run_dir)[0])
    with contextlib.ExitStack() as claims:
        where = claims.enter_context(outdir.staged(args.out, "report", overwrite=args.overwrite))
        for run_dir in args.runs:  # analysis.json goes there
            claims.enter_context(outdir.filling(run_dir, "run", trusted=True, names=[ANALYSIS_FILE, FIGURES_FILE]))
        write_comparison(analyze_runs(args.runs, data=args.data, force=args.force), where)
    print(f"report → {Path(args.out) / REPORT_FILES[1]}")
    return 0
