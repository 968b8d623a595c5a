"""select_modifiers_all: equal to per-target select_modifiers on tied, partly missing data; bins equal pd.qcut."""

import numpy as np
import pandas as pd
import pytest

from core.errors import InputError
from core.essentiality import TABLE_COLUMNS, select_modifiers, select_modifiers_all
from core.essentiality.kernels import effect_bins


def _panel(seed=0, n=160, m=150, t=12):
    """Tied expression; targets with a tied effect, a shared missing batch, their own gaps, too few cells."""
    rng = np.random.default_rng(seed)
    x = rng.normal(5, 1, (n, m))
    x[:, :50] = np.round(x[:, :50] * 2) / 2  # heavy ties
    x[x < 3.9] = 0.0  # exact zeros
    x[:, 60] = 1.5  # constant: skipped
    x[:9, 61] = np.nan  # partly missing expression: tested on its own cells
    cells = [f"c{i}" for i in range(n)]
    expression = pd.DataFrame(x, index=cells, columns=[f"g{j}" for j in range(m)])
    effects = {}
    for k in range(t):
        drivers = rng.choice(m, 3, replace=False)
        effects[f"T{k}"] = x[:, drivers] @ rng.normal(0, 0.3, 3) + rng.normal(0, 1, n)
    effects = pd.DataFrame(effects, index=cells)
    if t < 10:
        return expression, effects
    effects.iloc[:, 3] = np.round(effects.iloc[:, 3], 0)  # a tied effect (merged bins)
    batch = rng.random(n) < 0.2  # a screen batch: the same cells missing for four targets
    effects.loc[batch, ["T4", "T5", "T6", "T7"]] = np.nan
    effects.iloc[rng.choice(n, 7, replace=False), 8] = np.nan  # a target of its own pattern
    effects.iloc[:, 9] = np.nan  # never screened: left out
    effects.iloc[:5, 9] = 1.0
    return expression, effects


def _assert_same(a, b):
    assert a.sets == b.sets
    assert a.modifiers == b.modifiers
    assert a.skipped == b.skipped
    assert a.n_cells == b.n_cells
    pd.testing.assert_index_equal(a.table.index, b.table.index)
    np.testing.assert_allclose(a.table[TABLE_COLUMNS].to_numpy(), b.table[TABLE_COLUMNS].to_numpy(),
                               rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("fdr", [0.05, None])
def test_all_targets_equal_per_target(fdr):
    expression, effects = _panel()
    batch = select_modifiers_all(expression, effects, top_k=5, fdr=fdr, chunk_size=3)
    assert "T9" not in batch  # 5 cells with an effect: too few
    assert list(batch) == [t for t in effects.columns if t != "T9"]
    for target, selection in batch.items():
        _assert_same(selection, select_modifiers(expression, effects[target], top_k=5, fdr=fdr))


def test_modifier_tables_keep_the_selected_rows_exactly():
    expression, effects = _panel(seed=1)
    full = select_modifiers_all(expression, effects, top_k=4)
    compact = select_modifiers_all(expression, effects, top_k=4, table="modifiers")
    some = 0
    for target in full:
        assert compact[target].sets == full[target].sets
        rows = list(compact[target].table.index)
        strongest = full[target].table["pearson_r"].abs().idxmax()
        assert rows == compact[target].modifiers + ([] if strongest in compact[target].modifiers else [strongest])
        expected = full[target].table.loc[rows].copy()
        for test in ("pearson", "spearman", "chi2"):  # q at or above the FDR is not computed
            expected.loc[expected[f"{test}_q"] >= 0.05, f"{test}_q"] = np.nan
        np.testing.assert_allclose(compact[target].table.to_numpy(), expected.to_numpy(), rtol=1e-12)
        some += len(compact[target].modifiers)
    assert some > 0


def test_options_pass_through():
    expression, effects = _panel(seed=2, t=4)
    expression["g1_copy"] = expression["g1"] * 2 + 0.01
    expression["T0"] = np.linspace(0, 1, len(expression))
    options = dict(top_k=3, tests=("pearson", "chi2"), redundancy_threshold=0.9, include_target_expression=True)
    batch = select_modifiers_all(expression, effects, **options)
    for target, selection in batch.items():
        _assert_same(selection, select_modifiers(expression, effects[target], **options))


def test_arrays_and_bad_input():
    expression, effects = _panel(t=2)
    selection = select_modifiers(expression.to_numpy(), effects["T0"].to_numpy(), top_k=3)
    assert all(g.startswith("gene") for g in selection.modifiers)
    with pytest.raises(InputError, match="no gene-effect column"):
        select_modifiers_all(expression, effects, targets=["nope"])
    with pytest.raises(InputError, match="table must be"):
        select_modifiers_all(expression, effects, table="some")
    with pytest.raises(InputError, match="pandas Series"):
        select_modifiers(expression, [1, 2, 3])


def test_effect_bins_equal_pandas_qcut():
    rng = np.random.default_rng(5)
    for n in (10, 97, 148, 825, 1100):
        for y in (rng.normal(size=n), np.round(rng.normal(size=n), 1), np.r_[np.zeros(n // 2), rng.normal(size=n - n // 2)]):
            np.testing.assert_array_equal(effect_bins(y), pd.qcut(y, 6, labels=False, duplicates="drop"))


def test_statistics_of_a_partly_screened_target_equal_scipy():
    """A target of its own missing pattern, in the batch: each statistic equals scipy on its complete cells."""
    from scipy import stats

    expression, effects = _panel(seed=3)
    selection = select_modifiers_all(expression, effects, top_k=5)["T8"]
    y = effects["T8"].dropna()
    for gene in ("g0", "g1", "g61", "g100"):
        x = expression.loc[y.index, gene].to_numpy()
        ok = ~np.isnan(x)
        row = selection.table.loc[gene]
        assert row["pearson_r"] == pytest.approx(stats.pearsonr(x[ok], y[ok]).statistic, abs=1e-10)
        assert row["spearman_rho"] == pytest.approx(stats.spearmanr(x[ok], y[ok]).statistic, abs=1e-10)
        bins = pd.qcut(y[ok], 6, labels=False, duplicates="drop")
        table = pd.crosstab(bins, x[ok] >= np.median(x[ok])).to_numpy()
        assert row["chi2_stat"] == pytest.approx(stats.chi2_contingency(table, correction=False)[0], rel=1e-10)
