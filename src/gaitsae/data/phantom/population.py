"""Who walks in the phantom: subjects, sessions and trials with their metadata and true factors.

Healthy marginals are calibrated to the published Gutenberg Gait Database tables
(GRF_metadata.csv, GRF_walking_speed.csv; Horst et al., Sci Data 2021). Summary numbers only:
- 350 subjects, 59.1 % male; sessions per subject 1: 72.6 %, 2: 13.1 %, 6: 12.0 %, 7: 0.3 %,
  8: 2.0 %; trials per session mostly 10 (34 %) or 15 (48 %), overall 8,819 trials.
- per subject, female / male: age 22.8 ± 5.9 / 25.4 ± 7.6 years (range 11–64, right-skewed),
  height 168.0 ± 6.0 / 181.2 ± 6.7 cm, body mass 60.7 ± 8.0 / 77.7 ± 9.1 kg.
- walking speed 1.48 ± 0.17 m/s (self-selected); between-subject sd 0.16, within-subject sd
  0.03; 8.8 % of trials without a speed (NaN). SEX, AGE, HEIGHT unknown in ~5 % of sessions.
Patients follow GaitRec (Horsak et al., Sci Data 2020): 2,084 patients + 211 controls per
2,295 subjects; trials HC 7,755, H 12,748, K 19,873, A 21,386, C 13,970.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gaitsae.channels import SIDES
from gaitsae.data.reader import PHANTOM_SESSION_YEAR
from gaitsae.data.phantom.curves import SIDE_SHARED, sample_deviations, sample_warp

SESSIONS_PER_SUBJECT = ({1: 254, 2: 46, 6: 42, 7: 1, 8: 7})
TRIALS_PER_SESSION = ({8: 3, 9: 33, 10: 225, 12: 2, 14: 16, 15: 317, 16: 6, 18: 5, 19: 10, 20: 32, 21: 10})
HEALTHY = {  # per sex (0 female, 1 male): mean, sd
    "age": {0: (22.8, 5.9), 1: (25.4, 7.6)},
    "height_cm": {0: (168.0, 6.0), 1: (181.2, 6.7)},
    "bmi": {0: (21.5, 2.4), 1: (23.6, 2.4)},  # from the mass and height above
}
MALE_FRACTION = 0.591
SPEED_MEAN, SPEED_SD_BETWEEN, SPEED_SD_WITHIN = 1.48, 0.16, 0.03
SPEED_NAN_FRACTION = 0.088
UNKNOWN_DEMOGRAPHICS_FRACTION = 0.05
# GaitRec class mix of trials (HC, H, K, A, C) and detailed sub-labels per class.
GAITREC_CLASS_TRIALS = {"HC": 7755, "H": 12748, "K": 19873, "A": 21386, "C": 13970}
GAITREC_DETAILED = {"H": ("H_P", "H_F"), "K": ("K_P", "K_F", "K_R"), "A": ("A_F", "A_L"), "C": ("C_F",)}
GRAVITY = 9.81
# Stance time beyond speed and height: a person's own timing (sd 3 %) and trial-to-trial (sd 2 %).
STANCE_TIME_SD = {"subject": 0.03, "trial": 0.02}
# Heel-strike transient: median size and log-sd across people (BW); trial-to-trial log-sd.
IMPACT_MEDIAN_BW, IMPACT_LOG_SD, IMPACT_TRIAL_LOG_SD = 0.12, 0.6, 0.25
# GaitRec sessions (Horsak et al. 2020: 8,972 sessions of 2,295 subjects, 3.9 per subject; session
# types 1 initial, 2 control, 3 initial after a readmission). Stays: an initial measurement and
# Poisson(2.5) weekly controls (at most 6); a readmission share of 12 % (an assumption: GaitRec
# gives no share) starts a second stay 30-90 days after the first: 3.9 sessions per patient.
CONTROLS_PER_STAY, MAX_CONTROLS_PER_STAY = 2.5, 6
READMISSION_SHARE, READMISSION_GAP_DAYS = 0.12, (30, 91)
# Severity: uniform at admission, x RECOVERY_PER_SESSION at each control, and at a readmission
# back to READMISSION_SEVERITY x the admission severity.
SEVERITY_AT_ADMISSION, RECOVERY_PER_SESSION, READMISSION_SEVERITY = (0.6, 1.0), 0.95, (0.6, 0.9)
# Patients' speed = their healthy speed x (1 - loss x severity). Per class, the loss per unit
# severity puts a typical session (TYPICAL_SEVERITY) at the published speeds (docs/phantom.md):
# calcaneus 0.94 m/s (van Hoeve et al. 2017; −34 % from an age-matched 1.42 m/s), knee 15 %
# slower than age-matched peers; hip like knee, ankle between knee and calcaneus (no figure).
TYPICAL_SEVERITY = 0.72  # the mean over patients' sessions (tests/test_phantom_patients.py)
SPEED_LOSS_PER_SEVERITY = {c: loss / TYPICAL_SEVERITY for c, loss in {"H": 0.15, "K": 0.15, "A": 0.25, "C": 0.34}.items()}
# Patients differ in how much their impairment slows them: each patient's speed loss is x a
# personal factor (gamma, mean 1, coefficient of variation SPEED_LOSS_CV), so calcaneal-fracture
# patients' speeds spread as published (0.94 ± 0.29 m/s, van Hoeve et al. 2017; without the factor
# the phantom's spread is about ± 0.14). The same spread for every class is an assumption.
SPEED_LOSS_CV = 0.7


@dataclass
class Population:
    """sessions: one row per session (metadata + subject truth); trials: one row per trial;
    deviations [n_sessions, n_sides, 5, N_MODES] and warp [n_sessions, n_sides, N_WARP]: the
    subject's functional signature per side (see curves.py), repeated over their sessions."""

    sessions: pd.DataFrame
    trials: pd.DataFrame
    deviations: np.ndarray
    warp: np.ndarray


def _per_side(shared: np.ndarray, own: list[np.ndarray]) -> np.ndarray:
    """[n, n_sides, ...]: SIDE_SHARED² of the variance common to both sides, the rest per side."""
    own_weight = np.sqrt(1 - SIDE_SHARED ** 2)
    return np.stack([SIDE_SHARED * shared + own_weight * o for o in own], axis=1)


def _choice(rng, table: dict, size: int) -> np.ndarray:
    keys = np.array(list(table))
    p = np.array(list(table.values()), dtype=float)
    return rng.choice(keys, size=size, p=p / p.sum())


def sample_subjects(rng, n: int, first_id: int, patients: bool) -> pd.DataFrame:
    """Per-subject demographics and true latent factors (signature, asymmetry, impairment)."""
    sex = (rng.random(n) < MALE_FRACTION).astype(int)
    age_mean = np.where(sex == 1, 25.4, 22.8)
    age_sd = np.where(sex == 1, 7.6, 5.9)
    # Right-skewed ages as in Gutenberg (mostly students): a log-normal around the mean.
    age = np.clip(age_mean * np.exp(rng.normal(0, age_sd / age_mean, n) - 0.5 * (age_sd / age_mean) ** 2), 11, 70)
    if patients:
        age = np.clip(rng.normal(44, 13, n), 18, 85)
    height = rng.normal(np.where(sex == 1, 181.2, 168.0), np.where(sex == 1, 6.7, 6.0))
    bmi = rng.normal(np.where(sex == 1, 23.6, 21.5), 2.4) + (2.5 if patients else 0.0)
    mass = bmi * (height / 100) ** 2
    subjects = pd.DataFrame({
        "SUBJECT_ID": np.arange(first_id, first_id + n),
        "sex": sex,
        "age_years": age,
        "height_m": height / 100,
        "body_mass_kg": mass,
        # Foot length ~15 % of body height (anthropometric rule of thumb).
        "foot_length_m": 0.152 * height / 100 * np.exp(rng.normal(0, 0.03, n)),
        "speed_subject_m_per_s": SPEED_MEAN + rng.normal(0, SPEED_SD_BETWEEN, n)
        + 0.004 * (height - 174.4) - 0.004 * np.clip(age - 30, 0, None),
        "asymmetry": rng.normal(0, 0.015, n),
    })
    for k in range(1, 5):
        subjects[f"sig_{k}"] = rng.normal(0, 1, n)
    subjects["class_label"] = "HC"
    subjects["class_label_detailed"] = "HC"
    subjects["affected_side_code"] = np.nan
    subjects["severity"] = 0.0
    if patients:
        classes = _choice(rng, {c: v for c, v in GAITREC_CLASS_TRIALS.items()}, n)
        subjects["class_label"] = classes
        subjects["class_label_detailed"] = [
            "HC" if c == "HC" else rng.choice(GAITREC_DETAILED[c]) for c in classes
        ]
        ill = classes != "HC"
        subjects.loc[ill, "affected_side_code"] = _choice(rng, {0: 45, 1: 45, 2: 10}, int(ill.sum()))
        # Severity at admission; later sessions recover from it (sample_population).
        subjects.loc[ill, "severity"] = rng.uniform(*SEVERITY_AT_ADMISSION, int(ill.sum()))
        subjects.loc[ill, "asymmetry"] *= 2.0
        healthy_age = np.clip(rng.normal(40, 15, int((~ill).sum())), 18, 80)
        subjects.loc[~ill, "age_years"] = healthy_age
        shape = SPEED_LOSS_CV ** -2
        subjects["speed_loss_factor"] = np.where(ill, rng.gamma(shape, 1 / shape, n), 1.0)
    subjects["speed_subject_m_per_s"] = subjects["speed_subject_m_per_s"].clip(0.5, 2.1)
    return subjects


def _gutenberg_schedule(rng, subjects: pd.DataFrame) -> pd.DataFrame:
    """Healthy sessions as in Gutenberg: READMISSION counts the sessions, SESSION_TYPE 1 then 2."""
    n_sessions = _choice(rng, SESSIONS_PER_SUBJECT, len(subjects))
    rows = np.repeat(np.arange(len(subjects)), n_sessions)
    count = pd.Series(rows).groupby(rows).cumcount().to_numpy()
    return pd.DataFrame({"row": rows, "READMISSION": count, "SESSION_TYPE": np.where(count == 0, 1, 2),
                         "day": count, "recovery": 1.0})  # day: after the subject's start (drawn later)


def _gaitrec_schedule(rng, subjects: pd.DataFrame) -> pd.DataFrame:
    """GaitRec sessions: per stay an initial measurement, then weekly controls; some patients are
    readmitted (READMISSION 1, SESSION_TYPE 3 then 2). `recovery` scales the admission severity:
    it falls by RECOVERY_PER_SESSION at every control and resets part-way at a readmission."""
    n = len(subjects)
    ill = subjects["class_label"].to_numpy() != "HC"
    readmitted = ill & (rng.random(n) < READMISSION_SHARE)
    controls = np.minimum(rng.poisson(CONTROLS_PER_STAY, (n, 2)), MAX_CONTROLS_PER_STAY)
    start = rng.integers(0, 150, n)
    gap = rng.integers(*READMISSION_GAP_DAYS, n)
    relapse = rng.uniform(*READMISSION_SEVERITY, n)
    parts = []
    for stay in (0, 1):
        who = np.flatnonzero(readmitted) if stay else np.arange(n)
        k = controls[who, stay] + 1
        rows = np.repeat(who, k)
        index = pd.Series(rows).groupby(rows).cumcount().to_numpy()  # 0 = the stay's initial measurement
        first_day = start[rows] + (gap[rows] + 7 * (controls[rows, 0] + 1) if stay else 0)
        parts.append(pd.DataFrame({
            "row": rows, "READMISSION": stay,
            "SESSION_TYPE": np.where(index == 0, 3 if stay else 1, 2),
            "day": first_day + 7 * index,
            "recovery": (relapse[rows] if stay else 1.0) * RECOVERY_PER_SESSION ** index,
        }))
    return pd.concat(parts).sort_values(["row", "day"], kind="stable").reset_index(drop=True)


def sample_population(rng, n_subjects: int, patients: bool, first_subject=1, first_session=1) -> Population:
    """Subjects → sessions (with dates and metadata) → trials (with true walking speeds)."""
    subjects = sample_subjects(rng, n_subjects, first_subject, patients)
    schedule = _gaitrec_schedule(rng, subjects) if patients else _gutenberg_schedule(rng, subjects)
    n_sessions = np.bincount(schedule["row"], minlength=n_subjects)
    sessions = subjects.loc[schedule["row"]].reset_index(drop=True)
    sessions["SESSION_ID"] = np.arange(first_session, first_session + len(sessions))
    sessions["READMISSION"] = schedule["READMISSION"].to_numpy()
    sessions["SESSION_TYPE"] = schedule["SESSION_TYPE"].to_numpy()
    # Body mass drifts a little between sessions (as in Gutenberg's repeated sessions).
    sessions["body_mass_kg"] = sessions["body_mass_kg"] * np.exp(rng.normal(0, 0.01, len(sessions)))
    # Recovery: later sessions are less impaired and walk faster (patients' speed loss per class).
    sessions["severity"] = sessions["severity"] * schedule["recovery"].to_numpy()
    loss = sessions["class_label"].map(SPEED_LOSS_PER_SEVERITY).fillna(0.0).to_numpy()
    if patients:
        loss = loss * sessions["speed_loss_factor"].to_numpy()
    sessions["speed_session_m_per_s"] = (sessions["speed_subject_m_per_s"] * (1 - loss * sessions["severity"])).clip(0.4, 2.1)
    # Dated in PHANTOM_SESSION_YEAR: the mark of synthetic data that travels with the metadata.
    first_day = np.datetime64(f"{PHANTOM_SESSION_YEAR}-01-01T09:00:00")
    day = first_day + schedule["day"].to_numpy().astype("timedelta64[D]")
    if not patients:  # drawn here, so a seed gives the healthy phantom it always gave
        day = day + np.repeat(rng.integers(0, 300, n_subjects), n_sessions).astype("timedelta64[D]")
    seconds = rng.integers(0, 8 * 3600, len(sessions)).astype("timedelta64[s]")
    sessions["SESSION_DATE"] = pd.to_datetime(day + seconds).strftime("%d.%m.%Y %H:%M:%S")
    sessions["SHOD_CONDITION"] = _choice(rng, {0: 60, 1: 35, 2: 5}, len(sessions)) if patients else 0
    sessions["SPEED"] = 2

    n_trials = _choice(rng, TRIALS_PER_SESSION, len(sessions))
    if patients:  # GaitRec sessions hold fewer trials (75,732 over 8,972 sessions)
        n_trials = rng.integers(6, 12, len(sessions))
    trials = sessions[["SUBJECT_ID", "SESSION_ID"]].loc[sessions.index.repeat(n_trials)].reset_index()
    trials = trials.rename(columns={"index": "session_row"})
    trials["TRIAL_ID"] = trials.groupby("SESSION_ID").cumcount() + 1  # 1..n per session, as published
    session_speed = sessions["speed_session_m_per_s"].to_numpy()[trials["session_row"]]
    trials["walking_speed_m_per_s"] = np.clip(session_speed + rng.normal(0, SPEED_SD_WITHIN, len(trials)), 0.4, 2.3)
    for k in range(1, 4):
        trials[f"trial_{k}"] = rng.normal(0, 1, len(trials))
    # The richer variation is drawn last, so a seed still gives the same subjects, sessions and trials.
    deviations = _per_side(sample_deviations(rng, n_subjects, "subject"),
                           [sample_deviations(rng, n_subjects, "subject") for _ in SIDES])
    warp = _per_side(sample_warp(rng, n_subjects, "subject"), [sample_warp(rng, n_subjects, "subject") for _ in SIDES])
    per_subject = {"stance_time_factor": np.exp(rng.normal(0, STANCE_TIME_SD["subject"], n_subjects)),
                   "impact_bw": IMPACT_MEDIAN_BW * np.exp(rng.normal(0, IMPACT_LOG_SD, n_subjects))}
    for name, values in per_subject.items():
        sessions[name] = np.repeat(values, n_sessions)
    session_row = trials["session_row"].to_numpy()
    trials["stance_time_factor"] = (sessions["stance_time_factor"].to_numpy()[session_row]
                                    * np.exp(rng.normal(0, STANCE_TIME_SD["trial"], len(trials))))
    trials["impact_bw"] = (sessions["impact_bw"].to_numpy()[session_row]
                           * np.exp(rng.normal(0, IMPACT_TRIAL_LOG_SD, len(trials))))
    return Population(sessions=sessions, trials=trials,
                      deviations=np.repeat(deviations, n_sessions, axis=0), warp=np.repeat(warp, n_sessions, axis=0))
