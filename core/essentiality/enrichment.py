"""Pathway enrichment of a modifier set (Rosenski et al. 2023, Fig. 1B).

:func:`enrich_modifiers` asks, for every gene set, whether the modifier genes fall in it more
often than genes drawn at random from the background: a one-sided hypergeometric test
(equivalently a one-sided Fisher exact test of the 2 x 2 table modifier / not x in set / not),
with Benjamini-Hochberg FDR over the sets tested. Everything is restricted to the background
first: genes outside it are not counted in a set's size or in the modifier set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from core.errors import InputError
from core.stats import bh_fdr

ENRICHMENT_COLUMNS = ["term", "overlap", "set_size", "expected", "p", "q", "genes"]


def _names(genes, what: str) -> list[str]:
    if isinstance(genes, str):
        raise InputError(f"{what} must be a list of gene names, not one string")
    return list(dict.fromkeys(str(g).strip() for g in genes if str(g).strip()))


def enrich_modifiers(genes: Iterable[str], gene_sets: Mapping[str, Iterable[str]] | str | Path,
                     background: Iterable[str], *, min_size: int = 1, max_size: int | None = None) -> pd.DataFrame:
    """One-sided hypergeometric enrichment of a gene list in every gene set, BH over the sets.

    Parameters
    ----------
    genes
        The modifier genes (repeats ignored).
    gene_sets
        Set name -> genes, or the path of a GMT file (:func:`core.datasets.gene_sets.load_gmt`).
    background
        Every gene that could have been selected (e.g. the expression genes screened). Modifier
        and set genes outside it are dropped.
    min_size, max_size
        Sets with fewer (more) background genes are not tested.

    Returns
    -------
    pandas.DataFrame
        One row per tested set, sorted by ``p`` (then ``term``): ``term``; ``overlap`` (modifier
        genes in the set); ``set_size`` (set genes in the background); ``expected`` (overlap
        expected at random, ``n_modifiers * set_size / n_background``); ``p`` =
        P(X >= overlap) for X hypergeometric(``n_background``, ``set_size``, ``n_modifiers``);
        ``q`` (Benjamini-Hochberg over the tested sets); ``genes`` (the overlapping genes,
        sorted, joined by ``", "``). ``attrs`` holds ``n_modifiers``, ``n_background`` and
        ``dropped_modifiers`` (modifier genes outside the background).

    Raises
    ------
    core.errors.InputError
        An empty background or modifier list, no modifier gene in the background, or no gene
        set with at least ``min_size`` background genes.
    """
    from scipy.stats import hypergeom

    if isinstance(gene_sets, (str, Path)):
        from core.datasets.gene_sets import load_gmt

        gene_sets = load_gmt(gene_sets)
    if not isinstance(gene_sets, Mapping) or not gene_sets:
        raise InputError("gene_sets must be a non-empty mapping of set name -> genes, or a GMT file")
    universe = _names(background, "background")
    if not universe:
        raise InputError("the background gene list is empty; give every gene that could have been selected")
    in_universe = set(universe)
    query = _names(genes, "genes")
    if not query:
        raise InputError("the modifier gene list is empty")
    hits = [g for g in query if g in in_universe]
    dropped = [g for g in query if g not in in_universe]
    if not hits:
        raise InputError(f"none of the {len(query)} modifier genes is in the background (e.g. "
                         f"{', '.join(query[:5])}); are they the same kind of gene id as the background?")
    if min_size < 1:
        raise InputError(f"min_size must be at least 1, got {min_size}")
    hit_set = set(hits)
    rows = []
    for term, members in gene_sets.items():
        members = set(_names(members, f"gene set {term!r}")) & in_universe
        if len(members) < min_size or (max_size is not None and len(members) > max_size):
            continue
        overlap = sorted(members & hit_set)
        rows.append((str(term), len(overlap), len(members), ", ".join(overlap)))
    if not rows:
        raise InputError(f"no gene set has at least {min_size} gene(s) of the background"
                         + ("" if max_size is None else f" and at most {max_size}")
                         + "; are the gene sets the same kind of gene id (symbols vs Entrez) as the data?")
    frame = pd.DataFrame(rows, columns=["term", "overlap", "set_size", "genes"])
    n_background, n_hits = len(universe), len(hits)
    overlap = frame["overlap"].to_numpy()
    size = frame["set_size"].to_numpy()
    frame["expected"] = n_hits * size / n_background
    frame["p"] = np.clip(hypergeom.sf(overlap - 1, n_background, size, n_hits), 0.0, 1.0)
    frame["q"] = bh_fdr(frame["p"].to_numpy())
    frame = frame.sort_values(["p", "term"], kind="stable").reset_index(drop=True)[ENRICHMENT_COLUMNS]
    frame.attrs.update({"n_modifiers": n_hits, "n_background": n_background, "dropped_modifiers": dropped})
    return frame
