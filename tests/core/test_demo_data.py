"""Tests of the seeded demo-data generators: determinism, storage, ranges, planted truth."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import braycurtis
from statsmodels.stats.multitest import multipletests

from core.datasets import (
    DEMO_KINDS,
    DecodeData,
    DKOData,
    EssentialityData,
    PerturbationData,
    load_demo,
    make_decode_demo,
    make_dko_demo,
    make_essentiality_demo,
    make_perturbation_demo,
    true_knockout_impact,
)
from core.datasets.build_demo import MANIFEST, build_one, main
from core.datasets.decode_demo import NEAR_TSS
from core.datasets.genes import is_synthetic, split_list
from core.errors import InputError

SMALL = {
    "essentiality": (make_essentiality_demo, {"n_cells": 300, "n_genes": 400, "n_targets": 100}),
    "decode": (make_decode_demo, {"n_genes": 300, "n_tissues": 8}),
    "dko": (make_dko_demo, {"n_genes": 30, "n_cells": 60, "n_knockouts": 40}),
    "perturbation": (make_perturbation_demo, {"n_genes": 400, "n_landmarks": 100, "n_measured": 80}),
}


def assert_same(a, b) -> None:
    """Field-by-field exact equality of two demo dataclasses."""
    assert type(a) is type(b)
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True)
            assert x.columns.name == y.columns.name
        elif isinstance(x, pd.Series):
            pd.testing.assert_series_equal(x, y, check_exact=True)
        elif isinstance(x, dict) and x and isinstance(next(iter(x.values())), pd.DataFrame):
            assert list(x) == list(y)
            for k in x:
                pd.testing.assert_frame_equal(x[k], y[k], check_exact=True)
        else:
            assert x == y, f.name


def differs(a, b) -> bool:
    try:
        assert_same(a, b)
    except AssertionError:
        return True
    return False


# fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ess() -> EssentialityData:
    return make_essentiality_demo(seed=0)


@pytest.fixture(scope="module")
def ess_small() -> EssentialityData:
    """1,000 cells (the size the truths are promised for) but fewer genes, for the slower checks."""
    return make_essentiality_demo(seed=1, n_cells=1000, n_genes=600, n_targets=120)


@pytest.fixture(scope="module")
def dec() -> DecodeData:
    return make_decode_demo(seed=0, n_genes=1200)


@pytest.fixture(scope="module")
def dko() -> DKOData:
    return make_dko_demo(seed=0, n_genes=60, n_cells=300, n_knockouts=200)


@pytest.fixture(scope="module")
def pert() -> PerturbationData:
    return make_perturbation_demo(seed=0, n_genes=1200, n_landmarks=300, n_measured=400)


# generic -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", DEMO_KINDS)
def test_same_seed_same_data_different_seed_different(kind):
    make, kwargs = SMALL[kind]
    a, b, c = make(seed=0, **kwargs), make(seed=0, **kwargs), make(seed=1, **kwargs)
    assert_same(a, b)
    assert differs(a, c)


@pytest.mark.parametrize("kind", DEMO_KINDS)
def test_save_load_round_trip_is_exact_and_pickle_free(kind, tmp_path):
    make, kwargs = SMALL[kind]
    data = make(seed=2, **kwargs)
    data.save(tmp_path / kind)
    assert_same(data, type(data).load(tmp_path / kind))
    assert_same(data, load_demo(kind, tmp_path / kind))
    suffixes = {p.suffix for p in (tmp_path / kind).rglob("*") if p.is_file()}
    assert suffixes <= {".parquet", ".json", ".npy"}


@pytest.mark.parametrize("kind", DEMO_KINDS)
def test_description_says_simulated(kind):
    make, kwargs = SMALL[kind]
    text = make(**kwargs).description
    assert text.startswith("SIMULATED") and len(text) > 200


@pytest.mark.parametrize(("make", "kwargs"), [
    (make_essentiality_demo, {"n_targets": 20}),
    (make_essentiality_demo, {"n_cells": 50}),
    (make_essentiality_demo, {"n_lineages": 40}),
    (make_decode_demo, {"n_tissues": 2}),
    (make_dko_demo, {"n_genes": 3}),
    (make_perturbation_demo, {"n_landmarks": 5000}),
])
def test_impossible_sizes_raise_input_error(make, kwargs):
    with pytest.raises(InputError):
        make(**kwargs)


def test_load_demo_errors(tmp_path):
    with pytest.raises(InputError, match="core.datasets.build_demo"):
        load_demo("dko", tmp_path / "absent")
    with pytest.raises(InputError, match="unknown demo"):
        load_demo("nope", tmp_path)
    make_dko_demo(**SMALL["dko"][1]).save(tmp_path / "dko")
    with pytest.raises(InputError, match="DKOData"):
        load_demo("decode", tmp_path / "dko")


def test_build_is_idempotent_and_leaves_no_temp_folders(tmp_path, capsys):
    assert build_one("dko", tmp_path, seed=0)[0] == "built"
    assert build_one("dko", tmp_path, seed=0)[0] == "skipped"
    manifest = json.loads((tmp_path / "dko" / MANIFEST).read_text())
    assert manifest["seed"] == 0 and manifest["sizes"]["expression"] == [120, 800]
    import hashlib

    for name, digest in manifest["files"].items():
        assert hashlib.sha256((tmp_path / "dko" / name).read_bytes()).hexdigest() == digest
    assert build_one("dko", tmp_path, seed=1)[0] == "built"  # another seed replaces it
    assert main(["--out", str(tmp_path), "--kind", "dko", "--seed", "1"]) == 0
    assert "skipped" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dko"]
    assert load_demo("dko", tmp_path / "dko").params["seed"] == 1


# essentiality ------------------------------------------------------------------------------


def test_essentiality_shapes_and_ranges(ess):
    x, e, cells, truth = ess.expression, ess.effect, ess.cells, ess.truth
    assert x.shape == (1000, 2000) and e.shape == (1000, 200)
    assert x.dtypes.eq(np.float32).all() and e.dtypes.eq(np.float32).all()
    assert x.index.name == "cell" and x.index.equals(e.index) and x.index.equals(cells.index)
    assert cells.index[0] == "SIMCL-0001"
    assert x.to_numpy().min() >= 0 and 8 < x.to_numpy().max() <= 14
    assert (x.to_numpy() == 0).mean() > 0.02  # low genes have many zeros
    assert 0.01 < e.isna().to_numpy().mean() < 0.03
    sizes = cells["lineage"].value_counts()
    assert len(sizes) == 20 and sizes["Prostate"] >= 30 and sizes.max() > 3 * sizes.min()
    assert {"Lung", "Breast", "Prostate", "Skin", "CNS/Brain", "Haematopoietic"} <= set(sizes.index)
    assert list(truth["target"]) == list(e.columns)
    kinds = truth.set_index("target")["kind"]
    noise, common = kinds.index[kinds == "noise"], kinds.index[kinds == "common_essential"]
    assert len(noise) >= 30
    assert abs(np.nanmean(e[noise].to_numpy())) < 0.1
    assert 0.15 < np.nanmean(e[noise].std().to_numpy()) < 0.35
    assert -1.15 < np.nanmean(e[common].to_numpy()) < -0.85
    for row in truth.itertuples():  # modifiers and targets all have expression columns
        assert row.target in x.columns and set(split_list(row.modifiers)) <= set(x.columns)
        assert len(split_list(row.modifiers)) == len(split_list(row.weights))
    planted = truth[truth["kind"].isin(["paralog", "linear", "lineage_specific_modifier", "common_essential"])]
    assert not any(is_synthetic(g) for g in planted["target"])
    assert all(is_synthetic(g) for g in noise)


def _top_abs_pearson(ess, target):
    y = ess.effect[target].to_numpy().astype(np.float64)
    keep = ~np.isnan(y)
    r = stats.pearsonr(y[keep][:, None], ess.expression.to_numpy()[keep].astype(np.float64), axis=0).statistic
    return pd.Series(np.abs(r), index=ess.expression.columns).sort_values(ascending=False)


def test_paralog_is_the_top_correlated_gene(ess):
    assert _top_abs_pearson(ess, "RPP25L").index[0] == "RPP25"
    for row in ess.truth[ess.truth["kind"] == "paralog"].itertuples():
        assert _top_abs_pearson(ess, row.target).index[0] == row.modifiers


def test_linear_modifier_sets_are_recoverable(ess):
    for row in ess.truth[ess.truth["kind"] == "linear"].itertuples():
        y = ess.effect[row.target]
        keep = y.notna().to_numpy()
        p = stats.pearsonr(y.to_numpy()[keep][:, None], ess.expression.to_numpy()[keep], axis=0).pvalue
        hits = set(ess.expression.columns[multipletests(p, alpha=0.05, method="fdr_bh")[0]])
        assert set(split_list(row.modifiers)) <= hits, row.target


def test_fam50a_depends_on_fam50b_except_in_prostate(ess):
    y, m = ess.effect["FAM50A"], ess.expression["FAM50B"]
    prostate = (ess.cells["lineage"] == "Prostate") & y.notna()
    others = (ess.cells["lineage"] != "Prostate") & y.notna()
    r_out, p_out = stats.pearsonr(m[others], y[others])
    r_in, p_in = stats.pearsonr(m[prostate], y[prostate])
    assert r_out > 0.5 and p_out < 1e-10
    assert abs(r_in) < 0.35 and p_in > 0.01
    assert ess.truth.set_index("target").at["FAM50A", "excluded_lineage"] == "Prostate"


@pytest.mark.parametrize("which", ["ess", "ess_small"])
def test_noise_targets_have_no_bh_significant_gene(which, request):
    data = request.getfixturevalue(which)
    x = data.expression.to_numpy().astype(np.float64)
    for target in data.truth.loc[data.truth["kind"] == "noise", "target"]:
        y = data.effect[target].to_numpy().astype(np.float64)
        keep = ~np.isnan(y)
        tests = [(y[keep], x[keep])]
        if which == "ess_small":  # Spearman too (ranking is the slow part, so on fewer genes)
            tests.append((stats.rankdata(y[keep]), stats.rankdata(x[keep], axis=0)))
        for yy, xx in tests:
            p = stats.pearsonr(yy[:, None], xx, axis=0).pvalue
            assert not multipletests(p, alpha=0.05, method="fdr_bh")[0].any(), target


# DEcode ------------------------------------------------------------------------------------


def test_decode_structure(dec):
    n = len(dec.genes)
    p, m = dec.promoter, dec.mrna
    assert list(p.columns) == ["gene", "feature", "bin", "value"] and list(m.columns) == list(p.columns)
    assert p["value"].dtype == np.float32 and m["value"].dtype == np.float32
    assert p["bin"].between(0, 29).all() and p["gene"].between(0, n - 1).all()
    assert (m["bin"].to_numpy() < dec.mrna_length.to_numpy()[m["gene"]]).all()
    assert p["value"].gt(0).all() and p["value"].le(1).all() and m["value"].gt(0).all() and m["value"].le(1).all()
    assert dec.promoter_features[0] == "promoter" and dec.mrna_features[0] == "exon"
    assert {"CTCF", "HNF4A", "MYOD1"} <= set(dec.promoter_features)
    assert {"ELAVL1", "hsa-miR-122-5p"} <= set(dec.mrna_features)
    assert dec.mrna_feature_kind.count("RBP") >= 20 and dec.mrna_feature_kind.count("miRNA") >= 30
    assert len(dec.promoter_features) >= 50
    assert dec.mrna_length.between(5, 80).all()
    exon = m[m["feature"] == 0]
    assert len(exon) == dec.mrna_length.sum()  # exon channel covers every bin
    assert p[p["feature"] == 0].groupby("gene").size().size == n  # every gene has a promoter mark
    assert 0.05 < (dec.chromosome == "chr1").mean() < 0.15
    assert set(dec.chromosome) <= {f"chr{i}" for i in range(1, 23)} | {"chrX"}
    tissues = dec.tissues
    assert len(tissues) == 24 and dec.targets.columns[-1] == "median"
    assert {"Liver", "Muscle - Skeletal", "Brain - Cortex", "Whole Blood"} <= set(tissues)
    assert np.allclose(np.median(dec.targets[tissues].to_numpy(), axis=1), 0, atol=1e-5)
    assert dec.promoter_array().shape == (n, len(dec.promoter_features), 30)
    assert dec.mrna_array().shape == (n, len(dec.mrna_features), dec.mrna_length.max())
    assert dec.mrna_array().sum() == pytest.approx(m["value"].sum(), rel=1e-5)


def test_decode_planted_regulators(dec):
    prom = dec.promoter_array()
    hnf4a = prom[:, dec.promoter_features.index("HNF4A"), NEAR_TSS[0] : NEAR_TSS[1] + 1].sum(axis=1)
    rho, p = stats.spearmanr(hnf4a, dec.targets["Liver"])
    assert rho > 0.25 and p < 1e-10
    totals = dec.binding_totals()
    rho, _ = stats.spearmanr(totals["mrna:hsa-miR-122-5p"], dec.targets["Liver"])
    assert rho < -0.15
    rho, _ = stats.spearmanr(totals["promoter:MYOD1"], dec.targets["Muscle - Skeletal"])
    assert rho > 0.2
    rho, _ = stats.spearmanr(totals["mrna:ELAVL1"], dec.targets["Brain - Cortex"])
    assert rho > 0.2


def test_decode_targets_are_learnable_on_held_out_genes(dec):
    from sklearn.linear_model import Ridge

    totals = dec.binding_totals().to_numpy()
    held_out = dec.chromosome.isin(["chr1", "chr2", "chr3"]).to_numpy()
    for tissue in ["Liver", "Muscle - Skeletal", "Whole Blood", "Brain - Cortex", "median"]:
        y = dec.targets[tissue].to_numpy()
        model = Ridge(alpha=10.0).fit(totals[~held_out], y[~held_out])
        rho, _ = stats.spearmanr(model.predict(totals[held_out]), y[held_out])
        assert rho > 0.3, tissue


# DKO ---------------------------------------------------------------------------------------


def test_dko_profiles(dko):
    e = dko.expression
    assert e.shape == (60, 300) and e.dtypes.eq(np.float64).all()
    assert (e.to_numpy() >= 0).all()
    present = e.to_numpy() > 0
    assert (e.to_numpy()[present] > 1e-6).all()  # present genes clearly > 0, absent exactly 0
    assert 0.6 < present.mean() < 0.8
    assert list(e.columns) == list(dko.cells.index) and dko.cells["cell_type"].nunique() == 5
    assert set(dko.network["regulator"]) | set(dko.network["target"]) <= set(e.index)
    assert (dko.network["regulator"] != dko.network["target"]).all()


def test_dko_knockouts(dko):
    ko, prof = dko.knockouts, dko.knockout_profiles
    assert len(ko) == 200 and list(prof.index) == list(ko["sample"])
    assert not ko.duplicated(["gene", "cell"]).any()
    for row in ko.itertuples():
        assert dko.expression.at[row.gene, row.cell] > 0  # knocked-out gene was present
        assert prof.at[row.sample, row.gene] == 0
        before = dko.expression[row.cell]
        assert (prof.loc[row.sample][before == 0] == 0).all()  # absent genes stay absent
    impact = true_knockout_impact(dko)
    for row, value in zip(ko.itertuples(), impact):
        u = prof.loc[row.sample].to_numpy()
        v = dko.expression[row.cell].to_numpy()
        assert value == pytest.approx(braycurtis(u / u.sum(), v / v.sum()), abs=1e-12)
    assert (impact > 0).all() and (impact < 1).all()
    keystone = ko["gene"].isin(dko.keystones).to_numpy()
    if keystone.any():
        assert impact[keystone].mean() > impact[~keystone].mean()
    first = ko.iloc[0]
    pd.testing.assert_series_equal(dko.knockout(first["cell"], [first["gene"]]),
                                   prof.loc[first["sample"]].rename(first["cell"]), check_names=False, atol=1e-10)


# perturbation ------------------------------------------------------------------------------


def test_perturbation_structure(pert):
    assert pert.genes["entrez"].is_unique and pert.genes.index.is_unique
    assert len(pert.layers) >= 3 and {"PPI", "co-expression", "pathway"} <= set(pert.layers)
    seen = set()
    edge_sets = []
    for df in pert.layers.values():
        assert list(df.columns) == ["gene1", "gene2", "weight"]
        assert df["weight"].gt(0).all() and df["weight"].le(1).all()
        assert (df["gene1"] < df["gene2"]).all()
        seen |= set(df["gene1"]) | set(df["gene2"])
        edge_sets.append(set(zip(df["gene1"], df["gene2"])))
    assert seen == set(pert.genes.index)
    assert all(a != b and a & b for a, b in [(edge_sets[0], edge_sets[1]), (edge_sets[0], edge_sets[2])])
    assert len(pert.landmarks) == 300 and set(pert.landmarks) <= set(pert.genes.index)
    assert set(pert.signatures) == {"RNAi", "CRISPR", "OE"}
    sets = {k: set(v.index) for k, v in pert.signatures.items()}
    assert sets["RNAi"] != sets["CRISPR"] and sets["RNAi"] & sets["CRISPR"] and sets["RNAi"] & sets["OE"]
    for sig in pert.signatures.values():
        assert list(sig.columns) == pert.landmarks and sig.dtypes.eq(np.float32).all()
        assert 0.7 < sig.to_numpy().std() < 1.5
    assert list(pert.truth.index) == list(pert.genes.index)


def _row_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = (a - a.mean(1, keepdims=True)) / a.std(1, keepdims=True)
    b = (b - b.mean(1, keepdims=True)) / b.std(1, keepdims=True)
    return (a * b).mean(1)


def test_network_neighbours_have_similar_signatures(pert):
    sig = pert.signatures["RNAi"]
    resid = sig - sig.mean()
    edges = pert.layers["PPI"]
    edges = edges[edges["gene1"].isin(sig.index) & edges["gene2"].isin(sig.index)]
    assert len(edges) >= 20
    neighbours = _row_corr(resid.loc[edges["gene1"]].to_numpy(), resid.loc[edges["gene2"]].to_numpy())
    rng = np.random.default_rng(0)
    a, b = rng.choice(sig.index, 2000), rng.choice(sig.index, 2000)
    random_pairs = _row_corr(resid.loc[a].to_numpy(), resid.loc[b].to_numpy())
    assert neighbours.mean() > random_pairs.mean() + 0.15
    assert stats.mannwhitneyu(neighbours, random_pairs, alternative="greater").pvalue < 1e-6


def test_perturbation_types_relate_and_mean_baseline_is_strong(pert):
    s = pert.signatures
    shared = sorted(set(s["RNAi"].index) & set(s["CRISPR"].index))
    assert _row_corr(s["RNAi"].loc[shared].to_numpy(), s["CRISPR"].loc[shared].to_numpy()).mean() > 0.4
    shared = sorted(set(s["RNAi"].index) & set(s["OE"].index))
    assert _row_corr(s["RNAi"].loc[shared].to_numpy(), s["OE"].loc[shared].to_numpy()).mean() < -0.1
    sig = s["CRISPR"]
    train, test = sig.iloc[::2], sig.iloc[1::2]
    baseline = np.broadcast_to(train.mean().to_numpy(), test.shape)
    assert _row_corr(baseline, test.to_numpy()).mean() > 0.4
