"""One modifier or many (Fig. 3C-E) and the per-fold view of cross-validation, against reference computations."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm, pearsonr

from core.errors import InputError
from core.essentiality import (
    COUNT_COLUMNS, FOLD_COLUMNS, cv_folds, evaluate_gene, modifier_counts, rank_modifiers, report_modifier_counts,
)


@pytest.fixture(scope="module")
def synthetic():
    """200 cells x 40 genes; the effect is a weighted sum of 8 genes plus noise, a few expression values missing."""
    rng = np.random.default_rng(7)
    cells = pd.Index([f"cell{i:03d}" for i in range(200)])
    genes = [f"G{j:02d}" for j in range(40)]
    expression = pd.DataFrame(rng.normal(size=(200, 40)), index=cells, columns=genes)
    weights = np.array([1.5, -1.2, 1.0, 0.8, -0.7, 0.6, 0.5, 0.4])
    effect = pd.Series(expression.iloc[:, :8].to_numpy() @ weights + rng.normal(scale=0.8, size=200), index=cells,
                       name="TARGET")
    expression.iloc[3, 0] = np.nan  # a missing value in the strongest gene
    return expression, effect


def _reference(expression, effect, genes, train, test):
    """numpy least squares (with an intercept) on complete rows, scored by scipy."""
    x = expression[genes]
    tr = [c for c in train if not x.loc[c].isna().any()]
    te = [c for c in test if not x.loc[c].isna().any()]
    design = np.column_stack([np.ones(len(tr)), x.loc[tr].to_numpy()])
    coef, *_ = np.linalg.lstsq(design, effect.loc[tr].to_numpy(), rcond=None)
    pred = np.column_stack([np.ones(len(te)), x.loc[te].to_numpy()]) @ coef
    r, p = pearsonr(effect.loc[te].to_numpy(), pred)
    return r, p, len(te), float(np.sqrt(np.mean((effect.loc[te].to_numpy() - pred) ** 2)))


def test_counts_match_least_squares_and_pearsonr(synthetic):
    expression, effect = synthetic
    ranking = [f"G{j:02d}" for j in range(8)]
    train, test = expression.index[:150], expression.index[150:]
    result = modifier_counts(expression, effect, ranking, train, test)
    assert list(result.summary.columns) == COUNT_COLUMNS
    assert list(result.summary["model"]) == ["top 1", "top 5", "all"]
    for row, genes in zip(result.summary.itertuples(), (ranking[:1], ranking[:5], ranking)):
        r, p, n, rmse = _reference(expression, effect, genes, train, test)
        assert row.genes == ";".join(genes) and row.n_test == n
        assert row.test_pearson == pytest.approx(r, abs=1e-10)
        assert row.test_pearson_p == pytest.approx(p, rel=1e-6)
        assert row.test_rmse == pytest.approx(rmse, rel=1e-8)
        half = norm.ppf(0.975) / np.sqrt(n - 3)
        assert (row.ci_low, row.ci_high) == pytest.approx((np.tanh(np.arctanh(r) - half),
                                                           np.tanh(np.arctanh(r) + half)))
        part = result.predictions[result.predictions["model"] == row.model]
        assert len(part) == n and set(part["cell"]) <= set(test)
    # more modifiers explain more of a planted weighted sum
    assert result.summary["test_pearson"].is_monotonic_increasing


def test_counts_beyond_the_modifiers_use_them_all_and_bad_input_is_refused(synthetic):
    expression, effect = synthetic
    train, test = expression.index[:150], expression.index[150:]
    result = modifier_counts(expression, effect, ["G01", "G02"], train, test, counts=(5, None))
    assert list(result.summary["n_modifiers"]) == [2, 2]
    assert result.summary["test_pearson"].iloc[0] == pytest.approx(result.summary["test_pearson"].iloc[1])
    with pytest.raises(InputError, match="not in the expression"):
        modifier_counts(expression, effect, ["NOPE"], train, test)
    with pytest.raises(InputError, match="positive whole numbers"):
        modifier_counts(expression, effect, ["G01"], train, test, counts=(0,))
    with pytest.raises(InputError, match="at least 3"):
        modifier_counts(expression, effect, ["G01"], train, ["elsewhere"])


def test_the_top_modifier_is_evaluate_genes_single_best(synthetic):
    """The top-1 panel and the atlas's "single best modifier" (Fig. 1A) are one computation."""
    expression, effect = synthetic
    expression = expression.fillna(0.0)  # the model zoo needs complete expression
    split = (expression.index[:150], expression.index[150:])
    report = evaluate_gene(expression, effect, split=split, models=["ols"], random_state=0)
    ranking = rank_modifiers(report.selection)
    strength = report.selection.table["pearson_r"].abs()
    assert ranking[0] == report.single_best_modifier == strength.idxmax()
    assert set(ranking) == set(report.modifiers) | {ranking[0]}
    assert list(strength.loc[ranking].to_numpy()) == sorted(strength.loc[ranking].to_numpy(), reverse=True)
    counts = report_modifier_counts(expression, effect, report)
    top1 = counts.summary.iloc[0]
    assert top1["genes"] == report.single_best_modifier
    assert top1["test_pearson"] == pytest.approx(report.single_best_pearson, abs=1e-12)
    assert top1["test_pearson_p"] == pytest.approx(report.single_best_pearson_p, rel=1e-9)
    assert counts.summary.iloc[-1]["n_modifiers"] == len(report.modifiers)


def test_cv_folds_are_each_folds_own_out_of_fold_correlation(synthetic):
    expression, effect = synthetic
    expression = expression.fillna(0.0)
    report = evaluate_gene(expression, effect, cv=5, models=["ols"], random_state=0)
    folds = cv_folds(report)
    assert list(folds.columns) == FOLD_COLUMNS and len(folds) == 5
    test = report.predictions[report.predictions["split"] == "test"]
    assert len(test) == test["cell"].nunique() == effect.notna().sum()  # every cell tested once
    for row in folds.itertuples():
        part = test[test["fold"] == row.fold]
        r, p = pearsonr(part["actual"], part["predicted"])
        assert row.n_test == len(part) and row.test_pearson == pytest.approx(r) and row.test_pearson_p == pytest.approx(p)
        assert row.test_pearson == pytest.approx(report.folds[row.fold]["test_pearson"])
    assert report.test_pearson == pytest.approx(pearsonr(test["actual"], test["predicted"])[0])
    with pytest.raises(InputError, match="cross-validated"):
        report_modifier_counts(expression, effect, report)
    one_split = evaluate_gene(expression, effect, models=["ols"], random_state=0)
    with pytest.raises(InputError, match="not cross-validated"):
        cv_folds(one_split)
