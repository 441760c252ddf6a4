"""Feature stability across seeds, every model, on the Gutenberg-size SYNTHETIC phantom: the numbers
of docs/stability.md.

    python benchmarks/stability_seeds.py --out DIR --models topk            # one model's 5 seeds (a sweep)
    python benchmarks/stability_seeds.py --out DIR                          # every model, one after another
    python benchmarks/stability_seeds.py --out DIR --write                  # table → docs/stability.md

Per model: the points of a sweep over training.seed = 0..4 (DIR/<model>/<seed>, resumable, one
worker) with the model's default settings (the seed also draws the subject split), then
gaitsae.analysis.stability over the five runs (alive features only, feature cosine with channels
divided by their between-stance SD, Hungarian matching, activation r on 5,000 stances, the
untrained starts' share beside the trained one), written to DIR/<model>/stability/. The phantom (`gaitsae phantom
--subjects 350 --seed 0`) is written once to DIR/phantom. Each model's summary is kept in
DIR/<model>/summary.json; --write reads those.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from gaitsae.data.phantom import write_phantom
from gaitsae.fsio import write_json, write_text

MODELS = ("topk", "batchtopk", "jumprelu", "matryoshka", "sae", "sae-disent", "svae")
MARKER = "stability-seeds"


def phantom(out: Path, subjects: int) -> Path:
    data = out / "phantom"
    if not (data / ".complete").exists():
        write_phantom(data, n_subjects=subjects, seed=0, progress=False)
        (data / ".complete").write_text("")
    return data


def measure(out: Path, model: str, seeds: list[int], subjects: int) -> dict:
    """Train the model's seeds (the sweep's points and workers, resumable; no baselines), match their
    features, and summarise fvu, L0, sizes and the stability table."""
    from gaitsae.analysis import stability as S
    from gaitsae.sweep import plan
    from gaitsae.sweep.local import run_local
    from gaitsae.sweep.results import STANCES_FOR_STABILITY, table as points_table
    from gaitsae.sweep.spec import load_spec

    data = phantom(out, subjects)
    where = out / model
    where.mkdir(parents=True, exist_ok=True)
    spec = out / f"{model}.toml"
    spec.write_text(f'[model]\nname = "{model}"\n[grid]\n"training.seed" = {json.dumps(seeds)}\n')
    points = load_spec(spec, str(data))
    todo, _ = plan(points, where)
    failures = {k: v for k, v in (run_local(todo, 1, progress=False) if todo else {}).items() if isinstance(v, str)}
    if failures:
        sys.exit(f"{model}: failed points {failures}")
    done = points_table(points, where, failures)
    result = S.stability([where / p.name for p in points], max_stances=STANCES_FOR_STABILITY)
    S.write(result, where / "stability")
    s = result.summary
    summary = {
        "model": model, "n_seeds": len(done), "n_latents": sorted({int(v) for v in done["model.n_latents"]}),
        "k": sorted({int(v) for v in done["model.k"].dropna()}) if "model.k" in done else [],
        "fvu": [float(done["fvu"].min()), float(done["fvu"].max())],
        "l0": [float(done["l0"].min()), float(done["l0"].max())],
        "best_epoch": [int(done["best_epoch"].min()), int(done["best_epoch"].max())],
        "n_alive": [r["n_alive"] for r in result.runs],
        "share_0.9": [p["share_0.9"] for p in result.pairs],
        "untrained_share_0.9": [p["untrained_share_0.9"] for p in result.pairs],
        **{k: s[k] for k in ("share_0.9_mean", "share_0.9_min", "share_0.9_max", "share_0.7_mean",
                             "untrained_share_0.9_mean", "untrained_share_0.7_mean", "activation_r_median_0.9",
                             "feature_stability_mean", "features_always_found", "alive_fraction")},
        "train_seconds": float(done["train_seconds"].sum()),
        "stances": result.stances,
    }
    write_json(where / "summary.json", summary)
    return summary


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.0f} %"


def table(summaries: list[dict]) -> str:
    head = ("| model (latents; k) | test fvu (range) | L0 (range) | best epoch (range) | alive features per run | "
            "alive matched at cos ≥ 0.9: mean (min–max over pairs) | untrained starts ≥ 0.9 | ≥ 0.7 | "
            "untrained ≥ 0.7 | activation r of pairs ≥ 0.9 (median) | alive features found in all other seeds |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|")
    rows = [head]
    for s in summaries:
        size = "/".join(map(str, s["n_latents"])) + (f"; k = {'/'.join(map(str, s['k']))}" if s["k"] else "")
        r = s["activation_r_median_0.9"]
        rows.append(
            f"| {s['model']} ({size}) | {s['fvu'][0]:.4f}–{s['fvu'][1]:.4f} | {s['l0'][0]:.1f}–{s['l0'][1]:.1f} | "
            f"{s['best_epoch'][0]}–{s['best_epoch'][1]} | "
            f"{min(s['n_alive'])}–{max(s['n_alive'])} | **{_pct(s['share_0.9_mean'])}** "
            f"({_pct(s['share_0.9_min'])}–{_pct(s['share_0.9_max'])}) | {_pct(s['untrained_share_0.9_mean'])} | "
            f"{_pct(s['share_0.7_mean'])} | {_pct(s['untrained_share_0.7_mean'])} | "
            f"{'–' if r is None else f'{r:.2f}'} | {_pct(s['features_always_found'])} |")
    return "\n".join(rows)


def write_docs(out: Path) -> None:
    """Replace the marked section of docs/stability.md with the table of DIR/*/summary.json."""
    summaries = [json.loads((out / m / "summary.json").read_text()) for m in MODELS
                 if (out / m / "summary.json").is_file()]
    if not summaries:
        sys.exit(f"{out}: no */summary.json (run without --write first)")
    stances = summaries[0]["stances"]
    text = table(summaries)
    section = (
        f"<!-- {MARKER} -->\n"
        f"Data: the calibrated SYNTHETIC phantom at Gutenberg size (`gaitsae phantom --subjects 350 --seed 0`; "
        f"stability compared on {stances['n_stances']:,} of its stances, {stances['n_subjects']} subjects). "
        f"Each run: the model's default settings, its own seed 0–4 (which also draws its subject split). "
        f"These numbers describe the phantom, not people.\n\n{text}\n\n"
        f"Regenerate (one model per command, each a resumable sweep of 5 runs):\n\n```sh\n"
        + "".join(f"python benchmarks/stability_seeds.py --out DIR --models {m}\n" for m in MODELS)
        + "python benchmarks/stability_seeds.py --out DIR --write\n```\n"
        f"<!-- /{MARKER} -->")
    path = Path(__file__).resolve().parents[1] / "docs" / "stability.md"
    page = path.read_text()
    begin, end = f"<!-- {MARKER} -->", f"<!-- /{MARKER} -->"
    if begin not in page:
        sys.exit(f"{path}: no {begin} marker")
    write_text(path, page[:page.index(begin)] + section + page[page.index(end) + len(end):])
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="working directory (phantom, one sweep per model)")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--subjects", type=int, default=350, help="phantom subjects (default: Gutenberg size)")
    parser.add_argument("--write", action="store_true", help="write the docs/stability.md table from --out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    if args.write:
        write_docs(out)
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    for model in args.models.split(","):
        s = measure(out, model, seeds, args.subjects)
        print(f"{model}: fvu {s['fvu'][0]:.4f}–{s['fvu'][1]:.4f}, alive {s['n_alive']}, matched ≥ 0.9 "
              f"{_pct(s['share_0.9_mean'])} (untrained starts {_pct(s['untrained_share_0.9_mean'])}), "
              f"{s['train_seconds']:.0f} s of training", flush=True)


if __name__ == "__main__":
    main()
