"""Paired bootstrap intervals for "the model beats a baseline" on held-out genes.

Every held-out gene is scored by every model, so the comparison is paired: for a
type, a metric, the model and one baseline, the per-gene difference
``d_g = metric(model, g) - metric(baseline, g)`` is averaged over the test genes.
:func:`paired_bootstrap` resamples the test genes with replacement (the same
resampled gene sets for every metric and baseline of a type) and reports the
percentile 95% interval of the mean difference. :func:`verdict_of` turns an
interval into one of three words: ``beats`` (the interval lies wholly on the
better side of 0), ``worse`` (wholly on the worse side) or ``no detectable
difference`` (it contains 0). For ``rmse`` lower is better, so "better" is below 0.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from core.errors import InputError

REPORTED = ("pearson", "pearson_delta", "cosine", "top50_pearson")
LOWER_IS_BETTER = frozenset({"rmse"})
BASELINES = ("mean", "ridge", "knn")
BEATS, NO_DIFFERENCE, WORSE = "beats", "no detectable difference", "worse"
INTERVAL_COLUMNS = ["type", "model", "baseline", "metric", "n_genes", "difference", "low", "high", "verdict"]


def verdict_of(low: float, high: float, metric: str = "pearson") -> str:
    """``beats``, ``worse`` or ``no detectable difference`` for an interval of model minus baseline.

    Parameters
    ----------
    low, high : float
        Interval of model minus baseline.
    metric : str
        The metric (for RMSE lower is better).
    """
    if not (np.isfinite(low) and np.isfinite(high)):
        return NO_DIFFERENCE
    if metric in LOWER_IS_BETTER:
        low, high = -high, -low
    if low > 0:
        return BEATS
    if high < 0:
        return WORSE
    return NO_DIFFERENCE


def resample_indices(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """``n_resamples`` x ``n`` indices drawn with replacement (seeded): row b is bootstrap sample b.

    Parameters
    ----------
    n : int
        Sample size.
    n_resamples : int
        Bootstrap samples.
    seed : int
        Seed.
    """
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def paired_bootstrap(per_gene: pd.DataFrame, models: Sequence[str] = ("refined", "fundnn"),
                     baselines: Sequence[str] = BASELINES, metrics: Sequence[str] = REPORTED,
                     n_resamples: int = 1000, level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Paired bootstrap over test genes of model minus baseline, per type, model, baseline and metric.

    Parameters
    ----------
    per_gene
        Held-out metrics, one row per (``type``, ``model``, ``gene``), as in
        :attr:`core.transcriptionnet.TranscriptionNet.per_gene_`.
    models, baselines
        Models compared with each baseline; names missing from ``per_gene`` are skipped.
    metrics
        Metric columns compared (higher is better, except ``rmse``).
    n_resamples
        Bootstrap resamples of the test genes (at least 1,000).
    level
        Coverage of the percentile interval.
    seed
        Seed of the resampling; each type uses ``seed`` and its position in ``per_gene``.

    Returns
    -------
    pandas.DataFrame
        Columns ``type, model, baseline, metric, n_genes, difference`` (the observed mean
        difference over the genes where both are defined), ``low, high`` (the percentile
        interval) and ``verdict`` (see :func:`verdict_of`).
    """
    if n_resamples < 1000:
        raise InputError(f"use at least 1,000 bootstrap resamples, got {n_resamples}")
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, got {level}")
    missing = [c for c in ("type", "model", "gene", *metrics) if c not in per_gene.columns]
    if missing:
        raise InputError(f"per-gene metrics lack column(s) {', '.join(missing)}")
    tail = 100 * (1 - level) / 2
    rows = []
    for k, (kind, part) in enumerate(per_gene.groupby("type", sort=False)):
        wide = part.pivot_table(index="gene", columns="model", values=list(metrics), dropna=False)
        genes = wide.index
        if len(genes) < 2:
            continue
        draws = resample_indices(len(genes), n_resamples, seed + k)
        present = set(part["model"])
        for model in (m for m in models if m in present):
            for base in (b for b in baselines if b in present):
                for metric in metrics:
                    diff = (wide[(metric, model)] - wide[(metric, base)]).to_numpy(np.float64)
                    ok = np.isfinite(diff)
                    values = np.where(ok, diff, 0.0)[draws]
                    counts = ok[draws].sum(axis=1)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        means = values.sum(axis=1) / counts
                    means = means[np.isfinite(means)]
                    low, high = (np.percentile(means, [tail, 100 - tail]) if len(means)
                                 else (np.nan, np.nan))
                    observed = float(diff[ok].mean()) if ok.any() else np.nan
                    rows.append((kind, model, base, metric, int(ok.sum()), observed, float(low), float(high),
                                 verdict_of(low, high, metric)))
    return pd.DataFrame(rows, columns=INTERVAL_COLUMNS)
