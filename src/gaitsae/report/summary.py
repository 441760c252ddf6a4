"""A short plain-language summary with a verdict per run, written from the numbers (nothing
here is hand-typed). Each sentence says which stances its numbers cover. The verdict rules are
stated once, in VERDICT_RULES, which the report prints under the summary.

A difference between two probes counts only when it is larger than its noise: PCA must beat the
features by more than PROBE_MARGIN AND score more than PROBE_MARGIN above chance itself (R² 0,
balanced accuracy 0.5). Two probes that both predict nothing (R² 0.02 against −0.06) differ by
noise, not by representation, and are no failure.
Beside the verdict, "is it more than PCA?" (metrics.json, see training/metrics.py): a run whose
alive features are mostly (PCA_LIKE_SHARE or more) principal directions, or whose training did not
lower the test FVU of its untrained start, is told so in words (more_than_pca).
"""

from __future__ import annotations

from gaitsae.models import SPARSE
from gaitsae.report.factors import best_feature
from gaitsae.report.kinds import kinds, of_kind, sparse_l0
from gaitsae.report.run import RunAnalysis

NAMES = {"topk": "TopK sparse autoencoder", "sae": "sparse autoencoder (report baseline)",
         "sae-disent": "sparse autoencoder with disentanglement loss", "svae": "sparse variational autoencoder",
         "batchtopk": "BatchTopK sparse autoencoder", "jumprelu": "JumpReLU sparse autoencoder",
         "matryoshka": "Matryoshka sparse autoencoder", "scaffold": "dense scaffold + sparse dictionary"}
FAIR_FVU = 0.15
DENSE_SHARE = 0.25
SILENT_FLAG = 0.05
PROBE_MARGIN = 0.05
CHANCE = {"r2": 0.0, "balanced_accuracy": 0.5}  # a probe's score when it predicts nothing
VERDICT_RULES = (
    f"a run fails a check when its test FVU is {FAIR_FVU} or more (poor reconstruction), its L0 is above "
    f"{DENSE_SHARE:.0%} of its features (not sparse), more than {SILENT_FLAG:.0%} of its features are silent on the "
    f"test stances, or PCA with as many components beats its features on a probe by more than {PROBE_MARGIN} while "
    f"PCA itself scores more than {PROBE_MARGIN} above chance (R² 0, balanced accuracy 0.5): a difference between "
    f"two probes that both predict nothing is noise and does not count. Verdict: weak with poor reconstruction or "
    f"two failures or more, mixed with one, else good.")
PCA_LIKE_SHARE = 0.5
PROBE_NAMES = {"walking_speed_m_per_s": "walking speed", "age_years": "age", "height_cm": "height",
               "body_weight_n": "body weight", "sex_code": "sex"}


def verdict(a: RunAnalysis) -> tuple[str, list[str]]:
    """(one-word verdict, failures) of a run."""
    m, n = a.metrics, a.numbers
    n_sparse = len(of_kind(n, SPARSE))
    failures = []
    fvu = m.get("fvu")
    if fvu is not None and fvu >= FAIR_FVU:
        failures.append(f"poor reconstruction: it leaves {fvu:.0%} of the test curves' variance unexplained")
    l0 = sparse_l0(m)
    if l0 is not None and l0 > DENSE_SHARE * n_sparse:
        what = "sparse features" if n_sparse < len(kinds(n)) else "features"
        failures.append(f"not sparse: {l0:.0f} of {n_sparse} {what} are active per test stance")
    if (m.get("dead_fraction") or 0) > SILENT_FLAG:
        failures.append(f"{m['dead_fraction']:.0%} of its features never fire on the test stances")
    for target, p in n.get("probes", {}).items():
        chance = CHANCE.get(p.get("metric"), 0.0)
        for size in ("top1", "top5", "all"):
            sae, pca = p.get(f"sae_{size}"), p.get(f"pca_{size}")
            if sae is not None and pca is not None and pca > sae + PROBE_MARGIN and pca > chance + PROBE_MARGIN:
                failures.append(f"PCA predicts {PROBE_NAMES.get(target, target)} better from {size.replace('top', 'the top ')}"
                                f" components ({pca:.2f} vs {sae:.2f})")
                break
    poor = fvu is None or fvu >= FAIR_FVU
    word = "weak" if poor or len(failures) >= 2 else "mixed" if failures else "good"
    return word, failures


def more_than_pca(m: dict) -> list[str]:
    """Sentences for a run that PCA or its own untrained start would have given (none otherwise)."""
    out = []
    share = m.get("pca_likeness")
    if share is not None and share >= PCA_LIKE_SHARE:
        out.append(f"These features are mostly principal directions ({share:.0%} of the active ones lie within "
                   f"cosine 0.9 of the top 20 principal components of the training curves); PCA gives the same.")
    gain = m.get("training_gain")
    if gain is not None and gain <= 0:
        out.append(f"Training did not improve on its start: the untrained model's test FVU is "
                   f"{m['fvu_untrained']:.4f}, the trained one's {m['fvu']:.4f}.")
    return out


def per_stance(a: RunAnalysis) -> str:
    """'with 2.0 of 8 sparse features active per stance, beside 2 scaffold axes' (kinds counted apart)."""
    n_sparse, n_scaffold = len(of_kind(a.numbers, SPARSE)), len(kinds(a.numbers)) - len(of_kind(a.numbers, SPARSE))
    l0 = sparse_l0(a.metrics)
    text = f"with {'–' if l0 is None else f'{l0:.1f}'} of {n_sparse} {'sparse ' if n_scaffold else ''}features active per stance"
    return text + (f", beside {n_scaffold} scaffold axes coded on every stance" if n_scaffold else "")


def summary_sentences(runs: list[RunAnalysis]) -> list[str]:
    out = []
    for a in runs:
        m, n = a.metrics, a.numbers
        word, failures = verdict(a)
        n_test = (m.get("n_stances") or {}).get("test")
        on_test = f" of {n_test:,} test stances" if n_test else " of the test stances"
        r2 = m.get("r2_time") or {}
        worst = min(r2, key=r2.get) if r2 else None
        text = f"{a.name} ({NAMES.get(a.model, a.model)}): {word}. "
        if m.get("fvu") is not None and m["fvu"] < 1:
            text += f"It explains {(1 - m['fvu']):.1%} of the curves' variance{on_test} (mean over channels)"
            text += f" (weakest channel {worst}: {r2[worst]:.1%})" if worst else ""
        elif m.get("fvu") is not None:
            text += f"It explains none of the variance{on_test} (FVU {m['fvu']:.2f})"
        text += f", {per_stance(a)}."
        if failures:
            text += " Problems: " + "; ".join(failures) + "."
        text += "".join(" " + sentence for sentence in more_than_pca(m))
        speed = best_feature(n, "walking_speed_m_per_s")
        if speed is not None and speed["r"] is not None:
            text += (f" Feature {speed['feature']} follows walking speed most closely (r = {speed['r']:+.2f} between "
                     f"subjects' means, n = {n['metadata']['walking_speed_m_per_s']['n']} subjects of the analysed data).")
        peaks = m.get("peak_error")
        if peaks:
            first, second = (100 * peaks[p]["absolute"] for p in ("first", "second"))
            text += (f" Vertical force peaks are off by {first:.2f} % (first) and {second:.2f} % (second) "
                     f"per test stance on average.")
        out.append(text)
    return out
