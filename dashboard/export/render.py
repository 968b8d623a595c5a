"""PNG/SVG rendering through kaleido, at named size presets, with provenance inside.

Kaleido drives a headless Chromium; starting one costs about two seconds, so
this module keeps ONE kaleido sync server per process, started lazily,
serialised by a lock, restarted after a fork (Dash background callbacks and
Celery workers run in forked children, which inherit a server object whose
thread and browser belong to the parent) and stopped at exit. The fork and
exit hooks are registered when the first server starts, not at import.
"""

from __future__ import annotations

import atexit
import os
import queue
import shutil
import threading
from collections.abc import Mapping
from typing import Any, Literal

import plotly.graph_objects as go

from dashboard.export.frames import _as_figure_dict
from dashboard.export.png import add_png_text, set_png_dpi
from dashboard.export.provenance import add_svg_metadata, png_text_from_provenance
from dashboard.figures.fit import fit_figure

#: Export size presets: CSS-pixel width/height (None: from the figure) and scale.
#: Export presets: canvas width (CSS px; None: the figure's own), fixed height (None: follows the content),
#: base font (CSS px; print text is 1 CSS px = 0.72 pt), pixel scale and the dpi written into the PNG.
IMAGE_PRESETS: dict[str, dict[str, Any]] = {
    "slide": {"width": 1280, "height": 800, "font": 20, "scale": 2},              # 2560 x 1600 px
    "print": {"width": 700, "height": None, "font": 12, "scale": 3, "dpi": 300},   # 7 in, 8.6 pt text
    "column": {"width": 350, "height": None, "font": 10, "scale": 3, "dpi": 300},  # 3.5 in, 7.2 pt text
    "screen": {"width": None, "height": None, "font": 13, "scale": 2},           # the figure's own size
}
SCREEN_DEFAULT = (1000, 600)  # the screen preset's size for a figure that sets none (height: nor declares content)
FORMATS = ("png", "svg", "pdf")
RENDER_TIMEOUT_S = 60
BROWSER_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser",
                      "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable")

_lock = threading.Lock()
_server_pid: int | None = None  # the pid that started the running kaleido server
_hooks_registered = False


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


def _shutdown() -> None:
    """atexit: stop this process's server (never one inherited from a parent)."""
    if _server_pid == os.getpid() and _kaleido_server().is_running():
        import kaleido

        kaleido.stop_sync_server(silence_warnings=True)


def _register_process_hooks() -> None:
    """Once per process, before the first server starts: forget it after a fork, stop it at exit."""
    global _hooks_registered
    if not _hooks_registered:
        os.register_at_fork(after_in_child=_after_fork_in_child)
        atexit.register(_shutdown)
        _hooks_registered = True


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
    _register_process_hooks()
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


def laid_out(fig_dict: Mapping[str, Any], preset: str) -> dict[str, Any]:
    """The figure laid out anew for a preset's box (see :mod:`dashboard.figures.fit`)."""
    layout = fig_dict.get("layout") or {}
    spec = IMAGE_PRESETS[preset]
    if preset == "screen":
        declared = (layout.get("meta") or {}).get("content")
        height = layout.get("height") or (None if declared else SCREEN_DEFAULT[1])
        return fit_figure(dict(fig_dict), layout.get("width") or SCREEN_DEFAULT[0], spec["font"], height)
    return fit_figure(dict(fig_dict), spec["width"], spec["font"], spec["height"])


def figure_to_image(fig: Mapping[str, Any] | go.Figure, fmt: Literal["png", "svg", "pdf"] = "png",
                    preset: Literal["slide", "print", "column", "screen"] = "slide",
                    provenance: Mapping[str, Any] | None = None) -> bytes:
    """Render a figure to PNG, SVG or PDF through kaleido, laid out for a preset, with provenance inside.

    Parameters
    ----------
    fig : dict or plotly.graph_objects.Figure
        The figure, or the JSON dict from a ``dcc.Graph`` ``figure`` State.
    fmt : {"png", "svg", "pdf"}
        Output format.
    preset : {"slide", "print", "column", "screen"}
        ``slide``: 1280 x 800 CSS px at scale 2 (a 2560 x 1600 PNG), 20 px text.
        ``print``: 7 in wide at 300 dpi (700 px at scale 3, 2100 px wide; the
        PNG's pHYs chunk says 300 dpi), 8.6 pt text, height from the content.
        ``column``: the same for one column of a two-column page (3.5 in),
        7.2 pt text. ``screen``: the figure's own size (else 1000 px wide), at
        scale 2. Each preset lays the figure out anew from what it declares
        about its content (:func:`dashboard.figures.fit.fit_figure`).
    provenance : mapping, optional
        What the figure was made from (see :func:`png_text_from_provenance`);
        written as PNG text chunks or an SVG ``<metadata>`` element (a PDF
        carries none: kaleido writes no document information).

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
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
    if preset not in IMAGE_PRESETS:
        raise ValueError(f"preset must be one of {sorted(IMAGE_PRESETS)}, not {preset!r}")
    fig_dict = _as_figure_dict(fig)
    fitted = laid_out(fig_dict, preset)
    size = {"width": fitted["layout"]["width"], "height": fitted["layout"]["height"]}
    # vectors at scale 1: an SVG or PDF 700 px wide is 7.3 in at 96 px/in, not three times that
    scale = IMAGE_PRESETS[preset]["scale"] if fmt == "png" else 1
    image = _render(_without_webgl(fitted), {"format": fmt, **size, "scale": scale})
    if fmt == "pdf":
        return image
    text = png_text_from_provenance(provenance, fig_dict)
    if fmt == "svg":
        return add_svg_metadata(image, text)
    if "dpi" in IMAGE_PRESETS[preset]:
        image = set_png_dpi(image, IMAGE_PRESETS[preset]["dpi"])
    return add_png_text(image, text)
