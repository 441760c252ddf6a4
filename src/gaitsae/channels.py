"""Names, units and codes of the Gutenberg Gait Database / GaitRec layout, in one place.

Sources: Horst, Schöllhorn et al., Sci Data 2021 (Gutenberg) and Horsak et al., Sci Data 2020
(GaitRec). PRO curves are time-normalised to 101 points of stance; PRO forces are in multiples
of body weight (BW), COP in metres. RAW forces are in newtons at the plates' native rate.
"""

from __future__ import annotations

# The five components recorded on the force plates, in the order used everywhere in gaitsae.
CHANNELS: tuple[str, ...] = ("F_V", "F_AP", "F_ML", "COP_AP", "COP_ML")
CHANNEL_DESCRIPTIONS = {
    "F_V": "vertical ground reaction force",
    "F_AP": "anterior-posterior ground reaction force",
    "F_ML": "medio-lateral ground reaction force",
    "COP_AP": "centre of pressure, anterior-posterior",
    "COP_ML": "centre of pressure, medio-lateral",
}
# Units of the PRO (processed) curves.
CHANNEL_UNITS = {"F_V": "BW", "F_AP": "BW", "F_ML": "BW", "COP_AP": "m", "COP_ML": "m"}

SIDES: tuple[str, ...] = ("left", "right")
N_POINTS = 101  # samples per PRO stance phase (0 %, 1 %, ..., 100 % of stance)

# ID columns of the signal files. DATASET_ID exists in Gutenberg files only.
ID_COLUMNS_GUTENBERG = ("DATASET_ID", "SUBJECT_ID", "SESSION_ID", "TRIAL_ID")
ID_COLUMNS_GAITREC = ("SUBJECT_ID", "SESSION_ID", "TRIAL_ID")
DATASET_NAMES = {1: "gutenberg"}  # DATASET_ID -> name; files without DATASET_ID are GaitRec

METADATA_FILE = "GRF_metadata.csv"
WALKING_SPEED_FILE = "GRF_walking_speed.csv"
METADATA_COLUMNS = (
    "CLASS_LABEL", "CLASS_LABEL_DETAILED", "SEX", "AGE", "HEIGHT", "BODY_WEIGHT", "BODY_MASS",
    "SHOE_SIZE", "AFFECTED_SIDE", "SHOD_CONDITION", "ORTHOPEDIC_INSOLE", "SPEED", "READMISSION",
    "SESSION_TYPE", "SESSION_DATE", "TRAIN", "TRAIN_BALANCED", "TEST",
)
SESSION_DATE_FORMAT = "%d.%m.%Y %H:%M:%S"


def signal_file(channel: str, side: str, kind: str = "PRO") -> str:
    """File name of one channel/side, e.g. signal_file("F_V", "left") == "GRF_F_V_PRO_left.csv"."""
    return f"GRF_{channel}_{kind}_{side}.csv"


def value_columns(channel: str, kind: str = "PRO", n: int = N_POINTS) -> list[str]:
    """Value column names of a PRO file: F_V_PRO_1 ... F_V_PRO_101."""
    return [f"{channel}_{kind}_{i}" for i in range(1, n + 1)]


# Metadata codes -> readable categories (the per-stance table keeps both).
SEX_CODES = {0: "female", 1: "male"}
AFFECTED_SIDE_CODES = {0: "left", 1: "right", 2: "both"}
SHOD_CONDITION_CODES = {0: "barefoot", 1: "shoe", 2: "orthopaedic shoe"}
SPEED_CODES = {1: "slow", 2: "self-selected", 3: "fast"}
CLASS_LABELS = {
    "HC": "healthy control",
    "H": "hip",
    "K": "knee",
    "A": "ankle",
    "C": "calcaneus",
}
# Detailed sub-labels: only the suffixes whose meaning the GaitRec paper states plainly are
# spelled out (P = joint replacement, F = fracture); others are shown as "subtype X" rather
# than guessed.
DETAILED_SUFFIXES = {"P": "joint replacement", "F": "fracture"}


def decode_class_detailed(code: str) -> str:
    """'K_F' -> 'knee, fracture'; 'HC' -> 'healthy control'; unknown suffixes stay explicit."""
    if code in CLASS_LABELS:
        return CLASS_LABELS[code]
    head, _, suffix = code.partition("_")
    if head not in CLASS_LABELS or not suffix:
        return code
    return f"{CLASS_LABELS[head]}, {DETAILED_SUFFIXES.get(suffix, 'subtype ' + suffix)}"

# Columns of the per-stance table (GaitDataset.stances), in order. Raw codes keep a `_code`
# suffix next to their decoded category; units are in the names.
STANCE_COLUMNS = (
    "dataset",            # "gutenberg" | "gaitrec"
    "dataset_id",         # Gutenberg's DATASET_ID (its sub-datasets 1-10); NaN for GaitRec
    "subject",            # unique across merged datasets, e.g. "gutenberg:12"
    "session",            # unique across merged datasets, e.g. "gutenberg:31"
    "subject_id", "session_id", "trial_id",  # the IDs as in the files
    "side",               # "left" | "right"
    "walking_speed_m_per_s",  # per trial (Gutenberg only), NaN where unknown
    "class_label", "class", "class_label_detailed", "class_detailed",
    "sex_code", "sex",
    "age_years", "height_cm", "body_weight_n", "body_mass_kg", "bmi_kg_per_m2", "shoe_size",
    "affected_side_code", "affected_side",
    "shod_condition_code", "shod_condition",
    "orthopedic_insole",
    "speed_code", "speed_condition",
    "readmission", "session_type", "session_date",
    "train", "train_balanced", "test",
)
