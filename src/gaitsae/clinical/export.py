"""Features plus metadata as one flat table for statistics software (R, SPSS, pandas), per stance,
per trial or per session (columns: docs/clinical.md, "Export").

Plain types only: numbers, text, dates as ISO text, flags as 0/1; names start with a letter and use
letters, digits and _ (SPSS's rule). A trial has one stance per side and a session several trials,
so per trial and per session the sides are columns side by side (left_latent_3, right_latent_3),
the repeated-measures layout R and SPSS expect; per session they are means over its trials.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gaitsae.channels import SIDES
from gaitsae.clinical.course import session_type_label
from gaitsae.clinical.kinds import feature_columns

LEVELS = ("stance", "trial", "session")
STANCE_ONLY = ("side",)                       # differ between a trial's two stances
TRIAL_ONLY = ("trial_id", "walking_speed_m_per_s")  # differ between a session's trials


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_bool_dtype(s):
            out[c] = s.astype(int)
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.dt.strftime("%Y-%m-%d %H:%M:%S")
        elif not pd.api.types.is_numeric_dtype(s):
            out[c] = s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v))
    return out


def export_table(stances: pd.DataFrame, latents: np.ndarray, kinds, per: str = "stance",
                 synthetic: bool = False) -> pd.DataFrame:
    """stances: the dataset's stance table (rows aligned with latents [n, n_features])."""
    st = stances.reset_index(drop=True).drop(columns=["dataset_id"], errors="ignore")
    st.insert(0, "stance", np.arange(len(st)))
    if "session_type" in st:
        st.insert(st.columns.get_loc("session_type") + 1, "session_type_label",
                  [session_type_label(c) for c in st["session_type"]])
    st["synthetic"] = int(bool(synthetic))
    names = feature_columns(kinds)
    feats = pd.DataFrame(np.asarray(latents, dtype=np.float64), columns=names)
    if per == "stance":
        return _plain(pd.concat([st, feats], axis=1))
    keys = ["session", "trial_id"] if per == "trial" else ["session"]
    drop = ["stance", *STANCE_ONLY, *(TRIAL_ONLY if per == "session" else ())]
    meta = st.drop(columns=drop).drop_duplicates(keys).set_index(keys)
    if per == "session" and "walking_speed_m_per_s" in st:
        meta["mean_walking_speed_m_per_s"] = st.groupby("session")["walking_speed_m_per_s"].mean()
    wide = []
    for side in SIDES:
        on = st["side"].eq(side).to_numpy()
        group = feats[on].groupby([st.loc[on, k].to_numpy() for k in keys])
        part = group.mean().add_prefix(f"{side}_")
        part.index.names = keys
        if per == "session":
            part.insert(0, f"n_trials_{side}", group.size())
        wide.append(part)
    table = meta.join(wide, how="left").reset_index()
    front = [c for c in ("dataset", "subject", "session", "trial_id") if c in table]
    return _plain(table[front + [c for c in table.columns if c not in front]])
