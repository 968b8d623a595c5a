"""One target, end to end: split cell lines, select modifiers, fit the zoo, choose, test.

The protocol of Rosenski et al. (2023): cell lines are split 75/25 into
training and test (or k-fold CV); modifiers are selected on the training cells
only; the training cells are split 90/10 again, every model is fitted on the
90 % and scored by RMSE on the 10 %; the model with the lowest validation RMSE
is refitted on all training cells and evaluated once on the test cells.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from core.errors import InputError
from core.essentiality.counts import linear_test, pearson_test, rank_modifiers
from core.essentiality.models import check_models, make_model
from core.essentiality.selection import ModifierSelection, select_modifiers

Progress = Callable[[float, str], None]
NO_MODEL = "mean"  # chosen when no modifier passes the selection: the training-mean predictor
MIN_TRAIN_CELLS = 20


@dataclass
class GeneReport:
    """The result of :func:`evaluate_gene` for one target.

    Attributes
    ----------
    target
        Target gene (the effect's name).
    modifiers
        Features used by the models (selected on training cells).
    selection
        The full :class:`ModifierSelection` on the training cells.
    validation_rmse
        Model name -> RMSE on the validation cells (10 % of training).
    chosen_model
        Lowest validation RMSE; ``"mean"`` when no modifier was selected.
    test_rmse, test_pearson, test_pearson_p
        Performance of the chosen model (refitted on all training cells) on
        the test cells; the p-value is two-sided (Student t).
    baseline_test_rmse
        RMSE on the test cells of predicting the training mean.
    single_best_modifier, single_best_pearson, single_best_pearson_p
        The strongest single modifier (|Pearson r| on training cells), and the
        test Pearson of a linear model on it alone (paper Fig. 1A).
    predictions
        Columns ``cell, split, actual, predicted`` (and ``lineage`` when
        given). ``train`` and ``test`` rows come from the final model;
        ``validation`` rows from the chosen model fitted on the other 90 %.
    fit_seconds
        Model name -> wall time of its validation fit.
    timings
        Wall time of the modifier selection (``selection``) and of the chosen
        model's refit on all training cells (``refit``), first split.
    folds
        Per-fold summaries under cross-validation (empty otherwise).
    """

    target: str
    modifiers: list[str]
    selection: ModifierSelection
    validation_rmse: dict[str, float]
    chosen_model: str
    test_rmse: float
    test_pearson: float
    test_pearson_p: float
    baseline_test_rmse: float
    single_best_modifier: str
    single_best_pearson: float
    predictions: pd.DataFrame
    single_best_pearson_p: float = float("nan")
    fit_seconds: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    folds: list[dict] = field(default_factory=list)
    params: dict = field(default_factory=dict)

    _SCALARS = ("target", "modifiers", "validation_rmse", "chosen_model", "test_rmse", "test_pearson",
                "test_pearson_p", "baseline_test_rmse", "single_best_modifier", "single_best_pearson",
                "single_best_pearson_p", "fit_seconds", "timings", "folds", "params")

    def to_payload(self) -> dict:
        """Parts for :class:`core.cache.ArtifactStore`: DataFrames and JSON-able values only."""
        payload = {"report_meta": {name: getattr(self, name) for name in self._SCALARS},
                   "report_predictions": self.predictions}
        payload.update(self.selection.to_payload())
        return payload

    @classmethod
    def from_payload(cls, payload: dict) -> "GeneReport":
        meta = dict(payload["report_meta"])
        return cls(selection=ModifierSelection.from_payload(payload), predictions=payload["report_predictions"],
                   **meta)

    def summary(self) -> dict:
        """One row of a sweep table."""
        return {"target": self.target, "chosen_model": self.chosen_model, "test_pearson": self.test_pearson,
                "test_pearson_p": self.test_pearson_p, "test_rmse": self.test_rmse,
                "baseline_test_rmse": self.baseline_test_rmse, "n_modifiers": len(self.modifiers),
                "modifiers": ";".join(self.modifiers)}


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def _pearson(actual: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    return pearson_test(actual, predicted)


def _aligned(expression: pd.DataFrame, effect: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    if not isinstance(expression, pd.DataFrame) or not isinstance(effect, pd.Series):
        raise InputError("expression must be a cells x genes table and effect one target's gene effect by cell")
    effect = pd.to_numeric(effect, errors="coerce").dropna()
    cells = expression.index.intersection(effect.index)
    if len(cells) < 2 * MIN_TRAIN_CELLS:
        raise InputError(
            f"only {len(cells)} cell lines have both expression and a gene effect for {effect.name}; "
            f"at least {2 * MIN_TRAIN_CELLS} are needed to train, validate and test. Check that the cell-line "
            "ids of the two tables match."
        )
    # the expression keeps all its rows: copying a DepMap-sized matrix per target costs more than a model fit,
    # and select_modifiers reuses its prepared cells only for the same expression frame
    if expression.index.has_duplicates:
        raise InputError("the expression table has duplicated cell-line ids; each cell line must appear once")
    return expression, effect.loc[cells].astype(np.float64)


def _fit_split(x: pd.DataFrame, y: pd.Series, train: np.ndarray, test: np.ndarray, models: list[str],
               random_state: int, top_k: int, fdr: float | None, mlp_params: dict | None,
               report: Progress, span: tuple[float, float], selection_options: dict,
               selection: ModifierSelection | None = None) -> dict:
    """The whole protocol on one train/test partition (positions into y; x has the rows of y and maybe more)."""
    lo, hi = span
    target = str(y.name) if y.name is not None else "target"
    report(lo, f"{target}: selecting modifiers on {len(train)} training cell lines")
    started = time.perf_counter()
    if selection is None:
        # the effect on the training cells only: select_modifiers aligns the expression to those cells
        selection = select_modifiers(x, y.iloc[train], top_k=top_k, fdr=fdr, target=target, **selection_options)
    timings = {"selection": time.perf_counter() - started}
    modifiers = selection.modifiers
    rng = np.random.default_rng(random_state)
    shuffled = rng.permutation(train)
    n_val = max(2, int(round(0.1 * len(train))))
    val, fit = shuffled[:n_val], shuffled[n_val:]
    yv = y.to_numpy()
    validation_rmse: dict[str, float] = {}
    validation_pred: dict[str, np.ndarray] = {}
    fit_seconds: dict[str, float] = {}
    if modifiers:
        xm = x.loc[y.index, modifiers].to_numpy(np.float64)
        for i, name in enumerate(models):
            report(lo + (hi - lo) * (0.1 + 0.75 * i / len(models)), f"{target}: fitting {name} ({i + 1}/{len(models)})")
            start = time.perf_counter()
            if name == "xgb_mlp" and "xgboost" in validation_pred and "mlp" in validation_pred:
                # identical to fitting the average (same seeds): reuse the two fitted members
                pred = (validation_pred["xgboost"] + validation_pred["mlp"]) / 2.0
            else:
                model = make_model(name, random_state, mlp_params=mlp_params).fit(xm[fit], yv[fit])
                pred = model.predict(xm[val])
            fit_seconds[name] = time.perf_counter() - start
            validation_pred[name] = np.asarray(pred, dtype=np.float64)
            validation_rmse[name] = _rmse(pred, yv[val])
        chosen = min(validation_rmse, key=validation_rmse.get)
        report(lo + (hi - lo) * 0.9, f"{target}: refitting {chosen} on all training cells")
        started = time.perf_counter()
        final = make_model(chosen, random_state, mlp_params=mlp_params).fit(xm[train], yv[train])
        timings["refit"] = time.perf_counter() - started
        train_pred, test_pred = final.predict(xm[train]), final.predict(xm[test])
        val_pred = validation_pred[chosen]
    else:
        chosen = NO_MODEL
        mean = float(yv[train].mean())
        train_pred, test_pred = np.full(len(train), mean), np.full(len(test), mean)
        val_pred = np.full(len(val), mean)
    best_gene, best_r, best_p = "", float("nan"), float("nan")
    table = selection.table
    if len(table) and table["pearson_r"].notna().any():
        # the same ranking and linear test as the one-vs-many panels (core.essentiality.counts)
        best_gene = rank_modifiers(selection)[0]
        used, single_pred = linear_test(x.loc[y.index, [best_gene]].to_numpy(np.float64), yv, train, test)
        best_r, best_p = _pearson(yv[used], single_pred)
    return {
        "selection": selection, "modifiers": modifiers, "validation_rmse": validation_rmse, "chosen": chosen,
        "fit_seconds": fit_seconds, "train": train, "val": val, "test": test, "train_pred": train_pred,
        "val_pred": val_pred, "test_pred": test_pred, "baseline": float(yv[train].mean()),
        "single_best": (best_gene, best_r, best_p), "timings": timings,
    }


def evaluate_gene(
    expression: pd.DataFrame,
    effect: pd.Series,
    *,
    lineage: pd.Series | None = None,
    test_size: float = 0.25,
    cv: int | None = None,
    models: Sequence[str] | None = None,
    random_state: int = 0,
    top_k: int = 20,
    fdr: float | None = 0.05,
    progress: Progress | None = None,
    mlp_params: dict | None = None,
    redundancy_threshold: float | None = None,
    include_target_expression: bool = False,
    split: tuple[Sequence, Sequence] | None = None,
    selection: ModifierSelection | None = None,
) -> GeneReport:
    """Predict a target's gene effect from its modifier genes and test it on held-out cell lines.

    Parameters
    ----------
    expression : DataFrame
        Cells x genes expression.
    effect : Series
        The target's gene effect by cell (its name is the target); missing
        values are dropped.
    lineage : Series, optional
        Lineage by cell, copied into :attr:`GeneReport.predictions`.
    test_size : float
        Share of cell lines held out for the test (ignored with ``cv``).
    cv : int, optional
        k-fold cross-validation instead of one split: every cell is tested
        once; metrics are computed on the pooled out-of-fold predictions, the
        validation RMSEs are fold means and the chosen model is the most
        frequent choice (per-fold details in :attr:`GeneReport.folds`).
    models : sequence of str, optional
        Zoo names (default all of :data:`MODEL_NAMES`).
    random_state : int
        Seed of the splits and the models.
    top_k, fdr, redundancy_threshold, include_target_expression
        Passed to :func:`select_modifiers`.
    progress : callable, optional
        ``progress(fraction, message)``.
    mlp_params : dict, optional
        Overrides for the MLP (e.g. ``{"max_epochs": 50}``).
    split : (train cells, test cells), optional
        A fixed partition of cell-line ids instead of a random one (the
        paper uses one split for all targets, see :func:`atlas_split`); cells
        without an effect for this target are dropped from both.
    selection : ModifierSelection, optional
        Modifiers already selected on exactly the training cells (as
        :func:`select_modifiers_all` gives them); skips the selection.

    Returns
    -------
    GeneReport

    Raises
    ------
    core.errors.InputError
        Too few shared cell lines, a bad split size or unknown model names.

    Examples
    --------
    A target whose effect follows one gene's expression:

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> cells = [f"ACH-{i:06d}" for i in range(120)]
    >>> expression = pd.DataFrame(rng.normal(5, 1, (120, 30)), index=cells).add_prefix("G")
    >>> effect = (-0.8 * expression["G3"] + rng.normal(0, 0.3, 120)).rename("TARGET")
    >>> report = evaluate_gene(expression, effect, models=["ols", "tree"], top_k=3)
    >>> report.modifiers, report.chosen_model, bool(report.test_pearson > 0.9)
    (['G3'], 'ols', True)
    """
    from sklearn.model_selection import KFold, train_test_split

    report = progress or (lambda fraction, message: None)
    models = check_models(models)
    if cv is None and not 0.05 <= test_size <= 0.5:
        raise InputError(f"test_size must be between 0.05 and 0.5; got {test_size}")
    if cv is not None and (int(cv) != cv or cv < 2):
        raise InputError(f"cv must be a whole number of folds of at least 2; got {cv}")
    x, y = _aligned(expression, effect)
    target = str(y.name) if y.name is not None else "target"
    y.name = target
    positions = np.arange(len(y))
    options = {"redundancy_threshold": redundancy_threshold, "include_target_expression": include_target_expression}
    if split is not None:
        if cv is not None:
            raise InputError("give either a fixed split or cv, not both")
        in_train, in_test = y.index.isin(pd.Index(split[0])), y.index.isin(pd.Index(split[1]))
        if (in_train & in_test).any():
            raise InputError("the fixed split puts some cell lines in both the training and the test set")
        partitions = [(np.flatnonzero(in_train), np.flatnonzero(in_test))]
        if len(partitions[0][1]) < 3:
            raise InputError(f"only {len(partitions[0][1])} test cell lines have a gene effect for {target}; "
                             "at least 3 are needed")
    elif cv is None:
        train, test = train_test_split(positions, test_size=test_size, random_state=random_state)
        partitions = [(np.sort(train), np.sort(test))]
    else:
        partitions = [(tr, te) for tr, te in KFold(int(cv), shuffle=True, random_state=random_state).split(positions)]
    if min(len(tr) for tr, _ in partitions) < MIN_TRAIN_CELLS:
        raise InputError(f"too few training cell lines ({min(len(tr) for tr, _ in partitions)}); "
                         f"at least {MIN_TRAIN_CELLS} are needed")
    results = []
    for k, (train, test) in enumerate(partitions):
        span = (k / len(partitions), (k + 1) / len(partitions))
        results.append(_fit_split(x, y, train, test, models, random_state, top_k, fdr, mlp_params, report, span,
                                  options, selection if cv is None else None))
    cells = np.asarray(y.index)
    yv = y.to_numpy()
    frames = []
    for k, res in enumerate(results):
        val_set = set(res["val"].tolist())
        train_only = np.array([i for i in res["train"] if i not in val_set], dtype=int)
        train_pred = pd.Series(res["train_pred"], index=res["train"])
        parts = [("train", train_only, train_pred.loc[train_only].to_numpy()),
                 ("validation", res["val"], res["val_pred"]), ("test", res["test"], res["test_pred"])]
        if cv is not None and k > 0:
            parts = parts[2:]  # under CV each cell appears once: as a test cell
        for split, idx, pred in parts:
            frame = pd.DataFrame({"cell": cells[idx], "split": split, "actual": yv[idx],
                                  "predicted": np.asarray(pred, dtype=np.float64)})
            if cv is not None:
                frame["fold"] = k
            frames.append(frame)
    predictions = pd.concat(frames, ignore_index=True)
    if cv is not None:
        # fold 0 contributes train/validation rows; keep each cell once, preferring its test row
        predictions = predictions.sort_values("split", key=lambda s: s.map({"test": 0, "validation": 1, "train": 2}))
        predictions = predictions.drop_duplicates("cell").sort_values(["split", "cell"]).reset_index(drop=True)
    if lineage is not None:
        predictions["lineage"] = pd.Series(lineage).reindex(predictions["cell"]).astype(object).fillna("").to_numpy()
    test_rows = predictions[predictions["split"] == "test"]
    test_pred, test_actual = test_rows["predicted"].to_numpy(), test_rows["actual"].to_numpy()
    baseline = np.concatenate([np.full(len(r["test"]), r["baseline"]) for r in results])
    baseline_actual = np.concatenate([yv[r["test"]] for r in results])
    r, p = _pearson(test_actual, test_pred)
    first = results[0]
    if cv is None:
        validation_rmse = first["validation_rmse"]
        chosen = first["chosen"]
        best_gene, best_r, best_p = first["single_best"]
        folds = []
    else:
        names = [m for m in models if all(m in res["validation_rmse"] for res in results)]
        validation_rmse = {m: float(np.mean([res["validation_rmse"][m] for res in results])) for m in names}
        chosen = Counter(res["chosen"] for res in results).most_common(1)[0][0]
        best_gene, best_r, best_p = first["single_best"]
        folds = [{"fold": k, "chosen_model": res["chosen"], "modifiers": res["modifiers"],
                  "validation_rmse": res["validation_rmse"],
                  "test_pearson": _pearson(yv[res["test"]], np.asarray(res["test_pred"]))[0]}
                 for k, res in enumerate(results)]
    report(1.0, f"{target}: done ({chosen}, test r = {r:.2f})")
    return GeneReport(
        target=target, modifiers=list(first["modifiers"]), selection=first["selection"],
        validation_rmse={k: float(v) for k, v in validation_rmse.items()}, chosen_model=chosen,
        test_rmse=_rmse(test_pred, test_actual), test_pearson=r, test_pearson_p=p,
        baseline_test_rmse=_rmse(baseline, baseline_actual), single_best_modifier=best_gene,
        single_best_pearson=best_r, single_best_pearson_p=best_p, predictions=predictions,
        fit_seconds={k: float(v) for k, v in first["fit_seconds"].items()},
        timings={k: float(v) for k, v in first["timings"].items()}, folds=folds,
        params={"test_size": test_size, "cv": cv, "models": models, "random_state": random_state, "top_k": top_k,
                "fdr": fdr, "fixed_split": split is not None, **options},
    )
