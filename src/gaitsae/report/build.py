"""From run directories to report.html and comparison.json: the glue `analyze`, `compare`
and `demo` share."""

from __future__ import annotations

import json
from pathlib import Path

from gaitsae.report.compare import comparison_rows
from gaitsae.report.run import RunAnalysis, analyze_run
from gaitsae.errors import GaitsaeError
from gaitsae.fsio import write_json
from gaitsae.report.html import render_report

REPORT_FILES = ("comparison.json", "report.html")


def analyze_runs(run_dirs, data=None, progress=True, force=False) -> list[RunAnalysis]:
    dirs = [Path(r) for r in run_dirs]
    names = [d.name for d in dirs]
    if len(set(names)) != len(names):
        raise GaitsaeError(f"run directories need distinct names, got {names}")
    return [analyze_run(d, data=data, progress=progress, force=force) for d in dirs]


def write_comparison(analyses: list[RunAnalysis], out_dir) -> Path:
    out_dir = Path(out_dir)
    rows = comparison_rows(analyses)
    write_json(out_dir / REPORT_FILES[0], json.loads(json.dumps(
        {"synthetic": any(a.synthetic for a in analyses), "runs": rows}, default=float).replace("NaN", "null")))
    return render_report(analyses, out_dir / REPORT_FILES[1])
