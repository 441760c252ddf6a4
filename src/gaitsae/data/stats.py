"""Calibration statistics of a gait dataset: how rich its curves are and how repeatable a person is.

Pure numpy/pandas, on any GaitDataset (one channel or five, one side or two, with or without speed):
- PCA residual spectrum per channel: share of the variance (over all stances) left after the
  first k principal components, k in PCA_COMPONENTS.
- high-frequency share per channel: the power of the deviations from the mean curve in DFT bins
  >= HF_CYCLES cycles per stance (rfft of the 101 samples), over their total power.
- classic GRF parameters per stance (vGRF peaks, trough and mean force, AP braking and propulsion
  peaks), their between-subject share of variance (one-way ICC(1) over subject × side groups)
  and their within-session between-trial coefficient of variation (median over session × side
  groups of >= 3 trials). PRO curves are time-normalised, so stance time is not among them (the
  phantom's tests check it on phantom_truth.csv).
The targets these are compared with live in gaitsae.data.calibration.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gaitsae.data.calibration import BETWEEN_SHARE, HF_CYCLES, HF_SHARE, PCA_COMPONENTS, PCA_RESIDUAL, TRIAL_CV
from gaitsae.data.dataset import GaitDataset

MIN_TRIALS = 3  # trials per session × side for a between-trial CV


def pca_residual_shares(curves: np.ndarray, ks=PCA_COMPONENTS) -> dict[int, float]:
    """{k: share of variance left after k PCs} of curves [n_stances, 101] (k < n_stances only)."""
    x = np.asarray(curves, dtype=np.float64)
    eig = np.linalg.svd(x - x.mean(axis=0), compute_uv=False) ** 2
    total = eig.sum()
    if total <= 0:
        return {k: 0.0 for k in ks if k < len(x)}
    return {k: float(eig[k:].sum() / total) for k in ks if k < len(x)}


def high_frequency_share(curves: np.ndarray, cycles: int = HF_CYCLES) -> float:
    """Power share of the deviations from the mean curve at >= `cycles` cycles per stance."""
    x = np.asarray(curves, dtype=np.float64)
    power = np.abs(np.fft.rfft(x - x.mean(axis=0), axis=1)) ** 2
    total = power.sum()
    return float(power[:, cycles:].sum() / total) if total > 0 else 0.0


def grf_parameters(dataset: GaitDataset) -> pd.DataFrame:
    """Classic parameters per stance (BW; NaN-free columns only for the channels present)."""
    out = pd.DataFrame(index=dataset.stances.index)
    if "F_V" in dataset.channels:
        v = dataset.curves[:, dataset.channels.index("F_V")].astype(np.float64)
        t1 = 5 + v[:, 5:50].argmax(axis=1)
        t2 = 50 + v[:, 50:96].argmax(axis=1)
        between = np.arange(v.shape[1])[None, :]
        inside = (between >= t1[:, None]) & (between <= t2[:, None])
        out["fv_peak1"] = v[np.arange(len(v)), t1]
        out["fv_trough"] = np.where(inside, v, np.inf).min(axis=1)
        out["fv_peak2"] = v[np.arange(len(v)), t2]
        # Trapezoid rule over normalised time: BW × stance (numpy >= 1.24 has no np.trapezoid).
        out["fv_impulse"] = (v.sum(axis=1) - 0.5 * (v[:, 0] + v[:, -1])) / (v.shape[1] - 1)
    if "F_AP" in dataset.channels:
        ap = dataset.curves[:, dataset.channels.index("F_AP")].astype(np.float64)
        out["fap_braking"] = -ap[:, :50].min(axis=1)
        out["fap_propulsion"] = ap[:, 50:].max(axis=1)
    return out


def between_share(values: np.ndarray, groups: np.ndarray) -> float:
    """One-way random-effects ICC(1) for unbalanced groups: between-group share of variance."""
    frame = pd.DataFrame({"x": values, "g": groups}).dropna()
    stats = frame.groupby("g")["x"].agg(["mean", "count", "var"])
    stats = stats[stats["count"] >= 2]
    n, g = stats["count"].sum(), len(stats)
    if g < 2:
        return float("nan")
    grand = (stats["mean"] * stats["count"]).sum() / n
    msb = (stats["count"] * (stats["mean"] - grand) ** 2).sum() / (g - 1)
    msw = ((stats["count"] - 1) * stats["var"]).sum() / (n - g)
    k0 = (n - (stats["count"] ** 2).sum() / n) / (g - 1)
    return float((msb - msw) / (msb + (k0 - 1) * msw))


def trial_cv(values: np.ndarray, groups: np.ndarray) -> float:
    """Median over groups (of >= MIN_TRIALS) of the between-trial sd / |mean|."""
    frame = pd.DataFrame({"x": values, "g": groups}).dropna()
    stats = frame.groupby("g")["x"].agg(["mean", "std", "count"])
    stats = stats[stats["count"] >= MIN_TRIALS]
    return float((stats["std"] / stats["mean"].abs()).median()) if len(stats) else float("nan")


def parameter_repeatability(parameters: pd.DataFrame, stances: pd.DataFrame) -> dict[str, dict[str, float]]:
    """{parameter: {"between_share", "trial_cv"}} with subject × side and session × side groups."""
    leg = (stances["subject"].astype(str) + "|" + stances["side"].astype(str)).to_numpy()
    visit = (stances["session"].astype(str) + "|" + stances["side"].astype(str)).to_numpy()
    return {name: {"between_share": between_share(col.to_numpy(), leg), "trial_cv": trial_cv(col.to_numpy(), visit)}
            for name, col in parameters.items()}


def dataset_stats(dataset: GaitDataset) -> dict:
    """All calibration statistics of one dataset (see the module docstring)."""
    return {
        "n_stances": len(dataset),
        "n_subjects": dataset.n_subjects,
        "pca_residual": {ch: pca_residual_shares(dataset.curves[:, c]) for c, ch in enumerate(dataset.channels)},
        "hf_share": {ch: high_frequency_share(dataset.curves[:, c]) for c, ch in enumerate(dataset.channels)},
        "parameters": parameter_repeatability(grf_parameters(dataset), dataset.stances),
    }


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return f"{value:.3g}"


def _target(target) -> str:
    return "–" if target is None else f"{target.low:.3g}–{target.high:.3g}"


def format_stats(named: dict[str, dict]) -> str:
    """Side-by-side text table of dataset_stats results ({column name: stats}) and the targets."""
    names = list(named)
    rows = [("statistic", *names, "target (real healthy)")]
    channels = [ch for ch in dict.fromkeys(ch for s in named.values() for ch in s["pca_residual"])]
    rows.append(("stances / subjects", *(f"{s['n_stances']} / {s['n_subjects']}" for s in named.values()), "–"))
    for ch in channels:
        for k in PCA_COMPONENTS:
            rows.append((f"{ch} PCA residual after {k}", *(_cell(s["pca_residual"].get(ch, {}).get(k))
                                                           for s in named.values()), _target(PCA_RESIDUAL.get((ch, k)))))
        rows.append((f"{ch} power share >= {HF_CYCLES} cycles/stance",
                     *(_cell(s["hf_share"].get(ch)) for s in named.values()), _target(HF_SHARE.get(ch))))
    parameters = [p for p in dict.fromkeys(p for s in named.values() for p in s["parameters"])]
    for p in parameters:
        for key, table, label in (("between_share", BETWEEN_SHARE, "between-subject share"),
                                  ("trial_cv", TRIAL_CV, "between-trial CV")):
            rows.append((f"{p} {label}", *(_cell(s["parameters"].get(p, {}).get(key)) for s in named.values()),
                         _target(table.get(p))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("targets: gaitsae.data.calibration (sources in docs/phantom.md); stance-time CV is not "
                 "computable from time-normalised PRO curves")
    return "\n".join(lines)
