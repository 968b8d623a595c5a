"""Prediction error on whole held-out lineages against a random split (paper Fig. 4)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from core.errors import InputError
from core.essentiality.models import MODEL_NAMES, make_model
from core.essentiality.selection import select_modifiers

GLOBAL = "Global"


def _errors(x: pd.DataFrame, y: pd.Series, train: pd.Index, test: pd.Index, model: str, top_k: int,
            fdr: float | None, random_state: int, mlp_params: dict | None) -> np.ndarray:
    selection = select_modifiers(x.loc[train], y.loc[train], top_k=top_k, fdr=fdr)
    if not selection.modifiers:  # nothing selected: the training mean is the prediction
        return np.abs(y.loc[test].to_numpy() - y.loc[train].mean())
    features = selection.modifiers
    fitted = make_model(model, random_state, mlp_params=mlp_params).fit(
        x.loc[train, features].to_numpy(np.float64), y.loc[train].to_numpy())
    return np.abs(y.loc[test].to_numpy() - fitted.predict(x.loc[test, features].to_numpy(np.float64)))


def heldout_lineage_errors(
    expression: pd.DataFrame,
    effect: pd.Series,
    lineage: pd.Series,
    *,
    min_cells: int = 40,
    model: str = "xgboost",
    top_k: int = 20,
    fdr: float | None = 0.05,
    random_state: int = 0,
    progress: Callable[[float, str], None] | None = None,
    test_size: float = 0.25,
    mlp_params: dict | None = None,
) -> pd.DataFrame:
    """Absolute prediction errors on each large lineage when the model never saw it.

    For every lineage with at least ``min_cells`` cell lines, modifiers are
    selected and ``model`` is fitted on all other cell lines, then the
    lineage's cell lines are predicted. The ``Global`` group is the usual
    random split (``test_size`` of all cells held out) for comparison.

    Parameters
    ----------
    expression : DataFrame
        Cells x genes expression.
    effect : Series
        The target's gene effect by cell (missing values dropped).
    lineage : Series
        Lineage by cell; cells without one only ever train.
    min_cells : int
        Smallest lineage that is held out.
    model : str
        Zoo model name (default XGBoost, as in the paper).
    top_k, fdr : int, float
        Passed to :func:`select_modifiers`.
    random_state : int
        Seed of the random split and the model.
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    DataFrame
        Long form: ``group`` (``"Global"`` or the lineage), ``cell``, ``abs_error``.
    """
    from sklearn.model_selection import train_test_split

    if model not in MODEL_NAMES:
        raise InputError(f"unknown model {model!r}; choose from {', '.join(MODEL_NAMES)}")
    if min_cells < 5:
        raise InputError(f"min_cells must be at least 5; got {min_cells}")
    report = progress or (lambda fraction, message: None)
    y = pd.to_numeric(effect, errors="coerce").dropna().astype(np.float64)
    cells = expression.index.intersection(y.index)
    if len(cells) < 40:
        raise InputError(f"only {len(cells)} cell lines have expression and a gene effect; at least 40 are needed")
    x, y = expression.loc[cells], y.loc[cells]
    lin = pd.Series(lineage).reindex(cells)
    counts = lin.value_counts()
    groups = [str(g) for g in counts.index if counts[g] >= min_cells]
    frames = []
    report(0.0, f"random split ({len(cells)} cell lines)")
    train, test = train_test_split(cells, test_size=test_size, random_state=random_state)
    frames.append(pd.DataFrame({"group": GLOBAL, "cell": np.asarray(test),
                                "abs_error": _errors(x, y, pd.Index(train), pd.Index(test), model, top_k, fdr,
                                                     random_state, mlp_params)}))
    for i, group in enumerate(groups):
        report((i + 1) / (len(groups) + 1), f"holding out {group} ({counts[group]} cell lines)")
        inside = (lin == group).to_numpy()
        held, rest = cells[inside], cells[~inside]
        frames.append(pd.DataFrame({"group": group, "cell": np.asarray(held),
                                    "abs_error": _errors(x, y, rest, held, model, top_k, fdr, random_state,
                                                         mlp_params)}))
    report(1.0, "done")
    return pd.concat(frames, ignore_index=True)
