"""The atlas of a dataset: every target through the paper's protocol, with fast models, once.

Rosenski et al. (2023) split the cell lines once, 75/25, for all genes. The
atlas does the same: one seeded split per dataset (:func:`atlas_split`);
modifier genes of every target are selected on the training lines at once
(:func:`~core.essentiality.selection.select_modifiers_all`); the fast models
(:data:`~core.essentiality.models.ATLAS_MODELS`) are fitted on each target's
modifiers, chosen by validation RMSE and tested on the held-out lines, exactly
as :func:`~core.essentiality.evaluate.evaluate_gene` does with that split.

Targets run in batches. Each finished batch is written to ``store`` at once,
so an interrupted build resumes; batches run in this process, in local
processes (``n_jobs``), or on a Dask cluster (``scheduler``), to whose
workers the expression matrix is sent once (:func:`core.cluster.map_on_cluster`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from core.cache import frames_fingerprint
from core.errors import InputError
from core.essentiality.models import ATLAS_MODELS, check_models
from core.essentiality.sweep import add_target_q

#: One row per target.
ATLAS_COLUMNS = [
    "target", "n_train", "n_test", "n_modifiers", "modifiers", "pearson_modifiers", "spearman_modifiers",
    "chi2_modifiers", "chosen_model", "test_pearson", "test_pearson_p", "test_rmse", "baseline_test_rmse",
    "single_best_modifier", "single_best_pearson", "single_best_pearson_p", "q", "error",
]
MIN_ATLAS_CELLS = 40


def atlas_split(cells: Sequence, test_size: float = 0.25, random_state: int = 0) -> tuple[pd.Index, pd.Index]:
    """The dataset's one train/test split of cell lines.

    For a target screened in every cell line it is the split
    :func:`~core.essentiality.evaluate.evaluate_gene` draws with the same
    ``test_size`` and ``random_state``.

    Parameters
    ----------
    cells : sequence
        Cell-line ids shared by the expression and gene-effect tables, in the
        expression's order.
    test_size : float
        Share of cell lines held out.
    random_state : int
        Seed.

    Returns
    -------
    (train, test) : pandas Index
    """
    from sklearn.model_selection import train_test_split

    cells = pd.Index(cells)
    if len(cells) < MIN_ATLAS_CELLS:
        raise InputError(f"only {len(cells)} cell lines are in both the expression and gene-effect tables; at least "
                         f"{MIN_ATLAS_CELLS} are needed. Check that the cell-line ids match.")
    train, test = train_test_split(np.arange(len(cells)), test_size=test_size, random_state=random_state)
    return cells[np.sort(train)], cells[np.sort(test)]


def _empty_row(target: str, error: str) -> dict:
    row = {c: np.nan for c in ATLAS_COLUMNS}
    row.update({"target": target, "n_train": 0, "n_test": 0, "n_modifiers": 0, "modifiers": "",
                "pearson_modifiers": "", "spearman_modifiers": "", "chi2_modifiers": "", "chosen_model": "",
                "single_best_modifier": "", "error": error})
    return row


def _atlas_batch(values: np.ndarray, genes: list[str], cells: list[str], train: list[str], test: list[str],
                 options: dict, effect: np.ndarray, targets: list[str]) -> list[dict]:
    """Worker: rows of one batch of targets (plain arrays in, JSON-able dicts out).

    The arguments before ``effect`` are the same for every batch (sent to a
    cluster's workers once); ``effect`` and ``targets`` are the batch's own.
    """
    from threadpoolctl import threadpool_limits

    from core.essentiality.evaluate import evaluate_gene
    from core.essentiality.selection import select_modifiers_all

    expression = pd.DataFrame(values, index=pd.Index(cells), columns=pd.Index(genes), copy=False)
    effects = pd.DataFrame(effect, index=pd.Index(cells), columns=pd.Index(targets))
    with threadpool_limits(limits=options["threads"]):
        in_train = expression.index.isin(pd.Index(train))
        selections = select_modifiers_all(expression.iloc[np.flatnonzero(in_train)], effects.loc[in_train],
                                          top_k=options["top_k"], fdr=options["fdr"], table="modifiers")
        rows = []
        for target in targets:
            if target not in selections:
                rows.append(_empty_row(target, "fewer than 10 training cell lines have a gene effect"))
                continue
            try:
                report = evaluate_gene(expression, effects[target], split=(train, test), selection=selections[target],
                                       models=options["models"], random_state=options["random_state"],
                                       top_k=options["top_k"], fdr=options["fdr"])
            except InputError as error:
                rows.append(_empty_row(target, str(error)))
                continue
            split = report.predictions["split"]
            sets = selections[target].sets
            rows.append({
                **report.summary(), "n_train": int((split != "test").sum()), "n_test": int((split == "test").sum()),
                "pearson_modifiers": ";".join(sets.get("pearson", [])),
                "spearman_modifiers": ";".join(sets.get("spearman", [])),
                "chi2_modifiers": ";".join(sets.get("chi2", [])),
                "single_best_modifier": report.single_best_modifier,
                "single_best_pearson": report.single_best_pearson,
                "single_best_pearson_p": report.single_best_pearson_p, "error": "",
            })
    return rows


def _numbered_batch(index: int, *args) -> tuple[int, list[dict]]:
    return index, _atlas_batch(*args)


def _write_batch(folder: Path, index: int, rows: list[dict]) -> None:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".parquet")
    with os.fdopen(fd, "wb") as handle:
        pd.DataFrame(rows).to_parquet(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, folder / f"batch-{index:05d}.parquet")


def _read_batch(folder: Path, index: int, targets: list[str]) -> list[dict] | None:
    try:
        frame = pd.read_parquet(folder / f"batch-{index:05d}.parquet")
    except (OSError, ValueError):
        return None
    return frame.to_dict("records") if list(frame["target"]) == targets else None


def build_atlas(
    expression: pd.DataFrame,
    effects: pd.DataFrame,
    *,
    targets: Sequence[str] | None = None,
    models: Sequence[str] = ATLAS_MODELS,
    test_size: float = 0.25,
    random_state: int = 0,
    top_k: int = 20,
    fdr: float | None = 0.05,
    batch_size: int = 256,
    n_jobs: int = 1,
    store: str | Path | None = None,
    scheduler: str | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> pd.DataFrame:
    """Every target of a dataset through the paper's protocol with fast models.

    Parameters
    ----------
    expression : DataFrame
        Cells x genes expression.
    effects : DataFrame
        Cells x targets gene effect (missing values allowed).
    targets : sequence of str, optional
        Columns of ``effects`` (default all).
    models : sequence of str
        Models compared on the validation split (default :data:`ATLAS_MODELS`).
    test_size, random_state
        The split (:func:`atlas_split`) and the models' seed.
    top_k, fdr
        Passed to :func:`select_modifiers_all`.
    batch_size : int
        Targets per batch (one preparation of the expression per batch).
    n_jobs : int
        Local worker processes (1: in this process).
    store : path, optional
        Folder for finished batches, in a subfolder named by a fingerprint of
        the data and settings: a rerun skips the finished batches.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); the batches then
        run on its workers, the expression scattered to them once. The
        workers need this project installed.
    progress : callable, optional
        ``progress(fraction, message)`` after every finished batch.

    Returns
    -------
    DataFrame
        One row per target (columns :data:`ATLAS_COLUMNS`): the modifiers of
        each test and their union (``;``-joined), the chosen model, its test
        Pearson r, p and RMSE, the training-mean RMSE, the single best
        modifier's test r, ``q`` (BH over the targets' test p-values) and
        ``error`` (why a target has no model, else empty).

    Raises
    ------
    core.errors.InputError
        Unknown targets or models, too few shared cell lines, bad parameters.
    """
    report = progress or (lambda fraction, message: None)
    models = check_models(models)
    if not isinstance(expression, pd.DataFrame) or not isinstance(effects, pd.DataFrame):
        raise InputError("expression must be a cells x genes table and effects a cells x targets table")
    if int(batch_size) != batch_size or batch_size < 1:
        raise InputError(f"batch_size must be a positive whole number; got {batch_size}")
    targets = [str(t) for t in effects.columns] if targets is None else [str(t) for t in dict.fromkeys(targets)]
    effects = effects.set_axis([str(c) for c in effects.columns], axis=1)
    unknown = [t for t in targets if t not in effects.columns]
    if unknown:
        raise InputError(f"target(s) {', '.join(unknown[:5])} have no gene-effect column")
    cells = expression.index.intersection(effects.index)
    train, test = atlas_split(cells, test_size, random_state)
    x = expression.loc[cells] if not cells.equals(expression.index) else expression
    eff = effects.loc[cells, targets].apply(pd.to_numeric, errors="coerce")
    options = {"models": models, "random_state": random_state, "top_k": top_k, "fdr": fdr, "test_size": test_size,
               "threads": 1 if (n_jobs != 1 or scheduler) else None}
    # a batch prepares the expression once per missing-cell pattern among its targets: keep patterns together
    missing = eff.loc[train].isna().to_numpy()
    keys = [np.packbits(missing[:, j]).tobytes() for j in range(len(targets))]
    first_seen = {key: i for i, key in reversed(list(enumerate(keys)))}
    ordered = [targets[j] for j in sorted(range(len(targets)), key=lambda j: first_seen[keys[j]])]
    batches = [ordered[a:a + batch_size] for a in range(0, len(ordered), batch_size)]
    folder = None
    done: dict[int, list[dict]] = {}
    if store is not None:
        settings = {k: v for k, v in options.items() if k != "threads"} | {"batch_size": batch_size}
        folder = Path(store) / frames_fingerprint((x, eff), settings)
        folder.mkdir(parents=True, exist_ok=True)
        for i, batch in enumerate(batches):
            rows = _read_batch(folder, i, batch)
            if rows is not None:
                done[i] = rows
    report(len(done) / len(batches), f"{sum(map(len, done.values())):,} of {len(targets):,} targets already done")
    values = np.ascontiguousarray(x.to_numpy())
    genes, cell_list = [str(g) for g in x.columns], [str(c) for c in cells]
    train_list, test_list = [str(c) for c in train], [str(c) for c in test]
    todo = [i for i in range(len(batches)) if i not in done]

    def finished(i: int, rows: list[dict]) -> None:
        done[i] = rows
        if folder is not None:
            _write_batch(folder, i, rows)
        n = sum(map(len, done.values()))
        report(len(done) / len(batches), f"{n:,} of {len(targets):,} targets")

    shared = (values, genes, cell_list, train_list, test_list, options)

    def own(i: int) -> tuple:
        return eff[batches[i]].to_numpy(np.float64), batches[i]

    if todo and scheduler is not None:
        from core.cluster import map_on_cluster

        for k, rows in map_on_cluster(scheduler, _atlas_batch, shared, [own(i) for i in todo]):
            finished(todo[k], rows)
    elif todo and n_jobs != 1:
        from joblib import Parallel, delayed

        tasks = (delayed(_numbered_batch)(i, *shared, *own(i)) for i in todo)
        for i, rows in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks):
            finished(i, rows)
    else:
        for i in todo:
            finished(i, _atlas_batch(*shared, *own(i)))
    table = pd.DataFrame([row for i in range(len(batches)) for row in done[i]])
    table = table.set_index("target", drop=False).loc[targets].reset_index(drop=True)
    table = add_target_q(table)
    table["error"] = table["error"].fillna("")
    for column in ("n_train", "n_test", "n_modifiers"):
        table[column] = table[column].astype(int)
    report(1.0, "atlas done")
    return table[ATLAS_COLUMNS]
