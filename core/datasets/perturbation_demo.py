"""Seeded demo data for the perturbation-signature pages (TranscriptionNet, arXiv 2024).

TranscriptionNet predicts a gene's L1000 landmark signature under RNAi, CRISPR
knockout or overexpression (OE) from multiplex gene networks.
``make_perturbation_demo`` builds three network layers over synthetic genes and
signatures generated from latent gene factors that are smooth on those networks,
so neighbouring genes respond alike. All of it is SIMULATED.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from core.datasets.genes import SHARED_SYMBOLS, fill_symbols
from core.datasets.storage import Persistable
from core.errors import InputError

GENERATOR_VERSION = "2"

#: Shared demo genes placed in one network module each, so their signatures resemble each other
#: (paralogs and pathway partners of the modifier-gene demo; SIMULATED).
MODULE_MATES: tuple[tuple[str, ...], ...] = (
    ("RPP25L", "RPP25"), ("KRAS", "EGFR", "DUSP6"), ("TP53", "MDM2", "CDKN1A"), ("FAM50A", "FAM50B"),
    ("ARID1A", "ARID1B", "SMARCA4", "SMARCA2"), ("MTAP", "PRMT5"), ("MCL1", "BCL2L1"),
)

ENTREZ_OFFSET = 900_000_000  # synthetic Entrez ids: 900000001, ... (no real gene has such an id)
N_FACTORS = 12
GENES_PER_MODULE = 40
PERTURBATION_TYPES = ("RNAi", "CRISPR", "OE")
#: Scale of the shared mean response, the gene-specific (latent) response and the noise per type.
MEAN_SCALE, LATENT_SCALE = 0.6, 0.6
NOISE_SCALE = {"RNAi": 0.6, "CRISPR": 0.45, "OE": 0.5}
SELF_EFFECT = {"RNAi": -3.0, "CRISPR": -3.0, "OE": 3.0}  # a perturbed landmark's own z-score shift
MEASURED_FRACTION = {"RNAi": 1.0, "CRISPR": 1.0, "OE": 0.8}


@dataclass
class PerturbationData(Persistable):
    """Simulated multiplex gene networks and L1000-like perturbation signatures.

    Attributes
    ----------
    genes
        Index = gene symbol (synthetic ``SIM####``); column ``entrez`` (unique synthetic ints).
    layers
        Network layers by name (``PPI``, ``co-expression``, ``pathway``): undirected
        edge tables ``gene1, gene2, weight`` with ``gene1 < gene2`` and weight in (0, 1].
    landmarks
        The landmark genes (columns of every signature), a subset of ``genes``.
    signatures
        ``RNAi`` / ``CRISPR`` / ``OE`` -> perturbed genes x landmarks (float32,
        moderated-z-score-like, SD about 1).
    truth
        genes x latent factors ``factor_01..`` plus ``module`` (int), the hidden
        variables the signatures were generated from; None for real data.
    params
        Generator arguments and version.
    """

    genes: pd.DataFrame
    layers: dict
    landmarks: list
    signatures: dict
    truth: pd.DataFrame | None = None
    params: dict = field(default_factory=dict)

    @property
    def description(self) -> str:
        """One paragraph for the UI saying what is simulated and what is planted."""
        sizes = ", ".join(f"{k} {len(v)}" for k, v in self.signatures.items())
        layers = ", ".join(f"{k} ({len(v):,} edges)" for k, v in self.layers.items())
        return (
            f"SIMULATED demo data, not real L1000 measurements: {len(self.genes):,} synthetic genes in "
            f"{len(self.layers)} network layers ({layers}) and signatures over {len(self.landmarks)} landmark "
            f"genes for perturbed genes ({sizes}; seed {self.params.get('seed', '?')}). Signatures are a shared "
            f"mean response plus a gene-specific response from {N_FACTORS} latent factors that are smooth on the "
            f"networks, so network neighbours respond alike; CRISPR resembles RNAi and OE is roughly opposite "
            f"with its own component."
        )


def _edges(i: np.ndarray, j: np.ndarray, weight: np.ndarray, genes: list[str]) -> pd.DataFrame:
    """Undirected edge table with gene1 < gene2 (as text), duplicates merged (max weight), weights in (0, 1]."""
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    keep = lo != hi
    df = pd.DataFrame({"a": lo[keep], "b": hi[keep], "weight": np.clip(weight[keep], 1e-3, 1.0)})
    df = df.groupby(["a", "b"], as_index=False, sort=True)["weight"].max()
    g = np.asarray(genes)
    a, b = g[df["a"]], g[df["b"]]
    return pd.DataFrame({"gene1": np.where(a < b, a, b), "gene2": np.where(a < b, b, a),
                         "weight": df["weight"].astype(np.float64)})


def _within_module_pairs(
    rng: np.random.Generator, members: list[np.ndarray], p: float
) -> tuple[np.ndarray, np.ndarray]:
    """Random pairs inside each module, each kept with probability ``p``."""
    ii, jj = [], []
    for m in members:
        if m.size < 2:
            continue
        a, b = np.triu_indices(m.size, 1)
        keep = rng.random(a.size) < p
        ii.append(m[a[keep]])
        jj.append(m[b[keep]])
    return np.concatenate(ii), np.concatenate(jj)


def make_perturbation_demo(
    seed: int = 0, n_genes: int = 3000, n_landmarks: int = 978, n_measured: int = 600
) -> PerturbationData:
    """Simulate network layers and RNAi / CRISPR / OE landmark signatures.

    Parameters
    ----------
    seed
        Seed of the random generator; the output is a pure function of the arguments.
    n_genes
        Number of genes: the demos' shared real symbols (perturbed in every type), then
        synthetic ``SIM####`` symbols.
    n_landmarks
        Number of landmark genes (978 in L1000), drawn from the genes.
    n_measured
        About how many genes are perturbed per type (OE: 80% of it); the sets overlap.

    Returns
    -------
    PerturbationData
        Genes, network layers, landmarks, signatures and latent truth.

    Raises
    ------
    core.errors.InputError
        If a size is out of range.
    """
    if n_genes < 100:
        raise InputError(f"n_genes must be at least 100, got {n_genes}")
    if not 10 <= n_landmarks <= n_genes:
        raise InputError(f"n_landmarks must be between 10 and n_genes={n_genes}, got {n_landmarks}")
    if not 10 <= n_measured <= n_genes:
        raise InputError(f"n_measured must be between 10 and n_genes={n_genes}, got {n_measured}")
    rng = np.random.default_rng(seed)
    smallest = min(max(10, round(n_measured * f)) for f in MEASURED_FRACTION.values())
    named = SHARED_SYMBOLS[: min(len(SHARED_SYMBOLS), smallest // 2)]
    symbols = fill_symbols(named, n_genes)
    shared = np.arange(len(named))
    genes = pd.DataFrame({"entrez": ENTREZ_OFFSET + np.arange(1, n_genes + 1, dtype=np.int64)},
                         index=pd.Index(symbols, name="gene"))

    # modules and raw latent factors ------------------------------------------------------
    n_modules = max(2, n_genes // GENES_PER_MODULE)
    module = rng.choice(n_modules, size=n_genes, p=rng.dirichlet(np.full(n_modules, 3.0)))
    for mates in MODULE_MATES:
        idx = [symbols.index(g) for g in mates if g in named]
        module[idx] = module[idx[0]] if idx else module[idx]
    members = [np.flatnonzero(module == m) for m in range(n_modules)]
    z0 = rng.normal(0, 1, (n_modules, N_FACTORS))[module] + rng.normal(0, 0.7, (n_genes, N_FACTORS))

    # layers ------------------------------------------------------------------------------
    n_random = n_genes  # about one random cross-module edge per gene
    i, j = _within_module_pairs(rng, members, 0.12)
    ri, rj = rng.integers(0, n_genes, n_random), rng.integers(0, n_genes, n_random)
    ppi = _edges(np.concatenate([i, ri]), np.concatenate([j, rj]),
                 rng.uniform(0.15, 1.0, i.size + n_random), symbols)

    noisy = z0 + rng.normal(0, 0.8, z0.shape)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    sim = (noisy @ noisy.T).astype(np.float32)
    np.fill_diagonal(sim, -np.inf)
    k = 5
    nn = np.argpartition(-sim, k, axis=1)[:, :k]
    ci = np.repeat(np.arange(n_genes), k)
    cj = nn.ravel()
    coexp = _edges(ci, cj, sim[ci, cj].astype(np.float64), symbols)  # cosine similarity, clipped to (0, 1]

    pi, pj, pw = [], [], []
    for m in members:
        for _ in range(int(rng.integers(0, 3))):  # 0-2 pathways per module
            size = min(m.size, int(rng.integers(5, 16)))
            if size < 2:
                continue
            pathway = rng.choice(m, size=size, replace=False)
            a, b = np.triu_indices(size, 1)
            pi.append(pathway[a])
            pj.append(pathway[b])
            pw.append(np.full(a.size, 1.0 / np.sqrt(size - 1)))
    pathway_edges = _edges(np.concatenate(pi), np.concatenate(pj), np.concatenate(pw), symbols)
    layers = {"PPI": ppi, "co-expression": coexp, "pathway": pathway_edges}

    # every gene in at least one layer: link loners to a module mate (or any gene) in PPI
    covered = set()
    for df in layers.values():
        covered.update(df["gene1"])
        covered.update(df["gene2"])
    loners = [g for g in range(n_genes) if symbols[g] not in covered]
    if loners:
        mates = [int(rng.choice(np.setdiff1d(members[module[g]], [g]) if members[module[g]].size > 1
                                else np.setdiff1d(np.arange(n_genes), [g]))) for g in loners]
        extra = _edges(np.array(loners), np.array(mates), rng.uniform(0.15, 1.0, len(loners)), symbols)
        layers["PPI"] = pd.concat([ppi, extra]).drop_duplicates(["gene1", "gene2"]).sort_values(
            ["gene1", "gene2"], ignore_index=True)

    # latent factors smoothed over the union graph ---------------------------------------
    pos = {g: n for n, g in enumerate(symbols)}
    union = pd.concat(layers.values())
    a, b = union["gene1"].map(pos).to_numpy(), union["gene2"].map(pos).to_numpy()
    w = union["weight"].to_numpy()
    adj = sparse.csr_matrix((np.concatenate([w, w]), (np.concatenate([a, b]), np.concatenate([b, a]))),
                            shape=(n_genes, n_genes))
    walk = sparse.diags(1.0 / np.maximum(np.asarray(adj.sum(axis=1)).ravel(), 1e-12)) @ adj
    z = z0
    for _ in range(2):
        z = 0.5 * z0 + 0.5 * walk @ z
    z = (z - z.mean(0)) / z.std(0)
    truth = pd.DataFrame(z, index=genes.index.copy(), columns=[f"factor_{f + 1:02d}" for f in range(N_FACTORS)])
    truth["module"] = module.astype(np.int64)

    # signatures -------------------------------------------------------------------------
    landmark_idx = np.sort(rng.choice(n_genes, size=n_landmarks, replace=False))
    landmarks = [symbols[g] for g in landmark_idx]
    mean_kd = rng.normal(0, 1, n_landmarks)
    load_kd = rng.normal(0, 1, (N_FACTORS, n_landmarks)) / np.sqrt(N_FACTORS)
    mean = {"RNAi": mean_kd + 0.3 * rng.normal(0, 1, n_landmarks),
            "CRISPR": mean_kd + 0.3 * rng.normal(0, 1, n_landmarks),
            "OE": -0.5 * mean_kd + 0.85 * rng.normal(0, 1, n_landmarks)}
    load = {"RNAi": load_kd + 0.35 * rng.normal(0, 1, load_kd.shape) / np.sqrt(N_FACTORS),
            "CRISPR": load_kd + 0.35 * rng.normal(0, 1, load_kd.shape) / np.sqrt(N_FACTORS),
            "OE": -0.6 * load_kd + 0.8 * rng.normal(0, 1, load_kd.shape) / np.sqrt(N_FACTORS)}
    popularity = rng.lognormal(0, 1, n_genes)
    landmark_col = {g: c for c, g in enumerate(landmark_idx)}
    signatures = {}
    for kind in PERTURBATION_TYPES:
        n = max(10, round(n_measured * MEASURED_FRACTION[kind]))
        others = np.setdiff1d(np.arange(n_genes), shared)  # the shared genes are perturbed in every type
        weight = popularity[others] / popularity[others].sum()
        perturbed = np.sort(np.concatenate([shared, rng.choice(others, size=n - shared.size, replace=False,
                                                               p=weight)]))
        scale = rng.normal(1.0, 0.25, n)[:, None]
        sig = (MEAN_SCALE * scale * mean[kind] + LATENT_SCALE * z[perturbed] @ load[kind]
               + rng.normal(0, NOISE_SCALE[kind], (n, n_landmarks)))
        for row, g in enumerate(perturbed):
            if g in landmark_col:
                sig[row, landmark_col[g]] += SELF_EFFECT[kind]
        signatures[kind] = pd.DataFrame(sig.astype(np.float32), index=pd.Index([symbols[g] for g in perturbed],
                                        name="gene"), columns=pd.Index(landmarks, name="landmark"))

    params = {"seed": seed, "n_genes": n_genes, "n_landmarks": n_landmarks, "n_measured": n_measured,
              "generator_version": GENERATOR_VERSION}
    return PerturbationData(genes=genes, layers=layers, landmarks=landmarks, signatures=signatures,
                            truth=truth, params=params)
