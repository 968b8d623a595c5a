"""The DKO estimator: trains :class:`core.dko.model.AssemblageNet` the authors' way.

Faithful to ``train_reptile`` in the authors' notebooks: Adam with learning
rate 0.01, minibatches of 20 training cells drawn without replacement at every
step, the loss is the sum over the minibatch of Bray-Curtis dissimilarities, the
validation Bray-Curtis (mean over a 20 % split of the cells) is computed before
each update and the parameters with the lowest one are kept. The authors run
5,000 steps ("epochs", one minibatch each). Differences, all deliberate: the
minibatch is evaluated as one batch instead of a Python loop (same numbers), the
split, initialisation and minibatches are seeded, and ``val_every`` can thin out
the validation for large data (1 = the authors' behaviour).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from core.dko.data import as_matrix, assemblages, check_values, profiles
from core.errors import InputError
from core.estimator_params import DEPRECATED, current_params, resolved_params

Progress = Callable[[float, str], None]


class DKO(BaseEstimator):
    """Assemblage-to-profile model of DKO (He, Klein, Levy & Wang 2025).

    Parameters
    ----------
    n_steps : int
        Optimiser steps, one minibatch each (the authors' ``max_epochs``, 5,000).
    batch_size : int
        Cells per minibatch (20).
    learning_rate : float
        Adam learning rate (0.01).
    validation_fraction : float
        Fraction of the cells held out to choose the best parameters (0.2).
    val_every : int
        Evaluate the validation loss every this many steps (1 as the authors).
    random_state : int
        Seed of the split, the initialisation and the minibatches.
    val_fraction, seed
        Deprecated aliases of ``validation_fraction`` and ``random_state``
        (removed in the next release).

    Attributes
    ----------
    genes_ : pandas.Index
        Genes in model order, as text.
    module_ : core.dko.model.AssemblageNet
        The network with the best validation parameters.
    train_cells_, val_cells_ : pandas.Index
        The cells used for the updates and for choosing the parameters.
    history_ : pandas.DataFrame
        ``step, train_loss, val_loss`` (mean Bray-Curtis per cell).
    best_step_ : int
        Step whose parameters were kept.
    best_val_loss_ : float
        Their mean validation Bray-Curtis.
    fit_seconds_ : float
        Wall time of :meth:`fit`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from core.dko import DKO, knockout_impacts
    >>> rng = np.random.default_rng(0)
    >>> P = pd.DataFrame(rng.random((5, 30)) * (rng.random((5, 30)) < 0.7))  # genes x cells, as read_csv(header=None)
    >>> model = DKO(n_steps=50, random_state=0).fit(P)
    >>> model.predict(P).shape
    (5, 30)
    >>> bool(np.allclose(model.predict(P).sum(axis=0), 1.0))
    True
    """

    def __init__(self, n_steps: int = 5000, batch_size: int = 20, learning_rate: float = 0.01,
                 validation_fraction: float = 0.2, val_every: int = 1, random_state: int = 0,
                 val_fraction=DEPRECATED, seed=DEPRECATED):
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.val_every = val_every
        self.random_state = random_state
        self.val_fraction = val_fraction
        self.seed = seed

    def _check_params(self, n_cells: int, validation_fraction: float) -> None:
        if int(self.n_steps) < 1:
            raise InputError(f"n_steps must be at least 1, got {self.n_steps}")
        if int(self.batch_size) < 1:
            raise InputError(f"batch_size must be at least 1, got {self.batch_size}")
        if not 0 < float(self.learning_rate) < 10:
            raise InputError(f"learning_rate must be in (0, 10), got {self.learning_rate}")
        if not 0 < float(validation_fraction) < 1:
            raise InputError(f"validation_fraction must be between 0 and 1, got {validation_fraction}")
        if int(self.val_every) < 1:
            raise InputError(f"val_every must be at least 1, got {self.val_every}")
        if n_cells < 2:
            raise InputError(f"DKO needs at least 2 cells to train and validate, got {n_cells}")

    def fit(self, P, y=None, progress: Progress | None = None) -> "DKO":
        """Train on a genes x cells expression matrix.

        Parameters
        ----------
        P
            Non-negative expression, genes x cells (DataFrame; an array gets
            names ``gene_1 ...``).
        y
            Ignored (DKO is unsupervised); present for scikit-learn's API.
        progress
            Optional ``progress(fraction, message)``.

        Returns
        -------
        DKO
            ``self``.
        """
        import torch

        from core.dko.model import AssemblageNet

        seed, validation_fraction = resolved_params(self, "random_state", "validation_fraction")
        values, genes, cells = as_matrix(P, source="training expression")
        check_values(values, "training expression")
        n_genes, n_cells = values.shape
        self._check_params(n_cells, validation_fraction)
        started = time.perf_counter()
        rng = np.random.default_rng(seed)
        n_val = min(n_cells - 1, max(1, int(float(validation_fraction) * n_cells)))
        val_idx = np.sort(rng.choice(n_cells, size=n_val, replace=False))
        trn_idx = np.setdiff1d(np.arange(n_cells), val_idx)
        batch = min(int(self.batch_size), trn_idx.size)

        p_all = torch.from_numpy(profiles(values).T.astype(np.float32))
        z_all = torch.from_numpy(assemblages(values).T.astype(np.float32))
        ptrn, ztrn = p_all[trn_idx], z_all[trn_idx]
        pval, zval = p_all[val_idx], z_all[val_idx]

        with torch.random.fork_rng(devices=[]):  # seeded initialisation without touching the global RNG
            torch.manual_seed(int(seed))
            module = AssemblageNet(n_genes)
        optimizer = torch.optim.Adam(module.parameters(), lr=float(self.learning_rate))

        def bc(pred, true):
            return (pred - true).abs().sum(dim=1) / (pred + true).abs().sum(dim=1)

        best_loss, best_step = np.inf, 0
        best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        steps, train_losses, val_losses = [], [], []
        n_steps = int(self.n_steps)
        for step in range(n_steps):
            rows = torch.from_numpy(rng.choice(trn_idx.size, size=batch, replace=False))
            optimizer.zero_grad()
            loss = bc(module(ztrn[rows]), ptrn[rows]).sum()
            if step % int(self.val_every) == 0 or step == n_steps - 1:
                with torch.no_grad():
                    val_loss = float(bc(module(zval), pval).mean())
                steps.append(step)
                train_losses.append(float(loss.item()) / batch)
                val_losses.append(val_loss)
                if val_loss <= best_loss:  # the authors keep the latest of equal optima (<=)
                    best_loss, best_step = val_loss, step
                    best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            loss.backward()
            optimizer.step()
            if progress is not None and (step % 50 == 0 or step == n_steps - 1):
                progress((step + 1) / n_steps, f"training step {step + 1:,}/{n_steps:,}, validation Bray-Curtis "
                                               f"{best_loss:.4f}")
        module.load_state_dict(best_state)
        module.eval()
        self.module_ = module
        self.genes_ = genes
        self.train_cells_ = cells[trn_idx]
        self.val_cells_ = cells[val_idx]
        self.history_ = pd.DataFrame({"step": steps, "train_loss": train_losses, "val_loss": val_losses})
        self.best_step_ = int(best_step)
        self.best_val_loss_ = float(best_loss)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    # --- prediction -------------------------------------------------------

    def _check_fitted(self) -> None:
        check_is_fitted(self, "module_", msg="this DKO model is not trained yet; call fit first")

    def weights(self) -> dict[str, np.ndarray]:
        """The learned parameters as float64 arrays ``W1, b1, W2, b2`` (``h = W2 (W1 z + b1) + b2``)."""
        self._check_fitted()
        state = self.module_.state_dict()
        return {"W1": state["fcc1.weight"].double().numpy().copy(), "b1": state["fcc1.bias"].double().numpy().copy(),
                "W2": state["fcc2.weight"].double().numpy().copy(), "b2": state["fcc2.bias"].double().numpy().copy()}

    def affine(self) -> tuple[np.ndarray, np.ndarray]:
        """``(A, c)`` with ``W2 (W1 z + b1) + b2 = A z + c`` (float64); the basis of fast knockouts."""
        w = self.weights()
        return w["W2"] @ w["W1"], w["W2"] @ w["b1"] + w["b2"]

    def predict(self, P_or_Z) -> pd.DataFrame:
        """Predicted profiles (genes x cells, columns sum to 1).

        Parameters
        ----------
        P_or_Z
            Expression or assemblages, genes x cells; only which entries are
            > 0 matters. A DataFrame is aligned to the model's genes.

        Returns
        -------
        pandas.DataFrame
            Profiles, rows the model's genes in model order, columns the
            cells. Given a DataFrame, the labels are the input's own (an
            integer-labelled frame gives integer labels).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        self._check_fitted()
        values, genes, cells = as_matrix(P_or_Z, genes=self.genes_, source="prediction input", keep_labels=True)
        check_values(values, "prediction input")
        a, c = self.affine()
        z = assemblages(values)
        out = z * np.abs(a @ z + c[:, None])
        return pd.DataFrame(out / out.sum(axis=0, keepdims=True), index=genes, columns=cells)

    # --- persistence --------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Save weights (``torch.save`` of the state_dict) and a JSON sidecar with genes and hyperparameters.

        Parameters
        ----------
        path : str or Path
            Weights file; the sidecar is ``path + ".json"``.
        """
        import torch

        self._check_fitted()
        path = Path(path)
        torch.save(self.module_.state_dict(), path)
        meta = {"params": self.get_params(), "genes": list(map(str, self.genes_)),
                "best_step": self.best_step_, "best_val_loss": self.best_val_loss_}
        path.with_suffix(path.suffix + ".json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, path: str | Path) -> "DKO":
        """Load a model written by :meth:`save` (``weights_only=True``).

        Parameters
        ----------
        path : str or Path
            A file written by :meth:`save`.
        """
        import torch

        path = Path(path)
        meta = json.loads(path.with_suffix(path.suffix + ".json").read_text())
        state = torch.load(path, weights_only=True)
        return cls.from_state(state, meta["genes"], meta["params"], meta.get("best_step", 0),
                              meta.get("best_val_loss", float("nan")))

    @classmethod
    def from_weights(cls, weights: dict[str, np.ndarray], genes, params: dict | None = None,
                     best_step: int = 0, best_val_loss: float = float("nan")) -> "DKO":
        """Rebuild a trained model from :meth:`weights` (e.g. from the artifact store).

        Parameters
        ----------
        weights : dict of ndarray
            ``W1, b1, W2, b2`` as :meth:`weights` gives them.
        genes : sequence of str
            Genes in model order.
        params : dict, optional
            Hyperparameters.
        best_step, best_val_loss
            Training record kept with the weights.
        """
        import torch

        state = {"fcc1.weight": torch.from_numpy(np.asarray(weights["W1"], dtype=np.float32)),
                 "fcc1.bias": torch.from_numpy(np.asarray(weights["b1"], dtype=np.float32)),
                 "fcc2.weight": torch.from_numpy(np.asarray(weights["W2"], dtype=np.float32)),
                 "fcc2.bias": torch.from_numpy(np.asarray(weights["b2"], dtype=np.float32))}
        return cls.from_state(state, genes, params or {}, best_step, best_val_loss)

    @classmethod
    def from_state(cls, state: dict, genes, params: dict, best_step: int, best_val_loss: float) -> "DKO":
        """Rebuild a trained model from a ``state_dict`` (hyperparameters saved under old names are renamed).

        Parameters
        ----------
        state : dict
            ``AssemblageNet`` state dict.
        genes : sequence of str
            Genes in model order.
        params : dict
            Hyperparameters.
        best_step, best_val_loss
            Training record kept with the weights.

        Returns
        -------
        DKO
        """
        from core.dko.model import AssemblageNet

        model = cls(**current_params(params, cls._get_param_names()))
        module = AssemblageNet(len(genes))
        module.load_state_dict(state)
        module.eval()
        model.module_ = module
        model.genes_ = pd.Index(list(genes), name="gene")
        model.best_step_ = int(best_step)
        model.best_val_loss_ = float(best_val_loss)
        return model
