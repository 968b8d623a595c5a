"""Vectorised kernels against per-gene scipy/statsmodels references."""

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from core.stats import bh_fdr, pearson_columns, rank_columns, spearman_columns


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    n, m = 120, 40
    x = rng.normal(size=n)
    y = rng.normal(size=(n, m))
    y[:, :10] += np.outer(x, np.linspace(0.1, 2, 10))
    y[:, 10] = np.round(y[:, 10])  # ties
    y[:, 11] = 3.0  # constant
    return x, y


def test_pearson_matches_scipy(data):
    x, y = data
    r, p = pearson_columns(x, y)
    for j in range(y.shape[1]):
        if j == 11:
            assert np.isnan(r[j]) and np.isnan(p[j])
            continue
        ref = stats.pearsonr(x, y[:, j])
        assert np.isclose(r[j], ref.statistic, atol=1e-10)
        assert np.isclose(p[j], ref.pvalue, rtol=1e-8, atol=1e-300)


def test_spearman_matches_scipy(data):
    x, y = data
    rho, p = spearman_columns(x, y)
    for j in range(y.shape[1]):
        if j == 11:
            assert np.isnan(rho[j])
            continue
        ref = stats.spearmanr(x, y[:, j])
        assert np.isclose(rho[j], ref.statistic, atol=1e-10)
        assert np.isclose(p[j], ref.pvalue, rtol=1e-8, atol=1e-300)


def test_rank_columns_average_ties():
    ranks = rank_columns(np.array([[1.0, 5.0], [1.0, 4.0], [2.0, 6.0]]))
    assert np.allclose(ranks, [[1.5, 2], [1.5, 1], [3, 3]])


def test_bh_matches_statsmodels():
    rng = np.random.default_rng(2)
    p = np.concatenate([rng.uniform(size=200), rng.uniform(0, 1e-4, size=20)])
    assert np.allclose(bh_fdr(p), multipletests(p, method="fdr_bh")[1], atol=1e-12)


def test_bh_keeps_nan():
    q = bh_fdr(np.array([0.01, np.nan, 0.04]))
    assert np.isnan(q[1])
    assert np.allclose(q[[0, 2]], multipletests([0.01, 0.04], method="fdr_bh")[1])


def test_rank_columns_matches_scipy_with_ties_and_nan():
    rng = np.random.default_rng(3)
    m = np.round(rng.normal(size=(50, 30)), 1)
    m[rng.uniform(size=m.shape) < 0.1] = np.nan
    expected = stats.rankdata(m, axis=0, nan_policy="omit")
    assert np.allclose(rank_columns(m), expected, equal_nan=True)
