"""Valid files of every registrable kind, written from the demo datasets, as users would bring them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def depmap_files(folder: Path, n_cells: int = 120, n_genes: int = 60, seed: int = 0) -> dict[str, list[Path]]:
    """A DepMap 'current' release triple cut from the essentiality demo."""
    from core.datasets import make_essentiality_demo

    data = make_essentiality_demo(seed=seed, n_cells=n_cells, n_lineages=4, n_genes=n_genes + 105, n_targets=70)
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"ACH-{i:06d}" for i in range(1, len(data.expression) + 1)]

    def columns(names):
        return [f"{g} ({900000 + i})" for i, g in enumerate(names)]

    effect = data.effect.copy()
    effect.index, effect.columns = pd.Index(ids, name="ModelID"), columns(effect.columns)
    expression = data.expression.copy()
    expression.index, expression.columns = ids, columns(expression.columns)
    model = pd.DataFrame({"ModelID": ids, "CellLineName": [f"LINE{i}" for i in range(len(ids))],
                          "OncotreeLineage": data.cells["lineage"].to_numpy()})
    paths = {"effect": folder / "CRISPRGeneEffect.csv",
             "expression": folder / "OmicsExpressionProteinCodingGenesTPMLogp1.csv",
             "models": folder / "Model.csv"}
    effect.to_csv(paths["effect"])
    expression.to_csv(paths["expression"])
    model.to_csv(paths["models"], index=False)
    return {role: [path] for role, path in paths.items()}


def singlecell_file(folder: Path, n_genes: int = 30, n_cells: int = 120, seed: int = 0) -> dict[str, list[Path]]:
    """A genes x cells CSV from the DKO demo."""
    from core.datasets import make_dko_demo

    data = make_dko_demo(seed=seed, n_genes=n_genes, n_cells=n_cells, n_knockouts=10)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "counts.csv"
    data.expression.to_csv(path)
    return {"matrix": [path]}


def decode_file(folder: Path, n_genes: int = 300, seed: int = 0) -> dict[str, list[Path]]:
    """A DEcode bundle (.npz) of a small demo."""
    from core.datasets import make_decode_demo, write_decode

    folder.mkdir(parents=True, exist_ok=True)
    path = write_decode(make_decode_demo(seed=seed, n_genes=n_genes, n_tissues=6), folder / "bundle.npz")
    return {"bundle": [Path(path)]}


def perturbation_files(folder: Path, n_genes: int = 300, seed: int = 0) -> dict[str, list[Path]]:
    """Network edge lists (space separated) and RNAi (CSV) / OE (GCT) signatures from the perturbation demo."""
    from core.datasets import make_perturbation_demo
    from core.datasets.signatures import save_gct

    data = make_perturbation_demo(seed=seed, n_genes=n_genes, n_landmarks=50, n_measured=60)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[Path]] = {"network": []}
    for i, (name, edges) in enumerate(data.layers.items()):
        path = folder / f"layer{i}_{name.replace(' ', '_')}.txt"
        edges.to_csv(path, sep=" ", header=False, index=False)
        files["network"].append(path)
    files["RNAi"] = [folder / "rnai.csv"]
    data.signatures["RNAi"].to_csv(files["RNAi"][0])
    files["OE"] = [folder / "oe.gct"]
    save_gct(data.signatures["OE"], files["OE"][0])
    return files


def gmt_file(folder: Path, seed: int = 0) -> dict[str, list[Path]]:
    """A gzipped GMT library over the genes of :func:`depmap_files` (same seed): simulated pathways that hold
    its planted modifier sets, as the demo's."""
    from core.datasets import make_essentiality_demo
    from core.datasets.essentiality_pathways import make_demo_pathways
    from core.datasets.gene_sets import write_gmt

    data = make_essentiality_demo(seed=seed, n_cells=120, n_lineages=4, n_genes=165, n_targets=70)
    folder.mkdir(parents=True, exist_ok=True)
    return {"gmt": [write_gmt(make_demo_pathways(data, n_random=30, size=(5, 40)), folder / "pathways.gmt.gz")]}


def all_kinds(folder: Path) -> dict[str, dict[str, list[Path]]]:
    """kind -> role -> paths, one valid dataset of each kind."""
    return {"essentiality": depmap_files(folder / "depmap"), "dko": singlecell_file(folder / "sc"),
            "decode": decode_file(folder / "decode"), "perturbation": perturbation_files(folder / "pert"),
            "genesets": gmt_file(folder / "gmt")}


__all__ = ["all_kinds", "decode_file", "depmap_files", "gmt_file", "perturbation_files", "singlecell_file", "np"]
