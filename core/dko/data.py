"""Profiles and assemblages of genes x cells matrices, and Bray-Curtis."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import InputError


def as_matrix(P, genes: pd.Index | None = None, source: str = "expression",
              keep_labels: bool = False) -> tuple[np.ndarray, pd.Index, pd.Index]:
    """``(values genes x cells float64, gene labels, cell labels)`` of a DataFrame or array.

    Parameters
    ----------
    P : DataFrame or array-like
        Expression, genes x cells.
    genes : pandas.Index, optional
        The model's genes (text). Rows are then reordered to them, matching
        labels as text, so a frame read without a header (integer labels)
        fits a model trained on it; missing genes raise.
    source : str
        What ``P`` is, for error messages.
    keep_labels : bool
        Return a DataFrame's own labels (``predict``) instead of text labels
        named ``gene`` and ``cell``.

    Returns
    -------
    tuple
        The values, the gene labels and the cell labels (an array gets
        ``gene_1 ...`` or the model's genes, and ``cell_1 ...``).

    Raises
    ------
    core.errors.InputError
        Missing or duplicated genes, or an array of the wrong shape.
    """
    if isinstance(P, pd.DataFrame):
        frame = P
        if genes is not None:
            text = frame.index.astype(str)
            missing = pd.Index(genes).difference(text)
            if len(missing):
                raise InputError(f"{source}: {len(missing)} gene(s) of the trained model are missing, e.g. "
                                 f"{', '.join(map(str, missing[:3]))}; use the genes the model was trained on")
            if text.has_duplicates:
                raise InputError(f"{source}: some genes appear twice, e.g. {text[text.duplicated()][0]}; "
                                 f"give each gene one row")
            frame = frame.iloc[text.get_indexer(genes)]
        if keep_labels:
            return frame.to_numpy(dtype=float), frame.index, frame.columns
        return (frame.to_numpy(dtype=float), pd.Index(frame.index.astype(str), name="gene"),
                pd.Index(frame.columns.astype(str), name="cell"))
    values = np.asarray(P, dtype=float)
    if values.ndim != 2:
        raise InputError(f"{source}: expected a 2-D genes x cells matrix, got shape {values.shape}")
    gene_index = pd.Index(genes if genes is not None else [f"gene_{i + 1}" for i in range(values.shape[0])],
                          name="gene")
    if len(gene_index) != values.shape[0]:
        raise InputError(f"{source}: {values.shape[0]} rows but the model has {len(gene_index)} genes")
    return values, gene_index, pd.Index([f"cell_{j + 1}" for j in range(values.shape[1])], name="cell")


def check_values(values: np.ndarray, source: str) -> None:
    """Reject NaN, infinite or negative entries and empty cells.

    Parameters
    ----------
    values : ndarray
        Expression, genes x cells.
    source : str
        What the values are, for the message.
    """
    if not np.isfinite(values).all():
        raise InputError(f"{source}: contains missing or infinite values; fill absent genes with 0")
    if (values < 0).any():
        raise InputError(f"{source}: contains negative values; DKO needs non-negative expression")
    if (values.sum(axis=0) <= 0).any():
        raise InputError(f"{source}: a cell has no expressed gene; remove empty cells")


def profiles(values: np.ndarray) -> np.ndarray:
    """Each column divided by its sum (genes x cells).

    Parameters
    ----------
    values : ndarray
        Non-negative expression, genes x cells.
    """
    return values / values.sum(axis=0, keepdims=True)


def assemblages(values: np.ndarray) -> np.ndarray:
    """Presence (x > 0) divided by the number of present genes, per column (genes x cells).

    Parameters
    ----------
    values : ndarray
        Expression, genes x cells.
    """
    present = (values > 0).astype(float)
    return present / present.sum(axis=0, keepdims=True)


def bray_curtis(u: np.ndarray, v: np.ndarray, axis: int = 0) -> np.ndarray:
    """Bray-Curtis dissimilarity ``sum|u - v| / sum|u + v|`` along ``axis`` (scipy semantics).

    Parameters
    ----------
    u, v : ndarray
        Profiles of the same shape.
    axis : int
        Axis summed over.
    """
    return np.abs(u - v).sum(axis=axis) / np.abs(u + v).sum(axis=axis)
