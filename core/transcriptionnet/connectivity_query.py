"""Connectivity query: which perturbations mimic or reverse a signature (CMap's weighted KS score).

The score is CMap's weighted connectivity score (WTCS; Subramanian et al., Cell 2017):

* each reference signature ranks its landmark genes from most up (position 0) to most down;
* for the query's up genes, ``ES_up`` is the weighted signed two-sample Kolmogorov-Smirnov
  enrichment score of GSEA (Subramanian et al., PNAS 2005) with weight 1: walking down the
  ranking, a query gene adds ``|value| / (sum of |value| over the query genes)``, any other gene
  subtracts ``1 / (L - k)``; ES is the walk's largest deviation from 0 (``L`` landmarks, ``k`` query
  genes). ``ES_down`` likewise for the down genes;
* ``score = (ES_up - ES_down) / 2`` when the two have different signs, else 0. It lies in
  [-1, 1]: +1 when the query's up genes are the signature's very top and its down genes the very
  bottom (the signature mimics the query), -1 when reversed.

Significance: ``n_permutations`` random queries of the same sizes (disjoint random up and down
sets of landmark positions, shared by every signature) give each signature a null
distribution of scores. As in CMap's normalised score, each score is divided by the mean of
the positive null scores of its signature when positive, by the mean absolute negative
null score when negative (``normalized``). ``p`` is the two-sided permutation p-value of the
normalised score against the pooled null of every signature searched,
``(1 + #{|null| >= |observed|}) / (1 + n_signatures * n_permutations)``; pooling gives the
resolution BH needs when thousands of signatures are searched, and assumes the normalised
null distributions of different signatures alike. ``q`` is Benjamini-Hochberg over all
signatures searched.
"""

from __future__ import annotations

import functools
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from core.errors import InputError
from core.stats import bh_fdr

MIN_QUERY = 5
TIE = 1e-12  # |max| and |min| deviations this close are a tie, resolved to the positive one
CONNECTIVITY_COLUMNS = ["score", "normalized", "p", "q", "es_up", "es_down"]
_CHUNK_ELEMENTS = 4_000_000  # signatures x permutations x query genes per null block


def _unit(labels) -> list[str]:
    return [str(g).strip() for g in labels]


def resolve_genes(tokens: Sequence[str], landmarks: Sequence[str],
                  aliases: Mapping[str, str] | None = None) -> tuple[list[str], list[str]]:
    """Map user tokens (symbols or ids, any case) to landmark labels.

    Parameters
    ----------
    tokens
        Gene names as typed; blanks are ignored, repeats kept once.
    landmarks
        The signatures' column labels.
    aliases
        Optional other names of landmark genes (e.g. symbol -> Entrez id, or Entrez id -> symbol),
        upper-cased or not; the value must be a landmark label.

    Returns
    -------
    matched : list of str
        Landmark labels, in the order first typed.
    unknown : list of str
        Tokens that are not landmark genes.
    """
    lookup = {str(g).upper(): str(g) for g in landmarks}
    for name, label in (aliases or {}).items():
        if str(label) in lookup.values():
            lookup.setdefault(str(name).upper(), str(label))
    matched, unknown = [], []
    for token in _unit(tokens):
        if not token:
            continue
        label = lookup.get(token.upper())
        if label is None:
            unknown.append(token)
        elif label not in matched:
            matched.append(label)
    return matched, unknown


def check_query(up, down, columns) -> tuple[np.ndarray, np.ndarray]:
    """Column positions of a query's up and down genes; :class:`InputError` says what to fix.

    At least ``MIN_QUERY`` genes each, all of them landmark genes (``columns``), none in both lists.

    Parameters
    ----------
    up, down : sequence of str
        The query's up and down genes.
    columns : sequence of str
        The landmark genes.
    """
    columns = pd.Index(columns)
    up, down = _unit(up), _unit(down)
    both = sorted(set(up) & set(down))
    if both:
        raise InputError(f"{len(both)} gene(s) are in both the up and the down list (e.g. {', '.join(both[:5])}); "
                         f"a gene can go only one way")
    pos = {g: i for i, g in enumerate(map(str, columns))}
    for name, genes in (("up", up), ("down", down)):
        unknown = [g for g in genes if g not in pos]
        if unknown:
            raise InputError(f"{len(unknown)} {name} gene(s) are not landmark genes of the signatures (e.g. "
                             f"{', '.join(unknown[:5])}); use landmark genes only")
        if len(set(genes)) < MIN_QUERY:
            raise InputError(f"the {name} list has {len(set(genes))} landmark gene(s); a query needs at least "
                             f"{MIN_QUERY} up and {MIN_QUERY} down genes")
    if len(set(up)) + len(set(down)) >= len(columns):
        raise InputError("the query lists name every landmark gene; a query needs genes outside it too")
    return (np.array(sorted({pos[g] for g in up}), dtype=np.int64),
            np.array(sorted({pos[g] for g in down}), dtype=np.int64))


def _check_signatures(signatures) -> tuple[pd.DataFrame, pd.Series | None]:
    if isinstance(signatures, pd.DataFrame):
        frames, labels = {None: signatures}, None
    elif isinstance(signatures, Mapping) and signatures:
        frames = dict(signatures)
        labels = True
    else:
        raise InputError("signatures must be a table (perturbed genes x landmark genes) or a non-empty mapping of "
                         "such tables")
    columns = None
    parts, sets = [], []
    for name, frame in frames.items():
        if not isinstance(frame, pd.DataFrame) or frame.empty:
            raise InputError(f"signature set {name or ''} is empty; it needs perturbed genes x landmark genes".strip())
        if columns is None:
            columns = frame.columns
        elif not frame.columns.equals(columns):
            raise InputError(f"signature set {name} has other landmark genes than the first set; every set must "
                             f"have the same landmarks in the same order")
        values = frame.to_numpy(np.float64)
        if not np.isfinite(values).all():
            raise InputError(f"signature set {name or ''} has missing or infinite values; fill or drop them".strip())
        parts.append(frame)
        sets += [name] * len(frame)
    combined = pd.concat(parts) if len(parts) > 1 else parts[0]
    return combined, (pd.Series(sets, index=combined.index, name="set") if labels else None)


def _enrichment(positions: np.ndarray, weights: np.ndarray, n_landmarks: int) -> np.ndarray:
    """Weighted KS enrichment scores; ``positions`` (..., k) sorted ascending, ``weights`` at them."""
    k = positions.shape[-1]
    total = weights.sum(axis=-1, keepdims=True)
    flat = total <= 0
    if flat.any():  # a signature that is 0 on every query gene: weigh the genes equally
        weights = np.where(flat, 1.0, weights)
        total = np.where(flat, float(k), total)
    hits = np.cumsum(weights, axis=-1) / total
    misses = (positions - np.arange(k)) / (n_landmarks - k)
    top = np.maximum((hits - misses).max(axis=-1), 0.0)
    bottom = np.minimum((hits - weights / total - misses).min(axis=-1), 0.0)
    return np.where(top >= -bottom - TIE, top, bottom)


def _combine(es_up: np.ndarray, es_down: np.ndarray) -> np.ndarray:
    return np.where(np.sign(es_up) != np.sign(es_down), (es_up - es_down) / 2.0, 0.0)


def _observed(values: np.ndarray, rank: np.ndarray, up: np.ndarray, down: np.ndarray):
    """ES_up and ES_down of every signature; ``rank[n, g]`` is gene g's position in signature n."""
    out = []
    for genes in (up, down):
        pos = rank[:, genes]
        sort = np.argsort(pos, axis=1)
        out.append(_enrichment(np.take_along_axis(pos, sort, axis=1),
                               np.take_along_axis(np.abs(values[:, genes]), sort, axis=1), values.shape[1]))
    return out[0], out[1]


@functools.lru_cache(maxsize=1)
def _null_kernel():
    """The compiled null loop (numba, compiled on first use and cached on disk)."""
    import numba

    @numba.njit(cache=True, nogil=True, inline="always")
    def walk(row, pos, first, last, offset, t, equal, scale, per_miss, hit, top, bottom):
        for j in range(first, last):
            where = pos[j] + offset
            miss = (where - t) * per_miss
            if hit - miss < bottom:
                bottom = hit - miss
            hit += scale if equal else row[where] * scale
            if hit - miss > top:
                top = hit - miss
            t += 1
        return t, hit, top, bottom

    @numba.njit(cache=True, nogil=True)
    def es(row, pos, shift, n_landmarks):
        """Weighted KS ES of the positions ``(pos + shift) mod L`` (``pos`` sorted), walked in order."""
        k = pos.shape[0]
        split = np.searchsorted(pos, n_landmarks - shift)  # positions from here on wrap to the top
        total = 0.0
        for j in range(k):
            where = pos[j] + shift
            total += row[where - n_landmarks if where >= n_landmarks else where]
        equal = total <= 0.0
        scale = 1.0 / k if equal else 1.0 / total
        per_miss = 1.0 / (n_landmarks - k)
        t, hit, top, bottom = walk(row, pos, split, k, shift - n_landmarks, 0, equal, scale, per_miss, 0.0, 0.0, 0.0)
        t, hit, top, bottom = walk(row, pos, 0, split, shift, t, equal, scale, per_miss, hit, top, bottom)
        return top if top >= -bottom - TIE else bottom

    @numba.njit(cache=True, nogil=True)
    def null(ranked, up_pos, down_pos, shifts, out):
        n_landmarks = ranked.shape[1]
        for n in range(ranked.shape[0]):
            row = ranked[n]
            for b in range(up_pos.shape[0]):
                up = es(row, up_pos[b], shifts[n, b], n_landmarks)
                down = es(row, down_pos[b], shifts[n, b], n_landmarks)
                out[n, b] = (up - down) / 2.0 if np.sign(up) != np.sign(down) else 0.0

    return null


def _random_positions(n_landmarks: int, k_up: int, k_down: int, n_permutations: int,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sorted positions of disjoint random up and down sets, one pair per permutation."""
    perm = np.argsort(rng.random((n_permutations, n_landmarks)), axis=1)
    return np.sort(perm[:, :k_up], axis=1), np.sort(perm[:, k_up:k_up + k_down], axis=1)


def _null(ranked: np.ndarray, k_up: int, k_down: int, n_permutations: int, rng: np.random.Generator,
          progress=None) -> np.ndarray:
    """Signatures x permutations null scores of random queries.

    A random gene set falls on uniformly random positions of a ranking, and so does any
    rotation ``(positions + c) mod L`` of it. Permutation b draws one pair of disjoint random up
    and down position sets; signature n uses them rotated by its own random ``c[n, b]``. Each
    signature thus sees independent uniformly random queries (its null is exact), different
    signatures see different ones (so pooling their nulls adds resolution), and the rotated
    sets stay sorted up to one wrap, so no sorting is needed. ``ranked`` holds each
    signature's absolute values in its own descending order (the weights by position).
    """
    n, n_landmarks = ranked.shape
    up_pos, down_pos = _random_positions(n_landmarks, k_up, k_down, n_permutations, rng)
    null = np.empty((n, n_permutations), dtype=np.float32)
    kernel = _null_kernel()
    step = max(1, _CHUNK_ELEMENTS // max(1, n_permutations * (k_up + k_down)))
    for start in range(0, n, step):
        block = ranked[start:start + step]
        shifts = rng.integers(0, n_landmarks, size=(len(block), n_permutations))
        kernel(block, up_pos, down_pos, shifts, null[start:start + step])
        if progress is not None:
            progress(min(1.0, (start + step) / n), "permutation null")
    return null


class ConnectivityIndex:
    """Signatures prepared for repeated connectivity queries.

    Holds each signature's ranking, and the permutation null of each query size already asked
    (the null depends on the query's sizes, not on its genes), so a second query of the same
    sizes costs only its own scores.

    Parameters
    ----------
    signatures
        Perturbed genes x landmark genes, or a mapping ``name -> table`` (same landmarks).
    n_permutations, random_state
        See :func:`connectivity`.
    max_nulls
        Null distributions kept (one per pair of query sizes), oldest dropped first.
    """

    def __init__(self, signatures, *, n_permutations: int = 1000, random_state: int = 0, max_nulls: int = 4):
        if not isinstance(n_permutations, (int, np.integer)) or isinstance(n_permutations, bool) \
                or n_permutations < 0:
            raise InputError(f"n_permutations must be a whole number >= 0, got {n_permutations!r}")
        self.frame, self.sets = _check_signatures(signatures)
        self.landmarks = pd.Index(self.frame.columns.astype(str))
        self.n_permutations, self.random_state, self.max_nulls = int(n_permutations), random_state, max_nulls
        self.values = self.frame.to_numpy(np.float64)
        order = np.argsort(-self.values, axis=1, kind="stable")
        self.rank = np.empty_like(order)
        np.put_along_axis(self.rank, order, np.arange(self.values.shape[1])[None, :], axis=1)
        self.ranked = np.ascontiguousarray(np.abs(np.take_along_axis(self.values, order, axis=1)))
        self._nulls: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.values)

    def _null_for(self, k_up: int, k_down: int, progress=None):
        key = (k_up, k_down)
        if key not in self._nulls:
            null = _null(self.ranked, k_up, k_down, self.n_permutations, np.random.default_rng(self.random_state),
                         progress)
            with np.errstate(invalid="ignore", divide="ignore"):
                pos = np.where(null > 0, null, 0).sum(axis=1) / (null > 0).sum(axis=1)
                neg = -np.where(null < 0, null, 0).sum(axis=1) / (null < 0).sum(axis=1)
            pos = np.where(np.isfinite(pos) & (pos > 0), pos, 1.0)
            neg = np.where(np.isfinite(neg) & (neg > 0), neg, 1.0)
            pooled = np.abs(np.where(null > 0, null / pos[:, None].astype(np.float32),
                                     null / neg[:, None].astype(np.float32))).ravel()
            pooled.sort()
            while len(self._nulls) >= self.max_nulls:
                self._nulls.pop(next(iter(self._nulls)))
            self._nulls[key] = (pos, neg, pooled)
        return self._nulls[key]

    def query(self, up: Sequence[str], down: Sequence[str], progress=None) -> pd.DataFrame:
        """The connectivity table of one query (see :func:`connectivity`)."""
        up_idx, down_idx = check_query(up, down, self.landmarks)
        es_up, es_down = _observed(self.values, self.rank, up_idx, down_idx)
        score = _combine(es_up, es_down)
        if self.n_permutations:
            pos, neg, pooled = self._null_for(len(up_idx), len(down_idx), progress)
            normalized = np.where(score > 0, score / pos, score / neg)
            # the pooled null is float32: an observed value within float32 rounding of a null value ties with it
            exceed = pooled.size - np.searchsorted(pooled, (np.abs(normalized) * (1 - 1e-6)).astype(np.float32),
                                                   side="left")
            p = (1.0 + exceed) / (1.0 + pooled.size)
            q = bh_fdr(p)
        else:
            normalized = p = q = np.full(len(score), np.nan)
        out = pd.DataFrame({"score": score, "normalized": normalized, "p": p, "q": q, "es_up": es_up,
                            "es_down": es_down}, index=pd.Index(self.frame.index.astype(str), name="gene"))
        if self.sets is not None:
            out["set"] = self.sets.to_numpy()
        order = np.lexsort((np.arange(len(out)), -np.nan_to_num(out["normalized"].to_numpy()),
                            -out["score"].to_numpy()))
        return out.iloc[order]


def connectivity(up: Sequence[str], down: Sequence[str], signatures, *, n_permutations: int = 1000,
                 random_state: int = 0, progress=None) -> pd.DataFrame:
    """Score every signature against a query of up- and down-regulated landmark genes.

    Parameters
    ----------
    up, down
        Landmark genes (column labels of ``signatures``) up- and down-regulated in the query; at
        least 5 each, none in both (see :func:`resolve_genes` for typed symbols or ids).
    signatures
        Perturbed genes x landmark genes, or a mapping ``name -> table`` (same landmarks) whose
        rows are all searched together; or a :class:`ConnectivityIndex` (then ``n_permutations``
        and ``random_state`` are the index's).
    n_permutations
        Random queries for the null distribution; 0 gives scores only (``p``, ``q`` NaN).
    random_state
        Seed of the random queries.
    progress
        Optional callback ``(fraction, message)``.

    Returns
    -------
    pandas.DataFrame
        Indexed by perturbed gene, sorted from most mimicking (score +1) to most reversing (-1):
        ``score`` (WTCS), ``normalized`` (score over its signature's mean null score of the same
        sign), ``p``, ``q``, ``es_up``, ``es_down``; plus ``set`` (the mapping key) when
        ``signatures`` is a mapping. See the module docstring for the exact definitions.
    """
    index = signatures if isinstance(signatures, ConnectivityIndex) else ConnectivityIndex(
        signatures, n_permutations=n_permutations, random_state=random_state)
    return index.query(up, down, progress)


def self_retrieval(queries: pd.DataFrame, library: pd.DataFrame, n_genes: int = 50) -> pd.DataFrame:
    """Where each gene's own library signature ranks when its query signature is the query.

    For every gene in both tables, the query is the ``n_genes`` most up and most down landmarks
    of its row of ``queries``; every row of ``library`` is scored (:func:`connectivity`, scores
    only) and the gene's own library row is located. Centre both tables first if their common
    response should not count (e.g. subtract each table's mean signature).

    Parameters
    ----------
    queries, library
        Perturbed genes x landmark genes, the same landmark columns.
    n_genes
        Up and down genes per query.

    Returns
    -------
    pandas.DataFrame
        Indexed by gene: ``rank`` (1 = the gene's own signature mimics its query best) and
        ``n_library``. Reversing a query negates every score, so with the reversed query the own
        signature's place counted from the bottom is the same ``rank``.
    """
    if not queries.columns.equals(library.columns):
        raise InputError("queries and library must have the same landmark genes in the same order")
    common = [g for g in queries.index.astype(str) if g in set(library.index.astype(str))]
    if not common:
        raise InputError("no gene has both a query signature and a library signature")
    if not 1 <= n_genes < len(queries.columns) // 2:
        raise InputError(f"n_genes must be between 1 and half the landmarks, got {n_genes}")
    index = ConnectivityIndex(library, n_permutations=0)
    lib_pos = {g: i for i, g in enumerate(library.index.astype(str))}
    q = queries.copy()
    q.index = q.index.astype(str)
    columns = np.asarray(library.columns.astype(str))
    rows = []
    for gene in common:
        order = np.argsort(-q.loc[gene].to_numpy(np.float64), kind="stable")
        up, down = columns[order[:n_genes]], columns[order[-n_genes:]]
        u, d = check_query(up, down, index.landmarks)
        score = _combine(*_observed(index.values, index.rank, u, d))
        own = score[lib_pos[gene]]
        # ties with the own signature count against it (rank is its worst position among equals)
        rows.append((gene, int((score >= own).sum()), len(score)))
    return pd.DataFrame(rows, columns=["gene", "rank", "n_library"]).set_index("gene")
