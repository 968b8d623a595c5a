"""DeepLIFT / DeepSHAP attribution of DEcode predictions to regulators and positions.

DEcode explains predictions with DeepLIFT against one reference (no binding
sites; the exon channel covering the median transcript length). With a single
reference DeepSHAP is DeepLIFT with the *rescale* rule: through linear layers
(both convolutional branches, the linear layers, BatchNorm in eval mode) the
multiplier is the gradient; through a ReLU it is
``(relu(h) - relu(h_ref)) / (h - h_ref)``. Implemented here with torch autograd
(a custom ReLU backward), which is what ``shap.DeepExplainer`` computes for
this network, and exact: for every gene and task the attributions sum to
``f(x) - f(reference)`` (completeness, tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from core.decode.estimator import DecodeCNN
from core.decode.features import BindingSet, DecodePreprocessor, iter_batches
from core.errors import JobCancelled

Progress = Callable[[float, str], None]


def _rescale_relu():
    import torch

    class RescaleReLU(torch.autograd.Function):
        @staticmethod
        def forward(ctx, h, h_ref):
            ctx.save_for_backward(h, h_ref)
            return torch.relu(h)

        @staticmethod
        def backward(ctx, grad):
            h, h_ref = ctx.saved_tensors
            delta = h - h_ref
            near = delta.abs() < 1e-6
            ratio = (torch.relu(h) - torch.relu(h_ref)) / torch.where(near, torch.ones_like(delta), delta)
            ratio = torch.where(near, (h > 0).to(h.dtype), ratio)
            return grad * ratio, None

    return RescaleReLU


def _deeplift_outputs(net, mrna, promoter, lengths, mrna_ref, promoter_ref, lengths_ref):
    """Outputs for x (differentiable, rescale rule through ReLUs) and for the reference."""
    import torch
    from torch import nn

    relu = _rescale_relu()
    h = net.encode(mrna, promoter, lengths)
    with torch.no_grad():
        h_ref = net.encode(mrna_ref, promoter_ref, lengths_ref)
    for layer in net.head:
        if isinstance(layer, nn.ReLU):
            h, h_ref = relu.apply(h, h_ref), torch.relu(h_ref)
        else:
            h = layer(h)
            with torch.no_grad():
                h_ref = layer(h_ref)
    with torch.no_grad():
        out_ref = net.out(h_ref)
    return net.out(h), out_ref


def _pad_to(a: np.ndarray, width: int) -> np.ndarray:
    if a.shape[-1] >= width:
        return a
    pad = [(0, 0)] * (a.ndim - 1) + [(0, width - a.shape[-1])]
    return np.pad(a, pad)


def deeplift(cnn: DecodeCNN, pre: DecodePreprocessor, mrna: np.ndarray, promoter: np.ndarray,
             lengths: np.ndarray, tasks: list[int] | None = None, positions: bool = True
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DeepLIFT-rescale attributions of a batch of genes against DEcode's reference.

    Parameters
    ----------
    cnn, pre
        Trained model and its preprocessor.
    mrna, promoter, lengths
        Scaled dense inputs ``(B, F, W)``, ``(B, P, 30)``, ``(B,)``.
    tasks
        Task indices to explain (default: all).
    positions
        Keep positions (``(B, T, F, W)``); otherwise sum over bins (``(B, T, F)``).

    Returns
    -------
    mrna_attr, promoter_attr, delta
        Attributions for each input cell and ``delta = f(x) - f(ref)`` per gene and
        task ``(B, T)``; attributions sum to ``delta``.
    """
    import torch

    net = cnn._fitted()
    net.eval()
    ref_m, ref_p = pre.reference()
    width = max(mrna.shape[-1], ref_m.shape[-1])
    mrna = _pad_to(mrna, width)
    ref_m = _pad_to(ref_m, width)
    b = len(mrna)
    x_m = torch.tensor(mrna, dtype=torch.float32, requires_grad=True)
    x_p = torch.tensor(promoter, dtype=torch.float32, requires_grad=True)
    r_m = torch.from_numpy(np.broadcast_to(ref_m, (b, *ref_m.shape)).copy())
    r_p = torch.from_numpy(np.broadcast_to(ref_p, (b, *ref_p.shape)).copy())
    # The branches have no bias, so their output past a gene's last bin is exactly zero and
    # the length mask can be widened freely; one shared mask for gene and reference makes the
    # branch the same linear map for both, which completeness needs.
    ln = torch.as_tensor(np.maximum(lengths, max(1, pre.mrna_median_length_)), dtype=torch.int64)
    out, out_ref = _deeplift_outputs(net, x_m, x_p, ln, r_m, r_p, ln)
    tasks = list(range(out.shape[1])) if tasks is None else list(tasks)
    d_m, d_p = (x_m - r_m).detach(), (x_p - r_p).detach()
    m_out, p_out = [], []
    for i, t in enumerate(tasks):
        inputs = [x for x in (x_m, x_p) if x.shape[1]]
        grads = torch.autograd.grad(out[:, t].sum(), inputs, retain_graph=i < len(tasks) - 1, allow_unused=True)
        grads = list(grads)
        g_m = grads.pop(0) if x_m.shape[1] else torch.zeros_like(x_m)
        g_p = grads.pop(0) if x_p.shape[1] else torch.zeros_like(x_p)
        g_m = torch.zeros_like(x_m) if g_m is None else g_m
        g_p = torch.zeros_like(x_p) if g_p is None else g_p
        a_m, a_p = g_m * d_m, g_p * d_p
        if not positions:
            a_m, a_p = a_m.sum(-1), a_p.sum(-1)
        m_out.append(a_m.numpy())
        p_out.append(a_p.numpy())
    delta = (out - out_ref).detach().numpy()[:, tasks]
    return np.stack(m_out, axis=1), np.stack(p_out, axis=1), delta


@dataclass
class GeneAttribution:
    """One gene's attribution map for one task: regulators (rows) x positions (columns).

    Attributes
    ----------
    gene, task : str
        The gene and the task explained.
    promoter, mrna : pandas.DataFrame
        Attributions, TF x 30 promoter bins and RBP / miRNA x transcript bins.
    prediction, reference_prediction : float
        Scaled model output of the gene and of the all-zero reference.
    """

    gene: str
    task: str
    promoter: pd.DataFrame  # TF x 30 bins
    mrna: pd.DataFrame  # RBP / miRNA x transcript bins
    prediction: float  # scaled model output
    reference_prediction: float


def gene_attribution(cnn: DecodeCNN, pre: DecodePreprocessor, X: BindingSet, gene: str, task: str
                     ) -> GeneAttribution:
    """Regulator x position attribution of one gene for one task (channel 0 left out).

    Parameters
    ----------
    cnn : DecodeCNN
        A fitted model.
    pre : DecodePreprocessor
        Its preprocessing (feature names).
    X : BindingSet
        Binding of genes including ``gene``.
    gene, task : str
        The gene and the task to explain.
    """
    from core.datasets.decode_demo import BIN_BP, PROMOTER_START_BP

    row = X.genes.index(gene)
    mrna, promoter, lengths = X.dense([row])
    t = pre.tasks_.index(task)
    a_m, a_p, delta = deeplift(cnn, pre, mrna, promoter, lengths, tasks=[t])
    length = int(lengths[0])
    m = pd.DataFrame(a_m[0, 0, 1:, :length], index=pre.mrna_features_[1:],
                     columns=[f"{BIN_BP * b}" for b in range(length)])
    p = pd.DataFrame(a_p[0, 0, 1:, :], index=pre.promoter_features_[1:],
                     columns=[f"{PROMOTER_START_BP + BIN_BP * b:+d}" for b in range(a_p.shape[-1])])
    with_ref = cnn.predict_dense(mrna, promoter, lengths)[0, t]
    return GeneAttribution(gene=gene, task=task, promoter=p, mrna=m, prediction=float(with_ref),
                           reference_prediction=float(with_ref - delta[0, 0]))


def regulator_attribution(cnn: DecodeCNN, pre: DecodePreprocessor, X: BindingSet, batch_size: int = 64,
                          progress: Progress | None = None, should_stop: Callable[[], bool] | None = None
                          ) -> pd.DataFrame:
    """Per-task regulator scores: attribution summed over positions, averaged over genes (Fig. 3d).

    Parameters
    ----------
    cnn, pre
        Trained model and preprocessor.
    X
        Genes to explain (the paper used all genes; the page uses the test genes).
    batch_size
        Genes per DeepLIFT pass.
    progress, should_stop
        Progress callback and cancellation poll.

    Returns
    -------
    DataFrame
        Index ``regulator`` (``promoter:<TF>`` / ``mrna:<RBP or miRNA>``, channel 0
        left out), one column per task, in scaled target units per gene.
    """
    n_m, n_p = X.n_mrna, X.n_promoter
    total = np.zeros((n_m + n_p, len(pre.tasks_)))
    done = 0
    batches = list(iter_batches(len(X), batch_size, X.mrna_length))
    for i, rows in enumerate(batches):
        if should_stop is not None and should_stop():
            raise JobCancelled("attribution cancelled")
        mrna, promoter, lengths = X.dense(rows)
        a_m, a_p, _ = deeplift(cnn, pre, mrna, promoter, lengths, positions=False)
        total[:n_m] += a_m.sum(axis=0).T
        total[n_m:] += a_p.sum(axis=0).T
        done += len(rows)
        if progress is not None:
            progress((i + 1) / len(batches), f"attribution: {done:,} of {len(X):,} genes")
    names = [f"mrna:{f}" for f in pre.mrna_features_] + [f"promoter:{f}" for f in pre.promoter_features_]
    frame = pd.DataFrame(total / max(len(X), 1), index=pd.Index(names, name="regulator"), columns=pre.tasks_)
    drop = [f"mrna:{pre.mrna_features_[0]}"] if n_m else []
    drop += [f"promoter:{pre.promoter_features_[0]}"] if n_p else []
    return frame.drop(index=drop)
