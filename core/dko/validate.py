"""Validation of DKO against the authors' outputs and against the demo's true knockouts.

``python -m core.dko.validate [FOLDER]`` prints one JSON object per check;
FOLDER defaults to ``../shared/data/dko_example`` (the authors' example with
their reference outputs, not shipped with the project).
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
    model = DKO(n_steps=n_steps, val_every=val_every, seed=seed).fit(P)
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
    """Spearman correlation of predicted impacts with the simulator's true knockout impacts."""
    from scipy.stats import spearmanr

    from core.datasets import load_demo
    from core.datasets.dko_demo import true_knockout_impact

    data = load_demo("dko") if data is None else data
    started = time.perf_counter()
    model = DKO(n_steps=n_steps, val_every=val_every, seed=seed).fit(data.expression)
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


def main(argv: list[str]) -> None:
    import torch

    torch.set_num_threads(1)
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parents[3] / "shared" / "data" / "dko_example"
    steps = int(argv[1]) if len(argv) > 1 else 2000
    if folder.is_dir():
        print(json.dumps(validate_example(folder, n_steps=steps)), flush=True)
    else:
        print(json.dumps({"check": "dko_example", "skipped": f"{folder} not found"}), flush=True)
    print(json.dumps(validate_demo(n_steps=steps)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
