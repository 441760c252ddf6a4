"""Issue 20's targets for trained runs on phantoms, beside their untrained starts and PCA.

    python benchmarks/default_targets.py [--split val|test] RUN [RUN ...]

Per run (its own data.path, a phantom with phantom_patterns.csv), on the chosen split's subjects
(validation to choose, test once for the final numbers): fvu against PCA of the run's L0 (fitted on
the run's training stances, channel-scaled features), the untrained start's fvu, pca_likeness, and best |cos| / AUC of the class patterns H, K, A, C for the trained
model and its untrained start (mean max cosine over all planted patterns too). The numbers
describe the SYNTHETIC phantom. Run it through cpuslot (one thread).
"""

from __future__ import annotations

import argparse
import json

import torch

from gaitsae.analysis.ground_truth import load_truth
from gaitsae.analysis.truth import find_patterns
from gaitsae.analysis.truth_runs import Scorer, pca_fvu, split_masks
from gaitsae.data import load_dataset
from gaitsae.estimator import GaitSAE

CLASSES = ("H", "K", "A", "C")


def recovery(est, ds, scorer) -> dict:
    table = scorer.model(est, est.transform(ds)).table.set_index("pattern")
    return {**{c: round(float(table.loc[c, "best_cos"]), 3) for c in CLASSES},
            **{f"{c}_auc": round(float(table.loc[c, "auc"]), 3) for c in CLASSES},
            **{f"{c}_code_corr": round(float(table.loc[c, "code_corr"]), 3) for c in CLASSES},
            "mean_max_cosine": round(float(table["best_cos"].mean()), 3)}


def targets_of(run: str, split: str = "test") -> dict:
    est = GaitSAE.load(run, progress=False)
    start = GaitSAE.load(run, progress=False, untrained=True)
    dataset = load_dataset(est.config_.data.path)
    ds = est._select(dataset, est.config_)
    masks = split_masks(est, ds.stances, split)
    test = masks.scored
    scorer = Scorer()
    scorer.prepare(est, ds, est.transform_.transform(ds.curves), load_truth(ds.stances, ds.sources), masks,
                   find_patterns(ds.sources, ds.channels))
    m = {**est.metrics_, **est.score(ds.subset(test))}
    m["fvu_untrained"] = start.score(ds.subset(test))["fvu"]
    l0 = max(1, int(round(m["l0"])))
    out = {"run": run, "split": split, "fvu": round(m["fvu"], 4), "l0": round(m["l0"], 2),
           f"pca{l0}_fvu": round(pca_fvu(est, ds, masks, l0), 4),
           "fvu_untrained": round(m.get("fvu_untrained", float("nan")), 4),
           "pca_likeness": round(m.get("pca_likeness", float("nan")), 3), "best_epoch": m["best_epoch"],
           "trained": recovery(est, ds, scorer)}
    out["untrained"] = recovery(start, ds, scorer)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--split", choices=("val", "test"), default="test",
                        help="whose subjects score the run: val to choose, test once at the end")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for run in args.runs:
        print(json.dumps(targets_of(run, args.split)), flush=True)


if __name__ == "__main__":
    main()
