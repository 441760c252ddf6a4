"""One table across runs: reconstruction, sparsity, redundancy, metadata and probe scores."""

from __future__ import annotations

import numpy as np

from gaitsae.analysis.run import RunAnalysis

COLUMNS = [  # key, header, format
    ("model", "model", "{}"), ("fvu", "FVU time (test)", "{:.4f}"), ("r2_time_min", "min R² time", "{:.3f}"),
    ("l0", "L0", "{:.1f}"), ("dead_fraction", "dead", "{:.0%}"), ("firing_rate_mean", "firing rate", "{:.3f}"),
    ("peak_error", "mean abs. peak error", "{:.2%}"), ("max_abs_r", "max |r| between features", "{:.2f}"),
    ("speed_r", "best |r| speed", "{:.2f}"), ("age_r", "best |r| age", "{:.2f}"),
    ("height_r", "best |r| height", "{:.2f}"), ("weight_r", "best |r| weight", "{:.2f}"),
    ("probe_speed_top1", "speed R² top-1 (PCA top-1)", "{}"), ("probe_speed_all", "speed R² all (PCA)", "{}"),
    ("probe_sex_all", "sex bal. acc. all (PCA)", "{}"), ("train_seconds", "train s", "{:.0f}"),
]


def _pair(probes, target, size):
    p = probes.get(target)
    if not p:
        return None
    return f"{p[f'sae_{size}']:.2f} ({p[f'pca_{size}']:.2f})"


def comparison_rows(runs: list[RunAnalysis]) -> list[dict]:
    rows = []
    for a in runs:
        m, n = a.metrics, a.numbers
        meta, probes = n["metadata"], n["probes"]
        rows.append({
            "run": a.name, "model": a.model, "fvu": m.get("fvu"),
            "r2_time_min": float(np.min(list(m["r2_time"].values()))) if m.get("r2_time") else None,
            "l0": m.get("l0"), "dead_fraction": m.get("dead_fraction"),
            "firing_rate_mean": m.get("firing_rate", {}).get("mean"),
            "peak_error": (np.mean([p["absolute"] for p in m["peak_error"].values()])
                           if m.get("peak_error") else None),
            "max_abs_r": n["importance"].get("max_abs_r"),
            "speed_r": meta["walking_speed_m_per_s"]["best_abs_r"], "age_r": meta["age_years"]["best_abs_r"],
            "height_r": meta["height_cm"]["best_abs_r"], "weight_r": meta["body_weight_n"]["best_abs_r"],
            "probe_speed_top1": _pair(probes, "walking_speed_m_per_s", "top1"),
            "probe_speed_all": _pair(probes, "walking_speed_m_per_s", "all"),
            "probe_sex_all": _pair(probes, "sex_code", "all"),
            "train_seconds": m.get("train_seconds"),
        })
    return rows


def format_cell(key, value) -> str:
    fmt = dict((k, f) for k, _, f in COLUMNS)[key]
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return fmt.format(value)
