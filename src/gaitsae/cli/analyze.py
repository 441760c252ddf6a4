"""`gaitsae analyze RUN`: every analysis of one run → RUN/analysis.json and an HTML report."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from gaitsae.cli.options import add_overwrite_option
from gaitsae.errors import GaitsaeError


def add_parser(sub) -> None:
    p = sub.add_parser("analyze", help="analyse a trained run and write its report",
                       description="Activations, feature shapes, top stances, metadata correlations, latent space, "
                                   "importance, redundancy, probes (and ground truth on the phantom).")
    p.add_argument("run", help="run directory")
    p.add_argument("--out", help="report directory (default: the run directory)")
    p.add_argument("--data", help="data directory (default: the run's data.path, if it still holds the data "
                                  "the run was trained on)")
    p.add_argument("--stability", help="stability.json covering this run (default: one beside the run, if any)")
    p.add_argument("--feature", type=int, action="append", help="also write this feature's full card (repeatable)")
    p.add_argument("--force", action="store_true", help="redo the analysis even if analysis.json is current")
    add_overwrite_option(p)
    p.set_defaults(handler=run)


def print_clinical(clinical) -> None:
    """The Clinical section's split and reference on stdout; its warnings (or why it was not
    computed) on stderr, as `classify` and `deviations` print them."""
    if not clinical:
        return
    if "skipped" in clinical:
        print(f"clinical section not computed: {clinical['skipped']}", file=sys.stderr)
        return
    print(f"clinical: split {clinical['split']}; reference {clinical.get('reference_label', clinical['reference'])}, "
          f"{clinical['n_reference_stances']} stances of {clinical['n_reference_subjects']} subjects")
    for w in clinical.get("warnings", []):
        print(f"warning: {w}", file=sys.stderr)


def run(args) -> int:
    from gaitsae import outdir
    from gaitsae.report.run import ANALYSIS_FILE, FIGURES_FILE, analyze_run
    from gaitsae.report.build import REPORT_FILES, write_comparison
    from gaitsae.report.html import render_feature_card
    from gaitsae.training.rundir import load_run, run_data

    out = Path(args.out or args.run)
    features = args.feature or []
    config, model, _ = load_run(args.run)
    n_latents = len(model.feature_kinds())  # every feature, a scaffold's included
    bad = [f for f in features if not 0 <= f < n_latents]
    if bad:
        raise GaitsaeError(f"--feature {bad[0]}: the model has features 0 … {n_latents - 1}")
    data = args.data or run_data(args.run, config)
    report_files = [*REPORT_FILES, *(f"feature_{f}.html" for f in features)]
    into_run = out.resolve() == Path(args.run).resolve()
    with contextlib.ExitStack() as claims:
        # The run loads, so it is gaitsae's; its marker names the files before they are written.
        claims.enter_context(outdir.filling(args.run, "run", trusted=True, names=[
            ANALYSIS_FILE, FIGURES_FILE, *(report_files if into_run else ())]))
        where = out if into_run else claims.enter_context(outdir.staged(out, "report", overwrite=args.overwrite))
        analysis = analyze_run(args.run, data=data, features=features, force=args.force,
                               stability=args.stability)
        write_comparison([analysis], where)
        for f in features:
            render_feature_card(analysis, f, where / f"feature_{f}.html")
    report = out / REPORT_FILES[1]
    cards = [out / f"feature_{f}.html" for f in features]
    print(f"analysis → {Path(args.run) / 'analysis.json'}; report → {report}")
    for f, card in zip(features, cards):
        print(f"feature {f} → {card}")
    print_clinical(analysis.numbers.get("clinical"))
    if analysis.synthetic:
        print("(SYNTHETIC phantom data)")
    return 0
