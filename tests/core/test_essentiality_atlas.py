"""build_atlas: one split for all targets, each row equal to evaluate_gene with that split; resumable; Dask."""

import numpy as np
import pandas as pd
import pytest

from core.errors import InputError
from core.essentiality import ATLAS_COLUMNS, ATLAS_MODELS, atlas_split, build_atlas, evaluate_gene
from core.stats import bh_fdr


@pytest.fixture(scope="module")
def panel():
    from core.datasets import load_demo

    demo = load_demo("essentiality")
    truth = demo.truth.set_index("target")
    targets = ["RPP25L", "MCL1", "FAM50A", "KRAS", *truth.index[truth["kind"] == "noise"][:3]]
    missing = demo.effect.columns[demo.effect.isna().any()][:3].tolist()  # a screen batch and QC gaps
    genes = sorted(set(demo.expression.columns[:400]) | set(";".join(truth["modifiers"].fillna("")).split(";")) - {""})
    return demo.expression[genes], demo.effect[list(dict.fromkeys(targets + missing))]


@pytest.fixture(scope="module")
def atlas(panel):
    expression, effects = panel
    return build_atlas(expression, effects, batch_size=4)


def test_rows_equal_evaluate_gene_on_the_atlas_split(panel, atlas):
    expression, effects = panel
    assert list(atlas.columns) == ATLAS_COLUMNS
    assert list(atlas["target"]) == list(effects.columns)
    split = atlas_split(expression.index.intersection(effects.index))
    for row in atlas.itertuples():
        report = evaluate_gene(expression, effects[row.target], split=split, models=ATLAS_MODELS)
        assert row.chosen_model == report.chosen_model
        assert row.modifiers == ";".join(report.modifiers)
        assert row.pearson_modifiers == ";".join(report.selection.sets["pearson"])
        np.testing.assert_allclose([row.test_pearson, row.test_rmse, row.baseline_test_rmse],
                                   [report.test_pearson, report.test_rmse, report.baseline_test_rmse], rtol=1e-9)
        assert row.n_test == (report.predictions["split"] == "test").sum()
    np.testing.assert_allclose(atlas["q"], bh_fdr(atlas["test_pearson_p"].to_numpy()), equal_nan=True)


def test_planted_truth_and_the_split(panel, atlas):
    expression, effects = panel
    row = atlas.set_index("target").loc["RPP25L"]
    assert row["modifiers"].split(";")[0] == "RPP25" and row["test_pearson"] > 0.8 and row["q"] < 1e-10
    noise = atlas[atlas["target"].str.startswith("SIM")]
    assert not (noise["q"] < 0.05).any()  # pure-noise targets are never called predictable
    # one split for all targets: a complete target's split is evaluate_gene's default random split
    report = evaluate_gene(expression, effects["RPP25L"], models=ATLAS_MODELS)
    assert report.test_pearson == pytest.approx(row["test_pearson"])
    train, test = atlas_split(expression.index)
    assert len(test) == 250 and not set(train) & set(test)


def test_resumes_from_its_store(panel, atlas, tmp_path):
    expression, effects = panel
    calls = []
    first = build_atlas(expression, effects, batch_size=4, store=tmp_path,
                        progress=lambda f, m: calls.append(f))
    pd.testing.assert_frame_equal(first, atlas)
    assert calls[-1] == 1.0
    again = []
    second = build_atlas(expression, effects, batch_size=4, store=tmp_path, progress=lambda f, m: again.append(m))
    pd.testing.assert_frame_equal(second, atlas)
    assert "already done" in again[0] and again[0].startswith(f"{len(effects.columns)} of")


def test_local_processes_give_the_same_atlas(panel, atlas):
    expression, effects = panel
    pd.testing.assert_frame_equal(build_atlas(expression, effects, batch_size=4, n_jobs=2), atlas)


def test_dask_cluster_gives_the_same_atlas_with_the_expression_sent_once(panel, atlas, monkeypatch):
    from distributed import Client, Future, LocalCluster

    expression, effects = panel
    scattered, submitted = [], []
    real_scatter, real_submit = Client.scatter, Client.submit
    monkeypatch.setattr(Client, "scatter", lambda self, data, **kw: scattered.append(data) or real_scatter(self, data, **kw))
    monkeypatch.setattr(Client, "submit", lambda self, func, *args, **kw: submitted.append(args) or real_submit(
        self, func, *args, **kw))
    progress = []
    # in-process workers keep the test lean; the arguments still pass through the scheduler as on a real cluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        on_dask = build_atlas(expression, effects, batch_size=4, scheduler=cluster.scheduler_address,
                              progress=lambda fraction, message: progress.append(fraction))
    pd.testing.assert_frame_equal(on_dask, atlas, check_exact=True)
    n_batches = -(-len(effects.columns) // 4)
    # the matrix is scattered once; every batch task names it (one shared future) and carries only its targets
    assert len(scattered) == 1 and scattered[0][0].shape == expression.shape
    assert len(submitted) == n_batches
    shared = {args[0].key for args in submitted}
    assert len(shared) == 1 and all(isinstance(args[0], Future) for args in submitted)
    assert not any(isinstance(a, np.ndarray) and a.size >= expression.size for args in submitted for a in args)
    # progress after every finished batch, as the job panel and the CLI's bar show it
    assert len(progress) == n_batches + 2 and progress == sorted(progress) and progress[-1] == 1.0


def test_bad_input(panel):
    expression, effects = panel
    with pytest.raises(InputError, match="no gene-effect column"):
        build_atlas(expression, effects, targets=["NOPE"])
    with pytest.raises(InputError, match="cell-line ids match"):
        build_atlas(expression.iloc[:20], effects)
    with pytest.raises(InputError, match="unknown model"):
        build_atlas(expression, effects, models=["magic"])
