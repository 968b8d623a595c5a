"""Modifier-gene services: screen, per-target analysis and genome-wide sweep as cached jobs."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from core.errors import InputError
from dashboard.services import (
    DEFAULT_DATASET, JobOutcome, cached_result, dataset, dataset_hash, run_cached_job,
)

KIND = "essentiality"
SCREEN = "essentiality.screen"
UNANNOTATED = "unannotated"
ALL_LINES = "all cell lines"
#: A default target must be screened in at least this share of the best-screened target's cell lines.
SCREENED_SHARE = 0.9


# --- dataset helpers --------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def default_target(preferred: str, source: str = DEFAULT_DATASET) -> str:
    """The target a page opens on: ``preferred`` when the dataset screened it widely, else the first such gene.

    Parameters
    ----------
    preferred : str
        The page's usual default (a demo gene, also a real gene symbol).
    source : str
        Dataset id ("demo" or a registration id).

    Returns
    -------
    str
        ``preferred`` if it has a gene effect in at least :data:`SCREENED_SHARE`
        of the cell lines the best-screened target has; otherwise the
        alphabetically first target that has.
    """
    screened = dataset(KIND, source).effect.notna().sum()
    if screened.empty:
        return preferred
    enough = sorted(map(str, screened.index[screened >= SCREENED_SHARE * screened.max()]))
    return preferred if preferred in enough else enough[0]


def _named_lineages(data) -> pd.Series:
    return data.cells["lineage"].reindex(data.expression.index).fillna("").astype(str).str.strip()


def lineages(data) -> pd.Series:
    """Each cell line's lineage for grouping and colouring; unannotated lines form one group.

    The group is called "unannotated" beside annotated lineages, and "all cell
    lines" when the dataset has no lineage annotation at all.
    """
    named = _named_lineages(data)
    return named.replace("", UNANNOTATED if (named != "").any() else ALL_LINES)


def annotated_lineages(data) -> pd.Series:
    """Lineages with unannotated cell lines missing, so they never form a held-out lineage of their own."""
    named = _named_lineages(data)
    return named.where(named != "")


def _target_data(target: str, source: str):
    data = dataset(KIND, source)
    if target not in data.effect.columns:
        raise InputError(f"{target} has no gene-effect scores in this dataset; pick one of the target genes.")
    return data


# --- correlation screen -------------------------------------------------------------------

def essentiality_screen(target: str, n_permutations: int, set_progress=None, *,
                        source: str = DEFAULT_DATASET) -> JobOutcome:
    """Background job: correlate ``target``'s effect with every gene's expression in dataset ``source``."""
    from core.essentiality import correlation_screen

    params = {"target": target, "n_permutations": int(n_permutations)}

    def compute(report):
        data = _target_data(target, source)
        table = correlation_screen(
            data.expression, data.effect[target], n_permutations=int(n_permutations), progress=report
        )
        return {"table": table}

    return run_cached_job(SCREEN, KIND, params, compute, set_progress, source=source)


def essentiality_screen_result(target: str, n_permutations: int, *,
                               source: str = DEFAULT_DATASET) -> pd.DataFrame | None:
    """The stored screen for these parameters and dataset, or None."""
    params = {"target": target, "n_permutations": int(n_permutations)}
    payload = cached_result(SCREEN, KIND, params, source=source)
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


def run_analysis(target: str, models: str = "all", set_progress=None, *,
                 source: str = DEFAULT_DATASET) -> JobOutcome:
    """Background job: modifiers, model zoo, lineage weights, tree and held-out lineages.

    Unannotated cell lines form one lineage group for the weights and only
    ever train in the held-out-lineage comparison.
    """
    from core.essentiality import evaluate_gene, fit_tree, heldout_lineage_errors, lineage_weights

    def compute(report):
        data = _target_data(target, source)
        effect, lineage = data.effect[target], lineages(data)
        gene_report = evaluate_gene(
            data.expression, effect, lineage=lineage, models=_models(models), random_state=0,
            progress=lambda f, m: report(0.6 * f, m),
        )
        report(0.62, "per-lineage weights")
        weights = lineage_weights(data.expression, effect, gene_report.modifiers, lineage)
        report(0.65, "decision tree")
        tree = fit_tree(data.expression, effect, gene_report.modifiers, random_state=0)
        heldout = heldout_lineage_errors(
            data.expression, effect, annotated_lineages(data), random_state=0, progress=lambda f, m: report(0.67 + 0.33 * f, m)
        )
        payload = {f"report.{k}": v for k, v in gene_report.to_payload().items()}
        payload.update({f"tree.{k}": v for k, v in tree.to_payload().items()})
        payload.update({"weights": weights, "heldout": heldout})
        return payload

    return run_cached_job(ANALYSIS, KIND, _analysis_params(target, models), compute, set_progress, source=source)


def analysis_result(target: str, models: str = "all", *, source: str = DEFAULT_DATASET) -> Analysis | None:
    """The stored analysis of a target in dataset ``source``, or None when it has not been run."""
    from core.essentiality import GeneReport, TreeResult

    payload = cached_result(ANALYSIS, KIND, _analysis_params(target, models), source=source)
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


def _sweep_targets(n_targets: int | None, source: str = DEFAULT_DATASET) -> list[str]:
    targets = list(dataset(KIND, source).effect.columns)
    return targets if not n_targets else targets[: int(n_targets)]


def sweep_folder(n_targets: int | None, models: str, source: str = DEFAULT_DATASET):
    """Where a sweep keeps its finished targets (per dataset, model set and size), so it can resume."""
    from core.config import get_settings

    return get_settings().cache_dir / "sweeps" / f"{dataset_hash(KIND, source)}-{models}-{n_targets or 'all'}"


def run_sweep(n_targets: int | None, models: str = "fast", set_progress=None, *,
              source: str = DEFAULT_DATASET) -> JobOutcome:
    """Background job: evaluate every (or the first n) target genes of dataset ``source``; resumable."""
    from core.essentiality import sweep

    params = {"n_targets": n_targets or 0, "models": models}

    def compute(report):
        data = dataset(KIND, source)
        table = sweep(
            data.expression, data.effect, targets=_sweep_targets(n_targets, source),
            store=str(sweep_folder(n_targets, models, source)), models=_models(models), progress=report,
            random_state=0,
        )
        return {"table": table}

    return run_cached_job(SWEEP, KIND, params, compute, set_progress, source=source)


def sweep_result(n_targets: int | None, models: str = "fast", *, source: str = DEFAULT_DATASET) -> pd.DataFrame | None:
    """The stored sweep summary of dataset ``source``, or None."""
    payload = cached_result(SWEEP, KIND, {"n_targets": n_targets or 0, "models": models}, source=source)
    return None if payload is None else payload["table"]
