"""evaluate_gene, lineage_weights, fit_tree and heldout_lineage_errors on the demo data."""

import numpy as np
import pandas as pd
import pytest
import torch

from core.cache import ArtifactStore
from core.errors import InputError
from core.essentiality import (GeneReport, TreeResult, evaluate_gene, fit_tree, heldout_lineage_errors,
                               lineage_weights)

torch.set_num_threads(1)
FAST_MLP = {"max_epochs": 60, "patience": 20}


@pytest.fixture(scope="module")
def demo():
    from core.datasets import load_demo

    return load_demo("essentiality")


@pytest.fixture(scope="module")
def small(demo):
    """400 cells x 600 genes (all planted genes kept): fast, same planted truth."""
    rng = np.random.default_rng(0)
    cells = demo.expression.index[np.sort(rng.choice(len(demo.expression), 400, replace=False))]
    planted = {g for s in demo.truth["modifiers"] for g in str(s).split(";") if g} | set(demo.truth["target"])
    planted &= set(demo.expression.columns)
    others = [g for g in demo.expression.columns if g not in planted][:600 - len(planted)]
    expression = demo.expression.loc[cells, sorted(planted) + others]
    return expression, demo.effect.loc[cells], demo.cells.loc[cells, "lineage"]


@pytest.mark.parametrize("target", ["RPP25L", "MCL1", "FAM50A"])
def test_planted_targets_beat_the_training_mean_on_held_out_cells(small, target):
    expression, effect, lineage = small
    report = evaluate_gene(expression, effect[target], lineage=lineage, models=["ols", "xgboost", "knn", "tree"])
    assert report.chosen_model == min(report.validation_rmse, key=report.validation_rmse.get)
    assert report.test_rmse < 0.8 * report.baseline_test_rmse
    assert report.test_pearson > 0.5 and report.test_pearson_p < 1e-6
    pred = report.predictions
    assert set(pred["split"]) == {"train", "validation", "test"}
    assert pred["cell"].is_unique and len(pred) == effect[target].loc[expression.index].notna().sum()
    test = pred[pred["split"] == "test"]
    assert len(test) == pytest.approx(0.25 * len(pred), abs=1)
    assert np.corrcoef(test["actual"], test["predicted"])[0, 1] == pytest.approx(report.test_pearson)
    # modifiers were chosen on training cells only: reselecting on them gives the same list
    from core.essentiality import select_modifiers

    train_cells = pred.loc[pred["split"] != "test", "cell"]
    again = select_modifiers(expression.loc[train_cells], effect[target].loc[train_cells])
    assert again.modifiers == report.modifiers
    assert (pred["lineage"] == lineage.loc[pred["cell"]].to_numpy()).all()


def test_paralog_single_best_modifier_and_full_zoo(small):
    expression, effect, lineage = small
    report = evaluate_gene(expression, effect["RPP25L"], mlp_params=FAST_MLP)
    assert report.single_best_modifier == "RPP25" and report.single_best_pearson > 0.6
    assert set(report.validation_rmse) == {"ols", "lasso", "xgboost", "mlp", "gp", "knn", "tree", "xgb_mlp"}
    # a non-linear switch: the paper's non-linear models beat the straight line here
    assert min(report.validation_rmse[m] for m in ("xgboost", "gp", "tree")) < report.validation_rmse["ols"]


def test_report_roundtrips_through_the_artifact_store(small, tmp_path):
    expression, effect, lineage = small
    report = evaluate_gene(expression, effect["MCL1"], lineage=lineage, models=["ols", "tree"])
    store = ArtifactStore(tmp_path)
    store.put("k", report.to_payload())
    back = GeneReport.from_payload(store.get("k"))
    assert back.modifiers == report.modifiers and back.chosen_model == report.chosen_model
    assert back.validation_rmse == report.validation_rmse
    assert back.test_pearson == report.test_pearson
    pd.testing.assert_frame_equal(back.predictions, report.predictions)
    pd.testing.assert_frame_equal(back.selection.table, report.selection.table, check_names=False)
    assert back.selection.sets == report.selection.sets


def test_cross_validation_tests_every_cell_once(small):
    expression, effect, _ = small
    report = evaluate_gene(expression, effect["WRN"], cv=3, models=["ols", "knn"])
    pred = report.predictions
    assert (pred["split"] == "test").all() and pred["cell"].is_unique and len(report.folds) == 3
    assert report.test_pearson > 0.3


def test_noise_target_and_bad_input(small):
    expression, effect, _ = small
    noise = effect.columns[effect.columns.str.startswith("SIM")][0]
    report = evaluate_gene(expression, effect[noise], models=["ols"], fdr=1e-12)
    assert report.chosen_model == "mean" and report.modifiers == []
    assert np.isnan(report.test_pearson)
    with pytest.raises(InputError, match="unknown model"):
        evaluate_gene(expression, effect["MCL1"], models=["svm"])
    with pytest.raises(InputError, match="test_size"):
        evaluate_gene(expression, effect["MCL1"], test_size=0.9)


def test_lineage_weights_equal_a_standardised_ols_per_lineage(demo):
    import statsmodels.api as sm

    modifiers = ["FAM50B", "BCL2L1"]
    weights = lineage_weights(demo.expression, demo.effect["FAM50A"], modifiers, demo.cells["lineage"])
    assert list(weights.columns) == modifiers + ["n_cells", "r2"]
    assert weights["n_cells"].min() >= 15
    # planted: FAM50B drives FAM50A everywhere except Prostate
    assert weights.loc["Prostate", "FAM50B"] < 0.4
    assert weights.drop(index="Prostate")["FAM50B"].min() > 0.6
    cells = demo.cells.index[(demo.cells["lineage"] == "Lung").to_numpy()]
    frame = demo.expression.loc[cells, modifiers].join(demo.effect.loc[cells, "FAM50A"]).dropna()
    z = (frame - frame.mean()) / frame.std(ddof=0)
    fit = sm.OLS(z["FAM50A"], sm.add_constant(z[modifiers])).fit()
    np.testing.assert_allclose(weights.loc["Lung", modifiers].to_numpy(float), fit.params[modifiers], atol=1e-8)
    assert weights.loc["Lung", "r2"] == pytest.approx(fit.rsquared)


def test_tree_nodes_and_paths_match_sklearn(demo):
    from sklearn.tree import DecisionTreeRegressor

    result = fit_tree(demo.expression, demo.effect["RPP25L"], ["RPP25", "MCL1", "BCL2L1"])
    nodes = result.nodes
    assert nodes["depth"].max() <= 4 and (nodes["parent"] == -1).sum() == 1
    assert (nodes.loc[nodes["is_leaf"], "gene"] == "").all() and nodes.loc[nodes["is_leaf"], "threshold"].isna().all()
    root = nodes[nodes["parent"] == -1].iloc[0]
    assert root["gene"] == "RPP25" and root["n_cells"] == result.n_train
    for _, node in nodes[~nodes["is_leaf"]].iterrows():  # children partition their parent
        kids = nodes[nodes["parent"] == node["node_id"]]
        assert sorted(kids["side"]) == ["<=", ">"] and kids["n_cells"].sum() == node["n_cells"]
    assert result.test_pearson > 0.6
    # a cell's path ends in the leaf sklearn sends it to
    frame = demo.expression[["RPP25", "MCL1", "BCL2L1"]]
    y = demo.effect["RPP25L"].dropna()
    from sklearn.model_selection import train_test_split

    train, _ = train_test_split(y.index.intersection(frame.index), test_size=0.25, random_state=0)
    tree = DecisionTreeRegressor(max_depth=4, random_state=0).fit(frame.loc[train], y.loc[train])
    for cell in demo.expression.index[:20]:
        path = result.decision_path(demo.expression.loc[cell])
        assert path[-1] == tree.apply(frame.loc[[cell]])[0]
        assert list(nodes.set_index("node_id").loc[path[1:], "parent"]) == path[:-1]
    back = TreeResult.from_payload(result.to_payload())
    pd.testing.assert_frame_equal(back.nodes, nodes)


def test_heldout_lineage_errors_show_the_lineage_specific_modifier(demo):
    errors = heldout_lineage_errors(demo.expression, demo.effect["FAM50A"], demo.cells["lineage"], min_cells=60,
                                    model="ols")
    assert list(errors.columns) == ["group", "cell", "abs_error"]
    means = errors.groupby("group")["abs_error"].mean()
    assert "Global" in means and "Prostate" in means
    counts = demo.cells["lineage"].value_counts()
    assert set(means.index) - {"Global"} == set(counts.index[counts >= 60])
    # FAM50B does not drive FAM50A in Prostate: held out, it is predicted worst
    assert means["Prostate"] > 1.5 * means["Global"]
    assert means.drop(["Prostate", "Global"]).max() < means["Prostate"]


def test_no_modifiers_gives_empty_weights_and_a_one_leaf_tree(demo):
    weights = lineage_weights(demo.expression, demo.effect["MCL1"], [], demo.cells["lineage"])
    assert len(weights) == 0 and list(weights.columns) == ["n_cells", "r2"]
    tree = fit_tree(demo.expression, demo.effect["MCL1"], [])
    assert len(tree.nodes) == 1 and bool(tree.nodes.at[0, "is_leaf"]) and np.isnan(tree.test_pearson)
    assert tree.decision_path(demo.expression.iloc[0]) == [0]
    with pytest.raises(InputError, match="NOT_A_GENE"):
        fit_tree(demo.expression, demo.effect["MCL1"], ["NOT_A_GENE"])
