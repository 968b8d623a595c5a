"""Modifier-gene services: screen, per-target analysis and genome-wide sweep as cached jobs."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.errors import InputError
from dashboard.services import JobOutcome, cached_result, dataset, dataset_hash, run_cached_job


SCREEN = "essentiality.screen"


def essentiality_screen(target: str, n_permutations: int, set_progress=None) -> JobOutcome:
    """Background job: correlate ``target``'s effect with every gene's expression."""
    from core.essentiality import correlation_screen

    params = {"target": target, "n_permutations": int(n_permutations)}

    def compute(report):
        data = dataset("essentiality")
        if target not in data.effect.columns:
            raise InputError(f"{target} has no gene-effect scores in this dataset; pick one of the target genes.")
        table = correlation_screen(
            data.expression, data.effect[target], n_permutations=int(n_permutations), progress=report
        )
        return {"table": table}

    return run_cached_job(SCREEN, "essentiality", params, compute, set_progress)


def essentiality_screen_result(target: str, n_permutations: int) -> pd.DataFrame | None:
    """The stored screen for these parameters, or None."""
    params = {"target": target, "n_permutations": int(n_permutations)}
    payload = cached_result(SCREEN, "essentiality", params)
    return None if payload is None else payload["table"]


# --- per-target analysis (Rosenski et al. 2023) ----------------------------------

ANALYSIS = "essentiality.analysis"
MODEL_SETS = {"all": "the paper's model zoo", "fast": "fast models (no MLP / Gaussian process)"}


@dataclass
class Analysis:
    """Everything the modifier-gene and tree pages draw for one target."""

    report: object  # core.essentiality.GeneReport
    weights: pd.DataFrame
    tree: object  # core.essentiality.TreeResult
    heldout: pd.DataFrame
    models: str


def _models(models: str):
    from core.essentiality import FAST_MODELS, MODEL_NAMES

    if models not in MODEL_SETS:
        raise InputError(f"models must be one of {sorted(MODEL_SETS)}; got {models!r}")
    return list(MODEL_NAMES) if models == "all" else list(FAST_MODELS)


def _analysis_params(target: str, models: str) -> dict:
    return {"target": target, "models": models, "test_size": 0.25, "random_state": 0}


def run_analysis(target: str, models: str = "all", set_progress=None) -> JobOutcome:
    """Background job: modifiers, model zoo, lineage weights, tree and held-out lineages."""
    from core.essentiality import evaluate_gene, fit_tree, heldout_lineage_errors, lineage_weights

    def compute(report):
        data = dataset("essentiality")
        if target not in data.effect.columns:
            raise InputError(f"{target} has no gene-effect scores in this dataset; pick one of the target genes.")
        effect, lineage = data.effect[target], data.cells["lineage"]
        gene_report = evaluate_gene(
            data.expression, effect, lineage=lineage, models=_models(models), random_state=0,
            progress=lambda f, m: report(0.6 * f, m),
        )
        report(0.62, "per-lineage weights")
        weights = lineage_weights(data.expression, effect, gene_report.modifiers, lineage)
        report(0.65, "decision tree")
        tree = fit_tree(data.expression, effect, gene_report.modifiers, random_state=0)
        heldout = heldout_lineage_errors(
            data.expression, effect, lineage, random_state=0, progress=lambda f, m: report(0.67 + 0.33 * f, m)
        )
        payload = {f"report.{k}": v for k, v in gene_report.to_payload().items()}
        payload.update({f"tree.{k}": v for k, v in tree.to_payload().items()})
        payload.update({"weights": weights, "heldout": heldout})
        return payload

    return run_cached_job(ANALYSIS, "essentiality", _analysis_params(target, models), compute, set_progress)


def analysis_result(target: str, models: str = "all") -> Analysis | None:
    """The stored analysis of a target, or None when it has not been run."""
    from core.essentiality import GeneReport, TreeResult

    payload = cached_result(ANALYSIS, "essentiality", _analysis_params(target, models))
    if payload is None:
        return None
    part = lambda prefix: {k[len(prefix):]: v for k, v in payload.items() if k.startswith(prefix)}  # noqa: E731
    return Analysis(
        report=GeneReport.from_payload(part("report.")),
        weights=payload["weights"],
        tree=TreeResult.from_payload(part("tree.")),
        heldout=payload["heldout"],
        models=models,
    )


# --- genome-wide sweep ---------------------------------------------------------------

SWEEP = "essentiality.sweep"


def _sweep_targets(n_targets: int | None) -> list[str]:
    targets = list(dataset("essentiality").effect.columns)
    return targets if not n_targets else targets[: int(n_targets)]


def run_sweep(n_targets: int | None, models: str = "fast", set_progress=None) -> JobOutcome:
    """Background job: evaluate every (or the first n) target genes; resumable."""
    from core.config import get_settings
    from core.essentiality import sweep

    params = {"n_targets": n_targets or 0, "models": models}

    def compute(report):
        data = dataset("essentiality")
        folder = get_settings().cache_dir / "sweeps" / f"{dataset_hash('essentiality')}-{models}-{n_targets or 'all'}"
        table = sweep(
            data.expression, data.effect, targets=_sweep_targets(n_targets), store=str(folder),
            models=_models(models), progress=report, random_state=0,
        )
        return {"table": table}

    return run_cached_job(SWEEP, "essentiality", params, compute, set_progress)


def sweep_result(n_targets: int | None, models: str = "fast") -> pd.DataFrame | None:
    """The stored sweep summary, or None."""
    payload = cached_result(SWEEP, "essentiality", {"n_targets": n_targets or 0, "models": models})
    return None if payload is None else payload["table"]
