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

#: (figure, preset) pairs that still fail, each with the reason; the test fails if one of them passes.
KNOWN = {
    **{("decode/decode-attribution-Liver", preset): "plotly.js draws no tick labels on the mRNA panel's y axis"
       for preset in IMAGE_PRESETS},
    # 3.5 in is too narrow for these as laid out today (follow-up: legends and colour bars below the plot,
    # subplot grids stacked in one column, abbreviated tissue names)
    ("decode/decode-profile-correlation", "column"): "24 tissue columns with full names",
    ("essentiality/effect-by-lineage", "column"): "subtitle against the y-axis title",
    ("essentiality/effect-vs-RPP25", "column"): "a 20-lineage legend",
    ("essentiality/expression-RPP25-vs-RPP25L", "column"): "a 20-lineage legend",
    ("essentiality/modifier-counts", "column"): "four subplot titles side by side",
    ("gene/gene-card", "column"): "a 2 x 2 subplot grid",
    ("genes/gene-list", "column"): "long method names and colour bar title",
    # the colour bars now name both ends ("red: ... / blue: ..."): wider bars leave these too little room
    ("essentiality/tree/decision-tree", "slide"): "sibling nodes at 1280 x 800 beside the two-line colour bar",
    ("decode/decode-regulator-attribution", "column"): "24 tissue columns beside the two-line colour bar",
}


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


def test_every_figure_in_every_preset_has_readable_labels(figures, chromium_page):
    failures, fixed = [], []
    for name, fig in figures:
        for preset in IMAGE_PRESETS:
            problems = overlap.layout_problems(fig, overlap.measure(chromium_page, figure_to_image(fig, "svg", preset)))
            if (name, preset) in KNOWN:
                if not problems:
                    fixed.append(f"{name} [{preset}]")
            elif problems:
                failures.append(f"{name} [{preset}]: " + "; ".join(problems[:5]))
    assert len(figures) >= 40  # every card of every page was built
    assert not failures, "\n".join(failures)
    assert not fixed, f"no longer failing, take out of KNOWN: {fixed}"
