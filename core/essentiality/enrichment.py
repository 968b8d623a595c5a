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


#: Columns of :func:`top_terms`.
TOP_TERM_COLUMNS = ["target", "n_modifiers", "top_term", "top_term_overlap", "top_term_p", "top_term_q", "n_enriched"]


def top_terms(modifier_sets: Mapping[str, Iterable[str]], gene_sets: Mapping[str, Iterable[str]],
              background: Iterable[str], *, fdr: float = 0.05, min_size: int = 1, max_size: int | None = None,
              chunk_size: int = 512) -> pd.DataFrame:
    """The most enriched gene set of each of many modifier sets (an atlas's targets), at once.

    Every target's modifier set is tested against every gene set exactly as
    :func:`enrich_modifiers` does (one-sided hypergeometric, BH over the sets
    tested for that target); overlaps are counted for all targets together
    as one sparse matrix product, in chunks of ``chunk_size`` targets.

    Parameters
    ----------
    modifier_sets
        Target -> its modifier genes (may be empty).
    gene_sets, background, min_size, max_size
        As in :func:`enrich_modifiers`.
    fdr
        Threshold of ``n_enriched``.

    Returns
    -------
    pandas.DataFrame
        One row per target (columns :data:`TOP_TERM_COLUMNS`): the modifier
        genes in the background, the set with the smallest p (ties: the first
        term name, as :func:`enrich_modifiers` sorts), its overlap, p and BH
        q, and the number of sets with q < ``fdr``. Targets without a
        modifier in the background have an empty ``top_term`` and NaN
        statistics.

    Raises
    ------
    core.errors.InputError
        An empty background, or no gene set of at least ``min_size`` background genes.
    """
    from scipy import sparse
    from scipy.stats import hypergeom

    if not isinstance(gene_sets, Mapping) or not gene_sets:
        raise InputError("gene_sets must be a non-empty mapping of set name -> genes")
    universe = _names(background, "background")
    if not universe:
        raise InputError("the background gene list is empty; give every gene that could have been selected")
    position = {g: i for i, g in enumerate(universe)}
    terms, columns = [], []
    for term, members in gene_sets.items():
        rows = sorted({position[g] for g in _names(members, f"gene set {term!r}") if g in position})
        if len(rows) < min_size or (max_size is not None and len(rows) > max_size):
            continue
        terms.append(str(term))
        columns.append(rows)
    if not terms:
        raise InputError(f"no gene set has at least {min_size} gene(s) of the background; are the gene sets the "
                         "same kind of gene id (symbols vs Entrez) as the data?")
    # ties on p are broken by term name, as enrich_modifiers sorts: order the sets by name once
    order = np.argsort(np.array(terms, dtype=object), kind="stable")
    terms = [terms[i] for i in order]
    columns = [columns[i] for i in order]
    membership = sparse.csc_matrix(
        (np.ones(sum(map(len, columns))), (np.concatenate(columns), np.repeat(np.arange(len(terms)),
                                                                            list(map(len, columns))))),
        shape=(len(universe), len(terms)))
    size = np.asarray(membership.sum(axis=0)).ravel()
    targets = [str(t) for t in modifier_sets]
    out = []
    n_background = len(universe)
    for start in range(0, len(targets), chunk_size):
        chunk = targets[start:start + chunk_size]
        hits = [sorted({position[g] for g in _names(modifier_sets[t], "genes") if g in position}) for t in chunk]
        query = sparse.csr_matrix((np.ones(sum(map(len, hits))), (np.repeat(np.arange(len(chunk)),
                                                                             list(map(len, hits))),
                                                                   np.concatenate(hits or [[]]).astype(int))),
                                  shape=(len(chunk), n_background))
        overlap = np.asarray((query @ membership).todense())
        n_hits = np.array([len(h) for h in hits])
        p = np.clip(hypergeom.sf(overlap - 1, n_background, size[None, :], n_hits[:, None]), 0.0, 1.0)
        for i, target in enumerate(chunk):
            if n_hits[i] == 0:
                out.append({"target": target, "n_modifiers": 0, "top_term": "", "top_term_overlap": 0,
                            "top_term_p": np.nan, "top_term_q": np.nan, "n_enriched": 0})
                continue
            q = bh_fdr(p[i])
            best = int(np.argmin(p[i]))  # the first minimum: terms are sorted by name
            out.append({"target": target, "n_modifiers": int(n_hits[i]), "top_term": terms[best],
                        "top_term_overlap": int(overlap[i, best]), "top_term_p": float(p[i, best]),
                        "top_term_q": float(q[best]), "n_enriched": int((q < fdr).sum())})
    return pd.DataFrame(out, columns=TOP_TERM_COLUMNS)
