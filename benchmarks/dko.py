"""DKO benchmarks: all single knockouts at 2,000 genes x 1,000 cells against the naive forward pass; training speed."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pandas as pd

from benchmarks import measurement, register


def _data(n_genes: int, n_cells: int, present: float = 0.6, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.gamma(2.0, 1.0, (n_genes, n_cells)) * (rng.random((n_genes, n_cells)) < present)
    values[0] += 0.1
    return pd.DataFrame(values, index=[f"gene_{i + 1}" for i in range(n_genes)],
                        columns=[f"cell_{j + 1}" for j in range(n_cells)])


def _model(n_genes: int, seed: int = 0):
    from core.dko import DKO

    rng = np.random.default_rng(seed)
    scale = 1 / np.sqrt(n_genes)
    weights = {"W1": rng.normal(0, scale, (n_genes, n_genes)), "b1": rng.normal(0, scale, n_genes),
               "W2": rng.normal(0, scale, (n_genes, n_genes)), "b2": rng.normal(0, scale, n_genes)}
    return DKO.from_weights(weights, [f"gene_{i + 1}" for i in range(n_genes)])


@register("dko")
def dko_benchmarks():
    """Fast knockouts (affine structure) vs one forward pass per knockout; training time per 1,000 steps."""
    import torch

    from core.dko import DKO, knockout_impacts, naive_knockout_impacts

    torch.set_num_threads(1)
    n_genes, n_cells, n_ref = 2000, 1000, 300
    expr = _data(n_genes, n_cells)
    model = _model(n_genes)
    n_knockouts = int((expr > 0).to_numpy().sum())

    tracemalloc.start()
    start = time.perf_counter()
    table = knockout_impacts(model, expr)
    fast = time.perf_counter() - start
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    sample = table.sample(n_ref, random_state=0)[["gene", "cell"]]
    start = time.perf_counter()
    naive = naive_knockout_impacts(model, expr, sample)
    naive_all = (time.perf_counter() - start) * n_knockouts / n_ref
    drawn = sample.merge(table, on=["gene", "cell"])
    max_diff = float(np.abs(drawn["impact"].to_numpy() - naive["impact"].to_numpy()).max())

    yield measurement(f"dko_all_single_knockouts_{n_genes}x{n_cells}_{n_knockouts}", fast, "s", naive_all)
    yield measurement("dko_all_single_knockouts_peak_memory", peak / 2**20, "MiB",
                      table.memory_usage(deep=False).sum() / 2**20)  # reference: size of the output table
    yield measurement("dko_knockouts_max_abs_diff_vs_naive_in_1e-12", max_diff * 1e12, "1e-12 impact")

    for genes, cells, steps, val_every in ((2000, 1000, 50, 1), (120, 800, 500, 1), (100, 500, 500, 1)):
        data = _data(genes, cells, seed=1)
        model = DKO(n_steps=steps, val_every=val_every, random_state=0).fit(data)
        yield measurement(f"dko_training_per_1000_steps_{genes}x{cells}", model.fit_seconds_ * 1000 / steps, "s")
