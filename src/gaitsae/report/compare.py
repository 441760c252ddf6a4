"""One table across runs: reconstruction, sparsity, redundancy, metadata and probe scores.

Rows are labelled by run name (two runs of one model stay apart); every value is a number (or
None), so comparison.json can be read by a program. Reconstruction and sparsity come from
metrics.json (the run's TEST split); correlations and probes from the analysis (every stance
of the run's data); `n_test_stances` and `n_analysed_stances` say which is which.
"""

from __future__ import annotations

import numpy as np

from gaitsae.report.factors import best_feature
from gaitsae.report.run import RunAnalysis
from gaitsae.models import SCAFFOLD
from gaitsae.report.kinds import of_kind
from gaitsae.report.summary import verdict

PROBES = (("walking_speed_m_per_s", "top1"), ("walking_speed_m_per_s", "all"), ("sex_code", "all"))

COLUMNS = [  # key, header, format
    ("run", "run", "{}"), ("model", "model", "{}"), ("verdict", "verdict", "{}"), ("fvu", "FVU, test", "{:.4f}"),
    ("r2_time_min", "min R² per channel, test", "{:.3f}"), ("l0", "L0, test", "{:.1f}"),
    ("n_latents", "features", "{:d}"), ("n_scaffold", "scaffold axes", "{:d}"), ("dead_fraction", "silent on test", "{:.0%}"),
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


# What the report's comparison table shows at a glance (it fits a 1,280 px screen); every other
# column is in the folded second table. Groups: (heading, keys).
MAIN_GROUPS = (
    ("run", ("run", "model", "verdict")),
    ("reconstruction (test)", ("fvu", "r2_time_min")),
    ("sparsity (test)", ("l0", "n_latents", "dead_fraction")),
    ("probes, all features vs PCA with as many components", (
        "probe_walking_speed_m_per_s_all", "probe_walking_speed_m_per_s_all_pca", "probe_sex_code_all",
        "probe_sex_code_all_pca")),
)
_R2 = "R² of a ridge probe on the run's test subjects (1 = perfect; 0 = no better than guessing the mean; below 0: worse)"
_BA = "balanced accuracy of a logistic probe on the run's test subjects (0.5 = chance)"
TIPS = {  # every header's tooltip
    "run": "the run's directory name", "model": "the model trained",
    "verdict": "good / mixed / weak by the verdict rules stated under the summary",
    "fvu": "fraction of the test curves' variance the model leaves unexplained (lower is better)",
    "r2_time_min": "R² of the reconstruction in the channel it reconstructs worst (test split)",
    "l0": "mean number of features active per test stance (numbers per stance: scaffold axes included)",
    "n_latents": "number of features, both kinds (scaffold axes and sparse features)",
    "n_scaffold": "dense scaffold axes among the features (coded on every stance: normal variation)",
    "dead_fraction": "share of features that never fire on a test stance",
    "firing_rate_mean": "mean share of test stances a feature fires on",
    "peak_error": "mean absolute error of the vertical force's first and second peaks, in % of body weight",
    "max_abs_r": "largest |Pearson r| between two features' activations (redundancy)",
    "speed_r": "Pearson r of the feature that follows walking speed best, over subjects' means",
    "age_r": "Pearson r of the feature that follows age best, over subjects' means",
    "height_r": "Pearson r of the feature that follows height best, over subjects' means",
    "weight_r": "Pearson r of the feature that follows body weight best, over subjects' means",
    "train_seconds": "training time in seconds",
    "n_test_stances": "stances of the test subjects (reconstruction and sparsity numbers)",
    "n_analysed_stances": "every stance of the run's data (activations, shapes, correlations)",
    **{f"probe_{t}_{s}{arm}": (_R2 if t.startswith("walking") else _BA) + (
        f"; from {'the best feature' if s == 'top1' else 'all features'}" if not arm else
        f"; from {'the best principal component' if s == 'top1' else 'as many principal components as features'}")
       for t, s in PROBES for arm in ("", "_pca")},
}
NEGATIVE_R2 = ("R² below 0 means a probe predicts worse than always guessing the test subjects' mean value: "
               "the features carry no usable information about that attribute (it is not an error).")


def best_r(numbers: dict, attribute: str) -> float | None:
    """The signed r of the best feature for an attribute (report.factors: the one choice)."""
    best = best_feature(numbers, attribute)
    return None if best is None or best["r"] is None else float(best["r"])


def comparison_rows(runs: list[RunAnalysis]) -> list[dict]:
    rows = []
    for a in runs:
        m, n = a.metrics, a.numbers
        probes = n["probes"]
        row = {
            "run": a.name, "model": a.model, "verdict": verdict(a)[0], "fvu": m.get("fvu"),
            "r2_time_min": float(np.min(list(m["r2_time"].values()))) if m.get("r2_time") else None,
            "l0": m.get("l0"), "n_latents": len(n["activations"]["firing_rate"]),
            "n_scaffold": len(of_kind(n, SCAFFOLD)),
            "dead_fraction": m.get("dead_fraction"), "firing_rate_mean": m.get("firing_rate", {}).get("mean"),
            "peak_error": (float(np.mean([p["absolute"] for p in m["peak_error"].values()]))
                           if m.get("peak_error") else None),
            "max_abs_r": n["importance"].get("max_abs_r"),
            "speed_r": best_r(n, "walking_speed_m_per_s"), "age_r": best_r(n, "age_years"),
            "height_r": best_r(n, "height_cm"), "weight_r": best_r(n, "body_weight_n"),
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
