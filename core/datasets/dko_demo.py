"""Seeded demo data for the DKO pages (He, Klein, Levy & Wang, arXiv 2510.03359, 2025).

DKO learns the map from a cell's *assemblage* (which genes are present) to its
expression *profile* (expression normalised to sum 1), then knocks genes out in
silico. ``make_dko_demo`` simulates generalised Lotka-Volterra gene dynamics

    dx_i/dt = x_i * (r_i + sum_j A_ij x_j),   A = -I + W,

on a sparse random (Erdos-Renyi) network ``W`` with a few strong positive
"keystone" regulators, and records each cell's steady state together with the
true post-knockout steady state of sampled (gene, cell) pairs. SIMULATED data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.datasets.genes import SHARED_SYMBOLS, fill_symbols, synthetic_symbols
from core.datasets.storage import Persistable
from core.errors import InputError

GENERATOR_VERSION = "2"

#: Planted keystones, in order of use: the DEcode demo's planted transcription factors, so the
#: regulators of one demo are the network hubs of another (SIMULATED).
KEYSTONES: tuple[str, ...] = ("CTCF", "SPI1", "HNF4A", "MYOD1")

EXTINCT = 1e-6  # steady-state values below this count as absent (set to exactly 0)
EDGE_DEGREE = 3.0  # mean number of regulators per gene in the Erdos-Renyi part
PRESENT_FRACTION = 0.72  # mean probability that a gene is present in a cell
MAX_SYM_EIGEN = 0.9  # largest eigenvalue allowed for (W + W^T) / 2: keeps A negative definite


@dataclass
class DKOData(Persistable):
    """Simulated single-cell assemblages, steady-state profiles and true knockouts.

    Attributes
    ----------
    expression
        genes x cells steady-state expression (float64, >= 0); absent genes are
        exactly 0, present genes > 0.
    cells
        Index ``cell``; column ``cell_type``.
    network
        Directed edges ``regulator, target, weight``: ``W[target, regulator]``.
        Self-limitation (-1 on the diagonal of ``A``) is implicit.
    growth_rates
        genes x cell types, the ``r`` of each cell type.
    knockouts
        ``sample, gene, cell``: the sampled single-gene knockouts (gene present in cell).
    knockout_profiles
        samples x genes: true steady state after removing ``gene`` from ``cell``
        (the knocked-out gene is 0; others may go extinct too).
    keystones
        Genes planted with strong positive effects on many targets.

        The simulation's truth (``network`` to ``keystones``) is None for real data.
    params
        Generator arguments and version.
    """

    expression: pd.DataFrame
    cells: pd.DataFrame
    network: pd.DataFrame | None = None
    growth_rates: pd.DataFrame | None = None
    knockouts: pd.DataFrame | None = None
    knockout_profiles: pd.DataFrame | None = None
    keystones: list | None = None
    params: dict = field(default_factory=dict)

    @property
    def description(self) -> str:
        """One paragraph for the UI saying what is simulated and what is planted."""
        n_genes, n_cells = self.expression.shape
        present = (self.expression > 0).mean().mean()
        return (
            f"SIMULATED demo data, not real cells: {n_cells:,} cells of {self.cells['cell_type'].nunique()} "
            f"types, {n_genes} simulated genes (real symbols only for the genes shared with the other demos) "
            f"whose expression is the steady state of generalised "
            f"Lotka-Volterra dynamics on a sparse random network ({len(self.network)} edges; seed "
            f"{self.params.get('seed', '?')}). Each cell type sets which genes tend to be present "
            f"({present:.0%} on average) and their growth rates. Planted keystone genes "
            f"({', '.join(self.keystones)}) activate many others, so knocking them out changes profiles "
            f"most. {len(self.knockouts)} true knockout profiles are included to score predictions."
        )

    def interaction_matrix(self) -> np.ndarray:
        """The matrix ``A = -I + W`` (rows = targets, columns = regulators), in gene order."""
        genes = list(self.expression.index)
        pos = {g: i for i, g in enumerate(genes)}
        a = -np.eye(len(genes))
        a[self.network["target"].map(pos).to_numpy(), self.network["regulator"].map(pos).to_numpy()] += (
            self.network["weight"].to_numpy()
        )
        return a

    def knockout(self, cell: str, genes: list[str]) -> pd.Series:
        """True steady state of ``cell`` after removing ``genes`` (e.g. a double knockout).

        Parameters
        ----------
        cell
            A cell id of :attr:`cells`.
        genes
            Genes to remove; they must be present in the cell.

        Returns
        -------
        pandas.Series
            Expression per gene after the knockout (not normalised).
        """
        if cell not in self.cells.index:
            raise InputError(f"cell {cell!r} is not in this dataset")
        profile = self.expression[cell]
        missing = [g for g in genes if g not in profile.index or profile[g] <= 0]
        if missing:
            raise InputError(f"genes {missing} are not present in cell {cell!r}; knock out present genes only")
        present = (profile > 0).to_numpy() & ~profile.index.isin(genes)
        r = self.growth_rates[self.cells.at[cell, "cell_type"]].to_numpy()
        return pd.Series(steady_state(r, self.interaction_matrix(), present), index=profile.index, name=cell)


def steady_state(growth: np.ndarray, interactions: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Stable steady state of generalised Lotka-Volterra dynamics on the present genes.

    Solves ``r_S + A_SS x_S = 0`` on the surviving set ``S``; genes whose
    solution is not positive go extinct (removed one at a time, most negative
    first) and extinct genes that could re-invade are added back. With ``A``
    negative definite this is the unique stable (saturated) equilibrium. If the
    active-set search does not settle, the dynamics are integrated instead.

    Parameters
    ----------
    growth
        Growth rates ``r`` (n,).
    interactions
        ``A`` (n, n), rows = targets.
    present
        Boolean mask (n,) of genes in the assemblage; the others stay 0.

    Returns
    -------
    numpy.ndarray
        Steady state (n,), exactly 0 for absent or extinct genes, > ``EXTINCT`` otherwise.
    """
    present = np.asarray(present, dtype=bool)
    alive = present.copy()
    x = np.zeros(growth.size)
    for _ in range(4 * int(present.sum()) + 4):
        idx = np.flatnonzero(alive)
        x = np.zeros(growth.size)
        if idx.size:
            x[idx] = np.linalg.solve(-interactions[np.ix_(idx, idx)], growth[idx])
        if idx.size and x[idx].min() <= EXTINCT:
            alive[idx[np.argmin(x[idx])]] = False
            continue
        invasion = growth + interactions @ x
        invaders = np.flatnonzero(present & ~alive & (invasion > 1e-12))
        if invaders.size == 0:
            return x
        alive[invaders[np.argmax(invasion[invaders])]] = True
    return _integrate(growth, interactions, present)


def _integrate(growth: np.ndarray, interactions: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Fallback: integrate the dynamics in log space until they settle."""
    from scipy.integrate import solve_ivp

    idx = np.flatnonzero(present)
    r, a = growth[idx], interactions[np.ix_(idx, idx)]

    def rhs(_t: float, logx: np.ndarray) -> np.ndarray:
        return r + a @ np.exp(np.minimum(logx, 50.0))

    sol = solve_ivp(rhs, (0.0, 1e4), np.full(idx.size, np.log(0.1)), method="LSODA", rtol=1e-8, atol=1e-10)
    x = np.zeros(growth.size)
    x[idx] = np.exp(sol.y[:, -1])
    x[x <= EXTINCT] = 0.0
    return x


def _network(rng: np.random.Generator, n_genes: int, keystones: np.ndarray) -> np.ndarray:
    """W (targets x regulators): sparse mixed-sign Erdos-Renyi edges plus keystone activation."""
    w = np.zeros((n_genes, n_genes))
    edges = rng.random((n_genes, n_genes)) < EDGE_DEGREE / n_genes
    np.fill_diagonal(edges, False)
    signs = np.where(rng.random(edges.sum()) < 0.55, -1.0, 1.0)
    w[edges] = signs * rng.uniform(0.05, 0.4, edges.sum())
    for k in keystones:
        targets = rng.choice(np.setdiff1d(np.arange(n_genes), [k]), size=max(3, int(0.15 * n_genes)),
                             replace=False)
        w[targets, k] = rng.uniform(0.4, 0.7, targets.size)
        w[k, :] = np.minimum(w[k, :], 0.0) * 0.5  # keystones are barely regulated themselves
    top = np.linalg.eigvalsh((w + w.T) / 2).max()
    if top > MAX_SYM_EIGEN:
        w *= MAX_SYM_EIGEN / top
    return w


def make_dko_demo(
    seed: int = 0, n_genes: int = 120, n_cells: int = 800, n_cell_types: int = 5, n_knockouts: int = 500
) -> DKOData:
    """Simulate single-cell assemblages, their steady-state profiles and true knockouts.

    Parameters
    ----------
    seed
        Seed of the random generator; the output is a pure function of the arguments.
    n_genes
        Number of genes: the demos' shared real symbols (up to half of them), then
        synthetic ``SIM####`` symbols.
    n_cells
        Number of cells.
    n_cell_types
        Number of cell types; each sets presence probabilities and growth rates.
    n_knockouts
        Number of (gene, cell) knockouts sampled, with the gene present in the cell.

    Returns
    -------
    DKOData
        Expression, cells, network, growth rates, knockouts and their true profiles.

    Raises
    ------
    core.errors.InputError
        If a size is out of range.
    """
    if n_genes < 10:
        raise InputError(f"n_genes must be at least 10, got {n_genes}")
    if n_cell_types < 1 or n_cells < n_cell_types:
        raise InputError(f"need 1 <= n_cell_types <= n_cells, got {n_cell_types} types for {n_cells} cells")
    if n_knockouts < 0:
        raise InputError(f"n_knockouts must be >= 0, got {n_knockouts}")
    rng = np.random.default_rng(seed)
    genes = fill_symbols(SHARED_SYMBOLS[: n_genes // 2], n_genes)
    n_keystones = max(2, n_genes // 30)
    named = [genes.index(g) for g in KEYSTONES if g in genes][:n_keystones]
    others = np.setdiff1d(np.arange(n_genes), named)
    keystones = np.sort(np.concatenate([named, rng.choice(others, size=n_keystones - len(named), replace=False)]))
    keystones = keystones.astype(int)
    w = _network(rng, n_genes, keystones)
    a = -np.eye(n_genes) + w

    types = [f"type_{k + 1}" for k in range(n_cell_types)]
    base_r = rng.uniform(0.5, 1.5, n_genes)
    growth = base_r[:, None] * np.exp(rng.normal(0, 0.35, (n_genes, n_cell_types)))
    logit = np.log(PRESENT_FRACTION / (1 - PRESENT_FRACTION)) + rng.normal(0, 1.2, (n_genes, n_cell_types))
    logit[keystones] += 2.0
    p_present = 1 / (1 + np.exp(-logit))

    cell_type = np.sort(rng.integers(0, n_cell_types, n_cells))
    cell_type[:n_cell_types] = np.arange(n_cell_types)  # every type has at least one cell
    cell_type = rng.permutation(cell_type)
    cells = pd.DataFrame({"cell_type": np.array(types)[cell_type]},
                         index=pd.Index(synthetic_symbols(n_cells, prefix="SIMCELL-"), name="cell"))

    expr = np.zeros((n_genes, n_cells))
    for c in range(n_cells):
        present = rng.random(n_genes) < p_present[:, cell_type[c]]
        if present.sum() < 2:
            present[rng.choice(n_genes, 2, replace=False)] = True
        expr[:, c] = steady_state(growth[:, cell_type[c]], a, present)

    # knockouts: sample cells, then a present gene in each; unique pairs
    pairs: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()
    total_present = int((expr > 0).sum())
    while len(pairs) < min(n_knockouts, total_present):
        c = int(rng.integers(n_cells))
        g = int(rng.choice(np.flatnonzero(expr[:, c] > 0)))
        if (g, c) not in seen:
            seen.add((g, c))
            pairs.append((g, c))
    ko = np.zeros((len(pairs), n_genes))
    for s, (g, c) in enumerate(pairs):
        present = expr[:, c] > 0
        present[g] = False
        ko[s] = steady_state(growth[:, cell_type[c]], a, present)
    samples = synthetic_symbols(len(pairs), prefix="KO-")

    tgt, reg = np.nonzero(w)
    network = pd.DataFrame({"regulator": np.array(genes)[reg], "target": np.array(genes)[tgt],
                            "weight": w[tgt, reg]}).sort_values(["regulator", "target"], ignore_index=True)
    params = {"seed": seed, "n_genes": n_genes, "n_cells": n_cells, "n_cell_types": n_cell_types,
              "n_knockouts": n_knockouts, "generator_version": GENERATOR_VERSION}
    gene_index = pd.Index(genes, name="gene")
    return DKOData(
        expression=pd.DataFrame(expr, index=gene_index, columns=cells.index.rename("cell")),
        cells=cells,
        network=network,
        growth_rates=pd.DataFrame(growth, index=gene_index.copy(), columns=pd.Index(types, name="cell_type")),
        knockouts=pd.DataFrame({"sample": samples, "gene": [genes[g] for g, _ in pairs],
                                "cell": [cells.index[c] for _, c in pairs]}),
        knockout_profiles=pd.DataFrame(ko, index=pd.Index(samples, name="sample"), columns=gene_index.copy()),
        keystones=[genes[k] for k in keystones],
        params=params,
    )


def bray_curtis_rows(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise Bray-Curtis dissimilarity ``sum|u - v| / sum|u + v|`` (scipy semantics).

    Parameters
    ----------
    u, v : ndarray
        Profiles, one per row.
    """
    u, v = np.atleast_2d(u), np.atleast_2d(v)
    return np.abs(u - v).sum(axis=1) / np.abs(u + v).sum(axis=1)


def true_knockout_impact(data: DKOData) -> pd.Series:
    """Bray-Curtis dissimilarity between each true knockout profile and its unperturbed profile.

    Both profiles are normalised to sum 1 first (the knocked-out gene is 0 in the
    knockout profile), matching :func:`scipy.spatial.distance.braycurtis`.

    Parameters
    ----------
    data
        A :class:`DKOData`.

    Returns
    -------
    pandas.Series
        One value per knockout sample (index ``sample``), named ``impact``.
    """
    before = data.expression[data.knockouts["cell"]].to_numpy().T
    after = data.knockout_profiles.loc[data.knockouts["sample"]].to_numpy()
    before = before / before.sum(axis=1, keepdims=True)
    after = after / after.sum(axis=1, keepdims=True)
    return pd.Series(bray_curtis_rows(after, before), index=pd.Index(data.knockouts["sample"], name="sample"),
                     name="impact")
