"""One visual language: the diverging convention with both ends named, fixed lineage colours, whole-area Venn
regions, counted nouns."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard import services
from dashboard.figures import common
from dashboard.figures.decode import profile_corr_figure
from dashboard.figures.dko import epistasis_figure
from dashboard.figures.essentiality import (_CENTRES, _HIT_STEP, heldout_figure, lineage_scatter_figure,
                                           lineage_weights_figure, tree_figure, venn_figure, venn_hit_points)
from dashboard.services import essentiality as ess_service
from dashboard.text import plural

ROOT = Path(__file__).resolve().parents[2]
RESOLVED = go.Figure(go.Heatmap(z=[[0]], colorscale=common.DIVERGING)).data[0].colorscale


def _lab(hex_colour: str) -> np.ndarray:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ lin
    f = np.cbrt(xyz / np.array([0.95047, 1.0, 1.08883]))  # every palette colour is far above the linear toe
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _tree() -> pd.DataFrame:
    return pd.DataFrame({"node_id": [0, 1, 2], "parent": [-1, 0, 0], "side": ["", "<=", ">"], "depth": [0, 1, 1],
                         "is_leaf": [False, True, True], "gene": ["RPP25", "", ""], "threshold": [4.2, np.nan, np.nan],
                         "n_cells": [30, 12, 18], "mean_effect": [-0.5, -1.4, 0.3]})


def _diverging_traces():
    weights = pd.DataFrame({"A": [0.5, -0.2], "B": [-1.0, 0.3], "n_cells": [40, 35]}, index=["Lung", "Skin"])
    corr = pd.DataFrame([[0.9, -0.1], [0.2, 0.8]], index=["Liver", "Lung"], columns=["Liver", "Lung"])
    pair = pd.DataFrame([[np.nan, 0.02], [0.02, np.nan]], index=["A", "B"], columns=["A", "B"])
    tree = tree_figure(_tree(), "KRAS", 0.5, 0.01)
    return {
        "weights": (lineage_weights_figure(weights, "KRAS").data[0], ("negative weight", "positive weight")),
        "tree": (tree.data[-1].marker, ("more essential", "less essential")),
        "decode correlation": (profile_corr_figure(corr).data[0], ("negative correlation", "positive correlation")),
        "epistasis": (epistasis_figure(pair, pair.fillna(0)).data[0], ("less than additive", "more than additive")),
    }


@pytest.mark.parametrize("name", ["weights", "tree", "decode correlation", "epistasis"])
def test_every_diverging_scale_is_blue_negative_red_positive_and_names_both_ends(name):
    trace, (negative, positive) = _diverging_traces()[name]
    assert trace.colorscale == RESOLVED
    assert "5,48,97" in RESOLVED[0][1] and "103,0,31" in RESOLVED[-1][1]  # blue at the negative end, red positive
    title = trace.colorbar.title.text
    assert f"red: {positive}" in title and f"blue: {negative}" in title


def test_no_figure_module_picks_its_own_diverging_scale():
    for path in (ROOT / "dashboard" / "figures").glob("*.py"):
        source = path.read_text()
        if path.name == "common.py":
            continue
        assert "RdBu" not in source and "DIVERGING =" not in source, path.name
        uses = len(re.findall(r"colorscale[\"']?\s*[=:]\s*DIVERGING", source))
        assert uses == source.count("diverging_colorbar("), f"{path.name}: a diverging scale without its ends named"


def test_demo_lineages_get_distinct_distinguishable_colours():
    lineages = ess_service.lineages(services.dataset("essentiality"))
    names = sorted(lineages.unique())
    assert len(names) >= 20
    colours = common.lineage_colours(names)
    assert len(set(colours.values())) == len(names)
    labs = np.array([_lab(colours[n]) for n in names])
    distances = np.linalg.norm(labs[:, None] - labs[None], axis=2) + np.eye(len(names)) * 1e9
    assert distances.min() > 20  # CIELAB ΔE: clearly different side by side
    assert colours["Biliary Tract"] != colours["Skin"]
    assert common.lineage_colours(["Skin"]) == {"Skin": colours["Skin"]}  # whatever else is shown


def test_unknown_lineages_share_no_colour_within_a_figure():
    names = [f"tissue {i}" for i in range(30)] + ["Lung"]
    colours = common.lineage_colours(names)
    assert len(set(colours.values())) == len(names)
    assert common.lineage_colours(names) == colours  # stable across calls and processes (crc32, not hash())


def test_a_lineage_has_the_same_colour_in_two_figures():
    lineages = ess_service.lineages(services.dataset("essentiality"))
    x = pd.Series(np.arange(len(lineages), dtype=float), index=lineages.index)
    scatter = lineage_scatter_figure(x, x, lineages, title="t", x_title="x", y_title="y", x_column="x", y_column="y")
    held = ["Prostate", "Skin", "Lung"]
    errors = pd.DataFrame({"group": ["Global"] * 3 + held * 3, "abs_error": np.linspace(0, 1, 12)})
    violins = heldout_figure(errors, "KRAS")
    in_scatter = {t.name: t.marker.color for t in scatter.data}
    in_violins = {t.name: t.line.color for t in violins.data}
    assert all(in_scatter[name] == in_violins[name] for name in held)
    assert len(set(in_scatter.values())) == len(in_scatter)


def test_venn_regions_are_clickable_over_their_whole_area():
    points = venn_hit_points()
    assert all(len(p) > 50 for p in points.values())
    rng = np.random.default_rng(0)
    probes = rng.uniform([-1.55, -1.6], [1.55, 1.35], size=(3000, 2))
    keys = list(points)
    for probe in probes:
        distance = {t: np.hypot(probe[0] - cx, probe[1] - cy) for t, (cx, cy) in _CENTRES.items()}
        if min(distance.values()) >= 0.97 or any(0.97 <= d <= 1.03 for d in distance.values()):
            continue  # outside every circle, or on an edge
        inside = tuple(t for t in _CENTRES if distance[t] < 0.97)
        assert np.hypot(*(points[inside] - probe).T).min() <= _HIT_STEP, (probe, inside)  # a marker of its region
    fig = venn_figure({"pearson": ["A", "B"], "spearman": ["B"], "chi2": ["C"]}, "KRAS")
    clickable = {d for t in fig.data for d in (t.customdata or [])}
    assert clickable == {"&".join(k) for k in keys}


def test_counted_nouns():
    assert plural(1, "gene") == "1 gene" and plural(0, "gene") == "0 genes" and plural(2500, "cell") == "2,500 cells"
    assert plural(1, "matrix", "matrices") == "1 matrix" and plural(3, "matrix", "matrices") == "3 matrices"
    hand_made = re.compile(r"""f["'][^"']*(\w\(s\)|\(es\)|\{'s' if|\{"s" if)""")
    for path in (ROOT / "dashboard").rglob("*.py"):
        assert not hand_made.search(path.read_text()), f"{path}: pluralise with dashboard.text.plural"
