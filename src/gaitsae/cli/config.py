"""`gaitsae config --print [--model M]`: the default run config, as a file to start from."""

from __future__ import annotations

from gaitsae.cli.options import DEFAULT_MODEL, MODEL_NAMES


def add_parser(sub) -> None:
    p = sub.add_parser("config", help="print the default run config (TOML)",
                       description="Print every config key with its default value, ready to edit and pass to "
                                   "`gaitsae train --config FILE`.")
    p.add_argument("--print", action="store_true", dest="show", help="print the default config (the only action)")
    p.add_argument("--model", type=str.lower, choices=MODEL_NAMES, default=DEFAULT_MODEL,
                   help=f"model whose hyperparameters to include (default {DEFAULT_MODEL})")
    p.set_defaults(handler=run)


def run(args) -> int:
    from gaitsae.training.config import config_to_toml, default_config

    print(config_to_toml(default_config(args.model), explain_zeros=True), end="")
    return 0
