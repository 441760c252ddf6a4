"""Train the four models on the default phantom and tabulate their test metrics (docs/models.md).

    python benchmarks/models_table.py [--subjects 350] [--seeds 16] [--large 1000] [--out docs/models_table.md]

Three feature settings: wavelet + one scale per channel (default), wavelet + per-coefficient
z-scoring, and time-domain curves (the ablation). Defaults otherwise (100 latents for the
report's models, topk's automatic size; batch 32, Adam 1e-3, automatic epoch cap with early
stopping; topk k = 8). Also topk with 32
latents, and on a 1,000-subject phantom, to show how the dead fraction depends on the dictionary
size and the amount of training data. Last, topk's silent fraction and fvu over seeds with
the defaults (dead_after 2,500, firing floor a quarter of k / n_latents, training only), without
the floor, and with neither (dead_after 10,000, the first default). fvu is time-domain (mean of
the channels' fvu); silent: never active on the test split with `encode`; low contribution:
removal changes the reconstruction by < 1e-3 of the variance (docs/models.md).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path
from statistics import median

import torch

from gaitsae.data import load_dataset
from gaitsae.data.phantom import write_phantom
from gaitsae.estimator import GaitSAE
from gaitsae.fsio import write_text

SEED_ROWS = [("2,500, floor ¼ k/n (default)", {}), ("2,500, no floor", {"min_firing": 0.0}),
             ("10,000, no floor", {"dead_after": 10_000, "min_firing": 0.0})]
SETTINGS = [("wavelet", "channel"), ("wavelet", "coefficient"), ("time", "channel")]
MODELS = ["topk", "sae", "sae-disent", "svae"]


def row(name, domain, scaling, m) -> str:
    r2 = ", ".join(f"{v:.3f}" for v in m["r2_time"].values())
    peaks = " / ".join(f"{100 * p['signed']:+.2f} % ({100 * p['absolute']:.2f} %)" for p in m["peak_error"].values())
    return (f"| {name} | {domain} | {scaling} | {m['fvu']:.4f} | {r2} | {m['fvu_features']:.4f} | {m['l0']:.1f} | "
            f"{m['dead_fraction']:.2f} | {m['low_contribution_fraction']:.2f} | "
            f"{m['firing_rate']['mean']:.3f} ({m['firing_rate']['min']:.3f}–{m['firing_rate']['max']:.3f}) | "
            f"{peaks} | {m['best_epoch'] + 1} of {m['epochs_run']} | {m['train_seconds']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=350)
    parser.add_argument("--seeds", type=int, default=16, help="seeds in the topk seed table")
    parser.add_argument("--large", type=int, default=1000, help="subjects of the large-data topk row (0: none)")
    parser.add_argument("--out", default="docs/models_table.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_phantom(tmp, n_subjects=args.subjects, seed=0, progress=False)
        ds = load_dataset(tmp, cache=False)
    large = None
    if args.large:
        with tempfile.TemporaryDirectory() as tmp:
            write_phantom(tmp, n_subjects=args.large, seed=0, progress=False)
            large = load_dataset(tmp, cache=False)
    seeds = range(args.seeds)
    lines = [
        f"Measured by `python benchmarks/models_table.py --subjects {args.subjects}` on the default SYNTHETIC phantom "
        f"({len(ds)} stances, {ds.n_subjects} subjects; test split = 15 % of subjects), {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}.",
        "",
        "| model | domain | scaling | fvu (time) | r2_time (F_V, F_AP, F_ML, COP_AP, COP_ML) | fvu (features) | L0 | silent | "
        "low contribution | firing rate mean (min–max) | peak error first / second: signed (absolute) | best epoch | train s |",
        "|" + "---|" * 13,
    ]
    runs = [(m, m, d, s, {}, ds) for d, s in SETTINGS for m in MODELS] + [
        ("topk (32 latents)", "topk", "wavelet", "channel", {"n_latents": 32}, ds)] + ([
        (f"topk ({large.n_subjects:,} subjects, {len(large):,} stances)", "topk", "wavelet", "channel", {}, large)]
        if large is not None else [])
    for label, name, domain, scaling, extra, data in runs:
        start = time.perf_counter()
        est = GaitSAE(model=name, domain=domain, scaling=scaling, progress=False, **extra).fit(data)
        lines.append(row(label, domain, scaling, est.metrics_))
        print(lines[-1], f"[{time.perf_counter() - start:.0f} s]", flush=True)
    lines += ["", f"topk silent fraction (and fvu) on the test split over seeds {seeds.start}–{seeds.stop - 1}:", "",
              "| dead_after, firing floor | " + " | ".join(f"seed {s}" for s in seeds)
              + " | median silent | median fvu | seeds with silent < 0.05 |", "|---|" + "---|" * (len(seeds) + 3)]
    for label, extra in SEED_ROWS:
        cells = [GaitSAE(model="topk", seed=seed, progress=False, **extra).fit(ds).metrics_ for seed in seeds]
        dead, fvu = [m["dead_fraction"] for m in cells], [m["fvu"] for m in cells]
        lines.append(f"| {label} | " + " | ".join(f"{d:.2f} ({f:.4f})" for d, f in zip(dead, fvu))
                     + f" | {median(dead):.3f} | {median(fvu):.4f} | {sum(d < 0.05 for d in dead)} of {len(dead)} |")
        print(lines[-1], flush=True)
    write_text(args.out, "\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
