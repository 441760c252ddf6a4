"""`gaitsae compare RUN... --out DIR`: one report and comparison.json across runs."""

from __future__ import annotations

from gaitsae.report.build import analyze_runs, write_comparison


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="compare several runs in one report",
                       description="Analyse each run and write DIR/report.html and DIR/comparison.json.")
    p.add_argument("runs", nargs="+", help="run directories")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--data", help="data directory (default: each run's data.path)")
    p.set_defaults(handler=run)


def run(args) -> int:
    report = write_comparison(analyze_runs(args.runs, data=args.data), args.out)
    print(f"report → {report}")
    return 0
