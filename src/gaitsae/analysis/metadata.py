"""Feature activations against walking speed, age, height, body weight, BMI and sex.

Repeated measures: a subject contributes dozens of stances, which are not independent (a
latent that is just a random level per person, unrelated to anything, came out p < 0.05 for
82 % of null latents when speed was correlated per stance). So every association is tested at
the level of the independent unit, the subject: each subject's mean activation against the
subject's attribute (age, height, body weight, BMI, sex) or the subject's mean walking speed
over their stances. n = subjects; the null distribution of the t-test is then right (tested by
simulation: ≈ 5 % of null latents at p < 0.05). Within-subject speed effects are not tested
here (shuffling stances within subjects is not a valid null: stances of one trial share a
speed). Pearson and Spearman r, point-biserial r for sex, two-sided p-values,
Benjamini–Hochberg adjusted over all tests of the run. NaN metadata are left out pairwise; a
constant feature gets r = NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from gaitsae.analysis.figures import subplots, svg

VARIABLES = {  # column → (label, level the value belongs to); analyze_metadata tests all on subject means
    "walking_speed_m_per_s": ("walking speed (m/s)", "stance"),
    "age_years": ("age (years)", "subject"),
    "height_cm": ("height (cm)", "subject"),
    "body_weight_n": ("body weight (N)", "subject"),
    "bmi_kg_per_m2": ("BMI (kg/m²)", "subject"),
    "sex_code": ("sex (0 female, 1 male)", "subject"),
}


def correlate(latents: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Pearson r and two-sided p of every latent with target (NaN rows dropped)."""
    keep = np.isfinite(target)
    x, y = latents[keep].astype(np.float64), target[keep].astype(np.float64)
    n = len(y)
    if n < 4 or y.std() == 0:
        return np.full(latents.shape[1], np.nan), np.full(latents.shape[1], np.nan), n
    xc, yc = x - x.mean(0), y - y.mean()
    denom = np.sqrt((xc ** 2).sum(0) * (yc ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(denom > 0, (xc * yc[:, None]).sum(0) / denom, np.nan)
        t = r * np.sqrt((n - 2) / np.clip(1 - r ** 2, 1e-12, None))
    p = 2 * stats.t.sf(np.abs(t), n - 2)
    return r, p, n


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (NaN stays NaN)."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def _rank(a):
    return np.apply_along_axis(stats.rankdata, 0, a) if a.ndim == 2 else stats.rankdata(a)


def strongest(r: np.ndarray) -> int | None:
    """The feature with the largest |r| (None when no r is defined): the one rule behind every
    "best feature for X" (report, ground truth, explorer)."""
    r = np.asarray(r, dtype=float)
    return int(np.nanargmax(np.abs(r))) if np.isfinite(r).any() else None


def feature_correlations(latents: np.ndarray, values: np.ndarray, subjects: np.ndarray,
                         level: str = "subject") -> tuple[np.ndarray, np.ndarray, int]:
    """Pearson r, p and n of every feature with `values` (one per stance): level "subject"
    correlates each subject's mean activation (over all their stances) with the mean of their
    values (NaN skipped), n = subjects; "stance" correlates stances, n = stances (for factors
    that vary within a subject, which subject means would average away)."""
    if level == "stance":
        return correlate(latents, np.asarray(values, dtype=float))
    per_subject = pd.DataFrame(latents).groupby(subjects).mean()
    y = pd.Series(np.asarray(values, dtype=float)).groupby(subjects).mean().loc[per_subject.index]
    return correlate(per_subject.to_numpy(), y.to_numpy())


def between_subject_shares(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """[m]: per column of values [n, m], the share of its variance over rows that lies between
    groups (subjects): Var(each row's subject mean) / Var(rows); 1 for a constant column (a
    person's attribute is all between subjects)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[:, None] if values.ndim == 1 else values
    means = pd.DataFrame(values).groupby(np.asarray(groups)).transform("mean").to_numpy()
    total = values.var(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, means.var(axis=0) / np.where(total > 0, total, 1), 1.0)


LEVELS = {"subject": "subject means", "stance": "stances"}  # how a level is labelled wherever r is shown


def subject_means(latents: np.ndarray, stances: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per subject: mean activation of every latent [n_subjects, n_latents] and mean of every
    metadata column (NaN skipped), rows in the same subject order."""
    subject = stances["subject"].to_numpy()
    per_subject = pd.DataFrame(latents).groupby(subject).mean()
    columns = [c for c in VARIABLES if c in stances]
    meta = stances.groupby("subject")[columns].mean().reindex(columns=list(VARIABLES))
    return per_subject, meta.loc[per_subject.index]


def analyze_metadata(latents: np.ndarray, stances: pd.DataFrame) -> tuple[dict, dict]:
    per_subject, subject_meta = subject_means(latents, stances)
    x = per_subject.to_numpy()
    results, all_p = {}, []
    for column, (label, level) in VARIABLES.items():
        y = subject_meta[column].to_numpy(dtype=float)
        r, p, n = correlate(x, y)
        keep = np.isfinite(y)
        rs, ps, _ = correlate(_rank(x[keep]), stats.rankdata(y[keep])) if keep.sum() >= 4 else (r * np.nan, p * np.nan, 0)
        results[column] = {"label": label + (", subject mean" if level == "stance" else ""), "level": "subject", "n": n, "pearson_r": r, "pearson_p": p,
                           "spearman_r": rs, "spearman_p": ps}
        all_p += [p, ps]
    flat = benjamini_hochberg(np.concatenate(all_p))
    out, i = {}, 0
    for column, res in results.items():
        m = len(res["pearson_r"])
        res["pearson_q"], res["spearman_q"] = flat[i:i + m], flat[i + m:i + 2 * m]
        i += 2 * m
        best = strongest(res["pearson_r"])
        out[column] = {"label": res["label"], "level": res["level"], "n": res["n"],
                       **{k: _json(res[k]) for k in ("pearson_r", "pearson_p", "pearson_q", "spearman_r", "spearman_q")},
                       "best_feature": best, "best_abs_r": None if best is None else float(abs(res["pearson_r"][best])),
                       "best_q": None if best is None else _scalar(res["pearson_q"][best])}
    figures = {"metadata_scatter": _scatter(per_subject, subject_meta, out)}
    sex = subject_meta["sex_code"].to_numpy()
    out["mean_activation_by_sex"] = {
        "female": per_subject.to_numpy()[sex == 0].mean(0).round(5).tolist() if (sex == 0).any() else None,
        "male": per_subject.to_numpy()[sex == 1].mean(0).round(5).tolist() if (sex == 1).any() else None}
    return out, figures


def _scalar(v):
    return None if not np.isfinite(v) else float(v)


def _json(a):
    return [None if not np.isfinite(v) else round(float(v), 6) for v in a]


def _scatter(per_subject, subject_meta, out) -> str:
    """Per attribute, its best feature's subject means against it: a scatter for numbers, one
    strip per category for sex. Attributes with no data (e.g. no walking speed) get no panel."""
    shown = [c for c in VARIABLES if out[c]["n"] >= 4 and out[c]["best_feature"] is not None]
    ncols = min(3, max(len(shown), 1))
    fig, axes = subplots(int(np.ceil(len(shown) / ncols)) or 1, ncols, width=3.2, height=2.7)
    for ax, column in zip(axes.flat, shown):
        j = out[column]["best_feature"]
        x, y = subject_meta[column].to_numpy(dtype=float), per_subject[j].to_numpy()
        r = out[column]["pearson_r"][j]
        if column == "sex_code":
            jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(y))
            for code in (0, 1):
                values = y[x == code]
                ax.scatter(code + jitter[x == code], values, s=8, alpha=0.5, rasterized=True)
                if len(values):
                    ax.hlines(np.median(values), code - 0.25, code + 0.25, color="black", lw=2)
            ax.set_xticks([0, 1], ["female", "male"])
            ax.set_xlim(-0.5, 1.5)
            ax.set_xlabel("sex (line: median)")
        else:
            ax.scatter(x, y, s=4, alpha=0.4, rasterized=True)
            ax.set_xlabel(out[column]["label"])
        ax.set_title(f"feature {j}, r = {r:+.2f} (n = {out[column]['n']})" if r is not None else f"feature {j}")
        ax.set_ylabel("subject mean activation")
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    return svg(fig)
