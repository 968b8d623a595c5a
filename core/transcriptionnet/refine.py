"""Estimator around :class:`core.transcriptionnet.model.CrossTypeRefiner` (GenSAN-like refinement)."""

from __future__ import annotations

from typing import Callable

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from core.errors import InputError
from core.estimator_params import DEPRECATED, resolved_params
from core.transcriptionnet.training import fit_module

Progress = Callable[[float, str], None]


class CrossTypeRefinerRegressor(RegressorMixin, BaseEstimator):
    """Refine one type's predicted signature from all three types' signatures with attention.

    Inputs are scaled signatures ``(genes, types, landmarks)`` and flags ``(genes, types)``
    (1 = measured, 0 = predicted); the target type's slice is the base prediction to refine.
    The inputs are three-dimensional, so ``predict`` returns arrays (no pandas labels to keep).

    Parameters
    ----------
    target : int
        Index of the type being refined.
    d_model, n_heads : int
        Size of the attention block.
    dropout : float
        Dropout of the attention block.
    learning_rate, weight_decay : float
        Adam step size and L2 penalty.
    batch_size, max_epochs, patience : int
        Training (Adam, early stopping on the validation genes).
    random_state : int
        Seed of the initialisation and the batches.
    lr, seed
        Deprecated aliases of ``learning_rate`` and ``random_state`` (removed in the next release).

    Attributes
    ----------
    model_ : CrossTypeRefiner
    history_ : list of (train_loss, valid_loss)
    best_epoch_ : int
    """

    def __init__(self, target: int = 0, d_model: int = 128, n_heads: int = 4, dropout: float = 0.1,
                 learning_rate: float = 3e-4, weight_decay: float = 1e-4, batch_size: int = 32, max_epochs: int = 100,
                 patience: int = 10, random_state: int = 0, lr=DEPRECATED, seed=DEPRECATED):
        self.target = target
        self.d_model = d_model
        self.n_heads = n_heads
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.random_state = random_state
        self.lr = lr
        self.seed = seed

    @staticmethod
    def _check(signatures, measured) -> tuple[np.ndarray, np.ndarray]:
        s = np.asarray(signatures, dtype=np.float32)
        m = np.asarray(measured, dtype=np.int64)
        if s.ndim != 3 or m.shape != s.shape[:2]:
            raise InputError(f"refiner inputs must be genes x types x landmarks with genes x types flags; "
                             f"got {s.shape} and {m.shape}")
        if not np.isfinite(s).all():
            raise InputError("refiner inputs contain missing or infinite values")
        return s, m

    def fit(self, signatures, measured, y, signatures_valid, measured_valid, y_valid,
            progress: Progress | None = None) -> "CrossTypeRefinerRegressor":
        """Train on scaled inputs and scaled targets; early stopping on the validation genes.

        Parameters
        ----------
        signatures, measured : array-like
            Scaled signatures ``(genes, types, landmarks)`` and measured flags ``(genes, types)``.
        y : array-like
            Scaled target signatures ``(genes, landmarks)``.
        signatures_valid, measured_valid, y_valid : array-like
            The same for the validation genes.
        progress : callable, optional
            Told ``(fraction, message)`` once an epoch.

        Returns
        -------
        CrossTypeRefinerRegressor
            The fitted refiner (``self``).
        """
        import torch

        from core.transcriptionnet.model import CrossTypeRefiner, signature_loss

        learning_rate, seed = resolved_params(self, "learning_rate", "random_state")

        s, m = self._check(signatures, measured)
        sv, mv = self._check(signatures_valid, measured_valid)
        if not 0 <= self.target < s.shape[1]:
            raise InputError(f"target type index {self.target} is out of range for {s.shape[1]} types")
        torch.manual_seed(seed)
        self.model_ = CrossTypeRefiner(s.shape[2], s.shape[1], self.d_model, self.n_heads, self.dropout)
        target = self.target

        def forward(module, sb, mb, yb):
            return signature_loss(module(sb, mb, target), yb)

        info = fit_module(self.model_, forward, [s, m, np.asarray(y, np.float32)],
                          [sv, mv, np.asarray(y_valid, np.float32)], lr=learning_rate, weight_decay=self.weight_decay,
                          batch_size=self.batch_size, max_epochs=self.max_epochs, patience=self.patience,
                          seed=seed, progress=progress, label="cross-type refiner")
        self.history_, self.best_epoch_ = info["history"], info["best_epoch"]
        return self

    def predict(self, signatures, measured) -> np.ndarray:
        """Refined signatures of the target type (scaled).

        Parameters
        ----------
        signatures, measured : array-like
            Scaled signatures ``(genes, types, landmarks)`` and measured flags ``(genes, types)``.

        Returns
        -------
        ndarray
            ``(genes, landmarks)``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        import torch

        check_is_fitted(self, "model_", msg="this refiner is not trained yet; call fit first")

        s, m = self._check(signatures, measured)
        with torch.no_grad():
            return self.model_(torch.as_tensor(s), torch.as_tensor(m), self.target).numpy()

    def attention(self, signatures, measured) -> np.ndarray:
        """Attention weights (genes x types x types), averaged over heads.

        Parameters
        ----------
        signatures, measured : array-like
            As in :meth:`predict`.

        Returns
        -------
        ndarray
        """
        import torch

        check_is_fitted(self, "model_", msg="this refiner is not trained yet; call fit first")

        s, m = self._check(signatures, measured)
        with torch.no_grad():
            return self.model_(torch.as_tensor(s), torch.as_tensor(m), self.target, return_attention=True)[1].numpy()
