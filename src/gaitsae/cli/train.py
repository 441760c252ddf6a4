"""`gaitsae train`: train one model on a data directory into a run directory.

Precedence: flags > the --config file > defaults. A flag that changes a value the config file
sets is reported; a config key that does not apply to the model chosen by --model is
an error (it would otherwise be dropped silently).
"""

from __future__ import annotations

from pathlib import Path

from gaitsae.cli.options import DEFAULT_MODEL, MODEL_NAMES, add_overwrite_option, add_selection_options, selection
from gaitsae.errors import ConfigError

# flag attribute -> the config key it sets
FLAG_KEYS = {
    "data": "data.path", "model": "model.name", "n_latents": "model.n_latents", "k": "model.k",
    "n_scaffold": "model.n_scaffold",
    "epochs": "training.epochs", "batch_size": "training.batch_size", "learning_rate": "training.learning_rate",
    "patience": "training.patience", "seed": "training.seed", "device": "training.device",
}


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a sparse autoencoder; writes a run directory",
                       description="Train one model. Flags override the config file, which overrides the defaults "
                                   "(`gaitsae config --print` shows them); the complete config is saved as "
                                   "RUN/config.toml, so `gaitsae train --config RUN/config.toml --out RUN2` reruns it.")
    p.add_argument("--data", help="data directory (default: the config's data.path)")
    p.add_argument("--model", type=str.lower, choices=MODEL_NAMES,
                   help=f"model (default: the config's, else {DEFAULT_MODEL})")
    p.add_argument("--out", required=True, help="run directory to write (new, or an existing run with "
                                                "--resume or --overwrite)")
    p.add_argument("--config", help="TOML or JSON config file (sections data, features, model, training)")
    add_selection_options(p)
    p.add_argument("--n-latents", type=int, dest="n_latents", help="dictionary size (model.n_latents)")
    p.add_argument("--k", type=int, help="active latents per stance, for TopK-style models (model.k)")
    p.add_argument("--n-scaffold", type=int, dest="n_scaffold",
                   help="dense scaffold components, for the scaffold model (model.n_scaffold)")
    p.add_argument("--epochs", type=int, help="at most this many epochs (training.epochs)")
    p.add_argument("--batch-size", type=int, dest="batch_size", help="stances per step (training.batch_size)")
    p.add_argument("--learning-rate", "--lr", type=float, dest="learning_rate", help="Adam step size (training.learning_rate)")
    p.add_argument("--patience", type=int, help="epochs without validation improvement before stopping (training.patience)")
    p.add_argument("--seed", type=int, help="random seed of the split, initialisation and batches (training.seed)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="where to train (training.device)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from OUT/checkpoint (its config is taken from the checkpoint "
                        "unless --config is given)")
    add_overwrite_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(handler=run)


def build_config(args):
    """The run config from --config and the flags, flags winning (reported when they change a
    value the file sets)."""
    from gaitsae.training.config import config_from_dict, read_config_mapping, replace
    from gaitsae.training.rundir import absolute_paths

    mapping = read_config_mapping(args.config) if args.config else _checkpoint_mapping(args)
    channels, sides = selection(args)
    given = {key: getattr(args, attr) for attr, key in FLAG_KEYS.items() if getattr(args, attr, None) is not None}
    if channels:
        given["data.channels"] = list(channels)
    if sides:
        given["data.sides"] = list(sides)
    if "data.path" in given:
        given["data.path"] = str(given["data.path"])
    changed = []
    for key, value in given.items():
        section, name = key.split(".")
        old = mapping.get(section, {}).get(name)
        if old is not None and old != value:
            changed.append(f"{key} {old!r} -> {value!r}")
        mapping.setdefault(section, {})[name] = value
    if changed:
        print(f"flags override {args.config}: " + ", ".join(changed))
    try:
        config = config_from_dict(mapping)
    except ConfigError as exc:
        if args.model and args.config and str(exc).startswith("unknown key model."):
            key = str(exc).split()[2]
            raise ConfigError(f"{args.config} sets {key}, which {args.model} does not have; remove it or drop --model") from None
        raise ConfigError(f"{args.config}: {exc}" if args.config else str(exc)) from None
    if not config.data.path:
        raise ConfigError("no data: give --data DIR or data.path in the config")
    return replace(config, data={"path": absolute_paths(config.data.path)})


def _checkpoint_mapping(args) -> dict:
    """With --resume and no --config, the config the interrupted run was started with."""
    from gaitsae.training import checkpoint

    path = Path(args.out) / "checkpoint" / checkpoint.FILE
    if not (args.resume and path.is_file()):
        return {}
    return {section: dict(values) for section, values in checkpoint.load_state(path)["config"].items()}


def run(args) -> int:
    from gaitsae import outdir
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE
    from gaitsae.training.rundir import RUN_FILES

    config = build_config(args)
    out = Path(args.out)
    if args.resume and args.overwrite:
        raise ConfigError("--resume continues OUT, --overwrite replaces it: give one of them")
    if args.resume and not (out / "checkpoint").exists():
        raise ConfigError(f"--resume: {out}/checkpoint does not exist")
    # A resumed run continues in place (its checkpoint is checked against this config and data);
    # a new run is refused on a non-empty directory, and --overwrite builds it beside the old one.
    # The output is claimed before the data are read, so a refused --out costs no reading.
    claim = (outdir.filling(out, "run", trusted=True) if args.resume else
             outdir.replacing(out, "run", overwrite=args.overwrite, own_ok=False, resumable=True, names=RUN_FILES))
    with claim as where:
        dataset = load_dataset(config.data.path.split(","), channels=config.data.channels, sides=config.data.sides)
        est = GaitSAE.from_config(config, progress=not args.quiet).fit(dataset, run_dir=where, resume=args.resume)
    m = est.metrics_
    print(f"{config.model_name}: test fvu {m['fvu']:.4f} (time domain), r2_time "
          + ", ".join(f"{k} {v:.3f}" for k, v in m["r2_time"].items())
          + f", L0 {m['l0']:.1f}, silent {m['dead_fraction']:.0%}, low contribution "
          f"{m['low_contribution_fraction']:.0%}, " + (f"best epoch {m['best_epoch'] + 1} of {m['epochs_run']}" if m['best_epoch'] >= 0 else
                  f"no epoch of {m['epochs_run']} beat the untrained start: kept it") + f" → {out}")
    if dataset.synthetic:
        print("(SYNTHETIC phantom data)")
    return 0
