"""Per-lineage linear weights of a target's modifiers (paper Fig. 5A-F)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from core.errors import InputError


def _check_modifiers(expression: pd.DataFrame, modifiers: Sequence[str]) -> list[str]:
    modifiers = list(dict.fromkeys(str(m) for m in modifiers))
    missing = [m for m in modifiers if m not in expression.columns]
    if missing:
        raise InputError(f"modifier gene(s) {', '.join(missing[:5])} are not in the expression table")
    return modifiers


def lineage_weights(
    expression: pd.DataFrame,
    effect: pd.Series,
    modifiers: Sequence[str],
    lineage: pd.Series,
    *,
    min_cells: int = 15,
) -> pd.DataFrame:
    """Standardised linear-regression weight of each modifier, fitted within each lineage.

    Within a lineage, expression of each modifier and the gene effect are
    z-scored over that lineage's cell lines, and one least-squares regression
    (with intercept) gives the weights: the change in effect SDs per SD of
    modifier expression, holding the other modifiers fixed. A modifier that is
    constant within a lineage gets weight 0 there.

    Parameters
    ----------
    expression : DataFrame
        Cells x genes expression.
    effect : Series
        The target's gene effect by cell (missing values dropped).
    modifiers : sequence of str
        Genes to weigh (columns of ``expression``).
    lineage : Series
        Lineage by cell.
    min_cells : int
        Lineages with fewer usable cell lines are left out.

    Returns
    -------
    DataFrame
        Index ``lineage`` (largest first), one column per modifier, then
        ``n_cells`` and ``r2`` (in-sample R^2 of the lineage's regression).
        Without modifiers (a target with none selected) the table has no rows.
    """
    modifiers = _check_modifiers(expression, modifiers)
    if min_cells < 3:
        raise InputError(f"min_cells must be at least 3; got {min_cells}")
    effect = pd.to_numeric(effect, errors="coerce").dropna()
    frame = expression.loc[:, modifiers].join(effect.rename("__effect__"), how="inner")
    frame["__lineage__"] = pd.Series(lineage).reindex(frame.index)
    frame = frame.dropna()
    rows = {}
    if not modifiers:
        frame = frame.iloc[:0]
    for name, group in frame.groupby("__lineage__", sort=False):
        if len(group) < min_cells:
            continue
        x = group[modifiers].to_numpy(np.float64)
        y = group["__effect__"].to_numpy(np.float64)
        sd = x.std(axis=0)
        z = np.where(sd > 0, (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0), 0.0)
        y_sd = y.std()
        yz = (y - y.mean()) / y_sd if y_sd > 0 else np.zeros_like(y)
        design = np.column_stack([np.ones(len(y)), z])
        coef, *_ = np.linalg.lstsq(design, yz, rcond=None)
        fitted = design @ coef
        ss_tot = float(yz @ yz)
        r2 = 1.0 - float(((yz - fitted) ** 2).sum()) / ss_tot if ss_tot > 0 else float("nan")
        rows[str(name)] = [*coef[1:], len(y), r2]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=[*modifiers, "n_cells", "r2"])
    table.index.name = "lineage"
    if len(table):
        table["n_cells"] = table["n_cells"].astype(int)
        table = table.sort_values("n_cells", ascending=False, kind="stable")
    return table
