"""FunDNN estimator: network embedding -> landmark signature of one perturbation type."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from core.errors import InputError
from core.transcriptionnet.training import fit_module

Progress = Callable[[float, str], None]


def check_xy(x, y=None, what: str = "embedding") -> tuple[np.ndarray, np.ndarray | None]:
    """Validate a feature matrix (and targets with the same rows) as finite float32 arrays."""
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


class SignatureScaler:
    """Min-max scaling of each landmark to [-1, 1], fitted on training genes only."""

    def fit(self, y: np.ndarray) -> "SignatureScaler":
        self.min_ = y.min(axis=0).astype(np.float32)
        self.range_ = (y.max(axis=0) - self.min_).astype(np.float32)
        self.range_[self.range_ <= 0] = 1.0
        return self

    def transform(self, y: np.ndarray) -> np.ndarray:
        return (2.0 * (np.asarray(y, np.float32) - self.min_) / self.range_ - 1.0).astype(np.float32)

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        return ((np.asarray(z, np.float32) + 1.0) * 0.5 * self.range_ + self.min_).astype(np.float32)


class FunDNNRegressor:
    """FunDNN (TranscriptionNet): a 1024-wide MLP from a gene's network embedding to its signature.

    Parameters
    ----------
    hidden
        Width of the hidden layers (1024 as published).
    dropout
        Dropout after each LeakyReLU layer (0.1 as published).
    lr, weight_decay
        Adam step size and L2 penalty.
    batch_size
        Genes per mini-batch.
    max_epochs, patience
        Training stops ``patience`` epochs after the best validation loss (early stopping); the best
        weights are kept.
    validation_fraction
        Share of training genes held out for early stopping when ``fit`` gets no validation set.
    seed
        Seed of weight initialisation, shuffling and the internal validation split.

    Attributes
    ----------
    model_ : FunDNN
        The trained network (eval mode).
    x_mean_, x_scale_ : ndarray
        Standardisation of the embedding, fitted on training genes.
    scaler_ : SignatureScaler
        Per-landmark [-1, 1] scaling of the targets, fitted on training genes.
    history_ : list of (train_loss, valid_loss)
    best_epoch_ : int
    """

    def __init__(self, hidden: int = 1024, dropout: float = 0.1, lr: float = 1e-4, weight_decay: float = 0.0,
                 batch_size: int = 32, max_epochs: int = 150, patience: int = 15,
                 validation_fraction: float = 0.15, seed: int = 0):
        self.hidden = hidden
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.seed = seed

    def _scale_x(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.x_mean_) / self.x_scale_).astype(np.float32)

    def fit(self, x, y, x_valid=None, y_valid=None, progress: Progress | None = None) -> "FunDNNRegressor":
        """Train on ``x`` (genes x embedding) -> ``y`` (genes x landmarks, original units).

        Early stopping uses ``(x_valid, y_valid)`` when given, else a random ``validation_fraction``
        of the training genes. Never pass test genes as the validation set.
        """
        import torch

        from core.transcriptionnet.model import FunDNN, signature_loss

        x, y = check_xy(x, y)
        if self.max_epochs < 1 or self.batch_size < 2 or self.hidden < 1:
            raise InputError("max_epochs must be >= 1, batch_size >= 2 and hidden >= 1")
        if x_valid is None:
            if x.shape[0] < 10:
                raise InputError(f"at least 10 training genes are needed, got {x.shape[0]}")
            perm = np.random.default_rng(self.seed).permutation(x.shape[0])
            n_valid = max(2, int(round(self.validation_fraction * x.shape[0])))
            x, x_valid, y, y_valid = x[perm[n_valid:]], x[perm[:n_valid]], y[perm[n_valid:]], y[perm[:n_valid]]
        x_valid, y_valid = check_xy(x_valid, y_valid, "validation embedding")
        self.x_mean_ = x.mean(axis=0)
        self.x_scale_ = x.std(axis=0)
        self.x_scale_[self.x_scale_ <= 1e-12] = 1.0
        self.scaler_ = SignatureScaler().fit(y)
        torch.manual_seed(self.seed)
        self.model_ = FunDNN(x.shape[1], y.shape[1], self.hidden, self.dropout)

        def forward(module, xb, yb):
            return signature_loss(module(xb), yb)

        info = fit_module(
            self.model_, forward, [self._scale_x(x), self.scaler_.transform(y)],
            [self._scale_x(x_valid), self.scaler_.transform(y_valid)],
            lr=self.lr, weight_decay=self.weight_decay, batch_size=self.batch_size, max_epochs=self.max_epochs,
            patience=self.patience, seed=self.seed, progress=progress, label="FunDNN",
        )
        self.history_, self.best_epoch_ = info["history"], info["best_epoch"]
        self.n_features_in_ = x.shape[1]
        return self

    def predict_scaled(self, x) -> np.ndarray:
        """Predictions in the [-1, 1] training scale."""
        import torch

        x, _ = check_xy(x)
        if x.shape[1] != self.n_features_in_:
            raise InputError(f"the embedding has {x.shape[1]} dimensions, the model was trained on "
                             f"{self.n_features_in_}")
        with torch.no_grad():
            return self.model_(torch.as_tensor(self._scale_x(x))).numpy()

    def predict(self, x) -> np.ndarray:
        """Predicted signatures in the original units of the training targets."""
        return self.scaler_.inverse_transform(self.predict_scaled(x))

    def save(self, path: str | Path) -> None:
        """Weights and scalers as tensors (``torch.save``; nothing else is pickled)."""
        import torch

        torch.save({
            "state_dict": self.model_.state_dict(),
            "x_mean": torch.as_tensor(self.x_mean_), "x_scale": torch.as_tensor(self.x_scale_),
            "y_min": torch.as_tensor(self.scaler_.min_), "y_range": torch.as_tensor(self.scaler_.range_),
            "config": {"hidden": self.hidden, "dropout": self.dropout, "n_inputs": int(self.n_features_in_),
                       "n_outputs": int(self.scaler_.min_.size)},
        }, path)

    @classmethod
    def load(cls, path: str | Path) -> "FunDNNRegressor":
        """Load a model written by :meth:`save` (``weights_only=True``)."""
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
        return est
