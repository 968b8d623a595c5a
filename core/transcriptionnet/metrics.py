"""Per-gene accuracy of predicted signatures, and per-type / per-model summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd

METRICS = ("pearson", "pearson_delta", "cosine", "top50_pearson", "rmse")


def _rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (a * b).sum(axis=1) / denom, np.nan)


def signature_metrics(predicted: pd.DataFrame, measured: pd.DataFrame, reference_mean: pd.Series | np.ndarray,
                      top_n: int = 50) -> pd.DataFrame:
    """Accuracy of each gene's predicted signature against its measured one.

    Parameters
    ----------
    predicted, measured
        Genes x landmarks (same genes and landmarks; ``measured`` is reindexed to ``predicted``).
    reference_mean
        The training-mean signature, subtracted from both before ``pearson_delta``.
    top_n
        ``top50_pearson`` uses each gene's ``top_n`` landmarks with the largest absolute measured change.

    Returns
    -------
    pandas.DataFrame
        One row per gene: ``pearson``, ``pearson_delta``, ``cosine``, ``top50_pearson``, ``rmse``.
    """
    measured = measured.loc[predicted.index, predicted.columns]
    p = predicted.to_numpy(np.float64)
    m = measured.to_numpy(np.float64)
    mean = np.asarray(reference_mean, dtype=np.float64).reshape(1, -1)
    norms = np.linalg.norm(p, axis=1) * np.linalg.norm(m, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.where(norms > 0, (p * m).sum(axis=1) / norms, np.nan)
    top_n = min(top_n, m.shape[1])
    top = np.argsort(-np.abs(m), axis=1)[:, :top_n]
    rows = np.arange(m.shape[0])[:, None]
    delta = _rowwise_pearson(p - mean, m - mean)
    # A prediction with no change beyond the reference mean (e.g. the mean baseline itself) carries no
    # gene-specific signal: its Pearson delta is 0 rather than undefined.
    flat = np.ptp(p - mean, axis=1) <= 1e-9 * (1.0 + np.abs(mean).max())
    delta[flat] = 0.0
    return pd.DataFrame({
        "pearson": _rowwise_pearson(p, m),
        "pearson_delta": delta,
        "cosine": cosine,
        "top50_pearson": _rowwise_pearson(p[rows, top], m[rows, top]),
        "rmse": np.sqrt(((p - m) ** 2).mean(axis=1)),
    }, index=predicted.index)


def summarise(per_gene: pd.DataFrame) -> pd.DataFrame:
    """Mean of each metric per (type, model) over held-out genes, plus the number of genes.

    Parameters
    ----------
    per_gene : pandas.DataFrame
        Metrics per ``type``, ``model`` and gene.
    """
    grouped = per_gene.groupby(["type", "model"], sort=False)
    out = grouped[list(METRICS)].mean()
    out["n_genes"] = grouped.size()
    return out.reset_index()
