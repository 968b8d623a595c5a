"""The paper's feed-forward network: a pure ``nn.Module`` and its scikit-learn estimator.

Following GEARS' split, :func:`build_network` holds the network (with the
input / output normalisation as buffers, so one ``state_dict`` is the whole
model) and :class:`MLPRegressor` wraps training, prediction, save and load.
torch is imported inside functions so that ``import core`` stays light.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

HIDDEN = (50, 20, 15, 12)
DROPOUT = (0.4, 0.2, 0.1, 0.0)


def build_network(n_features: int, hidden: tuple[int, ...] = HIDDEN, dropout: tuple[float, ...] = DROPOUT):
    """The paper's MLP: Linear-ReLU-Dropout blocks and a linear output.

    The module standardises its inputs and de-standardises its output with
    buffers ``x_mean, x_scale, y_mean, y_scale`` set by the estimator.

    Parameters
    ----------
    n_features : int
        Input width.
    hidden, dropout : tuple
        Layer widths and the dropout after each.
    """
    import torch
    from torch import nn

    class ModifierMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = []
            width = n_features
            for size, rate in zip(hidden, dropout):
                layers += [nn.Linear(width, size), nn.ReLU()]
                if rate > 0:
                    layers.append(nn.Dropout(rate))
                width = size
            layers.append(nn.Linear(width, 1))
            self.body = nn.Sequential(*layers)
            self.register_buffer("x_mean", torch.zeros(n_features))
            self.register_buffer("x_scale", torch.ones(n_features))
            self.register_buffer("y_mean", torch.zeros(()))
            self.register_buffer("y_scale", torch.ones(()))

        def forward_scaled(self, x_scaled):
            return self.body(x_scaled).squeeze(-1)

        def predict_scaled(self, x_scaled):
            """Forward pass without dropout, whatever the module's mode (no train/eval toggling)."""
            for layer in self.body:
                if not isinstance(layer, nn.Dropout):
                    x_scaled = layer(x_scaled)
            return x_scaled.squeeze(-1)

        def forward(self, x):
            return self.forward_scaled((x - self.x_mean) / self.x_scale) * self.y_scale + self.y_mean

    return ModifierMLP()


class MLPRegressor(RegressorMixin, BaseEstimator):
    """Feed-forward regressor of the paper (hidden 50-20-15-12, ReLU, dropout 0.4/0.2/0.1).

    Parameters
    ----------
    hidden, dropout : tuple
        Layer widths and the dropout after each hidden layer.
    l2 : float
        L2 penalty on the weights (Keras-style ``l2 * sum(w**2)`` added to the loss).
    learning_rate : float
        Adam step size.
    max_epochs : int
        Upper bound on training epochs.
    patience : int
        Early stopping: stop when the validation loss has not improved for this
        many epochs, and keep the best weights.
    validation_fraction : float
        Share of the fitting data held out for early stopping.
    batch_size : int or None
        Mini-batch size. None (default) trains on the full batch: an epoch is
        one Adam step, which keeps 1,500 epochs within seconds (Keras'
        default of 32 would need ~25 steps per epoch at DepMap size).
    random_state : int
        Seed of the split, the initial weights and the batches.
    n_threads : int
        torch intra-op threads during fit / predict (small nets run best on one).
    """

    def __init__(self, hidden=HIDDEN, dropout=DROPOUT, l2=1e-4, learning_rate=1e-3, max_epochs=1500,
                 patience=100, validation_fraction=0.1, batch_size=None, random_state=0, n_threads=1):
        self.hidden = hidden
        self.dropout = dropout
        self.l2 = l2
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.batch_size = batch_size
        self.random_state = random_state
        self.n_threads = n_threads

    def fit(self, X, y):
        """Train with early stopping on a validation share of the rows."""
        import torch

        X, y = check_X_y(X, y, dtype=np.float64, y_numeric=True)
        if len(self.hidden) != len(self.dropout):
            raise ValueError("hidden and dropout must have the same length")
        if self.max_epochs < 1 or self.patience < 1:
            raise ValueError("max_epochs and patience must be at least 1")
        threads = torch.get_num_threads()
        torch.set_num_threads(self.n_threads)
        try:
            self._fit(X, y)
        finally:
            torch.set_num_threads(threads)
        return self

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        import torch

        rng = np.random.default_rng(self.random_state)
        torch.manual_seed(self.random_state)
        n = len(y)
        order = rng.permutation(n)
        n_val = int(round(self.validation_fraction * n)) if n >= 10 else 0
        val, fit = order[:n_val], order[n_val:]
        x_mean, x_scale = X[fit].mean(axis=0), X[fit].std(axis=0)
        x_scale[x_scale == 0] = 1.0
        y_mean, y_scale = float(y[fit].mean()), float(y[fit].std()) or 1.0
        net = build_network(X.shape[1], tuple(self.hidden), tuple(self.dropout))
        with torch.no_grad():
            net.x_mean.copy_(torch.from_numpy(x_mean.astype(np.float32)))
            net.x_scale.copy_(torch.from_numpy(x_scale.astype(np.float32)))
            net.y_mean.fill_(y_mean)
            net.y_scale.fill_(y_scale)
        xs = torch.from_numpy(((X - x_mean) / x_scale).astype(np.float32))
        ys = torch.from_numpy(((y - y_mean) / y_scale).astype(np.float32))
        weights = [p for name, p in net.named_parameters() if name.endswith("weight")]
        biases = [p for name, p in net.named_parameters() if not name.endswith("weight")]
        # Keras' L2 regulariser adds l2 * sum(w^2) to the loss, i.e. 2 * l2 * w to the gradient of
        # the weights (not the biases): Adam's coupled weight decay does exactly that, without
        # recomputing the penalty every step.
        optimiser = torch.optim.Adam([{"params": weights, "weight_decay": 2.0 * self.l2},
                                      {"params": biases, "weight_decay": 0.0}], lr=self.learning_rate,
                                     foreach=True)
        batch = len(fit) if not self.batch_size else int(self.batch_size)
        full = batch >= len(fit)
        xs_fit, ys_fit = xs[fit], ys[fit]
        monitor = val if n_val else fit
        xs_mon, ys_mon = xs[monitor], ys[monitor]
        best, best_state, stale, history = np.inf, None, 0, []
        net.train()
        for epoch in range(int(self.max_epochs)):
            if full:
                optimiser.zero_grad()
                torch.mean((net.forward_scaled(xs_fit) - ys_fit) ** 2).backward()
                optimiser.step()
            else:
                perm = fit[rng.permutation(len(fit))]
                for start in range(0, len(perm), batch):
                    idx = torch.from_numpy(perm[start:start + batch])
                    optimiser.zero_grad()
                    torch.mean((net.forward_scaled(xs[idx]) - ys[idx]) ** 2).backward()
                    optimiser.step()
            with torch.no_grad():
                score = float(torch.mean((net.predict_scaled(xs_mon) - ys_mon) ** 2))
            history.append(score)
            if score < best - 1e-9:
                best, stale = score, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                stale += 1
                if stale >= self.patience:
                    break
        net.load_state_dict(best_state)
        net.eval()
        self.network_ = net
        self.n_features_in_ = X.shape[1]
        self.n_epochs_ = len(history)
        self.best_epoch_ = int(np.argmin(history)) + 1
        self.loss_curve_ = np.asarray(history)

    def predict(self, X):
        """Predictions for the rows of ``X`` (dropout off)."""
        import torch

        check_is_fitted(self, "network_")
        X = check_array(X, dtype=np.float64)
        threads = torch.get_num_threads()
        torch.set_num_threads(self.n_threads)
        try:
            with torch.no_grad():
                out = self.network_(torch.from_numpy(X.astype(np.float32))).numpy()
            return out.astype(np.float64)
        finally:
            torch.set_num_threads(threads)

    def save(self, path: str | Path) -> None:
        """Write the weights and normalisation (a ``state_dict``) with ``torch.save``.

        Parameters
        ----------
        path : str or Path
            Output file.
        """
        import torch

        check_is_fitted(self, "network_")
        torch.save(self.network_.state_dict(), path)

    @classmethod
    def load(cls, path: str | Path, **params) -> "MLPRegressor":
        """Read a model written by :meth:`save` (``weights_only=True``: no pickle).

        Parameters
        ----------
        path : str or Path
            A file written by :meth:`save`.
        **params
            Hyperparameters of the saved model (its layer sizes must match).
        """
        import torch

        state = torch.load(path, weights_only=True)
        model = cls(**params)
        net = build_network(int(state["x_mean"].shape[0]), tuple(model.hidden), tuple(model.dropout))
        net.load_state_dict(state)
        net.eval()
        model.network_ = net
        model.n_features_in_ = int(state["x_mean"].shape[0])
        return model
