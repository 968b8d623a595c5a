"""Pure torch modules of TranscriptionNet: FunDNN and the cross-type attention refiner.

The estimators in :mod:`core.transcriptionnet.fundnn` and :mod:`core.transcriptionnet.refine`
wrap training, prediction, saving and loading (GEARS-style split). Importing this
module imports torch, so import it only inside functions.
"""

from __future__ import annotations

import torch
from torch import nn


class FunDNN(nn.Module):
    """FunDNN as published: embedding -> 3 x (1024, LeakyReLU, dropout 0.1) -> 1024 tanh -> landmarks.

    The output layer is linear; targets are scaled to [-1, 1] per landmark.

    Parameters
    ----------
    n_inputs, n_outputs : int
        Embedding dimensions and landmarks.
    hidden : int
        Width of the hidden layers.
    dropout : float
        Dropout after each hidden layer.
    """

    def __init__(self, n_inputs: int, n_outputs: int, hidden: int = 1024, dropout: float = 0.1):
        super().__init__()
        layers: list[nn.Module] = []
        width = n_inputs
        for _ in range(3):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(), nn.Dropout(dropout)]
            width = hidden
        layers += [nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, n_outputs)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CrossTypeRefiner(nn.Module):
    """Refine one perturbation type's signature with attention across the three types (GenSAN-like).

    Each gene is a sequence of three tokens, one per type: the type's signature (measured
    or predicted) projected to ``d_model``, plus a learned type embedding and a learned
    "measured / predicted" flag embedding. One multi-head self-attention block with a
    feed-forward layer mixes the tokens; the target type's token is mapped back to the
    landmarks and added to that type's base prediction (a residual correction whose output
    layer starts at zero, so an untrained refiner returns the base prediction).

    Parameters
    ----------
    n_landmarks, n_types : int
        Landmarks per signature and perturbation types (tokens).
    d_model, n_heads : int
        Size of the attention block.
    dropout : float
        Dropout of the attention block.
    """

    def __init__(self, n_landmarks: int, n_types: int = 3, d_model: int = 128, n_heads: int = 4,
                 dropout: float = 0.1):
        super().__init__()
        self.project = nn.ModuleList([nn.Linear(n_landmarks, d_model) for _ in range(n_types)])
        self.type_embedding = nn.Embedding(n_types, d_model)
        self.flag_embedding = nn.Embedding(2, d_model)
        self.attention = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(nn.Linear(d_model, 2 * d_model), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(2 * d_model, d_model))
        self.head = nn.Linear(d_model, n_landmarks)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, signatures: torch.Tensor, measured: torch.Tensor, target: int,
                return_attention: bool = False):
        """``signatures``: (batch, types, landmarks) scaled; ``measured``: (batch, types) 0/1."""
        n_types = signatures.shape[1]
        tokens = torch.stack([self.project[t](signatures[:, t]) for t in range(n_types)], dim=1)
        types = torch.arange(n_types, device=signatures.device)
        tokens = tokens + self.type_embedding(types)[None] + self.flag_embedding(measured.long())
        mixed, weights = self.attention(tokens, tokens, tokens, need_weights=True)
        h = self.norm1(tokens + mixed)
        h = self.norm2(h + self.ffn(h))
        refined = signatures[:, target] + self.head(h[:, target])
        return (refined, weights) if return_attention else refined


def signature_loss(pred: torch.Tensor, target: torch.Tensor, mse_weight: float = 0.9) -> torch.Tensor:
    """TranscriptionNet's loss: ``0.9 MSE + 0.1 (1 - centred cosine similarity)`` (per-gene Pearson).

    Parameters
    ----------
    pred, target : torch.Tensor
        (genes, landmarks) predictions and targets.
    mse_weight : float
        Weight of the MSE (the cosine term gets the rest).
    """
    mse = torch.mean((pred - target) ** 2)
    pc = pred - pred.mean(dim=1, keepdim=True)
    tc = target - target.mean(dim=1, keepdim=True)
    cos = torch.sum(pc * tc, dim=1) / (pc.norm(dim=1) * tc.norm(dim=1) + 1e-8)
    return mse_weight * mse + (1.0 - mse_weight) * torch.mean(1.0 - cos)
