"""Modifier-gene selection for one target (Rosenski, Shifman & Kaplan 2023).

Three tests of each gene's expression against the target's gene effect across
cell lines -- Pearson, Spearman and a chi-squared test of a 6 x 2 table --
BH-FDR per test, the ``top_k`` strongest significant genes per test, and their
union. Everything is vectorised over genes: the expression matrix is sorted
once per column (which gives the Spearman ranks, the ties and the median in one
pass), Pearson is one matrix product, and the chi-squared tables come from one
product of the "expression >= median" indicator with the effect-bin indicator.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from core.errors import InputError
from core.stats import bh_fdr, pearson_pvalue

TESTS: tuple[str, ...] = ("pearson", "spearman", "chi2")
TABLE_COLUMNS: list[str] = [
    "pearson_r", "pearson_p", "pearson_q",
    "spearman_rho", "spearman_p", "spearman_q",
    "chi2_stat", "chi2_p", "chi2_q",
]
N_EFFECT_BINS = 6
MIN_CELLS = 10
_BLOCK = 1024  # genes per block: small enough to stay in cache-friendly memory


@dataclass
class ModifierSelection:
    """Modifier genes chosen for one target.

    Attributes
    ----------
    sets
        Test name -> genes it selected, strongest first.
    modifiers
        Union of the sets, ordered by each gene's best rank in any test
        (plus the target's own expression when requested).
    table
        One row per tested gene (index ``gene``), columns :data:`TABLE_COLUMNS`.
    n_cells
        Cell lines used (expression and a non-missing effect).
    skipped
        Genes not tested (constant or too few non-missing values).
    params
        The selection parameters.
    """

    sets: dict[str, list[str]]
    modifiers: list[str]
    table: pd.DataFrame
    n_cells: int = 0
    skipped: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)

    def to_payload(self, prefix: str = "selection_") -> dict:
        """Parts for :class:`core.cache.ArtifactStore` (DataFrames and JSON only)."""
        return {
            f"{prefix}table": self.table,
            f"{prefix}meta": {"sets": self.sets, "modifiers": self.modifiers, "n_cells": self.n_cells,
                              "skipped": self.skipped, "params": self.params},
        }

    @classmethod
    def from_payload(cls, payload: dict, prefix: str = "selection_") -> "ModifierSelection":
        meta = payload[f"{prefix}meta"]
        table = payload[f"{prefix}table"]
        table.index.name = "gene"
        return cls(sets={k: list(v) for k, v in meta["sets"].items()}, modifiers=list(meta["modifiers"]),
                   table=table, n_cells=int(meta["n_cells"]), skipped=list(meta["skipped"]),
                   params=dict(meta["params"]))


# --- kernels ------------------------------------------------------------------------


def effect_bins(y: np.ndarray, n_bins: int = N_EFFECT_BINS) -> np.ndarray:
    """Equal-frequency bin of each value (``pd.qcut(y, n_bins, labels=False)``; tied edges merged)."""
    return pd.qcut(np.asarray(y, dtype=np.float64), n_bins, labels=False, duplicates="drop").astype(np.int64)


def _rank(y: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(y)


def _sorted_block(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row; return (original positions, sort keys equal exactly where values are equal).

    float32 rows are sorted as packed uint64 keys (order-preserving value bits
    in the high word, the cell index in the low word): one plain sort, no
    argsort, which is about three times faster.
    """
    m, n = block.shape
    if block.dtype == np.float32 and sys.byteorder == "little":
        bits = (block + np.float32(0.0)).view(np.uint32)  # + 0.0 turns -0.0 into 0.0
        flip = (bits.view(np.int32) >> 31).view(np.uint32) | np.uint32(0x80000000)
        packed = np.empty((m, n), dtype=np.uint64)
        words = packed.view(np.uint32).reshape(m, n, 2)  # little-endian: [low, high]
        words[..., 0] = np.arange(n, dtype=np.uint32)
        words[..., 1] = bits ^ flip
        packed.sort(axis=1)
        words = packed.view(np.uint32).reshape(m, n, 2)
        return words[..., 0], words[..., 1]
    order = np.argsort(block, axis=1, kind="stable")
    return order, np.take_along_axis(block, order, axis=1)


def _block_stats(block: np.ndarray, y: np.ndarray, y_rank_c: np.ndarray, bin_onehot: np.ndarray,
                 tests: Sequence[str]) -> np.ndarray:
    """Statistics of one block of genes (rows of ``block``, cells along columns).

    Returns an (m, 4) array: Pearson r, Spearman rho, chi-squared statistic
    and a constant-gene flag.
    """
    m, n = block.shape
    out = np.full((m, 4), np.nan)
    order, keys = _sorted_block(block)
    constant = keys[:, 0] == keys[:, -1]
    out[:, 3] = constant
    if "pearson" in tests:
        x = block.astype(np.float64)
        x -= x.mean(axis=1, keepdims=True)
        yc = y - y.mean()
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, 0] = (x @ yc) / np.sqrt(np.einsum("ij,ij->i", x, x) * (yc @ yc))
    if "spearman" in tests:
        # Each tie group [a, b] of sorted positions shares the average rank (a + b) / 2 + 1; with the
        # group sums of the effect's centred ranks (one reduceat over the flattened rows) the rank
        # correlation's numerator and the tie correction are sums over groups.
        c_sorted = np.take(y_rank_c, order)
        boundary = np.empty((m, n), dtype=bool)
        boundary[:, 0] = True
        np.not_equal(keys[:, 1:], keys[:, :-1], out=boundary[:, 1:])
        starts = np.flatnonzero(boundary)
        sums = np.add.reduceat(c_sorted.ravel(), starts)
        sizes = np.diff(np.append(starts, m * n)).astype(np.float64)
        rows, first = np.divmod(starts, n)
        dot = np.bincount(rows, weights=(first + (sizes + 1.0) * 0.5) * sums, minlength=m)
        tie_term = np.bincount(rows, weights=sizes * sizes * sizes - sizes, minlength=m)
        rank_ss = (n**3 - n) / 12.0 - tie_term / 12.0
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, 1] = dot / np.sqrt(rank_ss * (y_rank_c @ y_rank_c))
    if "chi2" in tests:
        lo = np.take_along_axis(block, order[:, [(n - 1) // 2]].astype(np.intp), axis=1)[:, 0]
        hi = np.take_along_axis(block, order[:, [n // 2]].astype(np.intp), axis=1)[:, 0]
        median = (lo.astype(np.float64) + hi.astype(np.float64)) / 2.0
        high = (block >= median[:, None]).astype(np.float32)
        high_per_bin = (high @ bin_onehot).astype(np.float64)  # (m, bins)
        bin_size = bin_onehot.sum(axis=0).astype(np.float64)  # (bins,)
        n_high = high_per_bin.sum(axis=1, keepdims=True)
        expected_high = bin_size[None, :] * n_high / n
        expected_low = bin_size[None, :] * (n - n_high) / n
        low_per_bin = bin_size[None, :] - high_per_bin
        with np.errstate(invalid="ignore", divide="ignore"):
            stat = ((high_per_bin - expected_high) ** 2 / expected_high).sum(axis=1) + (
                (low_per_bin - expected_low) ** 2 / expected_low).sum(axis=1)
        stat[(n_high[:, 0] == 0) | (n_high[:, 0] == n)] = np.nan  # a zero expected count: no test
        out[:, 2] = stat
    return out


def screen_statistics(y: np.ndarray, x: np.ndarray, tests: Sequence[str] = TESTS,
                      n_threads: int | None = None) -> pd.DataFrame:
    """Pearson r, Spearman rho and the chi-squared statistic of ``y`` against every column of ``x``.

    Parameters
    ----------
    y : ndarray, shape (n,)
        Target gene effect (no NaN).
    x : ndarray, shape (n, m)
        Expression (no NaN); float32 takes the fast packed-sort path, any
        other dtype is sorted as float64. Arithmetic is always float64.
    tests : sequence of str
        Any of ``"pearson", "spearman", "chi2"``.
    n_threads : int, optional
        Worker threads over blocks of genes (numpy releases the GIL while
        sorting and multiplying); default ``min(2, cpu count)``.

    Returns
    -------
    DataFrame
        Columns ``pearson_r, spearman_rho, chi2_stat, chi2_df, constant``
        (NaN for a test not run or not defined, e.g. a constant gene).
    """
    y = np.asarray(y, dtype=np.float64)
    n = y.shape[0]
    if x.dtype != np.float32:
        x = np.asarray(x, dtype=np.float64)
    xt = np.ascontiguousarray(x.T)
    y_rank_c = _rank(y)
    y_rank_c = y_rank_c - y_rank_c.mean()
    bins = effect_bins(y)
    n_bins = int(bins.max()) + 1
    onehot = np.zeros((n, n_bins), dtype=np.float32)
    onehot[np.arange(n), bins] = 1.0
    blocks = [slice(a, min(a + _BLOCK, xt.shape[0])) for a in range(0, xt.shape[0], _BLOCK)]
    threads = n_threads or min(2, os.cpu_count() or 1)

    def run(s: slice) -> np.ndarray:
        return _block_stats(xt[s], y, y_rank_c, onehot, tests)

    if threads > 1 and len(blocks) > 1:
        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(run, blocks))
    else:
        parts = [run(s) for s in blocks]
    stats = np.vstack(parts) if parts else np.empty((0, 4))
    return pd.DataFrame({
        "pearson_r": np.clip(stats[:, 0], -1, 1), "spearman_rho": np.clip(stats[:, 1], -1, 1),
        "chi2_stat": stats[:, 2], "chi2_df": float(n_bins - 1), "constant": stats[:, 3].astype(bool),
    })


# --- selection ----------------------------------------------------------------------


def _correlation_pvalues(r: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Two-sided p-values of correlations with per-gene sample sizes ``n``."""
    p = np.full(r.shape, np.nan)
    for size in np.unique(n):
        at = n == size
        p[at] = pearson_pvalue(r[at], int(size))
    return p


def _align(expression: pd.DataFrame, effect: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    if not isinstance(expression, pd.DataFrame):
        raise InputError("expression must be a table of cell lines (rows) x genes (columns)")
    if not isinstance(effect, pd.Series):
        raise InputError("effect must be one target's gene effect indexed by cell line")
    effect = pd.to_numeric(effect, errors="coerce").dropna()
    if effect.index.equals(expression.index) and len(effect) >= MIN_CELLS:
        return effect.to_numpy(np.float64), expression
    cells = expression.index.intersection(effect.index)
    if len(cells) < MIN_CELLS:
        raise InputError(
            f"only {len(cells)} cell lines have both expression and a gene effect for "
            f"{effect.name or 'the target'}; at least {MIN_CELLS} are needed. Check that the cell-line "
            "ids of the expression and gene-effect tables match."
        )
    return effect.loc[cells].to_numpy(np.float64), expression.loc[cells]


def _statistics_table(y: np.ndarray, x: pd.DataFrame, tests: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Statistics for every gene; genes with some missing values use their own complete cells."""
    values = x.to_numpy()
    if values.dtype not in (np.float32, np.float64):
        values = values.astype(np.float64)
    genes = np.asarray(x.columns)
    frames = []
    # a column sum is NaN exactly when the column has a missing value: one cheap pass
    has_missing = np.isnan(values.sum(axis=0, dtype=np.float64))
    groups: list[tuple[np.ndarray, np.ndarray]] = []
    if (~has_missing).any():
        groups.append((np.ones(len(y), dtype=bool), np.flatnonzero(~has_missing)))
    if has_missing.any():
        cols_missing = np.flatnonzero(has_missing)
        missing = np.isnan(values[:, cols_missing])
        enough = len(y) - missing.sum(axis=0) >= MIN_CELLS
        # genes sharing the same missing cells are screened together
        masks = pd.Series([missing[:, j].tobytes() for j in np.flatnonzero(enough)], dtype=object)
        local = np.flatnonzero(enough)
        for _, idx in masks.groupby(masks).groups.items():
            members = local[np.asarray(idx)]
            groups.append((~missing[:, members[0]], cols_missing[members]))
    for keep, cols in groups:
        stats = screen_statistics(y[keep], values[np.ix_(keep, cols)] if not keep.all() else values[:, cols], tests)
        stats.index = genes[cols]
        stats["n"] = int(keep.sum())
        frames.append(stats)
    table = pd.concat(frames) if frames else pd.DataFrame(
        columns=["pearson_r", "spearman_rho", "chi2_stat", "chi2_df", "constant", "n"])
    table = table[~table["constant"].astype(bool)]
    tested = pd.Index(genes).isin(table.index)
    table = table.reindex(genes[tested])
    skipped = [str(g) for g in genes[~tested]]
    return table, skipped


def _pick(strength: pd.Series, q: pd.Series, fdr: float | None, top_k: int, x: pd.DataFrame,
          redundancy_threshold: float | None) -> list[str]:
    ok = strength.notna() & q.notna()
    if fdr is not None:
        ok &= q < fdr
    candidates = strength[ok].abs().sort_values(ascending=False, kind="stable").index
    if redundancy_threshold is None:
        return [str(g) for g in candidates[:top_k]]
    chosen: list[str] = []
    chosen_z: list[np.ndarray] = []
    for gene in candidates:
        v = x[gene].to_numpy(np.float64)
        ok_cells = ~np.isnan(v)
        z = np.where(ok_cells, (v - np.nanmean(v)) / (np.nanstd(v) or 1.0), 0.0)
        if any(abs(np.mean(z * c)) >= redundancy_threshold for c in chosen_z):
            continue
        chosen.append(str(gene))
        chosen_z.append(z)
        if len(chosen) == top_k:
            break
    return chosen


def select_modifiers(
    expression: pd.DataFrame,
    effect: pd.Series,
    *,
    top_k: int = 20,
    fdr: float | None = 0.05,
    tests: Sequence[str] = TESTS,
    redundancy_threshold: float | None = None,
    include_target_expression: bool = False,
    target: str | None = None,
) -> ModifierSelection:
    """Choose the modifier genes whose expression tracks a target's essentiality.

    The protocol of the paper's text: Pearson and Spearman correlation of
    each gene's expression with the gene effect, and a chi-squared test of the
    6 x 2 table of effect bin (six equal-frequency bins) by expression half
    (below the gene's median vs at or above it; ``chi2_contingency(...,
    correction=False)``); BH-FDR per test across all tested genes; the
    ``top_k`` strongest genes with q < ``fdr`` per test; the union.

    The authors' public code (github.com/yonniejon/AchillesPrediction) differs
    from the text: it ranks by the statistic without an FDR filter
    (``fdr=None`` here), splits expression at its mean rather than the
    median, drops a candidate whose |Pearson r| with an already chosen gene
    of the same test is >= 0.95 (``redundancy_threshold=0.95``), and adds the
    target's own expression as a feature (``include_target_expression=True``).

    Parameters
    ----------
    expression : DataFrame
        Cells x genes expression (log2 TPM+1). Constant or all-missing genes
        are skipped; a gene with some missing values is tested on its
        complete cells.
    effect : Series
        The target's gene effect indexed by cell. Cells with a missing effect
        are dropped; only cells present in both tables are used.
    top_k : int
        Genes kept per test.
    fdr : float or None
        BH-FDR threshold per test (keep q < fdr); None keeps every gene.
    tests : sequence of str
        Any of ``"pearson", "spearman", "chi2"``.
    redundancy_threshold : float, optional
        Skip a candidate whose |r| with a gene already chosen by the same test
        reaches this value.
    include_target_expression : bool
        Append the target's own expression (column ``target``, default
        ``effect.name``) to the modifiers when present.
    target : str, optional
        The target's name (defaults to ``effect.name``).

    Returns
    -------
    ModifierSelection

    Raises
    ------
    core.errors.InputError
        Fewer than 10 shared cell lines, unknown test names or bad parameters.
    """
    tests = tuple(tests)
    unknown = [t for t in tests if t not in TESTS]
    if unknown or not tests:
        raise InputError(f"unknown test(s) {unknown}; choose from {', '.join(TESTS)}")
    if int(top_k) != top_k or top_k < 1:
        raise InputError(f"top_k must be a positive whole number; got {top_k}")
    if fdr is not None and not 0 < fdr <= 1:
        raise InputError(f"fdr must be between 0 and 1; got {fdr}")
    if redundancy_threshold is not None and not 0 < redundancy_threshold <= 1:
        raise InputError(f"redundancy_threshold must be between 0 and 1; got {redundancy_threshold}")
    target = target if target is not None else (str(effect.name) if effect.name is not None else None)
    y, x = _align(expression, effect)
    stats, skipped = _statistics_table(y, x, tests)
    from scipy.stats import chi2

    n = stats["n"].to_numpy(np.float64)
    table = pd.DataFrame(index=pd.Index(stats.index.astype(str), name="gene"))
    r, rho, chi = (stats[c].to_numpy(np.float64) for c in ("pearson_r", "spearman_rho", "chi2_stat"))
    p_r, p_rho = _correlation_pvalues(r, n), _correlation_pvalues(rho, n)
    p_chi = chi2.sf(chi, stats["chi2_df"].to_numpy(np.float64))
    table["pearson_r"], table["pearson_p"], table["pearson_q"] = r, p_r, bh_fdr(p_r)
    table["spearman_rho"], table["spearman_p"], table["spearman_q"] = rho, p_rho, bh_fdr(p_rho)
    table["chi2_stat"], table["chi2_p"], table["chi2_q"] = chi, p_chi, bh_fdr(p_chi)
    for test, stat_col in (("pearson", "pearson_r"), ("spearman", "spearman_rho"), ("chi2", "chi2_stat")):
        if test not in tests:
            table[[c for c in table.columns if c.startswith(test)]] = np.nan
    strength_cols = {"pearson": ("pearson_r", "pearson_q"), "spearman": ("spearman_rho", "spearman_q"),
                     "chi2": ("chi2_stat", "chi2_q")}
    sets = {t: _pick(table[strength_cols[t][0]], table[strength_cols[t][1]], fdr, int(top_k), x,
                     redundancy_threshold) for t in tests}
    best: dict[str, tuple[int, int]] = {}
    for t_index, t in enumerate(tests):
        for rank, gene in enumerate(sets[t]):
            best[gene] = min(best.get(gene, (rank, t_index)), (rank, t_index))
    modifiers = sorted(best, key=lambda g: best[g])
    if include_target_expression and target is not None and target in expression.columns \
            and target not in modifiers and target not in skipped:
        modifiers.append(target)
    params = {"top_k": int(top_k), "fdr": fdr, "tests": list(tests), "redundancy_threshold": redundancy_threshold,
              "include_target_expression": include_target_expression, "target": target}
    return ModifierSelection(sets=sets, modifiers=modifiers, table=table, n_cells=len(y), skipped=skipped,
                             params=params)
