"""Modifier-gene services: the correlation screen as a cached background job."""

from __future__ import annotations

import pandas as pd

from core.errors import InputError
from dashboard.services import JobOutcome, cached_result, dataset, run_cached_job


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
