"""FunDNN estimator: network embedding -> landmark signature of one perturbation type."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from core.errors import InputError
from core.estimator_params import DEPRECATED, labelled, resolved_params
from core.transcriptionnet.training import fit_module

Progress = Callable[[float, str], None]


def check_xy(x, y=None, what: str = "embedding") -> tuple[np.ndarray, np.ndarray | None]:
    """Validate a feature matrix (and targets with the same rows) as finite float32 arrays.

    Parameters
    ----------
    x : array-like
        Genes x features.
    y : array-like, optional
        Targets with the same rows.
    what : str
        What ``x`` is, for messages.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] == 0:
        raise InputError(f"the {what} must be a non-empty genes x dimensions matrix, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise InputError(f"the {what} contains missing or infinite values")
    if y is None:
        return x, None
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 2 or y.shape[0] != x.shape[0]:
        raise InputError(f"signatures must be genes x landmarks with one row per {what} row; "
                         f"got {y.shape} for {x.shape[0]} genes")
    if not np.isfinite(y).all():
        raise InputError("signatures contain missing or infinite values")
    return x, y


def _as_2d(y):
    """One value per gene as a one-column matrix (scikit-learn's single-output ``y``)."""
    return None if y is None else (np.asarray(y)[:, None] if np.ndim(y) == 1 else y)


class SignatureScaler:
    """Min-max scaling of each landmark to [-1, 1], fitted on training genes only."""

    def fit(self, y: np.ndarray) -> "SignatureScaler":
        """Learn each landmark's minimum and range.

        Parameters
        ----------
        y : ndarray
            Genes x landmarks.
        """
        self.min_ = y.min(axis=0).astype(np.float32)
        self.range_ = (y.max(axis=0) - self.min_).astype(np.float32)
        self.range_[self.range_ <= 0] = 1.0
        return self

    def transform(self, y: np.ndarray) -> np.ndarray:
        """Scale to [-1, 1] per landmark.

        Parameters
        ----------
        y : array-like
            Genes x landmarks in original units.
        """
        return (2.0 * (np.asarray(y, np.float32) - self.min_) / self.range_ - 1.0).astype(np.float32)

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        """Back to the original units.

        Parameters
        ----------
        z : array-like
            Scaled values.
        """
        return ((np.asarray(z, np.float32) + 1.0) * 0.5 * self.range_ + self.min_).astype(np.float32)


class FunDNNRegressor(RegressorMixin, BaseEstimator):
    """FunDNN (TranscriptionNet): a 1024-wide MLP from a gene's network embedding to its signature.

    Parameters
    ----------
    hidden : int
        Width of the hidden layers (1024 as published).
    dropout : float
        Dropout after each LeakyReLU layer (0.1 as published).
    learning_rate, weight_decay : float
        Adam step size and L2 penalty.
    batch_size : int
        Genes per mini-batch.
    max_epochs, patience : int
        Training stops ``patience`` epochs after the best validation loss (early stopping); the best
        weights are kept.
    validation_fraction : float
        Share of training genes held out for early stopping when ``fit`` gets no validation set.
    random_state : int
        Seed of weight initialisation, shuffling and the internal validation split.
    lr, seed
        Deprecated aliases of ``learning_rate`` and ``random_state`` (removed in the next release).

    Attributes
    ----------
    model_ : FunDNN
        The trained network (eval mode).
    x_mean_, x_scale_ : ndarray
        Standardisation of the embedding, fitted on training genes.
    scaler_ : SignatureScaler
        Per-landmark [-1, 1] scaling of the targets, fitted on training genes.
    landmarks_ : pandas.Index or None
        Output labels, the columns of a DataFrame ``y`` (None for an array).
    n_features_in_ : int
        Embedding dimensions.
    history_ : list of (train_loss, valid_loss)
    best_epoch_ : int

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = pd.DataFrame(rng.normal(size=(40, 4)), index=[f"G{i}" for i in range(40)])
    >>> y = pd.DataFrame(x.to_numpy() @ rng.normal(size=(4, 3)), index=x.index, columns=["L1", "L2", "L3"])
    >>> model = FunDNNRegressor(hidden=16, max_epochs=5, random_state=0).fit(x, y)
    >>> model.predict(x.iloc[:2])  # doctest: +ELLIPSIS
              L1        L2        L3
    G0 ...
    G1 ...
    """

    def __init__(self, hidden: int = 1024, dropout: float = 0.1, learning_rate: float = 1e-4,
                 weight_decay: float = 0.0, batch_size: int = 32, max_epochs: int = 150, patience: int = 15,
                 validation_fraction: float = 0.15, random_state: int = 0, lr=DEPRECATED, seed=DEPRECATED):
        self.hidden = hidden
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.lr = lr
        self.seed = seed

    def _scale_x(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.x_mean_) / self.x_scale_).astype(np.float32)

    def fit(self, x, y, x_valid=None, y_valid=None, progress: Progress | None = None) -> "FunDNNRegressor":
        """Train on ``x`` (genes x embedding) -> ``y`` (genes x landmarks, original units).

        Early stopping uses ``(x_valid, y_valid)`` when given, else a random ``validation_fraction``
        of the training genes. Never pass test genes as the validation set.

        Parameters
        ----------
        x : array-like or DataFrame
            Genes x embedding dimensions.
        y : array-like or DataFrame
            Genes x landmarks (a DataFrame names the landmarks: ``landmarks_``), or one value per gene.
        x_valid, y_valid : array-like, optional
            Validation genes for early stopping.
        progress : callable, optional
            ``progress(fraction, message)`` after every epoch.

        Returns
        -------
        FunDNNRegressor
            ``self``.
        """
        import torch

        from core.transcriptionnet.model import FunDNN, signature_loss

        learning_rate, seed = resolved_params(self, "learning_rate", "random_state")
        landmarks, single_output = (y.columns if isinstance(y, pd.DataFrame) else None), np.ndim(y) == 1
        x, y = check_xy(x, _as_2d(y))
        if self.max_epochs < 1 or self.batch_size < 2 or self.hidden < 1:
            raise InputError("max_epochs must be >= 1, batch_size >= 2 and hidden >= 1")
        if x_valid is None:
            if x.shape[0] < 10:
                raise InputError(f"at least 10 training genes are needed, got {x.shape[0]}")
            perm = np.random.default_rng(seed).permutation(x.shape[0])
            n_valid = max(2, int(round(self.validation_fraction * x.shape[0])))
            x, x_valid, y, y_valid = x[perm[n_valid:]], x[perm[:n_valid]], y[perm[n_valid:]], y[perm[:n_valid]]
        x_valid, y_valid = check_xy(x_valid, _as_2d(y_valid), "validation embedding")
        self.x_mean_ = x.mean(axis=0)
        self.x_scale_ = x.std(axis=0)
        self.x_scale_[self.x_scale_ <= 1e-12] = 1.0
        self.scaler_ = SignatureScaler().fit(y)
        torch.manual_seed(seed)
        self.model_ = FunDNN(x.shape[1], y.shape[1], self.hidden, self.dropout)

        def forward(module, xb, yb):
            return signature_loss(module(xb), yb)

        info = fit_module(
            self.model_, forward, [self._scale_x(x), self.scaler_.transform(y)],
            [self._scale_x(x_valid), self.scaler_.transform(y_valid)],
            lr=learning_rate, weight_decay=self.weight_decay, batch_size=self.batch_size,
            max_epochs=self.max_epochs, patience=self.patience, seed=seed, progress=progress, label="FunDNN",
        )
        self.history_, self.best_epoch_ = info["history"], info["best_epoch"]
        self.n_features_in_, self.landmarks_, self.single_output_ = x.shape[1], landmarks, single_output
        return self

    def predict_scaled(self, x) -> np.ndarray:
        """Predictions in the [-1, 1] training scale.

        Parameters
        ----------
        x : array-like
            Genes x embedding dimensions.

        Returns
        -------
        ndarray
            Genes x landmarks.
        """
        import torch

        check_is_fitted(self, "model_", msg="this FunDNN model is not trained yet; call fit first")
        x, _ = check_xy(x)
        if x.shape[1] != self.n_features_in_:
            raise InputError(f"the embedding has {x.shape[1]} dimensions, the model was trained on "
                             f"{self.n_features_in_}")
        with torch.no_grad():
            return self.model_(torch.as_tensor(self._scale_x(x))).numpy()

    def predict(self, x) -> np.ndarray | pd.DataFrame:
        """Predicted signatures in the original units of the training targets.

        Parameters
        ----------
        x : array-like or DataFrame
            Genes x embedding dimensions.

        Returns
        -------
        ndarray or pandas.DataFrame
            Genes x landmarks; a DataFrame ``x`` gives a frame with its index
            and the landmarks as columns (``landmarks_``, else 0, 1, ...).
            A model fitted on one value per gene predicts one value per gene.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        scaled = self.predict_scaled(x)
        values = self.scaler_.inverse_transform(scaled)
        if isinstance(x, pd.DataFrame):
            columns = self.landmarks_ if getattr(self, "landmarks_", None) is not None else range(values.shape[1])
            return labelled(values, x.index, columns)
        return values[:, 0] if self.single_output_ else values

    def save(self, path: str | Path) -> None:
        """Weights and scalers as tensors (``torch.save``; nothing else is pickled).

        Parameters
        ----------
        path : str or Path
            Output file.
        """
        import torch

        check_is_fitted(self, "model_")
        torch.save({
            "state_dict": self.model_.state_dict(),
            "x_mean": torch.as_tensor(self.x_mean_), "x_scale": torch.as_tensor(self.x_scale_),
            "y_min": torch.as_tensor(self.scaler_.min_), "y_range": torch.as_tensor(self.scaler_.range_),
            "config": {"hidden": self.hidden, "dropout": self.dropout, "n_inputs": int(self.n_features_in_),
                       "n_outputs": int(self.scaler_.min_.size), "single_output": bool(self.single_output_),
                       "landmarks": None if self.landmarks_ is None else [str(c) for c in self.landmarks_]},
        }, path)

    @classmethod
    def load(cls, path: str | Path) -> "FunDNNRegressor":
        """Load a model written by :meth:`save` (``weights_only=True``).

        Parameters
        ----------
        path : str or Path
            A file written by :meth:`save`.
        """
        import torch

        from core.transcriptionnet.model import FunDNN

        blob = torch.load(path, weights_only=True)
        config = blob["config"]
        est = cls(hidden=config["hidden"], dropout=config["dropout"])
        est.model_ = FunDNN(config["n_inputs"], config["n_outputs"], config["hidden"], config["dropout"])
        est.model_.load_state_dict(blob["state_dict"])
        est.model_.eval()
        est.x_mean_, est.x_scale_ = blob["x_mean"].numpy(), blob["x_scale"].numpy()
        est.scaler_ = SignatureScaler()
        est.scaler_.min_, est.scaler_.range_ = blob["y_min"].numpy(), blob["y_range"].numpy()
        est.n_features_in_ = config["n_inputs"]
        est.single_output_ = bool(config.get("single_output", False))
        est.landmarks_ = None if config.get("landmarks") is None else pd.Index(config["landmarks"])
        return est
