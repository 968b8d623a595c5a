"""Modifier-gene selection (Rosenski, Shifman & Kaplan 2023), for one target or for all at once.

Three tests of each gene's expression against a target's gene effect across
cell lines -- Pearson, Spearman and a chi-squared test of a 6 x 2 table --
BH-FDR per test across genes, the ``top_k`` strongest significant genes per
test, and their union.

The statistics are matrix products (:mod:`core.essentiality.kernels`): for one
set of cell lines the expression is sorted and scaled once, and any number of
targets are then scored together. :func:`select_modifiers` scores one target
and keeps the prepared expression of its cells for the next call on the same
cells; :func:`select_modifiers_all` scores every target, processing targets
that share their non-missing cells (a screen batch) together, in chunks.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from core.errors import InputError
from core.essentiality.kernels import (
    N_EFFECT_BINS, PreparedCells, SortedGenes, effect_bins, prepare_cells, sort_genes, target_statistics,
)
from core.stats import pearson_pvalue

TESTS: tuple[str, ...] = ("pearson", "spearman", "chi2")
TABLE_COLUMNS: list[str] = [
    "pearson_r", "pearson_p", "pearson_q",
    "spearman_rho", "spearman_p", "spearman_q",
    "chi2_stat", "chi2_p", "chi2_q",
]
MIN_CELLS = 10
TABLE_MODES = ("full", "modifiers")
_STRENGTH = {"pearson": "pearson_r", "spearman": "spearman_rho", "chi2": "chi2_stat"}
__all__ = ["MIN_CELLS", "N_EFFECT_BINS", "TABLE_COLUMNS", "TESTS", "ModifierSelection", "effect_bins",
           "select_modifiers", "select_modifiers_all"]


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


# --- the tested genes of one set of cells ---------------------------------------------------


@dataclass
class _GeneGroup:
    """Genes prepared together: all complete on ``keep`` (None: on every cell of the set)."""

    columns: np.ndarray
    keep: np.ndarray | None
    prepared: PreparedCells


@dataclass
class _CellSet:
    """Every gene of the expression, prepared for one set of cells.

    Genes complete on these cells form one group; genes with missing values
    are tested on their own complete cells, one group per missing pattern.
    """

    groups: list[_GeneGroup]
    tested: np.ndarray  # (genes,) bool: not constant, enough cells
    n: np.ndarray  # (genes,) cells each gene is tested on


@dataclass
class _SortedParent:
    """The genes complete on every cell of a superset of cells, sorted once (see :func:`sort_genes`)."""

    columns: np.ndarray
    xt: np.ndarray
    sorted: SortedGenes


def _sorted_parent(xt: np.ndarray) -> _SortedParent:
    complete = np.flatnonzero(~np.isnan(xt.sum(axis=1, dtype=np.float64)))
    values = xt if len(complete) == xt.shape[0] else xt[complete]
    return _SortedParent(complete, values, sort_genes(values))


def _cell_set(xt: np.ndarray, tests: Sequence[str], keep: np.ndarray | None = None,
              parent: _SortedParent | None = None) -> _CellSet:
    """Prepare expression ``xt`` (genes x cells) for scoring targets on its ``keep`` cells (default all).

    With ``parent`` (the sorted genes of all of ``xt``'s cells) the kept cells'
    order of those genes is read off it rather than sorted again.
    """
    n_genes = xt.shape[0]
    m = xt.shape[1] if keep is None else int(keep.sum())
    groups: list[_GeneGroup] = []
    rest = np.arange(n_genes)
    if parent is not None:
        groups.append(_GeneGroup(parent.columns, None, prepare_cells(parent.xt, tests, keep=keep,
                                                                     sorted_genes=parent.sorted)))
        rest = np.setdiff1d(rest, parent.columns)
    if len(rest):
        sub = xt if len(rest) == n_genes else xt[rest]
        sub = sub if keep is None else sub[:, keep]
        missing = np.isnan(sub)
        has_missing = missing.any(axis=1)
        complete = np.flatnonzero(~has_missing)
        if len(complete):
            prepared = prepare_cells(sub if len(complete) == len(rest) else sub[complete], tests)
            groups.append(_GeneGroup(rest[complete], None, prepared))
        # genes with missing values: tested on their own complete cells, one group per missing pattern
        partial = np.flatnonzero(has_missing & (m - missing.sum(axis=1) >= MIN_CELLS))
        patterns: dict[bytes, list[int]] = {}
        for i in partial:
            patterns.setdefault(np.packbits(missing[i]).tobytes(), []).append(int(i))
        for members in patterns.values():
            own = ~missing[members[0]]
            groups.append(_GeneGroup(rest[members], own, prepare_cells(sub[np.ix_(members, own)], tests)))
    tested = np.zeros(n_genes, dtype=bool)
    n = np.zeros(n_genes, dtype=np.int64)
    for group in groups:
        tested[group.columns] = ~group.prepared.constant
        n[group.columns] = m if group.keep is None else int(group.keep.sum())
    return _CellSet(groups, tested, n)


def _statistics(cells: _CellSet, y: np.ndarray, tests: Sequence[str]) -> dict[str, np.ndarray]:
    """Pearson r, Spearman rho, chi-squared statistic and its df, each (targets, genes)."""
    n_targets, n_genes = y.shape[1], cells.tested.shape[0]
    out = {name: np.full((n_targets, n_genes), np.nan) for name in ("pearson_r", "spearman_rho", "chi2_stat",
                                                                    "chi2_df")}
    for group in cells.groups:
        stats = target_statistics(group.prepared, y if group.keep is None else y[group.keep], tests)
        out["pearson_r"][:, group.columns] = stats.pearson_r
        out["spearman_rho"][:, group.columns] = stats.spearman_rho
        out["chi2_stat"][:, group.columns] = stats.chi2_stat
        out["chi2_df"][:, group.columns] = stats.chi2_df[:, None]
    return out


# The prepared cells of recent single-target calls: evaluate_gene and the pages select again and again on
# the same expression and training cells. Keyed by the frame's identity, its values' checksum and the cells.
_CACHE: "OrderedDict[tuple, _CellSet]" = OrderedDict()
_CACHE_SIZE = 2
_CACHE_LOCK = threading.Lock()


def _forget(frame_id: int) -> None:
    with _CACHE_LOCK:
        for key in [k for k in _CACHE if k[0] == frame_id]:
            del _CACHE[key]


def _cached_cell_set(expression: pd.DataFrame, values: np.ndarray, rows: np.ndarray,
                     tests: Sequence[str]) -> _CellSet:
    checksum = np.float64(values.sum(dtype=np.float64)).tobytes()
    key = (id(expression), values.shape, checksum, hashlib.sha1(rows.tobytes()).hexdigest(), tuple(tests))
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    cells = _cell_set(_gene_rows(values, rows), tests)
    with _CACHE_LOCK:
        if not any(k[0] == id(expression) for k in _CACHE):
            weakref.finalize(expression, _forget, id(expression))
        _CACHE[key] = cells
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return cells


def _gene_rows(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Expression of the given cells as a contiguous genes x cells array (float32 kept)."""
    if values.dtype not in (np.float32, np.float64):
        values = values.astype(np.float64)
    return np.ascontiguousarray(values[rows].T)


# --- p-values, q-values and the picks, for many targets at once -----------------------------------


def _correlation_pvalues(r: np.ndarray, n: np.ndarray, fdr: float | None) -> np.ndarray:
    """Two-sided p of correlations (targets x genes) with per-gene sizes ``n``.

    With ``fdr``, only correlations whose p can be below it are computed exactly;
    the others get p = 1, which leaves every q-value below ``fdr`` unchanged.
    """
    from scipy.special import betaincinv

    p = np.where(np.isnan(r), np.nan, 1.0)
    for size in np.unique(n[n > 2]):
        cols = np.flatnonzero(n == size)
        block = r[:, cols]
        if fdr is None:
            p[:, cols] = pearson_pvalue(block, int(size))
            continue
        r2_min = (1.0 - betaincinv((size - 2) / 2.0, 0.5, fdr)) * (1 - 1e-9)
        hit = np.abs(block) ** 2 >= r2_min
        sub = p[:, cols]
        sub[hit] = pearson_pvalue(block[hit], int(size))
        p[:, cols] = sub
    return p


def _chi2_pvalues(stat: np.ndarray, df: np.ndarray, fdr: float | None) -> np.ndarray:
    from scipy.stats import chi2

    p = np.where(np.isnan(stat), np.nan, 1.0)
    ok = ~np.isnan(stat) & (df > 0)
    if fdr is not None:
        critical = np.full(df.shape, np.inf)
        for value in np.unique(df[df > 0]):
            critical[df == value] = chi2.isf(fdr, value) * (1 - 1e-9)
        with np.errstate(invalid="ignore"):
            ok &= stat >= critical
    p[ok] = chi2.sf(stat[ok], df[ok])
    return p


def _bh_rows(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of each row (NaN: not tested), as :func:`core.stats.bh_fdr` per row."""
    order = np.argsort(p, axis=1)  # NaN last
    ordered = np.take_along_axis(p, order, axis=1)
    m = (~np.isnan(p)).sum(axis=1, keepdims=True)
    scaled = ordered * m / np.arange(1, p.shape[1] + 1)
    adjusted = np.minimum(np.fmin.accumulate(scaled[:, ::-1], axis=1)[:, ::-1], 1.0)
    q = np.empty_like(p)
    np.put_along_axis(q, order, adjusted, axis=1)
    q[np.isnan(p)] = np.nan
    return q


def _bh_rows_below(p: np.ndarray, fdr: float) -> np.ndarray:
    """:func:`_bh_rows` where it is below ``fdr``, NaN elsewhere, sorting only the p-values below ``fdr``.

    A q-value below ``fdr`` depends only on the p-values at or below its own,
    and only p-values below ``fdr`` can have one; ``m`` counts every tested gene.
    """
    q = np.full_like(p, np.nan)
    m = (~np.isnan(p)).sum(axis=1)
    for row in range(p.shape[0]):
        cols = np.flatnonzero(p[row] < fdr)
        if not len(cols):
            continue
        cols = cols[np.argsort(p[row, cols])]
        scaled = p[row, cols] * m[row] / np.arange(1, len(cols) + 1)
        adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
        q[row, cols] = np.where(adjusted < fdr, adjusted, np.nan)
    return q


def _top_rows(strength: np.ndarray, q: np.ndarray, fdr: float | None, top_k: int) -> list[np.ndarray]:
    """Per row, the columns of the ``top_k`` largest |strength| with q < fdr, strongest first, ties in column order."""
    score = np.abs(strength)
    valid = ~np.isnan(score) & ~np.isnan(q)
    if fdr is not None:
        valid &= q < fdr
    score = np.where(valid, score, -np.inf)
    k = min(top_k, score.shape[1])
    if k == 0:
        return [np.zeros(0, dtype=np.intp) for _ in range(score.shape[0])]
    kth = -np.partition(-score, k - 1, axis=1)[:, k - 1]
    picks = []
    for row, threshold in zip(score, kth):
        cols = np.flatnonzero((row >= threshold) & np.isfinite(row))
        picks.append(cols[np.argsort(-row[cols], kind="stable")][:k])
    return picks


def _prune_redundant(candidates: list[str], x: pd.DataFrame, threshold: float, top_k: int) -> list[str]:
    """Walk the candidates strongest first; skip one whose |r| with an already chosen gene reaches ``threshold``."""
    chosen: list[str] = []
    chosen_z: list[np.ndarray] = []
    for gene in candidates:
        v = x[gene].to_numpy(np.float64)
        ok_cells = ~np.isnan(v)
        z = np.where(ok_cells, (v - np.nanmean(v)) / (np.nanstd(v) or 1.0), 0.0)
        if any(abs(np.mean(z * c)) >= threshold for c in chosen_z):
            continue
        chosen.append(gene)
        chosen_z.append(z)
        if len(chosen) == top_k:
            break
    return chosen


# --- selection -------------------------------------------------------------------------------


def _check_options(tests, top_k, fdr, redundancy_threshold) -> tuple[str, ...]:
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
    return tests


def _as_frame(expression) -> pd.DataFrame:
    if isinstance(expression, pd.DataFrame):
        return expression
    if isinstance(expression, np.ndarray) and expression.ndim == 2:
        return pd.DataFrame(expression, columns=[f"gene{j}" for j in range(expression.shape[1])])
    raise InputError("expression must be a table of cell lines (rows) x genes (columns): a pandas DataFrame, "
                     "or a 2-D numpy array whose columns are then named gene0, gene1, ...")


def _as_effects(effect, expression: pd.DataFrame, name: str = "target") -> pd.DataFrame:
    if isinstance(effect, pd.Series):
        return effect.to_frame(effect.name if effect.name is not None else name)
    if isinstance(effect, pd.DataFrame):
        return effect
    if isinstance(effect, np.ndarray) and effect.ndim in (1, 2) and len(effect) == len(expression):
        frame = pd.DataFrame(effect.reshape(len(effect), -1), index=expression.index)
        frame.columns = [name] if frame.shape[1] == 1 else [f"target{j}" for j in range(frame.shape[1])]
        return frame
    raise InputError("effect must be gene effects indexed by cell line (a pandas Series or DataFrame), or a numpy "
                     "array with one row per row of the expression")


def _finish(target: str, stats: dict[str, np.ndarray], row: int, p: dict[str, np.ndarray],
            q: dict[str, np.ndarray], picks: dict[str, np.ndarray], genes: np.ndarray, cells: _CellSet,
            tests: tuple[str, ...], table_mode: str, x: pd.DataFrame | None, options: dict,
            expression_columns: pd.Index) -> ModifierSelection:
    """One target's :class:`ModifierSelection` from the batch arrays."""
    sets: dict[str, list[str]] = {}
    for test in tests:
        cols = picks[test][row]
        if options["redundancy_threshold"] is not None:
            strength = np.abs(stats[_STRENGTH[test]][row])
            valid = cells.tested & ~np.isnan(strength) & ~np.isnan(q[test][row])
            if options["fdr"] is not None:
                valid &= q[test][row] < options["fdr"]
            order = np.flatnonzero(valid)
            order = order[np.argsort(-strength[order], kind="stable")]
            sets[test] = _prune_redundant([str(g) for g in genes[order]], x, options["redundancy_threshold"],
                                          options["top_k"])
        else:
            sets[test] = [str(g) for g in genes[cols]]
    best: dict[str, tuple[int, int]] = {}
    for t_index, test in enumerate(tests):
        for rank, gene in enumerate(sets[test]):
            best[gene] = min(best.get(gene, (rank, t_index)), (rank, t_index))
    modifiers = sorted(best, key=lambda g: best[g])
    skipped = options["skipped"]
    if options["include_target_expression"] and target in expression_columns and target not in modifiers \
            and target not in options["skipped_set"]:
        modifiers.append(target)
    if table_mode == "full":
        cols = np.flatnonzero(cells.tested)
    else:
        cols = [options["position"][g] for g in sorted(best, key=lambda g: best[g])]
        r = np.abs(stats["pearson_r"][row])
        if "pearson" in tests and np.isfinite(r).any() and int(np.nanargmax(r)) not in cols:
            cols.append(int(np.nanargmax(r)))  # the single strongest gene, significant or not (paper Fig. 1A)
        cols = np.array(cols, dtype=np.intp)
    columns = {}
    for test, stat, prefix in (("pearson", "pearson_r", "pearson"), ("spearman", "spearman_rho", "spearman"),
                               ("chi2", "chi2_stat", "chi2")):
        columns[stat] = stats[stat][row, cols]
        columns[f"{prefix}_p"] = p[test][row, cols] if test in tests else np.full(len(cols), np.nan)
        columns[f"{prefix}_q"] = q[test][row, cols] if test in tests else np.full(len(cols), np.nan)
    if table_mode == "modifiers" and options["fdr"] is not None:
        _exact_rows(columns, cells.n[cols], stats["chi2_df"][row, cols], tests, options["fdr"])
    table = pd.DataFrame({c: columns[c] for c in TABLE_COLUMNS}, index=pd.Index(genes[cols].astype(str), name="gene"))
    params = {"top_k": int(options["top_k"]), "fdr": options["fdr"], "tests": list(tests),
              "redundancy_threshold": options["redundancy_threshold"],
              "include_target_expression": options["include_target_expression"], "target": target}
    return ModifierSelection(sets=sets, modifiers=modifiers, table=table, n_cells=options["n_cells"],
                             skipped=list(skipped), params=params)


def _exact_rows(columns: dict[str, np.ndarray], n: np.ndarray, df: np.ndarray, tests: tuple[str, ...],
                fdr: float) -> None:
    """Exact p-values of a "modifiers" table's columns; q-values only below ``fdr`` (elsewhere NaN: not computed)."""
    from scipy.stats import chi2

    for test, stat in _STRENGTH.items():
        if test not in tests:
            continue
        values = columns[stat]
        if test == "chi2":
            exact = np.where(df > 0, chi2.sf(values, np.where(df > 0, df, 1)), np.nan)
        else:
            exact = np.full(len(values), np.nan)
            for size in np.unique(n):
                exact[n == size] = pearson_pvalue(values[n == size], int(size))
        columns[f"{test}_p"] = exact
        columns[f"{test}_q"] = np.where(columns[f"{test}_q"] < fdr, columns[f"{test}_q"], np.nan)


def _select_batch(expression: pd.DataFrame, cells: _CellSet, rows: np.ndarray, y: np.ndarray,
                  targets: list[str], tests: tuple[str, ...], options: dict,
                  table_mode: str) -> dict[str, ModifierSelection]:
    """Selections of targets (columns of ``y``) that share their cells ``rows``."""
    stats = _statistics(cells, y, tests)
    fdr = options["fdr"]
    # with a full table every p and q is reported; otherwise only those that can pass the FDR matter
    cutoff = None if table_mode == "full" else fdr
    p, q, picks = {}, {}, {}
    for test in tests:
        if test == "chi2":
            p[test] = _chi2_pvalues(stats["chi2_stat"], stats["chi2_df"], cutoff)
        else:
            p[test] = _correlation_pvalues(stats[_STRENGTH[test]], cells.n, cutoff)
        p[test][:, ~cells.tested] = np.nan
        q[test] = _bh_rows(p[test]) if cutoff is None else _bh_rows_below(p[test], cutoff)
        picks[test] = _top_rows(stats[_STRENGTH[test]], q[test], fdr, int(options["top_k"]))
    for name in stats:
        stats[name][:, ~cells.tested] = np.nan
    x = expression.iloc[rows] if options["redundancy_threshold"] is not None else None
    genes = np.asarray(expression.columns)
    skipped = tuple(str(g) for g in genes[~cells.tested])
    options = {**options, "n_cells": len(rows), "skipped": skipped, "skipped_set": frozenset(skipped)}
    if table_mode != "full":
        options["position"] = {str(g): j for j, g in enumerate(genes)}
    return {target: _finish(target, stats, j, p, q, picks, genes, cells, tests, table_mode, x, options,
                            expression.columns)
            for j, target in enumerate(targets)}


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

    The expression of the cells used is prepared once (sorted, ranked,
    scaled) and kept for the next call with the same expression frame and the
    same cells, so selecting again on those cells costs a few matrix-vector
    products. Treat the frame as read-only while you select on it.

    Parameters
    ----------
    expression : DataFrame or ndarray
        Cells x genes expression (log2 TPM+1). Constant or all-missing genes
        are skipped; a gene with some missing values is tested on its
        complete cells. A 2-D array gets gene names ``gene0, gene1, ...``.
    effect : Series or ndarray
        The target's gene effect indexed by cell (an array: one value per
        expression row). Cells with a missing effect are dropped; only cells
        present in both tables are used.
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

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> expression = pd.DataFrame(rng.normal(5, 1, (200, 50)), columns=[f"G{j}" for j in range(50)])
    >>> effect = pd.Series(-0.5 * expression["G3"] + rng.normal(0, 0.3, 200), name="TARGET")
    >>> select_modifiers(expression, effect, top_k=3).modifiers[0]
    'G3'
    """
    tests = _check_options(tests, top_k, fdr, redundancy_threshold)
    expression = _as_frame(expression)
    frame = _as_effects(effect, expression)
    target = target if target is not None else str(frame.columns[0])
    y = pd.to_numeric(frame.iloc[:, 0], errors="coerce").dropna()
    cells = expression.index.intersection(y.index) if not y.index.equals(expression.index) else expression.index
    if len(cells) < MIN_CELLS:
        raise InputError(
            f"only {len(cells)} cell lines have both expression and a gene effect for {target}; at least "
            f"{MIN_CELLS} are needed. Check that the cell-line ids of the expression and gene-effect tables match."
        )
    rows = expression.index.get_indexer(cells)
    if (rows < 0).any() or expression.index.has_duplicates:
        raise InputError("the expression table has duplicated cell-line ids; each cell line must appear once")
    values = expression.to_numpy()
    prepared = _cached_cell_set(expression, values, rows, tests)
    options = {"top_k": top_k, "fdr": fdr, "redundancy_threshold": redundancy_threshold,
               "include_target_expression": include_target_expression}
    yv = y.loc[cells].to_numpy(np.float64)[:, None]
    return _select_batch(expression, prepared, rows, yv, [target], tests, options, "full")[target]


def select_modifiers_all(
    expression: pd.DataFrame,
    effects: pd.DataFrame,
    *,
    top_k: int = 20,
    fdr: float | None = 0.05,
    tests: Sequence[str] = TESTS,
    redundancy_threshold: float | None = None,
    include_target_expression: bool = False,
    targets: Sequence[str] | None = None,
    table: str = "full",
    chunk_size: int = 64,
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, ModifierSelection]:
    """:func:`select_modifiers` for every target at once, as matrix products.

    Targets whose non-missing cells are the same (a screen batch) share one
    preparation of the expression on those cells and are scored ``chunk_size``
    at a time, so memory stays bounded: the prepared expression is about
    20 bytes per gene and cell (0.4 GB at 1,100 cells x 19,000 genes), one
    sort of all cells kept for the other missing-cell patterns 12 bytes per
    gene and cell, and a chunk about 200 bytes per gene and target (0.25 GB for
    64 targets). At DepMap scale a process holding the 0.27 GB of data peaked
    at 1.14 GB. The results equal per-target :func:`select_modifiers` (to rounding).

    Parameters
    ----------
    expression : DataFrame
        Cells x genes expression.
    effects : DataFrame
        Cells x targets gene effect; missing values allowed (each target uses
        its own non-missing cells).
    top_k, fdr, tests, redundancy_threshold, include_target_expression
        As in :func:`select_modifiers`.
    targets : sequence of str, optional
        Columns of ``effects`` to select for (default all).
    table : {"full", "modifiers"}
        ``"full"`` keeps every tested gene's statistics for every target, as
        :func:`select_modifiers` does (genes x targets x 9 numbers: too much at
        DepMap scale); ``"modifiers"`` keeps only the rows of each target's
        modifier genes, and computes p-values only where they can pass
        ``fdr`` (the selection and the kept rows are identical).
    chunk_size : int
        Targets scored together.
    progress : callable, optional
        ``progress(fraction, message)`` after every chunk.

    Returns
    -------
    dict
        Target -> :class:`ModifierSelection`, in the order of ``targets``.
        Targets with fewer than 10 cells with both an effect and expression
        are left out.

    Raises
    ------
    core.errors.InputError
        Bad parameters, unknown targets or no shared cell lines.
    """
    tests = _check_options(tests, top_k, fdr, redundancy_threshold)
    if table not in TABLE_MODES:
        raise InputError(f"table must be one of {', '.join(TABLE_MODES)}; got {table!r}")
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise InputError(f"chunk_size must be a positive whole number; got {chunk_size}")
    report = progress or (lambda fraction, message: None)
    expression = _as_frame(expression)
    effects = _as_effects(effects, expression)
    targets = [str(t) for t in effects.columns] if targets is None else [str(t) for t in dict.fromkeys(targets)]
    names = {str(c): c for c in effects.columns}
    unknown = [t for t in targets if t not in names]
    if unknown:
        raise InputError(f"target(s) {', '.join(unknown[:5])} have no gene-effect column")
    if expression.index.has_duplicates:
        raise InputError("the expression table has duplicated cell-line ids; each cell line must appear once")
    cells = expression.index.intersection(effects.index) if not effects.index.equals(expression.index) \
        else expression.index
    if len(cells) < MIN_CELLS:
        raise InputError(f"only {len(cells)} cell lines are in both the expression and gene-effect tables; at "
                         f"least {MIN_CELLS} are needed. Check that the cell-line ids match.")
    rows_all = expression.index.get_indexer(cells)
    effect_values = effects.loc[cells, [names[t] for t in targets]].apply(pd.to_numeric, errors="coerce")
    effect_values = effect_values.to_numpy(np.float64)
    present = ~np.isnan(effect_values)
    # targets sharing their non-missing cells are prepared and scored together
    patterns: dict[bytes, list[int]] = {}
    for j in np.flatnonzero(present.sum(axis=0) >= MIN_CELLS):
        patterns.setdefault(np.packbits(present[:, j]).tobytes(), []).append(int(j))
    options = {"top_k": top_k, "fdr": fdr, "redundancy_threshold": redundancy_threshold,
               "include_target_expression": include_target_expression}
    values = expression.to_numpy()
    results: dict[str, ModifierSelection] = {}
    n_total = sum(len(v) for v in patterns.values())
    xt = _gene_rows(values, rows_all)
    # several missing-cell patterns: sort every gene once on all cells; each pattern's order is read off it
    parent = _sorted_parent(xt) if len(patterns) > 1 else None
    for members in patterns.values():
        keep = present[:, members[0]]
        rows = rows_all[keep]
        prepared = _cell_set(xt, tests, None if keep.all() else keep, parent)
        for start in range(0, len(members), chunk_size):
            chunk = members[start:start + chunk_size]
            y = effect_values[np.ix_(keep, chunk)]
            results.update(_select_batch(expression, prepared, rows, y, [targets[j] for j in chunk], tests,
                                         options, table))
            report(len(results) / max(n_total, 1), f"modifier genes of {len(results):,} of {n_total:,} targets")
        del prepared
    return {t: results[t] for t in targets if t in results}
