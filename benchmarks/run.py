"""gaitsae's SAEs against PCA, dictionary learning + OMP, NMF and FastICA on one phantom.

    python benchmarks/run.py --quick                 # small phantom, < 2 minutes, prints the table
    python benchmarks/run.py --size gutenberg --write # ≈ 17.4k stances; its section of docs/benchmarks.md + figure
    python benchmarks/run.py --size gaitrec --write   # GaitRec size; matched point only (no sweep)

One process, one phantom, one subject-wise split (the one GaitSAE.fit uses), one fitted feature
transform. Baselines are fitted on the training vectors and scored on the test stances by the
same function as the SAEs (time-domain fvu, mean over channels; baselines.score). Matched
comparison: k = the TopK model's L0 (8) and as many atoms as TopK has latents. Sweep:
k = 2, 4, 8, 16, 32 for TopK (trained per k), PCA, dictionary learning + OMP, NMF, FastICA. Probes: ridge R² for walking speed and age from all codes, fitted on the training subjects'
stances and scored on the test subjects' (labels are never seen in fitting the representations;
up to 4,000 stances sampled per side).
Encode time: per 1,000 test stances, batch, after fitting, median of 5 runs. Single-stance latency of
GaitSAE.encode_stance (curves in, latents out): p50/p99 over 2,000 calls.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import baselines as B  # noqa: E402
from memory import PeakRSS  # noqa: E402

from gaitsae.analysis.probing import probe  # noqa: E402
from gaitsae.data import load_dataset  # noqa: E402
from gaitsae.data.phantom import write_phantom  # noqa: E402
from gaitsae.estimator import GaitSAE  # noqa: E402
from gaitsae.training.split import split_subjects  # noqa: E402

SIZES = {"quick": dict(subjects=60, patients=None), "gutenberg": dict(subjects=350, patients=None),
         "gaitrec": dict(subjects=1, patients=2300)}
SWEEP = (2, 4, 8, 16, 32)
MAX_PROBE = 4000


def probes(codes, stances, split, seed=0):
    """Ridge R² of all codes, fitted on the training subjects' stances (every representation was
    fitted on them) and scored on the test subjects' (analysis.probing's protocol)."""
    rng = np.random.default_rng(seed)
    out = {}
    for column in ("walking_speed_m_per_s", "age_years"):
        y = stances[column].to_numpy(dtype=float)
        ok = np.isfinite(y)
        fit, score = (np.flatnonzero(ok & (split == name)) for name in ("train", "test"))
        fit, score = (np.sort(rng.choice(rows, MAX_PROBE, replace=False)) if len(rows) > MAX_PROBE else rows
                      for rows in (fit, score))
        usable = min(len(fit), len(score)) > 0 and np.ptp(y[fit]) > 0 and np.ptp(y[score]) > 0
        out[column] = probe(codes[fit], y[fit], codes[score], y[score], "regression") if usable else float("nan")
    return out


def run_sae(name, ds, epochs, extra=None):
    with PeakRSS() as mem:
        start = time.perf_counter()
        est = GaitSAE(model=name, epochs=epochs, progress=False, **(extra or {})).fit(ds)
        fit_s = time.perf_counter() - start
    return est, fit_s, mem.peak_mib


def encode_ms_per_1000(est, x, repeats=B.REPEATS):
    xt = torch.as_tensor(x)
    with torch.inference_mode():
        est.model_.encode(xt[:10])
        return 1e6 * B.median_seconds(lambda: est.model_.encode(xt), repeats) / len(x)


def stance_latency(est, curves, n=2000):
    times = []
    for i in range(n):
        c = curves[i % len(curves)]
        start = time.perf_counter()
        est.encode_stance(c)
        times.append(time.perf_counter() - start)
    times = np.array(times[50:]) * 1000
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--size", choices=("gutenberg", "gaitrec"), default="gutenberg")
    parser.add_argument("--epochs", type=int, default=None, help="max epochs per SAE (default auto; quick 30)")
    parser.add_argument("--write", action="store_true", help="update this size's section of docs/benchmarks.md (and the figure)")
    args = parser.parse_args()
    size = "quick" if args.quick else args.size
    epochs = args.epochs or (30 if args.quick else 0)
    sweep = size != "gaitrec"
    t0 = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        spec = SIZES[size]
        write_phantom(tmp, n_subjects=spec["subjects"], seed=0, with_patients=spec["patients"] is not None,
                      n_patients=spec["patients"], progress=False)
        ds = load_dataset(Path(tmp) / "gaitrec" if spec["patients"] else tmp, cache=False)
    print(f"phantom ({size}): {len(ds)} stances, {ds.n_subjects} subjects [{time.perf_counter() - t0:.0f} s]")

    # Our four models (each fits the same subject split and transform).
    results, ests = [], {}
    for name in ("topk", "sae", "sae-disent", "svae"):
        est, fit_s, mem = run_sae(name, ds, epochs)
        ests[name] = est
        results.append({"method": name, "k": est.metrics_["l0"], "atoms": est.config_.model["n_latents"],
                        "fvu": est.metrics_["fvu"], "r2_min": min(est.metrics_["r2_time"].values()),
                        "dead": est.metrics_["dead_fraction"], "low": est.metrics_["low_contribution_fraction"],
                        "fit_s": fit_s, "mem_mib": mem, "est": est})
        print(f"  {name}: fvu {est.metrics_['fvu']:.4f}, L0 {est.metrics_['l0']:.1f}, fit {fit_s:.0f} s", flush=True)
    four_models_s = sum(r["fit_s"] for r in results)
    topk = ests["topk"]
    split = split_subjects(ds.stances, 0.15, 0.15, 0)
    assert (topk.split_.set_index("subject").loc[ds.stances["subject"], "split"].to_numpy() == split).all()
    ft = topk.transform_
    x_train, x_test = ft.transform(ds.curves[split == "train"]), ft.transform(ds.curves[split == "test"])
    test_curves = ds.curves[split == "test"]
    x_all = ft.transform(ds.curves)
    for r in results:
        est = r.pop("est")
        r["encode_ms_per_1000"] = encode_ms_per_1000(est, x_test)
        r.update(probes(est.transform(ds.curves), ds.stances, split))
    p50, p99 = stance_latency(topk, test_curves)
    print(f"  encode_stance latency: p50 {p50:.3f} ms, p99 {p99:.3f} ms")

    n_atoms = topk.config_.model["n_latents"]
    runners = {"pca": lambda k, x_all=None: B.run_pca(x_train, x_test, k, x_all=x_all),
               "dictionary+omp": lambda k, x_all=None: B.run_dictionary(x_train, x_test, k, n_atoms, x_all=x_all),
               "nmf": lambda k, x_all=None: B.run_nmf(x_train, x_test, k, x_all=x_all),
               "fastica": lambda k, x_all=None: B.run_ica(x_train, x_test, k, x_all=x_all)}
    for name, fn in runners.items():
        with PeakRSS() as mem:
            res = fn(8, x_all)
        m = B.score(ft, res, test_curves, ds.channels)
        results.append({"method": name, "k": res.k, "atoms": res.n_atoms, "fvu": m["fvu"],
                        "r2_min": min(m["r2_time"].values()), "dead": m["dead_fraction"],
                        "low": m["low_contribution_fraction"], "fit_s": res.fit_seconds,
                        "mem_mib": mem.peak_mib, "encode_ms_per_1000": res.encode_ms_per_1000,
                        **probes(res.all_codes, ds.stances, split)})
        print(f"  {name} (k=8): fvu {results[-1]['fvu']:.4f}, fit {res.fit_seconds:.1f} s", flush=True)

    curve = {}
    if sweep:
        for k in SWEEP:
            est = GaitSAE(model="topk", k=k, epochs=epochs, progress=False).fit(ds) if k != 8 else topk
            curve.setdefault("topk", []).append((k, est.metrics_["fvu"]))
            for name, fn in runners.items():
                curve.setdefault(name, []).append((k, B.score(ft, fn(k), test_curves, ds.channels)["fvu"]))
            print(f"  sweep k={k}: " + ", ".join(f"{n} {v[-1][1]:.4f}" for n, v in curve.items()), flush=True)

    dl = next(r for r in results if r["method"] == "dictionary+omp")
    table = format_table(results, dl)
    print()
    print(table)
    total = time.perf_counter() - t0
    summary = (f"\nfour models trained in {four_models_s:.0f} s; topk fvu / dictionary+omp fvu = "
               f"{results[0]['fvu'] / dl['fvu']:.2f}; topk dead fraction {topk.metrics_['dead_fraction']:.2f}; "
               f"dictionary+omp encode time / topk encode time = "
               f"{dl['encode_ms_per_1000'] / results[0]['encode_ms_per_1000']:.0f}x; encode_stance p50 {p50:.3f} ms, "
               f"p99 {p99:.3f} ms; total {total:.0f} s")
    print(summary)
    if args.write:
        write_docs(size, ds, table, summary, curve)


def format_table(results, dl) -> str:
    head = ("| method | k (L0) | atoms | fvu (time) | fvu / DL | min r2_time | silent | low contribution | speed R² | "
            "age R² | fit s | encode ms / 1k | DL encode / this | peak MiB |\n|" + "---|" * 14)
    rows = [head]
    for r in results:
        rows.append(f"| {r['method']} | {r['k']:.1f} | {r['atoms']} | {r['fvu']:.4f} | {r['fvu'] / dl['fvu']:.2f} | "
                    f"{r['r2_min']:.3f} | {r['dead']:.2f} | {r['low']:.2f} | {r['walking_speed_m_per_s']:.3f} | {r['age_years']:.3f} | {r['fit_s']:.1f} | "
                    f"{r['encode_ms_per_1000']:.2f} | {dl['encode_ms_per_1000'] / r['encode_ms_per_1000']:.0f}x | "
                    f"{r['mem_mib']:.0f} |")
    return "\n".join(rows)


def write_docs(size, ds, table, summary, curve) -> None:
    """Replace this size's section of docs/benchmarks.md (between its marker comments)."""
    from gaitsae.fsio import write_bytes, write_text
    docs = Path(__file__).resolve().parents[1] / "docs"
    machine = (f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, {torch.get_num_threads()} torch threads, "
               f"Python {platform.python_version()}, torch {torch.__version__}")
    section = (f"<!-- {size} -->\n### {size}: {len(ds)} stances, {ds.n_subjects} subjects (SYNTHETIC phantom)\n\n"
               f"Machine: {machine}. Command: `python benchmarks/run.py --size {size} --write`.\n\n"
               f"{table}\n{summary.strip()}\n<!-- /{size} -->")
    page = (docs / "benchmarks.md").read_text()
    begin, stop = page.index(f"<!-- {size} -->"), page.index(f"<!-- /{size} -->") + len(f"<!-- /{size} -->")
    write_text(docs / "benchmarks.md", page[:begin] + section + page[stop:])
    if curve:
        from gaitsae.analysis.figures import png, subplots
        fig, axes = subplots(1, 1, width=5.5, height=3.8)
        ax = axes[0, 0]
        for name, points in curve.items():
            k, f = zip(*points)
            ax.plot(k, f, marker="o", label=name)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("L0 (non-zeros / components per stance)")
        ax.set_ylabel("test fvu (time domain, mean over channels)")
        ax.set_title(f"fvu against L0, {size} phantom (SYNTHETIC)", fontsize=9)
        ax.legend(fontsize=8)
        write_bytes(docs / "benchmark_fvu_l0.png", png(fig))


if __name__ == "__main__":
    main()
