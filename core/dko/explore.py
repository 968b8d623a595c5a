"""The cell x gene impact matrix: clustering, ordering and a 2-D embedding of cells."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.dko.data import as_matrix, profiles
from core.errors import InputError

MAX_LINKAGE_CELLS = 3000  # above this a cluster's cells are ordered by their first principal component


def impact_matrix(table: pd.DataFrame, genes, cells, column: str = "impact") -> pd.DataFrame:
    """genes x cells matrix of a knockout table; NaN where a gene is absent (not knocked out).

    Parameters
    ----------
    table : pandas.DataFrame
        Knockout table with ``gene``, ``cell`` and ``column``.
    genes, cells : sequence
        Rows and columns of the matrix, in this order.
    column : str
        The value shown.
    """
    genes, cells = pd.Index(list(genes), name="gene"), pd.Index(list(cells), name="cell")
    out = np.full((len(genes), len(cells)), np.nan)
    out[genes.get_indexer(table["gene"]), cells.get_indexer(table["cell"])] = table[column].to_numpy()
    return pd.DataFrame(out, index=genes, columns=cells)


@dataclass
class ImpactClusters:
    """Cells grouped by their knockout-impact pattern.

    Attributes
    ----------
    cell_cluster
        Cluster label per cell (``"C1" ...``, numbered in display order).
    cell_order
        Cells ordered by cluster, then by similarity within the cluster.
    gene_order
        Genes ordered by hierarchical clustering of the cluster means.
    means
        genes x clusters mean impact (absent genes count as 0), in both orders.
    sizes
        Number of cells per cluster.
    """

    cell_cluster: pd.Series
    cell_order: pd.Index
    gene_order: pd.Index
    means: pd.DataFrame
    sizes: pd.Series


def _leaf_order(x: np.ndarray) -> np.ndarray:
    """Average-linkage leaf order of the rows of ``x`` (first-PC order when there are many)."""
    if x.shape[0] <= 2:
        return np.arange(x.shape[0])
    if x.shape[0] > MAX_LINKAGE_CELLS:
        centred = x - x.mean(axis=0)
        return np.argsort(np.linalg.svd(centred, full_matrices=False)[0][:, 0])
    from scipy.cluster.hierarchy import leaves_list, linkage

    return leaves_list(linkage(x, method="average", metric="euclidean"))


def cluster_impacts(matrix: pd.DataFrame, n_clusters: int = 8, seed: int = 0) -> ImpactClusters:
    """k-means clusters of cells by their impact profile, with display orders for a heatmap.

    Absent genes (NaN) count as impact 0: knocking out an absent gene changes nothing.

    Parameters
    ----------
    matrix
        genes x cells from :func:`impact_matrix`.
    n_clusters
        Number of k-means clusters (capped at the number of cells).
    seed
        k-means seed.

    Returns
    -------
    ImpactClusters
    """
    from sklearn.cluster import KMeans

    if matrix.shape[1] < 2:
        raise InputError("clustering needs at least 2 cells with knockouts")
    k = max(1, min(int(n_clusters), matrix.shape[1]))
    x = np.nan_to_num(matrix.to_numpy().T, nan=0.0)  # cells x genes
    labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(x) if k > 1 else np.zeros(len(x), int)
    centres = np.vstack([x[labels == c].mean(axis=0) for c in range(k)])
    cluster_rank = _leaf_order(centres)
    rename = {int(old): f"C{new + 1}" for new, old in enumerate(cluster_rank)}
    order = []
    for old in cluster_rank:
        members = np.flatnonzero(labels == old)
        order.extend(members[_leaf_order(x[members])])
    gene_order = matrix.index[_leaf_order(centres.T)]
    names = [rename[int(o)] for o in cluster_rank]
    means = pd.DataFrame(centres[cluster_rank].T, index=matrix.index, columns=pd.Index(names, name="cluster"))
    cell_cluster = pd.Series([rename[int(v)] for v in labels], index=matrix.columns, name="cluster")
    return ImpactClusters(cell_cluster=cell_cluster, cell_order=matrix.columns[np.asarray(order)],
                          gene_order=gene_order, means=means.loc[gene_order],
                          sizes=cell_cluster.value_counts().reindex(names))


def cell_embedding(P, seed: int = 0) -> pd.DataFrame:
    """2-D PCA of the cells' Hellinger-transformed profiles (square roots of relative abundance).

    Parameters
    ----------
    P : DataFrame or array-like
        Expression, genes x cells.
    seed : int
        Unused (the PCA is exact and its signs fixed); kept for callers.

    Returns
    -------
    pandas.DataFrame
        ``cell, pc1, pc2`` plus the explained-variance fractions in ``attrs``.
    """
    values, _genes, cells = as_matrix(P)
    x = np.sqrt(profiles(values)).T
    x = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    # sign convention: the largest loading of each component is positive (deterministic output)
    signs = np.sign(vt[np.arange(2), np.abs(vt[:2]).argmax(axis=1)])
    coords = u[:, :2] * s[:2] * signs
    frame = pd.DataFrame({"cell": cells, "pc1": coords[:, 0], "pc2": coords[:, 1]})
    frame.attrs["explained"] = (s[:2] ** 2 / (s ** 2).sum()).tolist()
    return frame


def top_knockouts_by_group(table: pd.DataFrame, labels: pd.Series, n: int = 5) -> pd.DataFrame:
    """The ``n`` genes with the largest mean knockout impact in each group of cells.

    Parameters
    ----------
    table
        Output of :func:`core.dko.knockout_impacts` (``gene, cell, impact``).
    labels
        Group of each cell (index: cell), e.g. a cell-type annotation.
    n
        Genes per group.

    Returns
    -------
    pandas.DataFrame
        ``group, rank, gene, mean_impact, n_cells``: the mean is over all cells
        of the group (absent genes count as impact 0, as in the heatmap);
        ``n_cells`` counts the cells of the group expressing the gene.
    """
    labels = labels.astype(str)
    groups = labels.reindex(table["cell"].astype(str)).to_numpy()
    frame = table.assign(group=groups).dropna(subset=["group"])
    sizes = labels.value_counts()
    sums = frame.groupby(["group", "gene"])["impact"].agg(["sum", "size"]).reset_index()
    sums["mean_impact"] = sums["sum"] / sums["group"].map(sizes).to_numpy()
    rows = []
    for group in sizes.index:
        top = sums[sums["group"] == group].nlargest(n, "mean_impact")
        for rank, row in enumerate(top.itertuples(index=False), start=1):
            rows.append((group, rank, row.gene, float(row.mean_impact), int(row.size)))
    return pd.DataFrame(rows, columns=["group", "rank", "gene", "mean_impact", "n_cells"])
