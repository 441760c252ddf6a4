"""Matplotlib → PNG bytes, small and consistent (the report embeds them)."""

from __future__ import annotations

import io

import matplotlib
from PIL import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DPI = 72


def png(fig) -> bytes:
    """PNG bytes, reduced to a 128-colour palette: a report with dozens of figures stays a few
    MB (line plots and heatmaps lose nothing visible)."""
    raw = io.BytesIO()
    fig.savefig(raw, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    raw.seek(0)
    out = io.BytesIO()
    Image.open(raw).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
    return out.getvalue()


def subplots(nrows=1, ncols=1, width=3.0, height=2.2, **kw):
    """A grid of axes [nrows, ncols]; width and height per panel, in inches. Constrained layout
    keeps titles, tick labels and offset texts of neighbouring panels from overlapping."""
    kw.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kw)
