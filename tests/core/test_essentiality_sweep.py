"""Genome-wide sweep: summary rows, BH over targets, resume after interruption, Dask cluster."""

import numpy as np
import pandas as pd
import pytest

from core.errors import InputError
from core.essentiality import SWEEP_COLUMNS, evaluate_gene, sweep
from core.stats import bh_fdr

MODELS = ["ols", "tree"]


@pytest.fixture(scope="module")
def tiny():
    from core.datasets import load_demo

    demo = load_demo("essentiality")
    cells = demo.expression.index[:240]
    keep = ["RPP25", "MCL1", "BCL2L1", "PMAIP1", "FAM50B", "MLH1", "BCL2", "BAK1"]
    genes = keep + [g for g in demo.expression.columns if g.startswith("SIM")][:150]
    noise = demo.truth.loc[demo.truth["kind"] == "noise", "target"].tolist()[:2]
    targets = ["RPP25L", "MCL1", "FAM50A", "WRN", *noise]
    return demo.expression.loc[cells, genes], demo.effect.loc[cells, targets]


def test_sweep_rows_equal_evaluate_gene_and_bh_over_targets(tiny):
    expression, effect = tiny
    table = sweep(expression, effect, n_jobs=1, models=MODELS)
    assert list(table.columns)[:len(SWEEP_COLUMNS)] == SWEEP_COLUMNS
    assert list(table["target"]) == list(effect.columns)
    report = evaluate_gene(expression, effect["MCL1"], models=MODELS)
    row = table.set_index("target").loc["MCL1"]
    assert row["chosen_model"] == report.chosen_model and row["test_pearson"] == pytest.approx(report.test_pearson)
    assert row["modifiers"] == ";".join(report.modifiers) and row["n_modifiers"] == len(report.modifiers)
    np.testing.assert_allclose(table["q"], bh_fdr(table["test_pearson_p"].to_numpy()), equal_nan=True)
    assert table.set_index("target").loc["RPP25L", "q"] < 1e-6
    assert not table["resumed"].any()


def test_interrupted_sweep_resumes_where_it_stopped(tiny, tmp_path):
    expression, effect = tiny
    done = []

    def stop_after_two(fraction, message):
        if "targets (" in message:
            done.append(message)
            if len(done) == 2:
                raise KeyboardInterrupt("user closed the laptop")

    with pytest.raises(KeyboardInterrupt):
        sweep(expression, effect, n_jobs=1, models=MODELS, store=tmp_path, progress=stop_after_two)
    assert len(list(tmp_path.glob("*/*.json"))) == 2
    resumed = sweep(expression, effect, n_jobs=1, models=MODELS, store=tmp_path)
    assert int(resumed["resumed"].sum()) == 2
    fresh = sweep(expression, effect, n_jobs=1, models=MODELS)
    pd.testing.assert_frame_equal(resumed.drop(columns="resumed"), fresh.drop(columns="resumed"))
    again = sweep(expression, effect, n_jobs=1, models=MODELS, store=tmp_path)
    assert again["resumed"].all()
    # other settings never reuse these rows
    other = sweep(expression, effect[["MCL1"]], n_jobs=1, models=["ols"], store=tmp_path)
    assert not other["resumed"].any()


def test_sweep_on_a_local_dask_cluster_equals_local_run(tiny):
    from distributed import LocalCluster

    expression, effect = tiny
    targets = ["RPP25L", "MCL1"]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        remote = sweep(expression, effect, targets=targets, scheduler=cluster.scheduler_address, models=MODELS)
    local = sweep(expression, effect, targets=targets, n_jobs=1, models=MODELS)
    pd.testing.assert_frame_equal(remote, local)
    processes = sweep(expression, effect, targets=targets, n_jobs=2, models=MODELS)  # joblib's loky workers
    pd.testing.assert_frame_equal(processes, local)


def test_sweep_bad_input(tiny):
    expression, effect = tiny
    with pytest.raises(InputError, match="NOPE"):
        sweep(expression, effect, targets=["NOPE"], n_jobs=1)
    with pytest.raises(InputError, match="cells x targets"):
        sweep(expression, effect["MCL1"], n_jobs=1)
