"""`gaitsae train`: train one model on a data directory into a run directory."""

from __future__ import annotations

from pathlib import Path

from gaitsae.cli.options import MODEL_NAMES, add_overwrite_option, add_selection_options, selection
from gaitsae.errors import ConfigError


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a sparse autoencoder; writes a run directory",
                       description="Train one model. Flags override the config file; the complete config is saved "
                                   "as RUN/config.toml, so `gaitsae train --config RUN/config.toml --out RUN2` reruns it.")
    p.add_argument("--data", help="data directory (default: the config's data.path)")
    p.add_argument("--model", choices=MODEL_NAMES, help="model (default: the config's, else topk)")
    p.add_argument("--out", required=True, help="run directory to write (new, or an existing run with "
                                                "--resume or --overwrite)")
    p.add_argument("--config", help="TOML or JSON config file")
    add_selection_options(p)
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from OUT/checkpoint")
    add_overwrite_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def build_config(args):
    from gaitsae.training.config import config_from_dict, config_to_dict, load_config, replace
    from gaitsae.training.rundir import absolute_paths

    config = load_config(args.config) if args.config else config_from_dict({})
    changes: dict = {}
    if args.data:
        changes.setdefault("data", {})["path"] = str(args.data)
    channels, sides = selection(args)
    if channels:
        changes.setdefault("data", {})["channels"] = list(channels)
    if args.sides:
        changes.setdefault("data", {})["sides"] = list(sides)
    if args.epochs is not None:
        changes.setdefault("training", {})["epochs"] = args.epochs
    if args.seed is not None:
        changes.setdefault("training", {})["seed"] = args.seed
    config = replace(config, **changes)
    if args.model and args.model != config.model_name:
        config = config_from_dict({**config_to_dict(config), "model": {"name": args.model}})
    if not config.data.path:
        raise ConfigError("no data: give --data DIR or data.path in the config")
    return replace(config, data={"path": absolute_paths(config.data.path)})


def run(args) -> int:
    from gaitsae import outdir
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE

    config = build_config(args)
    out = Path(args.out)
    if args.resume and args.overwrite:
        raise ConfigError("--resume continues OUT, --overwrite replaces it: give one of them")
    if args.resume and not (out / "checkpoint").exists():
        raise ConfigError(f"--resume: {out}/checkpoint does not exist")
    dataset = load_dataset(config.data.path.split(","), channels=config.data.channels, sides=config.data.sides)
    # A resumed run continues in place (its checkpoint is checked against this config and data);
    # a new run is refused on a non-empty directory, and --overwrite builds it beside the old one.
    claim = (outdir.filling(out, "run", trusted=True) if args.resume else
             outdir.replacing(out, "run", overwrite=args.overwrite, own_ok=False, resumable=True))
    with claim as where:
        est = GaitSAE.from_config(config, progress=not args.quiet).fit(dataset, run_dir=where, resume=args.resume)
    m = est.metrics_
    print(f"{config.model_name}: test fvu {m['fvu']:.4f} (time domain), r2_time "
          + ", ".join(f"{k} {v:.3f}" for k, v in m["r2_time"].items())
          + f", L0 {m['l0']:.1f}, silent {m['dead_fraction']:.0%}, low contribution "
          f"{m['low_contribution_fraction']:.0%}, best epoch {m['best_epoch'] + 1} of {m['epochs_run']} → {out}")
    if dataset.synthetic:
        print("(SYNTHETIC phantom data)")
    return 0
