"""Connectivity query benchmarks: one query over the predicted signatures of every gene, all three types.

The signatures are the demo's stored TranscriptionNet predictions with the page defaults (the
prebuilt result) when present, else a small model trained here. Each line's ``reference`` is
timed in the same run:

* ``connectivity_query_cold``: a first query (the 1,000-permutation null of its sizes computed)
  against a straightforward implementation: per signature and per random query, sort the
  query's positions and run the vectorised numpy enrichment score (timed on a sample of
  signatures, scaled to all of them);
* ``connectivity_query_warm``: a second query of the same sizes (the null reused) against the
  cold query;
* ``connectivity_scores_naive``: the scores alone against a Python loop of GSEA's running sum
  over every landmark (sampled and scaled likewise).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from benchmarks import measurement, register

N_PERMUTATIONS = 1000


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _predicted_signatures() -> dict[str, pd.DataFrame]:
    from dashboard.services import perturbation as tnet

    payload = tnet.training.result(epochs=tnet.DEFAULT_EPOCHS, width=tnet.DEFAULT_WIDTH)
    if payload is None:  # no prebuilt result: a small, fast model
        from core.datasets import load_demo
        from core.transcriptionnet import TranscriptionNet, network_embedding

        data = load_demo("perturbation")
        model = TranscriptionNet(hidden=128, max_epochs=2, patience=1, refine=False)
        model.fit(network_embedding(data.layers, dim=64), data.signatures)
        return {t: model.predict_all(t)[0] for t in model.types}
    return {t: payload[f"predicted_{t}"] for t in tnet.TYPES if f"predicted_{t}" in payload}


@register("connectivity")
def connectivity_benchmarks():
    from core.transcriptionnet.connectivity_query import ConnectivityIndex, _enrichment, _random_positions

    sets = {f"{t} predicted": (s - s.mean(axis=0)).astype(np.float64) for t, s in _predicted_signatures().items()}
    index = ConnectivityIndex(sets, n_permutations=N_PERMUTATIONS)
    n = len(index)
    ranked = index.frame.iloc[0].sort_values()
    up, down = list(ranked.index[-50:]), list(ranked.index[:50])
    index.query(up[:10], down[:10])  # compile the null loop before timing (other sizes: not reused)

    cold = _timed(lambda: index.query(up, down))
    sample = np.random.default_rng(0).choice(n, 20, replace=False)
    n_landmarks = index.values.shape[1]

    def straightforward():
        rng = np.random.default_rng(1)
        up_pos, down_pos = _random_positions(n_landmarks, 50, 50, N_PERMUTATIONS, rng)
        for row in index.ranked[sample]:
            for b in range(N_PERMUTATIONS):
                shift = rng.integers(n_landmarks)
                es = []
                for pos in (up_pos[b], down_pos[b]):
                    where = np.sort((pos + shift) % n_landmarks)
                    es.append(_enrichment(where, row[where], n_landmarks))

    reference = _timed(straightforward) * n / len(sample)
    yield measurement(f"connectivity_query_cold_{n}_signatures_{N_PERMUTATIONS}_permutations", cold, "s", reference)

    warm = _timed(lambda: index.query(down, up))
    yield measurement(f"connectivity_query_warm_{n}_signatures", warm, "s", cold)

    def naive_scores():
        hits_up, hits_down = set(up), set(down)
        for i in sample:
            values = index.frame.iloc[i].sort_values(ascending=False)
            for hits in (hits_up, hits_down):
                total = sum(abs(values[g]) for g in hits)
                running, top, bottom = 0.0, 0.0, 0.0
                for gene, value in values.items():
                    running += abs(value) / total if gene in hits else -1.0 / (len(values) - len(hits))
                    top, bottom = max(top, running), min(bottom, running)

    scores_only = ConnectivityIndex(sets, n_permutations=0)
    fast = _timed(lambda: scores_only.query(up, down))
    yield measurement(f"connectivity_scores_{n}_signatures", fast, "s", _timed(naive_scores) * n / len(sample))
