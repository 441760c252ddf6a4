"""`gaitsae truth RUN [RUN …] --data PHANTOM --out DIR`: does one feature isolate each factor the
phantom planted (its direction is the pattern AND its code tracks the true amount), against chance
rows and PCA, FastICA, NMF and dictionary learning?"""

from __future__ import annotations

from pathlib import Path

from gaitsae.cli.options import add_overwrite_option

FILES = ("truth.csv", "truth.json", "truth.png")


def add_parser(sub) -> None:
    p = sub.add_parser("truth", help="score runs against the phantom's planted factors (chance rows, four baselines)",
                       description="Per planted factor of a phantom (phantom_patterns.csv, phantom_truth.csv), on the "
                                   "run's test subjects: code_corr (|corr| of the best-tracking feature's code with the "
                                   "factor's true amount), code_cos (that feature's |cos| with the pattern), found "
                                   "(both above the printed thresholds), best_cos and features_to_0.9; for each run, "
                                   "chance rows (random training stances and random directions coded by OMP at the "
                                   "run's L0) and PCA, FastICA, NMF and dictionary learning + OMP with as many "
                                   "components as the run's distinct alive features and as its L0, fitted on its "
                                   "training stances. Writes DIR/truth.csv, DIR/truth.json (MCC, found class "
                                   "patterns) and DIR/truth.png.")
    p.add_argument("runs", nargs="+", help="run directories")
    p.add_argument("--data", help="phantom directory (default: the first run's data.path)")
    p.add_argument("--out", default="gaitsae-truth", help="output directory (default: gaitsae-truth)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the baselines and chance rows")
    p.add_argument("--untrained", action="store_true",
                   help="also score each run's untrained start (model_init.safetensors), as method 'untrained'")
    p.add_argument("--other-data", action="store_true",
                   help="score runs on data they were not trained on (its subjects split afresh); refused otherwise")
    add_overwrite_option(p)
    p.set_defaults(handler=run)


def run(args) -> int:
    import json
    import sys

    from gaitsae import outdir
    from gaitsae.analysis import isolation as I
    from gaitsae.analysis import truth as T
    from gaitsae.analysis.figures import png
    from gaitsae.analysis.stability import _names
    from gaitsae.analysis.truth_figure import figure
    from gaitsae.analysis.truth_runs import recover_runs
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
    outdir.check_staged(args.out, overwrite=args.overwrite)  # before the scoring, not after
    dataset = load_dataset(path)
    names = _names(args.runs)
    pairs, notes, (patterns, channel_sd, channels) = recover_runs(
        args.runs, dataset, names, seed=args.seed, untrained=args.untrained, other_data=args.other_data,
        warn=lambda line: print(line, file=sys.stderr), progress=True)
    model = pairs[0][1]  # the first run's own row: the figure shows its methods at its distinct size
    first = [r for run, r in pairs if run == names[0]
             and (r.method in ("model", "untrained") or r.n_components == len(model.directions))]
    with outdir.staged(args.out, "truth", overwrite=args.overwrite) as where:
        write_text(where / FILES[0], T.long_table(pairs).to_csv(index=False, float_format="%.4f"))
        write_text(where / FILES[1], json.dumps({
            "thresholds": {"code_corr": I.FOUND_CORR, "code_cos": I.FOUND_COS, "twin_cos": I.TWIN},
            "rule": T.RULE, "scored_on": notes, "synthetic": bool(dataset.synthetic),
            "methods": T.summary(pairs)}, indent=1, allow_nan=False) + "\n")
        write_bytes(where / FILES[2], png(figure(first, patterns, channel_sd, channels)))
    out = Path(args.out)
    print(f"found: code_corr >= {I.FOUND_CORR} (test subjects) and code_cos >= {I.FOUND_COS}; ± twins are one feature")
    def number(v) -> str:
        return f"{v:.2f}" if v == v else "–"  # NaN: no score (e.g. no patient of the class among the test subjects)

    for run_name, rec in pairs:
        t = rec.table.set_index("pattern")
        print(f"{run_name}: {rec.method}-{rec.n_components} ({len(rec.directions)} distinct): MCC {number(rec.mcc)}, "
              f"found {rec.found_classes}/4 classes; code_corr " + ", ".join(
                  f"{p} {number(t.loc[p, 'code_corr'])}" for p in ("H", "K", "A", "C") if p in t.index)
              + ("" if rec.converged is not False else " (did not converge)"))
    print(f"→ {out / FILES[0]}, {out / FILES[1]}, {out / FILES[2]}")
    if dataset.synthetic:
        print("(SYNTHETIC phantom data)")
    return 0
