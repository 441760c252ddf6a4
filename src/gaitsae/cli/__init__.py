"""The `gaitsae` command: a thin layer over the Python API.

Each subcommand lives in its own module of this package with two functions:
`add_parser(subparsers)`, which adds its parser and calls
`parser.set_defaults(handler=run)`, and `run(args) -> int` (the exit code). User errors (GaitsaeError) print one line
to stderr and exit 2, and so do OSErrors (a full disk); Ctrl-C exits 130; anything else is a bug and keeps
its traceback. Modules import torch, pandas, matplotlib … inside run(), so `gaitsae --help` starts at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from gaitsae import __version__
from gaitsae.errors import GaitsaeError

# Subcommand modules, in the order `gaitsae --help` lists them.
SUBCOMMANDS = (
    "demo",
    "phantom",
    "inspect",
    "download",
    "train",
    "encode",
    "analyze",
    "compare",
    "config",
    "stability",
    "truth",
    "sweep",
    "index",
    "serve",
    "deviations",
    "classify",
    "course",
    "whatif",
    "export",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gaitsae",
        description="Learn interpretable dictionaries of gait features (GRF/COP) with sparse autoencoders.",
    )
    parser.add_argument("--version", action="version", version=f"gaitsae {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"gaitsae.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"gaitsae.cli.{name}":
                continue  # subcommand not built yet
            raise
        module.add_parser(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except GaitsaeError as exc:
        print(f"gaitsae {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, no permission, …: the environment, not a gaitsae bug
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"gaitsae {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = f"; continue it with: gaitsae train --out {args.out} --resume" if args.command == "train" else ""
        print(f"gaitsae {args.command}: interrupted{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
