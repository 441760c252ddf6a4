"""The whole clinical evaluation of one run on one data set: classification tables, healthy vs
patient detection, distinguishing features and figures (what `gaitsae classify` writes)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gaitsae.channels import CLASS_LABELS
from gaitsae.clinical import classify as C
from gaitsae.clinical.explain import class_figure, distinguishing_features, explaining_features, landmark_changes
from gaitsae.clinical.pipeline import Deviations, Encoded
from gaitsae.clinical.reference import finding_note, small_group_warning
from gaitsae.errors import DataError
from gaitsae.progress import progress as progress_bar

DEFAULT_TRAIN_SET = "auto"  # `classify` and the report's Clinical section train on the same sessions


@dataclass
class Study:
    summary: dict
    classification: pd.DataFrame   # task, representation, model, metric, value, low, high
    confusion: dict
    detection: pd.DataFrame        # measure, auc, low, high, n_healthy, n_patients
    features: pd.DataFrame         # per class, top features with effect sizes and curve changes
    figures: dict[str, bytes] = field(default_factory=dict)




def seen_subjects(est) -> set | None:
    """The run's train/validation subjects (its split.csv); None when the run recorded none."""
    split = getattr(est, "split_", None)
    return None if split is None else set(split.loc[split["split"].isin(["train", "val"]), "subject"])


def train_set_fix(split_name: str) -> str:
    """What to do when a class has no training session, in the words of the command line."""
    if "TRAIN_BALANCED" in split_name:
        return "use --train-set full (all GaitRec TRAIN sessions) or data with more patients"
    return "use data with more patients"


def run_study(enc: Encoded, dev: Deviations, train_set: str = DEFAULT_TRAIN_SET, models=C.MODELS, seed: int = 0,
              n_boot: int = 500, progress: bool = True, allow_overlap: bool = False) -> Study:
    """train_set: GaitRec training sessions, "balanced" (TRAIN_BALANCED, as published), "full"
    (TRAIN) or "auto" (TRAIN_BALANCED when it has every class, else TRAIN; the split's name says which); `classify` and the report use the same default. Test subjects are never
    ones the run trained or validated on (C.split_sessions) unless allow_overlap."""
    st = enc.dataset.stances
    sessions, _ = C.session_means(st, np.zeros((len(st), 0)))
    split, split_name, overlap = C.split_sessions(sessions, seen_subjects(enc.est), train_set, seed, allow_overlap)
    y = sessions["class_label"].to_numpy()
    used = split != ""
    classes = [c for c in C.CLASSES if (y[used] == c).any()]
    if len(classes) < 2:
        raise DataError(f"the data has {len(classes)} class(es) in its split ({', '.join(classes) or 'none'}); "
                        "classification needs healthy controls and at least one patient class")
    fix = train_set_fix(split_name)
    C.check_classes(y[split == "train"], classes, "CLASS_LABEL", split_name, fix)
    patients = np.isin(y, classes[1:]) & sessions["affected_side"].isin(C.AFFECTED).to_numpy()
    sides = [s for s in C.AFFECTED if sessions.loc[patients & used, "affected_side"].eq(s).any()]
    C.check_classes(sessions.loc[patients & (split == "train"), "affected_side"], sides, "AFFECTED_SIDE",
                    split_name, fix)

    model_name = enc.est.config_.model_name
    stance_split = pd.Series(split, index=sessions["session"]).reindex(st["session"]).fillna("").to_numpy()
    reps = C.representations(enc.latents, enc.inputs, stance_split == "train", model_name, seed)
    groups = sessions["subject"].to_numpy()
    rows, confusion = [], {}
    bar = progress_bar(2 * len(reps) * len(models) + 2, "classify", "step", enabled=progress)
    for rep, x_stance in reps.items():
        _, x = C.session_means(st, x_stance)
        for model in models:
            for task, mask, labels, target in (("class", used, classes, y),
                                               ("affected_side", used & patients, sides,
                                                sessions["affected_side"].to_numpy())):
                bar.set_description(f"classify: {task} by {model} on {rep}")
                sp = np.where(mask, split, "")
                r = C.evaluate(x, target.astype(str), groups, sp, labels, model, seed, n_boot)
                confusion.setdefault(task, {}).setdefault(rep, {})[model] = {"labels": labels, "matrix": r["confusion"]}
                per_label = test_subjects(target.astype(str), groups, sp == "test")
                for metric, value in r["point"].items():
                    note = metric_note(metric, labels, per_label)
                    low, high = r["low"][metric], r["high"][metric]
                    if note:  # no finding: no number (the file keeps the row and says why)
                        value = low = high = np.nan
                    rows.append({"task": task, "representation": rep, "model": model, "metric": metric,
                                 "value": value, "low": low, "high": high, "note": note,
                                 "n_train": r["n_train"], "n_test": r["n_test"]})
                bar.update()
    classification = pd.DataFrame(rows)

    warnings = study_warnings(dev, sessions, split, classes, overlap)
    bar.set_description("classify: healthy vs patient detection")
    detection = detection_table(dev, sessions, split, n_boot, seed)
    bar.update()
    bar.set_description("classify: distinguishing features")
    features = feature_table(enc, dev, classes[1:], seed)
    bar.update()
    bar.close()
    vs_healthy = features[features["ranked_by"].eq("g_affected")] if len(features) else features
    figures = {f"class_{c}": class_figure(vs_healthy[vs_healthy["class_label"].eq(c)].head(3), enc.directions,
                                          dev.model.reference.band_mean, dev.model.reference.band_sd,
                                          enc.dataset.channels, f"{c} ({CLASS_LABELS.get(c, c)}): top features vs healthy (norm band)")
               for c in classes[1:] if len(vs_healthy) and vs_healthy["class_label"].eq(c).any()}
    figures["classification"] = classification_figure(classification, model_name, warnings)
    figures["index_by_class"] = index_figure(dev, classes)
    summary = {"split": split_name, **dev.reference, "classes": classes,
               "affected_sides": sides, "model": model_name,
               "n_sessions": {"train": int((split == "train").sum()), "test": int((split == "test").sum())},
               "n_test_subjects": {c: int(sessions.loc[(split == "test") & (y == c), "subject"].nunique())
                                   for c in classes},
               "overlap_subjects": overlap, "warnings": warnings, "synthetic": bool(enc.dataset.synthetic),
               "n_latents": int(enc.latents.shape[1]), "n_coefficients": int(enc.inputs.shape[1])}
    summary.pop("warning", None)
    return Study(summary, classification, confusion, detection, features, figures)


def test_subjects(labels: np.ndarray, subjects: np.ndarray, test: np.ndarray) -> dict[str, int]:
    """Test subjects per label (a subject counts once per label it has sessions of)."""
    return pd.Series(subjects[test]).groupby(labels[test]).nunique().to_dict()


def metric_note(metric: str, labels, per_label: dict[str, int]) -> str:
    """"" or "not enough subjects (n = …)" for a classification metric: a one-vs-rest AUC compares
    its class with the other classes' subjects; balanced accuracy and macro F1 need every class."""
    if metric.startswith("auc_"):
        cls = metric[4:]
        return finding_note(per_label.get(cls, 0), sum(v for k, v in per_label.items() if k != cls))
    return finding_note(*[per_label.get(label, 0) for label in labels])


def study_warnings(dev: Deviations, sessions: pd.DataFrame, split, classes, overlap: int) -> list[str]:
    """Everything a reader must see before the numbers: test subjects the run saw, and a
    reference or test group of fewer than MIN_SUBJECTS subjects."""
    out = []
    if overlap > 0:
        out.append(f"{overlap} test subjects were in the run's train/validation split (--allow-overlap): "
                   "the numbers are optimistic")
    elif overlap < 0:
        out.append("the run records no split, so test subjects may have been seen in training (--allow-overlap): "
                   "the numbers may be optimistic")
    if "warning" in dev.reference:
        out.append(dev.reference["warning"])
    test = sessions[split == "test"]
    groups = [(f"test class {c}", test.loc[test["class_label"].eq(c), "subject"].nunique()) for c in classes]
    groups.append(("test patients (all classes)", test.loc[test["class_label"].ne("HC"), "subject"].nunique()))
    out += [w for what, n in groups if (w := small_group_warning(what, int(n)))]
    return out


def detection_table(dev: Deviations, sessions: pd.DataFrame, split, n_boot: int, seed: int) -> pd.DataFrame:
    """Healthy vs patient ROC AUC on the test sessions, per session of its worse side: the lower
    index, the higher score (and reconstruction error when a healthy run was given)."""
    s = dev.sessions
    per = s.groupby("session").agg(index=("index", "min"), score=("score", "max"),
                                   **({"recon_error": ("recon_error", "max")} if "recon_error" in s else {}))
    test = sessions[split == "test"].set_index("session")
    per = per.reindex(test.index)
    healthy = test["class_label"].eq("HC").to_numpy()
    rows = []
    for measure, sign in (("index", -1.0), ("score", 1.0), ("recon_error", 1.0)):
        if measure not in per:
            continue
        r = C.detection_auc(healthy, sign * per[measure].to_numpy(), test["subject"].to_numpy(), n_boot, seed)
        rows.append({"measure": measure, **_as_finding(r, test["subject"].to_numpy(), healthy)})
    if "recon_error" in per:
        seen = s.groupby("session")["healthy_model_saw"].any().reindex(test.index).to_numpy()
        unseen = ~seen
        r = C.detection_auc(healthy[unseen], per["recon_error"].to_numpy()[unseen],
                            test["subject"].to_numpy()[unseen], n_boot, seed)
        rows.append({"measure": "recon_error (subjects unseen by the healthy model)",
                     **_as_finding(r, test["subject"].to_numpy()[unseen], healthy[unseen])})
    return pd.DataFrame(rows)


def _as_finding(r: dict, subjects: np.ndarray, healthy: np.ndarray) -> dict:
    """A detection row with its subject counts; AUC and interval blanked (and a note) when a group
    has too few subjects to be a finding."""
    n_h, n_p = len(np.unique(subjects[healthy])), len(np.unique(subjects[~healthy]))
    note = finding_note(n_h, n_p)
    if note:
        r = {**r, "auc": np.nan, "low": np.nan, "high": np.nan}
    return {**r, "n_healthy_subjects": n_h, "n_patient_subjects": n_p, "note": note}


def feature_table(enc: Encoded, dev: Deviations, classes, seed: int) -> pd.DataFrame:
    """distinguishing_features on the session-side means of the activations, ranked against
    healthy walking and within sessions (column ranked_by), with each feature's name (analysis.naming) and
    its curve change at the landmarks on the affected side."""
    s = dev.sessions
    st = enc.dataset.stances
    means = pd.DataFrame(enc.latents).groupby([st["session"].to_numpy(), st["side"].to_numpy()]).mean()
    activations = means.reindex(pd.MultiIndex.from_frame(s[["session", "side"]])).to_numpy()
    healthy = s["in_reference"].to_numpy(bool)
    explains = explaining_features(enc.est.feature_kinds_)  # scaffold axes are normal variation, never the pattern
    top = pd.concat([distinguishing_features(s, activations, healthy, classes, seed=seed, rank_by=r, explains=explains)
                     for r in ("g_affected", "g_within")], ignore_index=True)
    if top.empty:
        return top
    names = enc.names
    top["feature_name"] = [names[j] for j in top["feature"]]
    marks = [landmark_changes(enc.directions[j], d, enc.dataset.channels)
             for j, d in zip(top["feature"], top["delta_affected"])]
    return pd.concat([top, pd.DataFrame(marks)], axis=1)


def classification_figure(table: pd.DataFrame, model_name: str, warnings=()) -> bytes:
    from gaitsae.analysis.figures import png, subplots

    t = table[table["metric"].eq("balanced_accuracy")]
    tasks = list(dict.fromkeys(t["task"]))
    fig, axes = subplots(1, len(tasks), width=3.6, height=2.4)
    for ax, task in zip(axes[0], tasks):
        r = t[t["task"].eq(task)].reset_index(drop=True)
        labels = [f"{a}\n{b}" for a, b in zip(r["representation"], r["model"])]
        ax.bar(range(len(r)), r["value"], yerr=[r["value"] - r["low"], r["high"] - r["value"]],
               color=["tab:red" if v == model_name else "0.6" for v in r["representation"]], capsize=2)
        ax.set_xticks(range(len(r)), labels, fontsize=6)
        ax.set_title(f"{task}: balanced accuracy (95 % CI)", fontsize=8)
        ax.set_ylim(0, 1)
    if warnings:
        fig.suptitle("\n".join(f"warning: {w}" for w in warnings), color="tab:red", fontsize=7)
    return png(fig)


def index_figure(dev: Deviations, classes) -> bytes:
    """Distribution of the session index (worse side) per class; 100 ± 10 shaded."""
    from gaitsae.analysis.figures import png, subplots

    s = dev.sessions
    per = s.groupby("session").agg(index=("index", "min"), class_label=("class_label", "first"),
                                   subject=("subject", "first"))
    fig, axes = subplots(1, 1, width=4.2, height=2.4)
    ax = axes[0, 0]
    ax.axhspan(90, 110, color="0.9", lw=0)
    ax.axhline(100, color="0.5", lw=0.6)
    for i, c in enumerate(classes, start=1):
        rows = per["class_label"].eq(c)
        note = finding_note(per.loc[rows, "subject"].nunique())
        if note:  # a median of too few people is no finding: say so where its box would be
            ax.text(i, 100, note.replace(" (", "\n("), ha="center", va="center", fontsize=6, color="tab:red")
        else:
            ax.boxplot([per.loc[rows, "index"].to_numpy()], positions=[i], showfliers=False)
    ax.set_xlim(0.5, len(classes) + 0.5)
    ax.set_xticks(range(1, len(classes) + 1), [f"{c}\n{CLASS_LABELS.get(c, c)}" for c in classes], fontsize=6)
    ax.set_ylabel("deviation index (worse side)", fontsize=8)
    ax.set_title("100 = healthy reference, 10 points = 1 SD", fontsize=8)
    return png(fig)
