"""Options that several subcommands share (one definition each)."""

from __future__ import annotations

from gaitsae.channels import CHANNELS, SIDES
from gaitsae.errors import GaitsaeError

# The names of gaitsae.models.MODELS, without importing torch to list them in --help (a test
# checks the two agree).
MODEL_NAMES = ("batchtopk", "jumprelu", "matryoshka", "sae", "sae-disent", "scaffold", "svae", "topk")


def add_overwrite_option(parser) -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help="write even where files gaitsae did not write would be replaced")


def add_selection_options(parser) -> None:
    parser.add_argument("--channels", default=None,
                        help=f"comma-separated subset of {','.join(CHANNELS)} (default: all present)")
    parser.add_argument("--sides", default=None, help="comma-separated subset of left,right (default: both, or the config's)")


def names(text: str, known, what: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise GaitsaeError(f"--{what}: unknown {bad[0] if bad else 'empty'} (known: {','.join(known)})")
    return names


def selection(args):
    """(channels or None, sides or None) from --channels/--sides; None: not given."""
    channels = names(args.channels, CHANNELS, "channels") if args.channels else None
    return channels, names(args.sides, SIDES, "sides") if args.sides else None


def check_table_output(path, overwrite: bool) -> None:
    """Before any work: a table file must end in .csv or .parquet, and an existing file is
    replaced only with --overwrite (a CSV cannot say whether gaitsae wrote it)."""
    from pathlib import Path

    from gaitsae.errors import OutputError
    from gaitsae.fsio import TABLE_FORMATS

    path = Path(path)
    if path.suffix.lower() not in TABLE_FORMATS:
        raise OutputError(f"--out {path}: a table is written as .csv or .parquet, not "
                          f"{path.suffix or 'a name without extension'!r}")
    if path.exists() and not path.is_file():
        raise OutputError(f"--out {path}: exists and is not a regular file")
    if path.exists() and not overwrite:
        raise OutputError(f"--out {path}: exists; choose another file or pass --overwrite to replace it")
