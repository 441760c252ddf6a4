"""Does a patient's course follow their true recovery? And does "toward healthy" reach the healthy band?
On a phantom with patients (SYNTHETIC: phantom_truth.csv holds every stance's true severity).

    gaitsae phantom --out PH --subjects 60 --with-patients --patients 200
    gaitsae train --data PH --out RUN --epochs 10
    python benchmarks/clinical_course.py RUN PH

Recovery: for every patient with at least 3 sessions, the Spearman correlation, over their
sessions, between the session's course index (clinical/course.py: affected side, mean over its
trials) and the session's true severity (mean over its stances); the median over patients
(target ≤ −0.6: the index rises as severity falls), with a 95 % bootstrap interval over patients.
The same for
  - the class's best feature: the sparse feature with the largest |Hedges' g| of its class against
    the healthy reference on the affected side (clinical/study.py feature_table, rank 1), its session
    mean on the same stances, oriented by −sign(g) so that "moves toward healthy as severity falls"
    is negative as for the index;
  - PCA-Mahalanobis: minus the Mahalanobis distance (Ledoit–Wolf) from the reference mean of the
    stance's scaled coefficients projected on as many principal components as the run has features
    (PCA fitted on the reference stances);
  - raw coefficients: minus the Mahalanobis distance (Ledoit–Wolf) over all scaled coefficients.
The baselines go through the same course code (affected side, trial means), only the stance value differs.

Toward healthy (clinical/whatif.py): every patient stance with its deviating sparse features set to
the reference's typical values; the share whose index falls in the healthy band of single stances
(reference stances' 5–95 % index), and the share at or above its lower edge.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy.stats import spearmanr


def within_patient(inputs, values, severity, min_sessions=3):
    """Per patient with ≥ min_sessions: Spearman over sessions of the course value vs true severity."""
    from gaitsae.clinical import course as C

    saved = inputs.index
    inputs.index = values
    st = inputs.stances
    sev = pd.Series(severity).groupby(st["session"].to_numpy()).mean()
    out = {}
    try:
        patients = st.loc[st["class_label"].ne("HC"), "subject"].unique()
        for subject in patients:
            c = C.course(inputs, subject, n_top=0)
            if len(c.sessions) < min_sessions:
                continue
            s = sev.reindex(c.sessions["session"]).to_numpy()
            if np.ptp(s) == 0 or np.ptp(c.sessions["index"]) == 0:
                continue
            out[subject] = spearmanr(c.sessions["index"], s).statistic
    finally:
        inputs.index = saved
    return pd.Series(out)


def median_ci(rhos: pd.Series, seed=0, n_boot=2000):
    r = rhos.dropna().to_numpy()
    rng = np.random.default_rng(seed)
    boot = np.median(r[rng.integers(0, len(r), (n_boot, len(r)))], axis=1)
    return float(np.median(r)), *np.percentile(boot, [2.5, 97.5]), len(r)


def mahalanobis_value(x, ref):
    from sklearn.covariance import LedoitWolf

    lw = LedoitWolf().fit(x[ref])
    c = x - lw.location_
    return -np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", c, lw.precision_, c), 0))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("data")
    args = ap.parse_args()

    from sklearn.decomposition import PCA

    from gaitsae.analysis.ground_truth import load_truth
    from gaitsae.clinical import course as C
    from gaitsae.clinical.pipeline import deviations, encode
    from gaitsae.clinical.study import feature_table
    from gaitsae.clinical.whatif import index_of, toward_healthy

    t0 = time.perf_counter()
    enc = encode(args.run, args.data)
    dev = deviations(enc)
    inputs = C.inputs_from_run(enc, dev)
    st = inputs.stances
    truth = load_truth(st, enc.dataset.sources)
    severity = truth["severity"].to_numpy(dtype=float)
    ref = inputs.in_reference
    print(f"SYNTHETIC phantom {args.data}: {len(st)} stances, {st['subject'].nunique()} subjects "
          f"({st.loc[st['class_label'].ne('HC'), 'subject'].nunique()} patients); run {args.run} "
          f"({enc.latents.shape[1]} features); encode + deviations {time.perf_counter() - t0:.0f} s")

    rows = []
    rhos = within_patient(inputs, inputs.index, severity)
    rows.append(("deviation index (run's features)", *median_ci(rhos)))
    # the class's best feature
    classes = [c for c in ("H", "K", "A", "C") if st["class_label"].eq(c).any()]
    table = feature_table(enc, dev, classes, 0)
    best = table[table["ranked_by"].eq("g_affected")].sort_values("rank").groupby("class_label").first()
    feature_rhos = []
    for cls, r in best.iterrows():
        j, sign = int(r["feature"]), np.sign(r["g_affected"])
        values = -sign * enc.latents[:, j].astype(float)  # oriented: higher = toward healthy
        rho = within_patient(inputs, values, severity)
        rho = rho[st.drop_duplicates("subject").set_index("subject").loc[rho.index, "class_label"].eq(cls).to_numpy()]
        feature_rhos.append(rho)
        print(f"  class {cls}: best feature {j} (g {r['g_affected']:+.2f}), {len(rho)} patients")
    rows.append(("class's best feature (oriented)", *median_ci(pd.concat(feature_rhos))))
    x = enc.inputs.astype(np.float64)
    pca = PCA(n_components=min(enc.latents.shape[1], x.shape[1]), random_state=0).fit(x[ref])
    rows.append(("PCA-Mahalanobis (−distance)", *median_ci(within_patient(inputs, mahalanobis_value(pca.transform(x), ref),
                                                                          severity))))
    rows.append(("raw coefficients Mahalanobis (−distance)",
                 *median_ci(within_patient(inputs, mahalanobis_value(x, ref), severity))))
    print("\n| course value | median within-patient Spearman vs true severity [95 % CI] | patients |")
    print("|---|---|---|")
    for name, m, lo, hi, n in rows:
        print(f"| {name} | {m:+.2f} [{lo:+.2f}, {hi:+.2f}] | {n} |")

    patients = st["class_label"].ne("HC").to_numpy()
    before = inputs.index[patients]
    changed = toward_healthy(enc.latents[patients], dev.model, inputs.kinds)
    after = index_of(dev.model, changed)
    lo, hi = C.stance_band(inputs)
    moved = (changed != enc.latents[patients]).any(axis=1)
    print(f"\ntoward healthy, {patients.sum()} patient stances (stance band {lo:.1f}–{hi:.1f}): "
          f"in the band {np.mean((after >= lo) & (after <= hi)):.1%}, at or above its lower edge {np.mean(after >= lo):.1%} "
          f"(before: {np.mean((before >= lo) & (before <= hi)):.1%} / {np.mean(before >= lo):.1%}); "
          f"{moved.mean():.1%} of stances had a deviating sparse feature; median index {np.median(before):.1f} → "
          f"{np.median(after):.1f}")


if __name__ == "__main__":
    main()
