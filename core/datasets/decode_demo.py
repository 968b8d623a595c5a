"""Seeded demo data for the DEcode pages (Tasaki et al., Nat Mach Intell 2020).

DEcode predicts each gene's expression across tissues from where regulators bind:
transcription factors in the promoter (30 bins of 100 bp, -2,000..+1,000 bp around
the TSS) and RNA-binding proteins / miRNAs along the mature transcript (100-nt
bins). ``make_decode_demo`` simulates such binding matrices and tissue targets
with planted regulator -> tissue effects. All of it is SIMULATED.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.datasets.genes import SHARED_SYMBOLS, fill_symbols
from core.datasets.storage import Persistable
from core.errors import InputError

GENERATOR_VERSION = "2"

PROMOTER_BINS = 30
BIN_BP = 100
PROMOTER_START_BP = -2000
TSS_BIN = -PROMOTER_START_BP // BIN_BP  # bin 20 covers [0, +100) bp
NEAR_TSS = (TSS_BIN - 5, TSS_BIN + 5)  # bins 15..24 = -500..+500 bp
MRNA_MIN_BINS, MRNA_MAX_BINS = 5, 80
MIRNA_SITE = 0.08  # an 8-nt seed site covers 8% of a 100-nt bin
TISSUE_NOISE = 0.5  # SD of the unexplained gene x tissue noise (log2 units)

#: GTEx tissue names; the planted ones come first so every demo size holds them.
TISSUES: tuple[str, ...] = (
    "Liver", "Muscle - Skeletal", "Brain - Cortex", "Whole Blood",
    "Adipose - Subcutaneous", "Adrenal Gland", "Artery - Tibial", "Brain - Cerebellum",
    "Brain - Hippocampus", "Breast - Mammary Tissue", "Cells - Cultured fibroblasts",
    "Colon - Transverse", "Esophagus - Mucosa", "Heart - Left Ventricle", "Kidney - Cortex", "Lung",
    "Nerve - Tibial", "Ovary", "Pancreas", "Pituitary", "Prostate", "Skin - Sun Exposed (Lower leg)",
    "Small Intestine - Terminal Ileum", "Spleen", "Stomach", "Testis", "Thyroid", "Uterus", "Vagina",
    "Esophagus - Muscularis", "Heart - Atrial Appendage", "Brain - Hypothalamus",
)
BRAIN_PREFIX = "Brain - "

#: Planted regulators: (regulator, branch, region, tissue, strength per unit binding, description).
#: ``tissue == "median"`` means the gene's median expression across tissues.
PLANTED: tuple[tuple[str, str, str, str, float, str], ...] = (
    ("HNF4A", "promoter", "-500..+500 bp around the TSS", "Liver", 1.2,
     "HNF4A binding within 500 bp of the TSS raises Liver expression (binding further upstream does nothing)"),
    ("MYOD1", "promoter", "whole promoter window", "Muscle - Skeletal", 1.2,
     "MYOD1 binding anywhere in the promoter window raises skeletal-muscle expression"),
    ("SPI1", "promoter", "-500..+500 bp around the TSS", "Whole Blood", 1.0,
     "SPI1 (PU.1) binding near the TSS raises Whole Blood expression"),
    ("CTCF", "promoter", "whole promoter window", "median", 0.4,
     "CTCF binding raises the gene's median expression across all tissues"),
    ("hsa-miR-122-5p", "mrna", "3' UTR", "Liver", -10.0,
     "hsa-miR-122-5p sites in the 3' UTR lower Liver expression (about -0.8 log2 units per 8-nt site)"),
    ("ELAVL1", "mrna", "3' UTR", "Brain - Cortex", 1.5,
     "ELAVL1 (HuR) binding in the 3' UTR raises Brain - Cortex expression"),
)
#: Promoter regulators whose effect counts only binding in bins NEAR_TSS (others: the whole window).
NEAR_TSS_REGULATORS = {"HNF4A": NEAR_TSS, "SPI1": NEAR_TSS}
N_TFS, N_RBPS, N_MIRNAS = 60, 30, 40
#: Fraction of genes bound by each planted regulator (others: 4-25% TFs, 5-35% RBPs, 3-20% miRNAs).
PLANTED_PREVALENCE = {"HNF4A": 0.18, "MYOD1": 0.12, "SPI1": 0.12, "CTCF": 0.35, "ELAVL1": 0.30,
                      "hsa-miR-122-5p": 0.20}

#: Relative number of genes per chromosome (roughly the human protein-coding counts).
CHROMOSOME_WEIGHTS: dict[str, int] = {
    "chr1": 2050, "chr2": 1300, "chr3": 1080, "chr4": 760, "chr5": 880, "chr6": 1040, "chr7": 930,
    "chr8": 690, "chr9": 780, "chr10": 730, "chr11": 1310, "chr12": 1040, "chr13": 320, "chr14": 610,
    "chr15": 600, "chr16": 850, "chr17": 1190, "chr18": 270, "chr19": 1470, "chr20": 540, "chr21": 230,
    "chr22": 440, "chrX": 840,
}


@dataclass
class DecodeData(Persistable):
    """Simulated DEcode inputs (sparse binding matrices) and tissue expression targets.

    Attributes
    ----------
    promoter
        COO table ``gene, feature, bin, value``: promoter binding; ``gene`` indexes
        :attr:`genes`, ``feature`` indexes :attr:`promoter_features`, ``bin`` is
        0..29 (100 bp each, bin 20 starts at the TSS), ``value`` is the covered
        fraction of the bin (0..1, float32). Feature 0 ``promoter`` marks the
        annotated promoter.
    mrna
        COO table ``gene, feature, bin, value`` along the transcript (100-nt bins,
        ``bin < mrna_length[gene]``); feature 0 ``exon`` is exon coverage.
    promoter_features, mrna_features
        Feature names, in index order.
    mrna_feature_kind
        ``exon``, ``RBP`` or ``miRNA`` per mRNA feature.
    genes
        Gene symbols (the demos' shared real symbols, then synthetic ``SIM####``), in index order.
    chromosome, mrna_length, utr3_start
        Per-gene Series (index = symbols): chromosome, transcript length in bins,
        first 3' UTR bin.
    targets
        genes x (tissues + ``median``): log2 fold change of each tissue against
        the gene's across-tissue median, then the log2 median expression.
    truth
        Planted regulator effects: ``regulator, branch, region, tissue, direction,
        strength, description``; None for real data.
    params
        Generator arguments and version.
    """

    promoter: pd.DataFrame
    mrna: pd.DataFrame
    promoter_features: list
    mrna_features: list
    mrna_feature_kind: list
    genes: list
    chromosome: pd.Series
    mrna_length: pd.Series
    utr3_start: pd.Series
    targets: pd.DataFrame
    truth: pd.DataFrame | None = None
    params: dict = field(default_factory=dict)

    @property
    def tissues(self) -> list[str]:
        """Tissue columns of :attr:`targets` (all but ``median``)."""
        return [c for c in self.targets.columns if c != "median"]

    @property
    def description(self) -> str:
        """One paragraph for the UI saying what is simulated and what is planted."""
        planted = "; ".join(
            f"{r.regulator} binding ({r.region}) {'raises' if r.direction == 'up' else 'lowers'} "
            + ("median expression across tissues" if r.tissue == "median" else f"expression in {r.tissue}")
            for r in self.truth.itertuples()
        )
        return (
            f"SIMULATED demo data, not real measurements: {len(self.genes):,} synthetic genes with promoter "
            f"binding of {len(self.promoter_features) - 1} transcription factors (30 x 100-bp bins around the "
            f"TSS), transcript binding of {self.mrna_feature_kind.count('RBP')} RBPs and "
            f"{self.mrna_feature_kind.count('miRNA')} miRNAs (100-nt bins), and expression across "
            f"{len(self.tissues)} GTEx-named tissues (seed {self.params.get('seed', '?')}). Planted: {planted}; "
            f"many synthetic regulators add small diffuse effects."
        )

    def promoter_array(self) -> np.ndarray:
        """Dense promoter tensor, shape ``(genes, promoter features, 30)``, float32."""
        out = np.zeros((len(self.genes), len(self.promoter_features), PROMOTER_BINS), dtype=np.float32)
        p = self.promoter
        out[p["gene"].to_numpy(), p["feature"].to_numpy(), p["bin"].to_numpy()] = p["value"].to_numpy()
        return out

    def mrna_array(self, max_bins: int | None = None) -> np.ndarray:
        """Dense mRNA tensor ``(genes, mRNA features, max_bins)``, zero-padded (longer genes truncated)."""
        n_bins = int(self.mrna_length.max()) if max_bins is None else int(max_bins)
        out = np.zeros((len(self.genes), len(self.mrna_features), n_bins), dtype=np.float32)
        m = self.mrna[self.mrna["bin"] < n_bins]
        out[m["gene"].to_numpy(), m["feature"].to_numpy(), m["bin"].to_numpy()] = m["value"].to_numpy()
        return out

    def binding_totals(self) -> pd.DataFrame:
        """Per-gene sum of binding per feature, columns ``promoter:<name>`` and ``mrna:<name>``."""
        parts = []
        for branch, coo, names in (("promoter", self.promoter, self.promoter_features),
                                   ("mrna", self.mrna, self.mrna_features)):
            sums = np.zeros((len(self.genes), len(names)))
            np.add.at(sums, (coo["gene"].to_numpy(), coo["feature"].to_numpy()), coo["value"].to_numpy())
            parts.append(pd.DataFrame(sums, index=self.genes, columns=[f"{branch}:{n}" for n in names]))
        return pd.concat(parts, axis=1)


def _coo(gene: np.ndarray, feature: np.ndarray, bins: np.ndarray, value: np.ndarray) -> pd.DataFrame:
    """COO frame; overlapping entries keep their maximum (coverage cannot exceed the bin)."""
    df = pd.DataFrame({"gene": gene.astype(np.int32), "feature": feature.astype(np.int32),
                       "bin": bins.astype(np.int32), "value": np.clip(value, 0, 1).astype(np.float32)})
    df = df.groupby(["gene", "feature", "bin"], as_index=False, sort=True)["value"].max()
    return df.astype({"gene": np.int32, "feature": np.int32, "bin": np.int32, "value": np.float32})


def _peaks(rng: np.random.Generator, genes: np.ndarray, centers: np.ndarray, max_width: int,
           low: np.ndarray, high: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expand peaks (gene, centre bin, width 1..max_width) into (gene, bin, value) triplets."""
    widths = rng.integers(1, max_width + 1, genes.size)
    reps = np.repeat(np.arange(genes.size), widths)
    offsets = np.arange(reps.size) - np.repeat(np.cumsum(widths) - widths, widths)
    bins = np.repeat(centers - (widths - 1) // 2, widths) + offsets
    gene_of = genes[reps]
    ok = (bins >= low[gene_of]) & (bins <= high[gene_of])
    return gene_of[ok], bins[ok], values[reps][ok]


def make_decode_demo(seed: int = 0, n_genes: int = 2000, n_tissues: int = 24) -> DecodeData:
    """Simulate DEcode-style binding matrices and tissue expression with planted regulators.

    Parameters
    ----------
    seed
        Seed of the random generator; the output is a pure function of the arguments.
    n_genes
        Number of genes: the demos' shared real symbols, then synthetic ``SIM####`` symbols.
    n_tissues
        Number of GTEx tissues (4..32); Liver, Muscle - Skeletal, Brain - Cortex
        and Whole Blood are always included.

    Returns
    -------
    DecodeData
        Sparse promoter / mRNA binding, feature names, targets and planted truth.

    Raises
    ------
    core.errors.InputError
        If a size is out of range.
    """
    if not 4 <= n_tissues <= len(TISSUES):
        raise InputError(f"n_tissues must be between 4 and {len(TISSUES)}, got {n_tissues}")
    if n_genes < 100:
        raise InputError(f"n_genes must be at least 100, got {n_genes}")
    rng = np.random.default_rng(seed)
    genes = fill_symbols(SHARED_SYMBOLS, n_genes)
    gidx = np.arange(n_genes)
    tissues = sorted(TISSUES[:n_tissues])

    planted_tfs = [p[0] for p in PLANTED if p[1] == "promoter"]
    planted_rbps = ["ELAVL1"]
    planted_mirs = ["hsa-miR-122-5p"]
    promoter_features = ["promoter"] + fill_symbols(planted_tfs, N_TFS, prefix="SIMTF")
    rbps = fill_symbols(planted_rbps, N_RBPS, prefix="SIMRBP")
    mirs = planted_mirs + [f"sim-miR-{i:03d}" for i in range(1, N_MIRNAS - len(planted_mirs) + 1)]
    mrna_features = ["exon"] + rbps + mirs
    mrna_kind = ["exon"] + ["RBP"] * len(rbps) + ["miRNA"] * len(mirs)

    chroms = list(CHROMOSOME_WEIGHTS)
    w = np.array(list(CHROMOSOME_WEIGHTS.values()), dtype=float)
    chromosome = pd.Series(rng.choice(chroms, size=n_genes, p=w / w.sum()), index=genes, name="chromosome")

    # promoter ------------------------------------------------------------------------------
    p_start = TSS_BIN - rng.integers(5, 13, n_genes)
    p_end = TSS_BIN + rng.integers(2, 6, n_genes)
    lens = p_end - p_start + 1
    pg = np.repeat(gidx, lens)
    pb = np.repeat(p_start, lens) + np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
    trip = [(pg, np.zeros(pg.size, int), pb, np.ones(pg.size))]
    zeros, last = np.zeros(n_genes, int), np.full(n_genes, PROMOTER_BINS - 1)
    for f in range(1, len(promoter_features)):
        prevalence = rng.uniform(0.04, 0.25)
        prevalence = PLANTED_PREVALENCE.get(promoter_features[f], prevalence)
        bound = gidx[rng.random(n_genes) < prevalence]
        n_peaks = 1 + rng.poisson(0.5, bound.size)
        g = np.repeat(bound, n_peaks)
        center = np.clip(np.rint(rng.normal(TSS_BIN + rng.normal(-2, 3), rng.uniform(3, 8), g.size)), 0,
                         PROMOTER_BINS - 1).astype(int)
        gg, bb, vv = _peaks(rng, g, center, 3, zeros, last, rng.uniform(0.3, 1.0, g.size))
        trip.append((gg, np.full(gg.size, f), bb, vv))
    promoter = _coo(*(np.concatenate(a) for a in zip(*trip)))

    # mRNA ----------------------------------------------------------------------------------
    length = np.clip(np.rint(rng.lognormal(np.log(26), 0.55, n_genes)), MRNA_MIN_BINS, MRNA_MAX_BINS).astype(int)
    utr3 = length - np.maximum(2, np.rint(rng.uniform(0.2, 0.45, n_genes) * length)).astype(int)
    eg = np.repeat(gidx, length)
    eb = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
    ev = np.ones(eg.size)
    ev[np.cumsum(length) - 1] = rng.uniform(0.05, 1.0, n_genes)  # last bin partly covered
    trip = [(eg, np.zeros(eg.size, int), eb, ev)]
    for f in range(1, len(mrna_features)):
        is_mir = mrna_kind[f] == "miRNA"
        utr_only = is_mir or mrna_features[f] == "ELAVL1" or rng.random() < 0.5
        prevalence = rng.uniform(0.03, 0.2) if is_mir else rng.uniform(0.05, 0.35)
        prevalence = PLANTED_PREVALENCE.get(mrna_features[f], prevalence)
        bound = gidx[rng.random(n_genes) < prevalence]
        n_sites = 1 + rng.poisson(np.full(bound.size, 0.6) if is_mir else length[bound] / 25.0)
        g = np.repeat(bound, n_sites)
        low = np.where(utr_only, utr3, 0)
        center = rng.integers(low[g], length[g])
        values = np.full(g.size, MIRNA_SITE) if is_mir else rng.uniform(0.1, 0.6, g.size)
        gg, bb, vv = _peaks(rng, g, center, 1, low, length - 1, values)
        trip.append((gg, np.full(gg.size, f), bb, vv))
    mrna = _coo(*(np.concatenate(a) for a in zip(*trip)))

    # expression ----------------------------------------------------------------------------
    prom_dense = np.zeros((n_genes, len(promoter_features), PROMOTER_BINS))
    prom_dense[promoter["gene"], promoter["feature"], promoter["bin"]] = promoter["value"]
    mrna_tot = np.zeros((n_genes, len(mrna_features)))
    np.add.at(mrna_tot, (mrna["gene"].to_numpy(), mrna["feature"].to_numpy()), mrna["value"].to_numpy())
    totals = np.concatenate([prom_dense.sum(axis=2), mrna_tot], axis=1)
    zt = (totals - totals.mean(0)) / np.where(totals.std(0) > 0, totals.std(0), 1.0)

    n_t = len(tissues)
    brain = np.array([t.startswith(BRAIN_PREFIX) for t in tissues], dtype=float)
    tissue_emb = rng.normal(0, 1, (n_t, 4)) + np.outer(brain, rng.normal(0, 1.5, 4))
    tissue_emb *= (rng.uniform(0.5, 0.9, n_t) / np.linalg.norm(tissue_emb, axis=1))[:, None]
    feat_emb = rng.normal(0, 1, (zt.shape[1], 4)) * (rng.random((zt.shape[1], 1)) < 0.6)
    programs = zt @ feat_emb
    programs = np.tanh((programs - programs.mean(0)) / programs.std(0))  # smooth, mildly non-linear
    diffuse = programs / programs.std(0) @ tissue_emb.T  # genes x tissues, SD ~0.5-0.9 per tissue
    level_w = rng.normal(0, 0.2, zt.shape[1]) * (rng.random(zt.shape[1]) < 0.4)
    level = rng.normal(3.0, 1.2, n_genes) + zt @ level_w + 0.3 * np.log(length)
    expr = level[:, None] + diffuse + rng.normal(0, TISSUE_NOISE, (n_genes, n_t))

    truth_rows = []
    for regulator, branch, region, tissue, strength, text in PLANTED:
        if branch == "promoter":
            f = promoter_features.index(regulator)
            lo, hi = NEAR_TSS_REGULATORS.get(regulator, (0, PROMOTER_BINS - 1))
            signal = prom_dense[:, f, lo : hi + 1].sum(axis=1)
        else:
            f = mrna_features.index(regulator)
            signal = mrna_tot[:, f]  # these two are placed in the 3' UTR only
        if tissue == "median":
            expr += strength * signal[:, None]
        else:
            expr[:, tissues.index(tissue)] += strength * signal
        truth_rows.append({"regulator": regulator, "branch": branch, "region": region, "tissue": tissue,
                           "direction": "up" if strength > 0 else "down", "strength": strength,
                           "description": text})

    median = np.median(expr, axis=1)
    targets = pd.DataFrame(expr - median[:, None], index=pd.Index(genes, name="gene"), columns=tissues)
    targets["median"] = median
    targets = targets.astype(np.float32)

    params = {"seed": seed, "n_genes": n_genes, "n_tissues": n_tissues, "generator_version": GENERATOR_VERSION}
    return DecodeData(
        promoter=promoter, mrna=mrna, promoter_features=promoter_features, mrna_features=mrna_features,
        mrna_feature_kind=mrna_kind, genes=genes, chromosome=chromosome,
        mrna_length=pd.Series(length, index=genes, name="mrna_length"),
        utr3_start=pd.Series(utr3, index=genes, name="utr3_start"), targets=targets,
        truth=pd.DataFrame(truth_rows), params=params,
    )
