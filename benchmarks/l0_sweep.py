"""L0 sweep of the modern SAEs (topk, batchtopk, jumprelu, matryoshka) against dictionary
learning + OMP, all scored in the time domain on one subject-wise split.

    python benchmarks/l0_sweep.py --results /tmp/l0 [--models topk,batchtopk] [--ks 2,4] [--epochs 20]
    python benchmarks/l0_sweep.py --results /tmp/l0 --write   # table → docs/benchmarks.md, figure

Every point (method, k) is one JSON file in --results, written when it is done, so the sweep can
be split over processes (--models) and resumed (finished points are skipped). The phantom is the
Gutenberg-size one of benchmarks/run.py (350 SYNTHETIC subjects, seed 0), written to --data once.
SAEs: GaitSAE(model, k=k, n_latents=--n-latents (100; passed, never the automatic size), up to
--epochs epochs); each point records the n_latents its run saved, and the table shows it.
jumprelu has no k: its λ is calibrated on the VALIDATION split's L0 (fits at several λ, the next λ interpolated in log–log between
the fits that bracket k; up to --calibration fits per k, stopping within ±10 % or when λ no longer moves L0), and
the fit whose validation L0 is nearest k is scored. OMP: 100 atoms, exactly k non-zeros. Score:
training.metrics.fvu_time on the test split (fvu_features: the same ratio on the feature vectors,
GaitSAE.score's fvu_features); L0 measured on the test split; encode time as in run.py.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import baselines as B  # noqa: E402
from run import SIZES, SWEEP, encode_ms_per_1000  # noqa: E402

from gaitsae.data import load_dataset  # noqa: E402
from gaitsae.data.phantom import write_phantom  # noqa: E402
from gaitsae.estimator import GaitSAE  # noqa: E402
from gaitsae.fsio import write_bytes, write_json, write_text  # noqa: E402
from gaitsae.training import metrics as M  # noqa: E402
from gaitsae.training.split import split_subjects  # noqa: E402

SAES = ("topk", "batchtopk", "jumprelu", "matryoshka")
OMP = "dictionary+omp"
LAMBDA_START = 1.0  # jumprelu's default λ: L0 ≈ 8 after 20 epochs
SLOPE_GUESS = -2.0  # d log λ / d log L0 until two fits give a line
MAX_STEP = math.log(1000)  # largest change of log λ from one fit to the next outside a bracket
MARKER = "l0-sweep-modern"
N_ATOMS = 100  # latents of every SAE and atoms of OMP, passed explicitly (never the automatic size)


def load_phantom(data: Path, subjects: int):
    if not (data / ".complete").exists():
        write_phantom(data, n_subjects=subjects, seed=0, progress=False)
        (data / ".complete").write_text("")
    return load_dataset(data, cache=False)


class Split:
    """The one subject split GaitSAE.fit uses, with curves per part."""

    def __init__(self, ds):
        self.ds = ds
        self.part = split_subjects(ds.stances, 0.15, 0.15, 0)

    def curves(self, name):
        return self.ds.curves[self.part == name]


def l0(latents) -> float:
    return float((latents > 0).sum(dim=1).float().mean())


def fit_sae(name, ds, split, k, epochs, n_latents=N_ATOMS, **params):
    params = {"n_latents": n_latents, **(params if name == "jumprelu" else {"k": k, **params})}
    start = time.perf_counter()
    est = GaitSAE(model=name, epochs=epochs, progress=False, **params).fit(ds)
    fit_s = time.perf_counter() - start
    assert (est.split_.set_index("subject").loc[ds.stances["subject"], "split"].to_numpy() == split.part).all()
    ft, model = est.transform_, est.model_
    with torch.no_grad():
        x_val = torch.as_tensor(ft.transform(split.curves("val")))
        x_test = torch.as_tensor(ft.transform(split.curves("test")))
        h = model.encode(x_test)
        x_hat = model.decode(h).numpy()
        val_l0 = l0(model.encode(x_val))
    return {"fvu": M.fvu_time(split.curves("test"), ft.inverse_transform(x_hat), ds.channels), "l0": l0(h),
            "val_l0": val_l0, "n_latents": int(est.config_.model["n_latents"]),
            "fvu_features": est.metrics_["fvu_features"], "dead_fraction": est.metrics_["dead_fraction"],
            "encode_ms_per_1000": encode_ms_per_1000(est, x_test.numpy()), "fit_s": fit_s,
            "epochs_run": est.metrics_.get("epochs_run"), "params": params}


def calibrate_jumprelu(ds, split, k, epochs, results: Path, max_fits, n_latents=N_ATOMS):
    """Fits at several λ until the validation L0 is within ±10 % of k (or no λ can get nearer);
    returns the nearest."""
    fits = [json.loads(p.read_text()) for p in sorted(results.glob("jumprelu_lambda_*.json"))]
    tried = []
    for _ in range(max_fits):
        near = [f for f in fits + tried if f["val_l0"] > 0]
        if near and min(abs(math.log(f["val_l0"] / k)) for f in near) < math.log(1.1):
            break
        lam = next_lambda(fits + tried, k)
        if lam is None or any(math.isclose(lam, f["params"]["l0_weight"], rel_tol=1e-3) for f in fits + tried):
            break
        point = {"target": k, **fit_sae("jumprelu", ds, split, k, epochs, n_latents, l0_weight=lam)}
        write_json(results / f"jumprelu_lambda_{lam:.6g}.json", point)
        print(f"    jumprelu λ={lam:.4g}: val L0 {point['val_l0']:.2f}, test fvu {point['fvu']:.4f}", flush=True)
        tried.append(point)
    candidates = [f for f in fits + tried if f["val_l0"] > 0]
    return min(candidates, key=lambda f: abs(math.log(f["val_l0"] / k)))


def next_lambda(fits, k) -> float | None:
    """The next λ to try for a validation L0 of k, from the fits so far (L0 falls as λ grows).

    Bracketed: between the largest λ whose L0 is still above k and the smallest λ whose L0 is
    below, log λ is interpolated linearly in log L0. With fits on one side only, it steps out from
    the λ nearest the other side along the slope of that side's two nearest L0 levels
    (SLOPE_GUESS when they give no trend), by at most MAX_STEP. None when that side is
    saturated, two fits ≥ 10× apart in λ reaching the same L0 (±1 %): no λ further out gets
    nearer (within the epoch budget a threshold moves by about the learning rate per step,
    whatever λ is)."""
    pts = [(math.log(f["val_l0"]), math.log(f["params"]["l0_weight"])) for f in fits if f["val_l0"] > 0]
    if not pts:
        return LAMBDA_START
    target = math.log(k)
    above = sorted((p for p in pts if p[0] > target), key=lambda p: -p[1])  # too dense; largest λ first
    below = sorted((p for p in pts if p[0] < target), key=lambda p: p[1])  # too sparse; smallest λ first
    if above and below:
        (xa, ya), (xb, yb) = above[0], below[0]
        return float(math.exp(ya + (target - xa) * (yb - ya) / (xb - xa)))
    side = above or below
    x0, y0 = side[0]
    if any(abs(x - x0) < math.log(1.01) and abs(y - y0) >= math.log(10) for x, y in side[1:]):
        return None
    slope = SLOPE_GUESS
    other = next((p for p in side[1:] if abs(p[0] - x0) >= math.log(1.01)), None)
    if other and (other[1] - y0) / (other[0] - x0) < -0.1:
        slope = (other[1] - y0) / (other[0] - x0)
    step = max(-MAX_STEP, min(MAX_STEP, slope * (target - x0)))
    return float(math.exp(y0 + step))


def transform_for(ds, split):
    """The feature transform GaitSAE.fit would fit (its default settings, training split)."""
    from gaitsae.features.transform import FeatureTransform
    f = GaitSAE().to_config().features
    return FeatureTransform(f.domain, f.wavelet, f.level, f.mode, f.scaling).fit(split.curves("train"), ds.channels)


def run_omp(ds, split, k, ft):
    x_train, x_test = ft.transform(split.curves("train")), ft.transform(split.curves("test"))
    res = B.run_dictionary(x_train, x_test, k, N_ATOMS)
    return {"fvu": M.fvu_time(split.curves("test"), ft.inverse_transform(res.reconstruction), ds.channels),
            "fvu_features": M.fvu(x_test, res.reconstruction), "n_latents": N_ATOMS,
            "l0": float((res.codes != 0).sum(axis=1).mean()), "encode_ms_per_1000": res.encode_ms_per_1000,
            "fit_s": res.fit_seconds, "params": {"n_atoms": N_ATOMS, "n_nonzero": k}}


def sweep(args, results: Path) -> None:
    ds = load_phantom(Path(args.data), args.subjects)
    split = Split(ds)
    print(f"phantom: {len(ds)} stances, {ds.n_subjects} subjects; test {int((split.part == 'test').sum())} stances",
          flush=True)
    for k in args.ks:
        for name in args.models:
            out = results / f"{name}_k{k}.json"
            if out.exists():
                continue
            t0 = time.perf_counter()
            if name == OMP:
                point = run_omp(ds, split, k, transform_for(ds, split))
            elif name == "jumprelu":
                point = calibrate_jumprelu(ds, split, k, args.epochs, results, args.calibration, args.n_latents)
            else:
                point = fit_sae(name, ds, split, k, args.epochs, args.n_latents)
            write_json(out, {"method": name, "k": k, **point})
            print(f"  {name} k={k}: fvu {point['fvu']:.4f}, L0 {point['l0']:.2f} [{time.perf_counter() - t0:.0f} s]",
                  flush=True)


def table(points) -> tuple[str, list[str]]:
    """Markdown table: per k, each method's time-domain fvu, measured L0, number of latents (atoms)
    and ratio to OMP; and what misses the targets (best SAE within 1.2× of OMP, its encode ≥ 50×
    faster)."""
    names = [n for n in (*SAES, OMP) if any(p["method"] == n for p in points.values())]
    head = ("| k | " + " | ".join(f"{n} fvu (L0; latents)" for n in names) + " | best SAE | best / OMP | OMP encode / best |\n|"
            + "---|" * (len(names) + 4))
    rows, misses = [head], []
    for k in sorted({p["k"] for p in points.values()}):
        at = {n: points[(n, k)] for n in names if (n, k) in points}
        cells = [f"{at[n]['fvu']:.4f} ({at[n]['l0']:.1f}; {at[n].get('n_latents', '?')})" if n in at else "–"
                 for n in names]
        saes = [n for n in SAES if n in at and at[n]["l0"] <= 1.1 * k]  # no credit for a denser code
        if OMP not in at or not saes:
            rows.append(f"| {k} | " + " | ".join(cells) + " | | | |")
            continue
        best = min(saes, key=lambda n: at[n]["fvu"])
        ratio = at[best]["fvu"] / at[OMP]["fvu"]
        speed = at[OMP]["encode_ms_per_1000"] / at[best]["encode_ms_per_1000"]
        rows.append(f"| {k} | " + " | ".join(cells) + f" | {best} | {ratio:.2f} | {speed:.0f}x |")
        if ratio > 1.2:
            misses.append(f"k = {k}: best SAE ({best}) at {ratio:.2f}× OMP's fvu")
        if speed < 50:
            misses.append(f"k = {k}: {best} encodes only {speed:.0f}× faster than OMP")
    return "\n".join(rows), misses


def read_points(results: Path) -> dict:
    points = {}
    for path in sorted(results.glob("*_k*.json")):
        p = json.loads(path.read_text())
        points[(p["method"], p["k"])] = p
    return points


def write_docs(results: Path, epochs: int) -> None:
    """Replace (or append) the "L0 sweep: modern SAEs" section of docs/benchmarks.md and draw
    docs/benchmark_l0_modern.png."""
    from gaitsae.analysis.figures import png, subplots
    points = read_points(results)
    text, misses = table(points)
    docs = Path(__file__).resolve().parents[1] / "docs"
    machine = (f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores shared with other jobs, 1 torch thread, "
               f"Python {platform.python_version()}, torch {torch.__version__}")
    jr = [p for (n, _), p in sorted(points.items()) if n == "jumprelu"]
    lambdas = ", ".join(f"k = {p['k']}: λ = {p['params']['l0_weight']:.3g} (val L0 {p['val_l0']:.1f})" for p in jr)
    section = (
        f"<!-- {MARKER} -->\n## L0 sweep: modern SAEs\n\n"
        f"Gutenberg-size SYNTHETIC phantom (350 subjects, seed 0), one subject-wise split, test split scored. "
        f"Each cell: **time-domain fvu** (per channel pooled fvu of the reconstructed curves in the channel's "
        f"unit, averaged over the five channels: `training.metrics.fvu_time`), the L0 measured on the test split "
        f"and the number of latents (atoms) the run saved. "
        f"SAEs: n_latents passed explicitly (not the automatic size), up to {epochs} epochs (early stopping on validation loss); OMP: dictionary "
        f"learning with 100 atoms, exactly k non-zeros. jumprelu's λ is calibrated so that its VALIDATION L0 "
        f"matches k ({lambdas or 'not run'}). Only SAEs whose test L0 is at most 1.1 k compete for "
        f"`best`; `best / OMP` is the best SAE's fvu over OMP's "
        f"(target ≤ 1.2); `OMP encode / best` how many times faster the best SAE encodes (target ≥ 50×).\n\n"
        f"Machine: {machine}; {datetime.now(timezone.utc):%Y-%m-%d}. Command: "
        f"`OMP_NUM_THREADS=1 python benchmarks/l0_sweep.py --results DIR --epochs {epochs}` then "
        f"`python benchmarks/l0_sweep.py --results DIR --epochs {epochs} --write`.\n\n"
        f"![fvu against L0, modern SAEs](benchmark_l0_modern.png)\n\n{text}\n\n"
        + ("Misses: " + "; ".join(misses) + "." if misses else "Every k meets both targets.")
        + f"\n<!-- /{MARKER} -->")
    page = (docs / "benchmarks.md").read_text()
    begin, end = f"<!-- {MARKER} -->", f"<!-- /{MARKER} -->"
    if begin in page:
        page = page[:page.index(begin)] + section + page[page.index(end) + len(end):]
    else:
        page = page.rstrip() + "\n\n" + section + "\n"
    write_text(docs / "benchmarks.md", page)
    fig, axes = subplots(1, 1, width=5.5, height=3.8)
    ax = axes[0, 0]
    for name in (*SAES, OMP):
        pts = sorted((p["l0"], p["fvu"]) for (n, _), p in points.items() if n == name)
        if pts:
            ax.plot(*zip(*pts), marker="o", label=name, linestyle="--" if name == OMP else "-")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("measured L0 (test split)")
    ax.set_ylabel("time-domain fvu (test split)")
    ax.set_title("L0 sweep, Gutenberg-size phantom (SYNTHETIC)", fontsize=9)
    ax.legend(fontsize=8)
    write_bytes(docs / "benchmark_l0_modern.png", png(fig))
    print(text)
    print("\n".join(misses) or "every k meets both targets")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True, help="directory of per-point JSON files (created)")
    parser.add_argument("--data", default=None, help="phantom directory (written once; default RESULTS/phantom)")
    parser.add_argument("--models", default=",".join((*SAES, OMP)))
    parser.add_argument("--ks", default=",".join(map(str, SWEEP)))
    parser.add_argument("--epochs", type=int, default=20, help="max epochs per SAE fit")
    parser.add_argument("--subjects", type=int, default=SIZES["gutenberg"]["subjects"],
                        help="phantom subjects (default: Gutenberg size; fewer only for a smoke test)")
    parser.add_argument("--calibration", type=int, default=3, help="max jumprelu fits per k")
    parser.add_argument("--n-latents", type=int, default=N_ATOMS, help=f"latents of every SAE (default {N_ATOMS})")
    parser.add_argument("--write", action="store_true", help="write the docs section and figure from --results")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    if args.write:
        write_docs(results, args.epochs)
        return
    args.models = args.models.split(",")
    args.ks = [int(k) for k in args.ks.split(",")]
    args.data = args.data or str(results / "phantom")
    sweep(args, results)


if __name__ == "__main__":
    main()
