"""Pathway enrichment of a target's modifier genes (Rosenski et al. 2023, Fig. 1B).

The demo ships SIMULATED pathways that contain its planted modifier sets
(:mod:`core.datasets.essentiality_pathways`); no gene-set library is downloaded at run time.
GMT files registered on the Datasets page (kind ``genesets``) are offered beside them, and
are the only libraries of a registered expression dataset.
"""

from __future__ import annotations

import functools

import pandas as pd

from core.errors import InputError
from dashboard.text import plural
from dashboard import services
from dashboard.services import DEFAULT_DATASET, dataset, is_demo

KIND = "essentiality"
GENESETS = "genesets"
DEMO = "demo"
DEMO_LIBRARY = "simulated demo pathways (they contain the planted modifier sets)"
NO_LIBRARY = ("No gene-set library for this dataset: pathway enrichment needs one. Register a GMT file (MSigDB, "
              "Reactome, KEGG or GO export, gene symbols) on the Datasets page as a gene-set library.")


@functools.lru_cache(maxsize=4)
def _demo_pathways(source: str) -> dict[str, list[str]]:
    from core.datasets.essentiality_pathways import make_demo_pathways

    return make_demo_pathways(dataset(KIND, source))


@functools.lru_cache(maxsize=8)
def _registered_sets(ident: str) -> dict[str, list[str]]:
    return services.registry().load(GENESETS, ident).sets  # registrations are immutable: cache by id


def libraries(source: str = DEFAULT_DATASET) -> list[dict[str, str]]:
    """Gene-set libraries offered for dataset ``source``: the demo's pathways (demo only), then registered GMTs.

    Returns dropdown options, ``{"label", "value"}``; the value is ``"demo"`` or a registration id.
    """
    options = [{"label": "Simulated demo pathways", "value": DEMO}] if is_demo(source) else []
    for entry in services.registry().entries(GENESETS):
        sets = entry.report.get("summary", {}).get("gene sets", "?")
        options.append({"label": f"{entry.name} ({plural(sets, 'set')}, registered)", "value": entry.ident})
    return options


def library(source: str = DEFAULT_DATASET, choice: str | None = None) -> tuple[dict[str, list[str]] | None, str]:
    """A gene-set library and how to name it, or None and why there is none.

    Parameters
    ----------
    source
        The expression dataset ("demo" or a registration id).
    choice
        A value of :func:`libraries`; None takes the first one offered.
    """
    offered = libraries(source)
    if choice is None:
        if not offered:
            return None, NO_LIBRARY
        choice = offered[0]["value"]
    if choice == DEMO:
        if not is_demo(source):
            raise InputError("the simulated demo pathways are made from the demo data; choose a registered "
                             "gene-set library for this dataset")
        return _demo_pathways(source), DEMO_LIBRARY
    entry = services.registry().find(GENESETS, choice)
    return _registered_sets(entry.ident), f"registered gene-set library {entry.name!r}"


def modifier_enrichment(modifiers, source: str = DEFAULT_DATASET,
                        choice: str | None = None) -> tuple[pd.DataFrame, str]:
    """Enrichment of the modifier genes in every gene set, background = the dataset's expression genes.

    Returns the table of :func:`core.essentiality.enrich_modifiers` and the library's name;
    raises :class:`InputError` (no library, no modifiers) with a message for the page.
    """
    from core.essentiality import enrich_modifiers

    sets, name = library(source, choice)
    if sets is None:
        raise InputError(name)
    if not len(modifiers):
        raise InputError("no modifier gene was selected, so there is nothing to test for enrichment")
    background = list(map(str, dataset(KIND, source).expression.columns))
    return enrich_modifiers(list(modifiers), sets, background), name


ATLAS_TERMS = "essentiality.atlas-top-terms"


def atlas_top_terms(source: str = DEFAULT_DATASET, choice: str | None = None) -> tuple[pd.DataFrame | None, str]:
    """Each atlas target's most enriched gene set and its BH q (:func:`core.essentiality.top_terms`).

    Computed from the stored atlas's modifiers with the dataset's first (or the chosen) library,
    background = the expression genes, and stored. Returns ``(table indexed by target, library
    name)``; the table is None when there is no atlas or no library (the name then says why).
    """
    from core.cache import make_key
    from core.essentiality import top_terms
    from dashboard.services import essentiality as ess_service

    atlas = ess_service.atlas.result(source=source)
    if atlas is None:
        return None, "no atlas yet"
    offered = libraries(source)
    choice = choice if choice is not None else (offered[0]["value"] if offered else None)
    if choice is None:
        return None, NO_LIBRARY
    sets, name = library(source, choice)

    def compute():
        modifiers = {str(t): [g for g in str(m).split(";") if g] for t, m in atlas["modifiers"].fillna("").items()}
        background = list(map(str, dataset(KIND, source).expression.columns))
        return {"table": top_terms(modifiers, sets, background)}

    params = {"atlas": ess_service.atlas_params(), "library": choice}
    key = make_key(ATLAS_TERMS, services.dataset_hash(KIND, source), params)
    return services.store().get_or_compute(key, compute)["table"].set_index("target", drop=False), name
