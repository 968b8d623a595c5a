"""Foundation benchmarks: correlation kernels, the artifact store, figure export."""

from __future__ import annotations

import tempfile
import time

import numpy as np

from benchmarks import measurement, median_seconds, register


@register("stats")
def stats_kernels():
    """Vectorised Pearson/Spearman over all genes against a per-gene scipy loop."""
    from scipy import stats

    from core.stats import pearson_columns, spearman_columns

    rng = np.random.default_rng(0)
    n_cells, n_genes, n_ref = 1100, 19_000, 500
    y = rng.normal(size=(n_cells, n_genes)).astype(np.float32)
    x = rng.normal(size=n_cells)
    for name, kernel, reference in (("pearson", pearson_columns, stats.pearsonr),
                                    ("spearman", spearman_columns, stats.spearmanr)):
        seconds = median_seconds(lambda: kernel(x, y), repeat=3)
        start = time.perf_counter()
        for j in range(n_ref):  # the per-gene loop on a sample of genes, scaled to all of them
            reference(x, y[:, j])
        loop = (time.perf_counter() - start) * n_genes / n_ref
        yield measurement(f"{name}_all_genes_1100x19000", seconds, "s", loop)


@register("cache")
def artifact_store():
    """Serving a stored screen against recomputing it."""
    import pandas as pd

    from core.cache import ArtifactStore, make_key
    from core.essentiality import correlation_screen

    rng = np.random.default_rng(0)
    expression = pd.DataFrame(rng.normal(size=(1000, 2000)))
    expression.columns = [f"g{i}" for i in range(2000)]
    effect = pd.Series(rng.normal(size=1000), name="t")
    compute = median_seconds(lambda: correlation_screen(expression, effect, n_permutations=200), repeat=3)
    with tempfile.TemporaryDirectory() as folder:
        store = ArtifactStore(folder)
        key = make_key("bench", "h", {})
        store.put(key, {"table": correlation_screen(expression, effect)})
        served = median_seconds(lambda: store.get(key), repeat=10)
    yield measurement("screen_served_from_store", served, "s", compute)


@register("export")
def figure_export():
    """Kaleido PNG export: a warm long-lived server against the first (cold) call."""
    import plotly.graph_objects as go

    from dashboard.export import find_browser, figure_to_image

    if find_browser() is None:
        return
    fig = go.Figure(go.Scatter(x=np.arange(500), y=np.random.default_rng(0).normal(size=500), mode="markers"))
    start = time.perf_counter()
    figure_to_image(fig, fmt="png", preset="slide")
    cold = time.perf_counter() - start
    warm = median_seconds(lambda: figure_to_image(fig, fmt="png", preset="slide"), repeat=5)
    yield measurement("png_slide_export_warm_server", warm, "s", cold)
