"""Activation distributions: firing rates, a type per feature, and the L0 distribution.

Typing rule (stated once, used everywhere):
- dead: never active on the analysed stances (firing rate 0);
- dense-unimodal (the report's "variational" features): active on more than half of the
  stances and Sarle's bimodality coefficient of its activations ≤ 5/9 (the value of a uniform
  distribution; larger suggests two modes);
- sparse-bimodal (the report's "bimodal" features): every other feature — a point mass at zero
  (silent on most stances) plus an active mode, or two modes among dense activations.
The report and the explorer show the numbers behind the type instead of the word: the firing share
and the bimodality coefficient.

A personal signature: a feature whose activation varies mostly between people rather than
between one person's stances: the between-subject share of its activation variance
(metadata.between_subject_shares: variance of each stance's subject mean over the variance of
all stances) is SIGNATURE_SHARE or more. Such a feature tells people apart; its top stances would
come from few people (hence at most two stances per subject wherever top stances are shown). It
may still follow a person's attribute (see its r with speed, age…).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from gaitsae.analysis.figures import subplots, svg
from gaitsae.analysis.metadata import between_subject_shares

BIMODALITY_THRESHOLD = 5 / 9
SIGNATURE_SHARE = 0.75
SIGNATURE_RULE = (f"a personal signature: {SIGNATURE_SHARE:.0%} or more of the feature's activation variance lies "
                  "between subjects (variance of each stance's subject mean / variance over all stances)")


def bimodality_coefficient(values: np.ndarray) -> float:
    """Sarle's b = (skew² + 1) / (excess kurtosis + 3 (n−1)² / ((n−2)(n−3)))."""
    n = len(values)
    if n < 4 or np.ptp(values) == 0:
        return 0.0
    g = stats.skew(values)
    k = stats.kurtosis(values)
    return float((g ** 2 + 1) / (k + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))))


def feature_types(latents: np.ndarray, threshold: float = 0.0) -> list[str]:
    active = np.abs(latents) > threshold
    rates = active.mean(axis=0)
    types = []
    for j, rate in enumerate(rates):
        if rate == 0:
            types.append("dead")
        elif rate > 0.5 and bimodality_coefficient(latents[:, j]) <= BIMODALITY_THRESHOLD:
            types.append("dense-unimodal")
        else:
            types.append("sparse-bimodal")
    return types


def signature_label(share) -> str:
    """ "a personal signature (share 0.83)" when share >= SIGNATURE_SHARE, else "". """
    if share is None or not np.isfinite(share) or share < SIGNATURE_SHARE:
        return ""
    return f"a personal signature ({share:.0%} of its variance between subjects)"


def analyze_activations(latents: np.ndarray, threshold: float, show: list[int], subjects=None) -> tuple[dict, dict]:
    """subjects [n] (optional): adds each feature's between-subject share (personal signatures)."""
    active = np.abs(latents) > threshold
    rates = active.mean(axis=0)
    types = feature_types(latents, threshold)
    l0 = active.sum(axis=1)
    numbers = {
        "rule": "dead: firing rate 0; dense-unimodal: firing rate > 0.5 and bimodality coefficient <= 5/9; "
                "sparse-bimodal: otherwise",
        "active_threshold": threshold,
        "firing_rate": rates.round(5).tolist(),
        "types": types,
        "type_counts": {t: types.count(t) for t in ("dead", "sparse-bimodal", "dense-unimodal")},
        "bimodality": [round(bimodality_coefficient(latents[:, j]), 4) for j in range(latents.shape[1])],
        "l0_mean": float(l0.mean()), "l0_median": float(np.median(l0)), "l0_max": int(l0.max()),
    }
    if subjects is not None:
        numbers["between_subject_share"] = between_subject_shares(latents, subjects).round(4).tolist()
        numbers["signature_rule"] = SIGNATURE_RULE
    cols = 3
    rows = int(np.ceil(len(show) / cols)) or 1
    fig, axes = subplots(rows, cols, width=3.2, height=2.2)
    for ax, j in zip(axes.flat, show):
        ax.hist(latents[:, j], bins=40, color="tab:blue")
        ax.set_yscale("log")
        ax.set_title(f"feature {j}: fires {rates[j]:.0%}, bimodality {numbers['bimodality'][j]:.2f}")
        ax.set_xlabel("activation")
    for ax in list(axes.flat)[len(show):]:
        ax.axis("off")
    axes[0, 0].set_ylabel("stances (log)")
    hist = svg(fig)
    fig, axes = subplots(1, 2, width=4.6, height=2.8)
    axes[0, 0].hist(l0, bins=np.arange(l0.max() + 2) - 0.5, color="tab:green")
    axes[0, 0].set_xlabel("active features per stance (L0)")
    axes[0, 1].bar(np.arange(len(rates)), np.sort(rates)[::-1], color="tab:purple")
    axes[0, 1].set_xlabel("features, sorted")
    axes[0, 0].set_ylabel("stances")
    axes[0, 1].set_ylabel("firing rate")
    return numbers, {"activation_histograms": hist, "l0_and_firing": svg(fig)}
