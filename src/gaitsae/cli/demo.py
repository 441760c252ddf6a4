"""`gaitsae demo`: phantom → the default model and the four older ones → analysis → comparison → one HTML report.

A rerun reuses what is still valid: a finished run trained with the same config on the same
stances, and an analysis computed from the same run and data (--force redoes everything)."""

from __future__ import annotations

import time
from pathlib import Path

from gaitsae.cli.options import DEFAULT_MODEL, MODEL_NAMES, add_overwrite_option, names

# The default model first (the report's first run), then topk and the report's three autoencoders.
DEMO_MODELS = (DEFAULT_MODEL, *(m for m in ("topk", "sae", "sae-disent", "svae") if m != DEFAULT_MODEL))


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="the whole pipeline on the SYNTHETIC phantom, ending in report.html",
                       description=f"Write the phantom, train {', '.join(DEMO_MODELS)}, analyse and compare them, and write "
                                   "OUT/report.html, OUT/comparison.json and OUT/runs/<model>/analysis.json.")
    p.add_argument("--out", default="gaitsae-demo", help="output directory (default gaitsae-demo)")
    p.add_argument("--subjects", type=int, default=350, help="phantom subjects (default 350, Gutenberg size)")
    p.add_argument("--epochs", type=int, default=100, help="at most this many epochs per model (default 100)")
    p.add_argument("--models", default=",".join(DEMO_MODELS), help="comma-separated models")
    p.add_argument("--with-patients", action="store_true", help="add GaitRec-style patients to the phantom")
    p.add_argument("--seed", type=int, default=0, help="seed of the phantom and of every model (default 0)")
    p.add_argument("--force", action="store_true", help="retrain and re-analyse even where finished runs exist")
    add_overwrite_option(p)
    p.set_defaults(handler=run)


def finished(run_dir: Path, config, n_stances: int) -> bool:
    """A complete run with this config (its automatic values resolved as training resolved
    them), trained on a dataset of this many stances."""
    from gaitsae.errors import GaitsaeError
    from gaitsae.estimator import GaitSAE
    from gaitsae.training.config import config_to_dict, resolve_auto

    try:
        old = GaitSAE.load(run_dir, progress=False)
    except GaitsaeError:
        return False
    counts = getattr(old, "metrics_", {}).get("n_stances") or {}
    wanted = resolve_auto(config, counts.get("train", 0))
    return config_to_dict(old.config_) == config_to_dict(wanted) and sum(counts.values()) == n_stances


def run(args) -> int:
    from gaitsae import outdir
    from gaitsae.data import load_dataset
    from gaitsae.data.phantom import write_phantom
    from gaitsae.estimator import GaitSAE
    from gaitsae.report.build import REPORT_FILES, analyze_runs, write_comparison

    models = names(args.models.lower(), MODEL_NAMES, "models")
    out = Path(args.out)
    start = time.perf_counter()
    # OUT is new or an earlier demo's; its data and each run are rebuilt beside and swapped in.
    with outdir.filling(out, "demo", overwrite=args.overwrite, names=["data", "runs", *REPORT_FILES]):
        print(f"[1/4] writing the SYNTHETIC phantom ({args.subjects} subjects) to {out / 'data'}")
        with outdir.replacing(out / "data", "phantom", overwrite=args.overwrite) as where:
            write_phantom(where, n_subjects=args.subjects, seed=args.seed, with_patients=args.with_patients)
        dataset = load_dataset(out / "data")
        print(f"      {len(dataset)} stances of {dataset.n_subjects} subjects")
        runs = []
        for i, name in enumerate(models, 1):
            run_dir = out / "runs" / name
            est = GaitSAE(model=name, epochs=args.epochs, seed=args.seed)
            est.config_ = est.to_config(str((out / "data").resolve()))
            if not args.force and finished(run_dir, est.config_, len(dataset)):
                print(f"[2/4] {name} ({i}/{len(models)}): reusing the finished run in {run_dir} (--force retrains)")
            else:
                print(f"[2/4] training {name} ({i}/{len(models)})")
                with outdir.replacing(run_dir, "run", overwrite=args.overwrite) as where:
                    est.fit(dataset, run_dir=where)
                m = est.metrics_
                print(f"      fvu {m['fvu']:.4f}, L0 {m['l0']:.1f}, dead {m['dead_fraction']:.0%}, "
                      f"{m['epochs_run']} epochs in {m['train_seconds']:.0f} s")
            runs.append(run_dir)
        print("[3/4] analysing")
        analyses = analyze_runs(runs, data=dataset, force=args.force)
        print("[4/4] writing the report")
        report = write_comparison(analyses, out)
    print(f"done in {time.perf_counter() - start:.0f} s: {report} (SYNTHETIC data)")
    print("browse every feature and stance: gaitsae serve " + " ".join(str(r) for r in runs))
    return 0
