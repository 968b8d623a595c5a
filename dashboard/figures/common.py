"""Shared figure styling and provenance stamping."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

FONT = "Inter, Helvetica Neue, Arial, sans-serif"
BLUE, RED, GREY = "#2b6cb0", "#c53030", "#718096"
QUALITATIVE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#8c6d31",
    "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363",
]


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
