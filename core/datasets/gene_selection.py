"""Choosing the genes of DKO's genes x genes model from a single-cell file, and densifying only those.

Methods (:func:`select_genes`):

``hvg``
    Highly variable genes: the file's own ``var['highly_variable']`` when it
    has one, otherwise :func:`highly_variable_genes`, a re-implementation of
    scanpy's ``sc.pp.highly_variable_genes(flavor="seurat", n_top_genes=n)``
    (Satija et al. 2015; checked against scanpy in the tests).
``top_mean``
    The ``n`` genes with the largest mean expression.
``list``
    Only the genes named.
``all``
    Every gene.
``auto``
    Every gene when there are at most ``max_genes``, else ``hvg``.

Genes named by the user are always kept, whatever the method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import InputError

METHODS = ("auto", "hvg", "top_mean", "list", "all")
DEFAULT_N_GENES = 2000  # scanpy's usual n_top_genes
N_BINS = 20
TIE_TOLERANCE = 1e-9


@dataclass
class GeneSelection:
    """The genes chosen and how.

    Attributes
    ----------
    genes
        Chosen genes, in the file's order.
    method
        The method used (``auto`` resolved to what it did).
    note
        One sentence for people saying what was chosen.
    """

    genes: list[str]
    method: str
    note: str


def _mean_var(x) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and unbiased variance (float64) of a dense or sparse cells x genes matrix."""
    n = x.shape[0]
    if hasattr(x, "toarray"):
        mean = np.asarray(x.mean(axis=0), dtype=np.float64).ravel()
        mean_sq = np.asarray(x.multiply(x).mean(axis=0), dtype=np.float64).ravel()
    else:
        x = np.asarray(x, dtype=np.float64)
        mean, mean_sq = x.mean(axis=0), (x * x).mean(axis=0)
    var = mean_sq - mean ** 2
    return mean, var * n / (n - 1) if n > 1 else var


def log_normalise(x, integer: bool):
    """``log1p`` of counts scaled to the median total per cell (scanpy's usual recipe); other values unchanged.

    Parameters
    ----------
    x : ndarray
        Cells x genes.
    integer : bool
        Whether the values are counts (only counts are normalised).
    """
    if not integer:
        return x
    totals = np.asarray(x.sum(axis=1), dtype=np.float64).ravel()
    scale = np.divide(np.median(totals[totals > 0]), totals, out=np.zeros_like(totals), where=totals > 0)
    if hasattr(x, "toarray"):
        import scipy.sparse as sp

        scaled = sp.diags(scale) @ x.astype(np.float64)
        scaled.data = np.log1p(scaled.data)
        return scaled.tocsr()
    return np.log1p(np.asarray(x, dtype=np.float64) * scale[:, None])


def highly_variable_genes(x, n_top: int, n_bins: int = N_BINS) -> pd.DataFrame:
    """Seurat-flavour highly variable genes of log-normalised expression (cells x genes).

    Per gene, the mean ``m`` and variance ``v`` of ``expm1(x)`` give the
    dispersion ``log(v / m)`` and the mean ``log1p(m)``. Genes are put in
    ``n_bins`` equal-width bins of the mean; within each bin the dispersions
    are z-scored (a bin holding one gene gets normalised dispersion 1). The
    ``n_top`` genes with the largest normalised dispersion are highly variable
    (ties at the cut-off are all kept, also when rounding separates them by
    less than :data:`TIE_TOLERANCE`, where scanpy's choice depends on the
    last bit), as in scanpy's
    ``highly_variable_genes(flavor="seurat", n_top_genes=n_top)``.

    Parameters
    ----------
    x : ndarray
        Log-normalised expression, cells x genes.
    n_top : int
        Genes kept.
    n_bins : int
        Bins of the mean.

    Returns
    -------
    pandas.DataFrame
        ``means, dispersions, dispersions_norm, highly_variable`` per gene (positional index).
    """
    # expm1 in the stored precision (float32 in most files), statistics in float64: as scanpy does, so that
    # genes tied at the cut-off (bins of two genes give +-0.7071) fall the same way
    if hasattr(x, "toarray"):
        x = x.copy()
        x.data = np.expm1(x.data)
        x = x.astype(np.float64)
    else:
        x = np.asarray(x)
        x = np.expm1(x if x.dtype.kind == "f" else x.astype(np.float64)).astype(np.float64)
    mean, var = _mean_var(x)
    mean[mean == 0] = 1e-12
    dispersion = var / mean
    dispersion[dispersion == 0] = np.nan
    dispersion = np.log(dispersion)
    mean = np.log1p(mean)
    frame = pd.DataFrame({"means": mean, "dispersions": dispersion})
    frame["mean_bin"] = pd.cut(frame["means"], bins=n_bins)
    stats = frame.groupby("mean_bin", observed=True)["dispersions"].agg(avg="mean", dev="std")
    single = stats["dev"].isnull()
    stats.loc[single, "dev"] = stats.loc[single, "avg"]
    stats.loc[single, "avg"] = 0
    per_gene = stats.loc[frame["mean_bin"]].set_index(frame.index)
    frame["dispersions_norm"] = (frame["dispersions"] - per_gene["avg"]) / per_gene["dev"]
    norm = frame["dispersions_norm"].to_numpy()
    finite = np.sort(norm[~np.isnan(norm)])[::-1]
    n = min(int(n_top), finite.size)
    cut = finite[n - 1] if n else np.inf
    # ties at the cut-off are all kept; "tied" allows for rounding (bins of two genes give +-1/sqrt(2) up to an ulp)
    frame["highly_variable"] = np.nan_to_num(norm, nan=-np.inf) >= cut - TIE_TOLERANCE * max(1.0, abs(cut))
    return frame.drop(columns="mean_bin")


def resolve_names(requested, genes: pd.Index, source: str = "the file") -> list[str]:
    """Gene names as the file spells them (exact, else case-insensitive); InputError names the unknown ones.

    Parameters
    ----------
    requested : iterable of str
        Gene names asked for.
    genes : pandas.Index
        The file's genes.
    source : str
        The file, for messages.
    """
    lookup = {g.upper(): g for g in genes}
    known = set(genes)
    found, unknown = [], []
    for name in requested or []:
        name = str(name).strip()
        if not name:
            continue
        match = name if name in known else lookup.get(name.upper())
        (found if match else unknown).append(match or name)
    if unknown:
        example = ", ".join(map(str, genes[:3]))
        raise InputError(f"{len(unknown)} gene(s) asked for by name are not in {source}: {', '.join(unknown[:8])}; "
                         f"use the file's gene names (e.g. {example})")
    return list(dict.fromkeys(found))


def select_genes(file, method: str = "auto", n_genes: int | None = None, genes=(),
                 max_genes: int = 3000) -> GeneSelection:
    """Choose DKO's genes from a :class:`core.datasets.scverse.SingleCellFile`.

    Parameters
    ----------
    file
        The file read with :func:`core.datasets.scverse.read_singlecell_file`.
    method
        One of :data:`METHODS` (see the module docstring).
    n_genes
        How many genes ``hvg`` (when computed) and ``top_mean`` choose
        (default :data:`DEFAULT_N_GENES`, at most ``max_genes``).
    genes
        Names always kept (the whole selection for ``list``).
    max_genes
        DKO's limit.

    Returns
    -------
    GeneSelection

    Raises
    ------
    core.errors.InputError
        Unknown method or gene names, a bad ``n_genes``, or an empty list.
    """
    if method not in METHODS:
        raise InputError(f"unknown gene selection {method!r}; choose one of {', '.join(METHODS)}")
    names = pd.Index(file.genes)
    keep = resolve_names(genes, names, file.source or "the file")
    if n_genes in (None, ""):
        n = min(DEFAULT_N_GENES, max_genes)
    else:
        try:
            n = int(n_genes)
        except (TypeError, ValueError):
            raise InputError(f"the number of genes must be a whole number, got {n_genes!r}") from None
        if not 2 <= n <= max_genes:
            raise InputError(f"the number of genes must be between 2 and {max_genes:,} (DKO's limit), got {n:,}")
    if method == "auto":
        method = "all" if len(names) <= max_genes else "hvg"
    if method == "all":
        chosen, note = set(names), f"all {len(names):,} genes"
    elif method == "list":
        if not keep:
            raise InputError("the gene list is empty; name the genes to use (comma- or space-separated)")
        chosen, note = set(), f"{len(keep):,} genes from the list"
    elif method == "top_mean":
        mean, _ = _mean_var(file.matrix)
        order = np.argsort(-mean, kind="stable")[:n]
        chosen, note = set(names[order]), f"the {min(n, len(names)):,} genes with the largest mean expression"
    elif file.highly_variable is not None and file.highly_variable.any():
        flags = file.highly_variable.reindex(names).fillna(False)
        chosen, note = set(names[flags.to_numpy(dtype=bool)]), (
            f"the file's own {int(flags.sum()):,} highly variable genes (var['highly_variable'])")
    else:
        hvg = highly_variable_genes(log_normalise(file.matrix, file.choice().integer), n)
        chosen = set(names[hvg["highly_variable"].to_numpy()])
        note = (f"{len(chosen):,} highly variable genes (Seurat-flavour dispersion, as scanpy's "
                f"highly_variable_genes(flavor='seurat', n_top_genes={n})"
                f"{', on log1p of median-normalised counts' if file.choice().integer else ''})")
    added = [g for g in keep if g not in chosen]
    if added and method != "list":
        note += f", plus {len(added)} named gene(s) ({', '.join(added[:5])})"
    chosen |= set(keep)
    return GeneSelection([g for g in names if g in chosen], method, note)


def dense_expression(file, genes: list[str]) -> pd.DataFrame:
    """The chosen genes as a dense genes x cells float64 frame (what DKO trains on).

    Parameters
    ----------
    file : SingleCellFile
        A read single-cell file.
    genes : list of str
        Genes kept, in this order.
    """
    names = pd.Index(file.genes)
    pos = names.get_indexer(genes)
    sub = file.matrix[:, pos]
    values = sub.toarray() if hasattr(sub, "toarray") else np.asarray(sub)
    return pd.DataFrame(np.asarray(values, dtype=np.float64).T, index=pd.Index(list(genes), name="gene"),
                        columns=pd.Index(file.cells, name="cell"))


def format_bytes(n: float) -> str:
    """``1.7 MB`` style.

    Parameters
    ----------
    n : float
        A number of bytes.
    """
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"  # pragma: no cover
