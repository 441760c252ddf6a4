"""The benchmark scripts compare methods under the same rules: what each number was tuned on is
stated (small_data), and the L0 sweep trains the latent count it reports and fills fvu_features
from the feature-space ratio (l0_sweep)."""

from __future__ import annotations

import math
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


def _jumprelu_like(lam: float) -> float:
    """Validation L0 against λ as measured on the calibrated phantom in 20 epochs: falls as a
    power of λ between a ceiling and a floor that no λ gets below."""
    return max(9.72, min(65.0, 22.7 * lam ** -0.16))


def _search(l0_sweep, k, fits, max_fits=3):
    for _ in range(max_fits):
        if fits and min(abs(math.log(f["val_l0"] / k)) for f in fits) < math.log(1.1):
            break
        lam = l0_sweep.next_lambda(fits, k)
        if lam is None:
            break
        fits.append({"val_l0": _jumprelu_like(lam), "params": {"l0_weight": lam}})
    return fits


def test_l0_sweep__jumprelu_search_brackets_k_and_stops_at_the_floor():
    import l0_sweep

    fits = []
    for k in (2, 4, 8):  # below the floor: the search stops instead of trying ever larger λ
        fits = _search(l0_sweep, k, fits)
    assert max(f["params"]["l0_weight"] for f in fits) < 1e12
    assert l0_sweep.next_lambda(fits, 4) is None
    for k in (16, 32):  # reachable: bracketed by earlier fits (k = 16) or from one side (k = 32)
        fits = _search(l0_sweep, k, fits)
        assert min(abs(math.log(f["val_l0"] / k)) for f in fits) < math.log(1.1), k
