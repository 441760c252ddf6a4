"""The two kinds of feature in a run's report: scaffold axes (dense, on every stance: normal
variation) apart from sparse features, read from the kinds the model reports
(GaitModel.feature_kinds, stored in analysis.json as "kinds"), never from the model's name.

What an axis or a feature tracks is read from numbers the report already has:
- recorded factors: |r| over subjects' means (analysis.metadata, "Features and the person");
  a feature is said to carry a factor at |r| >= CARRIES;
- on a phantom, planted patterns: a feature isolates a pattern when the truth scoring calls it
  found (analysis.truth: code |corr| and direction |cos| both high, on test subjects).
"""

from __future__ import annotations

from gaitsae.models import SCAFFOLD, SPARSE, feature_names

AXIS_FACTORS = {"walking_speed_m_per_s": "walking speed", "height_cm": "height", "body_weight_n": "body mass",
                "age_years": "age", "sex_code": "sex"}
CARRIES = 0.5  # |r| over subjects' means at which a feature is said to carry a recorded factor


def kinds(numbers: dict) -> list[str]:
    """Each feature's kind; an analysis without kinds (an older model) has only sparse features."""
    n = len(numbers["activations"]["firing_rate"])
    return list(numbers.get("kinds") or [SPARSE] * n)


def names(numbers: dict) -> list[str]:
    """Column names by kind (scaffold_0 …, latent_0 …), as encode writes them."""
    return feature_names(kinds(numbers))


def of_kind(numbers: dict, kind: str) -> list[int]:
    return [j for j, k in enumerate(kinds(numbers)) if k == kind]


def sparse_l0(metrics: dict) -> float | None:
    """Active sparse features per test stance: l0 without the scaffold's always-coded columns."""
    return metrics.get("l0_sparse", metrics.get("l0"))


def _abs_r(numbers: dict, factor: str, j: int) -> float | None:
    r = (numbers.get("metadata", {}).get(factor) or {}).get("pearson_r")
    v = None if r is None or j >= len(r) else r[j]
    return None if v is None or v != v else abs(float(v))


def factor_rs(numbers: dict, j: int) -> dict[str, float | None]:
    """{factor column: |r| of feature j with it over subjects' means} for AXIS_FACTORS."""
    return {f: _abs_r(numbers, f, j) for f in AXIS_FACTORS}


def carried(numbers: dict, j: int) -> list[tuple[str, float]]:
    """[(factor label, |r|)] feature j carries (|r| >= CARRIES), strongest first."""
    rs = [(AXIS_FACTORS[f], r) for f, r in factor_rs(numbers, j).items() if r is not None and r >= CARRIES]
    return sorted(rs, key=lambda t: -t[1])


def scaffold_axes(numbers: dict) -> list[dict]:
    """One row per scaffold axis: {feature, name, r: {factor: |r|}, carries: [(label, |r|)]}."""
    col = names(numbers)
    return [{"feature": j, "name": col[j], "r": factor_rs(numbers, j), "carries": carried(numbers, j)}
            for j in of_kind(numbers, SCAFFOLD)]


def _planted_rows(numbers: dict) -> list[dict]:
    return (((numbers.get("planted") or {}).get("methods") or {}).get("model") or {}).get("rows") or []


def isolated_patterns(numbers: dict) -> list[dict]:
    """Planted patterns the run's features isolate (truth scoring's found), with the feature's kind."""
    rows = _planted_rows(numbers)
    kind, col = kinds(numbers), names(numbers)
    # an analysis.json stored before truth's table kept integer ids holds code_feature as a float (3.0)
    return [{"pattern": r["pattern"], "feature": j, "name": col[j], "kind": kind[j], "code_corr": r["code_corr"]}
            for r in rows if r.get("found") and r.get("code_feature") is not None
            for j in [int(r["code_feature"])]]


def _listing(pairs) -> str:
    return ", ".join(f"{label} (|r| {r:.2f})" for label, r in pairs)


def kinds_sentence(numbers: dict) -> str:
    """In words: which factors the scaffold carries, and which sparse features isolate something
    (a recorded factor, and on a phantom a planted pattern)."""
    axes, sparse, col = scaffold_axes(numbers), of_kind(numbers, SPARSE), names(numbers)
    parts = []
    if axes:
        held = [f"{a['name']} carries {_listing(a['carries'])}" for a in axes if a["carries"]]
        parts.append(f"Its scaffold ({len(axes)} dense axes, normal variation): " + (
            "; ".join(held) if held else f"no axis follows walking speed, height, body mass, age or sex with |r| >= "
                                         f"{CARRIES} over subjects' means"))
    isolating = [f"{col[j]} follows {_listing(c)}" for j in sparse if (c := carried(numbers, j))]
    patterns = isolated_patterns(numbers)
    found_sparse = [f"{p['name']} isolates planted pattern {p['pattern']} (code |corr| {p['code_corr']:.2f})"
                    for p in patterns if p["kind"] == SPARSE]
    found_scaffold = [f"{p['pattern']} ({p['name']})" for p in patterns if p["kind"] == SCAFFOLD]
    what = isolating + found_sparse
    label = "Sparse features" if axes else "Features"
    parts.append(f"{label} ({len(sparse)}) that follow a recorded factor (|r| >= {CARRIES}) or isolate a planted "
                 f"pattern: " + ("; ".join(what) if what else "none"))
    if "planted" in numbers:
        scored = sum(r.get("found") is not None for r in _planted_rows(numbers))
        truth = (f"Against the phantom's truth: {len(found_sparse)} of {scored} planted patterns with a known "
                 f"per-stance amount isolated by a {'sparse ' if axes else ''}feature")
        if found_scaffold:
            truth += ", and found in a scaffold axis (not isolated from normal variation): " + ", ".join(found_scaffold)
        parts.append(truth)
    return ". ".join(parts) + "."
