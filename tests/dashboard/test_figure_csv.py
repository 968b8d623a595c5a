"""Every figure of every page exports a tidy CSV: named columns, provenance in ``# `` lines, the drawn numbers.

The pages' callbacks draw their figures from the demo's prebuilt results; the
figures whose results only a user's run makes (cross-validation, held-out
lineages, co-expression, double knockouts, connectivity search) are drawn from small
frames of the same shape. Every figure builder of ``dashboard.figures`` must
be drawn here, so a new figure without named CSV columns fails this test.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import io

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import torch

import app  # noqa: F401  (registers pages and callbacks)
from dashboard import services
from dashboard.export import callbacks as exports
from dashboard.export import figure_to_frame
from dashboard.export.frames import has_named_columns

torch.set_num_threads(1)
pytestmark = pytest.mark.slow  # draws every figure of every page (about 45 s)
FIGURE_MODULES = ("essentiality", "decode", "dko", "gene", "perturbation")
GENERIC = {"trace", "type", "x", "y", "z", "text", "customdata"}
PAGES = ("essentiality", "essentiality_sweep", "essentiality_tree", "essentiality_new_samples", "decode",
         "decode_disruption", "dko", "perturbation", "perturbation_connectivity", "gene", "genes")


def _builders() -> dict[str, object]:
    found = {}
    for name in FIGURE_MODULES:
        module = importlib.import_module(f"dashboard.figures.{name}")
        for attr, value in vars(module).items():
            if attr.endswith("_figure") and inspect.isfunction(value) and value.__module__ == module.__name__:
                found[f"{name}.{attr}"] = value
    return found


@pytest.fixture(scope="module")
def drawn():
    return draw_all()


def draw_all():
    """Every figure builder, and the figures drawn by the pages and the job-only builders."""
    builders = _builders()
    by_function = {fn: key for key, fn in builders.items()}
    figures: dict[str, list[go.Figure]] = {}

    def record(key, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            fig = fn(*args, **kwargs)
            figures.setdefault(key, []).append(fig)
            return fig
        return wrapper

    patch = pytest.MonkeyPatch()
    modules = [importlib.import_module(f"dashboard.figures.{m}") for m in FIGURE_MODULES]
    modules += [importlib.import_module(f"dashboard.pages.{p}") for p in PAGES]
    for module in modules:
        for attr, value in list(vars(module).items()):
            if inspect.isfunction(value) and value in by_function:
                patch.setattr(module, attr, record(by_function[value], value))
            if attr == "cached_view":  # a stored view (from an earlier test) would skip its figure builder
                patch.setattr(module, attr, lambda kind, view, gene, build, **params: tuple(build()))
    try:
        _draw_pages()
        _draw_job_figures()
    finally:
        patch.undo()
    return builders, figures


def _draw_pages() -> None:
    from dashboard.pages import (decode, decode_disruption, dko, essentiality, essentiality_new_samples,
                                 essentiality_sweep, essentiality_tree, gene, genes, perturbation)
    from dashboard.services import decode as dec_service
    from dashboard.services import dko as dko_service
    from dashboard.services import essentiality as ess_service
    from dashboard.services import new_samples as ns_service
    from dashboard.services import perturbation as tnet

    target, demo = "RPP25L", "demo"
    result = {"target": target, "models": ess_service.ATLAS_SET, "source": demo, "cached": True}
    essentiality.show_lineages(target)
    assert ess_service.screen.run(target=target, n_permutations=0).error is None
    essentiality.show_screen({"target": target, "n_permutations": 0, "source": demo, "cached": True})
    essentiality.show_analysis(result, None)
    essentiality.show_enrichment(result)
    essentiality.show_counts(result)
    cell = services.dataset("essentiality").expression.index[0]
    essentiality_tree.show_tree(result, cell)
    essentiality_sweep.show_sweep({"source": demo, "cached": True})
    essentiality_new_samples.show_predictions(target, ns_service.DEMO_SET, None, demo)

    model = {"params": dec_service.training_params(), "cached": True}
    decode.show_performance(model, demo)
    decode.show_gene(model, dec_service.default_gene(), "Liver", demo)
    decode.show_regulators(model, 20, demo)
    decode_gene = dec_service.default_gene()
    decode_disruption.show_binding(decode_gene, "promoter", [-500, 500], [0, 400], demo)
    decode_disruption.show_edit(model, decode_gene, "promoter", 1.0, [-500, 500], [0, 400], [], demo)

    sweep = {"steps": dko_service.DEFAULT_STEPS, "cached": True}
    dko_gene, dko_cell = "SIM0033", "SIMCELL-0007"
    dko.show_presence(dko_gene)
    dko.show_training(sweep)
    dko.show_cell_fit(sweep, dko_cell)
    dko.show_heatmap(sweep, None)
    dko.show_gene(sweep, dko_gene)
    dko.show_top_genes(sweep, dko_cell, 12)

    trained = {"epochs": tnet.DEFAULT_EPOCHS, "width": tnet.DEFAULT_WIDTH, "cached": True}
    tnet_gene = tnet.default_gene()
    perturbation.show_network(tnet_gene)
    perturbation.show_results(trained, tnet_gene, "RNAi")

    gene.draw_figure(target)
    genes.layout(genes="RPP25L,SIM0033,NOPE")


def _draw_job_figures() -> None:
    """The builders behind a user's run, on frames shaped as their jobs' results."""
    from dashboard.figures import decode, dko, essentiality, perturbation

    rng = np.random.default_rng(0)
    cells = [f"CELL{i}" for i in range(40)]
    predictions = pd.DataFrame({"cell": cells, "split": "test", "fold": np.arange(40) % 4,
                                "actual": rng.normal(size=40), "predicted": rng.normal(size=40)})
    folds = pd.DataFrame({"fold": range(4), "test_pearson": [0.5, 0.6, 0.4, 0.55], "test_pearson_p": [1e-3] * 4,
                          "n_test": 10, "chosen_model": "ridge", "n_modifiers": 5})
    essentiality.cv_figure(predictions, folds, "RPP25L", 0.5, 1e-3, (0.2, 0.7))
    errors = pd.DataFrame({"group": ["Global"] * 20 + ["Lung"] * 20, "abs_error": rng.random(40)})
    essentiality.heldout_figure(errors, "RPP25L")  # a full analysis's held-out lineages
    effects = pd.DataFrame({"kind": ["region"] * 3 + ["regulator"] * 2, "term": ["p1", "p2", "m1", "TF1", "TF2"],
                            "effect": [0.1, -0.2, 0.05, 0.3, -0.1], "se": 0.05, "p_bonferroni": [0.01, 0.2, 1, 0.001, 0.5]})
    decode.effects_figure(effects, "region", "SIM0001", "SIM0002")
    genes = ["A", "B", "C"]
    mean = pd.DataFrame([[np.nan, 0.1, -0.2], [0.1, np.nan, 0.05], [-0.2, 0.05, np.nan]], index=genes, columns=genes)
    dko.epistasis_figure(mean, pd.DataFrame(5, index=genes, columns=genes))
    table = pd.DataFrame({"rank": [1, 2, 3], "gene": ["[G1](/x)", "G2", "G3"], "type": "RNAi",
                          "signature": ["measured", "predicted", "measured"], "status": "held-out",
                          "score": [0.8, 0.1, -0.7], "normalized_score": [1.5, 0.2, -1.3], "perm_p": [1e-3, 0.5, 2e-3],
                          "q": [0.01, 0.6, 0.01]})
    perturbation.connectivity_figure(table, "query")


def test_every_figure_builder_is_drawn(drawn):
    builders, figures = drawn
    missing = sorted(set(builders) - set(figures))
    assert missing == [], missing


def test_every_figure_csv_names_its_columns(drawn):
    _, figures = drawn
    for key, figs in figures.items():
        for fig in figs:
            frame = figure_to_frame(fig.to_plotly_json())
            assert has_named_columns(fig), key
            assert not GENERIC & set(frame.columns), (key, list(frame.columns))
            assert not any(str(c).startswith(("customdata", "marker_", "trace ")) for c in frame.columns), key
            assert len(frame) and all(frame[c].notna().any() for c in frame.columns), (key, list(frame.columns))


def test_lineage_weights_are_a_clean_matrix(drawn):
    """Heatmap rows as clean labels with their counts beside, not "Lung (n = 103)"."""
    fig = drawn[1]["essentiality.lineage_weights_figure"][0]
    frame = figure_to_frame(fig)
    assert list(frame.columns) == ["lineage", "n_cell_lines", "modifier_gene", "standardised_weight"]
    assert not frame["lineage"].str.contains(r"\(n =").any()
    matrix = frame.pivot(index="lineage", columns="modifier_gene", values="standardised_weight")
    z = np.asarray(fig.data[0].z, dtype=float)
    assert matrix.shape == z.shape and np.nansum(np.abs(matrix.to_numpy())) == pytest.approx(np.nansum(np.abs(z)))


def test_csv_has_provenance_lines_pandas_skips(drawn):
    fig = drawn[1]["essentiality.predicted_actual_figure"][0]
    content, filename = exports.build_download(fig.to_plotly_json(), "csv")
    header = [line for line in content.splitlines() if line.startswith("# ")]
    assert any(line.startswith("# Source: ") for line in header) and any("RPP25L" in line for line in header)
    assert any(line == "# Warning: Simulated demo data" for line in header)
    frame = pd.read_csv(io.StringIO(content), comment="#", float_precision="round_trip")
    assert list(frame.columns) == ["cell_line", "lineage", "split", "actual_gene_effect", "predicted_gene_effect"]
    assert frame["lineage"].notna().all() and frame["lineage"].nunique() > 1
    drawn_x = np.concatenate([np.asarray(t.x, float) for t in fig.data if t.meta])
    np.testing.assert_array_equal(frame["actual_gene_effect"].to_numpy(), drawn_x)  # full precision
    assert set(frame["split"]) <= {"train", "validation", "test"} and filename.endswith(".csv")


def test_a_hash_inside_a_value_is_data_not_a_comment():
    from dashboard.figures.common import csv_columns

    fig = go.Figure(go.Bar(x=["a #1", "b"], y=[1.5, 2.0], meta=csv_columns(label="x", value="y")))
    from dashboard.export import figure_to_csv

    back = pd.read_csv(io.StringIO(figure_to_csv(fig, {"view": "v", "gene": "G"})), comment="#")
    assert back["label"].tolist() == ["a #1", "b"] and back["value"].tolist() == [1.5, 2.0]


def test_foreign_figures_keep_the_generic_fallback():
    frame = figure_to_frame(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])))
    assert list(frame.columns) == ["trace", "type", "x", "y"]
