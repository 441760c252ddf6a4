"""Options that several subcommands share (one definition each)."""

from __future__ import annotations

from gaitsae.channels import CHANNELS, SIDES
from gaitsae.errors import GaitsaeError

# The names of gaitsae.models.MODELS and its DEFAULT_MODEL, without importing torch to list them in
# --help (a test checks they agree).
MODEL_NAMES = ("batchtopk", "jumprelu", "matryoshka", "sae", "sae-disent", "scaffold", "svae", "topk")
DEFAULT_MODEL = "scaffold"


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


PARQUET_KEY = b"gaitsae"  # schema metadata key that marks a Parquet table as gaitsae's output


def ours(path) -> bool:
    """True if `path` is a Parquet table gaitsae wrote (its schema metadata carries PARQUET_KEY)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return PARQUET_KEY in (pq.read_schema(path).metadata or {})
    except (OSError, pa.ArrowException):
        return False


def check_table_out(out, overwrite: bool, what: str = "table") -> None:
    """Before any work: refuse a table file gaitsae cannot tell it wrote (any CSV, a Parquet
    without its mark) unless --overwrite, a directory or device, and an extension that is neither
    .csv nor .parquet."""
    from pathlib import Path

    from gaitsae.errors import OutputError
    from gaitsae.fsio import TABLE_FORMATS

    out = Path(out)
    if out.exists() and not out.is_file():
        raise OutputError(f"{out}: exists and is not a regular file; give a file path")
    if out.is_file() and not overwrite and not ours(out):
        raise OutputError(f"{out}: exists and is not a gaitsae {what} output; choose another --out or pass --overwrite")
    if out.suffix.lower() not in TABLE_FORMATS:
        raise OutputError(f"{out}: --out must end in .csv or .parquet (the format is chosen by the extension)")

def write_table_out(path, table, overwrite: bool, what: str = "table", **kwargs) -> None:
    """Write a table output that check_table_out passed: atomically, under the file's lock (one
    writer at a time; the temporaries of a killed writer are removed first). kwargs: write_table's."""
    from gaitsae import outdir
    from gaitsae.fsio import write_table

    with outdir.output_file(path, ours, f"{what} output", overwrite=overwrite):
        write_table(path, table, **kwargs)
