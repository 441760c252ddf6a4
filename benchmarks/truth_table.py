"""Isolation of the planted factors by the default model, its chance rows and four baselines on
GaitRec-like phantoms (docs/models.md, "What the features find").

    python benchmarks/truth_table.py [--model NAME] [--seeds 3] [--subjects 150] [--patients 500] [--epochs 0] [--out FILE]

Per seed s: `gaitsae phantom --subjects N --with-patients --patients P --seed s`, the default model
(`gaitsae train` with no options but --seed s, and --epochs if given; --model: that model with its
defaults), then `gaitsae truth
--untrained`'s scoring (gaitsae.analysis.truth_runs.score_run): the run, its untrained start, the
chance rows (exemplars, random) and PCA, FastICA, NMF, dictionary learning + OMP with as many
components as the run's distinct alive features and as its L0. Also, on the scored split: the
run's and its untrained start's time-domain fvu, PCA's with as many components as the run's L0
(numbers per stance), and the walking-speed code_corr on healthy subjects only (the feature chosen
on healthy training subjects). Cells: median (min–max) over seeds;
a cell with missing values says how many (never dropped silently; features to 0.9: "never" counts
as more than any number). The numbers describe the SYNTHETIC phantom. One torch thread; run it
through the CPU semaphore.
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

from gaitsae.analysis.ground_truth import load_truth
from gaitsae.analysis.isolation import FOUND_CORR, FOUND_COS
from gaitsae.analysis.truth import find_patterns, long_table
from gaitsae.analysis.truth_runs import Scorer, Split, l0_of, pca_fvu, score_run, split_masks
from gaitsae.data import load_dataset
from gaitsae.data.phantom import write_phantom
from gaitsae.estimator import GaitSAE
from gaitsae.training.config import config_from_dict

CLASS_PATTERNS = ["H", "K", "A", "C"]
OTHER = ["speed", "sig_1", "sig_2", "sig_3", "sig_4", "trial_1", "trial_2", "trial_3", "age", "female", "impact"]


HEALTHY = "HC"  # phantom_truth.csv's class_label of healthy controls


def healthy_split(split: Split, truth: pd.DataFrame) -> Split:
    """`split` restricted to healthy controls' stances (walking speed without pathology)."""
    healthy = (truth["class_label"] == HEALTHY).to_numpy()
    return Split(split.train & healthy, split.scored & healthy, split.has_split)


def one_seed(seed: int, subjects: int, patients: int, epochs: int, split: str = "test",
             model: str | None = None) -> tuple[pd.DataFrame, dict]:
    with tempfile.TemporaryDirectory() as tmp:  # the scoring reads the phantom's truth and patterns
        write_phantom(tmp, n_subjects=subjects, seed=seed, with_patients=True, n_patients=patients, progress=False)
        dataset = load_dataset(tmp, cache=False)
        config = config_from_dict({"data": {"path": tmp}, "training": {"seed": seed, "epochs": epochs},
                                   **({"model": {"name": model}} if model else {})})
        start = time.perf_counter()
        est = GaitSAE.from_config(config, progress=False).fit(dataset)
        ds, inputs, latents, _, _ = est.round_trip(dataset, reconstruct=False)
        masks = split_masks(est, ds.stances, split)
        scorer = Scorer(seed)
        truth, patterns = load_truth(ds.stances, ds.sources), find_patterns(ds.sources, ds.channels)
        scorer.prepare(est, ds, inputs, truth, masks, patterns)
        init = est.untrained_start()
        recs = score_run(scorer, est, latents, init, init.round_trip(dataset, reconstruct=False).latents)
        healthy = Scorer(seed)
        healthy.prepare(est, ds, inputs, truth, healthy_split(masks, truth), {"speed": patterns["speed"]})
        speed = healthy.model(est, latents).table.set_index("pattern").loc["speed", "code_corr"]
        l0 = l0_of(latents[masks.train], float(est.model_.active_threshold))
        scored = ds.subset(masks.scored)
        fvus = {"fvu_scored": est.score(scored)["fvu"], "fvu_untrained": init.score(scored)["fvu"],
                "pca_l0_fvu": pca_fvu(est, ds, masks, l0)}
    n_distinct = len(recs[0].directions)
    table = long_table([("default", r) for r in recs]).assign(seed=seed)
    table["row"] = [label(m, n, n_distinct, l0, model) for m, n in zip(table["method"], table["n_components"])]
    m = est.metrics_
    info = {"seed": seed, "stances": len(ds), "model": est.config_.model_name, "model_option": model, "n_latents": int(est.config_.model["n_latents"]),
            "k": est.config_.model.get("k"), "n_distinct": n_distinct, "l0": l0, "best_epoch": m["best_epoch"],
            "epochs_run": m["epochs_run"], "pca_likeness": m.get("pca_likeness"), "training_gain": m.get("training_gain"),
            "fvu": m["fvu"], **fvus, "speed_healthy": float(speed), "seconds": time.perf_counter() - start,
            "mcc": {label(r.method, r.n_components, n_distinct, l0, model): r.mcc for r in recs},
            "found": {label(r.method, r.n_components, n_distinct, l0, model): r.found_classes for r in recs},
            "converged": {label(r.method, r.n_components, n_distinct, l0, model): r.converged for r in recs}}
    print(f"seed {seed}: {info}", flush=True)
    return table, info


def label(method: str, n: int, n_distinct: int, l0: int, model: str | None = None) -> str:
    """A row name that is the same across seeds (whose sizes differ); model: the --model name."""
    if method in ("model", "untrained"):
        return {"model": f"gaitsae {model or 'default'}", "untrained": "its untrained start"}[method]
    if method in ("exemplars", "random"):
        return f"{method} (chance)"
    return f"{method} × distinct" if n == n_distinct or n != l0 else f"{method} × L0"


def cell(values, digits=2, never_is_inf=False) -> str:
    """median (min–max); missing values are counted, not dropped (never_is_inf: NaN means "never
    reaches", ranked above every number)."""
    v = np.asarray(list(values), dtype=float)
    missing = int(np.isnan(v).sum())
    if never_is_inf:
        v = np.where(np.isnan(v), np.inf, v)
        missing = 0
    finite = v[~np.isnan(v)]
    if not len(finite):
        return f"– ({missing} of {len(v)} missing)" if missing else "–"

    def fmt(x):
        return "never" if np.isinf(x) else f"{x:.{digits}f}"
    # the median; with "never" among the values, the lower middle one (a median of inf is not a number)
    med = np.median(finite) if np.isfinite(finite).all() else np.sort(finite)[(len(finite) - 1) // 2]
    text = fmt(med) if len(finite) == 1 or finite.min() == finite.max() else \
        f"{fmt(med)} ({fmt(finite.min())}–{fmt(finite.max())})"
    return text + (f" [{missing} of {len(v)} missing]" if missing else "")


def markdown(table: pd.DataFrame, infos: list[dict], command: str, commit: str, split: str = "test") -> str:
    rows = list(dict.fromkeys(table["row"]))
    by = table.groupby(["row", "pattern"])

    def values(row, pattern, column):
        return by.get_group((row, pattern))[column] if (row, pattern) in by.groups else [np.nan] * len(infos)

    def block(title, patterns, column, digits=2, never=False, extra=()):
        head = "| method | " + " | ".join([*patterns, *[e[0] for e in extra]]) + " |"
        lines = [title, "", head, "|" + "---|" * (len(patterns) + len(extra) + 1)]
        for r in rows:
            cells = [cell(values(r, p, column), digits, never) for p in patterns]
            cells += [e[1](r) for e in extra]
            lines.append(f"| {r} | " + " | ".join(cells) + " |")
        return lines + [""]

    def found(r):
        return f"{sum(i['found'].get(r, 0) for i in infos)} of {4 * len(infos)}"

    def mcc(r):
        return cell([i["mcc"].get(r, np.nan) for i in infos])

    def converged(r):
        flags = [i["converged"].get(r) for i in infos]
        return "–" if all(f is None for f in flags) else f"{sum(bool(f) for f in flags)} of {len(flags)}"

    i0 = infos[0]
    which = "validation" if split == "val" else "test"
    out = [
        f"Measured with the {'default' if i0['model_option'] is None else i0['model_option']} model of commit {commit} ({i0['model']}, {i0['n_latents']} latents, k = {i0['k']}) "
        f"by `{command}`: {len(infos)} SYNTHETIC GaitRec-like phantoms (seeds {', '.join(str(i['seed']) for i in infos)}; "
        f"{cell([i['stances'] for i in infos], 0)} stances). Cells: median (min–max) over seeds. Distinct alive "
        f"features of the run: {cell([i['n_distinct'] for i in infos], 0)}; its L0: {cell([i['l0'] for i in infos], 0)}. "
        f"Baselines are fitted on the run's training stances in its input space, with as many components as the "
        f"run's distinct features (× distinct) or its L0 (× L0); chance rows have as many random training stances "
        f"(exemplars) or random directions, coded by OMP at the run's L0. Found: code_corr ≥ {FOUND_CORR} and "
        f"code_cos ≥ {FOUND_COS}; correlations on the {which} subjects, the feature chosen on the training subjects.",
        "",
        *block("code_corr of the class patterns (|corr| of the best-tracking feature's code with severity × "
               "affected side × class), found class patterns over all seeds, MCC (Hungarian matching over all "
               "factors), and how many seeds' fits converged:", CLASS_PATTERNS, "code_corr",
               extra=(("found", found), ("MCC", mcc), ("converged", converged))),
        *block("code_cos (|cos| of that feature's direction with the pattern):", CLASS_PATTERNS, "code_cos"),
        *block("best_cos (direction alone, secondary) and features to 0.9 (± twins once; never: all features do not "
               "reach it):", CLASS_PATTERNS, "best_cos"),
        *block("features to 0.9 (a median of two seeds may fall between counts):", CLASS_PATTERNS, "features_to_0.9", 1,
               True),
        *block("code_corr of the other planted factors:", OTHER, "code_corr"),
        f"Reconstruction on the {which} subjects (time-domain fvu): the run {cell([i['fvu_scored'] for i in infos], 4)}, "
        f"its untrained start {cell([i['fvu_untrained'] for i in infos], 4)}, PCA with as many components as the "
        f"run's L0 {cell([i['pca_l0_fvu'] for i in infos], 4)} (ratio run / PCA "
        f"{cell([i['fvu_scored'] / i['pca_l0_fvu'] for i in infos])}). Walking speed on healthy controls only "
        f"(code_corr, feature chosen on healthy training subjects): {cell([i['speed_healthy'] for i in infos])}.",
        "",
        f"The model: best epoch {cell([i['best_epoch'] for i in infos], 0)} (−1: the untrained start "
        f"kept) of {cell([i['epochs_run'] for i in infos], 0)} run; pca_likeness {cell([i['pca_likeness'] for i in infos])}, "
        f"training gain {cell([i['training_gain'] for i in infos], 4)}, test fvu (metrics.json) {cell([i['fvu'] for i in infos], 4)}; "
        f"{cell([i['seconds'] for i in infos], 0)} s per seed for training and scoring (under load).",
    ]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model name (default: gaitsae's default model, with its defaults)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--subjects", type=int, default=150)
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=0, help="training epochs (0: the default budget)")
    parser.add_argument("--split", default="test", choices=("val", "test"),
                        help="stances the codes are scored on (val while choosing a default; test once)")
    parser.add_argument("--out", help="markdown file (default: print)")
    parser.add_argument("--csv", help="also write every seed's truth.csv rows here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    tables, infos = [], []
    for seed in range(args.seeds):
        table, info = one_seed(seed, args.subjects, args.patients, args.epochs, args.split, args.model)
        tables.append(table)
        infos.append(info)
    table = pd.concat(tables, ignore_index=True)
    if args.csv:
        table.to_csv(args.csv, index=False, float_format="%.4f")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip() or "?"
    command = (f"python benchmarks/truth_table.py " + (f"--model {args.model} " if args.model else "") + f"--seeds {args.seeds} --subjects {args.subjects} "
               f"--patients {args.patients}" + (f" --epochs {args.epochs}" if args.epochs else "")
               + (" --split val" if args.split == "val" else ""))
    text = markdown(table, infos, command, commit, args.split)
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
