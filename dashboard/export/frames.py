"""Figure -> tidy numbers: one row per drawn point, bar or heatmap cell.

:func:`figure_to_frame` / :func:`figure_to_csv` accept a ``go.Figure`` or the
JSON dict a ``dcc.Graph`` ``figure`` State delivers.

The app's figure builders name their CSV columns: each trace that holds data
carries ``meta={"csv": [[column, source], ...]}`` (see
``dashboard.figures.common.csv_columns``), where a source is one of the
trace's drawn arrays (``"x"``, ``"y"``, ``"z"``, ``"text"``,
``"customdata_1"``, ``"marker_color"``...), ``{"value": v}`` (one value for the
whole trace), ``{"values": [...]}`` (one per point) or, for heatmaps,
``{"rows": [...]}`` / ``{"cols": [...]}`` (one per row / column of the grid).
The numbers still come from the drawn arrays, so the CSV is what is drawn.
Traces without a spec (reference lines, branches) are left out of such a
figure's CSV. Figures without any spec get the generic ``trace, type, x, y``
columns: a fallback for foreign figures, which a test forbids for ours.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

#: Trace types drawn as a grid of cells (z is 2-D, x labels columns, y rows).
GRID_TYPES = frozenset({"heatmap", "contour"})
#: Per-point coordinate keys, in output column order.
POINT_KEYS = ("x", "y", "z", "r", "theta", "a", "b", "c", "lat", "lon",
              "open", "high", "low", "close", "ids", "labels", "parents", "values")
#: Types where plotly.js fills a missing x (or y) with x0 + i * dx.
IMPLICIT_COORD_TYPES = frozenset({"scatter", "scattergl", "bar"})

# plotly.js typed-array dtypes ("u1c" is Uint8ClampedArray); data is little-endian.
_TYPED_ARRAY_DTYPES = {"i1": "i1", "u1": "u1", "u1c": "u1", "i2": "<i2", "u2": "<u2",
                       "i4": "<i4", "u4": "<u4", "f4": "<f4", "f8": "<f8"}


def _decode_array(value: Any) -> np.ndarray | None:
    """Turn any plotly data-array encoding into a numpy array (None if absent).

    Handles plain lists, numpy arrays, plotly's binary spec
    ``{"dtype": "f8", "bdata": "...", "shape": "2, 3"}`` and the
    ``{"0": v0, "1": v1, ...}`` objects a typed array becomes after
    ``JSON.stringify`` in the browser. Scalars return None (they are not data).
    """
    if value is None or isinstance(value, (str, bytes, int, float, bool)):
        return None
    if isinstance(value, Mapping):
        if "bdata" in value and "dtype" in value:
            dtype = _TYPED_ARRAY_DTYPES.get(str(value["dtype"]))
            if dtype is None:
                raise ValueError(f"unsupported plotly typed-array dtype {value['dtype']!r}")
            arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=dtype)
            shape = value.get("shape")
            if shape:
                dims = shape.split(",") if isinstance(shape, str) else shape
                arr = arr.reshape([int(d) for d in dims])
            return arr.astype(arr.dtype.newbyteorder("="))
        if value and all(str(k).isdigit() for k in value):  # a stringified typed array
            return np.asarray([value[k] for k in sorted(value, key=int)])
        return None
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)):
        items = [_decode_array(v) if isinstance(v, Mapping) else v for v in value]
        if items and all(isinstance(v, (list, tuple, np.ndarray)) for v in items):
            return _ragged_to_2d(items)
        return np.asarray(items, dtype=object) if _mixed(items) else np.asarray(items)
    if hasattr(value, "__array__"):  # pandas objects and the like
        return np.asarray(value)
    return None


def _mixed(items: Sequence[Any]) -> bool:
    """True if a list mixes numbers with strings/None (numpy would stringify it)."""
    kinds = {isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in items}
    return len(kinds) > 1


def _ragged_to_2d(rows: Sequence[Any]) -> np.ndarray:
    """Stack rows of possibly unequal length, padding with NaN (plotly draws gaps)."""
    width = max(len(r) for r in rows)
    out = np.full((len(rows), width), np.nan, dtype=object)
    for i, row in enumerate(rows):
        out[i, : len(row)] = list(row)
    try:
        return out.astype(float)
    except (TypeError, ValueError):
        return out


def _as_figure_dict(fig: Mapping[str, Any] | go.Figure) -> dict[str, Any]:
    if isinstance(fig, go.Figure):
        return fig.to_dict()
    if isinstance(fig, Mapping):
        return dict(fig)
    raise TypeError(f"expected a plotly Figure or figure dict, got {type(fig).__name__}")


def _implicit_coord(trace: Mapping[str, Any], axis: str, n: int) -> np.ndarray:
    start, step = trace.get(f"{axis}0", 0), trace.get(f"d{axis}", 1)
    if isinstance(start, (int, float)) and isinstance(step, (int, float)):
        return start + step * np.arange(n)
    return np.arange(n)  # category or date start: fall back to positions


def _fit(values: np.ndarray, n: int) -> np.ndarray:
    """Truncate or NaN-pad a per-point array to n points."""
    values = np.asarray(values)
    if len(values) >= n:
        return values[:n]
    pad = np.full(n - len(values), np.nan, dtype=object)
    return np.concatenate([values.astype(object), pad])


def _point_columns(trace: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Columns for a per-point trace (bar, scatter, box, pie, ...)."""
    coords = {}
    for key in POINT_KEYS:
        arr = _decode_array(trace.get(key))
        if arr is not None and arr.ndim == 1:
            coords[key] = arr
    ttype = trace.get("type", "scatter")
    if ttype in IMPLICIT_COORD_TYPES:
        for have, missing in (("y", "x"), ("x", "y")):
            if have in coords and missing not in coords:
                coords[missing] = _implicit_coord(trace, missing, len(coords[have]))
        coords = {k: coords[k] for k in POINT_KEYS if k in coords}
    if not coords:
        return {}
    n = min(len(v) for v in coords.values())  # plotly.js draws the shortest
    if n == 0:
        return {}
    columns = {k: v[:n] for k, v in coords.items()}

    text = trace.get("text")
    if isinstance(text, str):
        columns["text"] = np.full(n, text, dtype=object)
    elif (arr := _decode_array(text)) is not None and arr.ndim == 1:
        columns["text"] = _fit(arr, n)
    custom = _decode_array(trace.get("customdata"))
    if custom is not None and custom.ndim == 1:
        columns["customdata"] = _fit(custom, n)
    elif custom is not None and custom.ndim == 2:
        for j in range(custom.shape[1]):
            columns[f"customdata_{j}"] = _fit(custom[:, j], n)
    marker = trace.get("marker") or {}
    for key in ("color", "size"):
        arr = _decode_array(marker.get(key))
        if arr is not None and arr.ndim == 1 and np.issubdtype(arr.dtype, np.number):
            columns[f"marker_{key}"] = _fit(arr, n)
    return columns


def _axis_labels(labels: np.ndarray | None, n: int, trace: Mapping[str, Any], axis: str) -> np.ndarray:
    """Cell labels along one heatmap axis: given labels, bin-edge centres or x0 + i*dx."""
    if labels is not None and len(labels) == n:
        return labels
    if labels is not None and len(labels) == n + 1 and np.issubdtype(labels.dtype, np.number):
        return (labels[:-1] + labels[1:]) / 2
    return _implicit_coord(trace, axis, n)


def _grid_columns(trace: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """One row per heatmap cell: x (column label), y (row label), z."""
    z = _decode_array(trace.get("z"))
    if z is None or z.size == 0:
        return {}
    if z.ndim == 1:
        z = z[np.newaxis, :]
    if trace.get("transpose"):
        z = z.T
    n_rows, n_cols = z.shape
    x = _axis_labels(_decode_array(trace.get("x")), n_cols, trace, "x")
    y = _axis_labels(_decode_array(trace.get("y")), n_rows, trace, "y")
    return {"x": np.tile(x, n_rows), "y": np.repeat(y, n_cols), "z": z.ravel()}


def _csv_spec(trace: Mapping[str, Any]) -> list | None:
    meta = trace.get("meta")
    return meta.get("csv") if isinstance(meta, Mapping) else None


def _named_columns(trace: Mapping[str, Any], spec: Sequence) -> pd.DataFrame | None:
    """One trace's rows under the column names of its spec (None if it draws nothing)."""
    grid = (trace.get("type") or "scatter") in GRID_TYPES
    drawn = _grid_columns(trace) if grid else _point_columns(trace)
    if any(isinstance(source, str) for _, source in spec):
        if not drawn:
            return None
        n = len(next(iter(drawn.values())))
    else:  # the spec holds its rows (an edge list beside the line segments drawing it)
        n = max((len(source["values"]) for _, source in spec if "values" in source), default=0)
        if n == 0:
            return None
    if grid:
        n_cols = _grid_width(trace)
        row_index, col_index = np.arange(n) // n_cols, np.arange(n) % n_cols
        for key in ("customdata", "text"):  # per-cell companions of z
            cells = _decode_array(trace.get(key))
            if cells is not None and cells.ndim == 2:
                cells = cells.T if trace.get("transpose") else cells
                if cells.size == n:
                    drawn[key] = cells.ravel()
    out = {}
    for name, source in spec:
        if isinstance(source, str):
            if source not in drawn:
                raise ValueError(f"CSV column {name!r}: the trace draws no {source!r}")
            out[name] = drawn[source]
        elif "value" in source:
            out[name] = [source["value"]] * n
        elif "values" in source:
            out[name] = _fit(np.asarray(source["values"], dtype=object), n)
        elif grid and "rows" in source:
            out[name] = np.asarray(source["rows"], dtype=object)[row_index]
        elif grid and "cols" in source:
            out[name] = np.asarray(source["cols"], dtype=object)[col_index]
        else:
            raise ValueError(f"CSV column {name!r}: unknown source {source!r}")
    return pd.DataFrame(out)


def _grid_width(trace: Mapping[str, Any]) -> int:
    z = _decode_array(trace.get("z"))
    if z is None or z.size == 0:
        return 1
    z = z[np.newaxis, :] if z.ndim == 1 else z
    return z.shape[0] if trace.get("transpose") else z.shape[1]


def has_named_columns(fig: Mapping[str, Any] | go.Figure) -> bool:
    """True if the figure names its CSV columns (see the module docstring)."""
    return any(_csv_spec(t) for t in _as_figure_dict(fig).get("data") or [])


def figure_to_frame(fig: Mapping[str, Any] | go.Figure) -> pd.DataFrame:
    """The numbers a figure draws, one row per point, bar or heatmap cell.

    Parameters
    ----------
    fig : dict or plotly.graph_objects.Figure
        A figure object, or the JSON dict a ``dcc.Graph`` ``figure`` State
        delivers (plain lists or plotly's base64 ``bdata`` arrays).

    Returns
    -------
    pandas.DataFrame
        Long/tidy table with columns ``trace`` (trace name, or ``"trace N"``)
        and ``type``, then the data columns present: ``x``, ``y`` (and any
        other per-point coordinates such as ``z`` or ``labels``/``values``/
        ``parents`` for pie and sunburst), ``text``, ``customdata`` (or
        ``customdata_0``, ``customdata_1``, ... when 2-D), ``marker_color``
        and ``marker_size`` when numeric arrays. Heatmaps and contours give one
        row per cell with ``x`` (column label), ``y`` (row label) and ``z``
        (empty cells kept as NaN). Traces that draw no data are skipped.

    A figure whose traces carry a CSV spec (see the module docstring) gets
    the columns its spec names instead, its traces' rows stacked (columns one
    trace lacks are left empty).

    Notes
    -----
    Histograms and box/violin plots export their raw samples: the bins and
    quartiles are computed by plotly.js in the browser, from exactly these
    numbers. Points missing an x (or y) on scatter and bar traces get the
    position plotly.js draws them at, ``x0 + i * dx`` (default 0, 1, 2, ...).
    """
    traces = _as_figure_dict(fig).get("data") or []
    if any(_csv_spec(t) for t in traces):
        named = [_named_columns(t, _csv_spec(t)) for t in traces if _csv_spec(t)]
        named = [f for f in named if f is not None]
        return pd.concat(named, ignore_index=True, sort=False) if named else pd.DataFrame()
    frames = []
    for i, trace in enumerate(traces):
        ttype = trace.get("type") or "scatter"
        columns = _grid_columns(trace) if ttype in GRID_TYPES else _point_columns(trace)
        if not columns:
            continue
        n = len(next(iter(columns.values())))
        name = trace.get("name")
        meta = {"trace": [name if name not in (None, "") else f"trace {i}"] * n, "type": [ttype] * n}
        frames.append(pd.DataFrame({**meta, **columns}))
    if not frames:
        return pd.DataFrame(columns=["trace", "type"])
    return pd.concat(frames, ignore_index=True, sort=False)


def figure_to_csv(fig: Mapping[str, Any] | go.Figure, provenance: Mapping[str, Any] | None = None) -> str:
    """CSV of exactly the numbers drawn (see :func:`figure_to_frame`), provenance in ``# `` lines on top.

    Parameters
    ----------
    fig : dict or plotly.graph_objects.Figure
        The figure.
    provenance : mapping, optional
        Where the numbers come from; default: the figure's
        ``layout.meta.provenance``. Without any, the CSV has no header lines.

    Returns
    -------
    str
        ``# Key: value`` lines (the keys of the PNG export's metadata: Title,
        Software, Source, Description, Comment, Creation Time, Warning), then
        the CSV with a header row. Strings are quoted, so a ``#`` inside a
        value is data: ``pandas.read_csv(path, comment="#")`` reads it back.
    """
    import csv

    fig_dict = _as_figure_dict(fig)
    if provenance is None:
        provenance = ((fig_dict.get("layout") or {}).get("meta") or {}).get("provenance")
    header = ""
    if provenance:
        from dashboard.export.provenance import png_text_from_provenance

        lines = png_text_from_provenance(provenance, fig_dict)
        header = "".join(f"# {key}: {' '.join(str(value).split())}\n" for key, value in lines.items())
    return header + figure_to_frame(fig_dict).to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC)


def rows_to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A table's rows as CSV: the given columns in order, numbers as stored, markdown links as their text.

    Parameters
    ----------
    rows : sequence of mappings
        Records as a table holds them (``rowData``).
    columns : sequence of str
        Column names, in order; a column a row lacks is left empty.

    Returns
    -------
    str
        CSV with a header row; floats written at full (round-trip) precision.
    """
    import re

    frame = pd.DataFrame(list(rows), columns=list(columns))
    link = re.compile(r"^\[([^\]]*)\]\([^)]*\)$")
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].map(lambda v: link.sub(r"\1", v) if isinstance(v, str) else v)
    return frame.to_csv(index=False)
