"""`gaitsae inspect DIR`: validate a directory in the Gutenberg/GaitRec layout and summarise it."""

from __future__ import annotations

from pathlib import Path

from gaitsae.channels import SIDES
from gaitsae.cli.options import add_selection_options, selection


def add_parser(sub) -> None:
    p = sub.add_parser("inspect", help="validate a data directory and print what it holds",
                       description="Validate a Gutenberg/GaitRec directory; print subjects, sessions, trials, "
                                   "channels, sides and every problem found.")
    p.add_argument("data", nargs="+", help="directory (or directories, merged; with --stats: compared)")
    add_selection_options(p)
    p.add_argument("--no-cache", action="store_true", help="read the CSV files even if a cached copy exists")
    p.add_argument("--stats", action="store_true",
                   help="print calibration statistics (PCA residual spectrum, high-frequency share, "
                        "repeatability of classic GRF parameters) of each directory side by side with "
                        "the documented real targets")
    p.set_defaults(handler=run)


def run(args) -> int:
    from gaitsae.data import load_dataset
    from gaitsae.data.inspect import summarize
    from gaitsae.data.reader import present_sides

    channels, sides = selection(args)
    if sides is None:  # every side that has files; the summary says which
        sides = present_sides(args.data) or SIDES
        if sides != SIDES:
            print(f"only {', '.join(sides)}-side PRO files: reading side {', '.join(sides)} "
                  f"(train with --sides {','.join(sides)})")
    if not args.stats:
        print(summarize(load_dataset(args.data, channels=channels, sides=sides, cache=not args.no_cache)))
        return 0
    from gaitsae.data.stats import dataset_stats, format_stats

    named = {}
    for i, path in enumerate(args.data, 1):
        dataset = load_dataset(path, channels=channels, sides=sides, cache=not args.no_cache)
        print(summarize(dataset) + "\n")
        named[f"{i}: {Path(path).name}{' (SYNTHETIC)' if dataset.synthetic else ''}"] = dataset_stats(dataset)
    print(format_stats(named))
    return 0
