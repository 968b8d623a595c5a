"""Training end to end, test-set evaluation, the ridge baseline and the branch ablation.

``train_decode`` splits the genes, preprocesses, trains the CNN and a ridge
regression on per-feature binding totals (always reported beside the CNN), and
scores both on the test genes: Spearman per tissue, and the tissue x tissue
correlation of predicted against actual profiles (Tasaki et al. Fig. 2c).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from core.datasets.decode_demo import DecodeData
from core.decode.estimator import DecodeCNN
from core.decode.features import BindingSet, DecodePreprocessor, Split, make_split
from core.errors import InputError
from core.stats import rank_columns

Progress = Callable[[float, str], None]
RIDGE_ALPHAS = tuple(np.logspace(-2, 4, 13))


def column_spearman(pred: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Spearman correlation of matching columns of two (genes, tasks) matrices.

    Parameters
    ----------
    pred, actual : ndarray
        (genes, tasks) matrices.
    """
    a, b = rank_columns(np.asarray(pred, float)), rank_columns(np.asarray(actual, float))
    a -= a.mean(axis=0)
    b -= b.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(axis=0) / np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))


def profile_correlation(pred: pd.DataFrame, actual: pd.DataFrame) -> pd.DataFrame:
    """Tissue x tissue Spearman correlation: predicted tissue (rows) against actual tissue (columns).

    Computed over genes; a good model has the largest values on the diagonal
    (paper Fig. 2c).

    Parameters
    ----------
    pred, actual : pandas.DataFrame
        Genes x tissues, the same genes.
    """
    a = rank_columns(pred.to_numpy(float))
    b = rank_columns(actual.to_numpy(float))
    a = (a - a.mean(0)) / a.std(0)
    b = (b - b.mean(0)) / b.std(0)
    return pd.DataFrame(a.T @ b / len(a), index=pred.columns, columns=actual.columns)


def binding_totals(X: BindingSet) -> np.ndarray:
    """Per-gene sum over bins of each (scaled, kept) feature: ``(genes, mRNA + promoter features)``.

    Parameters
    ----------
    X : BindingSet
        Scaled binding.
    """
    out = np.zeros((len(X), X.n_mrna + X.n_promoter))
    for ptr, idx, val, offset in ((X.mrna_ptr, X.mrna_idx, X.mrna_val, 0),
                                  (X.promoter_ptr, X.promoter_idx, X.promoter_val, X.n_mrna)):
        rows = np.repeat(np.arange(len(X)), np.diff(ptr))
        np.add.at(out, (rows, idx[:, 0] + offset), val)
    return out


class RidgeBaseline(RegressorMixin, BaseEstimator):
    """Ridge regression on per-feature binding totals, one alpha per task by leave-one-out CV.

    Learned attributes: ``coef_ (tasks, features)``, ``intercept_``, ``mean_``, ``scale_``, ``alpha_``.

    Parameters
    ----------
    alphas : tuple of float
        Candidate penalties.
    """

    def __init__(self, alphas: tuple[float, ...] = RIDGE_ALPHAS):
        self.alphas = alphas

    def fit(self, X: BindingSet, y: np.ndarray) -> "RidgeBaseline":
        """Fit on per-feature binding totals.

        Parameters
        ----------
        X : BindingSet
            Training binding.
        y : ndarray
            Scaled targets ``(genes, tasks)``.
        """
        from sklearn.linear_model import RidgeCV

        totals = binding_totals(X)
        self.mean_ = totals.mean(axis=0)
        self.scale_ = np.where(totals.std(axis=0) > 0, totals.std(axis=0), 1.0)
        model = RidgeCV(alphas=list(self.alphas), alpha_per_target=True).fit((totals - self.mean_) / self.scale_, y)
        self.coef_, self.intercept_ = np.atleast_2d(model.coef_), np.atleast_1d(model.intercept_)
        self.alpha_ = np.atleast_1d(model.alpha_)
        return self

    def predict(self, X: BindingSet) -> np.ndarray:
        """Scaled predictions ``(genes, tasks)``.

        Parameters
        ----------
        X : BindingSet
            Binding of the genes to predict.

        Returns
        -------
        ndarray
        """
        check_is_fitted(self, "coef_")
        return ((binding_totals(X) - self.mean_) / self.scale_) @ self.coef_.T + self.intercept_


@dataclass
class DecodeFit:
    """A trained DEcode model with its preprocessing, baseline and test evaluation.

    Attributes
    ----------
    preprocessor : DecodePreprocessor
        Feature filter and scales.
    cnn : DecodeCNN
        The trained network.
    ridge : RidgeBaseline
        The baseline.
    split : Split
        Train / validation / test genes.
    predictions, ridge_predictions : pandas.DataFrame
        All genes x tasks in log2 units.
    performance : pandas.DataFrame
        Task x ``cnn, ridge``: test Spearman.
    profile_corr : pandas.DataFrame
        Tissue x tissue correlation on the test genes.
    history : pandas.DataFrame
        Training history.
    seconds : dict
        Wall time per step.
    """

    preprocessor: DecodePreprocessor
    cnn: DecodeCNN
    ridge: RidgeBaseline
    split: Split
    predictions: pd.DataFrame  # all genes x tasks, log2 units (CNN)
    ridge_predictions: pd.DataFrame
    performance: pd.DataFrame  # task x {cnn, ridge}: test Spearman
    profile_corr: pd.DataFrame  # tissue x tissue (test genes)
    history: pd.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def tasks(self) -> list[str]:
        return list(self.preprocessor.tasks_)

    def summary(self) -> dict[str, Any]:
        """``{"cnn": {...}, "ridge": {...}, "seconds": {...}}`` as printed by ``core.decode.validate``."""
        out: dict[str, Any] = {}
        tissues = [t for t in self.tasks if t != "median"]
        for model in ("cnn", "ridge"):
            col = self.performance[model]
            out[model] = {"mean_tissue_spearman": float(col[tissues].mean()),
                          "median_expression_spearman": float(col.get("median", np.nan)),
                          "tissue_spearman": {t: round(float(col[t]), 4) for t in tissues}}
        out["seconds"] = {k: round(v, 2) for k, v in self.seconds.items()}
        return out

    # --- artifact payload (no pickle: arrays, frames, JSON) ------------------
    def to_payload(self) -> dict[str, Any]:
        """Arrays, frames and JSON-able values for the artifact store (no pickle)."""
        raw, config = self.cnn.to_bytes()
        ridge = self.ridge
        return {
            "weights": np.frombuffer(raw, dtype=np.uint8).copy(), "cnn_config": config,
            "preprocessor": self.preprocessor.to_dict(), "split": self.split.to_dict(),
            "predictions": self.predictions, "ridge_predictions": self.ridge_predictions,
            "performance": self.performance, "profile_corr": self.profile_corr, "history": self.history,
            "ridge_coef": ridge.coef_, "ridge_intercept": ridge.intercept_, "ridge_mean": ridge.mean_,
            "ridge_scale": ridge.scale_, "seconds": self.seconds,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "DecodeFit":
        """Inverse of :meth:`to_payload`.

        Parameters
        ----------
        payload : dict
            As :meth:`to_payload` gives it.
        """
        ridge = RidgeBaseline()
        ridge.coef_, ridge.intercept_ = payload["ridge_coef"], payload["ridge_intercept"]
        ridge.mean_, ridge.scale_ = payload["ridge_mean"], payload["ridge_scale"]
        return cls(
            preprocessor=DecodePreprocessor.from_dict(payload["preprocessor"]),
            cnn=DecodeCNN.from_bytes(np.asarray(payload["weights"], dtype=np.uint8).tobytes(), payload["cnn_config"]),
            ridge=ridge, split=Split(**payload["split"]), predictions=payload["predictions"],
            ridge_predictions=payload["ridge_predictions"], performance=payload["performance"],
            profile_corr=payload["profile_corr"], history=payload["history"], seconds=dict(payload["seconds"]),
        )


def train_decode(data: DecodeData, split: Split | None = None, *, min_genes: int = 30,
                 cnn: DecodeCNN | None = None, progress: Progress | None = None,
                 should_stop: Callable[[], bool] | None = None) -> DecodeFit:
    """Preprocess, train the CNN and the ridge baseline, evaluate on the test genes.

    Parameters
    ----------
    data
        Binding matrices and targets.
    split
        Train / validation / test genes; default :func:`~core.decode.features.make_split`
        (test = chr1, or the data's published split).
    min_genes
        Drop features bound in fewer training genes (paper: 30).
    cnn
        An unfitted :class:`DecodeCNN` with the wanted hyperparameters (default: the paper's, 3 restarts).
    progress, should_stop
        Progress callback ``(fraction, message)`` and a cancellation poll.

    Returns
    -------
    DecodeFit
    """
    seconds: dict[str, float] = {}
    report = progress or (lambda f, m: None)
    t0 = time.perf_counter()
    split = split or make_split(data)
    pre = DecodePreprocessor(min_genes=min_genes).fit(data, split.train)
    if len(pre.mrna_keep_) + len(pre.promoter_keep_) == 0:
        raise InputError("no binding feature is left after filtering; lower min_genes")
    sets = {k: pre.transform(data, getattr(split, k)) for k in ("train", "validate", "test")}
    ys = {k: pre.scale_targets(data.targets.loc[getattr(split, k)]) for k in sets}
    seconds["preprocess"] = time.perf_counter() - t0
    report(0.02, "preprocessed binding features")

    t0 = time.perf_counter()
    model = cnn if cnn is not None else DecodeCNN()
    model.fit(sets["train"], ys["train"], sets["validate"], ys["validate"],
              progress=lambda f, m: report(0.02 + 0.93 * f, m), should_stop=should_stop)
    seconds["train_cnn"] = time.perf_counter() - t0
    seconds["cnn_epoch"] = model.epoch_seconds_

    t0 = time.perf_counter()
    ridge = RidgeBaseline().fit(sets["train"], ys["train"])
    seconds["train_ridge"] = time.perf_counter() - t0
    report(0.97, "evaluating on the test genes")

    t0 = time.perf_counter()
    everything = pre.transform(data)
    tasks = pre.tasks_
    index = pd.Index(list(map(str, data.genes)), name="gene")
    predictions = pd.DataFrame(pre.unscale(model.predict(everything)), index=index, columns=tasks)
    ridge_predictions = pd.DataFrame(pre.unscale(ridge.predict(everything)), index=index, columns=tasks)
    actual = data.targets.loc[split.test, tasks]
    performance = pd.DataFrame({
        "cnn": column_spearman(predictions.loc[split.test].to_numpy(), actual.to_numpy()),
        "ridge": column_spearman(ridge_predictions.loc[split.test].to_numpy(), actual.to_numpy()),
    }, index=pd.Index(tasks, name="task"))
    tissues = [t for t in tasks if t != "median"]
    corr = profile_correlation(predictions.loc[split.test, tissues], actual[tissues])
    seconds["evaluate"] = time.perf_counter() - t0
    return DecodeFit(preprocessor=pre, cnn=model, ridge=ridge, split=split, predictions=predictions,
                     ridge_predictions=ridge_predictions, performance=performance, profile_corr=corr,
                     history=pd.DataFrame(model.history_), seconds=seconds)


def shuffle_branch(data: DecodeData, branch: str, seed: int = 0) -> DecodeData:
    """A copy of ``data`` whose promoter or mRNA binding is permuted across genes.

    Shuffling the mRNA branch moves each transcript (with its length and 3' UTR
    start) to another gene, keeping the targets in place.

    Parameters
    ----------
    data : DecodeData
        The binding data.
    branch : {"promoter", "mrna"}
        The branch shuffled.
    seed : int
        Seed of the permutation.
    """
    if branch not in ("promoter", "mrna"):
        raise InputError(f"branch must be 'promoter' or 'mrna', got {branch!r}")
    perm = np.random.default_rng(seed).permutation(len(data.genes))  # new owner of gene i's binding
    coo = getattr(data, branch).copy()
    coo["gene"] = perm[coo["gene"].to_numpy()].astype(np.int32)
    coo = coo.sort_values(["gene", "feature", "bin"], ignore_index=True)
    changes: dict[str, Any] = {branch: coo}
    if branch == "mrna":
        for name in ("mrna_length", "utr3_start"):
            values = np.empty(len(data.genes), dtype=np.int64)
            values[perm] = getattr(data, name).reindex(data.genes).to_numpy()
            changes[name] = pd.Series(values, index=list(data.genes), name=name)
    return dataclasses.replace(data, **changes)


def branch_ablation(data: DecodeData, split: Split | None = None, *, cnn_params: dict[str, Any] | None = None,
                    min_genes: int = 30, seed: int = 0, progress: Progress | None = None,
                    should_stop: Callable[[], bool] | None = None) -> pd.DataFrame:
    """Retrain with mRNA or promoter features shuffled across genes (paper Fig. 3a).

    Parameters
    ----------
    data : DecodeData
        The binding data.
    split : Split, optional
        Default :func:`~core.decode.features.make_split`.
    cnn_params : dict, optional
        :class:`DecodeCNN` hyperparameters.
    min_genes : int
        Feature filter (see :func:`train_decode`).
    seed : int
        Seed of the shuffles.
    progress, should_stop : callable, optional
        Progress callback and cancellation poll.

    Returns
    -------
    DataFrame
        Rows = tasks; columns ``full``, ``mrna_shuffled``, ``promoter_shuffled``:
        test Spearman of the CNN trained on each version (a branch that matters
        loses accuracy when shuffled).
    """
    split = split or make_split(data)
    report = progress or (lambda f, m: None)
    out = {}
    variants = [("full", data), ("mrna_shuffled", shuffle_branch(data, "mrna", seed)),
                ("promoter_shuffled", shuffle_branch(data, "promoter", seed))]
    for i, (name, variant) in enumerate(variants):
        fit = train_decode(variant, split, min_genes=min_genes, cnn=DecodeCNN(**(cnn_params or {})),
                           progress=lambda f, m, i=i, name=name: report((i + f) / 3, f"{name}: {m}"),
                           should_stop=should_stop)
        out[name] = fit.performance["cnn"]
    return pd.DataFrame(out)
