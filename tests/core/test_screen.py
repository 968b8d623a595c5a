"""The essentiality correlation screen on planted data."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from core.errors import InputError
from core.essentiality import correlation_screen


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(0)
    cells = [f"c{i}" for i in range(300)]
    expression = pd.DataFrame(rng.normal(size=(300, 200)), index=cells, columns=[f"g{j}" for j in range(200)])
    expression["flat"] = 1.0
    effect = pd.Series(-0.8 * expression["g7"] + rng.normal(scale=0.5, size=300), index=cells, name="T")
    effect.iloc[:5] = np.nan
    return expression, effect


def test_planted_gene_first_and_matches_scipy(planted):
    expression, effect = planted
    table = correlation_screen(expression, effect)
    assert table.iloc[0]["gene"] == "g7"
    assert "flat" not in set(table["gene"])
    keep = effect.dropna().index
    ref = stats.pearsonr(expression.loc[keep, "g7"], effect.loc[keep])
    assert np.isclose(table.iloc[0]["pearson_r"], ref.statistic, atol=1e-10)
    assert table.iloc[0]["pearson_q"] < 1e-10
    assert (table.iloc[1:]["pearson_q"] > 0.01).mean() > 0.9


def test_permutation_fwer(planted):
    expression, effect = planted
    seen = []
    table = correlation_screen(expression, effect, n_permutations=100, progress=lambda f, m: seen.append(f))
    assert table.iloc[0]["perm_fwer_p"] == pytest.approx(1 / 101)
    assert (table.iloc[1:]["perm_fwer_p"] > 0.05).all()
    assert seen[-1] == 1.0 and len(seen) > 2


def test_too_few_shared_cells_is_an_input_error(planted):
    expression, effect = planted
    other = effect.copy()
    other.index = [f"x{i}" for i in range(len(other))]
    with pytest.raises(InputError, match="cell-line ids"):
        correlation_screen(expression, other)
