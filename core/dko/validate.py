"""Validation of DKO against the authors' outputs and against the demo's true knockouts.

``python -m core.dko.validate [FOLDER]`` prints one JSON object per check;
FOLDER defaults to ``../shared/data/dko_example`` (the authors' example with
their reference outputs, not shipped with the project).
``python -m core.dko.validate FILE.h5ad [STEPS]`` evaluates DKO on a real
annotated file instead (see :func:`validate_annotated`).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core.dko.data import bray_curtis
from core.dko.estimator import DKO
from core.dko.evaluation import heldout_evaluation
from core.dko.knockouts import knockout_impacts


def validate_example(folder: str | Path, n_steps: int = 2000, val_every: int = 5, seed: int = 0) -> dict:
    """Compare with the authors' example outputs (their training was unseeded: agreement is statistical).

    Parameters
    ----------
    folder
        ``dko_example`` with ``data/Ptrain.csv`` and ``results/``.
    n_steps, val_every, seed
        Training settings (the authors use 5,000 steps and validate every step).

    Returns
    -------
    dict
        Held-out Bray-Curtis (ours and the authors' ``mapping_prediction`` vs
        ``mapping_true``), and the Spearman correlation of our single-knockout
        impacts with their ``Impact_results.csv`` (overall and per cell).
    """
    from scipy.stats import mannwhitneyu, spearmanr

    from core.datasets.singlecell import load_singlecell

    folder = Path(folder)
    P = load_singlecell(folder / "data" / "Ptrain.csv")
    started = time.perf_counter()
    held = heldout_evaluation(P, seed=seed, n_steps=n_steps, val_every=val_every)
    pred = np.loadtxt(folder / "results" / "mapping_prediction.csv", delimiter=",")
    true = np.loadtxt(folder / "results" / "mapping_true.csv", delimiter=",")
    theirs = bray_curtis(pred, true, axis=1)
    ours = held.per_cell["bray_curtis"].to_numpy()
    model = DKO(n_steps=n_steps, val_every=val_every, random_state=seed).fit(P)
    table = knockout_impacts(model, P)
    ref = pd.read_csv(folder / "results" / "Impact_results.csv")
    ref = ref.assign(gene=[f"gene_{i + 1}" for i in ref["gene_id"]], cell=[f"cell_{j + 1}" for j in ref["cell_id"]])
    merged = ref.merge(table, on=["gene", "cell"], how="inner")
    per_cell = [spearmanr(g["impact"], g["k_pred"])[0] for _, g in merged.groupby("cell") if len(g) > 5]
    gene_mean = merged.groupby("gene")[["impact", "k_pred"]].mean()
    return {
        "check": "dko_example",
        "heldout_bray_curtis_median_ours": float(np.median(ours)),
        "heldout_bray_curtis_mean_ours": float(ours.mean()),
        "heldout_bray_curtis_median_authors": float(np.median(theirs)),
        "heldout_bray_curtis_mean_authors": float(theirs.mean()),
        "heldout_mannwhitney_p": float(mannwhitneyu(ours, theirs).pvalue),
        "n_knockouts_ours": int(len(table)),
        "n_knockouts_authors": int(len(ref)),
        "n_matched": int(len(merged)),
        "impact_spearman_all": float(spearmanr(merged["impact"], merged["k_pred"])[0]),
        "impact_spearman_per_cell_median": float(np.median(per_cell)),
        "impact_spearman_gene_means": float(spearmanr(gene_mean["impact"], gene_mean["k_pred"])[0]),
        "impact_mean_ours": float(merged["impact"].mean()),
        "impact_mean_authors": float(merged["k_pred"].mean()),
        "n_steps": n_steps, "val_every": val_every, "seconds": round(time.perf_counter() - started, 1),
    }


def validate_demo(data=None, n_steps: int = 2000, val_every: int = 5, seed: int = 0) -> dict:
    """Spearman correlation of predicted impacts with the simulator's true knockout impacts.

    Parameters
    ----------
    data : DKODemo, optional
        Simulated data with true knockouts (default: the demo).
    n_steps, val_every, seed : int
        DKO training (see :class:`core.dko.DKO`).
    """
    from scipy.stats import spearmanr

    from core.datasets import load_demo
    from core.datasets.dko_demo import true_knockout_impact

    data = load_demo("dko") if data is None else data
    started = time.perf_counter()
    model = DKO(n_steps=n_steps, val_every=val_every, random_state=seed).fit(data.expression)
    table = knockout_impacts(model, data.expression, cells=sorted(set(data.knockouts["cell"])))
    merged = data.knockouts.merge(table, on=["gene", "cell"])
    truth = true_knockout_impact(data).loc[merged["sample"]].to_numpy()
    keystone = merged["gene"].isin(data.keystones).to_numpy()
    return {
        "check": "dko_demo",
        "n_knockouts": int(len(merged)),
        "impact_spearman": float(spearmanr(merged["impact"], truth)[0]),
        "impact_others_spearman": float(spearmanr(merged["impact_others"], truth)[0]),
        "keystone_mean_impact": float(merged.loc[keystone, "impact"].mean()),
        "other_mean_impact": float(merged.loc[~keystone, "impact"].mean()),
        "best_val_bray_curtis": model.best_val_loss_,
        "n_steps": n_steps, "val_every": val_every, "seconds": round(time.perf_counter() - started, 1),
    }


def validate_annotated(path: str | Path, group_by: str | None = None, genes: str = "hvg", n_steps: int = 1000,
                       val_every: int = 5, seed: int = 0, top: int = 3) -> dict:
    """DKO on a real annotated single-cell file (e.g. scanpy's ``10x_pbmc68k_reduced.h5ad``).

    The file is read as the Datasets page registers it (default matrix, gene
    selection ``genes``). Held-out Bray-Curtis of DKO (80/20 split, as the
    page's step 1) is compared with the mean-profile baselines of
    :func:`core.dko.mean_profile_baseline` on the same cells; a model trained on
    all cells then knocks out every present gene, and the genes with the
    largest mean impact per group of ``group_by`` (default: the file's
    cell-type-like annotation) are listed.

    Parameters
    ----------
    path : str or Path
        An ``.h5ad`` file.
    group_by : str, optional
        Cell annotation the top genes are listed by.
    genes : str
        Gene selection, as on the Datasets page (``"hvg"``).
    n_steps, val_every, seed : int
        DKO training (see :class:`core.dko.DKO`).
    top : int
        Genes listed per group.

    Returns
    -------
    dict
        Medians and means of the held-out Bray-Curtis (DKO, baselines), the
        fraction of cells where DKO beats each baseline, training seconds, and
        ``top_genes``: group -> genes with mean impacts.
    """
    from core.datasets.registry import validate
    from core.datasets.cell_annotations import cell_grouping
    from core.dko.evaluation import mean_profile_baseline
    from core.dko.explore import top_knockouts_by_group

    started = time.perf_counter()
    prepared, report = validate("dko", {"matrix": [Path(path)]}, {"genes": genes})
    if prepared is None or not report.ok:
        raise ValueError("; ".join(text for level, text in report.checks if level == "error"))
    expr = prepared.expression
    group_by = group_by or prepared.info.get("default_grouping")
    labels = cell_grouping(prepared.cells, group_by, Path(path).name)
    held = heldout_evaluation(expr, seed=seed, n_steps=n_steps, val_every=val_every)
    base = mean_profile_baseline(expr, held.per_cell["cell"]).merge(held.per_cell, on="cell")
    model = DKO(n_steps=n_steps, val_every=val_every, random_state=seed).fit(expr)
    table = knockout_impacts(model, expr)
    tops = top_knockouts_by_group(table, labels, n=top)
    return {
        "check": f"annotated:{Path(path).name}",
        "matrix": prepared.info["matrix"], "genes": int(expr.shape[0]), "cells": int(expr.shape[1]),
        "gene_selection": prepared.info["genes_note"], "group_by": group_by,
        "n_heldout": int(len(base)),
        "heldout_bray_curtis_median_dko": float(base["bray_curtis"].median()),
        "heldout_bray_curtis_median_mean_profile": float(base["mean"].median()),
        "heldout_bray_curtis_median_mean_profile_present_genes": float(base["mean_present"].median()),
        "heldout_bray_curtis_mean_dko": float(base["bray_curtis"].mean()),
        "heldout_bray_curtis_mean_mean_profile": float(base["mean"].mean()),
        "heldout_bray_curtis_mean_mean_profile_present_genes": float(base["mean_present"].mean()),
        "fraction_cells_dko_beats_mean_profile": float((base["bray_curtis"] < base["mean"]).mean()),
        "fraction_cells_dko_beats_present_genes_baseline": float((base["bray_curtis"] < base["mean_present"]).mean()),
        "train_seconds_heldout_model": round(held.model.fit_seconds_, 2),
        "train_seconds_all_cells_model": round(model.fit_seconds_, 2),
        "n_knockouts": int(len(table)),
        "top_genes": {g: [f"{r.gene} ({r.mean_impact:.4f})" for r in part.itertuples()]
                      for g, part in tops.groupby("group", sort=False)},
        "n_steps": n_steps, "val_every": val_every, "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str]) -> None:
    """Command-line entry point.

    Parameters
    ----------
    argv : list of str
        Arguments, as ``sys.argv[1:]``.
    """
    import torch

    torch.set_num_threads(1)
    if argv and argv[0].endswith((".h5ad", ".h5", ".zip")):
        steps = int(argv[1]) if len(argv) > 1 else 1000
        print(json.dumps(validate_annotated(argv[0], n_steps=steps)), flush=True)
        return
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parents[3] / "shared" / "data" / "dko_example"
    steps = int(argv[1]) if len(argv) > 1 else 2000
    if folder.is_dir():
        print(json.dumps(validate_example(folder, n_steps=steps)), flush=True)
    else:
        print(json.dumps({"check": "dko_example", "skipped": f"{folder} not found"}), flush=True)
    print(json.dumps(validate_demo(n_steps=steps)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
