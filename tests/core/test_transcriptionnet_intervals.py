"""Paired bootstrap intervals of model minus baseline: against a slow loop, scipy, coverage and the verdicts."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from core.errors import InputError
from core.transcriptionnet.intervals import BEATS, NO_DIFFERENCE, WORSE, paired_bootstrap, verdict_of


def per_gene_frame(shift: dict, n=60, seed=0, noise=0.1):
    """Per-gene scores of a model and baselines; model = baseline + shift[baseline] + noise, per gene."""
    rng = np.random.default_rng(seed)
    genes = [f"g{i}" for i in range(n)]
    base = rng.uniform(0.2, 0.8, n)
    rows = []
    for kind in ("RNAi", "OE"):
        scores = {"refined": base + rng.normal(0, 0.02, n)}
        for b, s in shift.items():
            scores[b] = scores["refined"] - s + rng.normal(0, noise, n)
        for model, values in scores.items():
            for g, v in zip(genes, values):
                rows.append({"type": kind, "model": model, "gene": g, "pearson": v, "pearson_delta": v - 0.1,
                             "cosine": v, "top50_pearson": v, "rmse": 1 - v})
    return pd.DataFrame(rows)


def slow_reference(diff: np.ndarray, n_resamples: int, seed: int, level=0.95):
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(diff), size=(n_resamples, len(diff)))
    means = []
    for b in range(n_resamples):
        total, count = 0.0, 0
        for i in draws[b]:
            if np.isfinite(diff[i]):
                total += diff[i]
                count += 1
        means.append(total / count)
    tail = 100 * (1 - level) / 2
    return np.percentile(means, tail), np.percentile(means, 100 - tail)


def test_interval_matches_a_slow_loop_and_scipy():
    frame = per_gene_frame({"mean": 0.05, "knn": 0.0})
    frame.loc[(frame["model"] == "knn") & (frame["gene"] == "g3"), "cosine"] = np.nan  # one undefined score
    table = paired_bootstrap(frame, models=("refined",), n_resamples=1000, seed=7)
    assert len(table) == 2 * 2 * 4  # types x baselines x reported metrics
    for kind_pos, kind in enumerate(("RNAi", "OE")):
        part = frame[frame["type"] == kind]
        for base in ("mean", "knn"):
            for metric in ("pearson", "cosine"):
                wide = part.pivot_table(index="gene", columns="model", values=metric, dropna=False)
                diff = (wide["refined"] - wide[base]).to_numpy()
                row = table[(table["type"] == kind) & (table["baseline"] == base)
                            & (table["metric"] == metric)].iloc[0]
                low, high = slow_reference(diff, 1000, 7 + kind_pos)
                assert row["low"] == pytest.approx(low) and row["high"] == pytest.approx(high)
                assert row["difference"] == pytest.approx(np.nanmean(diff))
                assert row["n_genes"] == np.isfinite(diff).sum()
                ref = stats.bootstrap((diff[np.isfinite(diff)],), np.mean, n_resamples=4000, method="percentile",
                                      random_state=1).confidence_interval
                width = high - low
                assert abs(low - ref.low) < 0.15 * width and abs(high - ref.high) < 0.15 * width


def test_verdicts_follow_the_interval():
    frame = per_gene_frame({"mean": 0.2, "ridge": 0.0, "knn": -0.2}, noise=0.05)
    table = paired_bootstrap(frame, models=("refined",), metrics=("pearson", "rmse"))
    got = table.set_index(["type", "baseline", "metric"])["verdict"]
    for kind in ("RNAi", "OE"):
        assert got[(kind, "mean", "pearson")] == BEATS and got[(kind, "mean", "rmse")] == BEATS  # rmse: lower wins
        assert got[(kind, "knn", "pearson")] == WORSE and got[(kind, "knn", "rmse")] == WORSE
        assert got[(kind, "ridge", "pearson")] == NO_DIFFERENCE
    for row in table.itertuples():
        assert row.low <= row.difference <= row.high
    assert verdict_of(0.01, 0.2) == BEATS and verdict_of(-0.2, -0.01) == WORSE and verdict_of(-0.1, 0.1) == NO_DIFFERENCE
    assert verdict_of(-0.2, -0.01, "rmse") == BEATS and verdict_of(np.nan, 1) == NO_DIFFERENCE


def test_coverage_of_a_zero_difference_is_about_95_percent():
    hits = 0
    for seed in range(200):
        frame = per_gene_frame({"mean": 0.0}, n=40, seed=seed)
        table = paired_bootstrap(frame[frame["type"] == "RNAi"], models=("refined",), metrics=("pearson",),
                                 seed=seed)
        hits += table["verdict"].iloc[0] == NO_DIFFERENCE
    assert 0.88 <= hits / 200 <= 0.99  # percentile intervals of a mean of 40 undercover slightly


def test_seeded_and_rejects_bad_requests():
    frame = per_gene_frame({"mean": 0.05})
    assert paired_bootstrap(frame).equals(paired_bootstrap(frame))
    with pytest.raises(InputError, match="1,000"):
        paired_bootstrap(frame, n_resamples=100)
    with pytest.raises(InputError, match="column"):
        paired_bootstrap(frame.drop(columns="cosine"))
