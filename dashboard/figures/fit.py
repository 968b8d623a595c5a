"""Figures laid out to their content: what a builder declares, and how an export box is filled from it.

A builder says what in its figure grows with the data, in ``layout.meta["content"]`` (JSON, so it travels
with the figure through ``dcc.Graph`` to the export callback)::

    declare_content(fig, rows=40, row_label_chars=9)            # a heatmap or horizontal bars
    declare_content(fig, cols=24, col_label_chars=30)           # categories along x
    declare_content(fig, tree={"levels": 5, "leaves": 16, "label_chars": 14, "label_lines": 3})

Legend entries and the title are read from the figure itself. :func:`fit_figure` then lays the figure out
anew in an export box (a width, a base font size, optionally a fixed height): every font scaled from the
on-screen 13 px, the title wrapped to the width, the legend moved between title and plot, one row of
text per heatmap row (the height follows the rows unless the box fixes it) and a tree turned on its side
when its leaves do not fit across. Figures that declare nothing keep their aspect ratio.
"""

from __future__ import annotations

import base64
import copy
import re
import textwrap
from typing import Any

import numpy as np
import plotly.graph_objects as go

SCREEN_FONT = 13    # base_layout's font size: every explicit size in a figure is relative to it
CHAR_WIDTH = 0.6    # average glyph width / font size of the app's sans-serif fonts, rounded up
LINE = 1.3          # line height / font size
ROW = 1.45          # heatmap row or bar height / tick font size: a gap between neighbouring labels
FONT_KEYS = ("font", "tickfont", "textfont", "insidetextfont", "outsidetextfont")


def declare_content(fig: go.Figure, **content: Any) -> go.Figure:
    """Record how the figure's size grows with its content (see the module docstring)."""
    meta = dict(fig.layout.meta or {})
    meta["content"] = {**meta.get("content", {}), **content}
    fig.update_layout(meta=meta)
    return fig


def label_chars(labels) -> int:
    """The longest label's length in characters (HTML tags and line breaks aside)."""
    return max((max(map(len, re.split(r"<br>", re.sub(r"<(?!br>)[^>]+>", "", str(s))))) for s in labels),
               default=0)


def _text_width(chars: int, size: float) -> float:
    return chars * CHAR_WIDTH * size


def _scale_fonts(node: Any, factor: float) -> None:
    """Multiply every explicit font size in a figure dict by ``factor``, in place."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in FONT_KEYS and isinstance(value, dict) and isinstance(value.get("size"), (int, float)):
                value["size"] = round(value["size"] * factor, 1)
            _scale_fonts(value, factor)
    elif isinstance(node, list):
        for item in node:
            _scale_fonts(item, factor)


def wrap_title(text: str, width_px: float, size: float) -> tuple[str, int]:
    """A title broken into lines that fit ``width_px``; also the number of lines."""
    per_line = max(10, int(width_px / (CHAR_WIDTH * size)))
    lines = [part for line in re.split(r"<br>", text) for part in (textwrap.wrap(line, per_line) or [""])]
    return "<br>".join(lines), len(lines)


def _axes(layout: dict, letter: str) -> list[str]:
    return [key for key in layout if re.fullmatch(letter + r"axis\d*", key)] or [letter + "axis"]


def _legend_entries(fig: dict) -> list[str]:
    if (fig["layout"].get("showlegend") is False):
        return []
    shown = [t for t in fig["data"] if t.get("showlegend", True) and t.get("name")
             and t.get("type") not in ("heatmap", "histogram2d", "contour")]
    return [str(t["name"]) for t in shown] if len(shown) > 1 or any("showlegend" in t for t in shown) else []


def _values(array: Any) -> list:
    """A trace's coordinates as a list, whether a list, an array or Plotly's JSON typed array (base64)."""
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def _transpose_tree(fig: dict) -> None:
    """Draw a top-down tree (x = leaf order, y = -depth) left to right (x = depth, y = leaf order)."""
    for trace in fig["data"]:
        xs, ys = trace.get("x"), trace.get("y")
        if xs is None or ys is None:
            continue
        trace["x"] = [None if y is None else -y for y in _values(ys)]
        trace["y"] = _values(xs)
        if trace.get("textposition") == "bottom center":
            trace["textposition"] = "middle right"
        colorbar = (trace.get("marker") or {}).get("colorbar")
        if colorbar is not None:  # below the tree: the leaf labels need the right edge
            trace["marker"]["colorbar"] = {**colorbar, "orientation": "h", "y": -0.01, "yanchor": "top",
                                           "x": 0, "xanchor": "left", "len": 0.6, "thickness": 12,
                                           "title": {**colorbar.get("title", {}), "side": "top"}}
    depth = max((x for trace in fig["data"] for x in (trace.get("x") or []) if x is not None), default=0)
    layout = fig["layout"]
    layout["xaxis"] = {**layout.get("xaxis", {}), "visible": False, "range": [-0.5, depth + 1.0]}
    layout["yaxis"] = {**layout.get("yaxis", {}), "visible": False, "autorange": "reversed", "range": None}


def fit_figure(fig: dict, width: int, font: float, height: int | None = None) -> dict:
    """A copy of a figure dict laid out anew for a box ``width`` px wide with a ``font`` px base size.

    Parameters
    ----------
    fig : dict
        The figure (``Figure.to_plotly_json()`` or a ``dcc.Graph`` figure).
    width : int
        Canvas width in CSS px.
    font : float
        Base font size in CSS px (the on-screen figures use 13).
    height : int, optional
        A fixed canvas height (a slide); by default it follows the content.

    Returns
    -------
    dict
        The figure with ``width``, ``height``, margins and fonts set.
    """
    fig = copy.deepcopy(fig)
    fig.setdefault("data", [])
    layout = fig.setdefault("layout", {})
    content = (layout.get("meta") or {}).get("content") or {}
    own_w, own_h = layout.get("width"), layout.get("height")
    factor = font / SCREEN_FONT
    _scale_fonts(fig, factor)
    layout.setdefault("font", {})["size"] = font

    title = layout.get("title") or {}
    title_size = (title.get("font") or {}).get("size") or font * 16 / 13
    lines = 0
    if title.get("text"):
        title["text"], lines = wrap_title(title["text"], width - 20, title_size)
        title.update({"x": 0.01, "xanchor": "left", "y": 1, "yanchor": "top", "yref": "container",
                      "pad": {"t": round(font)}})
    subtitle = (title.get("subtitle") or {}).get("text")
    top = round(font + lines * title_size * LINE + (font * LINE if subtitle else 0) + font * 0.8)

    legend = _legend_entries(fig)
    legend_h = 0.0
    legend_size = font * 12 / 13
    if legend:
        entry_w = [_text_width(len(name), legend_size) + 40 for name in legend]
        rows, used = 1, 0.0
        for w in entry_w:
            if used and used + w > width - 20:
                rows, used = rows + 1, 0.0
            used += w
        legend_h = rows * legend_size * 1.9 + 4
    margin = layout.setdefault("margin", {})
    margin.update({"t": round(top + legend_h + font * 0.8), "r": max(margin.get("r", 30) * factor, font),
                   "l": max(margin.get("l", 70) * factor, font), "b": max(margin.get("b", 60) * factor, font)})
    for axis in _axes(layout, "x") + _axes(layout, "y"):
        spec = layout.setdefault(axis, {})
        spec["automargin"] = True
        axis_title = spec.get("title") if isinstance(spec.get("title"), dict) else None
        if axis_title and axis_title.get("text"):
            lo, hi = spec.get("domain") or (0, 1)
            axis_title["text"] = wrap_title(axis_title["text"], width * 0.6 * (hi - lo), font)[0]

    tree = content.get("tree")
    rows = content.get("rows")
    if tree:
        height = height or _fit_tree(fig, tree, width, font, margin)
    elif rows and rows <= 60:
        share = content.get("row_share", 1.0)  # the part of the plot height the rows have (a subplot's)
        tick = font
        body = max(rows * tick * ROW, 10 * font * share) / share  # a colour bar needs about 10 lines
        if height:  # a fixed box: shrink the row labels to fit, never below 8 px
            tick = max(8.0, min(font, (height - margin["t"] - margin["b"] - 3 * font) * share / (rows * ROW)))
        for axis in content.get("row_axes") or _axes(layout, "y"):
            layout[axis].update({"dtick": 1, "tickfont": {**layout[axis].get("tickfont", {}), "size": tick}})
        cols, col_chars = content.get("cols") or 0, content.get("col_label_chars") or 0
        bottom = margin["b"]
        if cols:
            has_bar = any(t.get("type") == "heatmap" and t.get("showscale", True) for t in fig["data"])
            plot_w = (width - margin["l"] - margin["r"] - _text_width(content.get("row_label_chars", 8), tick)
                      - (5 * font if has_bar else 0))
            upright = cols * font * ROW > plot_w
            col_tick = max(7.0, min(font, plot_w / (cols * 1.15))) if upright else font
            for axis in _axes(layout, "x"):
                layout[axis].update({"dtick": 1, "tickangle": -90 if upright else layout[axis].get("tickangle", 0),
                                     "tickfont": {**layout[axis].get("tickfont", {}), "size": col_tick}})
            bottom = max(bottom, _text_width(col_chars, col_tick) + 3 * font if upright else 4 * font)
        height = height or round(margin["t"] + bottom + body + font)
    if legend:
        layout["legend"] = {**layout.get("legend", {}), "orientation": "h", "x": 0, "xanchor": "left",
                            "yref": "container", "yanchor": "top"}
    if not height:
        aspect = own_h / own_w if own_w and own_h else 4.5 / 7
        height = max(round(width * aspect), round(margin["t"] + margin["b"] + 0.45 * width))  # a plot left
    if legend:
        layout["legend"]["y"] = 1 - (top + font * 0.2) / height
    layout.update({"width": width, "height": height})
    return fig


def _fit_tree(fig: dict, tree: dict, width: int, font: float, margin: dict) -> int:
    """The canvas height for a tree, turning it on its side when its leaves do not fit across."""
    levels, leaves = tree["levels"], tree["leaves"]
    label_w = _text_width(tree.get("label_chars", 12), font * 11 / 13) + font
    # a level's gap holds the split labels above its nodes and the leaf labels (two lines) below the last
    block_h = (tree.get("label_lines", 3) + 2.6) * font * 11 / 13 * LINE
    plot_w = width - margin["l"] - margin["r"] - 8 * font  # the colour bar takes about 8 font sizes
    if leaves * label_w <= plot_w * 1.8:  # split labels sit half-way between leaves: twice the room
        return round(margin["t"] + margin["b"] + levels * (block_h + 26) + 3 * font)
    _transpose_tree(fig)
    # on its side a leaf needs one row: its own label (two lines) and half a split label beside it
    margin["b"] += 6 * font  # the colour bar
    return round(margin["t"] + margin["b"] + leaves * max(block_h * 0.7, 30))


def declare_grid(fig: go.Figure, rows=(), cols=()) -> go.Figure:
    """Declare a figure's categorical rows (heatmap rows, horizontal bars) and columns by their labels."""
    rows, cols = list(rows), list(cols)
    content = {}
    if rows:
        content.update(rows=len(rows), row_label_chars=label_chars(rows))
    if cols:
        content.update(cols=len(cols), col_label_chars=label_chars(cols))
    return declare_content(fig, **content)
