"""Pure export helpers: figure -> tidy numbers (CSV), PNG/SVG with provenance.

No Dash callbacks live here (``dashboard.exports`` wires these to the buttons).

* :func:`figure_to_frame` / :func:`figure_to_csv` turn a figure, either a
  ``go.Figure`` or the JSON dict a ``dcc.Graph`` ``figure`` State delivers,
  into one row per drawn point, bar or heatmap cell.
* :func:`figure_to_image` renders PNG or SVG through kaleido at a named size
  preset and stamps provenance into the file (PNG text chunks, SVG
  ``<metadata>``).
* :func:`export_filename` and :func:`graph_config` give downloads and the
  modebar's camera button meaningful file names.

Kaleido drives a headless Chromium; starting one costs about two seconds, so
this module keeps ONE kaleido sync server per process, started lazily,
serialised by a lock, restarted after a fork (Dash background callbacks and
Celery workers run in forked children, which inherit a server object whose
thread and browser belong to the parent) and stopped at exit.
"""

from __future__ import annotations

import atexit
import base64
import datetime as dt
import html
import json
import os
import queue
import re
import shutil
import struct
import threading
import unicodedata
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core import __version__

__all__ = [
    "IMAGE_PRESETS",
    "add_png_text",
    "export_filename",
    "figure_to_csv",
    "figure_to_frame",
    "figure_to_image",
    "graph_config",
    "png_text_from_provenance",
    "read_png_text",
    "read_svg_metadata",
]

SOFTWARE = f"PerturbScope {__version__}"

# --------------------------------------------------------------------------
# Figure -> tidy numbers
# --------------------------------------------------------------------------

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

    Notes
    -----
    Histograms and box/violin plots export their raw samples: the bins and
    quartiles are computed by plotly.js in the browser, from exactly these
    numbers. Points missing an x (or y) on scatter and bar traces get the
    position plotly.js draws them at, ``x0 + i * dx`` (default 0, 1, 2, ...).
    """
    frames = []
    for i, trace in enumerate(_as_figure_dict(fig).get("data") or []):
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


def figure_to_csv(fig: Mapping[str, Any] | go.Figure) -> str:
    """CSV of exactly the numbers drawn (see :func:`figure_to_frame`)."""
    return figure_to_frame(fig).to_csv(index=False)


# --------------------------------------------------------------------------
# File names and modebar config
# --------------------------------------------------------------------------

def _slug(text: str, max_len: int = 80) -> str:
    """ASCII, filesystem-safe: runs of anything but [A-Za-z0-9.-] become '-'."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9.\-]+", "-", ascii_text)
    slug = re.sub(r"-{2,}", "-", slug).strip(".-")
    return slug[:max_len].rstrip(".-")


def export_filename(gene: str | None, view: str, ext: str, when: dt.date | None = None) -> str:
    """A meaningful, filesystem-safe download name.

    Parameters
    ----------
    gene : str or None
        Gene symbol shown in the figure; omitted when None or empty.
    view : str
        What the figure shows, e.g. ``"modifier-scatter"``.
    ext : str
        File extension, with or without the dot (``"png"``, ``".csv"``).
    when : datetime.date, optional
        Date to stamp; today (local time) by default.

    Returns
    -------
    str
        For example ``"RPP25L_modifier-scatter_2026-11-22.png"``.
    """
    when = when or dt.date.today()
    parts = [_slug(gene) if gene else "", _slug(view) or "figure", when.isoformat()]
    suffix = _slug(ext.lstrip(".")).lower()
    return "_".join(p for p in parts if p) + (f".{suffix}" if suffix else "")


def graph_config(filename: str, scale: int = 3,
                 remove: Sequence[str] = ("lasso2d", "select2d")) -> dict[str, Any]:
    """The ``config`` for a ``dcc.Graph``: named PNG camera button, no logo.

    Parameters
    ----------
    filename : str
        Download name for the camera button; a trailing extension is dropped
        (plotly.js adds ``.png`` itself).
    scale : int, default 3
        Pixel multiplier for the modebar PNG (3 gives print-quality images).
    remove : sequence of str
        Modebar buttons to drop. Lasso and box select by default: no page acts
        on a selection. Pass ``()`` on a page that does.

    Returns
    -------
    dict
        Ready for ``dcc.Graph(config=...)``.
    """
    from dashboard.components.figure_card import PRIVATE_CONFIG

    stem = re.sub(r"\.(png|svg|jpe?g|webp)$", "", filename, flags=re.IGNORECASE)
    return {
        **PRIVATE_CONFIG,
        "toImageButtonOptions": {"format": "png", "filename": stem, "scale": scale},
        "modeBarButtonsToRemove": [*remove, "sendChartToCloud"],
    }


# --------------------------------------------------------------------------
# PNG text chunks (stdlib only)
# --------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def _iter_chunks(png: bytes):
    """Yield (type, data, start, end) for each chunk; raise on a bad file or CRC."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file (bad signature)")
    pos = len(PNG_SIGNATURE)
    while pos < len(png):
        if pos + 12 > len(png):
            raise ValueError("truncated PNG chunk")
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        ctype, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])
        if len(data) != length or crc != zlib.crc32(ctype + data):
            raise ValueError(f"corrupt PNG chunk {ctype!r} at byte {pos}")
        yield ctype, data, pos, pos + 12 + length
        pos += 12 + length


def _check_keyword(key: str) -> bytes:
    try:
        raw = key.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"PNG text keyword must be latin-1: {key!r}") from None
    if not 1 <= len(raw) <= 79 or b"\0" in raw or key != key.strip():
        raise ValueError(f"PNG text keyword must be 1-79 characters, no NUL or edge spaces: {key!r}")
    return raw


def _text_chunk(key: str, value: str) -> bytes:
    """tEXt when the value is latin-1, else iTXt (UTF-8, uncompressed)."""
    keyword = _check_keyword(key)
    try:
        return _chunk(b"tEXt", keyword + b"\0" + value.replace("\0", "").encode("latin-1"))
    except UnicodeEncodeError:
        # keyword, NUL, compression flag 0, method 0, empty language, NUL, empty translated keyword, NUL
        return _chunk(b"iTXt", keyword + b"\0\0\0" + b"\0" + b"\0" + value.replace("\0", "").encode("utf-8"))


def add_png_text(png: bytes, text: Mapping[str, str]) -> bytes:
    """Insert text chunks (tEXt, or iTXt for non-latin-1 values) right after IHDR.

    Parameters
    ----------
    png : bytes
        A valid PNG file.
    text : mapping of str to str
        Keyword -> value. Keywords are 1-79 latin-1 characters; standard ones
        include ``Title``, ``Software``, ``Source``, ``Description``,
        ``Comment``, ``Creation Time``.

    Returns
    -------
    bytes
        The PNG with the chunks added (CRCs computed with zlib).
    """
    chunks = _iter_chunks(png)
    ctype, _, _, ihdr_end = next(chunks)
    if ctype != b"IHDR":
        raise ValueError("PNG does not start with an IHDR chunk")
    new = b"".join(_text_chunk(k, str(v)) for k, v in text.items())
    return png[:ihdr_end] + new + png[ihdr_end:]


def read_png_text(png: bytes) -> dict[str, str]:
    """Read tEXt, zTXt and iTXt chunks back into a dict (later keys win)."""
    out = {}
    for ctype, data, _, _ in _iter_chunks(png):
        if ctype == b"tEXt":
            key, _, value = data.partition(b"\0")
            out[key.decode("latin-1")] = value.decode("latin-1")
        elif ctype == b"zTXt":
            key, _, rest = data.partition(b"\0")
            out[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        elif ctype == b"iTXt":
            key, _, rest = data.partition(b"\0")
            compressed, body = rest[0], rest[2:]
            _lang, _, body = body.partition(b"\0")
            _translated, _, body = body.partition(b"\0")
            out[key.decode("latin-1")] = (zlib.decompress(body) if compressed else body).decode("utf-8")
    return out


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels, from IHDR."""
    ctype, data, _, _ = next(_iter_chunks(png))
    if ctype != b"IHDR":
        raise ValueError("PNG does not start with an IHDR chunk")
    return struct.unpack(">II", data[:8])


def set_png_dpi(png: bytes, dpi: float) -> bytes:
    """Replace any pHYs chunk with one saying ``dpi`` (so 2100 px print at 7 in)."""
    per_metre = round(dpi / 0.0254)
    phys = _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))
    kept = [png[start:end] for ctype, _, start, end in _iter_chunks(png) if ctype != b"pHYs"]
    if not kept or kept[0][4:8] != b"IHDR":
        raise ValueError("PNG does not start with an IHDR chunk")
    return PNG_SIGNATURE + kept[0] + phys + b"".join(kept[1:])


# --------------------------------------------------------------------------
# Provenance
# --------------------------------------------------------------------------

def _figure_title(fig: Mapping[str, Any]) -> str | None:
    title = (fig.get("layout") or {}).get("title")
    text = title.get("text") if isinstance(title, Mapping) else title
    if not isinstance(text, str):
        return None
    plain = re.sub(r"<[^>]+>", "", re.sub(r"<br\s*/?>", " ", text, flags=re.IGNORECASE))
    return " ".join(html.unescape(plain).split()) or None


def png_text_from_provenance(provenance: Mapping[str, Any] | None,
                             fig: Mapping[str, Any] | go.Figure | None = None) -> dict[str, str]:
    """Map a figure's provenance to standard PNG text keywords.

    Parameters
    ----------
    provenance : mapping or None
        As built by ``dashboard.services.provenance``: ``app``, ``dataset``,
        ``gene``, ``view``, ``params``, ``simulated``. Keys that already are
        PNG keywords (``Title``, ``Author``, ...) pass through unchanged.
    fig : figure or dict, optional
        Used for ``Title`` when the provenance has none.

    Returns
    -------
    dict of str to str
        ``Title``, ``Software``, ``Source``, ``Description``, ``Comment``
        (the whole provenance as JSON), ``Creation Time`` (ISO 8601, UTC) and
        ``Warning`` for simulated data.
    """
    prov = dict(provenance or {})
    fig_dict = _as_figure_dict(fig) if fig is not None else {}
    gene, view, params = prov.get("gene"), prov.get("view"), prov.get("params") or prov.get("parameters")
    described = [f"gene: {gene}" if gene else None, f"view: {view}" if view else None,
                 f"parameters: {json.dumps(params, sort_keys=True, default=str)}" if params else None]
    text = {
        "Title": prov.get("title") or _figure_title(fig_dict) or " ".join(str(p) for p in (gene, view) if p)
        or "PerturbScope figure",
        "Software": prov.get("app") or SOFTWARE,
        "Source": prov.get("dataset"),
        "Description": "; ".join(d for d in described if d),
        "Comment": json.dumps(prov, sort_keys=True, default=str),
        "Creation Time": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "Warning": "Simulated demo data" if prov.get("simulated") else None,
    }
    text.update({k: v for k, v in prov.items() if k[:1].isupper() and isinstance(v, str)})
    return {k: str(v) for k, v in text.items() if v}


def add_svg_metadata(svg: bytes | str, text: Mapping[str, str]) -> bytes:
    """Insert ``<metadata id="perturbscope-provenance">`` (escaped JSON) after ``<svg ...>``."""
    svg_text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    match = re.search(r"<svg\b[^>]*>", svg_text)
    if not match:
        raise ValueError("not an SVG document (no <svg> element)")
    body = html.escape(json.dumps(dict(text), ensure_ascii=False, indent=1), quote=False)
    element = f'<metadata id="perturbscope-provenance">{body}</metadata>'
    return (svg_text[:match.end()] + element + svg_text[match.end():]).encode("utf-8")


def read_svg_metadata(svg: bytes | str) -> dict[str, str]:
    """Read back what :func:`add_svg_metadata` wrote (empty dict if absent)."""
    svg_text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    match = re.search(r'<metadata id="perturbscope-provenance">(.*?)</metadata>', svg_text, re.DOTALL)
    return json.loads(html.unescape(match.group(1))) if match else {}


# --------------------------------------------------------------------------
# Kaleido: one server per process
# --------------------------------------------------------------------------

#: Export size presets: CSS-pixel width/height (None: from the figure) and scale.
IMAGE_PRESETS: dict[str, dict[str, Any]] = {
    "slide": {"width": 1280, "height": 800, "scale": 2},   # 2560 x 1600 px
    "print": {"width": 700, "height": None, "scale": 3, "dpi": 300},  # 7 in at 300 dpi
    "screen": {"width": None, "height": None, "scale": 2},  # the figure's own size
}
PRINT_ASPECT = 4.5 / 7  # height / width when a figure doesn't set its own size
SCREEN_DEFAULT = (1000, 600)
RENDER_TIMEOUT_S = 60
BROWSER_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser",
                      "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable")

_lock = threading.Lock()
_server_pid: int | None = None  # the pid that started the running kaleido server


def find_browser() -> str | None:
    """Chromium for kaleido: ``BROWSER_PATH``, choreographer's search, then Debian paths."""
    env = os.environ.get("BROWSER_PATH")
    if env:
        return env if os.path.isfile(env) else None
    try:
        from choreographer.browsers.chromium import Chromium

        found = Chromium.find_browser(skip_local=False)
    except Exception:  # noqa: BLE001 - best-effort search, fall through
        found = None
    if found and os.path.isfile(found):
        return found
    for path in (*BROWSER_CANDIDATES, shutil.which("chromium")):
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _kaleido_server():
    import kaleido

    return kaleido._global_server  # noqa: SLF001 - kaleido's process singleton


def _forget_inherited_server() -> None:
    """In a forked child: drop the parent's server without touching its thread/browser.

    The server object (and its queues, possibly with locks held mid-operation)
    was copied from the parent, but its thread did not survive the fork and
    the browser belongs to the parent. Closing it would block or signal the
    parent's Chromium, so only mark it stopped; the child starts its own.
    """
    global _server_pid
    server = _kaleido_server()
    server._initialized = False  # noqa: SLF001
    _server_pid = None


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it at fork time
    if _server_pid is not None:
        _forget_inherited_server()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _shutdown() -> None:
    """atexit: stop this process's server (never one inherited from a parent)."""
    if _server_pid == os.getpid() and _kaleido_server().is_running():
        import kaleido

        kaleido.stop_sync_server(silence_warnings=True)


atexit.register(_shutdown)


def _ensure_server() -> None:
    """Start the kaleido sync server once per process (caller holds the lock)."""
    global _server_pid
    import kaleido

    server = _kaleido_server()
    thread = getattr(server, "_thread", None)
    alive = server.is_running() and thread is not None and thread.is_alive()
    if alive:  # threads never survive a fork, so a live one is this process's
        _server_pid = _server_pid or os.getpid()
        return
    if server.is_running():  # inherited across a fork, or its thread died
        _forget_inherited_server()
    browser = find_browser()
    if browser is None:
        raise RuntimeError(
            "Image export needs Chromium, which was not found. Install it "
            "(Debian: apt-get install chromium) or set BROWSER_PATH to its executable."
        )
    kaleido.start_sync_server(n=1, timeout=RENDER_TIMEOUT_S, mathjax=False, path=browser, silence_warnings=True)
    _server_pid = os.getpid()


def _render(fig_dict: dict[str, Any], opts: dict[str, Any]) -> bytes:
    """One render on this process's server; fails instead of hanging if it died.

    kaleido's ``call_function`` waits on a queue with no timeout and is not
    safe for concurrent callers (results share one return queue), hence the
    lock and a watcher that gives up if the server thread is gone (for
    example Chromium failed to launch).
    """
    import kaleido

    with _lock:
        _ensure_server()
        thread = _kaleido_server()._thread  # noqa: SLF001
        box: queue.Queue = queue.Queue(maxsize=1)

        def call() -> None:
            try:
                box.put((True, kaleido.calc_fig_sync(fig_dict, opts=opts)))
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                box.put((False, exc))

        threading.Thread(target=call, name="perturbscope-kaleido-call", daemon=True).start()
        while True:
            try:
                ok, value = box.get(timeout=0.2)
                break
            except queue.Empty:
                if not thread.is_alive():
                    _forget_inherited_server()
                    raise RuntimeError("The image export server stopped (Chromium failed?); try again.") from None
    if not ok:
        raise value
    return value


def _without_webgl(fig_dict: dict[str, Any]) -> dict[str, Any]:
    """Draw ``scattergl`` as ``scatter`` (same attributes) for export.

    Headless Chromium has no GPU, so WebGL runs in software: a 2,000-point
    scattergl took 4.4 s per PNG against 0.8 s as scatter (20,000 points:
    5.7 s against 2.8 s), and in SVG it becomes an embedded raster image
    rather than vector marks.
    """
    data = fig_dict.get("data") or []
    if not any(t.get("type") == "scattergl" for t in data):
        return fig_dict
    data = [{**t, "type": "scatter"} if t.get("type") == "scattergl" else t for t in data]
    return {**fig_dict, "data": data}


def _image_size(fig_dict: Mapping[str, Any], preset: str) -> tuple[int, int, int]:
    layout = fig_dict.get("layout") or {}
    own_w, own_h = layout.get("width"), layout.get("height")
    spec = IMAGE_PRESETS[preset]
    if preset == "slide":
        return spec["width"], spec["height"], spec["scale"]
    if preset == "print":
        aspect = own_h / own_w if own_w and own_h else PRINT_ASPECT
        return spec["width"], round(spec["width"] * aspect), spec["scale"]
    return own_w or SCREEN_DEFAULT[0], own_h or SCREEN_DEFAULT[1], spec["scale"]


def figure_to_image(fig: Mapping[str, Any] | go.Figure, fmt: Literal["png", "svg"] = "png",
                    preset: Literal["slide", "print", "screen"] = "slide",
                    provenance: Mapping[str, Any] | None = None) -> bytes:
    """Render a figure to PNG or SVG through kaleido, with provenance inside.

    Parameters
    ----------
    fig : dict or plotly.graph_objects.Figure
        The figure, or the JSON dict from a ``dcc.Graph`` ``figure`` State.
    fmt : {"png", "svg"}
        Output format.
    preset : {"slide", "print", "screen"}
        ``slide``: 1280 x 800 CSS px at scale 2 (a 2560 x 1600 PNG).
        ``print``: 7 in wide at 300 dpi (700 px at scale 3, 2100 px wide;
        height keeps the figure's aspect, 7 x 4.5 in by default; the PNG's
        pHYs chunk says 300 dpi). ``screen``: the figure's own size, else
        1000 x 600, at scale 2.
    provenance : mapping, optional
        What the figure was made from (see :func:`png_text_from_provenance`);
        written as PNG text chunks or an SVG ``<metadata>`` element.

    Returns
    -------
    bytes
        The image file.

    Raises
    ------
    ValueError
        Unknown format or preset.
    RuntimeError
        No Chromium found, or the export server died.

    Notes
    -----
    The first call in a process starts Chromium (3-5 s here); later calls
    reuse it (0.3-0.8 s for a typical figure). Calls are serialised per
    process. ``scattergl`` traces are drawn as ``scatter``: faster without a
    GPU, and true vectors in SVG.
    """
    if fmt not in ("png", "svg"):
        raise ValueError(f"format must be 'png' or 'svg', not {fmt!r}")
    if preset not in IMAGE_PRESETS:
        raise ValueError(f"preset must be one of {sorted(IMAGE_PRESETS)}, not {preset!r}")
    fig_dict = _as_figure_dict(fig)
    width, height, scale = _image_size(fig_dict, preset)
    image = _render(_without_webgl(fig_dict), {"format": fmt, "width": width, "height": height, "scale": scale})
    text = png_text_from_provenance(provenance, fig_dict)
    if fmt == "svg":
        return add_svg_metadata(image, text)
    if "dpi" in IMAGE_PRESETS[preset]:
        image = set_png_dpi(image, IMAGE_PRESETS[preset]["dpi"])
    return add_png_text(image, text)
