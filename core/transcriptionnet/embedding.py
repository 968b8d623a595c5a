"""Gene embeddings from multiplex networks: random walk with restart, integrated by a low-rank factorisation.

Each layer ``l`` gives every gene a diffusion state: the stationary distribution of
a random walk that restarts at the gene with probability ``restart`` (RWR, as in
Mashup and TranscriptionNet's network step). Stacking the layers' diffusion
states side by side gives a genes x (layers x genes) matrix ``A``; its best rank-d
approximation ``U S V^T`` (a truncated SVD) yields one vector per gene,
``U S^(1/2)``, shared across layers. ``A`` is never formed: products with it
and its transpose are computed by iterating the RWR fixed point on sparse
matrices, and the SVD is a randomized one (Halko, Martinsson & Tropp 2011), so
memory stays O(genes x d) and time O(edges x d).
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import pandas as pd
from scipy import sparse

from core.errors import InputError

Progress = Callable[[float, str], None]


def _check_edges(name: str, edges: pd.DataFrame) -> None:
    missing = {"gene1", "gene2"} - set(edges.columns)
    if missing:
        raise InputError(f"network layer {name!r} needs columns gene1, gene2 [, weight]; missing {sorted(missing)}")
    if edges.empty:
        raise InputError(f"network layer {name!r} has no edges")
    if "weight" in edges and (~np.isfinite(edges["weight"].to_numpy(float)) | (edges["weight"] <= 0)).any():
        raise InputError(f"network layer {name!r}: weights must be positive finite numbers")


def transition_matrices(layers: Mapping[str, pd.DataFrame]) -> tuple[pd.Index, dict[str, sparse.csr_matrix]]:
    """Row-stochastic transition matrices of every layer over the union of their genes.

    Parameters
    ----------
    layers
        Layer name -> undirected edge table ``gene1, gene2[, weight]``.

    Returns
    -------
    genes : pandas.Index
        Sorted union of the genes of all layers (rows and columns of every matrix).
    transitions : dict
        Layer name -> CSR matrix ``P`` with ``P[i, j] = w_ij / sum_k w_ik``; genes absent from a
        layer have an all-zero row there.
    """
    if not layers:
        raise InputError("at least one network layer is needed to compute embeddings")
    for name, edges in layers.items():
        _check_edges(name, edges)
    genes = pd.Index(sorted(set().union(*[set(e["gene1"].astype(str)) | set(e["gene2"].astype(str))
                                          for e in layers.values()])), name="gene")
    n = len(genes)
    out = {}
    for name, edges in layers.items():
        a = genes.get_indexer(edges["gene1"].astype(str))
        b = genes.get_indexer(edges["gene2"].astype(str))
        w = edges["weight"].to_numpy(np.float64) if "weight" in edges else np.ones(len(edges))
        adj = sparse.csr_matrix((np.concatenate([w, w]), (np.concatenate([a, b]), np.concatenate([b, a]))),
                                shape=(n, n))
        adj.setdiag(0)
        adj.eliminate_zeros()
        degree = np.asarray(adj.sum(axis=1)).ravel()
        inv = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)
        out[name] = (sparse.diags(inv) @ adj).tocsr().astype(np.float32)
    return genes, out


def rwr_apply(transition: sparse.csr_matrix, x: np.ndarray, restart: float, n_steps: int,
              transpose: bool = False) -> np.ndarray:
    """``(Q - restart * I) @ x`` for the RWR matrix ``Q = restart (I - (1 - restart) P)^-1``.

    Row ``i`` of ``Q`` is the diffusion state of gene ``i``; the restart mass on the gene itself
    (``restart * I``) carries no network information and is left out. With ``transpose`` the
    product is with the transposed matrix. The series is summed for ``n_steps`` steps (error
    ``(1 - restart)^n_steps``).

    Parameters
    ----------
    transition : scipy.sparse.csr_matrix
        Row-stochastic transition matrix ``P``.
    x : ndarray
        Matrix multiplied.
    restart : float
        Restart probability.
    n_steps : int
        Terms of the series.
    transpose : bool
        Multiply by the transposed matrix.
    """
    op = transition.T.tocsr() if transpose else transition
    term = restart * np.asarray(x, dtype=transition.dtype)
    total = np.zeros_like(x)
    for _ in range(n_steps):
        term = (1.0 - restart) * (op @ term)
        total += term
    return total


def rwr_diffusion_states(transition: sparse.csr_matrix, restart: float = 0.5, n_steps: int = 30) -> np.ndarray:
    """Dense diffusion states ``Q - restart * I`` of one layer (small networks and tests only).

    Parameters
    ----------
    transition : scipy.sparse.csr_matrix
        Row-stochastic transition matrix.
    restart : float
        Restart probability.
    n_steps : int
        Terms of the series.
    """
    return rwr_apply(transition, np.eye(transition.shape[0]), restart, n_steps)


def network_embedding(layers: Mapping[str, pd.DataFrame], dim: int = 128, *, restart: float = 0.5,
                      n_steps: int = 20, n_power_iter: int = 1, oversample: int = 10, seed: int = 0,
                      progress: Progress | None = None) -> pd.DataFrame:
    """One vector per gene integrating several network layers (RWR + low-rank factorisation).

    Parameters
    ----------
    layers
        Layer name -> undirected edge table ``gene1, gene2[, weight]``.
    dim
        Embedding dimension ``d`` (capped at the number of genes - 1).
    restart
        Restart probability of the random walk (0 < restart < 1); larger keeps walks local.
    n_steps
        Terms of the RWR power series (truncation error ``(1 - restart)^n_steps``).
    n_power_iter
        Power iterations of the randomized SVD (more = closer to the exact SVD).
    oversample
        Extra random directions of the randomized SVD.
    seed
        Seed of the random test matrix; the result is a pure function of the arguments.
    progress
        Optional callback ``(fraction, message)``.

    Returns
    -------
    pandas.DataFrame
        Genes (union of all layers, sorted) x ``emb_001..``: ``U_d S_d^(1/2)`` of the truncated SVD
        of the concatenated diffusion states, with signs fixed so each column's largest entry is
        positive.
    """
    if not 0.0 < restart < 1.0:
        raise InputError(f"restart probability must be between 0 and 1 (exclusive), got {restart}")
    if dim < 1:
        raise InputError(f"embedding dimension must be at least 1, got {dim}")
    report = progress or (lambda f, m: None)
    genes, transitions = transition_matrices(layers)
    transposed = {m: p.T.tocsr() for m, p in transitions.items()}
    n, names = len(genes), list(transitions)
    dim = min(dim, n - 1)
    k = min(n, dim + oversample)
    n_applies = 2 + 2 * n_power_iter
    done = [0]

    def tick(message: str) -> None:
        done[0] += 1
        report(min(0.99, done[0] / n_applies), message)

    def a_times(x_blocks: list[np.ndarray]) -> np.ndarray:  # A @ X, X stacked per layer
        out = sum(rwr_apply(transitions[m], x, restart, n_steps) for m, x in zip(names, x_blocks))
        tick("diffusing over layers")
        return out

    def at_times(y: np.ndarray) -> list[np.ndarray]:  # A^T @ Y, one block per layer
        out = [rwr_apply(transposed[m], y, restart, n_steps) for m in names]
        tick("diffusing back")
        return out

    rng = np.random.default_rng(seed)
    report(0.0, f"random walks with restart on {len(names)} layers, {n:,} genes")
    y = a_times([rng.standard_normal((n, k)).astype(np.float32) for _ in names])
    q, _ = np.linalg.qr(y)
    for _ in range(n_power_iter):
        q, _ = np.linalg.qr(np.vstack(at_times(q)))
        q, _ = np.linalg.qr(a_times(np.split(q, len(names), axis=0)))
    b = np.vstack(at_times(q)).T  # k x (layers * n) = Q^T A
    u_small, s, _ = np.linalg.svd(b.astype(np.float64), full_matrices=False)
    u = (q.astype(np.float64) @ u_small)[:, :dim]
    s = s[:dim]
    emb = u * np.sqrt(s)
    signs = np.sign(emb[np.abs(emb).argmax(axis=0), np.arange(emb.shape[1])])
    emb *= np.where(signs == 0, 1.0, signs)
    report(1.0, "embedding done")
    return pd.DataFrame(emb, index=genes, columns=[f"emb_{i + 1:03d}" for i in range(emb.shape[1])])


def check_embedding(embedding: pd.DataFrame, name: str = "embedding") -> pd.DataFrame:
    """Validate precomputed embeddings (genes x dimensions, finite numbers, unique genes).

    Parameters
    ----------
    embedding : pandas.DataFrame
        Genes x dimensions.
    name : str
        What it is, for messages.
    """
    if not isinstance(embedding, pd.DataFrame) or embedding.empty:
        raise InputError(f"{name} must be a non-empty table of genes x dimensions")
    if embedding.index.has_duplicates:
        dup = embedding.index[embedding.index.duplicated()][:5]
        raise InputError(f"{name}: genes appear more than once (e.g. {', '.join(map(str, dup))})")
    values = embedding.to_numpy(np.float64)
    if not np.isfinite(values).all():
        raise InputError(f"{name}: {int((~np.isfinite(values)).sum())} values are missing or not finite")
    out = embedding.astype(np.float32)
    out.index = out.index.astype(str)
    return out
