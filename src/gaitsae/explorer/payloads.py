"""The JSON behind every explorer page, built from open stores (no web framework here).

Curves go out as lists of 101 values (x = 0 … 100 % of stance) in the channel's unit (BW, m).
Arguments are already validated by the app; these functions trust their types.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gaitsae.analysis.strides import PER_SUBJECT, top_stances
from gaitsae.features.cosine import sd_from_pointwise, unit_directions
from gaitsae.channels import CHANNEL_DESCRIPTIONS
from gaitsae.explorer.retrieval import neighbours

# One colour per channel, the same on every page (colour-blind-safe Okabe–Ito hues).
CHANNEL_COLOURS = {"F_V": "#0072B2", "F_AP": "#D55E00", "F_ML": "#009E73", "COP_AP": "#CC79A7", "COP_ML": "#E69F00"}
N_TOP = 12
SAMPLE_QUANTILES = (0.02, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.98)
N_CONTRIBUTIONS = 8
N_SIMILAR = 8
PERSON_COLUMNS = ("subject", "dataset", "sex", "age_years", "height_cm", "body_mass_kg", "bmi_kg_per_m2",
                  "class", "class_detailed", "affected_side")


def _significant(a: np.ndarray) -> np.ndarray:
    """Floats rounded to 6 significant digits, vectorised (short JSON, no per-value formatting)."""
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = 10.0 ** (5 - np.floor(np.log10(np.abs(a))))
        out = np.round(a * scale) / scale
    return np.where(np.isfinite(out), out, a)


def clean(obj):
    """JSON-safe: numpy to Python, NaN/inf to None, floats to 6 significant digits."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "f":
            rounded = _significant(obj)
            finite = np.isfinite(rounded)
            return rounded.tolist() if finite.all() else np.where(finite, rounded, None).tolist()
        if obj.dtype.kind in "iub":
            return obj.tolist()
        return clean(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return float(f"{obj:.6g}") if math.isfinite(obj) else None
    if obj is None or isinstance(obj, str):
        return obj
    if obj is pd.NaT or (not isinstance(obj, (list, dict)) and pd.isna(obj)):
        return None
    return str(obj)


def records(frame: pd.DataFrame) -> list[dict]:
    return clean(frame.to_dict(orient="records"))


def channel_info(store) -> list[dict]:
    return [{"name": ch, "unit": unit, "colour": CHANNEL_COLOURS[ch], "description": CHANNEL_DESCRIPTIONS[ch]}
            for ch, unit in zip(store.channels, store.meta["units"])]


def run_summary(store) -> dict:
    m = store.meta
    return {"name": store.name, "model": m["model"], "n_stances": m["n_stances"], "n_subjects": m["n_subjects"],
            "n_latents": m["n_latents"], "synthetic": m["synthetic"], "reference": m["reference"],
            "n_reference": m["n_reference"], "metrics": m["metrics"], "channels": channel_info(store),
            "classes": store.classes}


def features(store, kind: str | None = None) -> dict:
    """The features table; kind ("scaffold" / "sparse", validated by the app): only that kind."""
    rows = _feature_rows(store)
    return {"run": store.name, "kinds": sorted(set(r["kind"] for r in rows)),
            "features": [r for r in rows if kind is None or r["kind"] == kind]}


def _once(store, name: str, make):
    """A per-store value computed on first use (stores are read-only, so it never goes stale)."""
    if name not in store.cache:
        store.cache[name] = make(store)
    return store.cache[name]


def _correlation_rows(store) -> dict[int, list[dict]]:
    """Each feature's metadata correlations as JSON rows."""
    def make(store):
        by = {j: [] for j in range(store.n_latents)}
        for row in records(store.correlations):
            by[row.pop("latent")].append(row)
        return by
    return _once(store, "correlation_rows", make)


def _feature_rows(store) -> list[dict]:
    """The features table as JSON rows."""
    return _once(store, "feature_rows", lambda s: records(s.features))


def _unit_directions(store) -> np.ndarray:
    """Directions [n_latents, n_channels * 101], each channel divided by its stance-to-stance SD
    (so BW and m count alike), then normalised: the vectors whose cosine is "decoder cosine"."""
    return _once(store, "unit_directions", _make_unit_directions)


def _make_unit_directions(store) -> np.ndarray:
    return unit_directions(store.arrays["directions"], sd_from_pointwise(store.arrays["sd"]))


def similar_features(store, latent: int, others) -> list[dict]:
    mine = _unit_directions(store)
    out = []
    for other in [store, *others]:
        if other.channels != store.channels:
            continue  # different channels: directions are not comparable
        theirs = mine if other is store else _unit_directions(other)
        sims = theirs @ mine[latent]
        if other is store:
            sims[latent] = -np.inf
        order = np.argsort(-sims)[:N_SIMILAR]
        out.append({"run": other.name, "features": [{"latent": int(j), "cosine": float(sims[j]),
                                                     "name": _feature_rows(other)[j]["name"]} for j in order]})
    return out


def _stance_cards(store, idx, values) -> list[dict]:
    rows = store.rows(idx, ["subject", "side", "class"])
    classes = rows.get("class", [None] * len(idx))
    return [{"stance": int(i), "value": float(v), "subject": s, "side": side, "class": c, "curve": store.curves[i, 0]}
            for i, v, s, side, c in zip(idx, values, rows["subject"], rows["side"], classes)]


def feature(store, latent: int, others=()) -> dict:
    column = store.latents[:, latent]
    active = np.flatnonzero(np.abs(column) > store.threshold)
    summary = _feature_rows(store)[latent]
    values = column[active]
    top = _once(store, f"top_{latent}",  # at most PER_SUBJECT per person; a sort of every stance, once
                lambda s: top_stances(s.latents, latent, s.subjects, N_TOP))
    samples = []
    if len(active):  # the stance at each quantile's rank (partial sort: linear time)
        ranks = sorted({min(int(q * len(active)), len(active) - 1) for q in SAMPLE_QUANTILES})
        picks = active[np.argpartition(values, ranks)[ranks]]
        samples = _stance_cards(store, picks, column[picks])
    counts, edges = np.histogram(column[active], bins=40) if len(active) else (np.zeros(0), np.zeros(0))
    mean = store.arrays["mean"]
    typical = summary["typical_activation"] or 0.0
    effect = mean + typical * store.arrays["directions"][latent]
    return clean({
        "run": run_summary(store), "latent": latent, "summary": summary,
        "effect": {"mean": mean, "with_feature": effect, "typical_activation": typical},
        "histogram": {"counts": counts, "edges": edges, "n_active": len(active), "n_silent": len(column) - len(active)},
        "top": _stance_cards(store, top, column[top]), "per_subject": PER_SUBJECT, "samples": samples,
        "correlations": _correlation_rows(store)[latent], "similar": similar_features(store, latent, others),
    })


def stance(store, stance_id: int, sections=()) -> dict:
    row = store.rows(stance_id)
    latents = store.latents[stance_id]
    sae = store.sae()
    recon = sae.inverse_transform(latents[None])[0]
    directions = store.arrays["directions"]
    active = store.active(stance_id)
    contributions = latents[active, None, None] * directions[active]
    features = [{"latent": int(j), "activation": float(latents[j]), "name": _feature_rows(store)[j]["name"],
                 "kind": _feature_rows(store)[j]["kind"],
                 "rms": np.sqrt((c ** 2).mean(1))} for j, c in zip(active, contributions)]
    strongest = np.argsort(-np.sqrt((contributions ** 2).sum((1, 2))), kind="stable")[:N_CONTRIBUTIONS]
    extra = [s for s in (section(store, stance_id) for section in sections) if s]
    return clean({
        "run": run_summary(store), "stance": stance_id, "metadata": row,
        "error": {c: v[stance_id] for c, v in store.error_columns.items()},
        "curves": np.asarray(store.curves[stance_id]), "reconstruction": recon,
        "norm": {"mean": store.arrays["norm_mean"], "sd": store.arrays["norm_sd"], "reference": store.meta["reference"]},
        "features": features,
        "contributions": [{"latent": int(active[i]), "curves": contributions[i]} for i in strongest],
        "sections": extra,
    })


def akin(store, stance_id: int, k: int, leave_out: str) -> dict:
    table = neighbours(store, stance_id, k, leave_out)
    rows = records(table)
    for r in rows:
        r["curve"] = clean(store.curves[r["stance"], 0])
    return {"run": store.name, "stance": stance_id, "k": k, "leave_out": leave_out,
            "query_curve": clean(store.curves[stance_id, 0]), "channel": channel_info(store)[0], "neighbours": rows}


def subject(store, name: str) -> dict:
    ids = store.by_subject[name]
    rows = store.stances.iloc[ids]
    person = {c: v[0] for c, v in store.rows(ids[:1], PERSON_COLUMNS).items()}
    sides = {}
    for side, part in rows.groupby("side"):
        curves = np.asarray(store.curves[part["stance"].to_numpy()])
        sides[side] = {"n": len(part), "mean": curves.mean(0), "sd": curves.std(0)}
    columns = [c for c in ("stance", "session", "trial_id", "side", "session_date", "class", "speed_condition",
                           "walking_speed_m_per_s", "split") if c in rows]
    table = rows[columns].assign(fvu=store.errors["fvu"].to_numpy()[ids])
    return clean({"run": run_summary(store), "subject": name, "person": person, "sides": sides,
                  "norm": {"mean": store.arrays["norm_mean"], "sd": store.arrays["norm_sd"],
                           "reference": store.meta["reference"]},
                  "n_sessions": rows["session"].nunique(), "stances": records(table)})


# Search filters: query parameter → (SQL condition with bound parameters, each ? binding the
# filter's value; the columns it needs). The class filter matches the code (HC) or the label the
# pages show ("healthy control"), in any case.
SEARCH_FILTERS = {
    "subject": ("subject = ?", ("subject",)), "session": ("session = ?", ("session",)),
    "trial": ("trial_id = ?", ("trial_id",)), "side": ("side = ?", ("side",)), "sex": ("sex = ?", ("sex",)),
    "class": ("(lower(class_label) = lower(?) OR lower(class) = lower(?))", ("class_label", "class")),
    "age_min": ("age_years >= ?", ("age_years",)), "age_max": ("age_years <= ?", ("age_years",)),
    "speed_min": ("walking_speed_m_per_s >= ?", ("walking_speed_m_per_s",)),
    "speed_max": ("walking_speed_m_per_s <= ?", ("walking_speed_m_per_s",)),
}
FEATURE_FILTER = "list_contains(?, stance)"  # the stances whose activation (dense, inactive ones too) is above x


def check_search(store, filters: dict) -> None:
    """A filter this data cannot answer is a one-line error, not a silent empty result: a column
    the data lacks (e.g. no walking speed), or a class that is in no stance (class=HCX)."""
    from gaitsae.errors import GaitsaeError

    for name, value in filters.items():
        missing = [c for c in SEARCH_FILTERS[name][1] if c not in store.stances.columns]
        if missing and not (name == "class" and len(missing) < 2):
            raise GaitsaeError(f"{name}: this data has no {missing[0]} column")
        if name == "class":
            known = _classes(store)
            if str(value).lower() not in {k.lower() for pair in known for k in pair if k}:
                listed = ", ".join(f"{code} ({label})" if label else code for code, label in known)
                raise GaitsaeError(f"class {value!r} is not in this data; its classes: {listed or 'none'}")


def _classes(store) -> list[tuple[str, str]]:
    """(code, shown name) of every class in the stances, codes sorted."""
    def make(store):
        s = store.stances
        codes = s["class_label"] if "class_label" in s else pd.Series([""] * len(s))
        labels = s["class"] if "class" in s else pd.Series([""] * len(s))
        pairs = pd.DataFrame({"code": codes.fillna("").astype(str), "label": labels.fillna("").astype(str)})
        return sorted(set(map(tuple, pairs.drop_duplicates().to_numpy().tolist())) - {("", "")})
    return _once(store, "classes", make)


SEARCH_COLUMNS = ("stance", "subject", "session", "trial_id", "side", "class", "sex", "age_years",
                  "walking_speed_m_per_s", "split")


def search_table(store, filters: dict, feature: tuple[int, float] | None, limit: int) -> tuple[pd.DataFrame, int]:
    """(the first `limit` matching stances, how many match). Stances matching every filter (values
    validated by the app, checked against the data by check_search); SQL text is built only from
    the constant conditions above, values are bound. feature (j, x): stances whose activation of
    feature j is above x, inactive stances included (their activation, usually 0, counts: x < 0
    finds them), strongest first (ties by stance id); else by stance id."""
    check_search(store, filters)
    where, params = [], []
    for name, value in filters.items():
        condition, needs = SEARCH_FILTERS[name]
        if not set(needs) <= set(store.stances.columns):  # class by code or name: one of the two is enough
            condition = " OR ".join(f"lower({c}) = lower(?)" for c in needs if c in store.stances.columns)
        where.append(condition)
        params += [value] * condition.count("?")
    if feature is not None:
        where.append(FEATURE_FILTER)
        params.append(np.flatnonzero(store.latents[:, feature[0]] > feature[1]).tolist())
    columns = [c for c in SEARCH_COLUMNS if c in store.stances]
    condition = " AND ".join(where) if where else "TRUE"
    if feature is None:
        total = int(store.query(f"SELECT count(*) AS n FROM stances WHERE {condition}", params)["n"].iloc[0])
        found = store.query(f"SELECT {', '.join(columns)} FROM stances WHERE {condition} ORDER BY stance LIMIT ?",
                            params + [limit])
        return found, total
    ids = store.query(f"SELECT stance FROM stances WHERE {condition}", params)["stance"].to_numpy()
    value = store.latents[ids, feature[0]]
    ids = ids[np.lexsort((ids, -value))][:limit]
    found = pd.DataFrame(store.rows(ids, columns))
    found["activation"] = store.latents[ids, feature[0]]
    return found, len(value)


def search(store, filters: dict, feature: tuple[int, float] | None, limit: int) -> dict:
    """search_table as the search page's JSON."""
    found, total = search_table(store, filters, feature, limit)
    return {"run": store.name, "total": total, "limit": limit, "stances": records(found)}
