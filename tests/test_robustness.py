"""Robustness: malformed input through the CLI, damaged checkpoints, interrupted training,
atomic outputs, and a property-based fuzz of the reader."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gaitsae.cli import main
from gaitsae.data import load_dataset
from gaitsae.data.phantom import write_phantom
from gaitsae.errors import DataError
from gaitsae.fsio import atomic_path, write_text
from tests.csvedit import read_lines, with_cell, write_lines


# Each malformed case: (file, edit of its lines, expected message part)
CASES = {
    "missing file": ("GRF_metadata.csv", None, "GRF_metadata.csv: required file is missing"),
    "renamed column": ("GRF_F_V_PRO_left.csv", lambda l: [l[0].replace("TRIAL_ID", "TRIAL")] + l[1:], "missing column TRIAL_ID"),
    "non-numeric": ("GRF_F_AP_PRO_right.csv", lambda l: with_cell(l, 2, 30, "abc"), "row 3, column F_AP_PRO_27: not a number"),
    "value columns": ("GRF_F_ML_PRO_left.csv", lambda l: [",".join(x.split(",")[:-2]) for x in l], "expected 101 value columns"),
    "trial missing": ("GRF_COP_AP_PRO_left.csv", lambda l: l[:2] + l[3:], "is missing from"),
    "duplicate": ("GRF_F_V_PRO_right.csv", lambda l: l[:2] + [l[1]] + l[2:], "duplicate IDs"),
    "no metadata row": ("GRF_metadata.csv", lambda l: l[:1] + l[2:], "has no row in GRF_metadata.csv"),
    "empty": ("GRF_COP_ML_PRO_right.csv", lambda l: [], "file is empty"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["inspect", "train"])
def test_cli__malformed_input_is_a_clear_error_and_leaves_nothing(phantom_copy, tmp_path, case, command):
    name, edit, message = CASES[case]
    path = phantom_copy / name
    if edit is None:
        path.unlink()
    else:
        write_lines(path, edit(read_lines(path)))
    out = tmp_path / "run"
    argv = [command, str(phantom_copy)] if command == "inspect" else \
        ["train", "--data", str(phantom_copy), "--out", str(out), "--epochs", "1", "--quiet"]
    proc = subprocess.run([sys.executable, "-m", "gaitsae", *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_resume__corrupted_checkpoint_is_a_clear_error(tiny_phantom_dir, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--data", str(tiny_phantom_dir), "--out", str(run), "--epochs", "2", "--quiet"]) == 0
    ck = run / "checkpoint" / "checkpoint.safetensors"
    ck.write_bytes(ck.read_bytes()[: len(ck.read_bytes()) // 2])
    assert main(["train", "--data", str(tiny_phantom_dir), "--out", str(run), "--epochs", "3", "--resume",
                 "--quiet"]) == 2
    assert "checkpoint.safetensors: cannot read checkpoint" in capsys.readouterr().err


def test_config__unknown_key_through_the_cli(tiny_phantom_dir, tmp_path, capsys):
    (tmp_path / "c.toml").write_text("[model]\nname = 'topk'\nkk = 3\n")
    assert main(["train", "--data", str(tiny_phantom_dir), "--out", str(tmp_path / "r"), "--config",
                 str(tmp_path / "c.toml")]) == 2
    assert "unknown key model.kk" in capsys.readouterr().err


@pytest.fixture(scope="module")
def slow_phantom(tmp_path_factory):
    """Big enough that an epoch takes a noticeable moment, so a signal lands mid-training."""
    out = tmp_path_factory.mktemp("slow")
    write_phantom(out, n_subjects=40, seed=4, progress=False)
    load_dataset(out)  # warm the cache path used by the subprocesses' default cache dir
    return out


SMALL_TOML = "[model]\nname = 'topk'\nn_latents = 24\nk = 4\n[training]\nbatch_size = 8\npatience = 50\n"


def _train_argv(data, out, *extra):
    return [sys.executable, "-m", "gaitsae", "train", "--data", str(data), "--out", str(out), "--model", "topk",
            "--epochs", "6", "--seed", "3", "--quiet", "--config", str(Path(out).parent / "small.toml"), *extra]


@pytest.fixture(scope="module")
def straight(slow_phantom, tmp_path_factory) -> Path:
    """The uninterrupted training both interruptions are compared with (read-only)."""
    root = tmp_path_factory.mktemp("straight")
    (root / "small.toml").write_text(SMALL_TOML)
    env = {**os.environ, "GAITSAE_CACHE_DIR": str(root / "cache")}
    subprocess.run(_train_argv(slow_phantom, root / "straight"), check=True, env=env, timeout=600)
    return root / "straight"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_training_resumes_to_the_same_result(slow_phantom, straight, tmp_path, sig):
    (tmp_path / "small.toml").write_text(SMALL_TOML)
    env = {**os.environ, "GAITSAE_CACHE_DIR": str(tmp_path / "cache")}
    run = tmp_path / "interrupted"
    # A background job of a non-interactive shell (how CI may start us) inherits SIGINT ignored,
    # and Python then never raises KeyboardInterrupt; a terminal's Ctrl-C has the default action.
    proc = subprocess.Popen(_train_argv(slow_phantom, run), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    ck = run / "checkpoint" / "checkpoint.safetensors"
    deadline = time.time() + 300
    while not ck.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in ((130,) if sig == signal.SIGINT else (-signal.SIGKILL,))
    if sig == signal.SIGINT:
        assert b"interrupted" in err and b"Traceback" not in err
    assert not (run / "metrics.json").exists()  # no half-finished run passed off as done
    subprocess.run(_train_argv(slow_phantom, run, "--resume"), check=True, env=env, timeout=600)
    a = json.loads((straight / "metrics.json").read_text())
    b = json.loads((run / "metrics.json").read_text())
    for key in ("fvu", "r2_time", "l0", "dead_fraction", "peak_error", "epochs_run", "best_epoch"):
        assert a[key] == b[key], key
    assert (straight / "model.safetensors").read_bytes() == (run / "model.safetensors").read_bytes()


def test_atomic_path__failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash while writing")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


MUTATIONS = st.sampled_from(["drop_line", "dup_line", "cell_text", "cell_empty", "truncate", "header_swap",
                             "extra_cell", "binary"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_reader_fuzz__corrupted_csvs_never_raise_unhandled(tiny_phantom_dir, tmp_path_factory, data):
    directory = tmp_path_factory.mktemp("fuzz")
    for f in tiny_phantom_dir.iterdir():
        if "_RAW_" not in f.name:
            (directory / f.name).write_bytes(f.read_bytes())
    files = sorted(p.name for p in directory.glob("*.csv") if not p.name.startswith("phantom_"))  # not read
    for _ in range(data.draw(st.integers(1, 3))):
        path = directory / data.draw(st.sampled_from(files))
        lines = read_lines(path)
        row = data.draw(st.integers(0, max(len(lines) - 1, 0)))
        kind = data.draw(MUTATIONS)
        if kind == "drop_line":
            lines = lines[:row] + lines[row + 1:]
        elif kind == "dup_line":
            lines = lines[:row] + [lines[row]] + lines[row:]
        elif kind in ("cell_text", "cell_empty", "extra_cell") and lines and lines[row]:
            cells = lines[row].split(",")
            col = data.draw(st.integers(0, len(cells) - 1))
            if kind == "extra_cell":
                cells.insert(col, "1")
            else:
                cells[col] = "" if kind == "cell_empty" else data.draw(st.text(alphabet="abc-+.eE1 ", max_size=5))
            lines[row] = ",".join(cells)
        elif kind == "truncate":
            text = "\r\n".join(lines)
            lines = [text[: data.draw(st.integers(0, len(text)))]]
        elif kind == "header_swap" and lines:
            cells = lines[0].split(",")
            i, j = data.draw(st.integers(0, len(cells) - 1)), data.draw(st.integers(0, len(cells) - 1))
            cells[i], cells[j] = cells[j], cells[i]
            lines[0] = ",".join(cells)
        elif kind == "binary":
            path.write_bytes(data.draw(st.binary(max_size=64)))
            continue
        write_lines(path, lines)
    try:
        ds = load_dataset(directory, cache=False)
    except DataError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert ds.curves.shape[1:] == (5, 101) and len(ds.stances) == len(ds.curves)
