"""Outputs and runs (issue 13): no user file is overwritten, a run is replaced only on request and
atomically, one writer per run, runs remember their data by absolute path and content, a full
disk is one line, threads fit the work, and `gaitsae --help` imports nothing heavy."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from gaitsae.cli import main
from gaitsae.data.phantom import write_phantom
from gaitsae.training.rundir import load_run

GAITSAE = [sys.executable, "-m", "gaitsae"]


def gaitsae(*argv):
    """Run the real CLI in a fresh process (as a user would)."""
    return subprocess.run([*GAITSAE, *map(str, argv)], capture_output=True, text=True, timeout=300)


def one_line_error(proc_or_err: str, part: str) -> None:
    err = proc_or_err.strip()
    assert part in err, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def train(data, out, *extra) -> int:
    return main(["train", "--data", str(data), "--out", str(out), "--epochs", "1", "--quiet", *extra])


@pytest.fixture
def real_folder(tiny_phantom_dir, tmp_path) -> Path:
    """A user's folder with 'real' tables (copied, without gaitsae's marker) and their notes."""
    folder = tmp_path / "my_gait_data"
    folder.mkdir()
    for name in ("GRF_metadata.csv", "GRF_walking_speed.csv"):
        shutil.copy(tiny_phantom_dir / name, folder / name)
    (folder / "notes.txt").write_text("collected 2019, do not lose\n")
    return folder


# -- 1. no data loss -------------------------------------------------------------------------------

def test_phantom__refuses_a_folder_with_real_metadata_and_leaves_it_unchanged(real_folder):
    before = snapshot(real_folder)
    proc = gaitsae("phantom", "--out", real_folder, "--subjects", "2")
    assert proc.returncode == 2
    one_line_error(proc.stderr, "holds files gaitsae did not write (GRF_metadata.csv, GRF_walking_speed.csv")
    assert snapshot(real_folder) == before


def test_phantom__rewrites_its_own_output_and_overwrite_replaces_a_foreign_one(real_folder, tmp_path, capsys):
    out = tmp_path / "ph"
    assert main(["phantom", "--out", str(out), "--subjects", "2", "--seed", "1"]) == 0
    assert main(["phantom", "--out", str(out), "--subjects", "3", "--seed", "2"]) == 0  # its own: replaced
    assert json.loads((out / ".gaitsae").read_text())["kind"] == "phantom"
    assert main(["phantom", "--out", str(real_folder), "--subjects", "2", "--overwrite"]) == 0
    assert not (real_folder / "notes.txt").exists() and (real_folder / "PHANTOM.txt").is_file()
    assert not list(tmp_path.glob(".*.new-*")) and not list(tmp_path.glob(".*.lock"))


def test_train__refuses_an_unrelated_non_empty_directory(tiny_phantom_dir, tmp_path, capsys):
    folder = tmp_path / "project"
    folder.mkdir()
    for name, text in {"config.toml": "mine = 1\n", "metrics.json": "{}\n", "split.csv": "a,b\n"}.items():
        (folder / name).write_text(text)
    before = snapshot(folder)
    assert train(tiny_phantom_dir, folder) == 2
    one_line_error(capsys.readouterr().err, "holds files gaitsae did not write (config.toml, metrics.json, split.csv)")
    assert snapshot(folder) == before


def test_train__an_existing_run_is_replaced_only_with_overwrite(tiny_phantom_dir, tmp_path, capsys):
    run = tmp_path / "run"
    assert train(tiny_phantom_dir, run) == 0
    before = snapshot(run)
    assert train(tiny_phantom_dir, run, "--seed", "5") == 2
    one_line_error(capsys.readouterr().err, "holds a gaitsae run; pass --overwrite to replace it or --resume")
    assert snapshot(run) == before
    assert train(tiny_phantom_dir, run, "--seed", "5", "--overwrite") == 0
    assert snapshot(run)["model.safetensors"] != before["model.safetensors"]
    assert load_run(run)[0].training.seed == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary sibling, no lock left


@pytest.fixture(scope="module")
def shared_run(tiny_phantom_dir, tmp_path_factory) -> Path:
    """One trained run (read-only) for the commands that read a run."""
    run = tmp_path_factory.mktemp("shared") / "run"
    assert train(tiny_phantom_dir, run) == 0
    return run


def out_argv(command, target: Path, data: Path, run: Path) -> list[str]:
    """`command` writing to `target` (its --out or --to)."""
    return {"train": ["train", "--data", str(data), "--out", str(target), "--epochs", "1"],
            "phantom": ["phantom", "--out", str(target)],
            "analyze": ["analyze", str(run), "--out", str(target)],
            "compare": ["compare", str(run), "--out", str(target)],
            "truth": ["truth", str(run), "--data", str(data), "--out", str(target)],
            "demo": ["demo", "--out", str(target)],
            "download": ["download", "gutenberg", "--to", str(target), "--api-url", "http://127.0.0.1:9"]}[command]


@pytest.mark.parametrize("command", ["train", "phantom", "analyze", "compare", "truth", "demo", "download"])
def test_cli__out_naming_a_file_is_one_line(tiny_phantom_dir, shared_run, tmp_path, command, capsys):
    target = tmp_path / "a_file"
    target.write_text("keep me")
    assert main(out_argv(command, target, tiny_phantom_dir, shared_run)) == 2
    one_line_error(capsys.readouterr().err, "a_file: exists but is not a directory; cannot use it as a directory")
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("command", ["analyze", "compare", "truth", "demo", "download"])
def test_cli__report_and_download_directories_refuse_a_users_folder(tiny_phantom_dir, shared_run, real_folder,
                                                                     command, capsys):
    before = snapshot(real_folder)
    assert main(out_argv(command, real_folder, tiny_phantom_dir, shared_run)) == 2
    one_line_error(capsys.readouterr().err, "holds files gaitsae did not write")
    assert snapshot(real_folder) == before


def test_encode__refuses_a_foreign_file_rewrites_its_own_and_refuses_a_directory(shared_run, tmp_path, capsys):
    run = shared_run
    out = tmp_path / "latents.parquet"
    assert main(["encode", str(run), "--out", str(out)]) == 0
    assert main(["encode", str(run), "--out", str(out)]) == 0  # its own output
    foreign = tmp_path / "results.parquet"
    foreign.write_bytes(b"PAR1 not ours")
    capsys.readouterr()
    assert main(["encode", str(run), "--out", str(foreign)]) == 2
    one_line_error(capsys.readouterr().err, "results.parquet: exists and is not a gaitsae encode output")
    assert foreign.read_bytes() == b"PAR1 not ours"
    assert main(["encode", str(run), "--out", str(tmp_path)]) == 2
    one_line_error(capsys.readouterr().err, "exists and is not a regular file")


# -- locks and interrupted replacement ------------------------------------------------------------------

@pytest.fixture
def long_config(tmp_path) -> Path:
    """Many small epochs, no early stop: a training that runs for a while on the tiny phantom."""
    path = tmp_path / "long.toml"
    path.write_text("[model]\nname = 'topk'\nn_latents = 16\nk = 4\n[training]\nepochs = 100000\nbatch_size = 4\n"
                    "patience = 100000\n")
    return path


def _wait_for(path_glob, proc, seconds=240):
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        found = list(path_glob())
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"never appeared (exit {proc.poll()}): {proc.stderr.read().decode()[-2000:] if proc.poll() is not None else ''}")


def test_train__a_second_writer_on_the_same_run_is_refused(tiny_phantom_dir, tmp_path, long_config, capsys):
    run = tmp_path / "run"
    first = subprocess.Popen([*GAITSAE, "train", "--data", str(tiny_phantom_dir), "--out", str(run), "--config",
                              str(long_config), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: (run / "checkpoint").glob("checkpoint.safetensors"), first)
        assert train(tiny_phantom_dir, run, "--overwrite") == 2
        one_line_error(capsys.readouterr().err, f"another gaitsae process (pid {first.pid}) is writing it")
    finally:
        first.kill()
        first.wait()
    # The writer died: its lock holds no flock any more and is taken over.
    assert train(tiny_phantom_dir, run, "--overwrite") == 0
    assert not (tmp_path / ".run.lock").exists()


def test_lock__a_stale_lock_of_a_dead_process_is_taken_over(tiny_phantom_dir, tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / ".run.lock").write_text(f"{dead.pid}\n")
    assert train(tiny_phantom_dir, tmp_path / "run", "--model", "topk") == 0
    assert load_run(tmp_path / "run")[0].model_name == "topk"
    assert not (tmp_path / ".run.lock").exists()


def test_train__a_kill_during_overwrite_leaves_the_old_run_intact(tiny_phantom_dir, tmp_path, long_config):
    run = tmp_path / "run"
    assert train(tiny_phantom_dir, run) == 0
    before = snapshot(run)
    proc = subprocess.Popen([*GAITSAE, "train", "--data", str(tiny_phantom_dir), "--out", str(run), "--config",
                             str(long_config), "--quiet", "--overwrite"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: tmp_path.glob(".run.new-*/checkpoint/checkpoint.safetensors"), proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert snapshot(run) == before  # the old model and its own checkpoint, no foreign checkpoint
    load_run(run)
    assert train(tiny_phantom_dir, run, "--overwrite", "--seed", "9") == 0  # the next writer cleans up
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.toml", "run"]


# -- 2. paths that mean one thing ------------------------------------------------------------------

def test_run__records_absolute_data_and_refuses_changed_data_from_another_directory(tmp_path, monkeypatch, capsys):
    here, there = tmp_path / "here", tmp_path / "there"
    write_phantom(here / "data", n_subjects=6, seed=1, progress=False)
    write_phantom(there / "data", n_subjects=3, seed=2, progress=False)  # a different dataset, same relative path
    monkeypatch.chdir(here)
    assert train("data", tmp_path / "run") == 0
    recorded = json.loads((tmp_path / "run" / "data.json").read_text())
    assert recorded["path"] == str((here / "data").resolve()) and len(recorded["digest"]) == 40
    # From another working directory the run still means its own data.
    monkeypatch.chdir(there)
    assert main(["encode", str(tmp_path / "run"), "--out", "latents.parquet"]) == 0
    assert pd.read_parquet(there / "latents.parquet")["subject"].nunique() == 6
    # The data at the recorded path changed: refused unless --data says so.
    lines = (here / "data" / "GRF_metadata.csv").read_text().splitlines(keepends=True)
    (here / "data" / "GRF_metadata.csv").write_text("".join(lines[:-1]))
    capsys.readouterr()
    for command in (["encode", str(tmp_path / "run"), "--out", "l2.parquet"], ["analyze", str(tmp_path / "run")],
                    ["compare", str(tmp_path / "run"), "--out", "cmp"]):
        assert main(command) == 2
        one_line_error(capsys.readouterr().err, "not the data")
    assert not (tmp_path / "run" / "analysis.json").exists() and not (there / "cmp").exists()
    assert main(["encode", str(tmp_path / "run"), "--data", "data", "--out", "l3.parquet"]) == 0
    assert pd.read_parquet(there / "l3.parquet")["subject"].nunique() == 3


# -- 3. a full disk ----------------------------------------------------------------------------------

@pytest.fixture
def tiny_disk(tmp_path):
    """A 16 kB tmpfs (needs root and mount permission, else skipped); smaller than the encoded
    latents of the tiny phantom even with topk's small automatic dictionary."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_full_disk__train_phantom_encode_are_one_line_and_leave_nothing(tiny_phantom_dir, shared_run, tiny_disk,
                                                                        capsys):
    run = shared_run
    for argv in (["train", "--data", tiny_phantom_dir, "--out", tiny_disk / "run", "--epochs", "1", "--quiet"],
                 ["phantom", "--out", tiny_disk / "ph", "--subjects", "3"],
                 ["encode", run, "--out", tiny_disk / "latents.parquet"]):
        capsys.readouterr()
        assert main([str(a) for a in argv]) == 2
        one_line_error(capsys.readouterr().err.splitlines()[-1], "No space left on device")
        assert list(tiny_disk.iterdir()) == []  # nothing half-written, no temporary, no lock


def test_dev_full__encode_refuses_a_device_as_out(shared_run, capsys):
    assert main(["encode", str(shared_run), "--out", "/dev/full"]) == 2
    one_line_error(capsys.readouterr().err, "/dev/full: exists and is not a regular file")


# -- 4. threads --------------------------------------------------------------------------------------

def test_threads__one_for_small_steps_the_config_key_overrides(tiny_phantom_dir, tmp_path, capsys,
                                                            uncapped_threads):
    from gaitsae.runtime import choose_threads

    cpu = torch.device("cpu")
    assert choose_threads(0, 32, 520, 100, cpu) == 1
    assert choose_threads(0, 4096, 520, 1000, cpu) == len(os.sched_getaffinity(0))
    assert choose_threads(3, 32, 520, 100, cpu) == 3
    previous = torch.get_num_threads()
    try:
        (tmp_path / "c.toml").write_text("[training]\nthreads = 2\n")
        assert train(tiny_phantom_dir, tmp_path / "r2", "--config", str(tmp_path / "c.toml")) == 0
        assert torch.get_num_threads() == 2
        assert train(tiny_phantom_dir, tmp_path / "r0") == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)


# -- 5. fast start -----------------------------------------------------------------------------------

HEAVY = ("torch", "matplotlib", "sklearn", "scipy", "pandas", "pyarrow", "pywt", "safetensors")


def test_help__builds_the_parser_without_heavy_imports():
    code = ("import sys; from gaitsae.cli import build_parser; build_parser(); "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_help__light_name_lists_match_the_registries():
    from gaitsae.cli import download as cli_download
    from gaitsae.cli import options
    from gaitsae.cli.options import MODEL_NAMES
    from gaitsae.data import download
    from gaitsae.models import DEFAULT_MODEL, MODELS

    assert MODEL_NAMES == tuple(sorted(MODELS))
    assert options.DEFAULT_MODEL == DEFAULT_MODEL
    assert cli_download.DATASETS == tuple(sorted(download.COLLECTIONS))
    assert cli_download.API_ENV == download.API_ENV
