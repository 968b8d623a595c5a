"""Mini-batch training with early stopping on a validation set (shared by FunDNN and the refiner)."""

from __future__ import annotations

import copy
from typing import Callable, Sequence

import numpy as np

Progress = Callable[[float, str], None]


def fit_module(module, forward: Callable, train: Sequence[np.ndarray], valid: Sequence[np.ndarray], *,
               lr: float, weight_decay: float, batch_size: int, max_epochs: int, patience: int, seed: int,
               progress: Progress | None = None, label: str = "training") -> dict:
    """Train ``module`` with Adam; keep the weights of the epoch with the lowest validation loss.

    ``forward(module, *batch)`` returns the loss of a batch whose last array is the target.
    Returns ``{"history": [(train_loss, valid_loss), ...], "best_epoch": int}``; the module is
    left in eval mode with its best weights.

    Parameters
    ----------
    module : torch.nn.Module
        The network, trained in place.
    forward : callable
        ``forward(module, *batch)`` -> loss.
    train, valid : sequence of ndarray
        Training and validation arrays, the target last.
    lr, weight_decay : float
        Adam step size and L2 penalty.
    batch_size, max_epochs, patience : int
        Mini-batch size, most epochs and early-stopping patience.
    seed : int
        Seed of the initialisation and the batch order.
    progress : callable, optional
        ``progress(fraction, message)`` after every epoch.
    label : str
        Name in the progress messages.
    """
    import torch

    torch.manual_seed(seed)
    generator = np.random.default_rng(seed)
    train_t = [torch.as_tensor(a) for a in train]
    valid_t = [torch.as_tensor(a) for a in valid]
    # the fused kernel does Adam's update of all parameters in one pass: half of a FunDNN step's time on a CPU
    optimiser = torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    n = train_t[0].shape[0]
    best, best_state, best_epoch, waited = np.inf, None, 0, 0
    history = []
    for epoch in range(max_epochs):
        module.train()
        order = torch.as_tensor(generator.permutation(n))
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            if idx.numel() < 2 and n >= 2:
                continue  # a batch of one gives a degenerate centred cosine
            optimiser.zero_grad()
            loss = forward(module, *[t[idx] for t in train_t])
            loss.backward()
            optimiser.step()
            total += loss.item() * idx.numel()
        module.eval()
        with torch.no_grad():
            valid_loss = float(forward(module, *valid_t))
        history.append((total / n, valid_loss))
        if valid_loss < best - 1e-6:
            best, best_epoch, waited = valid_loss, epoch, 0
            best_state = copy.deepcopy(module.state_dict())
        else:
            waited += 1
        if progress is not None:
            progress((epoch + 1) / max_epochs, f"{label}: epoch {epoch + 1}, validation loss {valid_loss:.4f}")
        if waited >= patience:
            break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return {"history": history, "best_epoch": best_epoch}
