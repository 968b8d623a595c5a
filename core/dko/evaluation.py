"""Step 1 of DKO: train on 80 % of the cells, predict the held-out 20 %."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from core.dko.data import as_matrix, bray_curtis, check_values, profiles
from core.dko.estimator import DKO
from core.errors import InputError

Progress = Callable[[float, str], None]


@dataclass
class HeldoutResult:
    """Held-out prediction of DKO profiles.

    Attributes
    ----------
    per_cell
        ``cell, bray_curtis`` for every held-out cell.
    per_gene
        ``gene, pearson_r, mean_true, mean_predicted, n_cells_present``: each gene's
        predicted against true relative abundance across held-out cells where it is present.
    predicted, true
        genes x held-out cells profiles (columns sum to 1).
    model
        The model trained on the other cells.
    """

    per_cell: pd.DataFrame
    per_gene: pd.DataFrame
    predicted: pd.DataFrame
    true: pd.DataFrame
    model: DKO


def heldout_evaluation(P, test_fraction: float = 0.2, seed: int = 0, progress: Progress | None = None,
                       **dko_params) -> HeldoutResult:
    """Train DKO on ``1 - test_fraction`` of the cells and predict the rest.

    Parameters
    ----------
    P
        Expression, genes x cells.
    test_fraction
        Fraction of cells held out (the authors use 0.2).
    seed
        Seed of the split (the model gets ``seed`` too unless given in ``dko_params``).
    progress
        Optional ``progress(fraction, message)``.
    **dko_params
        Hyperparameters of :class:`DKO`.

    Returns
    -------
    HeldoutResult
    """
    values, genes, cells = as_matrix(P, source="expression")
    check_values(values, "expression")
    n_cells = values.shape[1]
    if not 0 < test_fraction < 1:
        raise InputError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    n_test = int(test_fraction * n_cells)
    if n_test < 1 or n_cells - n_test < 2:
        raise InputError(f"{n_cells} cells are too few to hold out {test_fraction:.0%} and still train")
    rng = np.random.default_rng(seed + 7919)  # independent of the model's own validation split
    test = np.sort(rng.choice(n_cells, size=n_test, replace=False))
    train = np.setdiff1d(np.arange(n_cells), test)
    frame = pd.DataFrame(values, index=genes, columns=cells)
    dko_params.setdefault("random_state", seed)
    model = DKO(**dko_params).fit(frame.iloc[:, train], progress=progress)
    predicted = model.predict(frame.iloc[:, test])
    true = pd.DataFrame(profiles(values[:, test]), index=genes, columns=cells[test])
    per_cell = pd.DataFrame({"cell": cells[test],
                             "bray_curtis": bray_curtis(predicted.to_numpy(), true.to_numpy(), axis=0)})
    return HeldoutResult(per_cell=per_cell, per_gene=per_gene_agreement(predicted, true), predicted=predicted,
                         true=true, model=model)


def per_gene_agreement(predicted: pd.DataFrame, true: pd.DataFrame) -> pd.DataFrame:
    """Per gene, Pearson r of predicted against true abundance over cells where the gene is present.

    Parameters
    ----------
    predicted, true : pandas.DataFrame
        Profiles, genes x cells, with the same labels.
    """
    pred, obs = predicted.to_numpy(), true.to_numpy()
    mask = obs > 0
    n = mask.sum(axis=1)
    rows = []
    for i, gene in enumerate(true.index):
        x, y = pred[i, mask[i]], obs[i, mask[i]]
        r = float(np.corrcoef(x, y)[0, 1]) if n[i] >= 3 and x.std() > 0 and y.std() > 0 else np.nan
        rows.append((gene, r, float(y.mean()) if n[i] else 0.0, float(x.mean()) if n[i] else 0.0, int(n[i])))
    return pd.DataFrame(rows, columns=["gene", "pearson_r", "mean_true", "mean_predicted", "n_cells_present"])


def mean_profile_baseline(P, test_cells) -> pd.DataFrame:
    """Bray-Curtis of two baselines on held-out cells, for comparison with DKO's held-out error.

    ``mean``: every held-out cell is predicted by the mean profile of the
    training cells (all cells not in ``test_cells``). ``mean_present``: the
    same mean profile restricted to the genes present in the held-out cell and
    renormalised, so it knows the assemblage as DKO does.

    Parameters
    ----------
    P
        Expression, genes x cells.
    test_cells
        The held-out cells (e.g. ``HeldoutResult.per_cell['cell']``).

    Returns
    -------
    pandas.DataFrame
        ``cell, mean, mean_present``.
    """
    values, _genes, cells = as_matrix(P, source="expression")
    check_values(values, "expression")
    test = cells.get_indexer(pd.Index([str(c) for c in test_cells]))
    if (test < 0).any() or test.size == 0:
        raise InputError("the held-out cells must be cells of the expression matrix")
    train = np.setdiff1d(np.arange(values.shape[1]), test)
    if train.size == 0:
        raise InputError("no training cells are left for the baseline")
    true = profiles(values[:, test])
    mean = profiles(values[:, train]).mean(axis=1, keepdims=True)
    plain = np.repeat(mean, test.size, axis=1)
    masked = plain * (values[:, test] > 0)
    sums = masked.sum(axis=0, keepdims=True)
    masked = np.divide(masked, sums, out=np.full_like(masked, 1.0 / masked.shape[0]), where=sums > 0)
    return pd.DataFrame({"cell": cells[test], "mean": bray_curtis(plain, true, axis=0),
                         "mean_present": bray_curtis(masked, true, axis=0)})
