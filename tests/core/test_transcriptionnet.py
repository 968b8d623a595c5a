"""TranscriptionNet core: RWR embedding vs dense references, metrics vs scipy, FunDNN, refiner, baselines, pipeline."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from core.datasets import make_perturbation_demo
from core.errors import InputError
from core.transcriptionnet import (
    FunDNNRegressor, KNNSignature, MeanSignature, RidgeSignature, TranscriptionNet, network_embedding,
    signature_metrics,
)
from core.transcriptionnet.embedding import rwr_diffusion_states, transition_matrices
from tests.conftest import SHARED_DATA

torch.set_num_threads(1)


def ring_layers(n=24, seed=0):
    rng = np.random.default_rng(seed)
    genes = [f"G{i:02d}" for i in range(n)]
    ring = pd.DataFrame({"gene1": genes, "gene2": genes[1:] + genes[:1], "weight": rng.uniform(0.2, 1, n)})
    a, b = rng.integers(0, n, 30), rng.integers(0, n, 30)
    keep = a != b
    rand = pd.DataFrame({"gene1": np.array(genes)[a[keep]], "gene2": np.array(genes)[b[keep]], "weight": 1.0})
    return {"ring": ring, "random": rand.iloc[:20]}


def test_rwr_matches_the_dense_inverse():
    genes, transitions = transition_matrices(ring_layers())
    p = transitions["ring"].toarray().astype(np.float64)
    assert np.allclose(p.sum(axis=1)[p.sum(axis=1) > 0], 1.0, atol=1e-6)
    r = 0.4
    exact = r * np.linalg.inv(np.eye(len(genes)) - (1 - r) * p) - r * np.eye(len(genes))
    got = rwr_diffusion_states(transitions["ring"], restart=r, n_steps=120)
    assert np.allclose(got, exact, atol=1e-5)


def test_embedding_is_the_truncated_svd_of_stacked_diffusion_states():
    layers = ring_layers()
    genes, transitions = transition_matrices(layers)
    stacked = np.hstack([rwr_diffusion_states(transitions[m], 0.5, 60).astype(np.float64) for m in layers])
    u, s, _ = np.linalg.svd(stacked, full_matrices=False)
    dim = 6
    exact = (u[:, :dim] * s[:dim]) @ u[:, :dim].T  # U S U^T is sign-free
    emb = network_embedding(layers, dim=dim, n_steps=60, n_power_iter=4, oversample=len(genes)).to_numpy()
    assert emb.shape == (len(genes), dim)
    assert np.allclose(emb @ emb.T, exact, atol=1e-3 * np.abs(exact).max())


def test_embedding_places_network_modules_together():
    data = make_perturbation_demo(seed=2, n_genes=400, n_landmarks=30, n_measured=100)
    emb = network_embedding(data.layers, dim=16)
    assert len(emb) == len(data.genes)  # every gene in any layer gets a vector
    x = emb.to_numpy()
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    module = data.truth.loc[emb.index, "module"].to_numpy()
    nearest = sim.argmax(axis=1)
    same = (module[nearest] == module).mean()
    chance = np.mean([np.mean(module == m) for m in module])
    assert same > 5 * chance


def test_metrics_match_scipy_loops():
    rng = np.random.default_rng(0)
    m = pd.DataFrame(rng.normal(size=(7, 80)))
    p = m * 0.5 + pd.DataFrame(rng.normal(size=(7, 80)))
    mean = rng.normal(size=80)
    got = signature_metrics(p, m, mean, top_n=20)
    for i in range(7):
        assert got["pearson"].iloc[i] == pytest.approx(stats.pearsonr(p.iloc[i], m.iloc[i])[0])
        assert got["pearson_delta"].iloc[i] == pytest.approx(stats.pearsonr(p.iloc[i] - mean, m.iloc[i] - mean)[0])
        assert got["cosine"].iloc[i] == pytest.approx(1 - __import__("scipy").spatial.distance.cosine(p.iloc[i], m.iloc[i]))
        top = np.argsort(-np.abs(m.iloc[i].to_numpy()))[:20]
        assert got["top50_pearson"].iloc[i] == pytest.approx(stats.pearsonr(p.iloc[i].to_numpy()[top],
                                                                            m.iloc[i].to_numpy()[top])[0])
        assert got["rmse"].iloc[i] == pytest.approx(np.sqrt(np.mean((p.iloc[i] - m.iloc[i]) ** 2)))
    flat = pd.DataFrame(np.repeat(mean[None], 7, axis=0))
    assert (signature_metrics(flat, m, mean)["pearson_delta"] == 0).all()


def planted(n=160, d=12, n_out=30, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    w = rng.normal(size=(d, n_out)) / np.sqrt(d)
    y = (np.tanh(x @ w) + 0.5 + 0.1 * rng.normal(size=(n, n_out))).astype(np.float32)
    return x, y


def test_fundnn_architecture_is_as_published():
    from core.transcriptionnet.model import FunDNN

    net = FunDNN(512, 978)
    linear = [m for m in net.net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(512, 1024), (1024, 1024), (1024, 1024),
                                                                  (1024, 1024), (1024, 978)]
    kinds = [type(m).__name__ for m in net.net]
    assert kinds.count("LeakyReLU") == 3 and kinds.count("Tanh") == 1
    assert all(m.p == 0.1 for m in net.net if isinstance(m, torch.nn.Dropout))


def test_loss_is_09_mse_plus_01_one_minus_centred_cosine():
    from core.transcriptionnet.model import signature_loss

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 10)), rng.normal(size=(4, 10))
    pearson = np.mean([stats.pearsonr(a[i], b[i])[0] for i in range(4)])
    expected = 0.9 * np.mean((a - b) ** 2) + 0.1 * (1 - pearson)
    assert float(signature_loss(torch.tensor(a), torch.tensor(b))) == pytest.approx(expected, rel=1e-6)


def test_fundnn_learns_and_round_trips(tmp_path):
    x, y = planted()
    tr, va, te = slice(0, 110), slice(110, 130), slice(130, 160)
    est = FunDNNRegressor(hidden=64, learning_rate=1e-3, max_epochs=80, patience=10).fit(x[tr], y[tr], x[va], y[va])
    assert np.allclose(est.scaler_.min_, y[tr].min(axis=0))  # scaler fitted on training genes only
    scaled = est.scaler_.transform(y[tr])
    assert scaled.min() == pytest.approx(-1) and scaled.max() == pytest.approx(1)
    mse_model = np.mean((est.predict(x[te]) - y[te]) ** 2)
    mse_mean = np.mean((MeanSignature().fit(x[tr], y[tr]).predict(x[te]) - y[te]) ** 2)
    assert mse_model < 0.7 * mse_mean
    est.save(tmp_path / "m.pt")
    again = FunDNNRegressor.load(tmp_path / "m.pt")
    assert np.allclose(again.predict(x[te]), est.predict(x[te]), atol=1e-6)
    with pytest.raises(InputError, match="dimensions"):
        est.predict(x[:, :5])


def test_baselines_match_references():
    from sklearn.linear_model import Ridge

    x, y = planted(n=60)
    knn = KNNSignature(k=3).fit(x[:50], y[:50])
    centred = x - x[:50].mean(axis=0)
    unit = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    for i in range(50, 60):
        sims = [unit[i] @ unit[j] for j in range(50)]
        best = np.argsort(sims)[::-1][:3]
        assert np.allclose(knn.predict(x[i:i + 1])[0], y[best].mean(axis=0), atol=1e-5)
    ridge = RidgeSignature().fit(x[:50], y[:50])
    xs = (x - x[:50].mean(axis=0)) / x[:50].std(axis=0)
    ref = Ridge(alpha=ridge.alpha_).fit(xs[:50], y[:50]).predict(xs[50:])
    assert np.allclose(ridge.predict(x[50:]), ref, atol=1e-4)


def test_refiner_starts_at_the_base_and_learns_cross_type_signal():
    from core.transcriptionnet.refine import CrossTypeRefinerRegressor

    rng = np.random.default_rng(0)
    n, L = 200, 20
    other = rng.uniform(-1, 1, (n, L)).astype(np.float32)
    target = np.clip(-0.8 * other + 0.05 * rng.normal(size=(n, L)), -1, 1).astype(np.float32)
    base = np.zeros_like(target)  # a useless base prediction: the refiner must use the other type
    s = np.stack([base, other], axis=1)
    flags = np.tile([0, 1], (n, 1))
    untrained = CrossTypeRefinerRegressor(target=0, max_epochs=1).fit(s[:10], flags[:10], target[:10],
                                                                       s[10:14], flags[10:14], target[10:14])
    torch.nn.init.zeros_(untrained.model_.head.weight)
    torch.nn.init.zeros_(untrained.model_.head.bias)
    assert np.allclose(untrained.predict(s[:5], flags[:5]), base[:5])
    est = CrossTypeRefinerRegressor(target=0, d_model=32, learning_rate=3e-3, max_epochs=60, patience=10).fit(
        s[:150], flags[:150], target[:150], s[150:170], flags[150:170], target[150:170])
    err = np.mean((est.predict(s[170:], flags[170:]) - target[170:]) ** 2)
    assert err < 0.75 * np.mean((base[170:] - target[170:]) ** 2)
    assert est.attention(s[:3], flags[:3]).shape == (3, 2, 2)


@pytest.fixture(scope="module")
def small_fit():
    data = make_perturbation_demo(seed=3, n_genes=300, n_landmarks=30, n_measured=120)
    emb = network_embedding(data.layers, dim=12)
    model = TranscriptionNet(hidden=32, learning_rate=1e-3, max_epochs=15, patience=4, refine_epochs=8,
                             refine_patience=3)
    return data, model.fit(emb, data.signatures)


def test_pipeline_scores_held_out_genes_only_and_predicts_every_gene(small_fit):
    data, model = small_fit
    for t in model.types_:
        split = {k: set(v) for k, v in model.splits_[t].items()}
        assert not (split["train"] & split["test"]) and not (split["valid"] & split["test"])
        per = model.per_gene_[(model.per_gene_["type"] == t)]
        assert set(per["gene"]) == split["test"]
        assert set(per["model"]) == {"fundnn", "refined", "mean", "ridge", "knn"}
        predictions, status = model.predict_all(t)
        assert predictions.shape == (len(data.genes), len(data.landmarks))
        assert set(status[status == "held-out"].index) == split["test"]
        assert (status == "measured").sum() == len(split["train"]) + len(split["valid"])
        assert (status == "predicted only").sum() == len(data.genes) - len(data.signatures[t])
    summary = model.summary_.set_index(["type", "model"])
    assert (summary.xs("mean", level="model")["pearson_delta"] == 0).all()
    assert summary["n_genes"].min() > 0


def test_pipeline_rejects_bad_inputs(small_fit):
    data, _ = small_fit
    emb = pd.DataFrame(np.ones((3, 2)), index=["a", "b", "c"])
    with pytest.raises(InputError, match="training"):
        TranscriptionNet().fit(emb, data.signatures)
    sigs = dict(data.signatures)
    sigs["OE"] = sigs["OE"].iloc[:, ::-1]
    with pytest.raises(InputError, match="landmark"):
        TranscriptionNet().fit(network_embedding(data.layers, dim=4), sigs)
    with pytest.raises(InputError, match="missing"):
        TranscriptionNet().fit(emb, {"RNAi": data.signatures["RNAi"]})


@pytest.mark.skipif(not (SHARED_DATA / "transcriptionnet_example").is_dir(), reason="shared real data absent")
def test_real_example_layout_and_a_quick_fit():
    """The real L1000 subset loads with its given split; a small, fast model trains on one type."""
    from core.transcriptionnet.validate import load_example

    signatures, splits, given = load_example(SHARED_DATA / "transcriptionnet_example")
    assert {t: s.shape for t, s in signatures.items()} == {"RNAi": (303, 978), "CRISPR": (378, 978),
                                                          "OE": (226, 978)}
    assert given.shape[1] == 512 and set(signatures["OE"].index) <= set(given.index)
    model = TranscriptionNet(types=("OE",), hidden=64, learning_rate=1e-3, max_epochs=10, patience=3, refine=False)
    model.fit(given, {"OE": signatures["OE"]}, {"OE": splits["OE"]})
    assert set(model.per_gene_["gene"]) == set(splits["OE"]["test"])
    assert model.summary_.set_index("model").loc["mean", "pearson"] > 0.3  # the strong mean baseline
