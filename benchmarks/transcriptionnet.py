"""TranscriptionNet benchmarks on the demo data: embedding, training, prediction for all genes.

Each line's ``reference`` is a slower straightforward implementation timed in the same run:
* embedding: dense RWR (matrix inverse per layer) + full SVD of the stacked diffusion states;
* training: one FunDNN epoch with per-gene updates (batch size 1) against our mini-batches;
* prediction: one gene at a time against ``predict_all`` in one pass.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks import measurement, register


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@register("transcriptionnet")
def transcriptionnet_benchmarks():
    import torch

    from core.datasets import load_demo
    from core.transcriptionnet import FunDNNRegressor, TranscriptionNet, network_embedding
    from core.transcriptionnet.embedding import transition_matrices

    torch.set_num_threads(1)
    data = load_demo("perturbation")
    n_genes = len(data.genes)

    embed = _timed(lambda: network_embedding(data.layers, dim=64))

    def dense_reference():
        _, transitions = transition_matrices(data.layers)
        eye = np.eye(n_genes)
        states = [0.5 * np.linalg.inv(eye - 0.5 * p.toarray().astype(np.float64)) - 0.5 * eye
                  for p in transitions.values()]
        np.linalg.svd(np.hstack(states), full_matrices=False)

    yield measurement(f"embedding_3_layers_{n_genes}_genes", embed, "s", _timed(dense_reference))

    embedding = network_embedding(data.layers, dim=64)
    sig = data.signatures["RNAi"]
    x = embedding.loc[sig.index].to_numpy()
    y = sig.to_numpy()
    n_train = 256
    batched = FunDNNRegressor(max_epochs=1, batch_size=32)
    per_gene = FunDNNRegressor(max_epochs=1, batch_size=2)  # the smallest batch the centred-cosine loss allows
    epoch = _timed(lambda: batched.fit(x[:n_train], y[:n_train], x[n_train:n_train + 32], y[n_train:n_train + 32]))
    reference = _timed(lambda: per_gene.fit(x[:n_train], y[:n_train], x[n_train:n_train + 32],
                                            y[n_train:n_train + 32]))
    yield measurement(f"fundnn_1024_epoch_{n_train}_genes", epoch, "s", reference)

    model = TranscriptionNet(hidden=1024, max_epochs=1, patience=1, refine_epochs=1, refine_patience=1)
    model.fit(embedding, data.signatures)
    all_at_once = _timed(lambda: model.predict_all("OE"))
    sample = list(embedding.index[:100])
    loop = _timed(lambda: [model.predict("OE", [g]) for g in sample]) * n_genes / len(sample)
    yield measurement(f"predict_all_{n_genes}_genes_refined", all_at_once, "s", loop)
