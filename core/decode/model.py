"""The DEcode network as a pure ``torch.nn.Module`` (Tasaki et al. 2020, ``functions/network.py``).

mRNA branch: Conv1d(kernel 2, 160, no bias) -> Conv1d(kernel 2, 160, no bias) ->
masked sum over the gene's bins. Promoter branch: Conv1d(kernel 1, 120, no bias)
-> 4 x Conv1d(kernel 1, 120, no bias) -> sum over the 30 bins. No activation
inside either branch (the published ``ConvRelu = "No"``). Then concatenate ->
2 x [Linear 160, ReLU, BatchNorm] -> Linear to all tasks.

As in the published Keras code every convolution has ``use_bias=False``: the
branches are linear maps, so padding a gene with zero bins never changes its
output (and the masked sum makes that explicit).
"""

from __future__ import annotations

import torch
from torch import nn


class DecodeNet(nn.Module):
    """Two linear convolutional branches and a small fully connected head.

    Parameters
    ----------
    n_mrna, n_promoter
        Input channels of each branch; 0 disables that branch.
    n_tasks
        Outputs (tissues + median).
    rna_channels, promoter_channels
        Channels of the convolutions (paper: 160 and 120).
    n_rna_layers, n_promoter_layers
        Convolutions after the first one (paper: 1 and 4).
    hidden, n_hidden
        Width and number of [Linear, ReLU, BatchNorm] blocks (paper: 160, 2).
    """

    def __init__(self, n_mrna: int, n_promoter: int, n_tasks: int, rna_channels: int = 160,
                 promoter_channels: int = 120, n_rna_layers: int = 1, n_promoter_layers: int = 4,
                 hidden: int = 160, n_hidden: int = 2):
        super().__init__()
        self.n_mrna, self.n_promoter = n_mrna, n_promoter
        self.rna = self._branch(n_mrna, rna_channels, 2, n_rna_layers) if n_mrna else None
        self.promoter = self._branch(n_promoter, promoter_channels, 1, n_promoter_layers) if n_promoter else None
        width = (rna_channels if n_mrna else 0) + (promoter_channels if n_promoter else 0)
        layers: list[nn.Module] = []
        for _ in range(n_hidden):
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.BatchNorm1d(hidden)]
            width = hidden
        self.head = nn.Sequential(*layers)
        self.out = nn.Linear(width, n_tasks)

    @staticmethod
    def _branch(n_in: int, channels: int, kernel: int, n_more: int) -> nn.Sequential:
        convs = [nn.Conv1d(n_in, channels, kernel, bias=False)]
        convs += [nn.Conv1d(channels, channels, kernel, bias=False) for _ in range(n_more)]
        return nn.Sequential(*convs)

    def encode(self, mrna: torch.Tensor, promoter: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Concatenated branch outputs, shape ``(batch, width)`` (linear in the inputs)."""
        parts = []
        if self.rna is not None:
            parts.append(self._rna_sum(mrna, lengths))
        if self.promoter is not None:
            # kernel-1 convolutions without bias or activation commute with the sum over bins,
            # so summing first gives the identical result 30 times faster
            parts.append(self.promoter(promoter.sum(dim=-1, keepdim=True)).sum(dim=-1))
        return torch.cat(parts, dim=1)

    def _rna_sum(self, mrna: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Masked sum of the mRNA branch over the gene's bins, computed exactly but cheaply.

        ``m`` bias-free kernel-2 convolutions compose to one linear kernel over
        offsets 0..m; summed over the gene's bins (zeros beyond its end), every
        bin from ``m`` on meets the whole kernel. So the gene gives the same sum
        as the short sequence ``[x_0, ..., x_{m-1}, sum(x_m, ...)]``, whatever its
        length: the same function (a test checks it against the full-length
        convolution), tens of times faster on long transcripts.
        """
        m = len(self.rna)
        if mrna.shape[-1] < m:
            mrna = nn.functional.pad(mrna, (0, m - mrna.shape[-1]))
        short = torch.cat([mrna[..., :m], mrna[..., m:].sum(dim=-1, keepdim=True),
                           mrna.new_zeros(*mrna.shape[:-1], m)], dim=-1)
        return self.masked_rna_sum(short, torch.clamp(lengths, max=m + 1))

    def masked_rna_sum(self, mrna: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The literal branch: convolutions over all bins, then the sum over bins before ``lengths``."""
        h = self.rna(mrna)
        mask = torch.arange(h.shape[-1], device=h.device)[None, :] < lengths[:, None]
        return (h * mask[:, None, :].to(h.dtype)).sum(dim=-1)

    def forward(self, mrna: torch.Tensor, promoter: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Predictions ``(batch, tasks)`` from ``mrna (B, F, W)``, ``promoter (B, P, 30)``, ``lengths (B,)``."""
        return self.out(self.head(self.encode(mrna, promoter, lengths)))
