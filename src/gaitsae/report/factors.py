"""One place that names "the best feature for factor X" in the report, so no two sections disagree.

A factor is a person's recorded attribute (analysis.metadata: walking speed, age, …) or a
generating factor of the phantom (analysis.ground_truth). The best feature is chosen by one rule,
metadata.strongest (largest |r|), on one set of numbers per factor: a phantom factor that is also
a recorded attribute (ground_truth.ATTRIBUTE_OF: the generated speed and the recorded speed, …)
takes the attribute's choice and r, over subjects' means, as "Features and the person" shows
them; every other phantom factor takes its own (ground_truth.analyze_ground_truth). The report
marks each mention with data-factor = factor_key(X), which a test reads back.

The planted-pattern table names a different thing, the feature closest in SHAPE to a planted
pattern (|cosine|); it is labelled so and never called the best feature.
"""

from __future__ import annotations

from gaitsae.analysis.ground_truth import ATTRIBUTE_OF


def factor_key(factor: str) -> str:
    """The one name of a factor across sections (a phantom factor that is a recorded attribute
    goes by the attribute's column)."""
    return ATTRIBUTE_OF.get(factor, factor)


def best_feature(numbers: dict, factor: str) -> dict | None:
    """{"feature", "r", "level", "source"} of the best feature for `factor` in a run's analysis
    numbers (None when no r is defined)."""
    key = factor_key(factor)
    meta = numbers.get("metadata", {}).get(key)
    if meta is not None and meta.get("best_feature") is not None:
        j = meta["best_feature"]
        r = (meta.get("pearson_r") or [None] * (j + 1))[j]
        return {"feature": j, "r": r, "level": "subject means", "source": "person"}
    truth = (numbers.get("ground_truth") or {}).get(factor)
    if truth is not None and truth.get("best_feature") is not None:
        return {"feature": truth["best_feature"], "r": truth.get("best_r"), "level": truth.get("level", "stances"),
                "source": "ground truth"}
    return None
