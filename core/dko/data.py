"""Profiles and assemblages of genes x cells matrices, and Bray-Curtis."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import InputError


def as_matrix(P, genes: pd.Index | None = None, source: str = "expression") -> tuple[np.ndarray, pd.Index, pd.Index]:
    """``(values genes x cells float64, gene index, cell index)`` of a DataFrame or array.

    When ``genes`` is given, rows are reordered to it (missing genes raise).
    """
    if isinstance(P, pd.DataFrame):
        frame = P
        if genes is not None:
            # the model keeps its genes as text; a frame read without a header has integer labels
            frame = frame.set_axis(frame.index.astype(str), axis=0)
            missing = pd.Index(genes).difference(frame.index)
            if len(missing):
                raise InputError(f"{source}: {len(missing)} gene(s) of the trained model are missing, e.g. "
                                 f"{', '.join(map(str, missing[:3]))}; use the genes the model was trained on")
            frame = frame.loc[genes]
        values = frame.to_numpy(dtype=float)
        return values, pd.Index(frame.index.astype(str), name="gene"), pd.Index(frame.columns.astype(str), name="cell")
    values = np.asarray(P, dtype=float)
    if values.ndim != 2:
        raise InputError(f"{source}: expected a 2-D genes x cells matrix, got shape {values.shape}")
    gene_index = pd.Index(genes if genes is not None else [f"gene_{i + 1}" for i in range(values.shape[0])],
                          name="gene")
    if len(gene_index) != values.shape[0]:
        raise InputError(f"{source}: {values.shape[0]} rows but the model has {len(gene_index)} genes")
    return values, gene_index, pd.Index([f"cell_{j + 1}" for j in range(values.shape[1])], name="cell")


def check_values(values: np.ndarray, source: str) -> None:
    """Reject NaN, infinite or negative entries and empty cells."""
    if not np.isfinite(values).all():
        raise InputError(f"{source}: contains missing or infinite values; fill absent genes with 0")
    if (values < 0).any():
        raise InputError(f"{source}: contains negative values; DKO needs non-negative expression")
    if (values.sum(axis=0) <= 0).any():
        raise InputError(f"{source}: a cell has no expressed gene; remove empty cells")


def profiles(values: np.ndarray) -> np.ndarray:
    """Each column divided by its sum (genes x cells)."""
    return values / values.sum(axis=0, keepdims=True)


def assemblages(values: np.ndarray) -> np.ndarray:
    """Presence (x > 0) divided by the number of present genes, per column (genes x cells)."""
    present = (values > 0).astype(float)
    return present / present.sum(axis=0, keepdims=True)


def bray_curtis(u: np.ndarray, v: np.ndarray, axis: int = 0) -> np.ndarray:
    """Bray-Curtis dissimilarity ``sum|u - v| / sum|u + v|`` along ``axis`` (scipy semantics)."""
    return np.abs(u - v).sum(axis=axis) / np.abs(u + v).sum(axis=axis)
