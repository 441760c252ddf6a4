"""One table across runs: reconstruction, sparsity, redundancy, metadata and probe scores.

Rows are labelled by run name (two runs of one model stay apart); every value is a number (or
None), so comparison.json can be read by a program. Reconstruction and sparsity come from
metrics.json (the run's TEST split); correlations and probes from the analysis (every stance
of the run's data); `n_test_stances` and `n_analysed_stances` say which is which.
"""

from __future__ import annotations

import numpy as np

from gaitsae.report.run import RunAnalysis

PROBES = (("walking_speed_m_per_s", "top1"), ("walking_speed_m_per_s", "all"), ("sex_code", "all"))

COLUMNS = [  # key, header, format
    ("run", "run", "{}"), ("model", "model", "{}"), ("fvu", "FVU, test", "{:.4f}"),
    ("r2_time_min", "min R² per channel, test", "{:.3f}"), ("l0", "L0, test", "{:.1f}"),
    ("n_latents", "features", "{:d}"), ("dead_fraction", "silent on test", "{:.0%}"),
    ("firing_rate_mean", "mean firing rate, test", "{:.3f}"), ("peak_error", "mean abs. vGRF peak error, test", "{:.2%}"),
    ("max_abs_r", "max |r| between features", "{:.2f}"),
    ("speed_r", "best r speed", "{:+.2f}"), ("age_r", "best r age", "{:+.2f}"),
    ("height_r", "best r height", "{:+.2f}"), ("weight_r", "best r weight", "{:+.2f}"),
    *[(f"probe_{t}_{s}", f"{'speed R²' if t.startswith('walking') else 'sex bal. acc.'} {s}", "{:.2f}")
      for t, s in PROBES],
    *[(f"probe_{t}_{s}_pca", f"{'speed R²' if t.startswith('walking') else 'sex bal. acc.'} {s}, PCA", "{:.2f}")
      for t, s in PROBES],
    ("train_seconds", "train s", "{:.0f}"), ("n_test_stances", "test stances", "{:,}"),
    ("n_analysed_stances", "analysed stances", "{:,}"),
]


def signed_best_r(meta: dict) -> float | None:
    """The best feature's Pearson r with its sign (None when undefined)."""
    j = meta.get("best_feature")
    r = meta.get("pearson_r")
    return None if j is None or not r or r[j] is None else float(r[j])


def comparison_rows(runs: list[RunAnalysis]) -> list[dict]:
    rows = []
    for a in runs:
        m, n = a.metrics, a.numbers
        meta, probes = n["metadata"], n["probes"]
        row = {
            "run": a.name, "model": a.model, "fvu": m.get("fvu"),
            "r2_time_min": float(np.min(list(m["r2_time"].values()))) if m.get("r2_time") else None,
            "l0": m.get("l0"), "n_latents": len(n["activations"]["firing_rate"]),
            "dead_fraction": m.get("dead_fraction"), "firing_rate_mean": m.get("firing_rate", {}).get("mean"),
            "peak_error": (float(np.mean([p["absolute"] for p in m["peak_error"].values()]))
                           if m.get("peak_error") else None),
            "max_abs_r": n["importance"].get("max_abs_r"),
            "speed_r": signed_best_r(meta["walking_speed_m_per_s"]), "age_r": signed_best_r(meta["age_years"]),
            "height_r": signed_best_r(meta["height_cm"]), "weight_r": signed_best_r(meta["body_weight_n"]),
            "train_seconds": m.get("train_seconds"),
            "n_test_stances": (m.get("n_stances") or {}).get("test"), "n_analysed_stances": n.get("n_stances"),
        }
        for target, size in PROBES:
            p = probes.get(target) or {}
            row[f"probe_{target}_{size}"] = p.get(f"sae_{size}")
            row[f"probe_{target}_{size}_pca"] = p.get(f"pca_{size}")
        rows.append(row)
    return rows


def format_cell(key, value) -> str:
    fmt = dict((k, f) for k, _, f in COLUMNS)[key]
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return fmt.format(value)
