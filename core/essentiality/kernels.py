"""The three selection tests for many targets at once, as matrix products.

Rosenski et al. (2023) test every gene's expression against a target's gene
effect with Pearson, Spearman and a chi-squared test of a 6 x 2 table. For a
fixed set of cell lines all three are inner products between a per-gene
matrix and a per-target matrix:

* Pearson: unit-norm centred expression x unit-norm centred effect;
* Spearman: unit-norm centred average ranks of both (Spearman with ties is
  Pearson on average ranks);
* chi-squared: the "expression >= the gene's median" indicator x the one-hot
  effect bins gives each gene's 6 x 2 table, from which the statistic follows.

:func:`prepare_cells` sorts each gene once for a set of cells (ranks, ties and
median in one pass) and keeps the three per-gene matrices;
:func:`target_statistics` then scores any number of targets on those cells.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Sequence

import numpy as np

N_EFFECT_BINS = 6
_BLOCK = 1024  # genes per block: small enough to stay in cache-friendly memory


def effect_bins(y: np.ndarray, n_bins: int = N_EFFECT_BINS) -> np.ndarray:
    """Equal-frequency bin of each value, exactly as ``pd.qcut(y, n_bins, labels=False, duplicates="drop")``.

    Edges are the linear-interpolation quantiles; tied edges merge (fewer
    bins); intervals are right-closed with the lowest value in the first bin.

    Parameters
    ----------
    y : ndarray
        Values without missing entries.
    n_bins : int
        Number of bins.
    """
    y = np.asarray(y, dtype=np.float64)
    edges = np.unique(np.percentile(y, np.linspace(0, 1, n_bins + 1) * 100.0))  # pandas computes them so
    ids = np.searchsorted(edges, y, side="left")
    ids[y == edges[0]] = 1
    return (ids - 1).astype(np.int64)


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


@dataclass
class PreparedCells:
    """Per-gene matrices of one set of cells, ready to score many targets.

    Attributes
    ----------
    n : int
        Number of cells.
    pearson : ndarray, shape (genes, n)
        Centred expression scaled to unit norm (zero rows for constant genes).
    spearman : ndarray, shape (genes, n)
        Centred average ranks scaled to unit norm.
    high : ndarray, shape (genes, n), float32
        1 where expression is at or above the gene's median, else 0.
    constant : ndarray, shape (genes,), bool
        Genes with a single value on these cells (not testable).
    """

    n: int
    pearson: np.ndarray
    spearman: np.ndarray
    high: np.ndarray
    constant: np.ndarray


def _unit_rows(x: np.ndarray) -> np.ndarray:
    x -= x.mean(axis=1, keepdims=True)
    norm = np.sqrt(np.einsum("ij,ij->i", x, x))
    with np.errstate(invalid="ignore", divide="ignore"):
        x /= np.where(norm > 0, norm, np.inf)[:, None]
    return x


@dataclass
class SortedGenes:
    """Every gene's cells in sorted order, for deriving the order on any subset of cells without sorting.

    Attributes
    ----------
    order : ndarray, shape (genes, cells), uint32
        Cell positions in each gene's ascending order.
    keys : ndarray, shape (genes, cells)
        Sort keys in that order, equal exactly where values are equal.
    """

    order: np.ndarray
    keys: np.ndarray


def sort_genes(xt: np.ndarray, n_threads: int | None = None) -> SortedGenes:
    """Sort every gene (row of ``xt``, genes x cells, no missing values) once.

    A subset of the cells keeps this order: :func:`prepare_cells` with
    ``sorted_genes`` and ``keep`` then ranks the subset by masking, not sorting.

    Parameters
    ----------
    xt : ndarray
        Expression, genes x cells.
    n_threads : int, optional
        Threads sorting the genes (None: the default).
    """
    if xt.dtype != np.float32:
        xt = np.asarray(xt, dtype=np.float64)
    g, n = xt.shape
    order = np.empty((g, n), dtype=np.uint32)
    keys = np.empty((g, n), dtype=np.uint32 if xt.dtype == np.float32 and sys.byteorder == "little" else np.float64)

    def run(s: slice) -> None:
        order[s], keys[s] = _sorted_block(xt[s])

    _over_blocks(run, g, n_threads)
    return SortedGenes(order, keys)


def _over_blocks(run, g: int, n_threads: int | None) -> None:
    blocks = [slice(a, min(a + _BLOCK, g)) for a in range(0, g, _BLOCK)]
    threads = n_threads or min(2, os.cpu_count() or 1)
    if threads > 1 and len(blocks) > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, blocks))
    else:
        for s in blocks:
            run(s)


def _subset_order(order: np.ndarray, keys: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted order and keys of the kept cells, from those of all cells (positions renumbered)."""
    kept = keep[order]
    m = int(keep.sum())
    renumber = np.cumsum(keep, dtype=np.int64) - 1
    sub_order = renumber[order[kept].reshape(order.shape[0], m)]
    return sub_order, keys[kept].reshape(order.shape[0], m)


def _prepare_block(block: np.ndarray, out: PreparedCells, rows: slice, tests: Sequence[str],
                   presorted: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """Fill rows ``rows`` of ``out`` from the expression ``block`` of those genes (sorted unless ``presorted``)."""
    m, n = block.shape
    order, keys = _sorted_block(block) if presorted is None else presorted
    out.constant[rows] = keys[:, 0] == keys[:, -1]
    if "pearson" in tests:
        out.pearson[rows] = _unit_rows(block.astype(np.float64))
    if "spearman" in tests:
        # average rank of a tie group spanning sorted positions [first, last] is (first + last) / 2 + 1
        # (32-bit positions: half the memory traffic of these passes)
        position = np.broadcast_to(np.arange(n, dtype=np.int32), (m, n))
        starts = np.ones((m, n), dtype=bool)
        np.not_equal(keys[:, 1:], keys[:, :-1], out=starts[:, 1:])
        ends = np.ones((m, n), dtype=bool)
        ends[:, :-1] = starts[:, 1:]
        first = np.maximum.accumulate(np.where(starts, position, np.int32(0)), axis=1)
        last = np.minimum.accumulate(np.where(ends, position, np.int32(n - 1))[:, ::-1], axis=1)[:, ::-1]
        first += last
        ranks = np.empty((m, n))
        np.put_along_axis(ranks, order.astype(np.intp), first * 0.5 + 1.0, axis=1)
        out.spearman[rows] = _unit_rows(ranks)
    if "chi2" in tests:
        lo = np.take_along_axis(block, order[:, [(n - 1) // 2]].astype(np.intp), axis=1)[:, 0]
        hi = np.take_along_axis(block, order[:, [n // 2]].astype(np.intp), axis=1)[:, 0]
        median = (lo.astype(np.float64) + hi.astype(np.float64)) / 2.0
        np.greater_equal(block, median[:, None], out=out.high[rows], casting="unsafe")


def prepare_cells(xt: np.ndarray, tests: Sequence[str] = ("pearson", "spearman", "chi2"),
                  n_threads: int | None = None, *, keep: np.ndarray | None = None,
                  sorted_genes: SortedGenes | None = None) -> PreparedCells:
    """Sort every gene once and build the per-gene matrices of :class:`PreparedCells`.

    Parameters
    ----------
    xt : ndarray, shape (genes, cells)
        Expression without missing values (on the kept cells); float32 takes
        the fast packed sort, any other dtype is sorted as float64.
        Arithmetic is float64.
    tests : sequence of str
        Which matrices to build (any of ``"pearson", "spearman", "chi2"``).
    n_threads : int, optional
        Threads over blocks of genes (numpy releases the GIL while sorting);
        default ``min(2, cpu count)``.
    keep : ndarray of bool, shape (cells,), optional
        Prepare only these cells (default all).
    sorted_genes : SortedGenes, optional
        :func:`sort_genes` of ``xt`` (all cells): the kept cells' order is then
        read off it instead of sorted again.

    Returns
    -------
    PreparedCells
    """
    if xt.dtype != np.float32:
        xt = np.asarray(xt, dtype=np.float64)
    g = xt.shape[0]
    n = xt.shape[1] if keep is None else int(keep.sum())
    shape = lambda test: (g, n) if test in tests else (g, 0)  # noqa: E731
    out = PreparedCells(n=n, pearson=np.empty(shape("pearson")), spearman=np.empty(shape("spearman")),
                        high=np.empty(shape("chi2"), dtype=np.float32), constant=np.zeros(g, dtype=bool))

    def run(s: slice) -> None:
        block = xt[s] if keep is None else xt[s][:, keep]
        presorted = None
        if sorted_genes is not None:
            order, keys = sorted_genes.order[s], sorted_genes.keys[s]
            presorted = (order, keys) if keep is None else _subset_order(order, keys, keep)
        _prepare_block(block, out, s, tests, presorted)

    _over_blocks(run, g, n_threads)
    return out


@dataclass
class TargetStatistics:
    """Statistics of several targets against every gene of a :class:`PreparedCells`.

    Arrays have shape (targets, genes); NaN where a test was not run or is
    not defined (constant gene, a zero expected count).

    Attributes
    ----------
    pearson_r, spearman_rho, chi2_stat : ndarray
        (targets, genes) statistics.
    chi2_df : ndarray
        (targets,) degrees of freedom of the chi-squared tests (bins - 1).
    """

    pearson_r: np.ndarray
    spearman_rho: np.ndarray
    chi2_stat: np.ndarray
    chi2_df: np.ndarray  # (targets,): bins - 1


def _unit_columns(y: np.ndarray) -> np.ndarray:
    yc = y - y.mean(axis=0, keepdims=True)
    norm = np.sqrt(np.einsum("ij,ij->j", yc, yc))
    with np.errstate(invalid="ignore", divide="ignore"):
        return yc / np.where(norm > 0, norm, np.nan)[None, :]


def target_statistics(prepared: PreparedCells, y: np.ndarray,
                      tests: Sequence[str] = ("pearson", "spearman", "chi2")) -> TargetStatistics:
    """Score targets (columns of ``y``) against every gene of ``prepared``.

    Parameters
    ----------
    prepared : PreparedCells
        From :func:`prepare_cells` on the same cells, in the same order.
    y : ndarray, shape (cells, targets)
        Gene effects without missing values.
    tests : sequence of str

    Returns
    -------
    TargetStatistics
    """
    from core.stats import rank_columns

    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    n, t = y.shape
    g = prepared.constant.shape[0]
    nan = np.full((t, g), np.nan)
    r = rho = chi = nan
    with np.errstate(invalid="ignore"):
        if "pearson" in tests:
            r = np.clip(_unit_columns(y).T @ prepared.pearson.T, -1.0, 1.0)
        if "spearman" in tests:
            rho = np.clip(_unit_columns(rank_columns(y)).T @ prepared.spearman.T, -1.0, 1.0)
    df = np.zeros(t)
    if "chi2" in tests:
        bins = np.column_stack([effect_bins(y[:, j]) for j in range(t)])
        n_bins = bins.max(axis=0) + 1
        df = (n_bins - 1).astype(np.float64)
        onehot = np.zeros((n, t, N_EFFECT_BINS), dtype=np.float32)
        onehot[np.arange(n)[:, None], np.arange(t)[None, :], bins] = 1.0
        high = (onehot.reshape(n, -1).T @ prepared.high.T).reshape(t, N_EFFECT_BINS, g)
        size = onehot.sum(axis=0).astype(np.float64)  # (t, bins)
        n_high = prepared.high.sum(axis=1, dtype=np.float64)  # (g,): the same for every target
        # The 6 x 2 table's statistic, sum over bins b and halves of (observed - expected)^2 / expected, with
        # high_b + low_b = size_b equals n^2 / (N_high (n - N_high)) * (sum_b high_b^2 / size_b - N_high^2 / n).
        inverse = np.divide(1.0, size, out=np.zeros_like(size), where=size > 0)
        squares = np.zeros((t, g))
        for b in range(N_EFFECT_BINS):
            counts = high[:, b, :].astype(np.float64)  # whole numbers: exact in float32 and float64
            squares += counts * counts * inverse[:, b, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            chi = (squares - n_high**2 / n) * (n * n / (n_high * (n - n_high)))
        chi[:, (n_high == 0) | (n_high == n)] = np.nan  # a zero expected count: no test
    if prepared.constant.any():
        for a in (r, rho, chi):
            if a is not nan:
                a[:, prepared.constant] = np.nan
    return TargetStatistics(pearson_r=r, spearman_rho=rho, chi2_stat=chi, chi2_df=df)
