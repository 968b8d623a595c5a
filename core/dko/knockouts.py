"""All single and double virtual knockouts of a trained DKO model, without one forward pass each.

The network's pre-activation is affine in the assemblage: ``h(z) = A z + c`` with
``A = W2 W1`` and ``c = W2 b1 + b2``. In a cell with present set ``S`` (``n``
genes) the assemblage is ``1_S / n``; knocking out gene ``g`` gives
``1_{S-g} / (n-1)``, so

    h_g = (A 1_S - A[:, g]) / (n - 1) + c,

one shared row sum minus one column of ``A`` per knockout (a rank-one
correction). Only the rows in ``S`` matter (the others are multiplied by
``z = 0``), so all single knockouts of a cell cost ``O(n^2)`` instead of
``O(n N^2)`` for ``n`` forward passes. Double knockouts subtract two columns.

Impact (the authors' definition, ``k_pred`` in their ``Impact_results.csv``):
Bray-Curtis dissimilarity between the predicted profile after the knockout
(the knocked-out gene is 0) and the predicted unperturbed profile. Because
the knocked-out gene's own share always moves to 0, this includes the trivial
loss of that gene; ``impact_others`` removes the gene from both profiles,
renormalises both to sum 1 and measures only how the *other* genes shift.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import pandas as pd

from core.dko.data import as_matrix, check_values
from core.errors import InputError

Progress = Callable[[float, str], None]

DEFAULT_N_RANDOM = 50_000  # the authors' number of random double knockouts


def _prepare(model, P, cells):
    model._check_fitted()
    values, genes, cell_index = as_matrix(P, genes=model.genes_, source="knockout input")
    check_values(values, "knockout input")
    if cells is not None:
        wanted = pd.Index([str(c) for c in cells])
        missing = wanted.difference(cell_index)
        if len(missing):
            raise InputError(f"cells not in the data: {', '.join(map(str, missing[:5]))}")
        pos = cell_index.get_indexer(wanted)
        values, cell_index = values[:, pos], cell_index[pos]
    a, c = model.affine()
    return values > 0, genes, cell_index, a, c


def _gene_positions(genes: pd.Index, chosen: Iterable[str] | None) -> np.ndarray | None:
    if chosen is None:
        return None
    chosen = [str(g) for g in chosen]
    missing = [g for g in chosen if g not in genes]
    if missing:
        raise InputError(f"genes not in the model: {', '.join(missing[:5])}; pick genes of the training data")
    return np.sort(np.unique(genes.get_indexer(chosen)))


def _cell_state(a: np.ndarray, c: np.ndarray, idx: np.ndarray):
    """Restricted matrix, row sums and the unperturbed profile of one cell (present genes ``idx``)."""
    a_s = a.take(idx, axis=0).take(idx, axis=1)  # faster than a[np.ix_(idx, idx)]
    rowsum = a_s.sum(axis=1)
    base = np.abs(rowsum / idx.size + c[idx])
    return a_s, rowsum, base / base.sum()


def _knockout_columns(h: np.ndarray, base: np.ndarray, removed: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Impacts of knockout pre-activations ``h`` (n x K, restricted to the cell's present genes).

    Works in place on ``h``. ``removed`` holds, per removed gene, its row for every
    column. Both profiles sum to 1, so Bray-Curtis is half the L1 distance; for
    the other genes only, the unperturbed profile is rescaled by
    ``1 / (1 - removed share)`` and the removed rows (0 in the knockout profile)
    are subtracted from the L1 sum instead of being masked.
    """
    cols = np.arange(h.shape[1])
    np.abs(h, out=h)
    removed_share = np.zeros(h.shape[1])
    for rows in removed:
        h[rows, cols] = 0.0
        removed_share += base[rows]
    h /= h.sum(axis=0, keepdims=True)
    diff = h - base[:, None]
    np.abs(diff, out=diff)
    impact = 0.5 * diff.sum(axis=0)
    scale = 1.0 / (1.0 - removed_share)
    np.multiply(base[:, None], scale[None, :], out=diff)
    np.subtract(h, diff, out=diff)
    np.abs(diff, out=diff)
    others = 0.5 * (diff.sum(axis=0) - removed_share * scale)
    return impact, others


def knockout_impacts(model, P, genes: Iterable[str] | None = None, cells: Iterable[str] | None = None,
                     progress: Progress | None = None) -> pd.DataFrame:
    """Impact of knocking out every present gene in every cell (or a subset).

    Parameters
    ----------
    model
        A fitted :class:`core.dko.DKO`.
    P
        Expression (genes x cells) whose cells are knocked out; only presence matters.
    genes
        Knock out only these genes (default: all present genes).
    cells
        Only these cells (default: all).
    progress
        Optional ``progress(fraction, message)``.

    Returns
    -------
    pandas.DataFrame
        ``gene, cell, impact, impact_others`` in cell order, genes in model order
        within a cell (the authors' order). ``impact`` is the authors' Bray-Curtis
        impact; ``impact_others`` measures the other genes only (module docstring).
        A cell's only present gene gets NaN (nothing is left to compare).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from core.dko import DKO
    >>> rng = np.random.default_rng(0)
    >>> P = pd.DataFrame(rng.random((5, 30)) * (rng.random((5, 30)) < 0.7), index=list("ABCDE"))
    >>> model = DKO(n_steps=50, random_state=0).fit(P)
    >>> impacts = knockout_impacts(model, P)
    >>> len(impacts) == int((P > 0).to_numpy().sum()), list(impacts.columns)
    (True, ['gene', 'cell', 'impact', 'impact_others'])
    >>> impacts.groupby("gene")["impact"].mean().index.tolist()
    ['A', 'B', 'C', 'D', 'E']
    """
    present, gene_index, cell_index, a, c = _prepare(model, P, cells)
    subset = _gene_positions(gene_index, genes)
    n_cells = present.shape[1]
    out_gene, out_cell, out_impact, out_others = [], [], [], []
    for j in range(n_cells):
        idx = np.flatnonzero(present[:, j])
        pos = np.arange(idx.size) if subset is None else np.flatnonzero(np.isin(idx, subset))
        if pos.size:
            n = idx.size
            if n == 1:
                impact = others = np.full(1, np.nan)
            else:
                a_s, rowsum, base = _cell_state(a, c, idx)
                h = a_s if pos.size == n else a_s[:, pos]  # a_s is a fresh copy: safe to overwrite
                h *= -1.0 / (n - 1)
                h += (rowsum / (n - 1) + c[idx])[:, None]
                impact, others = _knockout_columns(h, base, [pos])
            out_gene.append(idx[pos])
            out_cell.append(np.full(pos.size, j))
            out_impact.append(impact)
            out_others.append(others)
        if progress is not None and (j % 25 == 0 or j == n_cells - 1):
            progress((j + 1) / n_cells, f"knockouts in cell {j + 1:,}/{n_cells:,}")
    if not out_gene:
        return pd.DataFrame({"gene": pd.Series(dtype=str), "cell": pd.Series(dtype=str),
                             "impact": pd.Series(dtype=float), "impact_others": pd.Series(dtype=float)})
    g = np.concatenate(out_gene)
    k = np.concatenate(out_cell)
    return pd.DataFrame({"gene": gene_index.to_numpy()[g], "cell": cell_index.to_numpy()[k],
                         "impact": np.concatenate(out_impact), "impact_others": np.concatenate(out_others)})


def naive_knockout_impacts(model, P, pairs: pd.DataFrame) -> pd.DataFrame:
    """Reference: one full forward pass (both N x N layers, float64) per knockout.

    Parameters
    ----------
    model
        A fitted :class:`core.dko.DKO`.
    P
        Expression, genes x cells.
    pairs
        ``gene, cell`` (and optionally ``gene2`` for double knockouts).

    Returns
    -------
    pandas.DataFrame
        ``pairs`` with ``impact`` and ``impact_others`` added.
    """
    from scipy.spatial.distance import braycurtis

    present, gene_index, cell_index, _a, _c = _prepare(model, P, None)
    w = model.weights()

    def forward(z):
        out = z * np.abs(w["W2"] @ (w["W1"] @ z + w["b1"]) + w["b2"])
        return out / out.sum()

    impacts, others = [], []
    double = "gene2" in pairs.columns
    for row in pairs.itertuples(index=False):
        j = cell_index.get_loc(str(row.cell))
        s = present[:, j].astype(float)
        base = forward(s / s.sum())
        removed = [gene_index.get_loc(str(row.gene))] + ([gene_index.get_loc(str(row.gene2))] if double else [])
        s_ko = s.copy()
        s_ko[removed] = 0.0
        q = forward(s_ko / s_ko.sum())
        impacts.append(braycurtis(q, base))
        keep = np.ones(s.size, dtype=bool)
        keep[removed] = False
        rest = np.where(keep, base, 0.0)
        others.append(braycurtis(q, rest / rest.sum()))
    return pairs.assign(impact=impacts, impact_others=others)


def _random_triples(present: np.ndarray, n_random: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """The authors' sampler: a random cell with >= 2 present genes, two of them (gene1 < gene2), no repeats."""
    per_cell = [np.flatnonzero(present[:, j]) for j in range(present.shape[1])]
    eligible = np.array([j for j, idx in enumerate(per_cell) if idx.size >= 2], dtype=int)
    if eligible.size == 0:
        raise InputError("no cell has two present genes; double knockouts are impossible")
    total = sum(per_cell[j].size * (per_cell[j].size - 1) // 2 for j in eligible)
    n_random = min(int(n_random), total)
    seen: set[tuple[int, int, int]] = set()
    triples = []
    while len(triples) < n_random:
        cell = int(rng.choice(eligible))
        g1, g2 = (int(x) for x in rng.choice(per_cell[cell], size=2, replace=False))
        key = (cell, min(g1, g2), max(g1, g2))
        if key not in seen:
            seen.add(key)
            triples.append(key)
    return triples


def double_knockout_impacts(model, P, pairs: Iterable[tuple[str, str]] | None = None, n_random: int | None = None,
                            seed: int = 0, genes: Iterable[str] | None = None, cells: Iterable[str] | None = None,
                            progress: Progress | None = None) -> pd.DataFrame:
    """Impacts of removing two genes at once, with their single impacts and epistasis.

    Choose the double knockouts in one of three ways: ``genes`` (all pairs of a
    gene set, in every cell where both are present), ``pairs`` (given gene
    pairs, in every cell where both are present) or ``n_random`` random
    (cell, gene1 < gene2) triples drawn as the authors do (default when
    neither is given: 50,000, seeded by ``seed``).

    Epistasis is ``impact(g1, g2) - impact(g1) - impact(g2)``: 0 when the two
    knockouts add up, negative when they are redundant (removing the second
    matters less once the first is gone, as for genes acting through the same
    targets), positive when they are synergistic. Bray-Curtis is bounded and
    subadditive for nearly independent shifts, so small negative values are
    expected by construction; compare gene pairs with each other rather than
    with zero.

    Parameters
    ----------
    model
        A fitted :class:`core.dko.DKO`.
    P
        Expression, genes x cells.
    pairs, n_random, seed, genes
        Which double knockouts (see above).
    cells
        Restrict to these cells.
    progress
        Optional ``progress(fraction, message)``.

    Returns
    -------
    pandas.DataFrame
        ``gene1, gene2, cell, impact, impact1, impact2, epistasis, impact_others``;
        ``gene1`` precedes ``gene2`` in model order.
    """
    present, gene_index, cell_index, a, c = _prepare(model, P, cells)
    if sum(x is not None for x in (pairs, n_random, genes)) > 1:
        raise InputError("choose double knockouts by one of: a gene set, a list of pairs or a number of random pairs")
    n_cells = present.shape[1]
    if genes is not None:
        pos = _gene_positions(gene_index, genes)
        if pos.size < 2:
            raise InputError("a gene set for double knockouts needs at least 2 different genes")
        gene_pairs = [(int(x), int(y)) for i, x in enumerate(pos) for y in pos[i + 1:]]
    elif pairs is not None:
        gene_pairs = []
        for g1, g2 in pairs:
            p1, p2 = _gene_positions(gene_index, [g1]), _gene_positions(gene_index, [g2])
            if p1[0] == p2[0]:
                raise InputError(f"a double knockout needs two different genes, got {g1} twice")
            gene_pairs.append((int(min(p1[0], p2[0])), int(max(p1[0], p2[0]))))
    else:
        gene_pairs = None
    by_cell: dict[int, list[tuple[int, int]]] = {}
    if gene_pairs is None:
        rng = np.random.default_rng(seed)
        order = _random_triples(present, DEFAULT_N_RANDOM if n_random is None else n_random, rng)
        for cell, g1, g2 in order:
            by_cell.setdefault(cell, []).append((g1, g2))
    else:
        gp = np.asarray(gene_pairs, dtype=int).reshape(-1, 2)
        for j in range(n_cells):
            ok = present[gp[:, 0], j] & present[gp[:, 1], j]
            if ok.any():
                by_cell[j] = [tuple(x) for x in gp[ok]]
    rows = []
    done = 0
    for j, cell_pairs in by_cell.items():
        idx = np.flatnonzero(present[:, j])
        n = idx.size
        local = np.searchsorted(idx, np.asarray(cell_pairs, dtype=int))  # positions within S
        k1, k2 = local[:, 0], local[:, 1]
        a_s, rowsum, base = _cell_state(a, c, idx)
        c_s = c[idx][:, None]
        if n > 2:
            h = (rowsum[:, None] - a_s[:, k1] - a_s[:, k2]) / (n - 2) + c_s
            impact, others = _knockout_columns(h, base, [k1, k2])
        else:
            impact = others = np.full(len(cell_pairs), np.nan)
        singles = np.unique(local)
        hs = (rowsum[:, None] - a_s[:, singles]) / (n - 1) + c_s
        single_impact, _ = _knockout_columns(hs, base, [singles])
        lookup = dict(zip(singles.tolist(), single_impact))
        i1 = np.array([lookup[x] for x in k1.tolist()])
        i2 = np.array([lookup[x] for x in k2.tolist()])
        pairs_arr = np.asarray(cell_pairs, dtype=int)
        rows.append(pd.DataFrame({
            "gene1": gene_index.to_numpy()[pairs_arr[:, 0]], "gene2": gene_index.to_numpy()[pairs_arr[:, 1]],
            "cell": cell_index[j], "impact": impact, "impact1": i1, "impact2": i2,
            "epistasis": impact - i1 - i2, "impact_others": others,
        }))
        done += 1
        if progress is not None and (done % 25 == 0 or done == len(by_cell)):
            progress(done / len(by_cell), f"double knockouts in cell {done:,}/{len(by_cell):,}")
    if not rows:
        raise InputError("none of the chosen gene pairs is present together in any chosen cell")
    return pd.concat(rows, ignore_index=True)
