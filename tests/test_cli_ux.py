"""What a new user meets first (issue 22, point 5): defaults that explain themselves, forgiving
model names, errors that name the real problem, and one lock for CLI and Python API alike."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

import gaitsae.data
from gaitsae.cli import main
from gaitsae.data import load_dataset
from gaitsae.errors import OutputError
from gaitsae.estimator import GaitSAE

TINY = dict(n_latents=16, k=4, epochs=2, progress=False, batch_size=64)


@pytest.fixture(scope="module")
def dataset(tiny_phantom_dir):
    return load_dataset(tiny_phantom_dir, cache=False)


def test_config_print__says_what_zero_means_and_still_loads(capsys):
    assert main(["config", "--print"]) == 0
    text = capsys.readouterr().out
    lines = {line.split(" = ")[0]: line for line in text.splitlines() if " = " in line}
    assert "0 = auto" in lines["n_latents"] and "0 = auto" in lines["epochs"]
    assert tomllib.loads(text)["model"]["n_latents"] == 0


def test_model_names__are_case_insensitive(tmp_path, capsys):
    assert main(["config", "--print", "--model", "TopK"]) == 0
    assert tomllib.loads(capsys.readouterr().out)["model"]["name"] == "topk"
    assert GaitSAE(model="SAE").to_config().model_name == "sae"
    from gaitsae.cli import build_parser
    from gaitsae.cli.train import build_config
    args = build_parser().parse_args(["train", "--out", str(tmp_path / "r"), "--data", "x", "--model", "TopK"])
    assert build_config(args).model_name == "topk"
    from gaitsae.sweep.spec import parse_spec
    points = parse_spec({"model": {"name": "TopK"}, "grid": {"model.name": ["TopK", "SAE"]}}, data=str(tmp_path))
    assert sorted(p.config.model_name for p in points) == ["sae", "topk"]


def test_analyze__a_missing_directory_is_named_as_missing(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nonexistent")]) == 2
    err = capsys.readouterr().err
    assert "no such directory" in err and "config.toml" not in err and err.count("\n") == 1


def test_train__refuses_out_before_reading_the_data(tiny_phantom_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("the user's")

    def must_not_read(*a, **k):
        raise AssertionError("data read before --out was checked")

    monkeypatch.setattr(gaitsae.data, "load_dataset", must_not_read)
    assert main(["train", "--data", str(tiny_phantom_dir), "--out", str(out), "--quiet"]) == 2
    assert "notes.txt" in capsys.readouterr().err


def test_resume__says_from_which_epoch(dataset, tmp_path, capsys):
    GaitSAE(model="topk", **TINY).fit(dataset, run_dir=tmp_path / "run")
    capsys.readouterr()
    GaitSAE(model="topk", **{**TINY, "epochs": 4}).fit(dataset, run_dir=tmp_path / "run", resume=True)
    assert "continuing from epoch 3 of 4" in capsys.readouterr().err


def test_fit_run_dir__takes_the_lock_the_cli_takes(dataset, tmp_path):
    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(tmp_path / '.run.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'%d' % os.getpid()); print('held', flush=True)\n"
        "time.sleep(120)\n")], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"held"
        with pytest.raises(OutputError, match=f"another gaitsae process \\(pid {holder.pid}\\)"):
            GaitSAE(model="topk", **TINY).fit(dataset, run_dir=run)
        assert not run.exists()
    finally:
        holder.kill()
        holder.wait()
    GaitSAE(model="topk", **TINY).fit(dataset, run_dir=run)  # the holder is gone: the lock is taken over
    assert (run / "model.safetensors").is_file()
