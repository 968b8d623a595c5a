"""Tests for dashboard.export: tidy numbers, file names, PNG/SVG provenance, kaleido."""

from __future__ import annotations

import datetime as dt
import io
import json
import multiprocessing as mp
import struct
import threading
import zlib

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard import export as ex
from dashboard.export import render

# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

# Three ways a figure reaches the exporter: the object, its dict (numpy arrays
# become base64 "bdata" specs in plotly 6+), and JSON as the browser sends it.
AS_INPUT = {
    "figure": lambda fig: fig,
    "to_dict": lambda fig: fig.to_dict(),
    "json": lambda fig: json.loads(fig.to_json()),
}


@pytest.fixture(params=list(AS_INPUT))
def as_input(request):
    return AS_INPUT[request.param]


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """An 8-bit greyscale PNG built by hand (no imaging library)."""
    def chunk(ctype: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))

    rows = b"".join(b"\0" + bytes((x * 40 + y * 90) % 256 for x in range(width)) for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (ex.PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def decode_png(png: bytes) -> tuple[list[bytes], int, int, bytes]:
    """Minimal independent decoder: chunk types (CRC-checked), size, raw pixel rows."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, types, idat = 8, [], b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        ctype, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(ctype + data), f"bad CRC in {ctype!r}"
        types.append(ctype)
        if ctype == b"IHDR":
            width, height = struct.unpack(">II", data[:8])
        if ctype == b"IDAT":
            idat += data
        pos += 12 + length
    assert types[0] == b"IHDR" and types[-1] == b"IEND"
    return types, width, height, zlib.decompress(idat)


# --------------------------------------------------------------------------
# figure_to_frame
# --------------------------------------------------------------------------

def test_bar_numbers_equal_source(as_input):
    y = np.array([0.5, -1.25, 3.0, 7.75])
    fig = go.Figure(go.Bar(x=["TP53", "KRAS", "MYC", "RPP25L"], y=y, name="effect"))
    frame = ex.figure_to_frame(as_input(fig))
    assert list(frame.columns[:4]) == ["trace", "type", "x", "y"]
    assert (frame["trace"] == "effect").all() and (frame["type"] == "bar").all()
    assert frame["x"].tolist() == ["TP53", "KRAS", "MYC", "RPP25L"]
    np.testing.assert_array_equal(frame["y"].to_numpy(float), y)


def test_scatter_with_text_customdata_and_colour(as_input):
    rng = np.random.default_rng(1)
    x, y, colour = rng.normal(size=50), rng.normal(size=50), rng.random(50)
    custom = np.column_stack([np.arange(50), rng.random(50)])
    fig = go.Figure(go.Scatter(x=x, y=y, mode="markers", text=[f"cell{i}" for i in range(50)],
                               customdata=custom, marker={"color": colour, "colorscale": "Viridis"}))
    frame = ex.figure_to_frame(as_input(fig))
    assert len(frame) == 50 and frame["trace"].iloc[0] == "trace 0"
    np.testing.assert_array_equal(frame["x"].to_numpy(float), x)
    np.testing.assert_array_equal(frame["y"].to_numpy(float), y)
    np.testing.assert_array_equal(frame["marker_color"].to_numpy(float), colour)
    np.testing.assert_array_equal(frame[["customdata_0", "customdata_1"]].to_numpy(float), custom)
    assert frame["text"].iloc[7] == "cell7"


def test_scatter_without_x_gets_drawn_positions():
    fig = go.Figure(go.Scatter(y=[3, 1, 2], x0=10, dx=5))
    frame = ex.figure_to_frame(json.loads(fig.to_json()))
    assert frame["x"].tolist() == [10, 15, 20]


def test_heatmap_one_row_per_cell(as_input):
    z = np.arange(12, dtype=float).reshape(3, 4) / 7
    cols, rows = ["c1", "c2", "c3", "c4"], ["g1", "g2", "g3"]
    fig = go.Figure(go.Heatmap(z=z, x=cols, y=rows, name="impact"))
    frame = ex.figure_to_frame(as_input(fig))
    assert len(frame) == z.size and set(frame["type"]) == {"heatmap"}
    back = frame.pivot(index="y", columns="x", values="z").loc[rows, cols].to_numpy(float)
    np.testing.assert_array_equal(back, z)


def test_heatmap_bdata_shape_and_int_dtypes():
    z = np.arange(6, dtype=np.int64).reshape(2, 3)  # plotly narrows int64 to int8
    spec = json.loads(go.Figure(go.Heatmap(z=z)).to_json())["data"][0]["z"]
    assert spec["dtype"] == "i1" and spec["shape"] == "2, 3"
    frame = ex.figure_to_frame(json.loads(go.Figure(go.Heatmap(z=z)).to_json()))
    assert frame["x"].tolist() == [0, 1, 2, 0, 1, 2] and frame["y"].tolist() == [0, 0, 0, 1, 1, 1]
    np.testing.assert_array_equal(frame["z"].to_numpy(float), z.ravel())


def test_heatmap_gaps_and_transpose():
    fig = {"data": [{"type": "heatmap", "z": [[1, None], [3, 4]], "x": ["a", "b"], "y": ["r", "s"],
                     "transpose": True}]}
    frame = ex.figure_to_frame(fig)
    # transposed: row "r" is the first column of z
    assert frame["z"].tolist()[:2] == [1, 3] and np.isnan(frame["z"].iloc[2])


def test_browser_typed_arrays_and_uint8_clamped():
    fig = {"data": [
        {"type": "bar", "x": {"0": "a", "1": "b"}, "y": {"dtype": "u1c", "bdata": "BQk="}},
    ]}
    frame = ex.figure_to_frame(fig)
    assert frame["x"].tolist() == ["a", "b"] and frame["y"].tolist() == [5, 9]


def test_pie_and_multiple_traces_and_empty_traces_skipped():
    fig = go.Figure([
        go.Pie(labels=["A", "B"], values=[30, 70], name="share"),
        go.Scatter(x=[], y=[]),
    ])
    fig.add_shape(type="line", x0=0, x1=1, y0=0, y1=1)
    frame = ex.figure_to_frame(json.loads(fig.to_json()))
    assert frame[["labels", "values"]].values.tolist() == [["A", 30], ["B", 70]]
    assert set(frame["trace"]) == {"share"}
    assert ex.figure_to_frame(go.Figure()).empty


def test_figure_to_csv_round_trips_numbers():
    y = np.array([0.1234567890123, 2.5, -3e-8])
    fig = go.Figure([go.Bar(x=["a", "b", "c"], y=y, name="one"), go.Scatter(x=[1, 2], y=[4, 5], name="two")])
    back = pd.read_csv(io.StringIO(ex.figure_to_csv(json.loads(fig.to_json()))))
    assert back.columns.tolist() == ["trace", "type", "x", "y"]
    np.testing.assert_array_equal(back.loc[back.trace == "one", "y"].to_numpy(), y)
    assert back.loc[back.trace == "two", "y"].tolist() == [4, 5]


# --------------------------------------------------------------------------
# file names and graph config
# --------------------------------------------------------------------------

DAY = dt.date(2026, 11, 22)


@pytest.mark.parametrize(("gene", "view", "ext", "expected"), [
    ("RPP25L", "modifier-scatter", "png", "RPP25L_modifier-scatter_2026-11-22.png"),
    (None, "tissue performance", ".CSV", "tissue-performance_2026-11-22.csv"),
    ("", "knockout/impact: cells", "svg", "knockout-impact-cells_2026-11-22.svg"),
    ("HLA-A/B*02", "scatter", "png", "HLA-A-B-02_scatter_2026-11-22.png"),
    ("Ménage", "../../etc/passwd", "png", "Menage_etc-passwd_2026-11-22.png"),
    ("MYC", "", "png", "MYC_figure_2026-11-22.png"),
])
def test_export_filename(gene, view, ext, expected):
    assert ex.export_filename(gene, view, ext, when=DAY) == expected


def test_export_filename_defaults_to_today():
    assert ex.export_filename("TP53", "v", "png").endswith(f"_{dt.date.today().isoformat()}.png")


def test_graph_config():
    config = ex.graph_config("RPP25L_modifier-scatter_2026-11-22.png")
    assert config["displaylogo"] is False and config["showSendToCloud"] is False  # no upload to Plotly Cloud
    assert config["toImageButtonOptions"] == {
        "format": "png", "filename": "RPP25L_modifier-scatter_2026-11-22", "scale": 3}
    assert "lasso2d" in config["modeBarButtonsToRemove"]
    removed = ex.graph_config("x", scale=2, remove=())["modeBarButtonsToRemove"]
    assert {"sendDataToCloud", "editInChartStudio", "toImage"} <= set(removed) and "lasso2d" not in removed
    assert config["showEditInChartStudio"] is False and config["showLink"] is False


# --------------------------------------------------------------------------
# PNG text chunks and SVG metadata
# --------------------------------------------------------------------------

def test_png_text_round_trip_keeps_image_valid():
    png = tiny_png()
    text = {"Title": "Modifier scatter", "Software": "PerturbScope 0.1.0",
            "Comment": json.dumps({"gene": "RPP25L", "fdr": 0.05}), "Author": "Zoë Ö",
            "Description": "Δ expression → 細胞"}  # not latin-1: goes into iTXt
    stamped = ex.add_png_text(png, text)
    assert ex.read_png_text(stamped) == text
    types, width, height, raw = decode_png(stamped)
    assert types[:2] == [b"IHDR", b"tEXt"] and b"iTXt" in types
    assert (width, height) == (3, 2) and raw == decode_png(png)[3]


def test_png_text_rejects_bad_keywords_and_corrupt_files():
    with pytest.raises(ValueError, match="keyword"):
        ex.add_png_text(tiny_png(), {"x" * 80: "too long"})
    with pytest.raises(ValueError, match="keyword"):
        ex.add_png_text(tiny_png(), {"Schlüssel→": "not latin-1"})
    corrupt = bytearray(ex.add_png_text(tiny_png(), {"Title": "t"}))
    corrupt[-20] ^= 0xFF  # inside IDAT
    with pytest.raises(ValueError, match="corrupt"):
        ex.read_png_text(bytes(corrupt))
    with pytest.raises(ValueError, match="not a PNG"):
        ex.read_png_text(b"GIF89a")


def test_set_png_dpi():
    png = ex.set_png_dpi(ex.set_png_dpi(tiny_png(), 96), 300)
    types = decode_png(png)[0]
    assert types.count(b"pHYs") == 1 and types[1] == b"pHYs"
    data = png[png.index(b"pHYs") + 4:png.index(b"pHYs") + 13]
    assert struct.unpack(">IIB", data) == (11811, 11811, 1)


def test_png_text_from_provenance():
    prov = {"app": "PerturbScope 0.1.0", "dataset": "demo:essentiality (simulated)", "gene": "RPP25L",
            "view": "modifier-scatter", "params": {"method": "spearman"}, "simulated": True, "Author": "Lab"}
    fig = go.Figure(layout={"title": {"text": "Modifiers of <b>RPP25L</b><br>FDR &lt; 0.05"}})
    text = ex.png_text_from_provenance(prov, fig)
    assert text["Title"] == "Modifiers of RPP25L FDR < 0.05"
    assert text["Software"] == "PerturbScope 0.1.0" and text["Source"].startswith("demo:essentiality")
    assert "RPP25L" in text["Description"] and '"method": "spearman"' in text["Description"]
    assert json.loads(text["Comment"])["gene"] == "RPP25L"
    assert text["Warning"] == "Simulated demo data" and text["Author"] == "Lab"
    dt.datetime.fromisoformat(text["Creation Time"])
    assert ex.png_text_from_provenance(None)["Software"] == ex.SOFTWARE


def test_svg_metadata_is_escaped():
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10"><rect/></svg>'
    text = {"Title": "</metadata><script>alert(1)</script> & more"}
    out = ex.add_svg_metadata(svg, text)
    assert b"<script>" not in out and out.index(b"<metadata") < out.index(b"<rect")
    assert ex.read_svg_metadata(out) == text
    import xml.etree.ElementTree as ET

    ET.fromstring(out.split(b"?>", 1)[1])  # still well-formed XML


# --------------------------------------------------------------------------
# kaleido (needs Chromium)
# --------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    ex.find_browser() is None,
    reason="no Chromium found (apt-get install chromium, or set BROWSER_PATH): kaleido cannot render",
)

PROV = {"app": "PerturbScope test", "dataset": "demo:essentiality", "gene": "RPP25L",
        "view": "modifier-scatter", "params": {"fdr": 0.05}, "simulated": True}


def small_figure() -> go.Figure:
    fig = go.Figure(go.Scattergl(x=np.arange(20), y=np.arange(20) ** 0.5, mode="markers"))
    fig.update_layout(title="Export test")
    return fig


@needs_chromium
def test_png_slide_size_and_provenance():
    png = ex.figure_to_image(json.loads(small_figure().to_json()), "png", "slide", PROV)
    _, width, height, _ = decode_png(png)
    assert (width, height) == (2560, 1600)
    text = ex.read_png_text(png)
    assert text["Title"] == "Export test" and text["Software"] == "PerturbScope test"
    assert json.loads(text["Comment"])["params"] == {"fdr": 0.05}


@needs_chromium
def test_png_print_is_7in_at_300dpi_keeping_aspect():
    png = ex.figure_to_image(small_figure(), "png", "print", PROV)
    assert ex.png_size(png) == (2100, 1350)
    own = small_figure().update_layout(width=800, height=400)
    width, height = ex.png_size(ex.figure_to_image(own, "png", "print"))
    assert width == 2100 and 1050 <= height <= 1300  # the aspect, or taller to leave the plot room under the title
    assert ex.png_size(ex.figure_to_image(own, "png", "screen")) == (1600, 800)
    width, height = ex.png_size(ex.figure_to_image(own, "png", "column"))
    assert width == 1050 and height >= 525  # 3.5 in; the aspect, or taller to leave the plot room under the title


@needs_chromium
def test_print_height_follows_the_rows_and_pdf_is_vector():
    from dashboard.figures.fit import declare_grid

    def heatmap(n):
        genes = [f"GENE{i:02d}" for i in range(n)]
        return declare_grid(go.Figure(go.Heatmap(z=np.ones((n, 3)), y=genes, x=["a", "b", "c"])), rows=genes)

    small, tall = (ex.png_size(ex.figure_to_image(heatmap(n), "png", "print"))[1] for n in (10, 40))
    assert tall - small == pytest.approx(30 * 3 * 12 * 1.45, abs=3)  # 30 more rows of 12 px text at scale 3
    assert ex.figure_to_image(heatmap(10), "pdf", "column").startswith(b"%PDF")


@needs_chromium
def test_svg_has_metadata_and_vector_marks():
    svg = ex.figure_to_image(small_figure(), "svg", "print", PROV)
    assert svg.lstrip().startswith(b"<svg") and b"<image" not in svg  # scattergl drawn as vectors
    assert ex.read_svg_metadata(svg)["Source"] == "demo:essentiality"


@needs_chromium
def test_threads_share_one_server():
    results, errors = [], []

    def work(i):
        try:
            results.append(ex.png_size(ex.figure_to_image(go.Figure(go.Bar(y=[i, 1])), "png", "screen")))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and results == [(2000, 1200)] * 4


def _render_in_child(q):
    png = ex.figure_to_image(go.Figure(go.Bar(y=[1, 2])), "png", "screen")
    import os

    q.put((ex.png_size(png), render._server_pid == os.getpid()))


@needs_chromium
def test_forked_child_starts_its_own_server():
    ex.figure_to_image(go.Figure(go.Bar(y=[1])), "png", "screen")  # parent server running
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    child = ctx.Process(target=_render_in_child, args=(q,))
    child.start()
    assert q.get(timeout=120) == ((2000, 1200), True)
    child.join(timeout=30)
    # the parent's server still works after the child used (and dropped) its copy
    assert ex.png_size(ex.figure_to_image(go.Figure(go.Bar(y=[2])), "png", "screen")) == (2000, 1200)


def test_bad_format_and_preset():
    with pytest.raises(ValueError, match="format"):
        ex.figure_to_image(go.Figure(), "jpg")
    with pytest.raises(ValueError, match="preset"):
        ex.figure_to_image(go.Figure(), "png", "poster")


def test_importing_the_export_package_has_no_side_effects():
    """No callback registered, no fork or exit hook, no Chromium: only the app factory wires exports."""
    code = (
        "import dash._callback as cb, dashboard.export as ex\n"
        "from dashboard.export import render\n"
        "assert not cb.GLOBAL_CALLBACK_LIST, cb.GLOBAL_CALLBACK_LIST\n"
        "assert not render._hooks_registered and render._server_pid is None\n"
        "import dashboard.export.callbacks\n"
        "assert cb.GLOBAL_CALLBACK_LIST  # the export buttons are wired here\n"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
