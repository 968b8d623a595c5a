"""Genome-wide correlation screen of one target's essentiality.

For one target gene, correlate its CRISPR gene effect with every gene's
expression across cell lines (Pearson and Spearman, BH-FDR per test), and
optionally control the family-wise error with a permutation null of the
maximum |r| (Westfall & Young's single-step maxT), which makes no normality
assumption about expression.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pandas as pd

from core.errors import InputError, JobCancelled
from core.stats import bh_fdr, pearson_columns, spearman_columns

Progress = Callable[[float, str], None]

SCREEN_COLUMNS = [
    "gene", "pearson_r", "pearson_p", "pearson_q",
    "spearman_rho", "spearman_p", "spearman_q", "perm_fwer_p",
]


def _aligned(expression: pd.DataFrame, effect: pd.Series) -> tuple[np.ndarray, np.ndarray, list[str]]:
    effect = effect.dropna()
    cells = expression.index.intersection(effect.index)
    if len(cells) < 10:
        raise InputError(
            f"only {len(cells)} cell lines have both expression and a gene effect for "
            f"{effect.name}; at least 10 are needed. Check that the cell-line ids of the "
            "two tables match."
        )
    x = expression.loc[cells]
    keep = x.notna().all(axis=0).to_numpy() & (x.std(axis=0).to_numpy() > 0)
    genes = list(x.columns[keep])
    return effect.loc[cells].to_numpy(np.float64), x.loc[:, keep].to_numpy(np.float64), genes


def correlation_screen(
    expression: pd.DataFrame,
    effect: pd.Series,
    *,
    n_permutations: int = 0,
    seed: int = 0,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> pd.DataFrame:
    """Correlate a target's gene effect with the expression of every gene.

    Parameters
    ----------
    expression : DataFrame
        Cells x genes expression. Genes that are constant or have missing
        values in the shared cells are skipped.
    effect : Series
        Gene effect of the target, indexed by cell; missing values are dropped.
    n_permutations : int
        If > 0, shuffle the effect this many times and report for each gene
        the fraction of shuffles whose maximum |Pearson r| over all genes
        reaches the gene's observed |r| (family-wise error rate, maxT).
    seed : int
        Seed of the permutations.
    progress : callable, optional
        ``progress(fraction, message)`` is called as the work proceeds.
    should_stop : callable, optional
        Polled between permutation chunks; when it returns True the screen
        raises :class:`core.errors.JobCancelled`.

    Returns
    -------
    DataFrame
        One row per tested gene with columns ``gene, pearson_r, pearson_p,
        pearson_q, spearman_rho, spearman_p, spearman_q, perm_fwer_p``
        (``perm_fwer_p`` is NaN without permutations), sorted by |pearson_r|.
    """
    if n_permutations < 0 or n_permutations > 100_000:
        raise InputError(f"n_permutations must be between 0 and 100,000; got {n_permutations}")
    report = progress or (lambda fraction, message: None)
    y, x, genes = _aligned(expression, effect)
    report(0.02, f"correlating {len(genes):,} genes over {len(y):,} cell lines")
    r, p = pearson_columns(y, x)
    rho, rho_p = spearman_columns(y, x)
    fwer = np.full(len(genes), np.nan)
    if n_permutations:
        rng = np.random.default_rng(seed)
        xs = (x - x.mean(axis=0)) / x.std(axis=0)
        abs_r = np.abs(r)
        exceed = np.zeros(len(genes))
        chunk = 50
        done = 0
        started = time.perf_counter()
        while done < n_permutations:
            if should_stop is not None and should_stop():
                raise JobCancelled("correlation screen cancelled")
            size = min(chunk, n_permutations - done)
            shuffled = np.stack([rng.permutation(y) for _ in range(size)], axis=1)
            shuffled = (shuffled - shuffled.mean(axis=0)) / shuffled.std(axis=0)
            null_max = np.abs(xs.T @ shuffled / len(y)).max(axis=0)
            exceed += (null_max[None, :] >= abs_r[:, None]).sum(axis=1)
            done += size
            rate = done / max(time.perf_counter() - started, 1e-9)
            report(0.05 + 0.9 * done / n_permutations,
                   f"permutation {done:,} of {n_permutations:,} ({rate:,.0f}/s)")
        fwer = (exceed + 1) / (n_permutations + 1)
    table = pd.DataFrame({
        "gene": genes,
        "pearson_r": r, "pearson_p": p, "pearson_q": bh_fdr(p),
        "spearman_rho": rho, "spearman_p": rho_p, "spearman_q": bh_fdr(rho_p),
        "perm_fwer_p": fwer,
    })
    report(1.0, "done")
    order = np.argsort(-np.abs(table["pearson_r"].to_numpy()), kind="stable")
    return table.iloc[order].reset_index(drop=True)
