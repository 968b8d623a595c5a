"""Atlas benchmarks: selection for all targets, the single-target selection, atlas builds, registered loads.

Full scale is DepMap's: 1,100 cell lines x 19,000 expressed genes and 17,900
targets (synthetic, seeded). Missing gene effects follow DepMap's screen
batches: a second library used in 15% of the cell lines lacks 10% of the
targets (one shared pattern) and 1% of the targets miss a few lines each
(patterns of their own). ``PERTURBSCOPE_BENCH_TARGETS`` caps the targets of
``select_all`` (default 1,024, scaled to 17,900) and ``atlas_full`` (default all).

* ``select_all``: :func:`select_modifiers_all` against a per-target
  :func:`select_modifiers` loop that prepares every target's cells anew (as
  each call did before), both scaled to 17,900 targets.
* ``select_single``: one target, cold (a new expression frame) and warm (the
  same frame and cells again, as evaluate_gene and the pages call it).
* ``atlas_demo`` / ``atlas_full``: :func:`build_atlas` against a per-target
  evaluate_gene loop with the same models and split (scaled from a sample).
* ``registered_load``: a registered full-scale DepMap release loaded in a new
  process from its typed copy, against parsing its CSVs (what every new server
  process did before); seconds and peak memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import measurement, median_seconds, register

N_CELLS, N_GENES, N_TARGETS = 1100, 19_000, 17_900
ROOT = Path(__file__).resolve().parents[1]


def depmap_scale(n_targets: int = N_TARGETS, seed: int = 0):
    """Seeded synthetic expression (ties, zeros) and gene effects with DepMap-like missing batches."""
    import pandas as pd
    from scipy import sparse

    rng = np.random.default_rng(seed)
    x = rng.normal(4.0, 1.5, (N_CELLS, N_GENES)).astype(np.float32)
    x[x < 2.5] = 0.0
    x = np.round(x, 3)
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    # 30 weak drivers per target: the tests then keep about 20 genes each, as on real data
    rows = rng.integers(0, N_GENES, (n_targets, 30)).ravel()
    cols = np.repeat(np.arange(n_targets), 30)
    weights = rng.uniform(0.03, 0.08, rows.size) * rng.choice([-1.0, 1.0], rows.size)
    w = sparse.csc_matrix((weights, (rows, cols)), shape=(N_GENES, n_targets))
    effect = (-0.3 + (w.T @ z.T).T + rng.normal(0, 0.15, (N_CELLS, n_targets))).astype(np.float32)
    second_library = rng.random(N_CELLS) < 0.15
    effect[np.ix_(second_library, rng.random(n_targets) < 0.10)] = np.nan
    for j in np.flatnonzero(rng.random(n_targets) < 0.01):
        effect[rng.choice(N_CELLS, rng.integers(1, 12), replace=False), j] = np.nan
    cells = [f"ACH-{i:06d}" for i in range(N_CELLS)]
    expression = pd.DataFrame(x, index=cells, columns=[f"G{j}" for j in range(N_GENES)])
    effects = pd.DataFrame(effect, index=cells, columns=[f"T{j}" for j in range(n_targets)])
    return expression, effects


def _targets(default: int) -> int:
    return int(os.environ.get("PERTURBSCOPE_BENCH_TARGETS", default))


@register("select_all")
def bench_select_all():
    from core.essentiality import select_modifiers, select_modifiers_all

    n = min(_targets(1024), N_TARGETS)
    expression, effects = depmap_scale(n)
    start = time.perf_counter()
    select_modifiers_all(expression, effects, table="modifiers")
    batch = (time.perf_counter() - start) * N_TARGETS / n
    loop = []
    for target in effects.columns[:3]:
        fresh = expression.copy()  # nothing prepared for this frame: every call starts from scratch
        start = time.perf_counter()
        select_modifiers(fresh, effects[target])
        loop.append(time.perf_counter() - start)
    yield measurement(f"select_modifiers_all_{N_CELLS}x{N_GENES}_{N_TARGETS}_targets_from_{n}", batch, "s",
                      float(np.mean(loop)) * N_TARGETS)


@register("select_single")
def bench_select_single():
    from core.essentiality import select_modifiers

    expression, effects = depmap_scale(4)
    complete = [t for t in effects.columns if effects[t].notna().all()][:2]
    cold = median_seconds(lambda: select_modifiers(expression.copy(), effects[complete[0]]), repeat=3)
    select_modifiers(expression, effects[complete[0]])
    warm = median_seconds(lambda: select_modifiers(expression, effects[complete[1]]), repeat=5)
    yield measurement(f"select_modifiers_cold_{N_CELLS}x{N_GENES}", cold, "s")
    yield measurement(f"select_modifiers_warm_{N_CELLS}x{N_GENES}", warm, "s", cold)


def _loop_seconds(expression, effects, split, n: int = 3) -> float:
    """Mean seconds of evaluate_gene with the atlas's models and split, per target (fresh frames)."""
    from core.essentiality import ATLAS_MODELS, evaluate_gene

    times = []
    for target in effects.columns[:n]:
        fresh = expression.copy()
        start = time.perf_counter()
        evaluate_gene(fresh, effects[target], split=split, models=ATLAS_MODELS)
        times.append(time.perf_counter() - start)
    return float(np.mean(times))


@register("atlas_demo")
def bench_atlas_demo():
    from core.datasets import load_demo
    from core.essentiality import atlas_split, build_atlas

    data = load_demo("essentiality")
    start = time.perf_counter()
    build_atlas(data.expression, data.effect)
    seconds = time.perf_counter() - start
    split = atlas_split(data.expression.index.intersection(data.effect.index))
    loop = _loop_seconds(data.expression, data.effect, split, 10) * data.effect.shape[1]
    yield measurement(f"atlas_demo_{data.effect.shape[1]}_targets", seconds, "s", loop)


@register("atlas_full")
def bench_atlas_full():
    from core.essentiality import atlas_split, build_atlas

    n = min(_targets(N_TARGETS), N_TARGETS)
    expression, effects = depmap_scale(n)
    workers = min(2, os.cpu_count() or 1)
    start = time.perf_counter()
    table = build_atlas(expression, effects, n_jobs=workers)
    seconds = time.perf_counter() - start
    split = atlas_split(expression.index)
    loop = _loop_seconds(expression, effects, split) * n
    yield measurement(f"atlas_{N_CELLS}x{N_GENES}_{n}_targets_{workers}_processes", seconds, "s", loop)
    yield measurement("atlas_predictable_targets_bh_0.05", float((table["q"] < 0.05).sum()), "targets")


# VmHWM, not ru_maxrss: on Linux the latter keeps the peak of the forking parent across exec
_LOAD = """
import re, time
start = time.perf_counter()
{body}
peak = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)
print(time.perf_counter() - start, int(peak) / 1024)
"""


def _in_new_process(body: str) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", _LOAD.format(body=body)], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[-2]), float(out[-1])


@register("registered_load")
def bench_registered_load():
    """Register a full-scale DepMap release, then load it in new processes both ways."""
    import pandas as pd

    from core.datasets.registry import DatasetRegistry

    expression, effects = depmap_scale()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        genes = lambda names: [f"{g} ({i + 1})" for i, g in enumerate(names)]  # noqa: E731  DepMap's "SYMBOL (ENTREZ)"
        paths = {"effect": folder / "CRISPRGeneEffect.csv",
                 "expression": folder / "OmicsExpressionProteinCodingGenesTPMLogp1.csv",
                 "models": folder / "Model.csv"}
        effects.set_axis(genes(effects.columns), axis=1).rename_axis("ModelID").to_csv(paths["effect"])
        expression.set_axis(genes(expression.columns), axis=1).to_csv(paths["expression"])
        lineages = np.array(["Lung", "Skin", "Breast", "Bowel", "CNS/Brain"])[np.arange(N_CELLS) % 5]
        pd.DataFrame({"ModelID": expression.index, "CellLineName": expression.index,
                      "OncotreeLineage": lineages}).to_csv(paths["models"], index=False)
        registry = DatasetRegistry(folder / "registry")
        start = time.perf_counter()
        entry, report, _ = registry.register("essentiality", "full scale", {k: [v] for k, v in paths.items()})
        yield measurement("register_full_depmap_release", time.perf_counter() - start, "s")
        assert entry is not None, report.checks
        typed_s, typed_mb = _in_new_process(
            f"from core.datasets.registry import DatasetRegistry\n"
            f"DatasetRegistry({str(folder / 'registry')!r}).load('essentiality', {entry.ident!r})")
        csv_s, csv_mb = _in_new_process(
            f"from core.datasets import load_depmap\n"
            f"load_depmap({str(paths['effect'])!r}, {str(paths['expression'])!r}, {str(paths['models'])!r})")
        yield measurement("load_registered_full_depmap_release", typed_s, "s", csv_s)
        yield measurement("load_registered_full_depmap_release_peak_rss", typed_mb, "MB", csv_mb)
