"""`gaitsae classify RUN --data DIR --out DIR`: pathology classes and affected side from
session features (SAE vs PCA vs all coefficients; logistic vs gradient boosting), healthy vs
patient detection by the deviation index and score, and each class's distinguishing features."""

from __future__ import annotations

from gaitsae.cli.deviations import add_reference_options, check_folds, print_reference
from gaitsae.cli.options import add_overwrite_option


def add_parser(sub) -> None:
    p = sub.add_parser("classify", help="classify pathology (HC/H/K/A/C) and affected side; explain each class",
                       description="Writes classification.csv, confusion.json, detection.csv, features.csv, "
                                   "clinical.json and PNG figures into OUT. See docs/clinical.md.")
    add_reference_options(p)
    p.add_argument("--out", required=True, help="directory to write")
    p.add_argument("--train-set", choices=("auto", "balanced", "full"), default="auto",
                   help="GaitRec training sessions: TRAIN_BALANCED (as published), all TRAIN, or auto (default; "
                        "the report uses it too): TRAIN_BALANCED when it holds every class, else TRAIN — "
                        "the output names the one used")
    p.add_argument("--allow-overlap", action="store_true",
                   help="classify even when test subjects were in the run's train/validation split "
                        "(the outputs then carry a warning)")
    p.add_argument("--bootstrap", type=int, default=500, help="bootstrap resamples for the 95 %% intervals")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_overwrite_option(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    import json
    import sys
    from pathlib import Path

    from gaitsae import outdir
    from gaitsae.clinical.pipeline import deviations, encode
    from gaitsae.clinical.study import run_study
    from gaitsae.errors import GaitsaeError
    from gaitsae.fsio import write_bytes, write_json, write_text

    check_folds(args.folds)
    if args.bootstrap < 10:
        raise GaitsaeError(f"--bootstrap must be an int >= 10, got {args.bootstrap}")
    outdir.check(args.out, "clinical", overwrite=args.overwrite)  # before minutes of work, not after
    enc = encode(args.run, args.data)
    dev = deviations(enc, args.reference, args.folds, args.seed, args.healthy_run)
    study = run_study(enc, dev, args.train_set, seed=args.seed, n_boot=args.bootstrap, progress=not args.quiet,
                      allow_overlap=args.allow_overlap)
    # Everything is computed before the first file is written, into a new directory that
    # replaces OUT by one rename: a bad input or a kill leaves OUT as it was.
    with outdir.replacing(args.out, "clinical", overwrite=args.overwrite) as where:
        write_text(where / "classification.csv", study.classification.to_csv(index=False))
        write_text(where / "detection.csv", study.detection.to_csv(index=False))
        write_text(where / "features.csv", study.features.to_csv(index=False))
        write_json(where / "confusion.json", study.confusion)
        for name, png in study.figures.items():
            write_bytes(where / f"{name}.png", png)
        write_json(where / "clinical.json", json.loads(json.dumps({
            **study.summary,
            "classification": study.classification.to_dict("records"),
            "detection": study.detection.to_dict("records"),
            "features": study.features.to_dict("records")}, default=float).replace("NaN", "null")))
    out = Path(args.out)
    ba = study.classification.query("metric == 'balanced_accuracy' and task == 'class'")
    for r in ba.itertuples():
        print(f"class  {r.representation:>12} {r.model:>9}: balanced accuracy {r.note or f'{r.value:.3f} [{r.low:.3f}, {r.high:.3f}]'}")
    for r in study.detection.itertuples():
        print(f"healthy vs patient AUC, {r.measure}: {r.note or f'{r.auc:.3f} [{r.low:.3f}, {r.high:.3f}]'}")
    print(f"split: {study.summary['split']} → {out}")
    print_reference(dev.reference, warn=False)  # the study's warnings include the reference's
    for w in study.summary["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    if enc.dataset.synthetic:
        print("(SYNTHETIC phantom data)")
    return 0
