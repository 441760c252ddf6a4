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
