"""The default model against PCA and dictionary learning + OMP at matched L0, on small and
Gutenberg-sized configurations, in the time domain, on held-out subjects.

    python benchmarks/small_data.py                                  # 10 subjects, F_V, left; validation split
    python benchmarks/small_data.py --subjects 10 30 --seeds 0 1 2 --variant n_latents=32 --variant init=random
    python benchmarks/small_data.py --subjects 350 --channels all --sides left,right --split test   # final, once

Per phantom seed: write a SYNTHETIC phantom of that many subjects, select channels and sides,
fit the model (training seed 0) and, on the same subject split and feature transform, PCA with
k = the model's L0 and dictionary learning + OMP (k non-zeros, as many atoms as the model has
latents); score all of them with one function (gaitsae.training.metrics.score_codes) on the
chosen split. Tuning reads `--split val` only; `--split test` is for the final numbers, once.
Prints one row per (subjects, phantom seed, method) and the median over phantom seeds, with the
split each method was tuned on: the model early-stops on the validation subjects (its epoch is
chosen there), PCA and dictionary learning are tuned on nothing but their training fit. So on
`--split val` the model's row is scored on the subjects it was tuned on (the table says so);
`--split test` compares all methods on subjects none of them was tuned on.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).parent))
import baselines as B  # noqa: E402

from gaitsae.channels import CHANNELS, SIDES  # noqa: E402
from gaitsae.data import load_dataset  # noqa: E402
from gaitsae.data.phantom import write_phantom  # noqa: E402
from gaitsae.estimator import GaitSAE  # noqa: E402
from gaitsae.models import DEFAULT_MODEL  # noqa: E402
from gaitsae.training.split import split_subjects  # noqa: E402

SHOWN = ("fvu", "r2_min", "l0", "dead_fraction", "low_contribution_fraction")
STOPPING_SPLIT = "val"  # the subjects GaitSAE.fit chooses its best epoch on


def tuned_on(method: str, reported: str) -> str:
    """Which split a method's number was tuned on, as the table states it."""
    if method != "model":
        return "nothing (fit on train only)"
    if reported == STOPPING_SPLIT:
        return f"{STOPPING_SPLIT} (early stopping) = the reported split"
    return f"{STOPPING_SPLIT} (early stopping), not the reported {reported}"


def parse_variant(text: str) -> dict:
    out = {}
    for item in filter(None, text.split(",")):
        key, value = item.split("=")
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                pass
        out[key] = value
    return out


def evaluate(ds, split_name: str, model: str, params: dict, seed: int = 0,
             baselines=("pca", "dictionary+omp")) -> dict[str, dict]:
    """Scores of the model and its two baselines on one split: {method: metrics}."""
    est = GaitSAE(model=model, channels=list(ds.channels), sides=sorted(set(ds.stances["side"])), seed=seed,
                  progress=False, **params).fit(ds)
    split = split_subjects(ds.stances, 0.15, 0.15, seed)
    held = ds.subset(split == split_name)
    m = est.score(held)
    m.update(best_epoch=est.metrics_["best_epoch"], epochs_run=est.metrics_["epochs_run"],
             n_latents=est.config_.model["n_latents"])
    out = {"model": m}
    ft = est.transform_
    x_train, x_held = ft.transform(ds.curves[split == "train"]), ft.transform(held.curves)
    k = max(1, round(m["l0"]))
    runners = {"pca": lambda: B.run_pca(x_train, x_held, k, seed),
               "dictionary+omp": lambda: B.run_dictionary(x_train, x_held, k, m["n_latents"], seed)}
    for name in baselines:
        out[name] = B.score(ft, runners[name](), held.curves, held.channels)
    for method, scores in out.items():
        scores["r2_min"] = min(scores["r2_time"].values())
        scores["tuned_on"] = tuned_on(method, split_name)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, nargs="+", default=[10])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="phantom seeds (populations)")
    parser.add_argument("--data", nargs="+", default=None,
                        help="existing data directories instead of writing phantoms (one group; --subjects ignored)")
    parser.add_argument("--channels", default="F_V", help="comma-separated, or 'all'")
    parser.add_argument("--sides", default="left")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"model (default {DEFAULT_MODEL}, gaitsae's default)")
    parser.add_argument("--variant", action="append", default=None,
                        help="model/training parameters, e.g. n_latents=32,init=random (repeatable; default: defaults)")
    parser.add_argument("--split", choices=("val", "test"), default="val")
    parser.add_argument("--baselines", default="pca,dictionary+omp", help="comma-separated: pca, dictionary+omp")
    args = parser.parse_args()
    channels = list(CHANNELS) if args.channels == "all" else args.channels.split(",")
    sides = args.sides.split(",")
    assert set(sides) <= set(SIDES)
    variants = args.variant or [""]
    print(f"scored on split {args.split}; channels {','.join(channels)}; sides {','.join(sides)}; SYNTHETIC phantom")
    if args.split == STOPPING_SPLIT:
        print(f"NOTE: the model early-stops on the {STOPPING_SPLIT} subjects it is scored on here; PCA and dictionary "
              "learning are tuned on nothing. Compare methods on --split test.")
    print("| subjects | variant | method | tuned on | " + " | ".join(f"{k} (median)" for k in SHOWN)
          + " | fvu per dataset |")
    for n in ([None] if args.data else args.subjects):
        data = []
        for seed in args.seeds if n else []:
            with tempfile.TemporaryDirectory() as tmp:
                write_phantom(tmp, n_subjects=n, seed=seed, progress=False)
                data.append(load_dataset(tmp, channels=channels, sides=sides, cache=False))
        data += [load_dataset(d, channels=channels, sides=sides, cache=False) for d in args.data or []]
        n = n or "/".join(str(d.n_subjects) for d in data)
        for variant in variants:
            start = time.perf_counter()
            runs = [evaluate(ds, args.split, args.model, parse_variant(variant), baselines=args.baselines.split(","))
                    for ds in data]
            extra = runs[0]["model"]
            for method in runs[0]:
                cells = [f"{median(r[method][key] for r in runs):.4f}" for key in SHOWN]
                print(f"| {n} | {variant or 'default'} | {method} | {runs[0][method]['tuned_on']} | "
                      + " | ".join(cells) + " | "
                      + " ".join(f"{r[method]['fvu']:.4f}" for r in runs) + " |")
            print(f"|   | n_latents {extra['n_latents']}, best epoch {[r['model']['best_epoch'] for r in runs]} "
                  f"of {[r['model']['epochs_run'] for r in runs]} [{time.perf_counter() - start:.0f} s] |", flush=True)


if __name__ == "__main__":
    main()
