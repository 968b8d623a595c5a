"""One modifier or many: linear models on a target's top 1, top k and all modifiers (Rosenski et al. 2023, Fig. 3C-E).

The modifiers are ranked by the strength of their Pearson correlation with
the target's effect on the training cell lines (:func:`rank_modifiers`); the
first is the single strongest tested gene, the one the paper's Fig. 1A and
:attr:`~core.essentiality.evaluate.GeneReport.single_best_modifier` use.
Each linear model is fitted on the training cells and scored once on the test
cells by :func:`linear_test`, the same function
:func:`~core.essentiality.evaluate.evaluate_gene` uses for the single best
modifier, so the numbers agree with the atlas.

Cross-validated reports (``evaluate_gene(cv=k)``) are summarised per fold by
:func:`cv_folds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from core.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from core.essentiality.evaluate import GeneReport
    from core.essentiality.selection import ModifierSelection

#: Columns of :attr:`ModifierCounts.summary`.
COUNT_COLUMNS = ["model", "k", "n_modifiers", "genes", "n_train", "n_test", "test_pearson", "test_pearson_p",
                 "ci_low", "ci_high", "test_rmse"]
#: Columns of :func:`cv_folds`.
FOLD_COLUMNS = ["fold", "n_test", "chosen_model", "n_modifiers", "test_pearson", "test_pearson_p", "test_rmse"]
DEFAULT_COUNTS: tuple[int | None, ...] = (1, 5, None)


def pearson_test(actual, predicted) -> tuple[float, float]:
    """Pearson r of predictions on test cells and its two-sided p (Student t); NaN when undefined.

    Undefined with fewer than 3 cells or a constant prediction or outcome.

    Parameters
    ----------
    actual, predicted : array-like
        Observed and predicted effects of the same cells.
    """
    from scipy.stats import pearsonr

    actual, predicted = np.asarray(actual, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    if len(actual) < 3 or np.ptp(predicted) == 0 or np.ptp(actual) == 0:
        return float("nan"), float("nan")
    r, p = pearsonr(actual, predicted)
    return float(r), float(p)


def pearson_ci(r: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of a Pearson r from the Fisher z transform (NaN when n < 4 or r undefined).

    Parameters
    ----------
    r : float
        The correlation.
    n : int
        Number of pairs.
    level : float
        Confidence level.
    """
    from scipy.stats import norm

    if not np.isfinite(r) or n < 4:
        return float("nan"), float("nan")
    z, half = np.arctanh(np.clip(r, -0.999999, 0.999999)), norm.ppf(0.5 + level / 2) / np.sqrt(n - 3)
    return float(np.tanh(z - half)), float(np.tanh(z + half))


def linear_test(x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ordinary least squares on the training rows, predictions on the test rows.

    Rows with a missing value in any column of ``x`` are left out of the fit
    and of the test.

    Parameters
    ----------
    x : ndarray (cells, genes)
        Expression of the model's genes.
    y : ndarray (cells,)
        The target's gene effect.
    train, test : ndarray of int
        Row positions.

    Returns
    -------
    (test rows used, their predictions) : (ndarray of int, ndarray)
    """
    from sklearn.linear_model import LinearRegression

    x = np.asarray(x, dtype=np.float64).reshape(len(y), -1)
    complete = ~np.isnan(x).any(axis=1)
    train, test = train[complete[train]], test[complete[test]]
    if len(train) < 2:
        return test[:0], np.empty(0)
    model = LinearRegression().fit(x[train], y[train])
    return test, model.predict(x[test])


def rank_modifiers(selection: "ModifierSelection") -> list[str]:
    """A target's modifiers from strongest to weakest by |Pearson r| on the training cells.

    The single strongest tested gene (the paper's "single best modifier")
    comes first even when it is not a modifier, which happens only when no
    gene passes the Pearson test's FDR threshold.

    Parameters
    ----------
    selection : ModifierSelection
        A target's selection on its training cells.
    """
    table = selection.table
    if not len(table) or not table["pearson_r"].notna().any():
        return list(selection.modifiers)
    strength = table["pearson_r"].abs()
    best = str(strength.idxmax())
    others = [g for g in selection.modifiers if g != best]
    # genes without a Pearson statistic (the target's own expression, when included) go last
    order = strength.reindex(others).fillna(-1.0).sort_values(ascending=False, kind="stable").index
    return [best] + [str(g) for g in order]


@dataclass
class ModifierCounts:
    """Linear models on a target's top modifiers, tested on held-out cells.

    Attributes
    ----------
    target
        The target gene.
    summary
        One row per model (columns :data:`COUNT_COLUMNS`): ``model`` ("top 1",
        "top 5", "all"), the number asked for ``k`` (None for all), the
        ``n_modifiers`` used and their ``genes`` (``;``-joined), cells, the
        test Pearson r with its two-sided p and 95% Fisher-z interval, and
        the test RMSE.
    predictions
        Test cells: ``model, cell, actual, predicted``.
    """

    target: str
    summary: pd.DataFrame
    predictions: pd.DataFrame


def modifier_counts(expression: pd.DataFrame, effect: pd.Series, ranking: Sequence[str], train: Sequence,
                    test: Sequence, counts: Sequence[int | None] = DEFAULT_COUNTS) -> ModifierCounts:
    """Test linear models on the top 1, top k and all of a target's ranked modifiers.

    Parameters
    ----------
    expression : DataFrame
        Cells x genes expression.
    effect : Series
        The target's gene effect by cell (its name is the target).
    ranking : sequence of str
        Modifiers, strongest first (see :func:`rank_modifiers`).
    train, test : sequence
        Cell-line ids of the training and test cells (the split the modifiers
        were selected on).
    counts : sequence of int or None
        Numbers of top modifiers; None means all. Counts above the number of
        modifiers use them all (the row says how many).

    Returns
    -------
    ModifierCounts

    Raises
    ------
    core.errors.InputError
        Unknown genes, bad counts, or cells without expression or effect.
    """
    if not isinstance(expression, pd.DataFrame) or not isinstance(effect, pd.Series):
        raise InputError("expression must be a cells x genes table and effect one target's gene effect by cell")
    ranking = [str(g) for g in ranking]
    missing = [g for g in ranking if g not in expression.columns]
    if missing:
        raise InputError(f"modifier gene(s) {', '.join(missing[:5])} are not in the expression table")
    bad = [c for c in counts if c is not None and (int(c) != c or c < 1)]
    if bad or not len(counts):
        raise InputError(f"counts must be positive whole numbers or None (all); got {list(counts)}")
    effect = pd.to_numeric(effect, errors="coerce").dropna()
    cells = effect.index.intersection(expression.index)
    train_pos = cells.get_indexer(pd.Index(train).intersection(cells))
    test_pos = cells.get_indexer(pd.Index(test).intersection(cells))
    if len(test_pos) < 3 or len(train_pos) < 3:
        raise InputError(f"{len(train_pos)} training and {len(test_pos)} test cell lines have both expression and "
                         "a gene effect; at least 3 of each are needed")
    target = str(effect.name) if effect.name is not None else "target"
    y = effect.loc[cells].to_numpy(np.float64)
    rows, frames = [], []
    with threadpool_limits(limits=1, user_api="blas"):  # small least-squares fits: threads only spin-wait
        for k in counts:
            row, frame = _count_row(expression, cells, ranking, y, train_pos, test_pos, k)
            rows.append(row)
            frames.append(frame)
    summary = pd.DataFrame(rows, columns=COUNT_COLUMNS)
    summary["k"] = pd.Series([row["k"] for row in rows], dtype=object)
    return ModifierCounts(target=target, summary=summary,
                          predictions=pd.concat(frames, ignore_index=True))


def _count_row(expression, cells, ranking, y, train_pos, test_pos, k) -> tuple[dict, pd.DataFrame]:
    """One linear model on the top ``k`` genes of ``ranking`` (None: all): its summary row and test predictions."""
    genes = ranking if k is None else ranking[:int(k)]
    name = "all" if k is None else f"top {int(k)}"
    if genes:
        used, pred = linear_test(expression.loc[cells, genes].to_numpy(np.float64), y, train_pos, test_pos)
    else:
        used, pred = test_pos[:0], np.empty(0)
    r, p = pearson_test(y[used], pred)
    low, high = pearson_ci(r, len(used))
    rmse = float(np.sqrt(np.mean((y[used] - pred) ** 2))) if len(used) else float("nan")
    row = {"model": name, "k": None if k is None else int(k), "n_modifiers": len(genes), "genes": ";".join(genes),
           "n_train": len(train_pos), "n_test": len(used), "test_pearson": r, "test_pearson_p": p, "ci_low": low,
           "ci_high": high, "test_rmse": rmse}
    return row, pd.DataFrame({"model": name, "cell": cells[used].astype(str), "actual": y[used],
                              "predicted": pred})


def report_modifier_counts(expression: pd.DataFrame, effect: pd.Series, report: "GeneReport",
                           counts: Sequence[int | None] = DEFAULT_COUNTS) -> ModifierCounts:
    """:func:`modifier_counts` on a one-split :class:`GeneReport`'s modifiers and its train/test split.

    Parameters
    ----------
    expression : pandas.DataFrame
        Cells x genes expression.
    effect : pandas.Series
        The target's gene effect.
    report : GeneReport
        A one-split report of the same target.
    counts : sequence of int or None
        Numbers of top modifiers (None: all).

    Raises
    ------
    core.errors.InputError
        The report is cross-validated (it has no single split).
    """
    if report.folds or report.params.get("cv"):
        raise InputError("a cross-validated report has no single train/test split; use a one-split report")
    split = report.predictions.set_index("cell")["split"]
    train, test = split.index[split != "test"], split.index[split == "test"]
    return modifier_counts(expression, effect.rename(report.target), rank_modifiers(report.selection), train, test,
                           counts)


def cv_folds(report: "GeneReport") -> pd.DataFrame:
    """Per-fold test performance of a cross-validated :class:`GeneReport` (columns :data:`FOLD_COLUMNS`).

    Each fold's r and p are computed on its own test cells (its out-of-fold
    predictions); the report's ``test_pearson`` is that of all folds pooled.

    Parameters
    ----------
    report : GeneReport
        A cross-validated report (``evaluate_gene(..., cv=k)``).

    Raises
    ------
    core.errors.InputError
        The report was not cross-validated.
    """
    if not report.folds or "fold" not in report.predictions.columns:
        raise InputError("this report was not cross-validated; run evaluate_gene with cv=5")
    test = report.predictions[report.predictions["split"] == "test"]
    rows = []
    for fold in report.folds:
        part = test[test["fold"] == fold["fold"]]
        r, p = pearson_test(part["actual"], part["predicted"])
        rows.append({"fold": int(fold["fold"]), "n_test": len(part), "chosen_model": fold["chosen_model"],
                     "n_modifiers": len(fold["modifiers"]), "test_pearson": r, "test_pearson_p": p,
                     "test_rmse": float(np.sqrt(np.mean((part["actual"] - part["predicted"]) ** 2)))})
    return pd.DataFrame(rows, columns=FOLD_COLUMNS)
