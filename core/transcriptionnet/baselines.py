"""Honest baselines every TranscriptionNet result is shown beside.

* :class:`MeanSignature`: the training-mean signature for every gene.
* :class:`RidgeSignature`: ridge regression on the standardised embedding, penalty chosen by
  efficient leave-one-out cross-validation on the training genes.
* :class:`KNNSignature`: mean signature of the k training genes nearest in the network
  embedding (cosine similarity).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from core.errors import InputError
from core.transcriptionnet.fundnn import check_xy


class MeanSignature(RegressorMixin, BaseEstimator):
    """Predict the training-mean signature for every gene."""

    def fit(self, x, y) -> "MeanSignature":
        """Learn the training-mean signature."""
        _, y = check_xy(x, y)
        self.mean_ = y.mean(axis=0)
        return self

    def predict(self, x) -> np.ndarray:
        """The training mean for every row of ``x``."""
        check_is_fitted(self, "mean_")
        x, _ = check_xy(x)
        return np.repeat(self.mean_[None, :], x.shape[0], axis=0)


class RidgeSignature(RegressorMixin, BaseEstimator):
    """Ridge regression from the standardised embedding to all landmarks (one penalty, LOO-chosen).

    Parameters
    ----------
    alphas
        Candidate penalties; the one with the lowest leave-one-out error on training genes wins.
    """

    def __init__(self, alphas: tuple[float, ...] = tuple(np.logspace(-1, 5, 13))):
        self.alphas = alphas

    def fit(self, x, y) -> "RidgeSignature":
        """Standardise the embedding and fit ridge with the leave-one-out penalty."""
        from sklearn.linear_model import RidgeCV

        x, y = check_xy(x, y)
        self.x_mean_, self.x_scale_ = x.mean(axis=0), x.std(axis=0)
        self.x_scale_[self.x_scale_ <= 1e-12] = 1.0
        self.model_ = RidgeCV(alphas=self.alphas).fit((x - self.x_mean_) / self.x_scale_, y)
        self.alpha_ = float(self.model_.alpha_)
        return self

    def predict(self, x) -> np.ndarray:
        """Ridge predictions, genes x landmarks."""
        check_is_fitted(self, "model_")
        x, _ = check_xy(x)
        return self.model_.predict((x - self.x_mean_) / self.x_scale_).astype(np.float32)


class KNNSignature(RegressorMixin, BaseEstimator):
    """Mean signature of the ``k`` training genes most similar in the embedding (cosine).

    Parameters
    ----------
    k
        Number of neighbours.
    """

    def __init__(self, k: int = 10):
        self.k = k

    def fit(self, x, y) -> "KNNSignature":
        """Keep the training genes' unit embeddings and signatures."""
        x, y = check_xy(x, y)
        if self.k < 1:
            raise InputError(f"k must be at least 1, got {self.k}")
        self.x_mean_ = x.mean(axis=0)
        self.train_ = self._unit(x)
        self.y_ = y
        return self

    def _unit(self, x: np.ndarray) -> np.ndarray:
        centred = x - self.x_mean_
        norms = np.linalg.norm(centred, axis=1, keepdims=True)
        return centred / np.where(norms > 0, norms, 1.0)

    def neighbours(self, x, exclude_self: bool = False) -> np.ndarray:
        """Indices of the k nearest training genes (rows of the training set) for each row of x.

        Parameters
        ----------
        x : array-like
            Genes x embedding dimensions.
        exclude_self : bool
            Skip training genes identical to the query (cosine 1).
        """
        check_is_fitted(self, "train_")
        x, _ = check_xy(x)
        sim = self._unit(x) @ self.train_.T
        if exclude_self:
            sim[sim > 1 - 1e-6] = -np.inf
        k = min(self.k, self.train_.shape[0])
        return np.argsort(-sim, axis=1)[:, :k]

    def predict(self, x) -> np.ndarray:
        """Mean signature of each row's nearest training genes."""
        neighbours = self.neighbours(x)
        return self.y_[neighbours].mean(axis=1)
