"""DEcode benchmarks: training per epoch and in total, attribution per gene-task, edit latency.

``python -m benchmarks decode`` (demo data; the real GTEx + TargetScan subset too
when ../shared/data/decode_toy exists). References timed in the same run:
training epochs against the literal full-length mRNA convolution, attribution
against ``shap.DeepExplainer``; the edit latency is compared with its 100 ms goal.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks import measurement, median_seconds, register

TOY = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "decode_toy"
EDIT_GOAL_SECONDS = 0.1


def _epoch_seconds(X, y, literal: bool, n_batches: int = 6) -> float:
    """Seconds per epoch of forward + backward (extrapolated from ``n_batches`` batches)."""
    import torch

    from core.decode.features import iter_batches
    from core.decode.model import DecodeNet

    torch.manual_seed(0)
    net = DecodeNet(X.n_mrna, X.n_promoter, y.shape[1])
    if literal:
        net._rna_sum = lambda m, ln: net.masked_rna_sum(m, ln)  # the convolution over every bin
    optim = torch.optim.Adam(net.parameters(), lr=1e-3)
    batches = list(iter_batches(len(X), 128, X.mrna_length, np.random.default_rng(0)))
    started = time.perf_counter()
    for rows in batches[:n_batches]:
        m, p, ln = (torch.from_numpy(a) for a in X.dense(rows))
        optim.zero_grad()
        loss = ((net(m, p, ln) - torch.from_numpy(y[rows])) ** 2).mean()
        loss.backward()
        optim.step()
    return (time.perf_counter() - started) * len(batches) / min(n_batches, len(batches))


def _training(label: str, data):
    from core.decode.estimator import DecodeCNN
    from core.decode.evaluate import train_decode
    from core.decode.features import DecodePreprocessor, make_split

    split = make_split(data)
    pre = DecodePreprocessor().fit(data, split.train)
    X = pre.transform(data, split.train)
    y = pre.scale_targets(data.targets.loc[split.train])
    fast = _epoch_seconds(X, y, literal=False)
    literal = _epoch_seconds(X, y, literal=True)
    yield measurement(f"decode_epoch_{label}", fast, "s", literal)
    started = time.perf_counter()
    fit = train_decode(data, split, cnn=DecodeCNN(n_restarts=1, max_epochs=100, patience=10))
    total = time.perf_counter() - started
    yield measurement(f"decode_train_total_{label}_1restart_{len(fit.history)}epochs", total, "s")
    return fit


def shap_explainer(cnn, pre, mrna: np.ndarray):
    """``shap.DeepExplainer`` over a fitted DEcode net, with the preprocessor's reference as background.

    SHAP wants ``forward(*inputs)``, so the net is wrapped to take (mRNA, promoter)
    with every gene at the full padded length; the net has no bias there, so that
    mask changes nothing. ``mrna`` and the reference are padded to a common width.

    Returns
    -------
    explainer, mrna
        The explainer and ``mrna`` padded to the common width.
    """
    import shap
    import torch

    ref_m, ref_p = pre.reference()
    width = max(mrna.shape[-1], ref_m.shape[-1])
    mrna = np.pad(mrna, [(0, 0), (0, 0), (0, width - mrna.shape[-1])])
    ref_m = np.pad(ref_m, [(0, 0), (0, width - ref_m.shape[-1])])

    class TwoInputs(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, mrna, promoter):
            return self.net(mrna, promoter, torch.full((mrna.shape[0],), width))

    explainer = shap.DeepExplainer(TwoInputs(cnn.module_).eval(),
                                   [torch.from_numpy(ref_m[None]), torch.from_numpy(ref_p[None])])
    return explainer, mrna


@register("decode")
def decode_benchmarks():
    import torch

    torch.set_num_threads(1)
    from core.datasets import load_demo
    from core.decode.attribution import deeplift, regulator_attribution
    from core.decode.edits import gene_binding, predict_edit

    data = load_demo("decode")
    trainer = _training("demo", data)
    while True:
        try:
            yield next(trainer)
        except StopIteration as stop:
            fit = stop.value
            break

    cnn, pre = fit.cnn, fit.preprocessor
    X = pre.transform(data, fit.split.test[:128])
    n_tasks = len(pre.tasks_)
    ours = median_seconds(lambda: regulator_attribution(cnn, pre, X), repeat=3) / (len(X) * n_tasks)

    m, p, ln = X.dense(np.arange(8))
    explainer, m = shap_explainer(cnn, pre, m)
    started = time.perf_counter()
    explainer.shap_values([torch.from_numpy(m), torch.from_numpy(p)], check_additivity=False)
    reference = (time.perf_counter() - started) / (8 * n_tasks)
    yield measurement("decode_attribution_per_gene_task", ours, "s", reference)
    _ = deeplift  # the kernel timed above through regulator_attribution

    gene = fit.split.test[0]
    binding = gene_binding(data, gene)
    latency = median_seconds(lambda: predict_edit(cnn, pre, binding, promoter_bins=(15, 24), fraction=1.0,
                                                  knockout=["HNF4A"]), repeat=20)
    yield measurement("decode_edit_repredict_latency_vs_100ms_goal", latency, "s", EDIT_GOAL_SECONDS)

    if TOY.is_dir():
        from core.datasets.decode_bundle import load_decode_toy

        trainer = _training("gtex_targetscan", load_decode_toy(TOY))
        while True:
            try:
                yield next(trainer)
            except StopIteration:
                break
