"""Planted-pattern recovery: does ONE feature carry each pattern the phantom planted?

Scored against the generator's own patterns (phantom_patterns.csv, data/phantom/patterns.py), with
the shared feature cosine (features/cosine.py: all channels, each divided by its between-stance SD
on the run's training stances). A method is scored on its features alive on the training stances,
± twins merged into one signed feature (analysis/isolation.py). Per pattern:
- code_corr, code_cos, found: isolation (analysis/isolation.py): the feature whose code tracks the
  pattern's true per-stance amount best (chosen on training stances), its test |corr| and its
  direction's |cos| with the pattern; found when both reach FOUND_CORR and FOUND_COS;
- best_cos (direction only, secondary): the largest |cos| of one feature's direction with the
  pattern, and which feature (best_feature);
- features_to_0.9: how many distinct features it takes together. Features are taken in order of
  their |cos| with the pattern; m features reach it when its least-squares projection onto their
  span has cos >= 0.9. NaN: not even all of them reach 0.9;
- auc (class patterns H, K, A, C): the best-tracking feature's code, signed by its training
  correlation with the truth, as a score for "affected-side stance of this class" against
  "healthy-control stance", on the scored split. Stance-level AUC: a ranking score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from gaitsae.analysis import isolation as I
from gaitsae.data.phantom.curves import CLASSES
from gaitsae.data.phantom.patterns import load_patterns
from gaitsae.features.cosine import unit_directions

REACH = 0.9  # the cosine a pattern must reach
COLUMNS = ["pattern", "code_corr", "code_cos", "found", "best_cos", "features_to_0.9", "auc", "code_feature",
           "best_feature"]


def span_cosines(units: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """[n]: cos of the unit `pattern` [d] with its projection onto the span of the first m rows of
    `units` [n, d], m = 1 … n (Gram–Schmidt; a row inside the span so far, or zero, adds nothing)."""
    basis = np.zeros((min(units.shape), units.shape[1]))
    size, captured, out = 0, 0.0, np.empty(len(units))
    for m, u in enumerate(units):
        if size < len(basis):
            for _ in range(2):  # orthogonalise twice: once is not enough in floating point
                u = u - basis[:size].T @ (basis[:size] @ u)
            norm = np.linalg.norm(u)
            if norm > 1e-8:
                basis[size] = u / norm
                captured += float(basis[size] @ pattern) ** 2
                size += 1
        out[m] = np.sqrt(min(captured, 1.0))
    return out


def features_to_reach(units: np.ndarray, pattern: np.ndarray, cos: np.ndarray, reach: float = REACH) -> float:
    """How many distinct features, taken by |cos| with the pattern, span it to cos >= reach (NaN:
    never). ± twins (twin_groups) count once: the ±PCA start needs as many as PCA."""
    group, _ = I.twin_groups(units)
    order = np.argsort(-np.abs(cos), kind="stable")
    reached = np.flatnonzero(span_cosines(units[order], pattern) >= reach - 1e-12)
    if not len(reached):
        return float("nan")
    return float(len(np.unique(group[order[:reached[0] + 1]])))


def class_targets(truth: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per class: 1 for its affected-side stances, 0 for healthy-control stances, NaN otherwise
    (truth rows as load_truth aligns them with the stances)."""
    label = truth["class_label"].astype(str).to_numpy()
    affected = truth["affected"].to_numpy(dtype=float) == 1
    out = {}
    for cls in CLASSES:
        y = np.full(len(truth), np.nan)
        y[label == "HC"] = 0.0
        y[(label == cls) & affected] = 1.0
        out[cls] = y
    return out


def auc(score: np.ndarray, y: np.ndarray) -> float:
    """AUC of `score` for y == 1 against y == 0 (NaN rows left out); NaN if a group is empty."""
    keep = np.isfinite(y)
    if len(np.unique(y[keep])) < 2:
        return float("nan")
    return float(roc_auc_score(y[keep], score[keep]))


@dataclass
class Codes:
    """A method's codes on the training and on the scored stances, and the truths to hold them
    against: {pattern: amount per stance} (isolation.factor_truths) and {class: y} (class_targets)."""

    train: np.ndarray  # [n_train, n_features]
    scored: np.ndarray  # [n_scored, n_features]
    truths_train: dict = field(default_factory=dict)
    truths_scored: dict = field(default_factory=dict)
    targets: dict = field(default_factory=dict)


@dataclass
class Recovery:
    """One method's recovery: its per-pattern table (COLUMNS), the time-domain directions of its
    distinct alive features, their identifiability score and how it was fitted."""

    method: str
    table: pd.DataFrame
    directions: np.ndarray  # [n_distinct, C, 101]
    n_components: int  # as fitted (all columns, twins and dead ones included)
    mcc: float = float("nan")
    converged: bool | None = None  # None: not an iterative fit (or not recorded)
    codes: tuple | None = None  # (scored codes [n, n_distinct], {pattern: truth}) for the figure

    @property
    def mean_max_cosine(self) -> float:
        return float(self.table["best_cos"].mean())

    @property
    def found_classes(self) -> int:
        return int(self.table.loc[self.table["pattern"].isin(CLASSES), "found"].fillna(False).astype(bool).sum())


def pattern_recovery(directions: np.ndarray, patterns: dict[str, np.ndarray], channel_sd: np.ndarray,
                     codes: Codes | None = None, method: str = "model", converged: bool | None = None,
                     threshold: float = 0.0) -> Recovery:
    """Score one method: directions [n_features, C, 101] in the time domain, patterns {name: [C, 101]},
    channel_sd [C] (between_stance_sd of the training curves), codes (None: directions only).
    Features never active (|code| > threshold) on the training stances are left out; twins are merged."""
    n_components = len(directions)
    alive = np.ones(n_components, dtype=bool) if codes is None else np.any(np.abs(codes.train) > threshold, axis=0)
    units_all = unit_directions(directions[alive], channel_sd)
    group, sign = I.twin_groups(units_all)
    keep = I.representatives(group)
    units, kept = units_all[keep], np.flatnonzero(alive)[keep]
    names = list(patterns)
    planted = unit_directions(np.stack([patterns[p] for p in names]), channel_sd)
    cos = units @ planted.T  # [n_distinct, n_patterns]
    merged = None if codes is None else (I.merge_twins(codes.train[:, alive], group, sign),
                                         I.merge_twins(codes.scored[:, alive], group, sign))
    rows = []
    for i, name in enumerate(names):
        best = int(np.argmax(np.abs(cos[:, i]))) if len(units) else None
        row = {"pattern": name, "best_feature": None if best is None else int(kept[best]),
               "best_cos": float("nan") if best is None else float(abs(cos[best, i])),
               "features_to_0.9": features_to_reach(units, planted[i], cos[:, i]) if len(units) else float("nan"),
               "code_corr": float("nan"), "code_cos": float("nan"), "found": None, "auc": float("nan"),
               "code_feature": None}
        if merged is not None and name in codes.truths_train and len(units):
            j, r, s = I.best_tracking(merged[0], merged[1], codes.truths_train[name], codes.truths_scored[name])
            row.update(code_feature=int(kept[j]), code_corr=r, code_cos=float(abs(cos[j, i])),
                       found=bool(r >= I.FOUND_CORR and abs(cos[j, i]) >= I.FOUND_COS))
            if name in codes.targets:
                row["auc"] = auc(s * merged[1][:, j], codes.targets[name])
        rows.append(row)
    # feature ids stay integers where a row has none (a float column would write 3.0 into truth.csv and the report)
    table = pd.DataFrame(rows, columns=COLUMNS).astype({"code_feature": "Int64", "best_feature": "Int64"})
    score = float("nan")
    if merged is not None:
        score = I.mcc(merged[0], merged[1], codes.truths_train, codes.truths_scored)
    return Recovery(method, table, directions[kept], n_components, score, converged,
                    None if merged is None else (merged[1], codes.truths_scored, kept))


def find_patterns(directories, channels) -> dict[str, np.ndarray] | None:
    """The planted patterns of the first phantom directory among `directories` that has them."""
    for directory in directories:
        if (patterns := load_patterns(directory, channels)) is not None:
            return patterns
    return None


LONG = ["run", "method", "n_components", "pattern", "code_corr", "code_cos", "found", "best_cos", "features_to_0.9",
        "auc", "converged", "n_distinct", "code_feature", "best_feature"]


def long_table(recoveries: list[tuple[str, Recovery]]) -> pd.DataFrame:
    """truth.csv rows (LONG): one per run × method × size × pattern."""
    parts = [r.table.assign(run=run, method=r.method, n_components=r.n_components, n_distinct=len(r.directions),
                            converged=r.converged) for run, r in recoveries]
    return pd.concat(parts, ignore_index=True)[LONG]


def summary(recoveries: list[tuple[str, Recovery]]) -> list[dict]:
    """truth.json's per-method numbers: MCC, found class patterns, mean max cosine."""
    def number(v):
        return float(v) if np.isfinite(v) else None

    return [{"run": run, "method": r.method, "n_components": r.n_components, "n_distinct": len(r.directions),
             "mcc": number(r.mcc), "found_class_patterns": r.found_classes,
             "mean_max_cosine": number(r.mean_max_cosine), "converged": r.converged} for run, r in recoveries]


RULE = (f"found: the feature whose code tracks the pattern's true per-stance amount best (|corr|, chosen on the "
        f"training stances) has |corr| >= {I.FOUND_CORR} on the test stances (code_corr) and its time-domain "
        f"direction has |cos| >= {I.FOUND_COS} with the planted pattern (code_cos; channels divided by their "
        f"between-stance SD on the training stances); best |cos|: the best direction alone; features to 0.9: how "
        f"many distinct features, taken by |cos|, span the pattern to cos 0.9 (– if all cannot); ± twins (|cos| >= "
        f"{I.TWIN}) are one signed feature; features never active on the training stances are left out")
