"""Matplotlib figures for the report: SVG with real text, so labels stay sharp and legible at
the size shown (the browser test measures them), and dense layers (scatter clouds, heatmaps)
rasterised inside the SVG so the file stays small.

Sizes are in points and the report shows every figure at its natural size (1 pt = 1/72 inch),
so MIN_FONT_PT is the smallest text a reader sees.
"""

from __future__ import annotations

import base64
import io
import re

import matplotlib
from PIL import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MIN_FONT_PT = 9
RASTER_DPI = 144  # rasterised layers inside an SVG, and PNG figures (hi-DPI)
STYLE = {
    "font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT, "legend.fontsize": MIN_FONT_PT, "figure.titlesize": 11,
    "svg.fonttype": "none", "svg.hashsalt": "gaitsae", "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"], "axes.spines.top": False, "axes.spines.right": False,
}
matplotlib.rcParams.update(STYLE)

# One colour per channel, used by every figure (and by the explorer).
CHANNEL_COLOURS = {"F_V": "#1f77b4", "F_AP": "#d62728", "F_ML": "#2ca02c", "COP_AP": "#9467bd", "COP_ML": "#8c564b"}
STANCE_LABEL = "% of stance"


def svg(fig) -> str:
    """The figure as inline SVG markup (text kept as text), closed after rendering."""
    out = io.StringIO()
    fig.savefig(out, format="svg", dpi=RASTER_DPI, bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = out.getvalue()
    text = text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE: the SVG is inlined in HTML
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
    # Inside attributes (coordinates, not the text shown), a tenth of a point is finer than a
    # screen pixel: shorter numbers, one line per path.
    return re.sub(r'="[^"]*"', lambda m: re.sub(r"\s*\n\s*", " ", re.sub(r"(\d+\.\d)\d+", r"\1", m.group(0))), text)


def png(fig) -> bytes:
    """Hi-DPI PNG bytes in a 128-colour palette (for images that leave the report)."""
    raw = io.BytesIO()
    fig.savefig(raw, format="png", dpi=RASTER_DPI, bbox_inches="tight")
    plt.close(fig)
    raw.seek(0)
    out = io.BytesIO()
    Image.open(raw).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
    return out.getvalue()


def png_uri(data: bytes) -> str:
    """PNG bytes as a data URI (figures are kept as text: SVG markup or this)."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def subplots(nrows=1, ncols=1, width=3.0, height=2.2, **kw):
    """A grid of axes [nrows, ncols]; width and height per panel, in inches. Constrained layout
    keeps titles, tick labels and offset texts of neighbouring panels from overlapping."""
    kw.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kw)


def stance_axis(ax, label: bool = True) -> None:
    """x from 0 to 100 % of stance, ticks every 25 %."""
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100])
    if label:
        ax.set_xlabel(STANCE_LABEL)


def svg_font_sizes(markup: str) -> list[float]:
    """Font sizes (pt) of the text in an SVG made by `svg` (for tests)."""
    return [float(s) for s in re.findall(r"font(?:-size)?:\s*([0-9.]+)px", markup)]
