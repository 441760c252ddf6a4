"""The benchmark scripts compare methods under the same rules: what each number was tuned on is
stated (small_data), and the L0 sweep trains the latent count it reports and fills fvu_features
from the feature-space ratio (l0_sweep)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gaitsae.data import load_dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.fixture(scope="module")
def data(tiny_phantom_dir):
    return load_dataset(tiny_phantom_dir, channels=["F_V"], sides=["left"])


@pytest.mark.parametrize("split", ["val", "test"])
def test_small_data__each_row_says_which_split_it_was_tuned_on(data, split):
    import small_data

    out = small_data.evaluate(data, split, "topk", {"epochs": 2, "n_latents": 16, "k": 2})
    assert out["model"]["tuned_on"] == ("val (early stopping) = the reported split" if split == "val"
                                        else "val (early stopping), not the reported test")
    assert out["pca"]["tuned_on"] == out["dictionary+omp"]["tuned_on"] == "nothing (fit on train only)"


def test_l0_sweep__trains_and_reports_the_latents_it_says_and_feature_space_fvu(tiny_phantom_dir):
    import l0_sweep

    ds = load_dataset(tiny_phantom_dir)
    split = l0_sweep.Split(ds)
    point = l0_sweep.fit_sae("topk", ds, split, 2, 1, n_latents=40)
    assert point["n_latents"] == 40  # not the automatic size
    assert point["fvu_features"] != point["fvu"]  # the feature-space ratio, not the time-domain one
    table, _ = l0_sweep.table({("topk", 2): {"method": "topk", "k": 2, **point}})
    assert f"({point['l0']:.1f}; 40)" in table
