"""Modifier-gene benchmarks at DepMap scale (1,100 cell lines x 19,000 genes, float32, synthetic).

* ``select_modifiers``: median time of the vectorised selection against the
  per-gene scipy loop (pearsonr, spearmanr, chi2_contingency) timed in the
  same run on a sample of genes and scaled to all genes.
* ``evaluate_gene``: one full evaluation with every zoo model (paper settings:
  MLP up to 1,500 epochs with patience 100), broken down by model; the
  reference is the selection loop's scaled time, so the ratio says how many
  scipy selection loops one evaluation costs less than.
* ``sweep``: targets per minute on this machine's cores, with and without
  the MLP (no reference).
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from benchmarks import measurement, median_seconds, register

N_CELLS, N_GENES = 1100, 19_000


def _depmap_like(seed: int = 0, n_targets: int = 1):
    """Seeded synthetic DepMap-sized expression (with zeros and ties) and target effects."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(4.0, 1.5, (N_CELLS, N_GENES)).astype(np.float32)
    x[x < 2.5] = 0.0  # many exact zeros, as in log2(TPM+1)
    x = np.round(x, 3)  # RSEM-style rounding: ties
    cells = [f"ACH-{i:06d}" for i in range(N_CELLS)]
    genes = [f"G{j}" for j in range(N_GENES)]
    effects = {}
    for t in range(n_targets):
        # a realistic modifier count: 30 weak drivers, so that the tests keep ~20 genes each
        drivers = rng.choice(N_GENES, 30, replace=False)
        z = (x[:, drivers] - x[:, drivers].mean(axis=0)) / x[:, drivers].std(axis=0)
        weights = rng.uniform(0.03, 0.08, 30) * rng.choice([-1.0, 1.0], 30)
        effects[f"T{t}"] = -0.3 + z @ weights + rng.normal(0, 0.15, N_CELLS)
    return (pd.DataFrame(x, index=cells, columns=genes), pd.DataFrame(effects, index=cells))


def _scipy_loop_seconds(expression, y, n_ref: int = 400) -> float:
    """Per-gene scipy reference on ``n_ref`` genes, scaled to all genes."""
    import pandas as pd
    from scipy import stats

    x = expression.to_numpy()
    bins = pd.qcut(y, 6, labels=False)
    start = time.perf_counter()
    for j in range(n_ref):
        v = x[:, j].astype(np.float64)
        stats.pearsonr(v, y)
        stats.spearmanr(v, y)
        high = (v >= np.median(v)).astype(int)
        table = np.zeros((6, 2))
        np.add.at(table, (bins, high), 1)
        stats.chi2_contingency(table, correction=False)
    return (time.perf_counter() - start) * x.shape[1] / n_ref


@register("select_modifiers")
def bench_select_modifiers():
    from core.essentiality import select_modifiers

    expression, effect = _depmap_like()
    y = effect["T0"]
    fast = median_seconds(lambda: select_modifiers(expression, y), repeat=5)
    cpu_start = time.process_time()
    select_modifiers(expression, y)
    fast_cpu = time.process_time() - cpu_start
    cpu_start = time.process_time()
    loop = _scipy_loop_seconds(expression, y.to_numpy())
    loop_cpu = (time.process_time() - cpu_start) * N_GENES / 400
    yield measurement(f"select_modifiers_{N_CELLS}x{N_GENES}_float32", fast, "s", loop)
    # CPU seconds (both threads summed): less sensitive than wall time to other users' load
    yield measurement(f"select_modifiers_{N_CELLS}x{N_GENES}_float32_cpu", fast_cpu, "cpu_s", loop_cpu)


@register("evaluate_gene")
def bench_evaluate_gene():
    import torch

    from core.essentiality import MODEL_NAMES, evaluate_gene

    torch.set_num_threads(1)
    expression, effect = _depmap_like()
    start = time.perf_counter()
    report = evaluate_gene(expression, effect["T0"])
    total = time.perf_counter() - start
    loop = _scipy_loop_seconds(expression, effect["T0"].dropna().to_numpy())
    yield measurement(f"evaluate_gene_all_models_{N_CELLS}x{N_GENES}", total, "s", loop)
    yield measurement("evaluate_gene_selection_on_training_cells", report.timings["selection"], "s")
    for name in MODEL_NAMES:
        if name in report.fit_seconds:
            yield measurement(f"evaluate_gene_fit_{name}_{len(report.modifiers)}_modifiers",
                              report.fit_seconds[name], "s")
    if "refit" in report.timings:
        yield measurement(f"evaluate_gene_refit_chosen_{report.chosen_model}", report.timings["refit"], "s")


@register("sweep")
def bench_sweep():
    from core.essentiality import FAST_MODELS, MODEL_NAMES, sweep

    n_targets = 4
    expression, effect = _depmap_like(n_targets=n_targets)
    workers = os.cpu_count() or 1
    for label, models in (("with_mlp", list(MODEL_NAMES)), ("without_mlp", [m for m in MODEL_NAMES
                                                                              if m not in ("mlp", "xgb_mlp")]),
                          ("fast_models", list(FAST_MODELS))):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            sweep(expression, effect, n_jobs=-1, store=folder, models=models)
            seconds = time.perf_counter() - start
        yield measurement(f"sweep_targets_per_minute_{label}_{workers}_cores", 60.0 * n_targets / seconds,
                          "targets/min")
