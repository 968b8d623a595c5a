"""DEcode core: bundle I/O, preprocessing, model, training, attribution, edits (small sizes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from benchmarks.decode import shap_explainer  # noqa: E402
from core.datasets import make_decode_demo  # noqa: E402
from core.datasets.decode_bundle import load_decode, load_decode_toy, write_decode  # noqa: E402
from core.decode.attribution import deeplift, gene_attribution, regulator_attribution  # noqa: E402
from core.decode.edits import (coexpression_experiment, edit_binding, gene_binding, predict_edit,  # noqa: E402
                               predict_edited)
from core.decode.estimator import DecodeCNN  # noqa: E402
from core.decode.evaluate import (DecodeFit, RidgeBaseline, binding_totals, branch_ablation,  # noqa: E402
                                  column_spearman, profile_correlation, shuffle_branch, train_decode)
from core.decode.features import DecodePreprocessor, make_split  # noqa: E402
from core.decode.model import DecodeNet  # noqa: E402
from core.errors import InputError  # noqa: E402
from tests.conftest import SHARED_DATA  # noqa: E402

TOY = SHARED_DATA / "decode_toy"
SMALL = dict(rna_channels=32, promoter_channels=32, hidden=32)


@pytest.fixture(scope="module")
def small():
    return make_decode_demo(seed=0, n_genes=300, n_tissues=4)


@pytest.fixture(scope="module")
def trained():
    """A small but real training run on planted demo data (about 15 s)."""
    data = make_decode_demo(seed=0, n_genes=1200, n_tissues=6)
    fit = train_decode(data, cnn=DecodeCNN(n_restarts=1, max_epochs=30, patience=8, **SMALL))
    return data, fit


# --- bundle ----------------------------------------------------------------

def test_bundle_round_trip_is_exact(small, tmp_path):
    path = write_decode(small, tmp_path / "demo")
    back = load_decode(path)
    for name in ("promoter", "mrna"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(small, name), check_exact=True)
    pd.testing.assert_frame_equal(back.targets, small.targets, check_exact=True)
    assert back.genes == small.genes and back.mrna_features == small.mrna_features
    assert back.promoter_features == small.promoter_features and back.mrna_feature_kind == small.mrna_feature_kind
    assert (back.mrna_length == small.mrna_length).all() and (back.chromosome == small.chromosome).all()


def test_bundle_rejects_malformed_input(small, tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_decode(tmp_path / "nothing.npz")
    path = write_decode(small, tmp_path / "ok.npz")
    arrays = dict(np.load(path, allow_pickle=False))
    bad = dict(arrays)
    del bad["targets"]
    np.savez(tmp_path / "missing.npz", **bad)
    with pytest.raises(InputError, match="lacks the arrays targets"):
        load_decode(tmp_path / "missing.npz")
    bad = dict(arrays)
    bad["mrna_coo"] = bad["mrna_coo"].copy()
    bad["mrna_coo"][0, 1] = 10_000
    np.savez(tmp_path / "range.npz", **bad)
    with pytest.raises(InputError, match="feature index out of range"):
        load_decode(tmp_path / "range.npz")
    bad = dict(arrays)
    bad["genes"] = np.array([object()] * 3, dtype=object)
    np.savez(tmp_path / "pickle.npz", **bad)
    with pytest.raises(InputError, match="pickles"):
        load_decode(tmp_path / "pickle.npz")


@pytest.mark.skipif(not TOY.is_dir(), reason="../shared/data/decode_toy is absent")
def test_toy_layout_loads_real_gtex_targetscan():
    data = load_decode_toy(TOY)
    assert len(data.genes) == 2742 and len(data.mrna_features) == 218
    assert data.targets.shape == (2742, 54) and data.targets.columns[-1] == "median"
    assert data.mrna["value"].max() <= 1.0 and data.mrna["value"].min() > 0
    split = make_split(data)
    assert (len(split.train), len(split.validate), len(split.test)) == (2225, 247, 270)
    # processed targets are log fold changes against the across-tissue median
    raw = pd.read_csv(TOY / "Transcriptome" / "expdata.txt.gz", sep="\t", index_col="Name").loc[data.genes[:50]]
    lfc = raw.sub(raw.median(axis=1), axis=0)
    assert np.allclose(lfc.to_numpy(), data.targets.iloc[:50, :53].to_numpy(), atol=1e-4)


# --- preprocessing ---------------------------------------------------------

def test_split_by_chromosome_and_by_gene_lists(small):
    split = make_split(small)
    chrom = small.chromosome
    assert set(chrom[split.test]) == {"chr1"}
    assert "chr1" not in set(chrom[split.train]) | set(chrom[split.validate])
    given = make_split(small, genes={"train": small.genes[:200], "validate": small.genes[200:250],
                                     "test": small.genes[250:]})
    assert given.test == list(small.genes[250:])
    with pytest.raises(InputError, match="chr99"):
        make_split(small, test_chromosomes=("chr99",))


def test_feature_filter_and_scaling_match_a_naive_loop(small):
    split = make_split(small)
    pre = DecodePreprocessor(min_genes=30).fit(small, split.train)
    train_rows = {small.genes.index(g) for g in split.train}
    for coo, names, keep, scale in ((small.mrna, small.mrna_features, pre.mrna_keep_, pre.mrna_scale_),
                                    (small.promoter, small.promoter_features, pre.promoter_keep_, pre.promoter_scale_)):
        expected_keep, expected_max = [], {}
        for f in range(len(names)):
            part = coo[(coo["feature"] == f) & coo["gene"].isin(train_rows) & (coo["value"] > 0)]
            if f == 0 or part["gene"].nunique() >= 30:
                expected_keep.append(f)
                expected_max[f] = part["value"].max()
        assert keep.tolist() == expected_keep
        assert np.allclose(scale, [expected_max[f] for f in expected_keep])
    X = pre.transform(small, split.train)
    mrna, promoter, _ = X.dense(np.arange(len(X)))
    assert mrna.max() == pytest.approx(1.0) and promoter.max() == pytest.approx(1.0)
    y = pre.scale_targets(small.targets.loc[split.train])
    assert np.std(y[:, :-1]) == pytest.approx(1.0, rel=1e-4) and np.std(y[:, -1]) == pytest.approx(1.0, rel=1e-4)
    assert np.allclose(pre.unscale(y), small.targets.loc[split.train].to_numpy(), atol=1e-5)


def test_dense_batches_equal_the_dense_reference(small):
    pre = DecodePreprocessor(min_genes=0).fit(small, small.genes)
    X = pre.transform(small)
    rows = np.array([5, 0, 17, 230])
    mrna, promoter, lengths = X.dense(rows)
    full_m = small.mrna_array() / pre.mrna_scale_[:, None]
    full_p = small.promoter_array() / pre.promoter_scale_[:, None]
    assert np.allclose(mrna[:, :, :full_m.shape[2]], full_m[rows, :, :mrna.shape[2]], atol=1e-6)
    assert np.allclose(promoter, full_p[rows], atol=1e-6)
    assert mrna.shape[2] == lengths.max() + 2 and not mrna[:, :, lengths.max():].any()


# --- model -----------------------------------------------------------------

def test_network_is_the_published_architecture():
    net = DecodeNet(n_mrna=10, n_promoter=7, n_tasks=5)
    convs = [m for m in net.rna] + [m for m in net.promoter]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0]) for c in net.rna] == [(10, 160, 2), (160, 160, 2)]
    assert [(c.out_channels, c.kernel_size[0]) for c in net.promoter] == [(120, 1)] * 5
    assert all(c.bias is None for c in convs)
    assert [type(m).__name__ for m in net.head] == ["Linear", "ReLU", "BatchNorm1d"] * 2
    assert net.head[0].out_features == 160 and net.out.out_features == 5
    # the promoter branch sums before its kernel-1 convolutions: identical to convolving every bin
    x = torch.rand(3, 7, 30)
    assert torch.allclose(net.promoter(x).sum(-1), net.encode(torch.zeros(3, 10, 5), x, torch.full((3,), 3))[:, 160:],
                          atol=1e-4)


def test_padding_never_changes_a_prediction(small):
    torch.manual_seed(0)
    pre = DecodePreprocessor(min_genes=0).fit(small, small.genes)
    X = pre.transform(small)
    net = DecodeNet(X.n_mrna, X.n_promoter, 5, **SMALL).eval()
    order = np.argsort(X.mrna_length)
    short, long_ = int(order[0]), int(order[-1])
    alone = net(*map(torch.from_numpy, X.dense([short])))
    padded = net(*map(torch.from_numpy, X.dense([short, long_])))[:1]
    assert X.dense([short, long_])[0].shape[2] > X.dense([short])[0].shape[2]
    assert torch.allclose(alone, padded, atol=1e-5)
    m, p, ln = X.dense([short])
    extra = np.pad(m, [(0, 0), (0, 0), (0, 40)])
    assert torch.allclose(alone, net(torch.from_numpy(extra), torch.from_numpy(p), torch.from_numpy(ln)), atol=1e-5)


def test_estimator_contract_and_save_load(small, tmp_path):
    split = make_split(small)
    pre = DecodePreprocessor().fit(small, split.train)
    X, Xv = pre.transform(small, split.train), pre.transform(small, split.validate)
    y, yv = (pre.scale_targets(small.targets.loc[g]) for g in (split.train, split.validate))
    model = DecodeCNN(n_restarts=2, max_epochs=3, patience=1, **SMALL)
    assert not hasattr(model, "module_")
    assert model.fit(X, y, Xv, yv) is model
    assert {h["restart"] for h in model.history_} == {0, 1}
    assert model.best_val_loss_ == min(h["val_loss"] for h in model.history_)
    before = model.predict(Xv)
    loaded = DecodeCNN.load(model.save(tmp_path / "m"))
    assert np.array_equal(loaded.predict(Xv), before)
    with pytest.raises(InputError):
        DecodeCNN(n_restarts=0).fit(X, y, Xv, yv)
    with pytest.raises(InputError, match="targets"):
        model.fit(X, y[:-1], Xv, yv)


# --- evaluation ------------------------------------------------------------

def test_metrics_match_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(40, 4)), rng.normal(size=(40, 4))
    b[:, 0] = a[:, 0] + 0.1 * b[:, 0]
    expected = [stats.spearmanr(a[:, j], b[:, j])[0] for j in range(4)]
    assert np.allclose(column_spearman(a, b), expected)
    corr = profile_correlation(pd.DataFrame(a, columns=list("ABCD")), pd.DataFrame(b, columns=list("ABCD")))
    assert corr.loc["B", "C"] == pytest.approx(stats.spearmanr(a[:, 1], b[:, 2])[0])


def test_ridge_baseline_matches_sklearn(small):
    from sklearn.linear_model import Ridge

    pre = DecodePreprocessor().fit(small, small.genes)
    X = pre.transform(small)
    y = pre.scale_targets(small.targets)
    base = RidgeBaseline(alphas=(3.0,)).fit(X, y)
    totals = binding_totals(X)
    z = (totals - totals.mean(0)) / np.where(totals.std(0) > 0, totals.std(0), 1)
    assert np.allclose(base.predict(X), Ridge(alpha=3.0).fit(z, y).predict(z), atol=1e-6)
    # totals are the naive per-gene sums of the dense arrays
    m, p, _ = X.dense(np.arange(len(X)))
    assert np.allclose(totals, np.concatenate([m.sum(-1), p.sum(-1)], axis=1), atol=1e-4)


def test_training_learns_and_payload_round_trips(trained):
    data, fit = trained
    perf = fit.performance
    assert list(perf.columns) == ["cnn", "ridge"] and perf.index.tolist() == fit.tasks
    for tissue in ("Liver", "Muscle - Skeletal", "Whole Blood", "Brain - Cortex"):
        assert perf.loc[tissue, "cnn"] > 0.5
    assert np.diag(fit.profile_corr.to_numpy()).mean() > fit.profile_corr.to_numpy().mean()
    again = DecodeFit.from_payload(fit.to_payload())
    X = fit.preprocessor.transform(data, fit.split.test[:30])
    assert np.array_equal(again.cnn.predict(X), fit.cnn.predict(X))
    summary = fit.summary()
    assert set(summary) == {"cnn", "ridge", "seconds"}
    assert summary["cnn"]["mean_tissue_spearman"] == pytest.approx(perf["cnn"].drop("median").mean())


def test_branch_ablation_shuffles_one_branch(small):
    shuffled = shuffle_branch(small, "mrna", seed=3)
    pd.testing.assert_frame_equal(shuffled.promoter, small.promoter)
    assert sorted(shuffled.mrna_length) == sorted(small.mrna_length)
    moved = shuffled.mrna.groupby("gene")["value"].sum().sort_values().to_numpy()
    assert np.allclose(moved, small.mrna.groupby("gene")["value"].sum().sort_values().to_numpy())
    assert (shuffled.mrna_length.to_numpy() != small.mrna_length.to_numpy()).any()
    table = branch_ablation(small, cnn_params=dict(n_restarts=1, max_epochs=2, patience=1, **SMALL))
    assert list(table.columns) == ["full", "mrna_shuffled", "promoter_shuffled"] and len(table) == 5


# --- attribution -----------------------------------------------------------

def test_deeplift_completeness_and_agreement_with_shap(trained):
    data, fit = trained
    cnn, pre = fit.cnn, fit.preprocessor
    X = pre.transform(data, fit.split.test[:12])
    m, p, ln = X.dense(np.arange(12))
    a_m, a_p, delta = deeplift(cnn, pre, m, p, ln)
    assert np.allclose(a_m.sum(axis=(2, 3)) + a_p.sum(axis=(2, 3)), delta, atol=1e-4)
    explainer, m = shap_explainer(cnn, pre, m)
    values = explainer.shap_values([torch.from_numpy(m[:3]), torch.from_numpy(p[:3])], check_additivity=False)
    ours_m, _, _ = deeplift(cnn, pre, m[:3], p[:3], ln[:3])
    assert np.allclose(np.moveaxis(values[0], -1, 1), ours_m, atol=1e-4)


def test_planted_regulators_rank_first_in_attribution(trained):
    data, fit = trained
    scores = regulator_attribution(fit.cnn, fit.preprocessor, fit.preprocessor.transform(data, fit.split.test))
    for regulator, tissue in (("promoter:HNF4A", "Liver"), ("promoter:MYOD1", "Muscle - Skeletal"),
                              ("mrna:ELAVL1", "Brain - Cortex"), ("promoter:CTCF", "median")):
        assert scores[tissue].idxmax() == regulator, scores[tissue].sort_values().tail(3)
    assert scores["Liver"].idxmin() == "mrna:hsa-miR-122-5p"
    # SPI1 acts only within 500 bp of the TSS and binds 12% of genes; the published promoter
    # branch (kernel-1 convolutions summed over bins) cannot see position, so its signal is
    # diluted by upstream sites: it ranks near the top, not always first.
    assert "promoter:SPI1" in scores["Whole Blood"].nlargest(5).index


def test_gene_attribution_map_sums_to_the_prediction_change(trained):
    data, fit = trained
    X = fit.preprocessor.transform(data, fit.split.test)
    gene = fit.split.test[0]
    result = gene_attribution(fit.cnn, fit.preprocessor, X, gene, "Liver")
    assert result.promoter.shape[1] == 30 and result.mrna.shape[1] == int(data.mrna_length[gene])
    # channel 0 is left out of the map, so the sum equals the change up to its (separate) share
    m, p, ln = X.dense([X.genes.index(gene)])
    a_m, a_p, delta = deeplift(fit.cnn, fit.preprocessor, m, p, ln, tasks=[fit.tasks.index("Liver")])
    channel0 = a_m[0, 0, 0].sum() + a_p[0, 0, 0].sum()
    assert result.promoter.to_numpy().sum() + result.mrna.to_numpy().sum() + channel0 == pytest.approx(
        result.prediction - result.reference_prediction, abs=1e-3)


# --- edits -----------------------------------------------------------------

def test_edits_repredict_consistently(trained):
    data, fit = trained
    cnn, pre = fit.cnn, fit.preprocessor
    gene = fit.split.test[3]
    binding = gene_binding(data, gene)
    unchanged = predict_edit(cnn, pre, binding, fraction=0.0, promoter_bins=(0, 29))
    assert np.allclose(unchanged["change"], 0, atol=1e-6)
    assert np.allclose(unchanged["before"], fit.predictions.loc[gene], atol=1e-4)
    unbound = [f for i, f in enumerate(binding.promoter_features) if i and binding.promoter[i].sum() == 0][0]
    assert np.allclose(predict_edit(cnn, pre, binding, knockout=[unbound])["change"], 0, atol=1e-6)
    p, m = edit_binding(binding, mrna_bins=(2, 4), fraction=0.5, knockout=["promoter:HNF4A"])
    assert np.allclose(m[1:, 2:5], binding.mrna[1:, 2:5] * 0.5) and np.array_equal(m[0], binding.mrna[0])
    assert not p[binding.promoter_features.index("HNF4A")].any()
    with pytest.raises(InputError, match="unknown regulator"):
        edit_binding(binding, knockout=["NOPE"])
    with pytest.raises(InputError, match="between 0 and 1"):
        edit_binding(binding, fraction=2)
    # a planted knockout moves the planted tissue the planted way
    bound = data.promoter[data.promoter["feature"] == data.promoter_features.index("HNF4A")]
    top = data.genes[int(bound.groupby("gene")["value"].sum().idxmax())]
    change = predict_edit(cnn, pre, gene_binding(data, top), knockout=["HNF4A"])["change"]
    assert change["Liver"] < -0.5 and change["Liver"] == change.drop("median").min()


def test_coexpression_experiment_regression(trained):
    data, fit = trained
    cnn, pre = fit.cnn, fit.preprocessor
    bound = data.promoter[data.promoter["feature"] == data.promoter_features.index("HNF4A")]
    gene_a = data.genes[int(bound.groupby("gene")["value"].sum().idxmax())]
    liver_high = fit.predictions.drop(columns="median")["Liver"].idxmax()
    gene_b = liver_high if liver_high != gene_a else fit.predictions["Liver"].nlargest(2).index[1]
    res = coexpression_experiment(cnn, pre, data, gene_a, gene_b, n=200, seed=1)
    assert res.correlations.shape == (200,) and res.design.shape[0] == 200
    # correlations are Spearman correlations of re-predicted profiles (checked against scipy for one draw)
    tissues = [i for i, t in enumerate(pre.tasks_) if t != "median"]
    b = gene_binding(data, gene_b)
    prof_b = predict_edited(cnn, pre, b.promoter[None], b.mrna[None], b.length)[0, tissues]
    a = gene_binding(data, gene_a)
    prof_a = predict_edited(cnn, pre, a.promoter[None], a.mrna[None], a.length)[0, tissues]
    assert res.baseline == pytest.approx(stats.spearmanr(prof_a, prof_b)[0])
    # OLS effects equal numpy least squares; Bonferroni = p x number of terms
    terms = res.effects["term"].tolist()
    design = np.column_stack([np.ones(200), res.design[terms].to_numpy(float)])
    coef = np.linalg.lstsq(design, res.correlations, rcond=None)[0]
    assert np.allclose(coef[1:], res.effects["effect"], atol=1e-8)
    assert np.allclose(res.effects["p_bonferroni"], np.minimum(1, res.effects["p"] * len(terms)))
    # HNF4A drives A's Liver expression, so removing it lowers A's co-expression with a Liver gene
    hnf = res.effects.set_index("term").loc["promoter:HNF4A"]
    assert hnf["effect"] < 0 and hnf["p_bonferroni"] < 0.05
    with pytest.raises(InputError, match="two different genes"):
        coexpression_experiment(cnn, pre, data, gene_a, gene_a)


def test_fast_rna_sum_equals_the_literal_convolution(small):
    torch.manual_seed(1)
    pre = DecodePreprocessor(min_genes=0).fit(small, small.genes)
    X = pre.transform(small)
    net = DecodeNet(X.n_mrna, X.n_promoter, 3, **SMALL).eval()
    m, _, ln = X.dense(np.arange(40))
    m, ln = torch.from_numpy(m), torch.from_numpy(ln)
    short = torch.zeros(2, X.n_mrna, 4)
    short[:, :, :2] = torch.rand(2, X.n_mrna, 2)  # genes of 1 and 2 bins
    with torch.no_grad():
        assert torch.allclose(net._rna_sum(m, ln), net.masked_rna_sum(m, ln), rtol=1e-4, atol=1e-3)
        lens = torch.tensor([1, 2])
        short[0, :, 1] = 0
        assert torch.allclose(net._rna_sum(short, lens), net.masked_rna_sum(short, lens), atol=1e-5)


@pytest.mark.skipif(not TOY.is_dir(), reason="../shared/data/decode_toy is absent")
def test_real_gtex_targetscan_subset_learns_median_expression():
    """Real data (miRNA features only): both models predict held-out genes' median expression.

    Full-size numbers come from ``python -m core.decode.validate --data ../shared/data/decode_toy``.
    """
    data = load_decode_toy(TOY)
    fit = train_decode(data, cnn=DecodeCNN(n_restarts=1, max_epochs=12, patience=4, **SMALL))
    assert fit.preprocessor.promoter_keep_.size == 0 and fit.cnn.module_.promoter is None
    assert len(fit.split.test) == 270
    assert fit.performance.loc["median", "ridge"] > 0.35
    assert fit.performance.loc["median", "cnn"] > 0.2
