"""DKO page callbacks called as plain functions (no browser): job, figures, CSV, download, errors."""

import io

import numpy as np
import pandas as pd
import pytest
import torch

import app  # noqa: F401  (registers pages and callbacks)
from dashboard import exports, services
from dashboard.pages import dko as page
from dashboard.services import dko as dko_service

torch.set_num_threads(1)
STEPS = 150
GENES = ["SIM0033", "SIM0061", "SIM0076", "SIM0001"]


@pytest.fixture(scope="module")
def result():
    outcome = dko_service.dko_sweep(STEPS)
    assert outcome.error is None, outcome.error
    return {"steps": STEPS, "seconds": outcome.seconds}


@pytest.fixture(scope="module")
def payload(result):
    return dko_service.sweep_result(STEPS)


def _csv(fig):
    content, filename = exports.build_download(fig.to_plotly_json(), "csv")
    return pd.read_csv(io.StringIO(content)), filename


def test_layout_reads_url_parameters():
    assert page.layout(gene="nonexistent", cell="SIMCELL-0003", k="7", steps="abc", set="SIM0033,NOPE") is not None
    assert page._gene_set("SIM0033,NOPE,SIM0061") == ["SIM0033", "SIM0061"]
    assert page._steps("99999") == 20000 and page._steps(None) == dko_service.DEFAULT_STEPS


def test_cached_sweep_is_found_and_missing_one_is_not(result):
    assert page.load_cached_sweep(STEPS) == {"steps": STEPS, "cached": True}
    assert page.load_cached_sweep(STEPS + 50) is None
    summary, status, fig, _config, methods = page.show_training({"steps": STEPS, "cached": True})
    assert status == "Loaded the stored result." and "65,785 single knockouts" in summary
    assert "held-out cells" in methods


def test_heldout_histogram_draws_the_per_cell_errors(result, payload):
    _summary, _status, fig, _config, _methods = page.show_training(result)
    np.testing.assert_allclose(np.sort(fig.data[0].x), np.sort(payload["per_cell"]["bray_curtis"]))
    frame, name = _csv(fig)
    assert len(frame) == len(payload["per_cell"]) == 160 and name.endswith(".csv")


def test_cell_fit_uses_the_heldout_prediction(result, payload):
    cell = payload["heldout_cells"][0]
    fig, _config, methods = page.show_cell_fit(result, cell)
    expr = services.dataset("dko").expression
    present = expr[cell] > 0
    np.testing.assert_allclose(fig.data[1].x, (expr[cell] / expr[cell].sum())[present])
    np.testing.assert_allclose(fig.data[1].y, payload["heldout_predicted"][:, 0][present.to_numpy()])
    assert "held out from" in methods


def test_heatmap_cluster_means_and_drill_down(result, payload):
    fig, _config, _methods = page.show_heatmap(result, "all")
    z = np.asarray(fig.data[0].z, dtype=float)
    table = payload["table"]
    clusters = payload["cell_cluster"].set_index("cell")["cluster"]
    gene = fig.data[0].y[0]
    members = clusters[clusters == "C1"].index
    expected = table[(table["gene"] == gene) & table["cell"].isin(members)]["impact"].sum() / len(members)
    assert z[0, 0] == pytest.approx(expected)
    frame, _ = _csv(fig)
    assert len(frame) == z.size
    drill, _c, _m = page.show_heatmap(result, "C2")
    assert set(drill.data[0].x) <= set(clusters[clusters == "C2"].index)
    assert page.show_heatmap(result, "C99")[0].layout.annotations  # an explained blank, not a crash


def test_gene_views_draw_its_impacts(result, payload):
    violin, _c, _m, emb, _c2, _m2 = page.show_gene(result, "SIM0033")
    part = payload["table"][payload["table"]["gene"] == "SIM0033"]
    assert sum(len(t.y) for t in violin.data) == len(part)
    colours = pd.Series(emb.data[1].marker.color, index=emb.data[1].text)
    np.testing.assert_allclose(colours.loc[part["cell"]].to_numpy(), part["impact"].to_numpy())
    assert len(emb.data[0].x) + len(emb.data[1].x) == 800


def test_top_genes_are_the_largest_impacts(result, payload):
    fig, _c, _m = page.show_top_genes(result, "SIMCELL-0005", 7)
    part = payload["table"][payload["table"]["cell"] == "SIMCELL-0005"].nlargest(7, "impact")
    assert list(fig.data[0].y[::-1]) == list(part["gene"])
    frame, _ = _csv(fig)
    np.testing.assert_allclose(np.sort(frame["x"]), np.sort(part["impact"]))


def test_double_knockout_job_and_matrix(result):
    outcome = dko_service.dko_double(STEPS, GENES)
    assert outcome.error is None
    assert page.load_cached_double(STEPS, GENES)["cached"] is True
    fig, _c, methods, status = page.show_double({"steps": STEPS, "genes": GENES})
    z = np.asarray(fig.data[0].z, dtype=float)
    np.testing.assert_allclose(z, z.T)
    table = dko_service.double_result(STEPS, GENES)
    genes = list(fig.data[0].x)
    pair = table[(table["gene1"] == genes[0]) & (table["gene2"] == genes[1])]
    assert z[0, 1] == pytest.approx(pair["epistasis"].mean())
    assert fig.data[0].zmid == 0 and "Epistasis" in methods


def test_bad_input_gives_messages_not_crashes(result):
    assert "at least 2 genes" in dko_service.dko_double(STEPS, ["SIM0033"]).error
    assert "between 50 and 20,000" in dko_service.dko_double(10, GENES).error
    assert "train the model first" in dko_service.dko_double(STEPS + 50, GENES).error.lower()
    _data, message = page.download_table(1, STEPS + 50)
    assert "Train and knock out first" in message


def test_full_impact_table_download(result):
    data, message = page.download_table(1, STEPS)
    assert message == "" and data["filename"] == f"dko_impacts_steps{STEPS}.csv"
    frame = pd.read_csv(io.StringIO(data["content"]))
    assert len(frame) == 65785 and list(frame.columns[:3]) == ["gene_id", "cell_id", "k_pred"]
    assert frame["gene_id"].min() == 1 and frame["cell_id"].min() == 1
