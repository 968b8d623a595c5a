"""DKO core: the estimator, fast knockouts against the naive forward pass, exports, validation."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.spatial.distance import braycurtis

from core.datasets import make_dko_demo
from core.dko import (
    DKO, assemblages, cell_embedding, cluster_impacts, double_knockout_impacts, heldout_evaluation, impact_export,
    impact_matrix, knockout_design, knockout_impacts, naive_knockout_impacts, profiles,
)
from sklearn.exceptions import NotFittedError

from core.errors import InputError
from tests.conftest import ROOT, SHARED_DATA

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def small():
    return make_dko_demo(seed=3, n_genes=30, n_cells=160, n_cell_types=3, n_knockouts=120)


@pytest.fixture(scope="module")
def fitted(small):
    return DKO(n_steps=400, val_every=2, random_state=0).fit(small.expression)


def _random_model(n_genes, seed=0):
    rng = np.random.default_rng(seed)
    weights = {"W1": rng.normal(0, 0.3, (n_genes, n_genes)), "b1": rng.normal(0, 0.3, n_genes),
               "W2": rng.normal(0, 0.3, (n_genes, n_genes)), "b2": rng.normal(0, 0.3, n_genes)}
    return DKO.from_weights(weights, [f"gene_{i + 1}" for i in range(n_genes)])


def _random_expression(n_genes, n_cells, seed=0, present=0.6):
    rng = np.random.default_rng(seed)
    values = rng.gamma(2.0, 1.0, (n_genes, n_cells)) * (rng.random((n_genes, n_cells)) < present)
    values[0, :] += 0.5  # every cell expresses something
    return pd.DataFrame(values, index=[f"gene_{i + 1}" for i in range(n_genes)],
                        columns=[f"cell_{j + 1}" for j in range(n_cells)])


# --- the model and the estimator ------------------------------------------------

def test_profiles_and_assemblages():
    x = np.array([[2.0, 0.0], [0.0, 1.0], [6.0, 3.0]])
    np.testing.assert_allclose(profiles(x), [[0.25, 0], [0, 0.25], [0.75, 0.75]])
    np.testing.assert_allclose(assemblages(x), [[0.5, 0], [0, 0.5], [0.5, 0.5]])


def test_predict_is_the_authors_forward_pass(fitted, small):
    z = torch.from_numpy(assemblages(small.expression.to_numpy()).T.astype(np.float32))
    with torch.no_grad():
        lin = fitted.module_
        out = z * torch.abs(lin.fcc2(lin.fcc1(z)))
        ref = (out / out.sum(dim=1, keepdim=True)).numpy().T
    pred = fitted.predict(small.expression)
    np.testing.assert_allclose(pred.to_numpy(), ref, atol=2e-6)
    assert (pred.to_numpy()[small.expression.to_numpy() == 0] == 0).all()
    np.testing.assert_allclose(pred.sum().to_numpy(), 1.0)


def test_fit_contract_seed_and_best_step(small, fitted):
    assert fitted.get_params()["n_steps"] == 400
    assert set(fitted.train_cells_).isdisjoint(fitted.val_cells_)
    assert len(fitted.val_cells_) == 32 and len(fitted.train_cells_) == 128
    hist = fitted.history_
    assert fitted.best_val_loss_ == pytest.approx(hist["val_loss"].min())
    assert fitted.best_step_ == int(hist.loc[hist["val_loss"] == hist["val_loss"].min(), "step"].max())
    again = DKO(n_steps=400, val_every=2, random_state=0).fit(small.expression)
    np.testing.assert_array_equal(again.weights()["W1"], fitted.weights()["W1"])
    other = DKO(n_steps=400, val_every=2, random_state=1).fit(small.expression)
    assert not np.array_equal(other.weights()["W1"], fitted.weights()["W1"])


def test_training_learns_better_than_the_uniform_guess(small, fitted):
    values = small.expression[fitted.val_cells_].to_numpy()
    uniform = np.mean([braycurtis(a, p) for a, p in zip(assemblages(values).T, profiles(values).T)])
    assert fitted.history_["val_loss"].iloc[0] > fitted.best_val_loss_
    assert fitted.best_val_loss_ < 0.7 * uniform


@pytest.mark.parametrize("params,fragment", [
    ({"n_steps": 0}, "n_steps"), ({"batch_size": 0}, "batch_size"), ({"learning_rate": -1}, "learning_rate"),
    ({"validation_fraction": 1.5}, "validation_fraction"), ({"val_every": 0}, "val_every"),
])
def test_bad_hyperparameters_raise_input_error(small, params, fragment):
    with pytest.raises(InputError, match=fragment):
        DKO(**params).fit(small.expression)


def test_bad_input_and_unfitted_model(small):
    bad = small.expression.copy()
    bad.iloc[0, 0] = -1.0
    with pytest.raises(InputError, match="negative"):
        DKO(n_steps=2).fit(bad)
    with pytest.raises(NotFittedError, match="not trained"):
        DKO().predict(small.expression)
    with pytest.raises(InputError, match="missing"):
        _random_model(5).predict(small.expression)


def test_save_and_load_round_trip(tmp_path, fitted, small):
    fitted.save(tmp_path / "dko.pt")
    loaded = DKO.load(tmp_path / "dko.pt")
    pd.testing.assert_frame_equal(loaded.predict(small.expression), fitted.predict(small.expression))
    assert loaded.best_step_ == fitted.best_step_
    state = torch.load(tmp_path / "dko.pt", weights_only=True)
    assert set(state) == {"fcc1.weight", "fcc1.bias", "fcc2.weight", "fcc2.bias"}


# --- knockouts ---------------------------------------------------------------------

def test_all_single_knockouts_equal_the_naive_forward_pass():
    expr = _random_expression(25, 12, seed=1)
    expr.iloc[:, 3] = 0.0
    expr.iloc[4, 3] = 2.0  # a cell with one present gene: nothing left after the knockout
    model = _random_model(25, seed=2)
    table = knockout_impacts(model, expr)
    assert len(table) == int((expr > 0).to_numpy().sum())
    assert table.loc[table["cell"] == "cell_4", "impact"].isna().all()
    rest = table[table["cell"] != "cell_4"].reset_index(drop=True)
    naive = naive_knockout_impacts(model, expr, rest[["gene", "cell"]])
    np.testing.assert_allclose(rest["impact"], naive["impact"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(rest["impact_others"], naive["impact_others"], atol=1e-6, rtol=0)
    # the authors' order: cell-major, genes ascending within a cell
    first = rest[rest["cell"] == "cell_1"]["gene"].tolist()
    assert first == [g for g in expr.index if expr.at[g, "cell_1"] > 0]


def test_knockouts_of_a_trained_model_and_subsets(fitted, small):
    table = knockout_impacts(fitted, small.expression, genes=small.keystones[:2], cells=small.expression.columns[:20])
    assert set(table["gene"]) <= set(small.keystones[:2]) and table["cell"].nunique() <= 20
    naive = naive_knockout_impacts(fitted, small.expression, table[["gene", "cell"]])
    np.testing.assert_allclose(table["impact"], naive["impact"], atol=1e-6, rtol=0)
    with pytest.raises(InputError, match="not in the model"):
        knockout_impacts(fitted, small.expression, genes=["NOPE"])


def test_double_knockouts_equal_the_naive_forward_pass():
    expr = _random_expression(20, 10, seed=4)
    model = _random_model(20, seed=5)
    table = double_knockout_impacts(model, expr, genes=["gene_1", "gene_3", "gene_7", "gene_12"])
    naive = naive_knockout_impacts(model, expr, table[["gene1", "gene2", "cell"]].rename(columns={"gene1": "gene"}))
    np.testing.assert_allclose(table["impact"], naive["impact"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(table["impact_others"], naive["impact_others"], atol=1e-6, rtol=0)
    single = knockout_impacts(model, expr).set_index(["gene", "cell"])["impact"]
    np.testing.assert_allclose(table["impact1"], single.loc[list(zip(table["gene1"], table["cell"]))], atol=1e-12)
    np.testing.assert_allclose(table["epistasis"], table["impact"] - table["impact1"] - table["impact2"])
    # every pair in every cell where both genes are present
    present = expr > 0
    expected = sum(int(present.loc[a, c] and present.loc[b, c]) for c in expr.columns
                   for i, a in enumerate(["gene_1", "gene_3", "gene_7", "gene_12"])
                   for b in ["gene_1", "gene_3", "gene_7", "gene_12"][i + 1:])
    assert len(table) == expected


def test_random_double_knockouts_as_the_authors():
    expr = _random_expression(15, 30, seed=6)
    model = _random_model(15, seed=7)
    a = double_knockout_impacts(model, expr, n_random=200, seed=2026)
    b = double_knockout_impacts(model, expr, n_random=200, seed=2026)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 200 and not a.duplicated(["gene1", "gene2", "cell"]).any()
    pos = {g: i for i, g in enumerate(expr.index)}
    assert (a["gene1"].map(pos) < a["gene2"].map(pos)).all()
    assert all(expr.at[g, c] > 0 for g, c in zip(a["gene1"], a["cell"]))
    pairs = double_knockout_impacts(model, expr, pairs=[("gene_5", "gene_2")])
    assert set(pairs["gene1"]) == {"gene_2"}
    with pytest.raises(InputError, match="one of"):
        double_knockout_impacts(model, expr, genes=["gene_1", "gene_2"], n_random=5)


# --- step 1, exports, exploration ------------------------------------------------------

def test_heldout_evaluation_matches_scipy(small):
    result = heldout_evaluation(small.expression, n_steps=150, val_every=5)
    assert len(result.per_cell) == 32
    cell = result.per_cell["cell"].iloc[0]
    assert result.per_cell["bray_curtis"].iloc[0] == pytest.approx(
        braycurtis(result.predicted[cell], result.true[cell]))
    assert set(result.per_cell["cell"]).isdisjoint(result.model.train_cells_.union(result.model.val_cells_))
    row = result.per_gene.iloc[0]
    mask = result.true.iloc[0] > 0
    assert row["pearson_r"] == pytest.approx(np.corrcoef(result.predicted.iloc[0][mask], result.true.iloc[0][mask])[0, 1])


def test_knockout_design_and_impact_export():
    expr = _random_expression(6, 3, seed=8)
    ptest, recorder = knockout_design(expr)
    assert ptest.shape == (6, int((expr > 0).to_numpy().sum()))
    for k, (g, c) in enumerate(zip(recorder["gene_id"], recorder["cell_id"])):
        expected = expr.iloc[:, c - 1].to_numpy().copy()
        assert expected[g - 1] > 0
        expected[g - 1] = 0
        np.testing.assert_array_equal(ptest.iloc[:, k].to_numpy(), expected)
    table = knockout_impacts(_random_model(6), expr)
    out = impact_export(table, expr.index, expr.columns)
    np.testing.assert_array_equal(out[["gene_id", "cell_id"]].to_numpy(), recorder.to_numpy())
    assert list(out.columns[:3]) == ["gene_id", "cell_id", "k_pred"]


def test_clustering_orders_and_means():
    expr = _random_expression(12, 40, seed=9)
    table = knockout_impacts(_random_model(12, seed=10), expr)
    matrix = impact_matrix(table, expr.index, expr.columns)
    assert np.isnan(matrix.to_numpy()[expr.to_numpy() == 0]).all()
    clusters = cluster_impacts(matrix, n_clusters=4)
    assert sorted(clusters.cell_order) == sorted(expr.columns) and sorted(clusters.gene_order) == sorted(expr.index)
    members = clusters.cell_cluster[clusters.cell_cluster == "C2"].index
    np.testing.assert_allclose(clusters.means["C2"], matrix[members].fillna(0).mean(axis=1).loc[clusters.gene_order])
    # cells of one cluster are contiguous in the display order
    labels = clusters.cell_cluster.loc[clusters.cell_order].to_numpy()
    assert (labels[1:] != labels[:-1]).sum() == 3


def test_embedding_is_pca_of_hellinger_profiles():
    from sklearn.decomposition import PCA

    expr = _random_expression(10, 30, seed=11)
    emb = cell_embedding(expr)
    ref = PCA(2).fit_transform(np.sqrt(profiles(expr.to_numpy())).T)
    for k, col in enumerate(["pc1", "pc2"]):
        assert abs(np.corrcoef(emb[col], ref[:, k])[0, 1]) == pytest.approx(1.0)


# --- validation ------------------------------------------------------------------------

def test_predicted_impacts_track_the_simulators_true_knockouts(small):
    from core.dko.validate import validate_demo

    result = validate_demo(small, n_steps=600, val_every=3)
    assert result["impact_spearman"] > 0.6, result


@pytest.mark.skipif(not (SHARED_DATA / "dko_example").is_dir(), reason="shared data absent")
def test_agrees_with_the_authors_example_outputs():
    from core.dko.validate import validate_example

    result = validate_example(SHARED_DATA / "dko_example", n_steps=1500, val_every=5)
    assert abs(result["heldout_bray_curtis_median_ours"] - result["heldout_bray_curtis_median_authors"]) < 0.02, result
    assert result["n_matched"] == result["n_knockouts_authors"] == 39343
    assert result["impact_spearman_all"] > 0.9, result
    assert result["impact_spearman_per_cell_median"] > 0.85, result


def test_import_core_dko_loads_no_torch():
    code = "import sys, core.dko, core.datasets.singlecell; print('torch' in sys.modules, 'dash' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_int_labelled_frames_as_read_from_the_authors_ptrain_csv(small, tmp_path):
    """pd.read_csv("Ptrain.csv", header=None) gives integer labels; every entry point accepts the same frame."""
    small.expression.to_csv(tmp_path / "Ptrain.csv", header=False, index=False)
    P = pd.read_csv(tmp_path / "Ptrain.csv", header=None)
    assert P.index.dtype.kind == "i" and P.columns.dtype.kind == "i"
    model = DKO(n_steps=60, val_every=2, random_state=0).fit(P)
    predicted = model.predict(P)
    pd.testing.assert_index_equal(predicted.index, P.index, exact=False)
    pd.testing.assert_index_equal(predicted.columns, P.columns)
    impacts = knockout_impacts(model, P)
    assert len(impacts) == int((P > 0).to_numpy().sum())
    assert set(knockout_impacts(model, P, cells=[0, 1])["cell"]) == {"0", "1"}
    pairs = double_knockout_impacts(model, P, n_random=3, cells=[0])
    assert len(pairs) == 3 and set(pairs["cell"]) == {"0"}
    assert len(double_knockout_impacts(model, P, genes=[0, 1, 2])) > 0
    model.save(tmp_path / "dko.pt")  # a saved model keeps its genes as text: the int frame still fits
    np.testing.assert_allclose(DKO.load(tmp_path / "dko.pt").predict(P).to_numpy(), predicted.to_numpy())
