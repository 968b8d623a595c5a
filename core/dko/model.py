"""The DKO network as a pure ``torch.nn.Module`` (no training code here).

He, Klein, Levy & Wang (arXiv 2510.03359) map a cell's assemblage ``z`` (presence
vector divided by the number of present genes) to its profile

    p = z * |W2 (W1 z + b1) + b2| / sum(z * |W2 (W1 z + b1) + b2|),

two N x N linear layers without a nonlinearity in between (as in the authors'
``ODEFunc``). Absent genes get exactly 0 because of the factor ``z``.
"""

from __future__ import annotations

import torch
from torch import nn


class AssemblageNet(nn.Module):
    """Assemblage -> profile map of DKO.

    Parameters
    ----------
    n_genes
        Number of genes N (both layers are N x N).
    """

    def __init__(self, n_genes: int):
        super().__init__()
        self.fcc1 = nn.Linear(n_genes, n_genes)
        self.fcc2 = nn.Linear(n_genes, n_genes)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Profiles (rows sum to 1) for assemblages ``z`` of shape (cells, N) or (N,)."""
        out = z * torch.abs(self.fcc2(self.fcc1(z)))
        return out / out.sum(dim=-1, keepdim=True)
