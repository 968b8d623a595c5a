"""Training, prediction, saving and loading of :class:`~core.decode.model.DecodeNet`.

MSE loss, Adam (lr 1e-3), batch 128, at most 100 epochs, early stopping after 10
epochs without a better validation loss, best of ``n_restarts`` random starts:
the published training recipe. Genes of different lengths share a batch through
zero padding plus a length mask.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from core.decode.features import BindingSet, iter_batches
from core.errors import InputError, JobCancelled
from core.estimator_params import DEPRECATED, current_params, labelled, resolved_params

Progress = Callable[[float, str], None]
ARCHITECTURE = ("rna_channels", "promoter_channels", "n_rna_layers", "n_promoter_layers", "hidden", "n_hidden")


class DecodeCNN(RegressorMixin, BaseEstimator):
    """DEcode's convolutional regressor with the scikit-learn estimator contract.

    Parameters
    ----------
    n_restarts : int
        Random restarts; the one with the lowest validation loss is kept (paper: 10).
    max_epochs, patience : int
        At most this many epochs; stop after ``patience`` epochs without improvement.
    batch_size : int
        Mini-batch size.
    learning_rate : float
        Adam learning rate.
    rna_channels, promoter_channels, n_rna_layers, n_promoter_layers, hidden, n_hidden : int
        Architecture (paper: 160, 120, 1, 4, 160, 2).
    random_state : int
        Seeds torch and the batch order; restart ``r`` uses ``random_state + r``.
    n_threads : int or None
        torch intra-op threads during fit / predict (``None`` leaves torch's setting).
    lr, seed
        Deprecated aliases of ``learning_rate`` and ``random_state`` (removed in the next release).

    Attributes
    ----------
    module_ : core.decode.model.DecodeNet
        The network of the best restart (eval mode).
    tasks_ : pandas.Index or None
        Output labels, from the columns of a DataFrame ``y`` (None for an array).
    history_ : list of dict
        One row per epoch and restart.
    best_restart_, best_val_loss_ : int, float
        The restart kept and its validation loss.
    n_tasks_, n_mrna_, n_promoter_ : int
        Outputs and input channels.
    epoch_seconds_ : float
        Mean wall time of an epoch.

    Examples
    --------
    >>> from core.datasets import make_decode_demo
    >>> from core.decode.features import DecodePreprocessor, make_split
    >>> data = make_decode_demo(seed=0, n_genes=120, n_tissues=4)
    >>> split = make_split(data)
    >>> pre = DecodePreprocessor(min_genes=5).fit(data, split.train)
    >>> X, X_val = pre.transform(data, split.train), pre.transform(data, split.validate)
    >>> y = pd.DataFrame(pre.scale_targets(data.targets.loc[split.train]), columns=pre.tasks_)
    >>> y_val = pre.scale_targets(data.targets.loc[split.validate])
    >>> cnn = DecodeCNN(n_restarts=1, max_epochs=2, rna_channels=8, promoter_channels=8, hidden=8,
    ...                 random_state=0).fit(X, y, X_val, y_val)
    >>> predicted = cnn.predict(X_val)  # labelled: genes x tasks
    >>> predicted.shape == (len(split.validate), len(pre.tasks_)), list(predicted.columns) == pre.tasks_
    (True, True)
    """

    def __init__(self, n_restarts: int = 3, max_epochs: int = 100, patience: int = 10, batch_size: int = 128,
                 learning_rate: float = 1e-3, rna_channels: int = 160, promoter_channels: int = 120,
                 n_rna_layers: int = 1, n_promoter_layers: int = 4, hidden: int = 160, n_hidden: int = 2,
                 random_state: int = 0, n_threads: int | None = 1, lr=DEPRECATED, seed=DEPRECATED):
        self.n_restarts = n_restarts
        self.max_epochs = max_epochs
        self.patience = patience
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.rna_channels = rna_channels
        self.promoter_channels = promoter_channels
        self.n_rna_layers = n_rna_layers
        self.n_promoter_layers = n_promoter_layers
        self.hidden = hidden
        self.n_hidden = n_hidden
        self.random_state = random_state
        self.n_threads = n_threads
        self.lr = lr
        self.seed = seed

    def _check(self, learning_rate: float) -> None:
        for name in ("n_restarts", "max_epochs", "batch_size", "rna_channels", "promoter_channels", "hidden"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be at least 1, got {getattr(self, name)}")
        if int(self.patience) < 0 or not float(learning_rate) > 0:
            raise InputError(f"patience must be >= 0 and learning_rate > 0 (got {self.patience}, {learning_rate})")

    def _new_module(self, torch, n_mrna: int, n_promoter: int, n_tasks: int):
        from core.decode.model import DecodeNet

        return DecodeNet(n_mrna, n_promoter, n_tasks, **{k: int(getattr(self, k)) for k in ARCHITECTURE})

    @staticmethod
    def _tensors(torch, X: BindingSet, rows: np.ndarray):
        mrna, promoter, lengths = X.dense(rows)
        return torch.from_numpy(mrna), torch.from_numpy(promoter), torch.from_numpy(lengths)

    def fit(self, X: BindingSet, y: np.ndarray, X_val: BindingSet, y_val: np.ndarray,
            progress: Progress | None = None, should_stop: Callable[[], bool] | None = None) -> "DecodeCNN":
        """Train with early stopping on ``(X_val, y_val)``; keep the best restart.

        Parameters
        ----------
        X, y
            Training binding and scaled targets ``(genes, tasks)``; a
            DataFrame ``y`` names the tasks (``tasks_``) and makes
            :meth:`predict` return labelled frames.
        X_val, y_val
            Validation genes for early stopping and restart selection.
        progress
            Called with (fraction done, message).
        should_stop
            Polled once per epoch; when it returns True, :class:`JobCancelled` is raised.

        Returns
        -------
        DecodeCNN
            ``self``, with ``module_``, ``history_`` (one row per epoch and restart),
            ``best_restart_``, ``best_val_loss_``, ``n_tasks_``, ``n_mrna_``, ``n_promoter_``,
            ``epoch_seconds_``.
        """
        import torch

        learning_rate, seed = resolved_params(self, "learning_rate", "random_state")
        self._check(learning_rate)
        tasks = y.columns if isinstance(y, pd.DataFrame) else None
        y = np.asarray(y, dtype=np.float32)
        y_val = np.asarray(y_val, dtype=np.float32)
        if y.ndim != 2 or len(y) != len(X) or y_val.shape != (len(X_val), y.shape[1]):
            raise InputError(f"targets do not match the genes: {len(X)} training genes with targets {y.shape}, "
                             f"{len(X_val)} validation genes with targets {y_val.shape}")
        if len(X) < 2 or len(X_val) < 1:
            raise InputError("training needs at least 2 training genes and 1 validation gene")
        if not np.isfinite(y).all() or not np.isfinite(y_val).all():
            raise InputError("targets contain missing or infinite values; remove those genes first")
        old_threads = torch.get_num_threads()
        if self.n_threads:
            torch.set_num_threads(int(self.n_threads))
        try:
            self.n_tasks_, self.n_mrna_, self.n_promoter_ = y.shape[1], X.n_mrna, X.n_promoter
            self.tasks_ = tasks
            val_batches = list(iter_batches(len(X_val), 512, X_val.mrna_length))
            val_tensors = [(self._tensors(torch, X_val, b), torch.from_numpy(y_val[b])) for b in val_batches]
            yt = torch.from_numpy(y)
            history, best = [], (np.inf, None, -1)
            total = int(self.n_restarts) * int(self.max_epochs)
            epoch_times = []
            for restart in range(int(self.n_restarts)):
                torch.manual_seed(int(seed) + restart)
                rng = np.random.default_rng(int(seed) + restart)
                module = self._new_module(torch, X.n_mrna, X.n_promoter, y.shape[1])
                optim = torch.optim.Adam(module.parameters(), lr=float(learning_rate))
                loss_fn = torch.nn.MSELoss()
                run_best, run_state, waited = np.inf, None, 0
                for epoch in range(int(self.max_epochs)):
                    if should_stop is not None and should_stop():
                        raise JobCancelled("training cancelled")
                    started = time.perf_counter()
                    module.train()
                    train_loss, seen = 0.0, 0
                    for rows in iter_batches(len(X), int(self.batch_size), X.mrna_length, rng):
                        if len(rows) < 2:  # BatchNorm needs two samples in training mode
                            continue
                        m, p, ln = self._tensors(torch, X, rows)
                        optim.zero_grad()
                        loss = loss_fn(module(m, p, ln), yt[rows])
                        loss.backward()
                        optim.step()
                        train_loss += float(loss.detach()) * len(rows)
                        seen += len(rows)
                    module.eval()
                    with torch.no_grad():
                        val_loss = sum(float(((module(*t) - yy) ** 2).sum()) for t, yy in val_tensors)
                    val_loss /= y_val.size
                    epoch_times.append(time.perf_counter() - started)
                    history.append({"restart": restart, "epoch": epoch, "train_loss": train_loss / max(seen, 1),
                                    "val_loss": val_loss})
                    if val_loss < run_best - 1e-7:
                        run_best, waited = val_loss, 0
                        run_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
                    else:
                        waited += 1
                    if progress is not None:
                        progress((restart * int(self.max_epochs) + epoch + 1) / total,
                                 f"restart {restart + 1}/{self.n_restarts}, epoch {epoch + 1}: "
                                 f"validation loss {val_loss:.3f}")
                    if waited >= int(self.patience):
                        break
                if run_best < best[0]:
                    best = (run_best, run_state, restart)
            module = self._new_module(torch, X.n_mrna, X.n_promoter, y.shape[1])
            module.load_state_dict(best[1])
            module.eval()
            self.module_ = module
            self.best_val_loss_, self.best_restart_ = float(best[0]), int(best[2])
            self.history_ = history
            self.epoch_seconds_ = float(np.mean(epoch_times)) if epoch_times else 0.0
        finally:
            torch.set_num_threads(old_threads)
        return self

    def _fitted(self):
        check_is_fitted(self, "module_", msg="the DEcode model is not trained yet; train it first")
        return self.module_

    def predict(self, X: BindingSet, batch_size: int = 512) -> np.ndarray | pd.DataFrame:
        """Scaled predictions ``(genes, tasks)`` in the order of ``X.genes``.

        Parameters
        ----------
        X : BindingSet
            Binding of the genes to predict.
        batch_size : int
            Genes per forward pass.

        Returns
        -------
        pandas.DataFrame or ndarray
            A frame indexed by ``X.genes`` with columns ``tasks_`` when the
            model was fitted on a DataFrame ``y``, else an array.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        import torch

        module = self._fitted()
        out = np.zeros((len(X), self.n_tasks_), dtype=np.float32)
        with torch.no_grad():
            for rows in iter_batches(len(X), batch_size, X.mrna_length):
                out[rows] = module(*self._tensors(torch, X, rows)).numpy()
        if getattr(self, "tasks_", None) is None:
            return out
        return labelled(out, pd.Index(list(X.genes), name="gene"), self.tasks_)

    def predict_dense(self, mrna: np.ndarray, promoter: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Scaled predictions from dense, already scaled arrays (one forward pass).

        Parameters
        ----------
        mrna, promoter : ndarray
            Scaled ``(genes, mRNA features, bins)`` and ``(genes, promoter features, 30)``.
        lengths : ndarray
            Transcript bins per gene.
        """
        import torch

        module = self._fitted()
        with torch.no_grad():
            return module(torch.as_tensor(mrna, dtype=torch.float32), torch.as_tensor(promoter, dtype=torch.float32),
                          torch.as_tensor(lengths, dtype=torch.int64)).numpy()

    # --- persistence (torch.save of the state dict; loaded with weights_only=True) ---
    def _config(self) -> dict[str, Any]:
        return {"params": self.get_params(), "tasks": None if self.tasks_ is None else list(map(str, self.tasks_)),
                "n_tasks": self.n_tasks_, "n_mrna": self.n_mrna_,
                "n_promoter": self.n_promoter_, "best_val_loss": self.best_val_loss_,
                "best_restart": self.best_restart_, "epoch_seconds": self.epoch_seconds_}

    def to_bytes(self) -> tuple[bytes, dict[str, Any]]:
        """``torch.save`` bytes of the state dict and a JSON-able config."""
        import torch

        buffer = io.BytesIO()
        torch.save(self._fitted().state_dict(), buffer)
        return buffer.getvalue(), self._config()

    @classmethod
    def from_bytes(cls, raw: bytes, config: dict[str, Any]) -> "DecodeCNN":
        """Inverse of :meth:`to_bytes` (``torch.load(weights_only=True)``: no code runs).

        Parameters
        ----------
        raw : bytes
            ``torch.save`` bytes of the state dict.
        config : dict
            The config of :meth:`to_bytes` (hyperparameters saved under old names are renamed).
        """
        import torch

        self = cls(**current_params(config["params"], cls._get_param_names()))
        tasks = config.get("tasks")
        self.tasks_ = None if tasks is None else pd.Index(tasks)
        self.n_tasks_, self.n_mrna_, self.n_promoter_ = config["n_tasks"], config["n_mrna"], config["n_promoter"]
        self.best_val_loss_, self.best_restart_ = config["best_val_loss"], config["best_restart"]
        self.epoch_seconds_ = config.get("epoch_seconds", 0.0)
        self.history_ = []
        module = self._new_module(torch, self.n_mrna_, self.n_promoter_, self.n_tasks_)
        module.load_state_dict(torch.load(io.BytesIO(raw), weights_only=True))
        module.eval()
        self.module_ = module
        return self

    def save(self, folder: str | Path) -> Path:
        """Write ``weights.pt`` (state dict) and ``config.json`` into ``folder``.

        Parameters
        ----------
        folder : str or Path
            Output folder (created).
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        raw, config = self.to_bytes()
        (folder / "weights.pt").write_bytes(raw)
        (folder / "config.json").write_text(json.dumps(config))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "DecodeCNN":
        """Read a model written by :meth:`save`.

        Parameters
        ----------
        folder : str or Path
            A folder written by :meth:`save`.
        """
        folder = Path(folder)
        if not (folder / "weights.pt").is_file() or not (folder / "config.json").is_file():
            raise InputError(f"{folder} holds no saved DEcode model (weights.pt and config.json)")
        return cls.from_bytes((folder / "weights.pt").read_bytes(), json.loads((folder / "config.json").read_text()))
