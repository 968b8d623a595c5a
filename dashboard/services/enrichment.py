"""Pathway enrichment of a target's modifier genes (Rosenski et al. 2023, Fig. 1B).

The demo ships SIMULATED pathways that contain its planted modifier sets
(:mod:`core.datasets.essentiality_pathways`); no gene-set library is downloaded at run time.
A registered dataset has no library until the Datasets page accepts GMT files.
"""

from __future__ import annotations

import functools

import pandas as pd

from core.errors import InputError
from dashboard.services import DEFAULT_DATASET, dataset, is_demo

KIND = "essentiality"
DEMO_LIBRARY = "simulated demo pathways (they contain the planted modifier sets)"
NO_LIBRARY = ("No gene-set library for this dataset: pathway enrichment needs one (a GMT file from MSigDB, "
              "Reactome, KEGG or GO); registering GMT files on the Datasets page is not built yet.")


@functools.lru_cache(maxsize=4)
def _demo_pathways(source: str) -> dict[str, list[str]]:
    from core.datasets.essentiality_pathways import make_demo_pathways

    return make_demo_pathways(dataset(KIND, source))


def library(source: str = DEFAULT_DATASET) -> tuple[dict[str, list[str]] | None, str]:
    """The dataset's gene-set library and how to name it, or None and why there is none."""
    if is_demo(source):
        return _demo_pathways(source), DEMO_LIBRARY
    return None, NO_LIBRARY


def modifier_enrichment(modifiers, source: str = DEFAULT_DATASET) -> tuple[pd.DataFrame, str]:
    """Enrichment of the modifier genes in every gene set, background = the dataset's expression genes.

    Returns the table of :func:`core.essentiality.enrich_modifiers` and the library's name;
    raises :class:`InputError` (no library, no modifiers) with a message for the page.
    """
    from core.essentiality import enrich_modifiers

    sets, name = library(source)
    if sets is None:
        raise InputError(name)
    if not len(modifiers):
        raise InputError("no modifier gene was selected, so there is nothing to test for enrichment")
    background = list(map(str, dataset(KIND, source).expression.columns))
    return enrich_modifiers(list(modifiers), sets, background), name
