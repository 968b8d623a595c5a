"""Shared figure styling and provenance stamping."""

from __future__ import annotations

import zlib
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

FONT = "Inter, Helvetica Neue, Arial, sans-serif"
BLUE, RED, GREY = "#2b6cb0", "#c53030", "#718096"

#: The app's one diverging convention: blue at the negative end, white at 0, red at the positive end
#: (Plotly's RdBu_r), symmetric about 0. A colour bar never relies on it silently: its title says what
#: both ends mean (:func:`diverging_colorbar`). For gene effects negative is more essential, so blue
#: means "more essential" and red "less essential" everywhere, the tree included.
DIVERGING = "RdBu_r"

#: Lineage colours: 36 colours picked greedily for the largest smallest CIELAB distance (Glasbey et al.
#: 2007) from an sRGB grid, lightness 32-80, chroma 25-75, away from the white background, the app's grey
#: and black text; first Plotly's blue. Any two differ by CIELAB ΔE > 23.
LINEAGE_PALETTE = (
    "#1f77b4", "#d26900", "#4ba51e", "#d20078", "#692da5", "#00d2b4", "#695a1e", "#ffa5ff", "#ff9696",
    "#e1c32d", "#a5001e", "#00694b", "#873c5a", "#b4c387", "#00d2ff", "#6987ff", "#d2965a", "#00e187",
    "#b4c3ff", "#9669b4", "#005a00", "#78870f", "#964b2d", "#ff4b69", "#004ba5", "#4ba5a5", "#c387a5",
    "#d25ad2", "#ff78b4", "#b4d25a", "#871e78", "#4ba569", "#ff785a", "#4b4b78", "#b48700", "#3cb4ff",
)
#: DepMap's lineages (OncotreeLineage) and the demo's, roughly most screened first: each owns the palette
#: colour of its position, on every figure and page, whatever else a figure shows.
KNOWN_LINEAGES = (
    "Lung", "Haematopoietic", "CNS/Brain", "Skin", "Breast", "Bowel", "Esophagus/Stomach", "Ovary/Fallopian Tube",
    "Pancreas", "Head and Neck", "Kidney", "Bone", "Soft Tissue", "Prostate", "Uterus", "Liver",
    "Bladder/Urinary Tract", "Peripheral Nervous System", "Biliary Tract", "Thyroid", "Pleura", "Cervix", "Eye",
    "Lymphoid", "Myeloid", "Fibroblast", "Adrenal Gland", "Ampulla of Vater", "Testis", "Vulva/Vagina",
    "Normal", "Other",
)
_KNOWN_COLOUR = {name.casefold(): LINEAGE_PALETTE[i] for i, name in enumerate(KNOWN_LINEAGES)}
#: Ordered categories (CV folds, DKO clusters) take the same palette in order; named ones (model types, cell
#: groups) go through :func:`lineage_colours`, so a name keeps its colour across figures.
QUALITATIVE = LINEAGE_PALETTE


def diverging_colorbar(quantity: str, negative: str, positive: str, **extra: Any) -> dict[str, Any]:
    """A :data:`DIVERGING` colour bar whose title names the quantity and what its red and blue ends mean."""
    meaning = f"<span style='font-size:11px'>red: {positive}<br>blue: {negative}</span>"
    return {**extra, "title": {**extra.get("title", {}), "text": f"{quantity}<br>{meaning}"}}


def lineage_colours(names) -> dict[str, str]:
    """A colour per lineage name: the fixed colour of a known lineage (:data:`KNOWN_LINEAGES`); another
    name a stable hash of it into :data:`LINEAGE_PALETTE`, moved on to the next colour no other name of
    ``names`` has (so the names of one figure never share a colour while the palette lasts)."""
    names = sorted({str(n) for n in names})
    colours = {n: _KNOWN_COLOUR[n.casefold()] for n in names if n.casefold() in _KNOWN_COLOUR}
    taken = set(colours.values())
    for name in (n for n in names if n not in colours):
        start = zlib.crc32(name.encode())
        free = [LINEAGE_PALETTE[(start + k) % len(LINEAGE_PALETTE)] for k in range(len(LINEAGE_PALETTE))]
        colours[name] = next((c for c in free if c not in taken), free[0])
        taken.add(colours[name])
    return colours


# Every figure of the app uses this template. As Plotly's default it is set
# when a figure is created, unvalidated; passing it to update_layout instead
# validates a copy each time, most of the cost of building a small figure.
pio.templates.default = "plotly_white"


#: Above this many points a scatter is drawn with WebGL. Below it SVG is faster: every WebGL plot opens a
#: graphics context of its own, which takes a browser without a GPU about a second, and a page has several.
WEBGL_MIN_POINTS = 5000


def scatter_type(n_points: int):
    """``go.Scatter`` for a few thousand points, ``go.Scattergl`` beyond (see :data:`WEBGL_MIN_POINTS`)."""
    return go.Scattergl if n_points > WEBGL_MIN_POINTS else go.Scatter


def base_layout(fig: go.Figure, *, title: str, x_title: str | None = None, y_title: str | None = None) -> go.Figure:
    """Readable defaults: white background, 13-14 px text, light grid."""
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 16}},
        font={"family": FONT, "size": 13, "color": "#1a202c"},
        margin={"l": 70, "r": 30, "t": 60, "b": 60},
        legend={"font": {"size": 12}},
        hoverlabel={"font": {"family": FONT}},
    )
    if x_title is not None:
        fig.update_xaxes(title_text=x_title)
    if y_title is not None:
        fig.update_yaxes(title_text=y_title)
    return fig


def reference_line(fig: go.Figure, *, x: float | None = None, y: float | None = None, color: str = GREY,
                   dash: str | None = None, width: float = 1, label: str | None = None,
                   label_above: bool = False) -> go.Figure:
    """A vertical (``x``) or horizontal (``y``) line across the plot, optionally labelled at its start.

    What ``add_hline``/``add_vline`` draw, at a fraction of their cost.
    """
    line = {"color": color, "width": width, **({"dash": dash} if dash else {})}
    if y is not None:
        fig.add_shape(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=y, y1=y, line=line)
        if label:
            fig.add_annotation(text=label, xref="x domain", x=0, yref="y", y=y, xanchor="left",
                               yanchor="bottom" if label_above else "top", showarrow=False, font={"size": 11})
    else:
        fig.add_shape(type="line", yref="y domain", y0=0, y1=1, xref="x", x0=x, x1=x, line=line)
        if label:
            fig.add_annotation(text=label, yref="y domain", y=1, xref="x", x=x, xanchor="left", yanchor="top",
                               showarrow=False, font={"size": 11})
    return fig


def stamp(fig: go.Figure, provenance: dict[str, Any]) -> go.Figure:
    """Attach provenance (read by the exporters) and mark simulated data.

    The mark is the title's subtitle, so it sits under the title at any width instead of over its end.
    """
    fig.update_layout(meta={**(fig.layout.meta or {}), "provenance": provenance})
    if provenance.get("simulated"):
        fig.update_layout(title_subtitle={"text": "Simulated demo data", "font": {"size": 11, "color": GREY}})
        fig.layout.margin.t = max(fig.layout.margin.t or 0, 76)
    return fig


def empty_figure(message: str) -> go.Figure:
    """A blank figure that says why it is blank."""
    fig = go.Figure()
    fig.update_layout(
        xaxis={"visible": False}, yaxis={"visible": False},
        annotations=[{"text": message, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                      "showarrow": False, "font": {"size": 15, "color": GREY}}],
        margin={"l": 20, "r": 20, "t": 20, "b": 20},
    )
    return fig


# --- CSV columns (read by dashboard.export.frames) ----------------------------------------------

def csv_columns(**columns: Any) -> dict[str, Any]:
    """A trace's ``meta`` naming its CSV columns, in order: ``column=source``.

    A source is one of the trace's drawn arrays (``"x"``, ``"y"``, ``"z"``,
    ``"text"``, ``"customdata"``, ``"customdata_0"``, ``"marker_color"``), or
    :func:`per_trace`, :func:`per_point`, :func:`per_row`, :func:`per_col`.
    Name columns after what they hold, with units where they have one.
    """
    return {"csv": [[name, source] for name, source in columns.items()]}


def _plain(values) -> list:
    return [v.item() if hasattr(v, "item") else v for v in values]


def per_trace(value: Any) -> dict[str, Any]:
    """One value for every row of the trace (its lineage, split, model...)."""
    return {"value": _plain([value])[0]}


def per_point(values) -> dict[str, Any]:
    """One value per drawn point, for what the figure shows only as text (keep it short)."""
    return {"values": _plain(values)}


def per_row(values) -> dict[str, Any]:
    """A heatmap's value per row (clean row names, row counts)."""
    return {"rows": _plain(values)}


def per_col(values) -> dict[str, Any]:
    """A heatmap's value per column."""
    return {"cols": _plain(values)}


def split_counts(labels) -> tuple[list[str], list[int | None]]:
    """Axis labels such as ``"Lung (n = 103)"`` as clean names and counts (None where a label has none)."""
    import re

    names, counts = [], []
    for label in map(str, labels):
        match = re.fullmatch(r"(.*?)\s*\(n\s*=\s*([\d,]+)\)", label)
        names.append(match.group(1) if match else label)
        counts.append(int(match.group(2).replace(",", "")) if match else None)
    return names, counts
