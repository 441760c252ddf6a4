"""Planted-pattern recovery of the default model and four baselines on GaitRec-like phantoms
(docs/models.md, "What the features find").

    python benchmarks/truth_table.py [--seeds 3] [--subjects 150] [--patients 500] [--out FILE]

Per seed s: `gaitsae phantom --subjects 150 --with-patients --patients 500 --seed s`, the default
model (`gaitsae train` with no options but --seed s), then `gaitsae truth --untrained`'s scoring
(gaitsae.analysis.truth.run_recovery): the run, its untrained start, and PCA, FastICA, NMF,
dictionary learning + OMP of its size, fitted on its training stances in its input space. Cells: median (min–max) over seeds.
The numbers describe the SYNTHETIC phantom. One torch thread; run it through cpuslot.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gaitsae.analysis.baselines import METHODS
from gaitsae.analysis.ground_truth import load_truth
from gaitsae.analysis.truth import find_patterns, long_table, run_recovery
from gaitsae.data import load_dataset
from gaitsae.data.phantom import write_phantom
from gaitsae.estimator import GaitSAE
from gaitsae.training.config import config_from_dict

MODEL, UNTRAINED = "gaitsae default", "its untrained start"
CLASS_PATTERNS = ["H", "K", "A", "C"]


def one_seed(seed: int, subjects: int, patients: int, split: str = "test") -> tuple[pd.DataFrame, dict]:
    with tempfile.TemporaryDirectory() as tmp:  # the scoring reads the phantom's truth and patterns
        write_phantom(tmp, n_subjects=subjects, seed=seed, with_patients=True, n_patients=patients, progress=False)
        dataset = load_dataset(tmp, cache=False)
        config = config_from_dict({"data": {"path": tmp}, "training": {"seed": seed}})
        start = time.perf_counter()
        est = GaitSAE.from_config(config, progress=False).fit(dataset)
        ds, inputs, latents, _, _ = est.round_trip(dataset)
        patterns, truth = find_patterns(ds.sources, ds.channels), load_truth(ds.stances, ds.sources)
        rec = run_recovery(est, ds, inputs, latents, patterns, truth, METHODS, seed, scored=split)
        init = est.untrained_start()
        untrained = run_recovery(init, ds, inputs, init.round_trip(dataset).latents, patterns, truth, (), seed,
                                 scored=split)["model"]
    rec = {MODEL: rec.pop("model"), UNTRAINED: untrained, **rec}
    table = long_table(list(rec.items())).assign(seed=seed)
    m = est.metrics_
    info = {"seed": seed, "stances": len(ds), "model": est.config_.model_name,
            "n_latents": int(est.config_.model["n_latents"]), "k": est.config_.model.get("k"),
            "pca_likeness": m.get("pca_likeness"), "training_gain": m.get("training_gain"),
            "fvu": m["fvu"], "mean_max_cosine": {name: r.mean_max_cosine for name, r in rec.items()},
            "seconds": time.perf_counter() - start}
    print(f"seed {seed}: {info}", flush=True)
    return table, info


def cell(values, digits=2) -> str:
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if not len(v):
        return "–"
    if len(v) == 1 or v.min() == v.max():
        return f"{np.median(v):.{digits}f}"
    return f"{np.median(v):.{digits}f} ({v.min():.{digits}f}–{v.max():.{digits}f})"


def markdown(table: pd.DataFrame, infos: list[dict], command: str, commit: str, split: str = "test") -> str:
    methods = [MODEL, UNTRAINED, *METHODS]
    patterns = list(dict.fromkeys(table["pattern"]))
    by = table.groupby(["pattern", "method"])
    head = "| pattern | " + " | ".join(methods) + " |\n|" + "---|" * (len(methods) + 1)
    cos_rows = [f"| {p} | " + " | ".join(cell(by.get_group((p, m))["best_cos"]) for m in methods) + " |"
                for p in patterns]
    mmc = ["| **mean max cosine** | " + " | ".join(cell([i["mean_max_cosine"][m] for i in infos], 3) for m in methods)
           + " |"]
    auc_rows = [f"| {p} AUC | " + " | ".join(cell(by.get_group((p, m))["auc"]) for m in methods) + " |"
                for p in CLASS_PATTERNS]
    reach_rows = [f"| {p} features to 0.9 | " + " | ".join(cell(by.get_group((p, m))["features_to_0.9"], 0)
                                                          for m in methods) + " |" for p in CLASS_PATTERNS]
    i0 = infos[0]
    lines = [
        f"Measured with the default model of commit {commit} ({i0['model']}, {i0['n_latents']} latents"
        + (f", k = {i0['k']}" if i0["k"] else "") + f"), by `{command}`: {len(infos)} SYNTHETIC GaitRec-like phantoms "
        f"(seeds {', '.join(str(i['seed']) for i in infos)}; {cell([i['stances'] for i in infos], 0)} stances). "
        "Cells: median (min–max) over seeds. Baselines have the run's number of components, fitted on its training "
        "stances in its input space.",
        "",
        "Best |cos| of one feature with each planted pattern (all five channels, each divided by its between-stance "
        "SD):",
        "",
        head, *cos_rows, *mmc,
        "",
        "Class patterns: AUC of the best feature (affected-side stances of the class vs healthy-control stances, "
        f"{'validation' if split == 'val' else 'test'} split, stance level) and the number of features that span the "
        "pattern to cos 0.9 (– : never):",
        "",
        head.replace("| pattern |", "| class pattern |"), *auc_rows, *reach_rows,
        "",
        f"The default model: pca_likeness {cell([i['pca_likeness'] for i in infos])}, training gain (test fvu of the "
        f"untrained start − trained) {cell([i['training_gain'] for i in infos], 4)}, test fvu "
        f"{cell([i['fvu'] for i in infos], 4)}; {cell([i['seconds'] for i in infos], 0)} s per seed for training and "
        f"scoring.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--subjects", type=int, default=150)
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--split", default="test", choices=("val", "test"),
                        help="stances the AUC is computed on (val while choosing a default; test once)")
    parser.add_argument("--out", help="markdown file (default: print)")
    parser.add_argument("--csv", help="also write every seed's truth.csv rows here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    tables, infos = [], []
    for seed in range(args.seeds):
        table, info = one_seed(seed, args.subjects, args.patients, args.split)
        tables.append(table)
        infos.append(info)
    table = pd.concat(tables, ignore_index=True)
    if args.csv:
        table.to_csv(args.csv, index=False, float_format="%.4f")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip() or "?"
    command = (f"python benchmarks/truth_table.py --seeds {args.seeds} --subjects {args.subjects} "
               f"--patients {args.patients}" + (" --split val" if args.split == "val" else ""))
    text = markdown(table, infos, command, commit, args.split)
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
