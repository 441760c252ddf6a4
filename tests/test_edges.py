"""Usability edges of issue 31: compare with and without phantom ground truth, one-sided data,
log-friendly progress, review leftovers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gaitsae.cli import main
from tests.clifail import fails


@pytest.fixture(scope="module")
def runs_with_and_without_truth(tiny_phantom_dir, tmp_path_factory) -> tuple[Path, Path]:
    """A run on the phantom (ground truth known) and one on a copy without the phantom's truth files."""
    from gaitsae.analysis.ground_truth import TRUTH_FILE

    root = tmp_path_factory.mktemp("truthless")
    plain = root / "plain"
    shutil.copytree(tiny_phantom_dir, plain, ignore=shutil.ignore_patterns(TRUTH_FILE, "phantom_patterns.csv"))
    for name, data in (("phantom", tiny_phantom_dir), ("plain", plain)):
        assert main(["train", "--data", str(data), "--out", str(root / "runs" / name), "--epochs", "1",
                     "--quiet", "--n-latents", "8", "--k", "2"]) == 0
    return root / "runs" / "phantom", root / "runs" / "plain"


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_compare__one_run_with_phantom_truth_and_one_without(runs_with_and_without_truth, tmp_path, order):
    runs = [runs_with_and_without_truth[i] for i in order]
    out = tmp_path / "cmp"
    assert main(["compare", *map(str, runs), "--out", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert 'id="ground-truth"' in html  # shown whichever run comes first
    assert "No ground truth: this run was analysed on data without the phantom's factors." in html
    assert (out / "comparison.json").is_file()


@pytest.fixture
def left_only(phantom_copy) -> Path:
    for f in phantom_copy.glob("*_right.csv"):
        f.unlink()
    return phantom_copy


def test_one_sided_data__inspect_reads_the_side_present_and_says_so(left_only, capsys):
    assert main(["inspect", str(left_only)]) == 0
    out = capsys.readouterr().out
    assert "only left-side PRO files: reading side left (train with --sides left)" in out
    assert "sides:     left" in out


def test_one_sided_data__train_names_the_sides_flag(left_only, tmp_path, capsys):
    err = fails(["train", "--data", str(left_only), "--out", str(tmp_path / "run"), "--epochs", "1", "--quiet"],
                capsys)
    assert "no PRO signal files for side right (the directory holds left only); pass --sides left" in err
    assert not (tmp_path / "run").exists()
    assert main(["train", "--data", str(left_only), "--out", str(tmp_path / "run"), "--epochs", "1", "--quiet",
                 "--sides", "left"]) == 0


def test_classify_and_index__piped_progress_is_plain_lines_naming_the_step(world, tmp_path, monkeypatch, capsys):
    """stderr not a terminal (a log file): no carriage returns; classify's lines say which step runs."""
    import gaitsae.progress

    monkeypatch.setattr(gaitsae.progress, "LOG_EVERY", 0.0)  # a line at every step instead of every 30 s
    run = shutil.copytree(world / "run0", tmp_path / "run0")
    assert main(["classify", str(run), "--data", str(world / "data"), "--out", str(tmp_path / "cls"),
                 "--bootstrap", "10", "--train-set", "full"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "classify: class by logistic on pca: step" in err and "classify: healthy vs patient detection" in err
    assert main(["index", str(run), "--data", str(world / "data")]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "index run0: step 4/4" in err


def test_readme__names_every_model_the_train_command_offers():
    from gaitsae.cli.options import MODEL_NAMES

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in MODEL_NAMES), [n for n in MODEL_NAMES if f"`{n}`" not in readme]


def test_transform__docstring_names_the_default_scaling():
    from gaitsae.features import transform
    from gaitsae.training.config import FeatureConfig

    default = FeatureConfig().scaling
    assert transform.FeatureTransform().scaling == default == "channel"
    assert f'scaling="{default}" (the class default)' in transform.__doc__ and "the training default" not in transform.__doc__
