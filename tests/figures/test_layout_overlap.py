"""Every figure card of every page, exported as SVG in every preset, measured in Chromium: no two labels
overlap, none is cut off by the canvas, every heatmap row (up to 60) shows its label (see
``tests/figures/overlap.py`` for what is measured and what is left out, and why)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

import app  # noqa: E402,F401  (registers pages and callbacks)
from dashboard.export import IMAGE_PRESETS, figure_to_image  # noqa: E402
from tests.figures import gallery, overlap  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def figures():
    import torch

    torch.set_num_threads(1)
    return [(name, fig.to_plotly_json()) for name, fig in gallery.every_figure()]


@pytest.fixture(scope="module")
def chromium_page(browser):
    page = browser.new_page()
    yield page
    page.close()


def test_the_measurement_sees_collisions_cut_labels_and_missing_rows(chromium_page):
    """The checks can fail: two labels drawn on top of each other, one past the edge, rows without labels."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Heatmap(z=[[i] for i in range(40)], y=[f"GENE{i:02d}" for i in range(40)]))
    fig.update_layout(width=300, height=200)
    fig.add_annotation(text="past the right edge", xref="paper", x=1.2, xanchor="left", y=20, showarrow=False)
    fig.add_annotation(text="overprinted", x=0, y=5, showarrow=False)
    fig.add_annotation(text="overprinted", x=0, y=5, showarrow=False)
    fig_dict = fig.to_plotly_json()
    svg = figure_to_image(fig_dict, "svg", "screen")
    problems = " ".join(overlap.layout_problems(fig_dict, overlap.measure(chromium_page, svg)))
    assert "overlaps" in problems and "cut off" in problems and "heatmap rows have no label" in problems


def test_a_second_subplots_row_labels_are_read_from_its_own_axis(chromium_page):
    """plotly.js draws a second subplot's y ticks as ``y2tick``: they count for its rows, and only for its rows."""
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.3)
    fig.add_trace(go.Heatmap(z=[[1], [2]], y=["left one", "left two"], showscale=False), row=1, col=1)
    fig.add_trace(go.Heatmap(z=[[1], [2], [3]], y=["right A", "right B long label", "right C"]), row=1, col=2)
    fig.update_layout(width=500, height=300)

    def missing():
        fig_dict = fig.to_plotly_json()
        return overlap.missing_rows(fig_dict, overlap.measure(chromium_page, figure_to_image(fig_dict, "svg"))["texts"])

    assert missing() == []
    fig.update_yaxes(showticklabels=False, row=1, col=2)
    assert missing() == ["3 of 3 heatmap rows have no label (e.g. ['right A', 'right B long label', 'right C'])"]


def test_every_figure_in_every_preset_has_readable_labels(figures, chromium_page):
    failures = []
    for name, fig in figures:
        for preset in IMAGE_PRESETS:
            problems = overlap.layout_problems(fig, overlap.measure(chromium_page, figure_to_image(fig, "svg", preset)))
            if problems:
                failures.append(f"{name} [{preset}]: " + "; ".join(problems[:5]))
    assert len(figures) >= 41  # every card of every page was built (cached views come back as JSON)
    assert not failures, "\n".join(failures)
