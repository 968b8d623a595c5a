"""Genome-wide sweep: one :func:`evaluate_gene` summary per target, resumable and parallel.

Each finished target is written at once to ``store`` (one small JSON file per
target, written atomically), so an interrupted sweep resumes where it stopped.
Targets run in parallel with joblib (local processes), or on a Dask cluster
when ``scheduler`` is given, to whose workers the expression matrix is sent
once (:func:`core.cluster.map_on_cluster`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from core.cache import frames_fingerprint
from core.errors import InputError
from core.essentiality.models import check_models
from core.stats import bh_fdr

SWEEP_COLUMNS = ["target", "chosen_model", "test_pearson", "test_pearson_p", "test_rmse", "n_modifiers",
                 "modifiers", "q", "baseline_test_rmse", "resumed"]


def add_target_q(table: pd.DataFrame) -> pd.DataFrame:
    """Add ``q``: Benjamini-Hochberg over the targets' test-Pearson p-values (NaN stays NaN).

    Parameters
    ----------
    table : pandas.DataFrame
        Sweep table with a ``test_pearson_p`` column.
    """
    table = table.copy()
    table["q"] = bh_fdr(pd.to_numeric(table["test_pearson_p"], errors="coerce").to_numpy(np.float64))
    return table


def summarise_sweep(table: pd.DataFrame, alpha: float = 0.05) -> dict:
    """Headline numbers of a sweep: targets, significant predictions (BH q < alpha, r > 0), models chosen.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`sweep` (columns ``chosen_model, test_pearson, q``).
    alpha : float
        BH-FDR level.

    Returns
    -------
    dict
        ``n_targets, n_evaluated, n_significant, alpha, median_test_pearson`` and
        ``chosen_models`` (model -> count).
    """
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1; got {alpha}")
    evaluated = table[table["test_pearson"].notna()]
    significant = evaluated[(evaluated["q"] < alpha) & (evaluated["test_pearson"] > 0)]
    return {"n_targets": int(len(table)), "n_evaluated": int(len(evaluated)), "n_significant": int(len(significant)),
            "alpha": alpha, "median_test_pearson": float(evaluated["test_pearson"].median()) if len(evaluated)
            else float("nan"), "chosen_models": {str(k): int(v) for k, v in
                                                 table["chosen_model"].value_counts().items() if k}}


def _evaluate_one(values: np.ndarray, genes: list[str], cells: list[str], options: dict, target: str,
                  effect: np.ndarray) -> dict:
    """Worker: one target's summary row (plain arrays in, JSON-able dict out)."""
    from core.essentiality.evaluate import evaluate_gene

    expression = pd.DataFrame(values, index=pd.Index(cells), columns=pd.Index(genes), copy=False)
    y = pd.Series(effect, index=pd.Index(cells), name=target)
    try:
        row = evaluate_gene(expression, y, **options).summary()
        row["error"] = ""
    except InputError as error:  # e.g. too few cells with an effect: report, keep sweeping
        row = {"target": target, "chosen_model": "", "test_pearson": float("nan"), "test_pearson_p": float("nan"),
               "test_rmse": float("nan"), "baseline_test_rmse": float("nan"), "n_modifiers": 0, "modifiers": "",
               "error": str(error)}
    return row


def _row_file(folder: Path, target: str) -> Path:
    return folder / f"{hashlib.sha1(target.encode()).hexdigest()[:16]}.json"


def _write_row(folder: Path, row: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(row, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, _row_file(folder, row["target"]))


def _read_row(folder: Path, target: str) -> dict | None:
    path = _row_file(folder, target)
    try:
        row = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return row if row.get("target") == target else None


def sweep(
    expression: pd.DataFrame,
    effect: pd.DataFrame,
    targets: Sequence[str] | None = None,
    n_jobs: int = -1,
    store: str | Path | None = None,
    scheduler: str | None = None,
    models: Sequence[str] | None = None,
    progress: Callable[[float, str], None] | None = None,
    random_state: int = 0,
    *,
    top_k: int = 20,
    fdr: float | None = 0.05,
    test_size: float = 0.25,
    mlp_params: dict | None = None,
) -> pd.DataFrame:
    """Evaluate many targets and summarise each in one row.

    Parameters
    ----------
    expression : DataFrame
        Cells x genes expression.
    effect : DataFrame
        Cells x targets gene effect.
    targets : sequence of str, optional
        Columns of ``effect`` to evaluate (default all).
    n_jobs : int
        Parallel workers (joblib; -1 = all cores; 1 = in this process).
    store : path, optional
        Folder for the incremental results. Rows are kept in a subfolder
        named by a fingerprint of the data and the settings, so a rerun with
        the same inputs skips the finished targets.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); the targets then
        run on that cluster, the expression scattered to its workers once.
    models : sequence of str, optional
        Zoo names (default all).
    progress : callable, optional
        ``progress(fraction, message)`` after every finished target.
    random_state, top_k, fdr, test_size, mlp_params
        Passed to :func:`evaluate_gene`.

    Returns
    -------
    DataFrame
        One row per target (in the order asked): ``target, chosen_model,
        test_pearson, test_pearson_p, test_rmse, n_modifiers, modifiers``
        (``;``-joined), ``q`` (BH over the targets' test p-values),
        ``baseline_test_rmse``, ``resumed`` (read from the store) and
        ``error`` (why a target could not be evaluated, else empty).
    """
    from joblib import Parallel, delayed

    report = progress or (lambda fraction, message: None)
    if not isinstance(effect, pd.DataFrame):
        raise InputError("effect must be a cells x targets table for a sweep")
    targets = list(effect.columns) if targets is None else list(dict.fromkeys(targets))
    unknown = [t for t in targets if t not in effect.columns]
    if unknown:
        raise InputError(f"target(s) {', '.join(map(str, unknown[:5]))} have no gene-effect column")
    options = {"models": check_models(models), "random_state": random_state, "top_k": top_k, "fdr": fdr,
               "test_size": test_size, "mlp_params": mlp_params}
    cells = expression.index.intersection(effect.index)
    if len(cells) < 40:
        raise InputError(f"only {len(cells)} cell lines are in both the expression and gene-effect tables; "
                         "at least 40 are needed. Check that the cell-line ids match.")
    x = expression.loc[cells]
    eff = effect.loc[cells, targets]
    folder = None
    rows: dict[str, dict] = {}
    if store is not None:
        folder = Path(store) / frames_fingerprint((x, eff), options)
        folder.mkdir(parents=True, exist_ok=True)
        for t in targets:
            row = _read_row(folder, str(t))
            if row is not None:
                row["resumed"] = True
                rows[str(t)] = row
    todo = [t for t in targets if str(t) not in rows]
    report(len(rows) / max(len(targets), 1), f"{len(rows)} of {len(targets)} targets already done")
    values = np.ascontiguousarray(x.to_numpy())
    genes, cell_list = [str(g) for g in x.columns], [str(c) for c in cells]
    shared = (values, genes, cell_list, options)
    own = [(str(t), eff[t].to_numpy(np.float64)) for t in todo]

    def collect(results) -> None:
        for row in results:
            row["resumed"] = False
            rows[row["target"]] = row
            if folder is not None:
                _write_row(folder, row)
            report(len(rows) / len(targets), f"{len(rows)} of {len(targets)} targets ({row['target']}: "
                   f"{row['chosen_model'] or 'skipped'})")

    if todo:
        if scheduler is not None:
            from core.cluster import map_on_cluster

            collect(row for _, row in map_on_cluster(scheduler, _evaluate_one, shared, own))
        elif n_jobs == 1:
            collect(_evaluate_one(*shared, *args) for args in own)
        else:
            tasks = (delayed(_evaluate_one)(*shared, *args) for args in own)
            collect(Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks))
    table = pd.DataFrame([rows[str(t)] for t in targets])
    for column in ("error",):
        if column not in table:
            table[column] = ""
    table["error"] = table["error"].fillna("")
    table = add_target_q(table)
    table["n_modifiers"] = table["n_modifiers"].astype(int)
    report(1.0, "sweep done")
    return table[[*SWEEP_COLUMNS, "error"]]
