"""The whole workflow at GaitRec size, one step after the other, against the targets of issue 23.

    python benchmarks/gaitrec_workflow.py --write        # GaitRec size (~176k stances), updates docs/benchmarks.md
    python benchmarks/gaitrec_workflow.py --quick        # a small phantom, no analyze/explorer step (run by `make bench`)
    python benchmarks/gaitrec_workflow.py --device cuda  # train (and encode) on a GPU

Every step is the `gaitsae` command a user runs (phantom → train → index → classify →
deviations → analyze), each in its own process: wall seconds, CPU seconds (user + system of
that process and its children) and peak resident memory of the whole process (ru_maxrss from
wait4, not growth), against the target. Loading the data (`load_dataset`, imports not counted)
is timed in two new processes: cold = parse the CSVs with an empty cache (and fill it), warm = a
later process that finds the cache, as the next command a user runs does. The
explorer step runs benchmarks/explorer.py speed (8 clients on 127.0.0.1). All data is the
SYNTHETIC phantom. One run per step (the wall times depend on the machine's load: run it with
nothing else on the cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GAITREC = dict(subjects=350, patients=2300)
QUICK = dict(subjects=12, patients=100)
MARK = "gaitrec-workflow"
LOAD = """
import json, sys, time
from gaitsae.data import load_dataset
import gaitsae.data.reader  # imports are not part of the load (every command has them already)
t = time.perf_counter(); ds = load_dataset(sys.argv[1]); seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "stances": len(ds), "subjects": ds.n_subjects}))
"""


def run_step(argv, env) -> dict:
    """Run one command; wall s, CPU s and peak RSS (MiB) of its process, and its stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(map(str, argv))} failed ({proc.returncode}):\n{out[-3000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024, "out": out}


def check(value, limit) -> str:
    return "✔" if value <= limit else "✗"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small phantom: checks the workflow runs, times nothing")
    parser.add_argument("--device", default="auto", help="gaitsae train --device (auto uses a GPU when present)")
    parser.add_argument("--keep", default=None, help="work in this directory and keep it (default: a temporary one)")
    parser.add_argument("--no-explorer", action="store_true", help="skip the explorer load test")
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args()
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        workflow(args, Path(args.keep))
        return
    with tempfile.TemporaryDirectory(prefix="gaitsae-workflow-") as work:  # ~100 MB (quick) to ~2 GB: not left in /tmp
        workflow(args, Path(work))


def workflow(args, work: Path) -> None:
    """Runs every step in `work`, prints the table (and writes it into the docs with --write)."""
    size = QUICK if args.quick else GAITREC
    env = {**os.environ, "GAITSAE_CACHE_DIR": str(work / "cache"), "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src")] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))}
    gaitsae = [sys.executable, "-m", "gaitsae"]
    data, run = work / "phantom", work / "run"
    quick_train = ["--epochs", "2"] if args.quick else []
    steps = [
        ("gaitsae phantom", gaitsae + ["phantom", "--out", str(data), "--subjects", str(size["subjects"]),
                                       "--with-patients", "--patients", str(size["patients"]), "--overwrite"],
         120, 2048),
        ("load the data, cold (parse the CSVs, fill the cache)", [sys.executable, "-c", LOAD, str(data)], 2, None),
        ("load the data, warm (a new process, cache hit)", [sys.executable, "-c", LOAD, str(data)], 0.3, None),
        ("gaitsae train", gaitsae + ["train", "--data", str(data), "--out", str(run), "--device", args.device,
                                     "--quiet", "--overwrite"] + quick_train, 180, 2048),
        ("gaitsae index", gaitsae + ["index", str(run), "--quiet"], 60, 2048),
        ("gaitsae classify", gaitsae + ["classify", str(run), "--data", str(data), "--out", str(work / "classify"),
                                        "--quiet", "--overwrite"], 180, 2048),
        ("gaitsae deviations", gaitsae + ["deviations", str(run), "--data", str(data), "--out",
                                          str(work / "deviations.parquet"), "--overwrite"], 180, 2048),
        ("gaitsae course --all", gaitsae + ["course", str(run), "--data", str(data), "--all", "--out",
                                            str(work / "trends.csv"), "--quiet", "--overwrite"], 120, 2048),
        ("gaitsae analyze", gaitsae + ["analyze", str(run), "--overwrite"], None, 1536),  # issue 31: ≤ 1.5 GB
    ]
    if args.quick:  # make bench stays under 2 minutes: the report's figures and the load test are the slow part
        steps = steps[:-1]
        args.no_explorer = True
    rows, notes = [], []
    for name, argv, wall_target, mib_target in steps:
        r = run_step(argv, env)
        print(f"{name}: {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU, peak {r['peak_mib']:.0f} MiB", flush=True)
        if name.startswith("load the data"):
            load = json.loads(r["out"].strip().splitlines()[-1])
            if "cold" in name:
                notes.append(f"{load['stances']} stances of {load['subjects']} subjects")
            rows.append((name, load["seconds"], None, None, f"≤ {wall_target} s", check(load["seconds"], wall_target)))
            continue
        target = " and ".join(t for t in ((f"≤ {wall_target} s" if wall_target else ""),
                                          (f"≤ {mib_target} MiB" if mib_target else "")) if t)
        ok = (wall_target is None or r["wall"] <= wall_target) and (mib_target is None or r["peak_mib"] <= mib_target)
        rows.append((f"`{name}`", r["wall"], r["cpu"], r["peak_mib"], target, "✔" if ok else "✗"))
    steps_only = [r for r in rows if r[2] is not None]
    total_wall, peak = sum(r[1] for r in steps_only), max(r[3] for r in steps_only)
    rows.append(("the whole workflow (the steps above)", total_wall, sum(r[2] for r in steps_only), peak,
                 "≤ 900 s and ≤ 2048 MiB", "✔" if total_wall <= 900 and peak <= 2048 else "✗"))
    if not args.no_explorer:
        r = run_step([sys.executable, str(ROOT / "benchmarks" / "explorer.py"), "speed", str(run)]
                     + (["--requests", "120"] if args.quick else []), env)
        p99 = {m.group(1).strip(): float(m.group(2)) for m in
               re.finditer(r"^\s*(.+?)\s+p50\s+[\d.]+ ms\s+p99\s+([\d.]+) ms", r["out"], re.M)}
        neighbour = p99.pop("neighbour query (k=10, Python), wall:", None)
        p99.pop("neighbour query (k=10, Python), CPU:", None)
        worst = max(p99, key=p99.get) if p99 else None
        rows.append(("explorer: neighbour query p99 (ms)", neighbour, None, None, "≤ 20 ms",
                     check(neighbour, 20) if neighbour is not None else "✗"))
        rows.append((f"explorer, 8 clients: slowest endpoint p99 (ms; {worst})", p99.get(worst), None, None,
                     "≤ 200 ms, 0 errors", check(p99[worst], 200) if worst else "✗"))
        notes.append("explorer: " + "; ".join(f"{k} p99 {v:.1f} ms" for k, v in p99.items()))
    if args.quick:  # the targets are for GaitRec size: a small phantom meets or misses nothing
        rows = [(*r[:4], r[4], "(quick: not a target run)") for r in rows]
    table = format_table(rows)
    print()
    print(table)
    for note in notes:
        print(note)
    if args.write and not args.quick:
        write_docs(table, notes, args)


def format_table(rows) -> str:
    lines = ["| step | wall s | CPU s | peak MiB | target | met |", "|---|---|---|---|---|---|"]
    for name, wall, cpu, mib, target, ok in rows:
        fmt = (lambda v, f: "–" if v is None else format(v, f))
        lines.append(f"| {name} | {fmt(wall, '.2f' if wall is not None and wall < 10 else '.0f')} | {fmt(cpu, '.0f')} | "
                     f"{fmt(mib, '.0f')} | {target} | {ok} |")
    return "\n".join(lines)


def write_docs(table, notes, args) -> None:
    """Replace the workflow section of docs/benchmarks.md (between its marker comments)."""
    import torch

    from gaitsae.fsio import write_text
    machine = (f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, "
               f"torch {torch.__version__}, device {args.device}")
    section = (f"<!-- {MARK} -->\n## The whole workflow at GaitRec size (issue 23)\n\n"
               f"SYNTHETIC calibrated phantom `gaitsae phantom --subjects {GAITREC['subjects']} --with-patients "
               f"--patients {GAITREC['patients']}` ({'; '.join(notes[:1])}). One run of each step, each the `gaitsae` "
               f"command in its own process; peak MiB = the whole process's peak resident memory. Machine: {machine}; "
               f"{time.strftime('%Y-%m-%d')}. Command: `python benchmarks/gaitrec_workflow.py --write`.\n\n"
               f"{table}\n\n" + "\n".join(f"- {n}" for n in notes[1:]) + f"\n<!-- /{MARK} -->")
    path = ROOT / "docs" / "benchmarks.md"
    page = path.read_text()
    if f"<!-- {MARK} -->" in page:
        begin = page.index(f"<!-- {MARK} -->")
        stop = page.index(f"<!-- /{MARK} -->") + len(f"<!-- /{MARK} -->")
        page = page[:begin] + section + page[stop:]
    else:
        anchor = "## Results"
        page = page.replace(anchor, section + "\n\n" + anchor, 1)
    write_text(path, page)


if __name__ == "__main__":
    main()
