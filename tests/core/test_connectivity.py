"""Connectivity query (CMap weighted KS score): against a naive loop, self-retrieval, null and p-values, bad input."""

import numpy as np
import pandas as pd
import pytest

from core.datasets import load_demo
from core.errors import InputError
from core.transcriptionnet.connectivity_query import (
    ConnectivityIndex, _enrichment, _null, _random_positions, connectivity, resolve_genes,
)
from tests.conftest import SHARED_DATA

REAL = SHARED_DATA / "transcriptionnet_example"


def naive_es(values: pd.Series, genes) -> float:
    """GSEA's weighted running sum, one landmark at a time; the largest deviation from 0."""
    ranked = values.sort_values(ascending=False, kind="stable")
    hits = set(genes)
    total = sum(abs(ranked[g]) for g in hits)
    n_miss = len(ranked) - len(hits)
    running, top, bottom = 0.0, 0.0, 0.0
    for gene, value in ranked.items():
        running += abs(value) / total if gene in hits else -1.0 / n_miss
        top, bottom = max(top, running), min(bottom, running)
    return top if top >= -bottom - 1e-12 else bottom


def naive_score(values: pd.Series, up, down) -> float:
    es_up, es_down = naive_es(values, up), naive_es(values, down)
    return (es_up - es_down) / 2 if np.sign(es_up) != np.sign(es_down) else 0.0


def random_signatures(n=40, n_landmarks=120, seed=0):
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 2.0, (n, 1)) ** 2  # signatures of different strength
    return pd.DataFrame(rng.normal(size=(n, n_landmarks)) * scale, index=[f"P{i:03d}" for i in range(n)],
                        columns=[f"L{j:03d}" for j in range(n_landmarks)])


def test_scores_match_a_naive_running_sum():
    sig = random_signatures()
    rng = np.random.default_rng(1)
    for k_up, k_down in ((5, 5), (12, 30)):
        genes = rng.choice(sig.columns, k_up + k_down, replace=False)
        up, down = list(genes[:k_up]), list(genes[k_up:])
        # half of the signatures made to carry the query, so both signs and zero scores occur
        sig.loc[sig.index[:10], up] += 2.0
        sig.loc[sig.index[10:20], down] += 2.0
        out = connectivity(up, down, sig, n_permutations=0)
        for gene in sig.index:
            assert out.loc[gene, "es_up"] == pytest.approx(naive_es(sig.loc[gene], up), abs=1e-12)
            assert out.loc[gene, "es_down"] == pytest.approx(naive_es(sig.loc[gene], down), abs=1e-12)
            assert out.loc[gene, "score"] == pytest.approx(naive_score(sig.loc[gene], up, down), abs=1e-12)
        assert list(out["score"]) == sorted(out["score"], reverse=True)
        assert (out["score"] == 0).any() and (out["score"] > 0).any() and (out["score"] < 0).any()


def test_null_matches_the_same_random_queries_scored_by_the_reference():
    sig = random_signatures(n=6, n_landmarks=60)
    values = sig.to_numpy()
    order = np.argsort(-values, axis=1, kind="stable")
    ranked = np.ascontiguousarray(np.abs(np.take_along_axis(values, order, axis=1)))
    null = _null(ranked, 7, 9, 50, np.random.default_rng(3))
    rng = np.random.default_rng(3)  # replay the draws: positions, then one block of rotations
    up_pos, down_pos = _random_positions(60, 7, 9, 50, rng)
    shifts = rng.integers(0, 60, size=(6, 50))
    for n in range(6):
        for b in range(50):
            es = []
            for pos in (up_pos[b], down_pos[b]):
                rotated = np.sort((pos + shifts[n, b]) % 60)
                es.append(_enrichment(rotated, ranked[n, rotated], 60))
            genes_up = sig.columns[order[n, np.sort((up_pos[b] + shifts[n, b]) % 60)]]
            genes_down = sig.columns[order[n, np.sort((down_pos[b] + shifts[n, b]) % 60)]]
            assert null[n, b] == pytest.approx(naive_score(sig.iloc[n], genes_up, genes_down), abs=1e-6)  # float32
            assert null[n, b] == pytest.approx((es[0] - es[1]) / 2 if np.sign(es[0]) != np.sign(es[1]) else 0, abs=1e-6)


def test_random_queries_give_uniform_p_values_and_a_planted_hit_is_found():
    sig = random_signatures(n=300, n_landmarks=200, seed=4)
    rng = np.random.default_rng(5)
    index = ConnectivityIndex(sig, n_permutations=200, random_state=0)
    ps = []
    for _ in range(4):
        genes = rng.choice(sig.columns, 30, replace=False)
        ps.append(index.query(genes[:15], genes[15:])["p"].to_numpy())
    ps = np.concatenate(ps)
    # calibrated: P(p <= a) ~ a (a score of 0, when ES_up and ES_down share a sign, has p = 1)
    for alpha, tolerance in ((0.01, 0.008), (0.05, 0.02), (0.2, 0.04)):
        assert abs((ps <= alpha).mean() - alpha) < tolerance
    hit = sig.iloc[7].sort_values()
    out = index.query(hit.index[-15:], hit.index[:15])
    assert out.index[0] == sig.index[7] and out["q"].iloc[0] < 0.05 and out["p"].iloc[0] < 1e-3
    assert (out["q"].to_numpy() >= out["p"].to_numpy() - 1e-15).all()
    again = connectivity(hit.index[-15:], hit.index[:15], sig, n_permutations=200, random_state=0)
    pd.testing.assert_frame_equal(again, out)  # seeded, and the index's cached null gives the same answer


@pytest.fixture(scope="module")
def demo():
    return load_demo("perturbation")


def test_own_top_and_bottom_50_rank_the_gene_first_and_reversed_last(demo):
    for kind, sig in demo.signatures.items():
        index = ConnectivityIndex(sig, n_permutations=100)
        for gene in sig.index[:: max(1, len(sig) // 5)][:5]:
            ranked = sig.loc[gene].sort_values()
            up, down = list(ranked.index[-50:]), list(ranked.index[:50])
            forward = index.query(up, down)
            assert forward.index[0] == gene and forward["score"].iloc[0] == pytest.approx(1.0)
            reverse = index.query(down, up)
            assert reverse.index[-1] == gene and reverse["score"].iloc[-1] == pytest.approx(-1.0)


def test_mapping_of_signature_sets(demo):
    sets = {f"measured {k}": v for k, v in demo.signatures.items()}
    first = next(iter(demo.signatures.values()))
    ranked = first.iloc[0].sort_values()
    out = connectivity(ranked.index[-20:], ranked.index[:20], sets, n_permutations=50)
    assert len(out) == sum(len(v) for v in sets.values())
    assert out["set"].iloc[0] == next(iter(sets)) and out.index[0] == first.index[0]
    assert out.groupby("set").size().to_dict() == {k: len(v) for k, v in sets.items()}


def test_gene_names_resolve_by_symbol_or_id_and_bad_queries_are_refused(demo):
    landmarks = [str(g) for g in demo.landmarks]
    entrez = demo.genes.loc[landmarks, "entrez"].astype(str)
    aliases = dict(zip(entrez, landmarks))
    typed = [landmarks[0].lower(), entrez.iloc[1], " ", "NOT_A_GENE", landmarks[0]]
    matched, unknown = resolve_genes(typed, landmarks, aliases)
    assert matched == landmarks[:2] and unknown == ["NOT_A_GENE"]
    sig = random_signatures()
    cols = list(sig.columns)
    with pytest.raises(InputError, match="both"):
        connectivity(cols[:6], cols[5:12], sig)
    with pytest.raises(InputError, match="at least 5"):
        connectivity(cols[:3], cols[10:20], sig)
    with pytest.raises(InputError, match="not landmark"):
        connectivity(cols[:5] + ["XYZ"], cols[10:20], sig)
    with pytest.raises(InputError, match="n_permutations"):
        connectivity(cols[:5], cols[10:20], sig, n_permutations=-1)
    bad = sig.copy()
    bad.iloc[0, 0] = np.nan
    with pytest.raises(InputError, match="missing"):
        connectivity(cols[:5], cols[10:20], bad)
    with pytest.raises(InputError, match="same landmarks"):
        connectivity(cols[:5], cols[10:20], {"a": sig, "b": sig.iloc[:, ::-1]})
    with pytest.raises(InputError, match="empty"):
        connectivity(cols[:5], cols[10:20], sig.iloc[:0])


@pytest.mark.skipif(not REAL.is_dir(), reason="shared real L1000 data absent")
def test_real_l1000_signatures_retrieve_themselves():
    from core.transcriptionnet.validate import load_example

    signatures, _splits, _given = load_example(REAL)
    for kind, sig in signatures.items():
        index = ConnectivityIndex(sig, n_permutations=0)
        for gene in sig.index[:10]:
            ranked = sig.loc[gene].sort_values()
            assert index.query(ranked.index[-50:], ranked.index[:50]).index[0] == gene
            assert index.query(ranked.index[:50], ranked.index[-50:]).index[-1] == gene


def test_self_retrieval_counts_where_the_own_signature_lands(demo):
    from core.transcriptionnet.connectivity_query import self_retrieval

    sig = demo.signatures["OE"]
    same = self_retrieval(sig, sig, n_genes=50)
    assert len(same) == len(sig) and (same["rank"] == 1).all()
    # against another library: the rank is the number of library signatures scoring at least the own one
    other = demo.signatures["RNAi"]
    got = self_retrieval(sig, other, n_genes=25)
    assert set(got.index) == set(map(str, sig.index)) & set(map(str, other.index))
    gene = got.index[0]
    ranked = sig.loc[gene].sort_values()
    table = connectivity(ranked.index[-25:], ranked.index[:25], other, n_permutations=0)
    assert got.loc[gene, "rank"] == (table["score"] >= table.loc[gene, "score"]).sum()
    reverse = connectivity(ranked.index[:25], ranked.index[-25:], other, n_permutations=0)
    assert np.allclose(reverse["score"].sort_index(), -table["score"].sort_index())  # so the reversed rank is the same
    assert (got["n_library"] == len(other)).all()
    with pytest.raises(InputError, match="no gene"):
        self_retrieval(sig.iloc[:0], other)
