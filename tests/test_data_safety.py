"""Data safety of every command that writes an output (issue 31 A–E), one parametrized test per
promise so a new command is one more entry in WRITERS:

- it refuses an output holding a file gaitsae did not write (the file stays as it was);
- killed (SIGKILL) mid-write, a half-written output never looks complete, and the same command
  run again succeeds with the same result as an uninterrupted run;
- it leaves no temporary or lock behind.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from gaitsae import outdir
from gaitsae.cli import main
from tests.clifail import fails



@dataclass
class Writer:
    """A command writing `out` (a directory or a file) from the runs and data of `world`."""
    argv: Callable[[Path, Path, Path], list]  # (world, runs folder, out) → arguments
    out: str = "out"  # the output's name inside the test's folder
    rerun: tuple = ()  # arguments the re-run after a kill adds (train continues with --resume)
    refusal: str = "holds files gaitsae did not write"
    kill_at: int = 2  # killpoint's event: 2 = right after the first file is complete
    result: Callable[[Path], dict] = field(default=None)  # what must be equal after kill + re-run
    analyses: bool = False  # writes the runs' analyses: the clean reference may start from current ones


def _tables(out: Path) -> dict:
    """Every CSV, JSON and Parquet file of an output, read (paths of the two outputs differ)."""
    found = {}
    for p in sorted([out] if out.is_file() else out.rglob("*")):
        name = p.name if out.is_file() else str(p.relative_to(out))
        if p.suffix in (".csv", ".parquet"):
            table = pd.read_csv(p) if p.suffix == ".csv" else pd.read_parquet(p)
            found[name] = table[[c for c in table.columns if not re.search("seconds|run_dir|path", c)]].to_json()
        elif p.suffix == ".json" and p.name != ".gaitsae":
            found[name] = _without_paths(json.loads(p.read_text()))
    return found


def _without_paths(obj):
    if isinstance(obj, dict):
        return {k: _without_paths(v) for k, v in obj.items() if k not in ("key", "run_dir", "path", "file", "seconds",
                                                                          "train_seconds", "data")}
    if isinstance(obj, list):
        return [_without_paths(v) for v in obj]
    return obj


def _model(out: Path) -> dict:
    from safetensors.numpy import load_file

    return {k: v.tolist() for k, v in load_file(out / "model.safetensors").items()}


def _names(out: Path) -> set[str]:
    return {str(p.relative_to(out)) for p in out.rglob("*") if "checkpoint" not in p.parts} if out.is_dir() else {out.name}


WRITERS = {
    "train": Writer(lambda w, r, o: ["train", "--data", w / "data", "--out", o, "--config", w / "small.toml", "--quiet"],
                    rerun=("--resume",), result=_model),
    "analyze": Writer(lambda w, r, o: ["analyze", r / "run0", "--out", o, "--data", w / "data"], analyses=True),
    "compare": Writer(lambda w, r, o: ["compare", r / "run0", r / "run1", "--out", o, "--data", w / "data"],
                      analyses=True),
    "truth": Writer(lambda w, r, o: ["truth", r / "run0", "--data", w / "data", "--out", o]),
    "stability": Writer(lambda w, r, o: ["stability", r / "run0", r / "run1", "--data", w / "data", "--out", o]),
    "sweep": Writer(lambda w, r, o: ["sweep", w / "spec.toml", "--data", w / "data", "--out", o, "--quiet"]),
    "index": Writer(lambda w, r, o: ["index", r / "run0", "--data", w / "data", "--quiet"], out="runs/run0/explorer",
                    refusal=""),
    # --out dev.parquet writes dev_sessions.parquet, then dev_stances.parquet (checked here)
    "deviations": Writer(lambda w, r, o: ["deviations", r / "run0", "--data", w / "data", "--out",
                                          o.with_name(o.name.replace("_stances", ""))],
                         out="dev_stances.parquet", refusal="exists and is not a gaitsae deviations output",
                         kill_at=1),  # killed while its first temporary is written
    "course": Writer(lambda w, r, o: ["course", r / "run0", "--data", w / "data", "--all", "--out", o, "--quiet"],
                     out="trends.parquet", refusal="exists and is not a gaitsae table output", kill_at=1),
    "export": Writer(lambda w, r, o: ["export", r / "run0", "--data", w / "data", "--per", "session", "--out", o],
                     out="export.parquet", refusal="exists and is not a gaitsae table output", kill_at=1),
    "classify": Writer(lambda w, r, o: ["classify", r / "run0", "--data", w / "data", "--out", o, "--bootstrap", "10",
                                        "--train-set", "full", "--quiet"]),
}
FOREIGN_REFUSED = [name for name, w in WRITERS.items() if w.refusal]  # index writes only inside a run


def _setup(world: Path, tmp: Path) -> Path:
    """The test's own copies of the runs (commands write analysis.json and explorer/ into them);
    `world` may also be `analysed` (the same runs with their analyses current)."""
    runs = tmp / "runs"
    for seed in (0, 1):
        shutil.copytree(world / f"run{seed}", runs / f"run{seed}")
    return runs


@pytest.fixture(scope="module")
def analysed(world, tmp_path_factory) -> Path:
    """Copies of world's two runs with current analysis.json / analysis_figures.json (read-only).
    An analysis is keyed by the run's files and curves, not its folder, so `analyze` and `compare`
    on copies of these read it back instead of redoing it (~30 s a run on one core)."""
    from gaitsae.report.run import analyze_run

    root = tmp_path_factory.mktemp("analysed")
    with pytest.MonkeyPatch.context() as mp:  # the autouse cache fixture is per test, not per module
        mp.setenv("GAITSAE_CACHE_DIR", str(root / "cache"))
        for seed in (0, 1):
            shutil.copytree(world / f"run{seed}", root / f"run{seed}")
            analyze_run(root / f"run{seed}", data=str(world / "data"), progress=False)
    return root


def _argv(name: str, world: Path, runs: Path, out: Path) -> list[str]:
    return [str(a) for a in WRITERS[name].argv(world, runs, out)]


LEFTOVER = re.compile(r"\..*(\.new-[a-z0-9_]{8}|\.[a-z0-9_]{8}\.tmp|\.lock)|\.explorer\.[a-z0-9_]{8}")


def leftovers(folder: Path) -> list[str]:
    return [str(p.relative_to(folder)) for p in folder.rglob("*") if LEFTOVER.fullmatch(p.name)]


@pytest.mark.parametrize("name", FOREIGN_REFUSED)
def test_writer__refuses_an_output_holding_a_users_file(world, tmp_path, name, capsys):
    runs = _setup(world, tmp_path)
    w = WRITERS[name]
    out = tmp_path / w.out
    if out.suffix:
        out.write_bytes(b"MY OWN NOTES")
    else:
        out.mkdir()
        (out / ("stability.json" if name == "stability" else "sweep.html" if name == "sweep" else "notes.txt")
         ).write_text("MY OWN NOTES")
    before = {str(p): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and "runs" not in p.parts}
    err = fails(_argv(name, world, runs, out), capsys)
    assert w.refusal in err and str(out) in err
    assert {str(p): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and "runs" not in p.parts} == before
    assert leftovers(tmp_path) == []


def _killed(argv: list[str], n: int, folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tests.killpoint", str(n), str(folder), *argv],
                          capture_output=True, text=True, timeout=600, cwd=Path(__file__).parents[1])


def _on_analysed(names, analysed: set[str]) -> list:
    """The parameters reading the module's `analysed` runs run on one xdist worker (conftest), so
    those runs are analysed once."""
    return [pytest.param(n, marks=pytest.mark.xdist_group("analysed")) if n in analysed else n for n in names]


@pytest.mark.slow
@pytest.mark.parametrize("name", _on_analysed(WRITERS, {n for n, w in WRITERS.items() if w.analyses}))
def test_writer__killed_mid_write_reruns_to_the_same_result_and_leaves_no_temporaries(world, tmp_path, name,
                                                                                      request):
    """Only the killed run is a process of its own (killpoint needs one); the uninterrupted
    reference and the re-run are the same CLI called in this process (no second start-up)."""
    w = WRITERS[name]
    clean_root, killed_root = tmp_path / "clean", tmp_path / "killed"
    clean_root.mkdir()
    killed_root.mkdir()
    # analyze/compare: the reference reads back the runs' current analyses, so the killed
    # re-run's fresh analysis is also checked against a stored one (equal, analysis is path-free)
    source = request.getfixturevalue("analysed") if w.analyses else world
    assert main(_argv(name, world, _setup(source, clean_root), clean_root / w.out)) == 0
    runs = _setup(world, killed_root)
    out = killed_root / w.out
    argv = _argv(name, world, runs, out)
    proc = _killed(argv, w.kill_at, killed_root)
    assert proc.returncode == -signal.SIGKILL, proc.stderr  # killed after its first file, before the last
    # What the kill left does not look complete: no output, or one whose marker says so.
    assert not out.exists() or (outdir.read_marker(out) or {}).get("complete") is False, _names(out)
    assert main([*argv, *w.rerun]) == 0
    assert _names(out) == _names(clean_root / w.out)
    result = w.result or _tables
    assert result(out) == result(clean_root / w.out)
    assert leftovers(killed_root) == []
    if out.is_dir():
        assert outdir.read_marker(out)["complete"] is True and outdir.foreign(out) == []


# -- E. smaller edges ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["stability", "sweep", "classify", "truth", "compare"])
def test_writer__out_naming_a_regular_file_is_one_line(world, tmp_path, name, capsys):
    runs = _setup(world, tmp_path)
    target = tmp_path / "a_file"
    target.write_text("keep me")
    err = fails(_argv(name, world, runs, target), capsys)
    assert "a_file: exists but is not a directory; cannot use it as a directory" in err
    assert target.read_text() == "keep me"


def test_classify__refuses_its_output_before_computing(world, tmp_path, monkeypatch, capsys):
    import gaitsae.clinical.pipeline as pipeline

    runs = _setup(world, tmp_path)
    monkeypatch.setattr(pipeline, "encode", lambda *a, **k: pytest.fail("classified before checking --out"))
    (tmp_path / "a_file").write_text("x")
    fails(_argv("classify", world, runs, tmp_path / "a_file"), capsys)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    assert "holds files gaitsae did not write (notes.txt)" in fails(_argv("classify", world, runs, tmp_path / "mine"),
                                                                    capsys)


def test_stability__the_same_run_twice_is_refused(world, tmp_path, capsys):
    runs = _setup(world, tmp_path)
    err = fails(["stability", str(runs / "run1"), str(runs / "run1"), "--out", str(tmp_path / "s")], capsys)
    assert "run1: given twice" in err
    err = fails(["stability", str(runs / "run1"), str(runs / ".." / "runs" / "run1"), "--out", str(tmp_path / "s")],
                capsys)
    assert "given twice" in err and not (tmp_path / "s").exists()


def test_stability__writes_to_an_explicit_default_not_the_runs_parent(world, tmp_path, monkeypatch):
    runs = _setup(world, tmp_path)
    (runs / "stability.json").write_text("MY OWN NOTES")
    monkeypatch.chdir(tmp_path)
    assert main(["stability", str(runs / "run0"), str(runs / "run1"), "--data", str(world / "data")]) == 0
    assert (runs / "stability.json").read_text() == "MY OWN NOTES"
    assert json.loads((tmp_path / "gaitsae-stability" / "stability.json").read_text())["summary"]["n_runs"] == 2


@pytest.mark.parametrize("name", _on_analysed(["truth", "stability", "deviations", "analyze"], {"analyze"}))
def test_writer__a_long_legal_name_works(world, tmp_path, name, request):
    """Names of 250 bytes (255 is the limit): temporaries and locks built from them are shortened
    (analyze: of its report; the analysis itself is read back from the run, under a short name)."""
    runs = _setup(request.getfixturevalue("analysed") if name == "analyze" else world, tmp_path)
    out = tmp_path / ("o" * 234 + "_stances.parquet" if name == "deviations" else "o" * 242)
    assert main(_argv(name, world, runs, out)) == 0
    assert out.exists() and leftovers(tmp_path) == []


def test_index__records_explorer_in_the_runs_marker_and_removes_an_old_temporary(world, tmp_path, capsys):
    runs = _setup(world, tmp_path)
    run = runs / "run0"
    stale = run / ".explorer.abcd1234"  # what index of an earlier version left when killed
    stale.mkdir()
    (stale / "curves.npy").write_bytes(b"0" * 1000)
    assert main(["index", str(run), "--data", str(world / "data"), "--quiet"]) == 0
    assert "explorer" in outdir.read_marker(run)["files"] and outdir.foreign(run) == []
    assert not stale.exists() and leftovers(tmp_path) == []
    capsys.readouterr()
    # gaitsae's own explorer/ is not called foreign: train names the run, classify/truth write beside it
    err = fails(["train", "--data", str(world / "data"), "--out", str(run), "--quiet"], capsys)
    assert "holds a gaitsae run; pass --overwrite" in err
    assert main(_argv("truth", world, runs, run)) == 0 and (run / "truth.csv").is_file()


def test_sweep__a_second_sweep_on_the_same_out_is_one_line(world, tmp_path, capsys):
    out = tmp_path / "sw"
    with outdir.lock(out):  # a first sweep holds it (this process stands in for it)
        proc = subprocess.run([sys.executable, "-m", "gaitsae", *_argv("sweep", world, tmp_path, out)],
                              capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and "another gaitsae process" in err and "is writing it" in err, err
    assert not out.exists() or not list(out.iterdir())


def test_stale_temporaries__a_live_writers_are_kept(tmp_path):
    """Temporaries are removed only when their own lock is not held by a live process."""
    run = tmp_path / "run"
    run.mkdir()
    outdir.record(run, "run", [])
    live = subprocess.Popen([sys.executable, "-c", "import sys, time; from gaitsae import outdir; "
                             f"cm = outdir.lock(__import__('pathlib').Path({str(run / 'explorer')!r})); cm.__enter__(); "
                             "print('held', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout.readline().strip() == "held"
        building = run / ".explorer.new-abcd1234"
        building.mkdir()
        dead = run / ".analysis.json.abcd1234.tmp"
        dead.write_text("half")
        import os
        import time
        old = time.time() - 10
        for p in (building, dead):
            os.utime(p, (old, old))
        with outdir.filling(run, "run", trusted=True):
            pass
        assert building.exists() and not dead.exists()  # the live index's build stays; the dead write goes
    finally:
        live.kill()
        live.wait()
