"""The report's Clinical section, when the data has classes: deviations, healthy vs patient
detection, classification (logistic regression only, to stay quick; the same training and test
sessions as `gaitsae classify` with its defaults) and each class's distinguishing features."""

from __future__ import annotations

from gaitsae.clinical.pipeline import Encoded, deviations
from gaitsae.clinical.study import DEFAULT_TRAIN_SET, run_study
from gaitsae.errors import GaitsaeError

N_BOOT = 200


def has_classes(stances) -> bool:
    labels = set(stances["class_label"].dropna())
    return "HC" in labels and len(labels) > 1


def analyze_clinical(enc: Encoded, seed: int = 0) -> tuple[dict, dict]:
    """(numbers, figures); a data set the study refuses (e.g. a class missing from the
    training split) gives {"skipped": reason} instead of failing the whole report."""
    try:
        dev = deviations(enc, seed=seed)
        study = run_study(enc, dev, DEFAULT_TRAIN_SET, models=("logistic",), seed=seed, n_boot=N_BOOT, progress=False)
    except GaitsaeError as exc:
        reason = str(exc)
        if "--train-set full" in reason:
            reason += (" (the report trains as `gaitsae classify` does by default; "
                       "`gaitsae classify RUN --data DIR --out DIR --train-set full` gives these numbers)")
        return {"skipped": reason}, {}
    ba = study.classification[study.classification["metric"].eq("balanced_accuracy")]
    numbers = {
        **study.summary,
        "balanced_accuracy": ba[["task", "representation", "value", "low", "high", "note"]].to_dict("records"),
        "detection": study.detection.to_dict("records"),
        "features": study.features[study.features["rank"].le(3) & study.features["ranked_by"].eq("g_affected")][
            ["class_label", "rank", "feature", "feature_name", "g_affected", "g_low", "g_high", "g_other", "g_within"]
        ].to_dict("records"),
    }
    return numbers, {f"clinical_{k}": v for k, v in study.figures.items()}
