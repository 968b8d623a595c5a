"""Files in the formats of the authors' repository (DKO_keystone_genes)."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from core.dko.data import as_matrix
from core.errors import InputError


def knockout_design(P: pd.DataFrame, genes: Iterable[str] | None = None,
                    cells: Iterable[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DKO's ``Ptest`` and ``Recorder`` for every present gene in every cell (or a subset).

    Parameters
    ----------
    P
        Expression, genes x cells.
    genes, cells
        Optional subsets to knock out / to knock out in.

    Returns
    -------
    ptest : pandas.DataFrame
        genes x knockouts: each column is its cell's expression with one gene
        set to 0 (write without header or index, as ``Ptest.csv``).
    recorder : pandas.DataFrame
        ``gene_id, cell_id``, 1-based positions in ``P`` (DKO's README).
    """
    values, gene_index, cell_index = as_matrix(P)
    gene_ok = np.ones(len(gene_index), dtype=bool) if genes is None else gene_index.isin([str(g) for g in genes])
    cell_pos = np.arange(len(cell_index)) if cells is None else cell_index.get_indexer([str(c) for c in cells])
    gene_ids, cell_ids, columns = [], [], []
    for j in cell_pos[cell_pos >= 0]:
        for i in np.flatnonzero((values[:, j] > 0) & gene_ok):
            column = values[:, j].copy()
            column[i] = 0.0
            columns.append(column)
            gene_ids.append(i + 1)
            cell_ids.append(j + 1)
    ptest = pd.DataFrame(np.column_stack(columns) if columns else np.zeros((len(gene_index), 0)),
                         index=gene_index)
    return ptest, pd.DataFrame({"gene_id": gene_ids, "cell_id": cell_ids})


def impact_export(table: pd.DataFrame, genes: Iterable[str], cells: Iterable[str], id_base: int = 1) -> pd.DataFrame:
    """The impact table with DKO's ``gene_id, cell_id`` (1-based by default) and ``k_pred`` added in front.

    Parameters
    ----------
    table
        Output of :func:`core.dko.knockout_impacts`.
    genes, cells
        The gene and cell order of the input matrix (ids are positions + ``id_base``).
    id_base
        1 as the ``Recorder`` of DKO's README; 0 as the authors' ``Impact_results.csv``.

    Returns
    -------
    pandas.DataFrame
        ``gene_id, cell_id, k_pred, gene, cell, impact_others``.
    """
    if id_base not in (0, 1):
        raise InputError(f"id_base must be 0 or 1, got {id_base!r}")
    gene_pos = pd.Index([str(g) for g in genes]).get_indexer(table["gene"].astype(str))
    cell_pos = pd.Index([str(c) for c in cells]).get_indexer(table["cell"].astype(str))
    return pd.DataFrame({"gene_id": gene_pos + id_base, "cell_id": cell_pos + id_base,
                         "k_pred": table["impact"].to_numpy(),
                         "gene": table["gene"].to_numpy(), "cell": table["cell"].to_numpy(),
                         "impact_others": table["impact_others"].to_numpy()})
