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

A canvas narrower than :data:`NARROW` (the 3.5-in column) also stacks a grid of subplots into one column,
lays its colour bars flat above the plot (a tree's always: its nodes need the width) and breaks row labels
longer than a third of the width over lines (tick text only: the data keep the full names).
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
NARROW = 500        # px: a canvas narrower than this stacks its subplots and lays its colour bars above the plot


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


def _colour_bars(fig: dict) -> list[dict]:
    """The colour bars a figure draws (a heatmap's unless ``showscale`` is off; a marker's when on)."""
    bars = []
    for trace in fig["data"]:
        if trace.get("type") in ("heatmap", "histogram2d", "contour") and trace.get("showscale", True):
            bars.append(trace.setdefault("colorbar", {}))
        marker = trace.get("marker") or {}
        if isinstance(marker.get("colorbar"), dict) and marker.get("showscale", True):
            bars.append(marker["colorbar"])
    return bars


def _lay_bars_flat(bars: list[dict], width: int, font: float) -> float:
    """Turn colour bars horizontal, above the plot (the caller sets their ``y``); the height they need.

    Beside the plot a bar with a two-line title takes a quarter of a narrow canvas that the columns of a
    heatmap or the nodes of a tree need; above it, it takes a few lines of height instead.
    """
    height = 0.0
    for bar in bars:
        title = bar.get("title") if isinstance(bar.get("title"), dict) else {"text": bar.get("title") or ""}
        size = (title.get("font") or {}).get("size") or font
        # plotly.js draws the second line of a flat bar's title into the bar: one line, the quantity
        # then what the ends mean, over a bar at least as long (the title is centred on it)
        title = {**title, "text": " · ".join((title.get("text") or "").split("<br>"))}
        lines = 1 if title["text"] else 0
        title_width = _text_width(len(re.sub(r"<[^>]+>", "", title["text"])), size)
        thickness = round(font * 0.8)
        bar.update({"orientation": "h", "xref": "container", "x": 10 / width, "xanchor": "left",
                    "yref": "container", "yanchor": "top",
                    "len": round(min(width - 20, max(min(0.6 * width, 20 * font), title_width))),
                    "lenmode": "pixels", "thickness": thickness, "title": {**title, "side": "top"}})
        # plotly.js spaces a colour bar title's lines wider than other text (about 1.6 font sizes)
        height = max(height, lines * max(size, 11) * 1.6 + thickness + font * 2.8)
    return height


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
    margin = layout.setdefault("margin", {})
    legend_size = ((layout.get("legend") or {}).get("font") or {}).get("size") or font * 12 / 13
    if legend:
        # a grid of equal entries (text + 45 px for the symbol), at most as wide as the plot area (plotly.js
        # wraps there); an entry is at least 16 px tall, whatever the font
        entry_w = _text_width(label_chars(legend), legend_size)
        plot_w = width - max(margin.get("l", 70) * factor, font) - max(margin.get("r", 30) * factor, font) - font
        per_row = max(1, int(plot_w // (entry_w + 45)))
        legend_h = -(-len(legend) // per_row) * (max(16.0, legend_size * LINE) + 5) + 8
        layout["legend"] = {**layout.get("legend", {}), "orientation": "h", "xref": "container", "x": 10 / width,
                            "xanchor": "left", "yref": "container", "yanchor": "top",
                            "entrywidth": round(entry_w), "entrywidthmode": "pixels"}
    bars = _colour_bars(fig) if width < NARROW or content.get("tree") else []
    bar_h = _lay_bars_flat(bars, width, font)
    margin = layout.setdefault("margin", {})
    margin.update({"t": round(top + legend_h + bar_h + font * 0.8), "r": max(margin.get("r", 30) * factor, font),
                   "l": max(margin.get("l", 70) * factor, font), "b": max(margin.get("b", 60) * factor, font)})

    tree = content.get("tree")
    rows = content.get("rows")
    row_axes = (content.get("row_axes") or _axes(layout, "y")) if rows and rows <= 60 else []
    for axis in row_axes + _axes(layout, "x"):
        layout.setdefault(axis, {})
    row_chars = content.get("row_label_chars", 8)
    row_h = ROW  # a row's height / its label's font size
    if row_axes and width < NARROW and _text_width(row_chars, font) > 0.32 * width:
        row_chars, lines = _wrap_row_labels(fig, row_axes, int(0.32 * width / (CHAR_WIDTH * font)))
        row_h = max(ROW, lines * LINE + 0.2)
    stacked = width < NARROW and _stack_subplots(fig, width, font, row_axes, row_h)
    if stacked:
        height = height or stacked
    if tree:
        height = height or _fit_tree(fig, tree, width, font, margin)
    elif row_axes:
        share = content.get("row_share", 1.0)  # the part of the plot height the rows have (a subplot's)
        tick = font
        body = max(rows * tick * row_h, 10 * font * share) / share  # a colour bar needs about 10 lines
        if height and not stacked:  # a fixed box: shrink the row labels to fit, never below 8 px
            tick = max(8.0, min(font, (height - margin["t"] - margin["b"] - 3 * font) * share / (rows * row_h)))
        for axis in row_axes:
            layout[axis].update({"dtick": 1, "tickfont": {**layout[axis].get("tickfont", {}), "size": tick}})
        cols, col_chars = content.get("cols") or 0, content.get("col_label_chars") or 0
        bottom = margin["b"]
        if cols:
            beside = any(t.get("type") == "heatmap" and t.get("showscale", True) for t in fig["data"]) and not bars
            plot_w = (width - max(margin["l"], _text_width(row_chars, tick) + font) - margin["r"]
                      - (5 * font if beside else 0))
            upright = cols * font * ROW > plot_w
            col_tick = max(7.0, min(font, plot_w / (cols * 1.15))) if upright else font
            for axis in _axes(layout, "x"):
                layout[axis].update({"dtick": 1, "tickangle": -90 if upright else layout[axis].get("tickangle", 0),
                                     "tickfont": {**layout[axis].get("tickfont", {}), "size": col_tick}})
            bottom = max(bottom, _text_width(col_chars, col_tick) + 3 * font if upright else 4 * font)
        height = height or round(margin["t"] + bottom + body + font)
    if not height:
        aspect = own_h / own_w if own_w and own_h else 4.5 / 7
        height = max(round(width * aspect), round(margin["t"] + margin["b"] + 0.45 * width))  # a plot left
    if bars:  # plotly.js may push the top margin past a flat bar and its title: leave the plot room for that
        height = max(height, round(margin["t"] + margin["b"] + max(2 * bar_h, 8 * font)))
    plot_h = height - margin["t"] - margin["b"]
    for axis in _axes(layout, "x") + _axes(layout, "y"):
        spec = layout.setdefault(axis, {})
        spec["automargin"] = True
        axis_title = spec.get("title") if isinstance(spec.get("title"), dict) else None
        if axis_title and axis_title.get("text"):  # wrapped to its subplot's width, or height for a y axis
            lo, hi = spec.get("domain") or (0, 1)
            along = width * 0.6 if axis.startswith("x") else plot_h * 0.9
            axis_title["text"] = wrap_title(axis_title["text"], along * (hi - lo), font)[0]
    if legend:
        layout["legend"]["y"] = 1 - (top + font * 0.2) / height
    for bar in bars:
        bar["y"] = 1 - (top + legend_h + font * 0.2) / height
    layout.update({"width": width, "height": height})
    return fig


def _categories(fig: dict, axis: str) -> list[str]:
    """The categories along a y axis: its ``tickvals`` when given, else its traces' y values in order."""
    spec = fig["layout"].get(axis) or {}
    if spec.get("tickvals") is not None:
        return [str(v) for v in _values(spec["tickvals"])]
    ref = "y" + axis[5:]
    values = [v for t in fig["data"] if t.get("yaxis", "y") == ref and t.get("y") is not None
              for v in _values(t["y"])]
    return list(dict.fromkeys(str(v) for v in values))


def _wrap_row_labels(fig: dict, axes: list[str], per_line: int) -> tuple[int, int]:
    """Break long row labels over lines (at spaces: every word kept); the new longest line and line count.

    Only the tick text changes (``tickvals`` stay the categories), so the data and the CSV keep full names.
    """
    longest, lines = 0, 1
    for axis in axes:
        cats = _categories(fig, axis)
        text = [textwrap.wrap(c, per_line, break_long_words=False, break_on_hyphens=False) or [c] for c in cats]
        fig["layout"][axis].update({"tickmode": "array", "tickvals": cats, "ticktext": ["<br>".join(t) for t in text]})
        longest = max([longest, *(len(line) for t in text for line in t)])
        lines = max([lines, *(len(t) for t in text)])
    return longest, lines


def _title_text(spec: dict) -> str:
    title = spec.get("title")
    return str((title.get("text") if isinstance(title, dict) else title) or "")


def _stack_subplots(fig: dict, width: int, font: float, row_axes: list[str], row_h: float) -> int | None:
    """Stack a grid of subplots side by side into one column (full width); the canvas height it needs.

    Panels keep their reading order (top to bottom, then left to right); a panel whose y axis holds declared
    rows gets one row of text per category, the others a plot 0.55 of the width tall. Subplot titles and
    other annotations placed in paper coordinates move with their panel; y axes shared across a row get
    their own tick labels and title back.
    """
    layout = fig["layout"]
    panels = []
    for xa in _axes(layout, "x"):
        ya = "yaxis" + str((layout.get(xa) or {}).get("anchor", "y"))[1:]
        if xa in layout and ya in layout and (layout[ya] or {}).get("anchor", "x") == "x" + xa[5:]:
            panels.append((xa, ya, tuple(layout[xa].get("domain") or (0, 1)), tuple(layout[ya].get("domain") or (0, 1))))
    if len({xd for _, _, xd, _ in panels}) < 2:
        return None
    panels.sort(key=lambda p: (-p[3][1], p[2][0]))
    margin = layout["margin"]
    plot_w = width - margin["l"] - margin["r"]
    heights = [max(len(_categories(fig, ya)) * font * row_h, 6 * font) if ya in row_axes
               else max(0.55 * plot_w, 8 * font) for _, ya, _, _ in panels]
    notes = [a for a in layout.get("annotations") or [] if a.get("xref") == "paper" and a.get("yref") == "paper"]
    title_size = max([(a.get("font") or {}).get("size") or font for a in notes] or [font])
    title_lines = max([len(re.split(r"<br>", str(a.get("text", "")))) for a in notes] or [0])
    titled = title_lines * title_size * LINE + 0.5 * font  # a subplot title above its panel
    x_titles = [wrap_title(_title_text(layout[xa]), width * 0.6, font)[1] if _title_text(layout[xa]) else 0
                for xa, _, _, _ in panels]
    gaps = [font * (3 + LINE * lines) + titled for lines in x_titles[:-1]]  # tick labels, x title, next title
    area = titled + sum(heights) + sum(gaps)
    height = round(margin["t"] + margin["b"] + area + font)
    frac = (height - margin["t"] - margin["b"]) or 1
    cursor, moves = titled, []
    for (xa, ya, xd, yd), h in zip(panels, heights):
        top, bottom = 1 - cursor / frac, 1 - (cursor + h) / frac
        moves.append((xd, yd, (0.0, 1.0), (bottom, top)))
        layout[xa]["domain"], layout[ya]["domain"] = [0.0, 1.0], [bottom, top]
        shared = layout[ya].get("matches")
        if shared:
            layout[ya]["showticklabels"] = True
            source = layout.get("yaxis" + shared[1:]) or {}
            if not layout[ya].get("title") and source.get("title"):
                layout[ya]["title"] = copy.deepcopy(source["title"])
        cursor += h + (gaps.pop(0) if gaps else 0)
    for note in notes:
        x, y = note.get("x", 0.5), note.get("y", 0.5)
        # its panel: the one whose x domain holds it and whose top is nearest above or at it
        for xd, yd, nxd, nyd in sorted(moves, key=lambda m: abs(y - min(max(y, m[1][0]), m[1][1]))):
            if xd[0] - 1e-6 <= x <= xd[1] + 1e-6:
                note["x"] = nxd[0] + (x - xd[0]) / ((xd[1] - xd[0]) or 1) * (nxd[1] - nxd[0])
                note["y"] = nyd[1] if y >= yd[1] else nyd[0] + (y - yd[0]) / ((yd[1] - yd[0]) or 1) * (nyd[1] - nyd[0])
                break
    return height


def _fit_tree(fig: dict, tree: dict, width: int, font: float, margin: dict) -> int:
    """The canvas height for a tree, turning it on its side when its leaves do not fit across."""
    levels, leaves = tree["levels"], tree["leaves"]
    label_w = _text_width(tree.get("label_chars", 12), font * 11 / 13) + font
    # a level's gap holds the split labels above its nodes and the leaf labels (two lines) below the last
    block_h = (tree.get("label_lines", 3) + 2.6) * font * 11 / 13 * LINE
    plot_w = width - margin["l"] - margin["r"]  # the colour bar lies above the tree
    if leaves * label_w <= plot_w * 1.8:  # split labels sit half-way between leaves: twice the room
        return round(margin["t"] + margin["b"] + levels * (block_h + 26) + 3 * font)
    _transpose_tree(fig)
    # on its side a leaf needs one row: its own label (two lines) and half a split label beside it
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
