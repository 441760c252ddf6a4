"""`gaitsae analyze RUN`: every analysis of one run → RUN/analysis.json and an HTML report."""

from __future__ import annotations

from pathlib import Path

from gaitsae.analysis.run import analyze_run
from gaitsae.errors import GaitsaeError
from gaitsae.report.build import write_comparison
from gaitsae.report.html import render_feature_card
from gaitsae.training.rundir import load_run


def add_parser(sub) -> None:
    p = sub.add_parser("analyze", help="analyse a trained run and write its report",
                       description="Activations, feature shapes, top stances, metadata correlations, latent space, "
                                   "importance, redundancy, probes (and ground truth on the phantom).")
    p.add_argument("run", help="run directory")
    p.add_argument("--out", help="report directory (default: the run directory)")
    p.add_argument("--data", help="data directory (default: the run's data.path)")
    p.add_argument("--feature", type=int, action="append", help="also write this feature's full card (repeatable)")
    p.add_argument("--force", action="store_true", help="redo the analysis even if analysis.json is current")
    p.set_defaults(handler=run)


def run(args) -> int:
    out = Path(args.out or args.run)
    features = args.feature or []
    n_latents = load_run(args.run)[0].model["n_latents"]
    bad = [f for f in features if not 0 <= f < n_latents]
    if bad:
        raise GaitsaeError(f"--feature {bad[0]}: the model has features 0 … {n_latents - 1}")
    analysis = analyze_run(args.run, data=args.data, features=features, force=args.force)
    report = write_comparison([analysis], out)
    print(f"analysis → {Path(args.run) / 'analysis.json'}; report → {report}")
    for f in features:
        print(f"feature {f} → {render_feature_card(analysis, f, out / f'feature_{f}.html')}")
    if analysis.synthetic:
        print("(SYNTHETIC phantom data)")
    return 0
