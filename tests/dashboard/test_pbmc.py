"""Real data, as a scanpy user has it: ``10x_pbmc68k_reduced.h5ad`` through the Datasets page and the DKO page.

The file ships inside the scanpy wheel (a test dependency, pinned in
requirements-test.txt; scanpy is BSD-3-Clause): 700 peripheral blood
mononuclear cells x 765 genes from 10x Genomics' "Fresh 68k PBMCs (Donor A)"
(Zheng et al. 2017, Nat Commun 8:14049), reduced by scanpy's authors. ``X`` holds
scaled values (negative), ``.raw`` log-normalised expression, ``obs`` the cell
types ``bulk_labels`` and ``louvain`` clusters, ``obsm`` a UMAP; ``var`` flags 309
highly variable genes. Nothing is downloaded: the file is read from the
installed wheel.
"""

from __future__ import annotations

import base64
import importlib.util
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import app  # noqa: F401  (registers pages and callbacks)
from core.datasets.scverse import read_singlecell_file
from core.dko import mean_profile_baseline, top_knockouts_by_group
from dashboard import services
from dashboard.pages import datasets as datasets_page
from dashboard.pages import dko as page
from dashboard.services import datasets as datasets_service
from dashboard.services import dko as dko_service
from tests.dashboard.helpers import find_component

STEPS = 600  # enough to beat the baselines by far (the page defaults to 2,000)


def _pbmc() -> Path:
    spec = importlib.util.find_spec("scanpy")
    if spec is None:
        pytest.skip("scanpy (a test dependency: pip install -r requirements-test.txt) is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "10x_pbmc68k_reduced.h5ad"


PBMC = _pbmc()


@pytest.fixture(scope="module")
def pbmc(tmp_path_factory):
    """The file uploaded and registered through the Datasets page's services, highly variable genes chosen."""
    import torch

    from core.datasets.registry import DatasetRegistry

    torch.set_num_threads(1)
    reg = DatasetRegistry(tmp_path_factory.mktemp("pbmc") / "registry")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "registry", lambda: reg)
        upload = "data:application/octet-stream;base64," + base64.b64encode(PBMC.read_bytes()).decode()
        staged, status = datasets_page.upload_files(upload, PBMC.name)
        assert PBMC.name in status
        options, default, listing = datasets_page.matrix_choices({"matrix": staged}, {})
        assert default == "raw"
        assert {o["value"]: o["disabled"] for o in options} == {"X": True, "raw": False}
        assert "309 highly variable genes" in str(listing)
        entry, report, created = datasets_service.register("dko", "PBMC 68k reduced", {"matrix": staged}, {},
                                                           options={"genes": "hvg"})
        assert entry is not None and created, report.checks
        yield {"source": entry.ident, "report": report, "registry": reg}


def test_the_loader_lists_the_matrices_and_takes_raw_by_default():
    file = read_singlecell_file(PBMC)
    by_key = {c.key: c for c in file.choices}
    assert file.chosen == "raw" and file.is_sparse and not by_key["X"].usable
    assert by_key["X"].low < 0 and by_key["raw"].low == 0


def test_registered_with_raw_its_own_hvgs_annotations_and_umap(pbmc):
    checks = " | ".join(text for _, text in pbmc["report"].checks)
    assert "expression from .raw (default" in checks and "X: 700 cells x 765 genes (dense), values -" in checks
    assert "309 highly variable genes" in checks and "DKO needs it dense: 309 genes x 700 cells" in checks
    assert "bulk_labels (10 groups)" in checks and "louvain (11 groups)" in checks and "X_umap" in checks
    data = pbmc["registry"].load("dko", pbmc["source"])
    assert data.expression.shape == (309, 700) and data.params["default_grouping"] == "bulk_labels"
    raw = read_singlecell_file(PBMC)
    hvg = raw.highly_variable.to_numpy()
    np.testing.assert_allclose(data.expression.to_numpy(), raw.matrix[:, hvg].toarray().T)


@pytest.fixture(scope="module")
def sweep(pbmc):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "registry", lambda: pbmc["registry"])
        outcome = dko_service.sweep.run(steps=STEPS, source=pbmc["source"])
        assert outcome.error is None, outcome.error
        yield {"source": pbmc["source"], "payload": dko_service.sweep.result(steps=STEPS, source=pbmc["source"]),
               "result": {"steps": STEPS, "cached": True}, "registry": pbmc["registry"]}


@pytest.fixture
def on_registry(sweep, monkeypatch):
    monkeypatch.setattr(services, "registry", lambda: sweep["registry"])
    return sweep


def test_dko_beats_the_mean_profile_baseline_on_heldout_cells(on_registry):
    payload, source = on_registry["payload"], on_registry["source"]
    expr = services.dataset("dko", source).expression
    held = payload["per_cell"]
    assert len(held) == 140
    base = mean_profile_baseline(expr, held["cell"]).merge(held, on="cell")
    assert base["bray_curtis"].median() < 0.5 * base["mean"].median()
    assert base["bray_curtis"].median() < base["mean_present"].median()  # also when the baseline knows the genes
    assert (base["bray_curtis"] < base["mean"]).mean() > 0.95


def test_heatmap_violins_cells_and_export_group_by_bulk_labels(on_registry):
    source, result, payload = on_registry["source"], on_registry["result"], on_registry["payload"]
    cells = services.dataset("dko", source).cells
    labels = cells["obs:bulk_labels"]
    view = page.layout(data=source, steps=str(STEPS))
    assert find_component(view, "q-group").value == "obs:bulk_labels"
    assert find_component(view, "q-embedding").value == "X_umap"
    heat, _config, methods = page.show_heatmap(result, "all", source, None)  # the default grouping
    columns = [c.rsplit(" (n=", 1)[0] for c in heat.data[0].x]
    assert sorted(columns) == sorted(labels.unique()) and len(columns) == 10
    assert "'bulk_labels'" in methods and heat.layout.xaxis.title.text == "bulk_labels"
    z = np.asarray(heat.data[0].z, dtype=float)
    gene, group = heat.data[0].y[0], columns[0]
    members = labels[labels == group].index
    table = payload["table"]
    expected = table[(table["gene"] == gene) & table["cell"].isin(members)]["impact"].sum() / len(members)
    assert z[0, 0] == pytest.approx(expected)
    drill, _c, _m = page.show_heatmap(result, "CD56+ NK", source, "obs:bulk_labels")
    assert set(drill.data[0].x) <= set(labels[labels == "CD56+ NK"].index)
    kmeans, _c, _m = page.show_heatmap(result, "all", source, "kmeans")
    assert all(str(x).startswith("C") for x in kmeans.data[0].x)
    assert [o["value"] for o in page.show_cluster_choices(result, source, "obs:louvain")][1:] == list(
        cells["obs:louvain"].value_counts().index)
    violin, _c, _m, emb, _c2, methods_e = page.show_gene(result, "GNLY", source, "obs:bulk_labels", "X_umap")
    assert {t.name for t in violin.data} <= set(labels.unique())
    coords = pd.DataFrame({"x": np.concatenate([t.x for t in emb.data]), "y": np.concatenate([t.y for t in emb.data])},
                          index=np.concatenate([t.text for t in emb.data]))
    np.testing.assert_allclose(coords.loc[cells.index, "x"], cells["obsm:X_umap:1"])
    assert "UMAP" in emb.layout.xaxis.title.text and "bulk_labels: " in emb.data[1].hovertext[0]
    options = page.show_cell_choices(result, source, "obs:bulk_labels")
    assert options[0]["label"] == f"{options[0]['value']} · {labels[options[0]['value']]}"
    data, message = page.download_table(1, STEPS, source, "obs:bulk_labels")
    frame = pd.read_csv(io.StringIO(data["content"]))
    assert message == "" and "bulk_labels" in frame.columns
    assert (frame["bulk_labels"] == labels.reindex(frame["cell"]).to_numpy()).all()


def test_top_knockouts_per_cell_type_are_ranked_by_mean_impact(on_registry):
    source, payload = on_registry["source"], on_registry["payload"]
    labels = services.dataset("dko", source).cells["obs:bulk_labels"]
    tops = top_knockouts_by_group(payload["table"], labels, n=3)
    assert set(tops["group"]) == set(labels) and (tops.groupby("group").size() == 3).all()
    nk = tops[tops["group"] == "CD56+ NK"]
    table = payload["table"]
    in_nk = table[table["cell"].isin(labels[labels == "CD56+ NK"].index)]
    means = in_nk.groupby("gene")["impact"].sum() / int((labels == "CD56+ NK").sum())
    assert list(nk["gene"]) == list(means.nlargest(3).index)
    assert list(nk["mean_impact"]) == pytest.approx(list(means.nlargest(3)))
