"""`gaitsae truth RUN [RUN …] --data PHANTOM --out DIR`: do single features recover the phantom's
planted patterns, and do PCA, FastICA, NMF and dictionary learning do better?"""

from __future__ import annotations

from pathlib import Path

from gaitsae.cli.options import add_overwrite_option

FILES = ("truth.csv", "truth.png")


def add_parser(sub) -> None:
    p = sub.add_parser("truth", help="score runs against the phantom's planted patterns (with four baselines)",
                       description="Per planted pattern of a phantom (phantom_patterns.csv): the best |cosine| of one "
                                   "feature (channels scaled by their between-stance SD), how many features reach "
                                   "cosine 0.9 together, and for the class patterns the AUC of that feature on the "
                                   "test split; for each run and for PCA, FastICA, NMF and dictionary learning + OMP "
                                   "of the run's size fitted on its training stances. Writes DIR/truth.csv and "
                                   "DIR/truth.png.")
    p.add_argument("runs", nargs="+", help="run directories")
    p.add_argument("--data", help="phantom directory (default: the first run's data.path)")
    p.add_argument("--out", default="gaitsae-truth", help="output directory (default: gaitsae-truth)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the baselines")
    p.add_argument("--untrained", action="store_true",
                   help="also score each run's untrained start (model_init.safetensors), as 'RUN (untrained)'")
    add_overwrite_option(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    from gaitsae import outdir
    from gaitsae.analysis import truth as T
    from gaitsae.analysis.figures import png
    from gaitsae.analysis.stability import _names
    from gaitsae.data import load_dataset
    from gaitsae.data.phantom.patterns import PATTERNS_FILE
    from gaitsae.data.reader import resolve_directories
    from gaitsae.errors import GaitsaeError
    from gaitsae.fsio import write_bytes, write_text
    from gaitsae.training.rundir import load_run, run_data

    configs = [load_run(r)[0] for r in args.runs]
    data = args.data or run_data(args.runs[0], configs[0])
    path = data.split(",") if isinstance(data, str) and "," in data else data
    if T.find_patterns(resolve_directories(path), ()) is None:
        raise GaitsaeError(f"{data}: no {PATTERNS_FILE} (the planted patterns); gaitsae truth needs a phantom "
                           f"written by `gaitsae phantom`")
    dataset = load_dataset(path)
    names = _names(args.runs)
    with outdir.staged(args.out, "truth", overwrite=args.overwrite) as where:
        pairs, fig = T.recover_runs(args.runs, dataset, names, seed=args.seed, untrained=args.untrained)
        table = T.long_table(pairs)
        write_text(where / FILES[0], table.to_csv(index=False, float_format="%.4f"))
        write_bytes(where / FILES[1], png(fig))
    out = Path(args.out)
    for name, rec in pairs:
        print(f"{name} ({len(rec.directions)}): mean max cosine {rec.mean_max_cosine:.3f}; "
              + ", ".join(f"{p} {c:.2f}" for p, c in zip(rec.table["pattern"], rec.table["best_cos"])
                          if p in ("H", "K", "A", "C")))
    print(f"→ {out / FILES[0]}, {out / FILES[1]}")
    if dataset.synthetic:
        print("(SYNTHETIC phantom data)")
    return 0
