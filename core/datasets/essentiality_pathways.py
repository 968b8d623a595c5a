"""SIMULATED pathways for the essentiality demo: a small gene-set library that contains the planted
modifier sets, so pathway enrichment of a modifier set has a known right answer.

No gene-set library is downloaded at run time. :func:`make_demo_pathways` builds, from a demo
dataset's planted truth:

* one ``SIM_PATHWAY_<TARGET>`` per target with a planted linear modifier set (at least
  ``min_modifiers`` modifiers): all its modifiers plus random other expression genes;
* one ``SIM_DECOY_<TARGET>`` per such target: a single one of its modifiers plus random genes
  (a pathway a careless test could rank first);
* ``n_random`` ``SIM_RANDOM_###`` pathways of random expression genes.

All of them are simulated; their names say so.
"""

from __future__ import annotations

import numpy as np

from core.errors import InputError

PLANTED_PREFIX, DECOY_PREFIX, RANDOM_PREFIX = "SIM_PATHWAY_", "SIM_DECOY_", "SIM_RANDOM_"


def planted_modifier_sets(data, min_modifiers: int = 3) -> dict[str, list[str]]:
    """Target -> planted modifier genes, for the targets with a linear modifier set of that size.

    Parameters
    ----------
    data : EssentialityDemo
        Simulated data with its truth table.
    min_modifiers : int
        Smallest modifier set kept.
    """
    truth = data.truth
    out = {}
    for row in truth[truth["kind"] == "linear"].itertuples(index=False):
        modifiers = [m for m in str(row.modifiers).split(";") if m in data.expression.columns]
        if len(modifiers) >= min_modifiers:
            out[str(row.target)] = modifiers
    return out


def make_demo_pathways(data, seed: int = 0, n_random: int = 80, size: tuple[int, int] = (10, 60),
                       min_modifiers: int = 3) -> dict[str, list[str]]:
    """A simulated gene-set library for an essentiality demo dataset (see the module docstring).

    Parameters
    ----------
    data
        :class:`core.datasets.essentiality_demo.EssentialityData` (``expression`` and ``truth``).
    seed
        Seed of the random genes.
    n_random
        Number of random pathways.
    size
        Smallest and largest pathway size.
    min_modifiers
        Planted modifier sets smaller than this get no pathway.

    Returns
    -------
    dict
        Pathway name -> genes (expression genes of ``data``).
    """
    rng = np.random.default_rng(seed)
    genes = np.asarray(data.expression.columns.astype(str))
    planted = planted_modifier_sets(data, min_modifiers)
    if not planted:
        raise InputError("the dataset has no planted linear modifier set to build demo pathways around")
    lo, hi = size
    pathways: dict[str, list[str]] = {}
    everything = {g for mods in planted.values() for g in mods}
    others = np.array([g for g in genes if g not in everything])

    def fill(core: list[str], n: int) -> list[str]:
        extra = rng.choice(others, size=max(0, n - len(core)), replace=False)
        return list(core) + [str(g) for g in extra]

    for target, modifiers in planted.items():
        pathways[f"{PLANTED_PREFIX}{target}"] = fill(modifiers, int(rng.integers(max(lo, 3 * len(modifiers)), hi)))
        pathways[f"{DECOY_PREFIX}{target}"] = fill([modifiers[int(rng.integers(len(modifiers)))]],
                                                   int(rng.integers(lo, hi)))
    for i in range(n_random):
        pathways[f"{RANDOM_PREFIX}{i + 1:03d}"] = [str(g) for g in rng.choice(genes, int(rng.integers(lo, hi)),
                                                                              replace=False)]
    return pathways
