"""select_modifiers: vectorised kernels against per-gene scipy / statsmodels, planted demo truths."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from core.errors import InputError
from core.essentiality import TABLE_COLUMNS, select_modifiers
from core.essentiality.kernels import prepare_cells, target_statistics


def _reference(x: np.ndarray, y: np.ndarray) -> dict:
    """The paper's three tests for one gene, the slow way (scipy)."""
    r, p = stats.pearsonr(x, y)
    rho, rho_p = stats.spearmanr(x, y)
    bins = pd.qcut(y, 6, labels=False, duplicates="drop")
    high = (x >= np.median(x)).astype(int)
    table = pd.crosstab(bins, high).to_numpy()
    chi, chi_p, _, _ = stats.chi2_contingency(table, correction=False)
    return {"pearson_r": r, "pearson_p": p, "spearman_rho": rho, "spearman_p": rho_p, "chi2_stat": chi,
            "chi2_p": chi_p}


def _toy(dtype, n=150, m=120, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(5, 1, (n, m))
    x[:, :40] = np.round(x[:, :40] * 2) / 2  # heavy ties
    x[x < 3.8] = 0.0  # many exact zeros, as in real expression
    x[:, 50] = 2.0  # constant: skipped
    x[:, 51] = np.nan  # all missing: skipped
    x[:7, 52] = np.nan  # partly missing: tested on its own complete cells
    x[::3, 53] = np.nan  # another missing pattern
    y = 0.4 * x[:, 1] - 0.3 * x[:, 2] + rng.normal(size=n)
    cells = [f"c{i}" for i in range(n)]
    expression = pd.DataFrame(x.astype(dtype), index=cells, columns=[f"g{j}" for j in range(m)])
    effect = pd.Series(y, index=cells, name="T")
    effect.iloc[[4, 9]] = np.nan
    return expression, effect


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_statistics_equal_per_gene_scipy(dtype):
    expression, effect = _toy(dtype)
    selection = select_modifiers(expression, effect, top_k=5)
    table = selection.table
    assert list(table.columns) == TABLE_COLUMNS
    assert selection.skipped == ["g50", "g51"]
    assert selection.n_cells == 148
    y_all = effect.dropna()
    for gene in table.index:
        x = expression.loc[y_all.index, gene].to_numpy(np.float64)
        ok = ~np.isnan(x)
        ref = _reference(x[ok], y_all.to_numpy()[ok])
        for column, value in ref.items():
            assert table.at[gene, column] == pytest.approx(value, abs=1e-8, rel=1e-8), (gene, column)
    for test in ("pearson", "spearman", "chi2"):
        p = table[f"{test}_p"].to_numpy()
        np.testing.assert_allclose(table[f"{test}_q"], multipletests(p, method="fdr_bh")[1], atol=1e-12)


def test_sets_are_top_k_significant_by_strength_and_union_ordered():
    expression, effect = _toy(np.float64)
    selection = select_modifiers(expression, effect, top_k=3, fdr=0.05)
    table = selection.table
    significant = table[table["pearson_q"] < 0.05]
    expected = significant["pearson_r"].abs().sort_values(ascending=False).index[:3].tolist()
    assert selection.sets["pearson"] == expected
    chi_expected = table[table["chi2_q"] < 0.05]["chi2_stat"].sort_values(ascending=False).index[:3].tolist()
    assert selection.sets["chi2"] == chi_expected
    union = set().union(*selection.sets.values())
    assert set(selection.modifiers) == union and len(selection.modifiers) == len(union)
    assert selection.modifiers[0] == selection.sets["pearson"][0]
    # no FDR filter (the authors' code): top_k by statistic regardless of q
    loose = select_modifiers(expression, effect, top_k=10, fdr=None)
    assert len(loose.sets["pearson"]) == 10


def test_redundancy_and_target_expression_options():
    expression, effect = _toy(np.float64)
    expression["g1_copy"] = expression["g1"] * 2 + 0.01  # perfectly correlated with g1
    plain = select_modifiers(expression, effect, top_k=4, tests=("pearson",))
    assert {"g1", "g1_copy"} <= set(plain.sets["pearson"])
    pruned = select_modifiers(expression, effect, top_k=4, tests=("pearson",), redundancy_threshold=0.95)
    assert len({"g1", "g1_copy"} & set(pruned.sets["pearson"])) == 1
    expression["T"] = np.linspace(0, 1, len(expression))
    with_target = select_modifiers(expression, effect, include_target_expression=True)
    assert with_target.modifiers[-1] == "T" and "T" not in with_target.modifiers[:-1]


def test_fast_float32_path_matches_float64_path():
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(3, 2, (300, 500)), 1).astype(np.float32)
    x[x < 0] = -0.0  # negative zeros must tie with zeros
    x[:10, 0] = 0.0
    y = rng.normal(size=300)
    a = target_statistics(prepare_cells(np.ascontiguousarray(x.T)), y)
    b = target_statistics(prepare_cells(np.ascontiguousarray(x.T.astype(np.float64)), n_threads=1), y)
    for name in ("pearson_r", "spearman_rho", "chi2_stat"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=1e-10)


def test_bad_input_raises_input_error():
    expression, effect = _toy(np.float64)
    with pytest.raises(InputError, match="cell-line ids"):
        select_modifiers(expression, effect.set_axis([f"x{i}" for i in range(len(effect))]))
    with pytest.raises(InputError, match="unknown test"):
        select_modifiers(expression, effect, tests=("kendall",))
    with pytest.raises(InputError, match="top_k"):
        select_modifiers(expression, effect, top_k=0)


# --- planted truth of the demo data ---------------------------------------------------------


@pytest.fixture(scope="module")
def demo():
    from core.datasets import load_demo

    return load_demo("essentiality")


def test_planted_paralogs_are_the_first_modifier(demo):
    truth = demo.truth.set_index("target")
    for target in truth.index[truth["kind"] == "paralog"]:
        selection = select_modifiers(demo.expression, demo.effect[target])
        assert selection.modifiers[0] == truth.at[target, "modifiers"], target


def test_linear_sets_are_recovered_and_noise_targets_have_no_modifier(demo):
    truth = demo.truth.set_index("target")
    mcl1 = select_modifiers(demo.expression, demo.effect["MCL1"])
    assert set(truth.at["MCL1", "modifiers"].split(";")) <= set(mcl1.modifiers)
    noise = truth.index[truth["kind"] == "noise"][:10]
    for target in noise:
        selection = select_modifiers(demo.expression, demo.effect[target], tests=("pearson", "spearman"))
        assert selection.modifiers == [], target
        assert (selection.table[["pearson_q", "spearman_q"]] >= 0.05).all().all()


def test_arrays_get_generated_names_and_match_the_frame_result():
    """select_modifiers(ndarray, ndarray) once raised AttributeError ('numpy.ndarray' has no 'name')."""
    rng = np.random.default_rng(3)
    x = rng.normal(5, 1, (80, 12))
    y = -0.7 * x[:, 4] + rng.normal(0, 0.3, 80)
    from_arrays = select_modifiers(x, y, top_k=2)
    frame = pd.DataFrame(x, columns=[f"gene{j}" for j in range(12)])
    from_frame = select_modifiers(frame, pd.Series(y, name="target"), top_k=2)
    assert from_arrays.modifiers[0] == "gene4" and from_arrays.modifiers == from_frame.modifiers
    pd.testing.assert_frame_equal(from_arrays.table, from_frame.table)
    with pytest.raises(InputError, match="one row per row of the expression"):
        select_modifiers(x, y[:-1])
    with pytest.raises(InputError, match="2-D numpy array whose columns are then named gene0"):
        select_modifiers(x[:, 0], y)
