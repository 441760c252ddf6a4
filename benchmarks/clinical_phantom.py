"""Tables of docs/clinical.md from `gaitsae classify` outputs on a phantom with patients, and
the check against the phantom's planted impairments (phantom_truth.csv).

    gaitsae phantom --out data/big --subjects 350 --with-patients --patients 2300
    gaitsae train --data data/big --out runs/topk --epochs 8
    gaitsae train --data data/big/gutenberg --out runs/healthy --epochs 8
    gaitsae classify runs/topk --data data/big --out cls --healthy-run runs/healthy
    python benchmarks/clinical_phantom.py cls data/big runs/topk

Planted (docs/phantom.md): hip/knee lower the first vGRF peak on the affected side; ankle/
calcaneus weaken push-off (second vGRF peak, F_AP propulsion). The planted effect of a class
is measured without its confounds (patients are older and slower): the mean over its
one-sided sessions of (affected-side mean curve − other-side mean curve), F_V and F_AP, the
affected side taken from phantom_truth.csv. A top feature corresponds when the cosine between
its signed direction (sign of its change on the affected side) and that contrast is high, and
when its largest change falls on the landmark where the contrast is largest.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

PLANTED = {"H": ["loading_peak_F_V"], "K": ["loading_peak_F_V"],
           "A": ["push_off_peak_F_V", "propulsion_F_AP"], "C": ["push_off_peak_F_V", "propulsion_F_AP"]}
LANDMARKS = ["loading_peak_F_V", "push_off_peak_F_V", "propulsion_F_AP"]


def ci(r, fmt="{:.3f}"):
    return f"{fmt.format(r['value'])} [{fmt.format(r['low'])}, {fmt.format(r['high'])}]"


def planted_contrasts(data_dir) -> tuple[dict, tuple]:
    """Per class: mean (affected − other side) curve [2, 101] (F_V, F_AP) over one-sided sessions."""
    from gaitsae.analysis.ground_truth import load_truth
    from gaitsae.data import load_dataset

    ds = load_dataset(data_dir, channels=["F_V", "F_AP"])
    truth = load_truth(ds.stances, ds.sources)
    st = ds.stances.assign(affected=truth["affected"].to_numpy(), truth_class=truth["class_label"].to_numpy())
    out = {}
    for cls in PLANTED:
        rows = st["truth_class"].eq(cls) & st["affected_side"].isin(["left", "right"])
        diffs = []
        for _, g in st[rows].groupby("session"):
            on, off = g.index[g["affected"].eq(1)], g.index[g["affected"].eq(0)]
            if len(on) and len(off):
                diffs.append(ds.curves[on].mean(0) - ds.curves[off].mean(0))
        out[cls] = np.mean(diffs, axis=0)
    return out, ds.channels


def landmark_of(curves, channels) -> str:
    from gaitsae.clinical.explain import LANDMARKS

    values = {k: abs(curves[list(channels).index(ch), a:b + 1].mean()) for k, (ch, a, b) in LANDMARKS.items()}
    return max(values, key=values.get)


def main(cls_dir, data_dir, run_dir=None) -> None:
    cls_dir = Path(cls_dir)
    summary = json.loads((cls_dir / "clinical.json").read_text())
    table = pd.read_csv(cls_dir / "classification.csv")
    print(f"split: {summary['split']}; sessions train {summary['n_sessions']['train']}, test "
          f"{summary['n_sessions']['test']} (test subjects: "
          f"{', '.join(f'{k} {v}' for k, v in summary.get('n_test_subjects', {}).items())}); reference "
          f"{summary.get('reference_label', summary['reference'])} ({summary['n_reference_stances']} "
          f"stances, {summary['n_reference_subjects']} subjects); {summary['n_latents']} latents, "
          f"{summary['n_coefficients']} coefficients per side; test subjects the run saw: "
          f"{summary.get('overlap_subjects', 'not checked')}\n")
    for w in summary.get("warnings", []):
        print(f"**Warning:** {w}\n")
    for task in ("class", "affected_side"):
        t = table[table["task"].eq(task)]
        classes = summary["classes"] if task == "class" else summary["affected_sides"]
        print(f"### {task}\n")
        print("| features | model | balanced accuracy | macro-F1 | " + " | ".join(f"AUC {c}" for c in classes) + " |")
        print("|---|---|---|---|" + "---|" * len(classes))
        for (rep, model), g in t.groupby(["representation", "model"], sort=False):
            m = g.set_index("metric")
            cells = [ci(m.loc["balanced_accuracy"]), ci(m.loc["macro_f1"])]
            cells += [f"{m.loc[f'auc_{c}', 'value']:.3f}" for c in classes]
            print(f"| {rep} | {model} | " + " | ".join(cells) + " |")
        print(f"\n(n train {int(t['n_train'].iloc[0])}, n test {int(t['n_test'].iloc[0])} sessions; chance "
              f"balanced accuracy {1 / len(classes):.3f})\n")
    det = pd.read_csv(cls_dir / "detection.csv")
    print("### healthy vs patient (test sessions, worse side)\n\n| measure | ROC AUC [95 % CI] | healthy / patients |\n|---|---|---|")
    for r in det.itertuples():
        print(f"| {r.measure} | {r.auc:.3f} [{r.low:.3f}, {r.high:.3f}] | {r.n_healthy} / {r.n_patients} |")
    feats = pd.read_csv(cls_dir / "features.csv")
    if "ranked_by" not in feats:
        feats["ranked_by"] = "g_affected"
    within = feats[feats["ranked_by"].eq("g_within")]
    feats = feats[feats["ranked_by"].eq("g_affected")]
    print("\n### top distinguishing features vs the planted effect\n")
    print("| class | rank | feature | what +1 does | g affected [95 % CI] | g other side | g within session | "
          "Δ loading F_V (BW) | Δ push-off F_V | Δ propulsion F_AP | largest at the planted landmark |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in feats[feats["rank"] <= 3].itertuples():
        planted = PLANTED[r.class_label]
        changes = {k: getattr(r, k) for k in LANDMARKS}
        dominant = max(changes, key=lambda k: abs(changes[k])) in planted
        print(f"| {r.class_label} | {r.rank} | {r.feature} | {r.feature_name} | {r.g_affected:+.2f} [{r.g_low:+.2f}, "
              f"{r.g_high:+.2f}] | {r.g_other:+.2f} | {getattr(r, 'g_within', float('nan')):+.2f} | "
              f"{changes['loading_peak_F_V']:+.4f} | "
              f"{changes['push_off_peak_F_V']:+.4f} | {changes['propulsion_F_AP']:+.4f} | "
              f"{'yes' if dominant else 'no'} |")
    if run_dir is None:
        return
    from gaitsae.estimator import GaitSAE

    est = GaitSAE.load(run_dir, progress=False)
    keep = [est.config_.data.channels.index(c) for c in ("F_V", "F_AP")]
    directions = est.feature_directions()[:, keep]  # [n_latents, 2, 101]
    contrasts, channels = planted_contrasts(data_dir)
    print("\n### top features against the planted contrast (affected − other side, F_V and F_AP)\n")
    print("| class | planted contrast: largest at | ranked by | rank | feature | cosine with contrast | its largest "
          "change at | best cosine among all features (feature) |")
    print("|---|---|---|---|---|---|---|---|")
    unit = directions.reshape(len(directions), -1)
    unit = unit / np.linalg.norm(unit, axis=1, keepdims=True)
    for cls, contrast in contrasts.items():
        c = contrast.reshape(-1) / np.linalg.norm(contrast)
        cos_all = unit @ c
        best = int(np.abs(cos_all).argmax())
        for table, name in ((feats, "g vs healthy"), (within, "g within session")):
            for r in table[(table["class_label"] == cls) & (table["rank"] <= 3)].itertuples():
                # The sign with which the feature moves the affected side: against healthy walking,
                # or against the other side of the same sessions.
                sign = np.sign(r.delta_affected if name == "g vs healthy" else r.g_within)
                signed = sign * directions[r.feature]
                cos = float(sign * cos_all[r.feature])
                print(f"| {cls} | {landmark_of(contrast, channels)} | {name} | {r.rank} | {r.feature} | {cos:+.2f} | "
                      f"{landmark_of(signed, channels)} | {abs(cos_all[best]):.2f} ({best}) |")


if __name__ == "__main__":
    main(*sys.argv[1:4])
