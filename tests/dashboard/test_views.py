"""Stored gene views (dashboard/services/views.py) and gzip-compressed JSON answers (dashboard/compression.py)."""

from __future__ import annotations

import gzip
import json

import pytest

import app as app_module
from dashboard import services
from dashboard.pages import essentiality
from dashboard.services import views
from tests.browser import loadgen


@pytest.fixture
def counted_lineage_figures(monkeypatch):
    """Count how often the lineage view draws its figure (the page's figure builder, wrapped)."""
    calls = []
    real = essentiality.effect_by_lineage_figure

    def counting(*args, **kwargs):
        calls.append(args[-1])
        return real(*args, **kwargs)

    monkeypatch.setattr(essentiality, "effect_by_lineage_figure", counting)
    return calls


def test_a_view_is_stored_once_and_then_read(counted_lineage_figures):
    gene = "KIF11"
    key = views.view_key("essentiality", "effect-by-lineage", gene, {})
    first = essentiality.show_lineages(gene)
    stored = services.store().get(key)
    assert stored is not None and json.loads(stored["outputs"]) == first  # the figure JSON, in the artifact store
    second = essentiality.show_lineages(gene)
    assert second == first and counted_lineage_figures == [gene]  # the second answer drew nothing
    assert first[0]["layout"]["meta"]["provenance"]["gene"] == gene and gene in first[2]


def test_the_key_names_dataset_gene_view_parameters_and_code():
    key = views.view_key("essentiality", "screen", "MCL1", {"n_permutations": 50})
    assert key.startswith("views.essentiality/")
    assert len({key, views.view_key("essentiality", "screen", "MCL1", {"n_permutations": 51}),
                views.view_key("essentiality", "screen", "KRAS", {"n_permutations": 50}),
                views.view_key("essentiality", "lineage", "MCL1", {"n_permutations": 50})}) == 4
    assert len(views.code_version()) == 16


def test_new_code_draws_the_view_again(counted_lineage_figures, monkeypatch):
    essentiality.show_lineages("PLK1")
    monkeypatch.setattr(views, "code_version", lambda: "edited-figure-code")
    again = essentiality.show_lineages("PLK1")
    assert counted_lineage_figures == ["PLK1", "PLK1"] and again[0]["data"]


def test_a_screen_view_is_stored_with_its_permutations():
    from dashboard.services import essentiality as screen_service

    assert screen_service.screen.run(target="AURKB", n_permutations=0).error is None
    result = {"target": "AURKB", "n_permutations": 0, "source": services.DEFAULT_DATASET, "cached": True}
    top, _, _, scatter, _, _, rows, status = essentiality.show_screen(result)
    assert services.store().get(views.view_key("essentiality", "screen", "AURKB", {"n_permutations": 0}))
    assert services.store().get(views.view_key("essentiality", "screen", "AURKB", {"n_permutations": 10})) is None
    assert "AURKB" in top["layout"]["title"]["text"] and scatter["data"] and rows[0]["gene"]
    assert status == "Loaded the stored result."


# --- compression ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    with app_module.server.test_client() as test_client:
        assert test_client.get("/_dash-dependencies").status_code == 200
        yield test_client


def test_json_answers_are_gzipped_for_clients_that_accept_it(client):
    body = loadgen.callback_body(app_module.app, '"ess-lineage","type":"figure"}.figure', "ess-target", "MCL1",
                                 services.DEFAULT_DATASET)
    zipped = client.post("/_dash-update-component", json=body, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert zipped.status_code == 200 and zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    answer = json.loads(gzip.decompress(zipped.data))
    figure = next(v["figure"] for v in answer["response"].values() if "figure" in v)
    assert figure["layout"]["meta"]["provenance"]["gene"] == "MCL1"
    plain = client.post("/_dash-update-component", json=body)
    assert "Content-Encoding" not in plain.headers and json.loads(plain.data) == answer
    assert len(zipped.data) < len(plain.data) / 3
    refused = client.post("/_dash-update-component", json=body, headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
    # other JSON (the layout) too; HTML pages and files are left as they are
    assert client.get("/_dash-layout", headers={"Accept-Encoding": "gzip"}).headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in client.get("/", headers={"Accept-Encoding": "gzip"}).headers
