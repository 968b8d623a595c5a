"""Seeded demo data for the modifier-gene pages (Rosenski, Shifman & Kaplan 2023).

``make_essentiality_demo`` simulates a DepMap-like panel of cancer cell lines:
log2(TPM+1) expression of every gene and CRISPR gene effect (Chronos scale) of a
set of target genes, with planted expression -> essentiality relationships whose
ground truth is returned in :attr:`EssentialityData.truth`. The data are
SIMULATED; planted genes carry real HGNC symbols only to make the story readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from core.datasets.genes import SHARED_SYMBOLS, cell_ids, fill_symbols, join_list
from core.datasets.storage import Persistable
from core.errors import InputError

GENERATOR_VERSION = "3"

#: DepMap OncotreeLineage-style names, roughly from most to least screened.
LINEAGES: tuple[str, ...] = (
    "Lung", "Haematopoietic", "CNS/Brain", "Skin", "Breast", "Bowel", "Esophagus/Stomach",
    "Ovary/Fallopian Tube", "Pancreas", "Head and Neck", "Kidney", "Bone", "Soft Tissue",
    "Prostate", "Uterus", "Liver", "Bladder/Urinary Tract", "Peripheral Nervous System",
    "Biliary Tract", "Thyroid", "Pleura", "Cervix", "Eye",
)
EXCLUDED_LINEAGE = "Prostate"
MIN_EXCLUDED_CELLS = 30
MIN_CELLS_PER_LINEAGE = 5

#: Paralog buffering: target -> (driver paralog, fraction of cells with the driver lost, strength).
PARALOGS: dict[str, tuple[str, float, float]] = {
    "RPP25L": ("RPP25", 0.30, 1.00),
    "ARID1B": ("ARID1A", 0.15, 0.80),
    "SMARCA2": ("SMARCA4", 0.12, 0.90),
    "VPS4A": ("VPS4B", 0.20, 0.80),
    "MAGOHB": ("MAGOH", 0.18, 0.70),
    "ENO2": ("ENO1", 0.10, 0.70),
}
PARALOG_THRESHOLD = 3.0  # log2(TPM+1) below which the driver counts as lost
PARALOG_SCALE = 0.4  # width of the sigmoid switch
PARALOG_BASE = -0.15
PARALOG_NOISE = 0.15

#: Linear modifier sets: target -> {modifier: effect change per SD of modifier expression}.
LINEAR_SETS: dict[str, dict[str, float]] = {
    "MCL1": {"BCL2L1": 0.12, "BCL2": 0.07, "PMAIP1": -0.10, "BAK1": -0.06},
    "PIK3CB": {"PTEN": 0.12, "PIK3CA": 0.07, "INPP4B": 0.06},
    "CDK6": {"CDK4": 0.09, "CCND3": -0.12, "CCND1": 0.08, "CDKN2A": 0.05, "RB1": 0.06},
    "WRN": {"MLH1": 0.14, "MSH2": 0.06, "EPM2AIP1": 0.08},
    "PRMT5": {"MTAP": 0.15, "CDKN2B": 0.05, "DMRTA1": 0.05},
    "GPX4": {"ACSL4": -0.10, "SLC7A11": 0.08, "AIFM2": 0.10, "ZEB1": -0.06},
    "KRAS": {"DUSP6": -0.10, "ETV4": -0.08, "SPRY4": -0.07, "EGFR": 0.06, "ERBB3": 0.05, "NRAS": 0.06},
    "MDM2": {"CDKN1A": -0.12, "TP53": 0.10, "ZMAT3": -0.06, "RPS27L": -0.05},
}
LINEAR_BASE = -0.30
LINEAR_NOISE = 0.13

#: Lineage-specific modifier: target, modifier, weight per SD outside the excluded lineage.
LINEAGE_MODIFIER = ("FAM50A", "FAM50B", 0.22)
LINEAGE_MODIFIER_BASE = -0.35
LINEAGE_MODIFIER_NOISE = 0.12
LINEAGE_MODIFIER_NOISE_EXCLUDED = 0.25

COMMON_ESSENTIAL: tuple[str, ...] = (
    "RPL3", "RPS6", "POLR2A", "PSMA1", "SF3B1", "CDK1", "PCNA", "RRM1", "PLK1",
    "SNRPD1", "EEF2", "RAN", "KIF11", "AURKB", "MCM2", "RPA1", "SUPT5H", "HSPA9",
)
COMMON_ESSENTIAL_MEAN = -1.0
COMMON_ESSENTIAL_SD = 0.2

#: Lineage dependencies: target -> lineage where it is essential (and highly expressed).
LINEAGE_DEPENDENCIES: dict[str, str] = {
    "AR": "Prostate", "SOX10": "Skin", "ESR1": "Breast", "MYB": "Haematopoietic",
    "HNF1B": "Kidney", "OLIG2": "CNS/Brain", "CDX2": "Bowel",
}
LINEAGE_DEPENDENCY_EFFECT = -0.8

#: Shared demo genes (see core.datasets.genes.SHARED_SYMBOLS) with no planted essentiality role here:
#: expressed like other planted genes, and +4 log2 units in their lineage where one is given. They
#: are in the expression table so a gene can be followed across the four demos.
NAMED_EXPRESSED: dict[str, str] = {
    "HNF4A": "Liver", "SPI1": "Haematopoietic", "MYOD1": "Soft Tissue", "ELAVL1": "", "CTCF": "",
}
LINEAGE_MARKER_SHIFT = 4.0

MIN_NOISE_TARGETS = 30
#: Missing gene effects as DepMap has them: a second screening library used for some cell lines lacks some
#: targets (a screen batch, one shared pattern), and a few targets fail QC in a few cell lines.
SECOND_LIBRARY_CELLS = 0.15
MISSING_FROM_SECOND_LIBRARY = 0.10
QC_FAILED_TARGETS = 0.05
QC_FAILED_CELLS = (1, 12)
NOISE_Q = 0.05  # noise targets are redrawn until no gene reaches BH q < NOISE_Q
EXPRESSION_MAX = 13.5


@dataclass
class EssentialityData(Persistable):
    """Simulated DepMap-like expression and CRISPR gene effect with planted truth.

    Attributes
    ----------
    expression
        cells x genes, float32 log2(TPM+1); index name ``cell``, columns gene symbols.
    effect
        cells x targets, float32 gene effect (0 = no effect, -1 = median common
        essential); missing (NaN) in screen batches: targets absent from the
        second library are missing in its cell lines, and a few targets in a few lines.
    cells
        One row per cell (index ``cell``): ``lineage``, ``cell_line_name``.
    truth
        One row per target: ``target, kind, modifiers, weights, excluded_lineage,
        lineage, description`` (lists joined with ``;``); None for real data.
    params
        Generator arguments (seed and sizes) and generator version.
    """

    expression: pd.DataFrame
    effect: pd.DataFrame
    cells: pd.DataFrame
    truth: pd.DataFrame | None = None
    params: dict = field(default_factory=dict)

    @property
    def description(self) -> str:
        """One paragraph for the UI saying what is simulated and what is planted."""
        n_cells, n_genes = self.expression.shape
        n_noise = int((self.truth["kind"] == "noise").sum())
        pairs = ", ".join(f"{t} by {d}" for t, (d, _, _) in PARALOGS.items() if t in self.effect.columns)
        return (
            f"SIMULATED demo data, not real measurements: {n_cells:,} simulated cell lines from "
            f"{self.cells['lineage'].nunique()} lineages, expression of {n_genes:,} genes (log2 TPM+1) "
            f"and CRISPR gene effect of {self.effect.shape[1]} targets (DepMap scale, seed "
            f"{self.params.get('seed', '?')}). Planted: paralog buffering ({pairs}; the target becomes "
            f"essential when its paralog is lost), linear modifier sets (e.g. MCL1, WRN, PRMT5), FAM50A "
            f"driven by FAM50B in every lineage except {EXCLUDED_LINEAGE}, common-essential genes near -1, "
            f"lineage dependencies (e.g. AR in Prostate) and {n_noise} pure-noise targets with no "
            f"modifier. SIM#### genes are synthetic; real symbols are used only for planted genes and for the "
            f"genes shared with the other demos (HNF4A, SPI1 and MYOD1 are expressed mainly in Liver, "
            f"Haematopoietic and Soft Tissue lines)."
        )


def _lineage_sizes(rng: np.random.Generator, lineages: list[str], n_cells: int) -> np.ndarray:
    """Unequal lineage sizes; the excluded lineage gets at least MIN_EXCLUDED_CELLS."""
    weights = 1.0 / (np.arange(len(lineages)) + 4.0) ** 0.8 * rng.lognormal(0.0, 0.3, len(lineages))
    weights /= weights.sum()
    minimum = np.full(len(lineages), MIN_CELLS_PER_LINEAGE)
    minimum[lineages.index(EXCLUDED_LINEAGE)] = MIN_EXCLUDED_CELLS
    return minimum + rng.multinomial(n_cells - minimum.sum(), weights)


def _choose_lineages(n_lineages: int) -> list[str]:
    chosen = list(LINEAGES[:n_lineages])
    if EXCLUDED_LINEAGE not in chosen:
        chosen[-1] = EXCLUDED_LINEAGE
    return chosen


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, np.inf)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _min_bh_q(pvalues: np.ndarray) -> float:
    """Smallest Benjamini-Hochberg q-value of a vector of p-values."""
    p = np.sort(pvalues)
    return float(np.min(p * p.size / np.arange(1, p.size + 1)))


def _t_pvalues(r: np.ndarray, n: int) -> np.ndarray:
    """Two-sided p-values of correlation coefficients ``r`` from ``n`` pairs (t distribution)."""
    r = np.clip(r, -1.0, 1.0)
    t = r * np.sqrt((n - 2) / np.maximum(1.0 - r**2, 1e-300))
    return 2.0 * stats.t.sf(np.abs(t), n - 2)


def _subset_corr(m: np.ndarray, col_sum: np.ndarray, col_sq: np.ndarray, keep: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of ``y`` with every column of ``m[keep]`` without copying ``m``.

    ``col_sum`` and ``col_sq`` are the column sums and sums of squares over all
    rows; the few dropped rows are subtracted.
    """
    n = int(keep.sum())
    dropped = m[~keep]
    s1 = col_sum - dropped.sum(axis=0)
    s2 = col_sq - (dropped**2).sum(axis=0)
    var_x = np.maximum(s2 / n - (s1 / n) ** 2, 0.0)
    yc = y - y.mean()
    y_full = np.zeros(keep.size)
    y_full[keep] = yc
    cov = (y_full @ m) / n  # sum over kept rows of x * (y - mean y)
    sd = np.sqrt(var_x) * yc.std()
    return np.divide(cov, sd, out=np.zeros_like(cov), where=sd > 0)


def _subset_ranks(full_ranks: np.ndarray, x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Average ranks (per column) of ``x[keep]``, derived exactly from the ranks of all rows."""
    sub = x[keep]
    less = np.zeros(sub.shape)
    for row in x[~keep]:
        less += (row < sub) + 0.5 * (row == sub)
    return full_ranks[keep] - less


def _is_clean(y: np.ndarray, keep: np.ndarray, x: np.ndarray, ranks: np.ndarray, sums: dict) -> bool:
    """True if no gene reaches BH q < NOISE_Q with ``y`` (the kept cells) by Pearson or Spearman.

    Spearman p-values are first computed from the ranks over all cells restricted
    to the kept ones (ranks off by at most the ~2% missing cells); genes whose
    approximate p-value is below 0.1 are recomputed exactly. Genes with p >= 0.05
    cannot change whether BH rejects anything at 0.05.
    """
    n = int(keep.sum())
    if _min_bh_q(_t_pvalues(_subset_corr(x, *sums["x"], keep, y), n)) < NOISE_Q:
        return False
    ry = stats.rankdata(y)
    p = _t_pvalues(_subset_corr(ranks, *sums["ranks"], keep, ry), n)
    candidates = np.flatnonzero(p < 0.1)
    if candidates.size:
        exact = _subset_ranks(ranks[:, candidates], x[:, candidates], keep)
        r = _zscore(exact).T @ _zscore(ry) / n
        p[candidates] = _t_pvalues(r, n)
    return _min_bh_q(p) >= NOISE_Q


def _expression(
    rng: np.random.Generator, n_cells: int, genes: list[str], planted: set[str], lineage_codes: np.ndarray,
    n_lineages: int,
) -> np.ndarray:
    """Background expression with lineage shifts, co-expression modules and low genes."""
    n_genes = len(genes)
    synthetic = np.array([g not in planted for g in genes])
    low = synthetic & (rng.random(n_genes) < 0.2)
    mu = np.where(low, rng.uniform(0.2, 1.5, n_genes), np.clip(rng.normal(5.0, 1.6, n_genes), 1.5, 10.0))
    sd = rng.uniform(0.35, 0.9, n_genes)
    x = mu + sd * rng.standard_normal((n_cells, n_genes))

    structured = np.flatnonzero(synthetic & ~low)
    # lineage-specific mean shifts for ~20% of the synthetic genes
    shifted = structured[rng.random(structured.size) < 0.2]
    for g in shifted:
        for lin in rng.choice(n_lineages, size=rng.integers(1, 4), replace=False):
            x[lineage_codes == lin, g] += rng.choice([-1.0, 1.0]) * rng.normal(2.0, 0.5)
    # co-expression modules driven by a per-cell factor that partly follows lineage
    n_modules = max(2, n_genes // 250)
    for _ in range(n_modules):
        size = min(int(rng.integers(20, 61)), structured.size)
        members = rng.choice(structured, size=size, replace=False)
        factor = 0.6 * rng.standard_normal(n_lineages)[lineage_codes] + rng.standard_normal(n_cells)
        loading = rng.uniform(0.4, 1.0, size) * np.where(rng.random(size) < 0.2, -1.0, 1.0)
        x[:, members] += factor[:, None] * loading
    # low genes: many exact zeros
    dropout = low[None, :] & (rng.random((n_cells, n_genes)) < np.exp(-mu)[None, :])
    x[dropout] = 0.0
    return np.clip(x, 0.0, EXPRESSION_MAX)


def make_essentiality_demo(
    seed: int = 0, n_cells: int = 1000, n_lineages: int = 20, n_genes: int = 2000, n_targets: int = 200
) -> EssentialityData:
    """Simulate cell-line expression and CRISPR gene effect with planted modifiers.

    Parameters
    ----------
    seed
        Seed of the random generator; the output is a pure function of the arguments.
    n_cells
        Number of simulated cell lines.
    n_lineages
        Number of lineages (2..23); Prostate is always one of them and gets at
        least 30 cells.
    n_genes
        Number of expression columns (planted real genes plus ``SIM####`` genes).
    n_targets
        Number of gene-effect columns (planted targets, at least 30 pure-noise
        targets, the rest weak / mixed signals).

    Returns
    -------
    EssentialityData
        Expression, gene effect, cell annotation and the planted ground truth.

    Raises
    ------
    core.errors.InputError
        If the sizes cannot hold the planted structure.

    Examples
    --------
    >>> data = make_essentiality_demo(seed=0, n_cells=300, n_lineages=4, n_genes=300, n_targets=70)
    >>> bool(data.effect["RPP25L"].corr(data.expression["RPP25"]) > 0.5)
    True
    """
    if not 2 <= n_lineages <= len(LINEAGES):
        raise InputError(f"n_lineages must be between 2 and {len(LINEAGES)}, got {n_lineages}")
    min_cells = MIN_EXCLUDED_CELLS + MIN_CELLS_PER_LINEAGE * (n_lineages - 1)
    if n_cells < min_cells:
        raise InputError(f"n_cells must be at least {min_cells} for {n_lineages} lineages, got {n_cells}")
    rng = np.random.default_rng(seed)
    lineages = _choose_lineages(n_lineages)
    lineage_deps = {t: lin for t, lin in LINEAGE_DEPENDENCIES.items() if lin in lineages}

    planted_targets = (
        list(PARALOGS) + list(LINEAR_SETS) + [LINEAGE_MODIFIER[0]] + list(COMMON_ESSENTIAL) + list(lineage_deps)
    )
    planted_modifiers = [d for d, _, _ in PARALOGS.values()] + [m for s in LINEAR_SETS.values() for m in s]
    planted_modifiers.append(LINEAGE_MODIFIER[1])
    named = [g for g in SHARED_SYMBOLS if g not in planted_targets + planted_modifiers]
    planted = planted_targets + planted_modifiers + named
    n_noise = max(MIN_NOISE_TARGETS, round(0.2 * n_targets))
    n_weak = n_targets - len(planted_targets) - n_noise
    if n_weak < 0:
        raise InputError(
            f"n_targets must be at least {len(planted_targets) + MIN_NOISE_TARGETS} "
            f"({len(planted_targets)} planted + {MIN_NOISE_TARGETS} noise), got {n_targets}"
        )
    if n_genes < len(planted) + n_noise + n_weak + 50:
        raise InputError(f"n_genes must be at least {len(planted) + n_noise + n_weak + 50}, got {n_genes}")

    # cells -------------------------------------------------------------------------------
    sizes = _lineage_sizes(rng, lineages, n_cells)
    lineage_codes = rng.permutation(np.repeat(np.arange(n_lineages), sizes))
    cell_lineage = np.array(lineages)[lineage_codes]
    ids = cell_ids(n_cells)
    counters: dict[str, int] = {}
    names = []
    for lin in cell_lineage:
        counters[lin] = counters.get(lin, 0) + 1
        code = "".join(ch for ch in lin.upper() if ch.isalpha())[:4]
        names.append(f"SIM-{code}-{counters[lin]:03d}")
    cells = pd.DataFrame(
        {"lineage": cell_lineage, "cell_line_name": names}, index=pd.Index(ids, name="cell")
    )

    # expression --------------------------------------------------------------------------
    genes = fill_symbols(planted, n_genes)
    col = {g: i for i, g in enumerate(genes)}
    x = _expression(rng, n_cells, genes, set(planted), lineage_codes, n_lineages)
    for target, (driver, frac_low, _) in PARALOGS.items():
        lost = rng.random(n_cells) < frac_low
        x[:, col[driver]] = np.clip(
            np.where(lost, rng.normal(1.0, 0.6, n_cells), rng.normal(5.5, 0.7, n_cells)), 0.0, EXPRESSION_MAX
        )
    drivers = {d for d, _, _ in PARALOGS.values()}
    for gene in planted_targets + planted_modifiers + named:
        if gene in drivers:
            continue
        x[:, col[gene]] = np.clip(rng.normal(rng.uniform(4.0, 7.0), rng.uniform(0.6, 1.0), n_cells), 0.0, None)
    for target, lin in lineage_deps.items():
        x[cell_lineage == lin, col[target]] += 4.0
    for gene in named:
        x[cell_lineage == NAMED_EXPRESSED.get(gene, ""), col[gene]] += LINEAGE_MARKER_SHIFT
    x = np.clip(x, 0.0, EXPRESSION_MAX).astype(np.float32)
    xz = _zscore(x.astype(np.float64))

    # targets -----------------------------------------------------------------------------
    synthetic_idx = rng.permutation(np.arange(len(planted), n_genes))
    noise_targets = [genes[i] for i in synthetic_idx[:n_noise]]
    weak_targets = [genes[i] for i in synthetic_idx[n_noise : n_noise + n_weak]]
    cell_offset = rng.normal(0.0, 0.05, n_cells)
    effect: dict[str, np.ndarray] = {}
    rows: list[dict[str, str]] = []

    def add(target: str, kind: str, values: np.ndarray, modifiers=(), weights=(), excluded="", lineage="",
            description="") -> None:
        effect[target] = values + cell_offset
        rows.append({
            "target": target, "kind": kind, "modifiers": join_list(modifiers),
            "weights": join_list(weights, "{:.3g}"), "excluded_lineage": excluded, "lineage": lineage,
            "description": description,
        })

    for target, (driver, frac_low, strength) in PARALOGS.items():
        switch = _sigmoid((PARALOG_THRESHOLD - x[:, col[driver]]) / PARALOG_SCALE)
        add(target, "paralog", PARALOG_BASE - strength * switch + rng.normal(0, PARALOG_NOISE, n_cells),
            [driver], [strength], description=(
                f"paralog buffering (non-linear): effect = {PARALOG_BASE} - {strength} * sigmoid(({PARALOG_THRESHOLD}"
                f" - {driver}) / {PARALOG_SCALE}) + N(0, {PARALOG_NOISE}); {driver} is lost (log2 TPM+1 ~ 1) in "
                f"~{frac_low:.0%} of cells, which makes {target} essential"))
    for target, mods in LINEAR_SETS.items():
        w = np.array(list(mods.values()))
        signal = xz[:, [col[m] for m in mods]] @ w
        add(target, "linear", LINEAR_BASE + signal + rng.normal(0, LINEAR_NOISE, n_cells), list(mods), w,
            description=(f"linear modifier set: effect = {LINEAR_BASE} + sum(weight * z-scored expression of "
                         f"{len(mods)} modifiers) + N(0, {LINEAR_NOISE})"))
    target, modifier, weight = LINEAGE_MODIFIER
    outside = cell_lineage != EXCLUDED_LINEAGE
    mz = xz[:, col[modifier]]
    values = np.where(
        outside,
        LINEAGE_MODIFIER_BASE + weight * mz + rng.normal(0, LINEAGE_MODIFIER_NOISE, n_cells),
        LINEAGE_MODIFIER_BASE + rng.normal(0, LINEAGE_MODIFIER_NOISE_EXCLUDED, n_cells),
    )
    add(target, "lineage_specific_modifier", values, [modifier], [weight], excluded=EXCLUDED_LINEAGE,
        description=(f"{modifier} expression drives {target} essentiality (effect = {LINEAGE_MODIFIER_BASE} + "
                     f"{weight} * z({modifier}) + N(0, {LINEAGE_MODIFIER_NOISE})) in every lineage except "
                     f"{EXCLUDED_LINEAGE}, where the effect is N({LINEAGE_MODIFIER_BASE}, "
                     f"{LINEAGE_MODIFIER_NOISE_EXCLUDED}) and independent of {modifier}"))
    for target in COMMON_ESSENTIAL:
        mean = COMMON_ESSENTIAL_MEAN + rng.normal(0, 0.08)
        add(target, "common_essential", mean + rng.normal(0, COMMON_ESSENTIAL_SD, n_cells),
            description=f"common essential: effect ~ N({mean:.2f}, {COMMON_ESSENTIAL_SD}) in every cell line")
    for target, lin in lineage_deps.items():
        inside = cell_lineage == lin
        add(target, "lineage_dependency",
            np.where(inside, LINEAGE_DEPENDENCY_EFFECT + rng.normal(0, 0.2, n_cells), rng.normal(0, 0.15, n_cells)),
            lineage=lin, description=(f"lineage dependency: essential (effect ~ {LINEAGE_DEPENDENCY_EFFECT}) only "
                                      f"in {lin}, where it is also highly expressed (+4 log2 units)"))
    pool = synthetic_idx[n_noise + n_weak :]
    for target in weak_targets:
        k = int(rng.integers(1, 4))
        mods = [genes[i] for i in rng.choice(pool, size=k, replace=False)]
        w = rng.uniform(0.03, 0.09, k) * rng.choice([-1.0, 1.0], k)
        mean, sd = rng.normal(-0.08, 0.1), rng.uniform(0.15, 0.3)
        values = mean + xz[:, [col[m] for m in mods]] @ w + rng.normal(0, sd, n_cells)
        lineage = ""
        if rng.random() < 0.3:
            lineage = str(rng.choice(lineages))
            values = values - 0.3 * (cell_lineage == lineage)
        add(target, "weak", values, mods, w, lineage=lineage, description=(
            f"weak / mixed signal: effect = {mean:.2f} + weak linear terms of {k} gene(s) + N(0, {sd:.2f})"
            + (f", 0.3 lower in {lineage}" if lineage else "")))
    noise_sds = {}
    for target in noise_targets:
        mean, sd = rng.normal(0.0, 0.08), rng.uniform(0.15, 0.3)
        noise_sds[target] = (mean, sd)
        add(target, "noise", mean + rng.normal(0, sd, n_cells), description=(
            f"pure noise: effect ~ N({mean:.2f}, {sd:.2f}) plus the shared per-cell screen offset, independent "
            f"of all expression; redrawn until no gene is BH-significant (q < {NOISE_Q}) by Pearson or Spearman"))

    targets = sorted(effect)
    eff = np.column_stack([effect[t] for t in targets])
    second_library = rng.random(n_cells) < SECOND_LIBRARY_CELLS
    absent = rng.random(len(targets)) < MISSING_FROM_SECOND_LIBRARY
    eff[np.ix_(second_library, absent)] = np.nan
    for j in np.flatnonzero(rng.random(len(targets)) < QC_FAILED_TARGETS):
        eff[rng.choice(n_cells, rng.integers(*QC_FAILED_CELLS), replace=False), j] = np.nan
    eff = eff.astype(np.float32)

    # noise targets: redraw until nothing passes BH (a clean negative control)
    x64 = x.astype(np.float64)
    ranks = stats.rankdata(x64, axis=0)
    sums = {"x": (x64.sum(axis=0), (x64**2).sum(axis=0)), "ranks": (ranks.sum(axis=0), (ranks**2).sum(axis=0))}
    for target in noise_targets:
        j = targets.index(target)
        keep = ~np.isnan(eff[:, j])
        mean, sd = noise_sds[target]
        for _ in range(100):
            if _is_clean(eff[keep, j].astype(np.float64), keep, x64, ranks, sums):
                break
            eff[keep, j] = mean + rng.normal(0, sd, keep.sum()) + cell_offset[keep]

    truth = pd.DataFrame(rows).set_index("target").loc[targets].reset_index()
    params = {"seed": seed, "n_cells": n_cells, "n_lineages": n_lineages, "n_genes": n_genes,
              "n_targets": n_targets, "generator_version": GENERATOR_VERSION}
    expression = pd.DataFrame(x, index=cells.index.copy(), columns=pd.Index(genes, name="gene"))
    expression = expression[sorted(genes)]
    effect_df = pd.DataFrame(eff, index=cells.index.copy(), columns=pd.Index(targets, name="gene"))
    return EssentialityData(expression=expression, effect=effect_df, cells=cells, truth=truth, params=params)
