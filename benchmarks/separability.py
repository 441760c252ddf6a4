"""How separable the phantom's patients are, by a FIXED standard pipeline, against GaitRec's
published figures (issue 27; docs/phantom.md, "Patients against published figures").

    python benchmarks/separability.py [--seed 0] [--healthy 150] [--patients 2295] [--repeats 5] [--keep | --dir D]
    python benchmarks/separability.py --data DIR      # any GaitRec-layout directory (real or phantom)
    python benchmarks/separability.py --quick         # a small phantom: the pipeline runs, no verdict

The pipeline is fixed and never tuned to the targets (only the phantom's impairment model is
calibrated): per session, the mean curve of each side (all five channels, 101 points, left then
right: 1,010 numbers); each channel divided by its SD over the training sessions; PCA to 32
components; logistic regression with balanced class weights (scikit-learn defaults otherwise).
Splits are by subject (StratifiedGroupKFold, 5 folds), repeated with --repeats different shuffles
(5 by default: 25 test folds; the shuffles follow from the seed); each number is the median over
all test folds, scored per session. Repeating the split only reduces the noise of one split into
folds; the pipeline stays the same. Tasks: healthy (HC) vs patient (balanced
accuracy and AUC) and the five classes HC/H/K/A/C (balanced accuracy; the confusion matrix is
summed over the folds, rows = true class, shares of the row).

Only GaitRec-layout data are scored (the phantom's gaitrec/ directory, patients and controls):
GaitRec's figures come from GaitRec alone. The phantom's Gutenberg part (--healthy subjects) is
written as `gaitsae phantom` writes it but not used here. The GaitRec part has GaitRec's published
size by default (2,295 subjects: 2,084 patients + 211 controls in GaitRec; the phantom draws the
classes in GaitRec's trial proportions, about 235 controls): at 500 subjects it holds about 50
controls, about 10 per test fold, and the healthy-vs-patient number moves by ± 0.03 from seed to
seed by sampling alone (docs/phantom.md). A GaitRec-size run takes several minutes (writing the
phantom's files is most of it).

Published ranges (subject-wise, GaitRec-type GRF data): healthy vs patient balanced accuracy
0.85–0.90; five classes 0.45–0.60 with the main confusions hip↔knee and ankle↔calcaneus. Exit 0
when all are met, 1 otherwise (2 on bad input). Numbers on a phantom are about the SYNTHETIC
phantom. Run it through /work/bin/cpu (one thread).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from gaitsae.channels import SIDES
from gaitsae.data import load_dataset
from gaitsae.data.phantom import write_phantom
from gaitsae.errors import GaitsaeError

CLASSES = ("HC", "H", "K", "A", "C")
PARTNERS = {"H": "K", "K": "H", "A": "C", "C": "A"}  # the published main confusions
TARGETS = {"binary_balanced_accuracy": (0.85, 0.90), "five_class_balanced_accuracy": (0.45, 0.60)}
N_COMPONENTS, N_SPLITS, N_REPEATS = 32, 5, 5
GAITREC_SUBJECTS = 2295  # 2,084 patients + 211 controls (Horsak et al. 2020)


def session_means(dataset) -> tuple[np.ndarray, pd.DataFrame]:
    """X [n_sessions, 2 × n_channels × 101]: each side's mean curve (left, right); sessions missing
    a side are left out. Also one row per session: session, subject, class_label."""
    st = dataset.stances.reset_index(drop=True)
    flat = dataset.curves.reshape(len(st), -1).astype(np.float64)
    parts = []
    for side in SIDES:
        rows = st.index[st["side"].eq(side)]
        means = pd.DataFrame(flat[rows]).groupby(st.loc[rows, "session"].to_numpy(), sort=True).mean()
        parts.append(means)
    both = parts[0].index.intersection(parts[1].index)
    x = np.hstack([p.loc[both].to_numpy() for p in parts])
    meta = st.drop_duplicates("session").set_index("session").loc[both, ["subject", "class_label"]].reset_index()
    return x, meta


def _channel_scale(train: np.ndarray, n_channels: int) -> np.ndarray:
    """Per-feature divisor: the SD of that feature's channel (both sides) over the training rows."""
    centred = (train - train.mean(axis=0)).reshape(len(train), 2, n_channels, -1)
    sd = np.sqrt((centred ** 2).mean(axis=(0, 1, 3)))
    return np.broadcast_to(sd[None, :, None], (2, n_channels, centred.shape[-1])).reshape(-1)


def _fit_predict(x_train, y_train, x_test, n_channels: int, seed: int) -> np.ndarray:
    """Class probabilities of the test rows [n_test, n_classes] (classes sorted)."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression

    scale = _channel_scale(x_train, n_channels)
    pca = PCA(n_components=min(N_COMPONENTS, len(x_train) - 1), random_state=seed).fit(x_train / scale)
    model = LogisticRegression(class_weight="balanced", max_iter=5000)
    model.fit(pca.transform(x_train / scale), y_train)
    return model.predict_proba(pca.transform(x_test / scale))


def subject_folds(labels: np.ndarray, subjects: np.ndarray, seed: int, repeats: int):
    """(train, test) row indices: `repeats` subject-wise stratified splits into N_SPLITS folds,
    each shuffled differently (shuffle r uses seed × 1000 + r), every subject in one test fold per split."""
    from sklearn.model_selection import StratifiedGroupKFold

    for r in range(repeats):
        folds = StratifiedGroupKFold(n_splits=N_SPLITS, shuffle=True, random_state=seed * 1000 + r)
        yield from folds.split(np.zeros(len(labels)), labels, groups=subjects)


def separability(x: np.ndarray, meta: pd.DataFrame, n_channels: int, seed: int = 0,
                 repeats: int = N_REPEATS) -> dict:
    """Both tasks on the same subject-wise folds; medians over all folds of all repeats, summed
    confusion matrix."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    labels = meta["class_label"].to_numpy()
    present = [c for c in CLASSES if c in set(labels)]
    if "HC" not in present or len(present) < 2:
        raise GaitsaeError(f"separability needs controls (HC) and patients; classes present: {present}")
    patient = (labels != "HC").astype(int)
    if not isinstance(repeats, int) or repeats < 1:
        raise GaitsaeError(f"repeats must be an integer >= 1, got {repeats!r}")
    binary, auc, five = [], [], []
    confusion = pd.DataFrame(0, index=present, columns=present)
    for train, test in subject_folds(labels, meta["subject"].to_numpy(), seed, repeats):
        p = _fit_predict(x[train], patient[train], x[test], n_channels, seed)
        binary.append(balanced_accuracy_score(patient[test], p.argmax(axis=1)))
        auc.append(roc_auc_score(patient[test], p[:, 1]) if len(set(patient[test])) == 2 else np.nan)
        p = _fit_predict(x[train], labels[train], x[test], n_channels, seed)
        predicted = np.array(sorted(set(labels[train])))[p.argmax(axis=1)]
        five.append(balanced_accuracy_score(labels[test], predicted))
        confusion += pd.crosstab(pd.Categorical(labels[test], present), pd.Categorical(predicted, present),
                                 dropna=False).to_numpy()
    shares = confusion.div(confusion.sum(axis=1).replace(0, 1), axis=0)
    return {
        "binary_balanced_accuracy": float(np.median(binary)), "binary_auc": float(np.nanmedian(auc)),
        "five_class_balanced_accuracy": float(np.median(five)),
        "folds": {"binary": binary, "auc": auc, "five": five},
        "confusion": shares, "main_confusions": main_confusions(shares),
        "n_sessions": len(meta), "n_subjects": int(meta["subject"].nunique()), "repeats": repeats,
        "subjects_per_class": meta.drop_duplicates("subject")["class_label"].value_counts().to_dict(),
    }


def main_confusions(shares: pd.DataFrame) -> dict[str, str]:
    """Per patient class: the other patient class it is most often mistaken for."""
    out = {}
    for cls in PARTNERS:
        others = [c for c in PARTNERS if c != cls and c in shares.columns]
        if cls in shares.index and others:
            out[cls] = str(shares.loc[cls, others].idxmax())
    return out


def verdict(result: dict) -> list[str]:
    """What misses the published figures (empty: everything is met)."""
    misses = []
    for key, (lo, hi) in TARGETS.items():
        if not lo <= result[key] <= hi:
            misses.append(f"{key} {result[key]:.3f} outside {lo:.2f}–{hi:.2f}")
    wrong = {c: p for c, p in result["main_confusions"].items() if p != PARTNERS[c]}
    if wrong or len(result["main_confusions"]) < len(PARTNERS):
        misses.append("main confusions " + ", ".join(f"{c}→{p}" for c, p in result["main_confusions"].items())
                      + " (published: H↔K, A↔C)")
    return misses


def report(result: dict) -> str:
    f = result["folds"]
    def spread(values):
        return f"{len(values)} folds, range {min(values):.3f}–{max(values):.3f}"
    lines = [
        f"sessions {result['n_sessions']}, subjects {result['n_subjects']} "
        "(" + ", ".join(f"{c} {result['subjects_per_class'].get(c, 0)}" for c in CLASSES) + ")",
        f"split: {N_SPLITS} subject-wise folds × {result['repeats']} shuffles; medians over the test folds",
        f"healthy vs patient: balanced accuracy {result['binary_balanced_accuracy']:.3f} "
        f"({spread(f['binary'])}), AUC {result['binary_auc']:.3f}",
        f"five classes: balanced accuracy {result['five_class_balanced_accuracy']:.3f} "
        f"({spread(f['five'])})",
        "confusion (rows true, shares of the row; summed over folds):",
        result["confusion"].round(2).to_string(),
        "main confusions: " + ", ".join(f"{c}→{p}" for c, p in result["main_confusions"].items()),
    ]
    return "\n".join(lines)


def published_figures(directory: Path, dataset) -> str:
    """The phantom's own figures beside the published ones (docs/phantom.md): sessions per
    patient, peak vGRF of patients against controls, walking speed and push-off loss by class.
    Speeds are the true ones of phantom_truth.csv (GaitRec has no speed file)."""
    from gaitsae.data.phantom import TRUTH_FILE

    st = dataset.stances.reset_index(drop=True)
    truth_path = directory / TRUTH_FILE
    if not truth_path.is_file():
        return "published figures: no phantom_truth.csv here (not a phantom)"
    truth = pd.read_csv(truth_path)
    v, ap = dataset.channels.index("F_V"), dataset.channels.index("F_AP")
    st = st.assign(peak=dataset.curves[:, v].max(axis=1), push_off=dataset.curves[:, v, 50:].max(axis=1),
                   propulsion=dataset.curves[:, ap, 50:].max(axis=1),
                   speed=truth["walking_speed_m_per_s"].to_numpy(), affected=truth["affected"].to_numpy())
    sessions = st.groupby(["session", "subject", "class_label", "session_type"])[["peak", "speed"]].mean().reset_index()
    ill = sessions["class_label"].ne("HC")
    per_patient = sessions[ill].groupby("subject").size().mean()
    peak_ratio = sessions.loc[ill, "peak"].mean() / sessions.loc[~ill, "peak"].mean()
    speed = sessions.groupby("class_label")["speed"].mean()
    calcaneus_sd = sessions[sessions["class_label"].eq("C")].groupby("subject")["speed"].mean().std()
    control = st[st["class_label"].eq("HC")]
    lines = [f"sessions per patient {per_patient:.2f} (GaitRec 3.9); session types "
             + ", ".join(f"{int(k)}: {n}" for k, n in sessions["session_type"].value_counts().sort_index().items()),
             f"peak vGRF, patients / controls {peak_ratio:.3f} (published: about 5 % lower)",
             "speed m/s: " + ", ".join(f"{c} {speed.get(c, np.nan):.2f}" for c in CLASSES)
             + f"; calcaneus ± {calcaneus_sd:.2f} between patients (published 0.94 ± 0.29; knee "
               f"{1 - speed.get('K', np.nan) / speed.get('HC', np.nan):.0%} slower than controls, published about 15 %)",
             "affected side vs controls, second vGRF peak / propulsion peak: " + ", ".join(
                 f"{c} {st.loc[st['class_label'].eq(c) & st['affected'].eq(1), 'push_off'].mean() / control['push_off'].mean() - 1:+.1%}"
                 f" / {st.loc[st['class_label'].eq(c) & st['affected'].eq(1), 'propulsion'].mean() / control['propulsion'].mean() - 1:+.1%}"
                 for c in PARTNERS) + " (published: calcaneus, then ankle, lose most push-off)"]
    return "\n".join(lines)


def gaitrec_directory(path: Path) -> Path:
    return path / "gaitrec" if (path / "gaitrec").is_dir() else path


def run(directory: Path, seed: int, repeats: int = N_REPEATS) -> tuple[dict, str]:
    directory = gaitrec_directory(directory)
    dataset = load_dataset(directory, cache=False)
    x, meta = session_means(dataset)
    return separability(x, meta, len(dataset.channels), seed, repeats), published_figures(directory, dataset)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0, help="phantom seed, also the folds' shuffle")
    ap.add_argument("--healthy", type=int, default=150, help="Gutenberg-part subjects of the phantom")
    ap.add_argument("--patients", type=int, default=GAITREC_SUBJECTS,
                    help="GaitRec-part subjects (patients and controls; default GaitRec's 2,295)")
    ap.add_argument("--repeats", type=int, default=N_REPEATS,
                    help=f"shuffles of the {N_SPLITS}-fold subject-wise split (default {N_REPEATS})")
    ap.add_argument("--dir", type=Path, help="write the phantom here and keep it")
    ap.add_argument("--keep", action="store_true", help="keep the temporary phantom (its path is printed)")
    ap.add_argument("--data", type=Path, help="score this GaitRec-layout directory instead of a fresh phantom")
    ap.add_argument("--quick", action="store_true", help="a small phantom (10 + 80): the pipeline runs, no verdict")
    args = ap.parse_args(argv)
    if args.quick:
        args.healthy, args.patients, args.repeats = 10, 80, 1
    try:
        if args.data is not None:
            result, figures = run(args.data, args.seed, args.repeats)
            print(f"data: {args.data}")
        else:
            if args.dir is not None and args.dir.exists() and any(args.dir.iterdir()):
                raise GaitsaeError(f"{args.dir}: not empty; give an empty or new directory")
            out = args.dir or Path(tempfile.mkdtemp(prefix="separability-"))
            try:
                write_phantom(out, n_subjects=args.healthy, seed=args.seed, with_patients=True,
                              n_patients=args.patients, progress=not args.quick)
                result, figures = run(out, args.seed, args.repeats)
            finally:
                if args.dir is None and not args.keep:
                    shutil.rmtree(out, ignore_errors=True)
            kept = f", kept in {out}" if args.dir is not None or args.keep else ""
            print(f"SYNTHETIC phantom: seed {args.seed}, {args.healthy} healthy + {args.patients} patients{kept}")
    except GaitsaeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report(result))
    print(figures)
    if args.quick:
        print("verdict: none (--quick: too small to compare with the published figures)")
        return 0
    misses = verdict(result)
    print("verdict: " + ("published ranges MET (healthy vs patient 0.85–0.90, five classes 0.45–0.60, "
                         "H↔K and A↔C)" if not misses else "NOT met: " + "; ".join(misses)))
    return 0 if not misses else 1


if __name__ == "__main__":
    sys.exit(main())
