"""The answer first: one line per run (verdict, the single most important reason, whether it beats
PCA at the same count and on what) and "what to try next", derived from the measured failures.

Every line is computed from a run's numbers by a rule stated here (nothing hand-typed):
- the reason is the first that applies of: poor reconstruction; features that are mostly
  principal directions (or training that did not improve on its start); the verdict's other
  failures in their order; for a run without failure, what it reconstructs and how sparsely;
- "against PCA at the same count" compares what was measured with PCA of as many components as
  the run has features: the all-feature probes (sae_all vs pca_all), the planted-pattern mean max
  cosine, and the clinical balanced accuracy (same dimension). A difference counts only when it
  is larger than summary.PROBE_MARGIN and the better arm is above chance by that margin too;
- NEXT_STEPS: each rule reads one measured failure and names the change it calls for.
"""

from __future__ import annotations

from gaitsae.clinical.reference import MIN_FINDING_SUBJECTS
from gaitsae.models import SPARSE
from gaitsae.report.kinds import kinds, kinds_sentence, of_kind, sparse_l0
from gaitsae.report.summary import (CHANCE, DENSE_SHARE, FAIR_FVU, NAMES, PCA_LIKE_SHARE, PROBE_MARGIN, PROBE_NAMES,
                                    SILENT_FLAG, per_stance, verdict)

PLANTED_CHANCE = 0.0  # a mean max cosine has no chance level to clear: any margin counts


def pca_comparison(a) -> list[dict]:
    """[{what, ours, pca, outcome: "better" | "worse" | "same"}] of a run against PCA with as many
    components, on everything measured at the same count."""
    out = []
    for target, p in a.numbers.get("probes", {}).items():
        ours, pca = p.get("sae_all"), p.get("pca_all")
        if ours is None or pca is None:
            continue
        metric = "R²" if p.get("metric") == "r2" else "balanced accuracy"
        out.append(_compare(f"{PROBE_NAMES.get(target, target)} ({metric})", ours, pca,
                            CHANCE.get(p.get("metric"), 0.0)))
    planted = (a.numbers.get("planted") or {}).get("methods", {})
    if "model" in planted and "pca" in planted:
        out.append(_compare("planted patterns (mean max cosine)", planted["model"]["mean_max_cosine"],
                            planted["pca"]["mean_max_cosine"], PLANTED_CHANCE))
    clinical = a.numbers.get("clinical") or {}
    scores = {b["representation"]: b for b in clinical.get("balanced_accuracy", []) if b.get("task") == "class"}
    ours, pca = scores.get(a.model), scores.get("pca")
    if ours and pca and not ours.get("note") and not pca.get("note") and _finite(ours["value"]) and _finite(pca["value"]):
        out.append(_compare("clinical classes (balanced accuracy)", ours["value"], pca["value"], 1 / max(
            len(clinical.get("classes", [])), 1)))
    return out


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and v == v and abs(v) != float("inf")


def _compare(what: str, ours: float, pca: float, chance: float) -> dict:
    if ours > pca + PROBE_MARGIN and ours > chance + PROBE_MARGIN:
        outcome = "better"
    elif pca > ours + PROBE_MARGIN and pca > chance + PROBE_MARGIN:
        outcome = "worse"
    else:
        outcome = "same"
    return {"what": what, "ours": float(ours), "pca": float(pca), "outcome": outcome}


def pca_sentence(a) -> str:
    """'Against PCA with 32 components: better on …; worse on …; no real difference on ….'"""
    rows = pca_comparison(a)
    n = len(a.numbers["activations"]["firing_rate"])
    if not rows:
        return f"Not compared with PCA ({n} components): no probe, planted pattern or clinical score was measured."
    parts = []
    for outcome, words in (("better", "better on"), ("worse", "worse on"), ("same", "no real difference on")):
        chosen = [r for r in rows if r["outcome"] == outcome]
        if chosen:
            shown = ", ".join(f"{r['what']} {r['ours']:.2f} vs {r['pca']:.2f}" if outcome != "same" else r["what"]
                              for r in chosen)
            parts.append(f"{words} {shown}")
    beats = any(r["outcome"] == "better" for r in rows)
    return (f"{'Beats' if beats else 'Does not beat'} PCA with as many components ({n}): " + "; ".join(parts) + ".")


def main_reason(a) -> str:
    """The single most important reason behind a run's verdict."""
    m = a.metrics
    word, failures = verdict(a)
    fvu = m.get("fvu")
    if fvu is None:
        return "no test reconstruction was measured"
    if fvu >= FAIR_FVU:
        return f"poor reconstruction: it leaves {fvu:.0%} of the test curves' variance unexplained"
    share, gain = m.get("pca_likeness"), m.get("training_gain")
    if share is not None and share >= PCA_LIKE_SHARE:
        return f"its features are mostly principal directions ({share:.0%} of the active ones): PCA gives the same"
    if gain is not None and gain <= 0:
        return "training did not improve on its untrained start"
    if failures:
        return failures[0]
    return f"it explains {1 - fvu:.0%} of the test curves' variance {per_stance(a)}"


def headlines(runs) -> list[dict]:
    """One line per run: {name, model, verdict, reason, pca, kinds} (kinds: what the scaffold carries and
    which sparse features isolate something, report.kinds)."""
    return [{"name": a.name, "model": NAMES.get(a.model, a.model), "verdict": verdict(a)[0], "reason": main_reason(a),
             "pca": pca_sentence(a), "kinds": kinds_sentence(a.numbers)} for a in runs]


# -- what to try next ----------------------------------------------------------------------------
def _pca_like(a):
    m = a.metrics
    share, gain = m.get("pca_likeness"), m.get("training_gain")
    if (share is not None and share >= PCA_LIKE_SHARE) or (gain is not None and gain <= 0):
        why = (f"{share:.0%} of its active features are principal directions" if share is not None
               and share >= PCA_LIKE_SHARE else "training did not improve on its untrained start")
        return (f"{a.name}: {why} → try the scaffold model (a dense scaffold beside sparse atoms) or a random start "
                f"(init = \"random\" under [model] in the run's config; docs/models.md)")
    return None


def _few_subjects(a):
    clinical = a.numbers.get("clinical") or {}
    counts = clinical.get("n_test_subjects") or {}
    if not counts:
        return None
    cls, n = min(counts.items(), key=lambda kv: kv[1])
    if n >= MIN_FINDING_SUBJECTS:
        return None
    return (f"{a.name}: only {n} test subject(s) in class {cls} (clinical numbers need {MIN_FINDING_SUBJECTS} per "
            f"group) → add data: more subjects per class (e.g. the full GaitRec)")


def _dead(a):
    dead = a.metrics.get("dead_fraction") or 0
    if dead <= SILENT_FLAG:
        return None
    n = len(a.numbers["activations"]["firing_rate"])
    alive = round(n * (1 - dead))
    return f"{a.name}: {dead:.0%} of its features never fire on the test stances → a smaller dictionary (n_latents ≈ {alive})"


def _poor(a):
    fvu = a.metrics.get("fvu")
    if fvu is None or fvu < FAIR_FVU:
        return None
    return (f"{a.name}: it leaves {fvu:.0%} of the test curves' variance unexplained → more active features per "
            f"stance (a larger k) or more epochs")


def _dense(a):
    l0, n = sparse_l0(a.metrics), len(of_kind(a.numbers, SPARSE))
    if l0 is None or l0 <= DENSE_SHARE * n:
        return None
    what = "sparse features" if n < len(kinds(a.numbers)) else "features"
    return f"{a.name}: {l0:.0f} of {n} {what} are active per stance (not sparse) → a smaller k"


def _pca_predicts_better(a):
    if _pca_like(a):
        return None  # the same cause; one step for it
    worse = [r["what"] for r in pca_comparison(a) if r["outcome"] == "worse"]
    if not worse:
        return None
    return (f"{a.name}: PCA with as many components predicts {', '.join(worse)} better → a sweep over k and "
            f"n_latents (`gaitsae sweep`) to find a dictionary that keeps it")


def _first_epoch(a):
    m = a.metrics
    if m.get("best_epoch") != 0 or (m.get("epochs_run") or 0) < 2 or _pca_like(a):
        return None
    return f"{a.name}: its validation loss was lowest after the first epoch → a lower learning rate"


NEXT_STEPS = (_poor, _pca_like, _pca_predicts_better, _dense, _dead, _few_subjects, _first_epoch)
NOTHING_TO_CHANGE = "nothing measured calls for a change; confirm on more data (more subjects) before relying on it"


def next_steps(runs) -> list[str]:
    """"What to try next": every rule of NEXT_STEPS that fires, run by run (never empty)."""
    out = [text for a in runs for rule in NEXT_STEPS if (text := rule(a))]
    return out or [NOTHING_TO_CHANGE]
