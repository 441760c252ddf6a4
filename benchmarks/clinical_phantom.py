"""Tables of docs/clinical.md from `gaitsae classify` outputs on a phantom with patients, and
the check against the phantom's planted impairments (phantom_truth.csv).

    gaitsae phantom --out data/big --subjects 350 --with-patients --patients 2300
    gaitsae train --data data/big --out runs/topk --epochs 8
    gaitsae train --data data/big/gutenberg --out runs/healthy --epochs 8
    gaitsae classify runs/topk --data data/big --out cls --healthy-run runs/healthy
    python benchmarks/clinical_phantom.py cls data/big

Planted (docs/phantom.md): hip/knee lower the first vGRF peak on the affected side; ankle/
calcaneus weaken push-off (second vGRF peak, F_AP propulsion). A top feature "matches" when its
curve change on the affected side has the planted sign at the planted landmark; "dominant"
when that landmark is also where the change is largest.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

PLANTED = {"H": ["loading_peak_F_V"], "K": ["loading_peak_F_V"],
           "A": ["push_off_peak_F_V", "propulsion_F_AP"], "C": ["push_off_peak_F_V", "propulsion_F_AP"]}
LANDMARKS = ["loading_peak_F_V", "push_off_peak_F_V", "propulsion_F_AP"]


def ci(r, fmt="{:.3f}"):
    return f"{fmt.format(r['value'])} [{fmt.format(r['low'])}, {fmt.format(r['high'])}]"


def main(cls_dir, data_dir) -> None:
    cls_dir = Path(cls_dir)
    summary = json.loads((cls_dir / "clinical.json").read_text())
    table = pd.read_csv(cls_dir / "classification.csv")
    print(f"split: {summary['split']}; sessions train {summary['n_sessions']['train']}, test "
          f"{summary['n_sessions']['test']}; reference {summary['reference']} ({summary['n_reference_stances']} "
          f"stances, {summary['n_reference_subjects']} subjects); {summary['n_latents']} latents, "
          f"{summary['n_coefficients']} coefficients per side\n")
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
    print("\n### top distinguishing features vs the planted effect\n")
    print("| class | rank | feature | what +1 does | g affected [95 % CI] | g other side | "
          "Δ loading F_V (BW) | Δ push-off F_V | Δ propulsion F_AP | planted sign | dominant |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in feats[feats["rank"] <= 3].itertuples():
        planted = PLANTED[r.class_label]
        changes = {k: getattr(r, k) for k in LANDMARKS}
        sign = any(changes[k] < 0 for k in planted)
        dominant = max(changes, key=lambda k: abs(changes[k])) in planted
        print(f"| {r.class_label} | {r.rank} | {r.feature} | {r.meaning} | {r.g_affected:+.2f} [{r.g_low:+.2f}, "
              f"{r.g_high:+.2f}] | {r.g_other:+.2f} | {changes['loading_peak_F_V']:+.4f} | "
              f"{changes['push_off_peak_F_V']:+.4f} | {changes['propulsion_F_AP']:+.4f} | "
              f"{'yes' if sign else 'no'} | {'yes' if dominant else 'no'} |")
    truth = pd.concat([pd.read_csv(p) for p in Path(data_dir).glob("*/phantom_truth.csv")], ignore_index=True)
    patients = truth[truth["class_label"].isin(list(PLANTED))]
    print(f"\n(phantom_truth: {patients.groupby(['SUBJECT_ID', 'SESSION_ID']).ngroups} patient sessions, "
          f"{patients['affected'].mean():.0%} of their stances on an affected side)")


if __name__ == "__main__":
    main(*sys.argv[1:3])
