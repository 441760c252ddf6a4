"""The CLI keeps what the user asked for: flag > config file > default precedence, help for
every flag, the default config, progress in logs, and recognisable interrupted runs."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib

import pytest

from gaitsae.cli import build_parser, main
from gaitsae.cli.train import build_config
from gaitsae.progress import LogLines
from gaitsae.training.config import config_to_dict, default_config, load_config


def _train_args(*argv):
    return build_parser().parse_args(["train", "--out", "unused", *argv])


def test_every_option_of_every_subcommand_has_help():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = [f"{name} {action.option_strings or action.dest}" for name, parser in sub.choices.items()
               for action in parser._actions
               if not isinstance(action, argparse._HelpAction) and not action.help]
    assert missing == []


def test_train__config_value_kept_when_model_flag_changes_the_model(tmp_path):
    cfg = tmp_path / "my.toml"
    cfg.write_text('[data]\npath = "somewhere"\n[model]\nn_latents = 32\n')
    config = build_config(_train_args("--config", str(cfg), "--model", "sae-disent"))
    assert config.model_name == "sae-disent" and config.model["n_latents"] == 32


def test_train__config_key_the_chosen_model_lacks_is_an_error(tmp_path, capsys):
    cfg = tmp_path / "my.toml"
    cfg.write_text('[data]\npath = "somewhere"\n[model]\nname = "topk"\nk = 4\n')
    assert main(["train", "--config", str(cfg), "--model", "sae", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "model.k" in err and "sae" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_train__flags_win_over_the_config_and_say_so(tmp_path, capsys):
    cfg = tmp_path / "my.toml"
    cfg.write_text('[data]\npath = "a"\nsides = ["left"]\n[model]\nn_latents = 32\nk = 4\n[training]\nepochs = 7\n')
    config = build_config(_train_args("--config", str(cfg), "--n-latents", "48", "--k", "6", "--lr", "0.01"))
    assert (config.model["n_latents"], config.model["k"], config.training.learning_rate) == (48, 6, 0.01)
    assert config.training.epochs == 7 and config.data.sides == ["left"]  # kept from the file
    out = capsys.readouterr().out
    assert "model.n_latents 32 -> 48" in out and "model.k 4 -> 6" in out and "epochs" not in out


def test_config_print__is_the_default_config_and_loads_back(tmp_path, capsys):
    assert main(["config", "--print", "--model", "sae"]) == 0
    text = capsys.readouterr().out
    assert tomllib.loads(text)["model"]["name"] == "sae"
    (tmp_path / "c.toml").write_text(text)
    assert config_to_dict(load_config(tmp_path / "c.toml")) == config_to_dict(default_config("sae"))


def test_log_lines__plain_progress_with_numbers_and_eta(capsys):
    bar = LogLines(total=4, desc="train topk", unit="epoch", every=0.0)
    for _ in range(2):
        bar.set_postfix({"val_loss": "0.12"})
        bar.update(1)
    bar.close()
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("train topk: epoch 1/4, val_loss 0.12, ETA")
    assert lines[-1].startswith("train topk: epoch 2/4") and "\r" not in "".join(lines)


def test_train__progress_lines_when_stderr_is_a_log(tiny_phantom_dir, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "gaitsae", "train", "--data", str(tiny_phantom_dir), "--out",
                           str(tmp_path / "run"), "--model", "topk", "--epochs", "2", "--n-latents", "16", "--k", "4"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "train topk: epoch 2/2" in proc.stderr and "\r" not in proc.stderr


def test_unfinished_run__names_the_resume_command(tmp_path, capsys):
    (tmp_path / "run" / "checkpoint").mkdir(parents=True)
    assert main(["analyze", str(tmp_path / "run")]) == 2
    assert f"gaitsae train --out {tmp_path / 'run'} --resume" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--sides", "--channels"])
def test_train__selection_flags_default_to_the_config(flag, tmp_path):
    cfg = tmp_path / "my.toml"
    cfg.write_text('[data]\npath = "a"\nchannels = ["F_V"]\nsides = ["left"]\n')
    config = build_config(_train_args("--config", str(cfg)))
    assert config.data.channels == ["F_V"] and config.data.sides == ["left"]
