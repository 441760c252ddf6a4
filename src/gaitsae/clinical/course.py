"""A patient's course through their sessions, and every patient's trend (definitions: docs/clinical.md).

Pure computations on stances that already carry their deviation index (clinical/deviation.py,
cross-fitted as for `deviations`): the CLI (`gaitsae course`) and the explorer's course page
build a `CourseInputs` and call the same functions.

- Sessions in their order (date, then session ID), each with its GaitRec session type.
- Per session and side, the index with a 95 % interval over the session's trials (a trial's
  index is the mean over its stances on that side; t interval over trials).
- The course index of a session is that of the affected side (both sides when both are affected),
  of both sides pooled when no side is affected (healthy, or unknown).
- The sparse features that move most: per session the mean activation on those stances; a
  feature's movement is its range over the sessions times its largest effect on a curve (each
  channel divided by the reference's between-stance SD, so BW and m count alike); its effect is
  then given in the unit of its main channel, at the point of stance where it acts most.
- The healthy band: the 5th–95th percentile of the reference's session-side index.
- The trend of a subject with ≥ 2 sessions: the least-squares slope of the session's course
  index over the session number (index points per session), with a 95 % percentile interval
  resampling each session's trials (the sessions themselves are kept).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from gaitsae.channels import CHANNEL_UNITS
from gaitsae.errors import DataError
from gaitsae.features.cosine import sd_from_pointwise

# GaitRec's SESSION_TYPE codes (Horsak et al. 2020).
SESSION_TYPES = {1: "initial", 2: "control", 3: "initial after readmission"}
BAND_PERCENTILES = (5.0, 95.0)
N_TOP = 3
N_BOOT = 200
COURSE_COLUMNS = ("subject", "session", "session_id", "session_date", "session_type", "readmission", "trial_id",
                  "side", "affected_side", "class_label")


@dataclass
class CourseInputs:
    """stances: one row per stance (subject, session, session_id, trial_id, side, affected_side,
    class_label, session_type, session_date); index [n] each stance's deviation index; latents
    [n, n_features]; directions [n_features, n_channels, 101] in the channels' units; kinds one
    "scaffold" | "sparse" per feature; columns their names; in_reference [n]; reference_sd
    [n_channels, 101] the reference's per-point SD; location [n_features] the reference's
    typical activation."""

    stances: pd.DataFrame
    index: np.ndarray
    latents: np.ndarray
    directions: np.ndarray
    kinds: np.ndarray
    columns: list
    channels: tuple
    in_reference: np.ndarray
    reference_sd: np.ndarray
    location: np.ndarray
    cache: dict = field(default_factory=dict)

    def narrow(self) -> pd.DataFrame:
        """The stance columns a course reads (a row subset of all columns costs more than the course)."""
        if "narrow" not in self.cache:
            self.cache["narrow"] = self.stances[[c for c in COURSE_COLUMNS if c in self.stances]]
        return self.cache["narrow"]

    def rows_of(self, subject: str) -> np.ndarray:
        groups = self.cache.get("subjects")
        if groups is None:
            groups = self.cache["subjects"] = self.stances.groupby("subject").indices
        return groups.get(subject, np.zeros(0, dtype=int))


@dataclass
class Course:
    subject: str
    person: dict            # class_label, affected_side, n_sessions
    sessions: pd.DataFrame  # one row per session: order, session, type, date, index, low, high, n_trials
    sides: pd.DataFrame     # one row per session and side: role, index, low, high, n_trials
    features: pd.DataFrame  # top features per session: activation, change at its peak (unit)
    band: tuple             # healthy band (low, high) of the session-side index
    note: str = ""


def inputs_from_run(enc, dev) -> CourseInputs:
    """CourseInputs of a run applied to data (clinical.pipeline.encode, then deviations)."""
    from gaitsae.clinical.kinds import feature_columns, feature_kinds

    kinds = feature_kinds(enc.est, enc.latents.shape[1])
    ref = dev.model.reference
    return CourseInputs(enc.dataset.stances.reset_index(drop=True), dev.stances["index"].to_numpy(), enc.latents,
                        enc.directions, kinds, feature_columns(kinds), tuple(enc.dataset.channels),
                        dev.stances["in_reference"].to_numpy(bool), ref.band_sd, ref.location)


def find_subject(subjects, name: str) -> str:
    """The subject a user names among `subjects`: its ID (gaitrec:12), or the bare number when one
    subject has it; else an error naming the nearest IDs."""
    known = sorted(set(map(str, subjects)))
    if name in known:
        return name
    suffix = [s for s in known if s.split(":")[-1] == name]
    if len(suffix) == 1:
        return suffix[0]
    near = suffix or difflib.get_close_matches(name, known, n=3, cutoff=0.0)
    raise DataError(f"unknown subject {name!r}; nearest: {', '.join(near) or 'none'} ({len(known)} subjects)")


def session_type_label(code) -> str:
    try:
        return SESSION_TYPES.get(int(code), f"type {int(code)}")
    except (TypeError, ValueError):
        return "unknown"


def side_roles(stances: pd.DataFrame) -> np.ndarray:
    """Per stance: "affected", "unaffected", or "" when no side is affected (or it is unknown)."""
    affected = stances["affected_side"].astype(object).to_numpy() if "affected_side" in stances else None
    side = stances["side"].to_numpy()
    if affected is None:
        return np.full(len(side), "", dtype=object)
    return np.where(affected == "both", "affected",
                    np.where(np.isin(affected, ["left", "right"]),
                             np.where(side == affected, "affected", "unaffected"), "")).astype(object)


def mean_interval(values) -> tuple[float, float, float]:
    """Mean and 95 % t interval (NaN bounds with fewer than 2 values)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return np.nan, np.nan, np.nan
    m = float(v.mean())
    if len(v) < 2:
        return m, np.nan, np.nan
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return m, m - half, m + half


def healthy_band(inputs: CourseInputs) -> tuple[float, float]:
    """5th–95th percentile of the reference's session-side index (cached)."""
    if "band" not in inputs.cache:
        st = inputs.stances
        ref = np.asarray(inputs.in_reference, dtype=bool)
        if not ref.any():
            inputs.cache["band"] = (np.nan, np.nan)
        else:
            per = pd.Series(inputs.index[ref]).groupby([st["session"].to_numpy()[ref], st["side"].to_numpy()[ref]]).mean()
            lo, hi = np.percentile(per.to_numpy(), BAND_PERCENTILES)
            inputs.cache["band"] = (float(lo), float(hi))
    return inputs.cache["band"]


def stance_band(inputs: CourseInputs) -> tuple[float, float]:
    """The same percentiles over the reference's single stances (for one stance, e.g. what-if)."""
    ref = np.asarray(inputs.in_reference, dtype=bool)
    lo, hi = np.percentile(inputs.index[ref], BAND_PERCENTILES) if ref.any() else (np.nan, np.nan)
    return float(lo), float(hi)


def _session_order(st: pd.DataFrame) -> pd.DataFrame:
    """One row per session of `st`, in their order: date, then session ID."""
    cols = [c for c in ("subject", "session", "session_id", "session_date", "session_type", "readmission") if c in st]
    per = st[cols].drop_duplicates("session")
    per = per.sort_values([c for c in ("session_date", "session_id", "session") if c in per], kind="stable")
    per = per.reset_index(drop=True)
    per.insert(0, "order", per.groupby("subject", sort=False).cumcount().to_numpy() + 1)
    per["type"] = [session_type_label(c) for c in per["session_type"]] if "session_type" in per else "unknown"
    return per


def _trial_values(st: pd.DataFrame, values: np.ndarray, keys) -> pd.Series:
    """Mean of `values` per trial within `keys` (e.g. session and side)."""
    return pd.Series(values).groupby([st[k].to_numpy() for k in (*keys, "trial_id")], sort=False).mean()


def _headline(st: pd.DataFrame) -> np.ndarray:
    """Stances that make a session's course index: its affected side(s), else all of it."""
    roles = side_roles(st)
    any_affected = pd.Series(roles == "affected").groupby(st["session"].to_numpy()).transform("any").to_numpy()
    return np.where(any_affected, roles == "affected", True)


def _effect_peaks(inputs: CourseInputs):
    """Per feature: largest |direction| over channels and points in reference SDs, and where."""
    if "peaks" not in inputs.cache:
        sd = sd_from_pointwise(inputs.reference_sd)
        scaled = np.abs(inputs.directions) / sd[None, :, None]
        flat = scaled.reshape(len(scaled), -1)
        where = flat.argmax(axis=1)
        c, t = np.unravel_index(where, scaled.shape[1:])
        inputs.cache["peaks"] = (flat.max(axis=1), c, t)
    return inputs.cache["peaks"]


def course(inputs: CourseInputs, subject: str, n_top: int = N_TOP) -> Course:
    rows = inputs.rows_of(subject)
    if not len(rows):
        find_subject(inputs.stances["subject"].unique(), subject)  # raises with the nearest IDs
    st = inputs.narrow().iloc[rows].reset_index(drop=True)
    index = inputs.index[rows]
    order = _session_order(st)
    rank = dict(zip(order["session"], order["order"]))
    # per session and side
    roles = side_roles(st)
    side_rows = []
    trials = _trial_values(st, index, ("session", "side"))
    for (session, side), part in trials.groupby(level=[0, 1], sort=False):
        m, lo, hi = mean_interval(part.to_numpy())
        role = roles[(st["session"].to_numpy() == session) & (st["side"].to_numpy() == side)][0]
        side_rows.append({"order": rank[session], "session": session, "side": side, "role": role, "index": m,
                          "low": lo, "high": hi, "n_trials": len(part)})
    sides = pd.DataFrame(side_rows).sort_values(["order", "side"], kind="stable").reset_index(drop=True)
    # the session's course index
    head = _headline(st)
    per = _trial_values(st[head].reset_index(drop=True), index[head], ("session",))
    summary = {s: mean_interval(part.to_numpy()) + (len(part),) for s, part in per.groupby(level=0, sort=False)}
    order["index"], order["low"], order["high"], order["n_trials"] = zip(*(summary[s] for s in order["session"]))
    order["sides"] = [", ".join(sorted(set(st.loc[head & st["session"].eq(s).to_numpy(), "side"])))
                      for s in order["session"]]
    order["n_trials"] = order["n_trials"].astype(int)
    features = _top_features(inputs, rows[head], st.loc[head, "session"].to_numpy(), order, n_top)
    first = st.iloc[0]
    person = {"class_label": first.get("class_label"), "affected_side": first.get("affected_side"),
              "n_sessions": len(order)}
    note = ("one session only: it is shown, but a course needs at least two sessions" if len(order) == 1 else "")
    if np.isnan(healthy_band(inputs)[0]):
        note = (note + "; " if note else "") + "no healthy reference in the data: no healthy band"
    return Course(subject, person, order.drop(columns=["subject", "session_type"], errors="ignore"), sides, features,
                  healthy_band(inputs), note)


def _top_features(inputs: CourseInputs, rows: np.ndarray, sessions: np.ndarray, order: pd.DataFrame,
                  n_top: int) -> pd.DataFrame:
    """The sparse features whose session means move most in physical effect (module docstring)."""
    sparse = np.flatnonzero(inputs.kinds == "sparse")
    means = pd.DataFrame(inputs.latents[rows][:, sparse]).groupby(sessions).mean().reindex(order["session"])
    a = means.to_numpy()  # [n_sessions, n_sparse]
    peak, channel, point = _effect_peaks(inputs)
    movement = (a.max(axis=0) - a.min(axis=0)) * peak[sparse]
    if len(order) < 2:  # nothing moves: show the features furthest from the reference's typical value
        movement = np.abs(a[0] - inputs.location[sparse]) * peak[sparse]
    chosen = [i for i in np.argsort(-movement, kind="stable")[:n_top] if movement[i] > 0]
    out = []
    for i in chosen:
        j = int(sparse[i])
        c, t = int(channel[j]), int(point[j])
        d = float(inputs.directions[j, c, t])
        ch = inputs.channels[c]
        for s, (session, act) in enumerate(zip(order["session"], a[:, i])):
            out.append({"order": int(order["order"].iloc[s]), "session": session, "feature": j,
                        "column": inputs.columns[j], "channel": ch, "unit": CHANNEL_UNITS[ch], "percent_stance": t,
                        "activation": float(act), "change_since_first": float((act - a[0, i]) * d),
                        "from_healthy": float((act - inputs.location[j]) * d), "movement": float(movement[i])})
    return pd.DataFrame(out, columns=["order", "session", "feature", "column", "channel", "unit", "percent_stance",
                                      "activation", "change_since_first", "from_healthy", "movement"])


def course_table(c: Course) -> pd.DataFrame:
    """The course as one long table (CSV/Parquet): one row per session with its course index,
    one per session and side, one per session and top feature (column `row`)."""
    base = {"subject": c.subject, "class_label": c.person["class_label"],
            "affected_side": c.person["affected_side"], "band_low": c.band[0], "band_high": c.band[1]}
    parts = [c.sessions.assign(row="session", **base),
             c.sides.assign(row="side", **base).merge(c.sessions[["order", "type"]], on="order"),
             c.features.assign(row="feature", **base).merge(c.sessions[["order", "type"]], on="order")]
    table = pd.concat(parts, ignore_index=True)
    if "session_date" in table:
        table["session_date"] = table["session_date"].astype(str)
    front = ["subject", "row", "order", "session", "type", "side", "role", "index", "low", "high", "n_trials"]
    return table[[*[k for k in front if k in table], *[k for k in table if k not in front]]]


def cohort(inputs: CourseInputs, seed: int = 0, n_boot: int = N_BOOT, progress: bool = False) -> pd.DataFrame:
    """Every subject with at least two sessions: the slope of the course index over the session
    number with a 95 % interval resampling trials within sessions (module docstring)."""
    from gaitsae.progress import progress as progress_bar

    st = inputs.stances
    head = _headline(st)
    sub = st.loc[head, ["subject", "session", "trial_id"]].reset_index(drop=True)
    trial = pd.Series(inputs.index[head]).groupby([sub["subject"].to_numpy(), sub["session"].to_numpy(),
                                                   sub["trial_id"].to_numpy()], sort=False).mean()
    orders = dict(tuple(_session_order(st).groupby("subject", sort=False)))
    firsts = st.drop_duplicates("subject").set_index("subject")
    rng = np.random.default_rng(seed)
    rows = []
    by_subject = trial.groupby(level=0, sort=False)
    with progress_bar(by_subject.ngroups, "course trends", "subject", progress) as bar:
        for subject, part in by_subject:
            bar.update()
            order = orders[subject]
            if len(order) < 2:
                continue
            values = {s: g.to_numpy() for s, g in part.groupby(level=1, sort=False)}
            ys = [values[s] for s in order["session"] if s in values]
            if len(ys) < 2:
                continue
            x = np.arange(1, len(ys) + 1, dtype=float)
            means = np.array([y.mean() for y in ys])
            draws = np.stack([y[rng.integers(0, len(y), (n_boot, len(y)))].mean(axis=1) for y in ys], axis=1)
            xc = x - x.mean()
            slope = float(xc @ (means - means.mean()) / (xc @ xc))
            boot = (draws - draws.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
            lo, hi = np.percentile(boot, [2.5, 97.5])
            f = firsts.loc[subject]
            rows.append({"subject": subject, "class_label": f.get("class_label"),
                         "affected_side": f.get("affected_side"), "n_sessions": len(ys),
                         "session_types": ",".join(order["type"]), "n_trials": int(sum(len(y) for y in ys)),
                         "first_index": means[0], "last_index": means[-1], "slope_per_session": slope,
                         "slope_low": float(lo), "slope_high": float(hi)})
    columns = ["subject", "class_label", "affected_side", "n_sessions", "session_types", "n_trials", "first_index",
               "last_index", "slope_per_session", "slope_low", "slope_high"]
    return pd.DataFrame(rows, columns=columns)


def class_summary(trends: pd.DataFrame) -> pd.DataFrame:
    """Per class: subjects, median slope and the share whose interval lies above 0 (improving)."""
    g = trends.groupby("class_label", dropna=False)
    return pd.DataFrame({"n_subjects": g.size(), "median_slope": g["slope_per_session"].median(),
                         "share_improving": g["slope_low"].apply(lambda s: float((s > 0).mean()))}).reset_index()


def course_figure(c: Course, title: str = "", synthetic: bool = False) -> bytes:
    """Top: the course index per session (affected, unaffected side, 95 % intervals over trials)
    over the healthy band; bottom: the top features' effect at their peak, change since the
    first session, each in its channel's unit."""
    import matplotlib.pyplot as plt

    from gaitsae.analysis.figures import png

    n_feat = max(1, c.features["feature"].nunique())
    fig = plt.figure(figsize=(max(6.0, 2.4 * n_feat), 5.2), layout="constrained")
    grid = fig.add_gridspec(2, n_feat, height_ratios=[1.4, 1.0])
    ax = fig.add_subplot(grid[0, :])
    x = c.sessions["order"].to_numpy()
    if np.isfinite(c.band[0]):
        ax.axhspan(c.band[0], c.band[1], color="0.88", lw=0, label="healthy band (reference 5–95 %)")
        ax.axhline(100, color="0.6", lw=0.6)
    styles = {"affected": ("tab:red", "o", "affected side"), "unaffected": ("tab:blue", "s", "unaffected side"),
              "": ("black", "o", "")}
    for (role, side), part in c.sides.groupby(["role", "side"], sort=False):
        colour, marker, label = styles.get(role, styles[""])
        label = f"{label or side} ({side})" if role else side
        err = np.vstack([part["index"] - part["low"], part["high"] - part["index"]])
        ax.errorbar(part["order"] + (0.06 if side == "right" else -0.06), part["index"],
                    yerr=np.nan_to_num(err), color=colour, marker=marker, ms=4, lw=1.2, capsize=2,
                    alpha=0.9 if role != "unaffected" else 0.6, label=label,
                    ls="-" if side == "left" else "--")
    ax.set_xticks(x, [f"{o}\n{t}" for o, t in zip(x, c.sessions["type"])], fontsize=8)
    ax.set_xlim(x.min() - 0.5, x.max() + 0.5)
    ax.set_ylabel("deviation index\n(100 = healthy mean, 10 = 1 SD)", fontsize=8)
    ax.legend(fontsize=7, loc="best")
    ax.set_title(title or f"{c.subject} ({c.person['class_label']}, affected {c.person['affected_side']})"
                 + (f" — {c.note}" if c.note else ""), fontsize=9)
    for k, (j, part) in enumerate(c.features.groupby("feature", sort=False)):
        fa = fig.add_subplot(grid[1, k])
        r = part.iloc[0]
        fa.axhline(0, color="0.6", lw=0.6)
        fa.plot(part["order"], part["change_since_first"], marker="o", color="tab:purple")
        fa.set_xticks(part["order"])
        fa.set_title(f"feature {j} ({r['column']}): {r['channel']} at {r['percent_stance']} %", fontsize=8)
        fa.set_ylabel(f"change since session 1 ({r['unit']})", fontsize=7)
        fa.set_xlabel("session", fontsize=7)
        fa.tick_params(labelsize=7)
    if synthetic:
        fig.suptitle("SYNTHETIC phantom data: no real patient", color="tab:red", fontsize=9)
    return png(fig)
