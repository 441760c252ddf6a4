"""`gaitsae inspect DIR`: validate a directory in the Gutenberg/GaitRec layout and summarise it."""

from __future__ import annotations

from gaitsae.channels import SIDES
from gaitsae.cli.options import add_selection_options, selection
from gaitsae.data import load_dataset
from gaitsae.data.inspect import summarize


def add_parser(sub) -> None:
    p = sub.add_parser("inspect", help="validate a data directory and print what it holds",
                       description="Validate a Gutenberg/GaitRec directory; print subjects, sessions, trials, "
                                   "channels, sides and every problem found.")
    p.add_argument("data", nargs="+", help="directory (or directories, merged)")
    add_selection_options(p)
    p.add_argument("--no-cache", action="store_true", help="read the CSV files even if a cached copy exists")
    p.set_defaults(handler=run)


def run(args) -> int:
    channels, sides = selection(args)
    dataset = load_dataset(args.data, channels=channels, sides=sides or SIDES, cache=not args.no_cache)
    print(summarize(dataset))
    return 0
