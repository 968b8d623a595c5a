"""Essentiality of new samples: the group test against scipy, scale alignment, missing genes, the planted demo."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from core.datasets import load_demo
from core.datasets.new_samples_demo import make_new_samples_demo
from core.errors import InputError
from core.essentiality import (
    GROUP_COLUMNS, align_scale, detect_scale, fit_reference_model, group_test, predict_essentiality,
)

MODELS = ("ols", "tree")


@pytest.fixture(scope="module")
def reference():
    """120 cell lines x 40 genes; the target's effect is -0.8 * z(G00) + 0.4 * z(G01) + noise (log2 scale)."""
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.normal(5.0, 1.0, (120, 40)), index=[f"C{i:03d}" for i in range(120)],
                     columns=[f"G{j:02d}" for j in range(40)])
    z = (x - x.mean()) / x.std()
    effect = pd.Series(-0.3 - 0.8 * z["G00"] + 0.4 * z["G01"] + rng.normal(0, 0.1, 120), index=x.index, name="T1")
    return x, effect


def test_group_test_matches_scipy_welch_t_and_bh():
    rng = np.random.default_rng(3)
    groups = pd.Series(np.repeat(["a", "b", "c", "d", "solo"], [10, 12, 8, 15, 1]))
    pred = pd.Series(rng.normal(0, 1, len(groups)) + groups.map({"a": 3.0, "b": 0, "c": -0.2, "d": 0.1, "solo": 0}))
    table = group_test(pred, groups)
    assert list(table.columns) == GROUP_COLUMNS
    assert table.attrs["mean_prediction"] == pytest.approx(pred.mean())
    rows = table.set_index("group")
    ps = {}
    for g in "abcd":
        ref = stats.ttest_ind(pred[groups == g], pred[groups != g], equal_var=False)
        assert rows.loc[g, "t"] == pytest.approx(ref.statistic, rel=1e-12)
        assert rows.loc[g, "p"] == pytest.approx(ref.pvalue, rel=1e-12)
        assert rows.loc[g, "n"] == (groups == g).sum()
        assert rows.loc[g, "mean_prediction"] == pytest.approx(pred[groups == g].mean())
        ps[g] = ref.pvalue
    q = multipletests(list(ps.values()), method="fdr_bh")[1]
    for g, expected in zip(ps, q):
        assert rows.loc[g, "q"] == pytest.approx(expected, rel=1e-12)
        assert rows.loc[g, "flagged"] == (expected < 0.05)
    assert rows.loc["a", "flagged"]  # shifted by 3 SD with 10 samples
    # a group of one is reported, never tested or flagged
    assert np.isnan(rows.loc["solo", "p"]) and not rows.loc["solo", "flagged"]
    assert table["p"].iloc[:4].is_monotonic_increasing


def test_group_test_without_groups_and_bad_fdr():
    pred = pd.Series([0.1, 0.2, 0.4, -0.1])
    table = group_test(pred)
    assert table.loc[0, "group"] == "all samples" and np.isnan(table.loc[0, "t"])  # nothing to compare with
    assert not table.loc[0, "flagged"]
    with pytest.raises(InputError, match="fdr"):
        group_test(pred, fdr=1.5)


def test_a_group_with_one_predicted_value_is_still_tested():
    """A tree predicts one leaf for a whole group: Welch's t stays finite because the rest varies."""
    rng = np.random.default_rng(4)
    pred = pd.Series(np.concatenate([np.full(8, -1.1), rng.normal(-0.4, 0.2, 40)]))
    groups = pd.Series(["lost"] * 8 + ["other"] * 40)
    rows = group_test(pred, groups).set_index("group")
    ref = stats.ttest_ind(pred[:8], pred[8:], equal_var=False)
    assert np.isfinite(rows.loc["lost", "t"]) and rows.loc["lost", "t"] == pytest.approx(ref.statistic)
    assert rows.loc["lost", "flagged"]


def test_scale_detection_and_log2_transform():
    log = pd.DataFrame({"A": [0.0, 5.0, 12.0], "B": [1.0, 2.0, 3.0]})
    linear = np.exp2(log) - 1.0
    assert detect_scale(log) == "log" and detect_scale(linear) == "linear"
    aligned, transform = align_scale(linear, log)
    assert transform == "log2(x+1)"
    assert np.allclose(aligned.to_numpy(), log.to_numpy())
    same, transform = align_scale(log, log)
    assert transform == "none" and same.equals(log.astype(float))
    back, transform = align_scale(log, linear)
    assert transform == "2^x-1" and np.allclose(back.to_numpy(), linear.to_numpy())
    with pytest.raises(InputError, match="below 0"):
        detect_scale(pd.DataFrame({"A": [-1.0, 500.0]}))
    with pytest.raises(InputError, match="scale"):
        align_scale(log, log, scale="tpm")


def test_predictions_are_the_refitted_model_on_the_reference_scale(reference):
    x, effect = reference
    model = fit_reference_model(x, effect, models=MODELS)
    assert model.modifiers[:2] == ["G00", "G01"] or set(model.modifiers[:2]) == {"G00", "G01"}
    assert model.n_cells == 120
    rng = np.random.default_rng(5)
    new_log = pd.DataFrame(rng.normal(5.0, 1.0, (30, 40)), columns=x.columns, index=[f"S{i}" for i in range(30)])
    new_tpm = np.exp2(new_log) - 1.0  # the max of 2**(5 + 4 SD) - 1 is well above 50
    groups = pd.Series(np.repeat(["g1", "g2", "g3"], 10), index=new_log.index)
    result = predict_essentiality(x, effect, new_tpm, groups, model=model)
    assert result.transform == "log2(x+1)"
    expected = model.estimator.predict(new_log[model.modifiers].to_numpy())
    assert np.allclose(result.predictions.to_numpy(), expected)
    assert result.groups["n"].sum() == 30 and result.mean_prediction == pytest.approx(expected.mean())


def test_missing_modifier_genes_are_named_or_retrained(reference):
    x, effect = reference
    model = fit_reference_model(x, effect, models=MODELS)
    new = x.iloc[:20].drop(columns=["G00"]).copy()
    with pytest.raises(InputError, match="G00") as info:
        predict_essentiality(x, effect, new, model=model)
    assert "lack 1 of the" in str(info.value)
    result = predict_essentiality(x, effect, new, models=MODELS, model=model, on_missing="retrain")
    assert result.missing_modifiers == ["G00"]
    assert "G00" not in result.model.modifiers and result.predictions.notna().all()
    with pytest.raises(InputError, match="on_missing"):
        predict_essentiality(x, effect, new, model=model, on_missing="ignore")


def test_samples_missing_a_modifier_value_are_left_out(reference):
    x, effect = reference
    model = fit_reference_model(x, effect, models=MODELS)
    new = x.iloc[:10].copy()
    new.iloc[0, new.columns.get_loc(model.modifiers[0])] = np.nan
    new.iloc[1, new.columns.get_loc(model.modifiers[0])] = np.inf
    result = predict_essentiality(x, effect, new, model=model)
    assert result.incomplete_samples == list(new.index[:2])
    assert result.predictions.iloc[:2].isna().all() and result.groups["n"].sum() == 8


def test_demo_flags_the_planted_tissue():
    data = load_demo("essentiality")
    demo = make_new_samples_demo(data)
    again = make_new_samples_demo(data)
    assert demo.expression.equals(again.expression)  # seeded
    truth = demo.truth
    assert detect_scale(demo.expression) == "linear"
    result = predict_essentiality(data.expression, data.effect[truth["target"]], demo.expression, demo.groups)
    assert truth["driver"] in result.model.modifiers
    rows = result.groups.set_index("group")
    planted = rows.loc[truth["group"]]
    assert planted["flagged"] and planted["q"] < 0.05
    assert planted["t"] < 0 and planted["mean_prediction"] < result.mean_prediction  # more essential
    assert result.groups.iloc[0]["group"] == truth["group"]
