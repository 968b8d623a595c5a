"""In-silico binding-site disruption, regulator knockout and the co-expression experiment.

Edits act on a gene's raw binding matrices (all features, unscaled); the edited
copies are filtered / scaled like the training data and re-predicted for every
tissue in one forward pass. The co-expression experiment (Tasaki et al. Fig. 6c-d)
disrupts gene A at random many times, correlates A's predicted tissue profile
with partner B's, and regresses that correlation on which regions and which
regulators were removed (OLS; Bonferroni-corrected p-values).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from core.datasets.decode_demo import BIN_BP, PROMOTER_BINS, PROMOTER_START_BP, DecodeData
from core.decode.estimator import DecodeCNN
from core.decode.features import PAD_BINS, DecodePreprocessor
from core.errors import InputError, JobCancelled, UnknownGeneError

Progress = Callable[[float, str], None]
#: Promoter regions of the co-expression experiment: six 500-bp windows.
PROMOTER_REGIONS = tuple((f"promoter {PROMOTER_START_BP + 500 * i:+d}..{PROMOTER_START_BP + 500 * (i + 1):+d} bp",
                          5 * i, 5 * i + 4) for i in range(6))
#: mRNA regions: fifths of the transcript.
MRNA_FIFTHS = 5


@dataclass
class GeneBinding:
    """Raw dense binding of one gene (all features, unscaled).

    Attributes
    ----------
    gene : str
        The gene.
    promoter, mrna : ndarray
        (all promoter features, 30 bins) and (all mRNA features, ``length`` bins).
    length : int
        Transcript bins.
    promoter_features, mrna_features : list of str
        Row names of the two matrices.
    """

    gene: str
    promoter: np.ndarray  # (P_all, 30)
    mrna: np.ndarray  # (F_all, length)
    length: int
    promoter_features: list[str]
    mrna_features: list[str]

    def frames(self, bound_only: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Promoter (TF x bp bins) and mRNA (regulator x nt bins) maps, channel 0 first."""
        p = pd.DataFrame(self.promoter, index=self.promoter_features,
                         columns=[f"{PROMOTER_START_BP + BIN_BP * b:+d}" for b in range(PROMOTER_BINS)])
        m = pd.DataFrame(self.mrna, index=self.mrna_features, columns=[f"{BIN_BP * b}" for b in range(self.length)])
        if bound_only:
            p = p[(p.sum(axis=1) > 0).to_numpy()]
            m = m[(m.sum(axis=1) > 0).to_numpy()]
        return p, m


def gene_binding(data: DecodeData, gene: str) -> GeneBinding:
    """Raw dense promoter and mRNA matrices of ``gene``.

    Parameters
    ----------
    data : DecodeData
        The binding data.
    gene : str
        Gene id.

    Raises
    ------
    core.errors.UnknownGeneError
        When the gene is not in the data.
    """
    genes = list(map(str, data.genes))
    if gene not in genes:
        raise UnknownGeneError(f"{gene} is not in this DEcode data set; pick one of its {len(genes):,} genes")
    i = genes.index(gene)
    length = int(data.mrna_length.iloc[i])
    promoter = np.zeros((len(data.promoter_features), PROMOTER_BINS), dtype=np.float32)
    part = data.promoter[data.promoter["gene"] == i]
    promoter[part["feature"].to_numpy(), part["bin"].to_numpy()] = part["value"].to_numpy()
    mrna = np.zeros((len(data.mrna_features), length), dtype=np.float32)
    part = data.mrna[data.mrna["gene"] == i]
    mrna[part["feature"].to_numpy(), part["bin"].to_numpy()] = part["value"].to_numpy()
    return GeneBinding(gene, promoter, mrna, length, list(map(str, data.promoter_features)),
                       list(map(str, data.mrna_features)))


def _feature_rows(names: Sequence[str], binding: GeneBinding) -> tuple[list[int], list[int]]:
    """Promoter and mRNA rows of regulators named ``promoter:X``, ``mrna:X`` or just ``X``."""
    p_rows, m_rows, unknown = [], [], []
    for name in names:
        branch, _, plain = name.partition(":") if ":" in name else ("", "", name)
        hit = False
        if branch in ("", "promoter") and plain in binding.promoter_features[1:]:
            p_rows.append(binding.promoter_features.index(plain))
            hit = True
        if branch in ("", "mrna") and plain in binding.mrna_features[1:]:
            m_rows.append(binding.mrna_features.index(plain))
            hit = True
        if not hit:
            unknown.append(name)
    if unknown:
        raise InputError(f"unknown regulator(s) {', '.join(unknown)}; use names of the promoter or mRNA features "
                         "(channel 0, the promoter mark / exon coverage, cannot be knocked out)")
    return p_rows, m_rows


def edit_binding(binding: GeneBinding, *, promoter_bins: tuple[int, int] | None = None,
                 mrna_bins: tuple[int, int] | None = None, fraction: float = 1.0,
                 knockout: Sequence[str] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Remove binding in bin ranges and knock out regulators.

    Parameters
    ----------
    binding
        The gene's raw matrices.
    promoter_bins, mrna_bins
        Inclusive bin ranges whose regulator binding is reduced by ``fraction``
        (channel 0, the promoter mark / exon coverage, is kept: the sequence is
        still there, only the sites are disrupted).
    fraction
        Fraction of binding removed in those ranges (0..1).
    knockout
        Regulators whose binding is removed everywhere (``promoter:TF``, ``mrna:RBP``
        or a bare name, which knocks the name out in both branches).

    Returns
    -------
    promoter, mrna
        Edited copies.
    """
    if not 0.0 <= float(fraction) <= 1.0:
        raise InputError(f"the fraction removed must be between 0 and 1, got {fraction}")
    promoter, mrna = binding.promoter.copy(), binding.mrna.copy()
    for arr, bins, n in ((promoter, promoter_bins, PROMOTER_BINS), (mrna, mrna_bins, binding.length)):
        if bins is None:
            continue
        lo, hi = int(bins[0]), int(bins[1])
        if lo > hi or lo < 0:
            raise InputError(f"bin range {lo}..{hi} is empty or negative; give low <= high")
        arr[1:, lo:min(hi, n - 1) + 1] *= 1.0 - float(fraction)
    p_rows, m_rows = _feature_rows(knockout, binding)
    promoter[p_rows] = 0.0
    mrna[m_rows] = 0.0
    return promoter, mrna


def predict_edited(cnn: DecodeCNN, pre: DecodePreprocessor, promoters: np.ndarray, mrnas: np.ndarray,
                   length: int, chunk: int = 256) -> np.ndarray:
    """Predictions in log2 units ``(N, tasks)`` for N raw edited copies of one gene.

    Parameters
    ----------
    cnn : DecodeCNN
        A fitted model.
    pre : DecodePreprocessor
        Its preprocessing.
    promoters, mrnas : ndarray
        N raw promoter and mRNA matrices (edited copies of one gene).
    length : int
        Transcript bins of the gene.
    chunk : int
        Copies per forward pass.
    """
    promoters = np.asarray(promoters, dtype=np.float32).reshape(-1, *np.shape(promoters)[-2:])
    mrnas = np.asarray(mrnas, dtype=np.float32).reshape(-1, *np.shape(mrnas)[-2:])
    out = []
    for s in range(0, len(mrnas), chunk):
        p, m = pre.transform_dense(promoters[s:s + chunk], mrnas[s:s + chunk])
        m = np.pad(m, [(0, 0), (0, 0), (0, PAD_BINS)])
        out.append(cnn.predict_dense(m, p, np.full(len(m), length)))
    return pre.unscale(np.concatenate(out, axis=0))


def predict_edit(cnn: DecodeCNN, pre: DecodePreprocessor, binding: GeneBinding, **edit) -> pd.DataFrame:
    """Predicted profile of a gene before and after one edit (``edit``: see :func:`edit_binding`).

    Parameters
    ----------
    cnn, pre
        As in :func:`predict_edited`.
    binding : GeneBinding
        The gene's raw binding.
    **edit
        Keyword arguments of :func:`edit_binding`.

    Returns
    -------
    DataFrame
        Index = tasks; columns ``before``, ``after``, ``change`` (log2 units).
    """
    promoter, mrna = edit_binding(binding, **edit)
    both = predict_edited(cnn, pre, np.stack([binding.promoter, promoter]), np.stack([binding.mrna, mrna]),
                          binding.length)
    frame = pd.DataFrame({"before": both[0], "after": both[1]}, index=pd.Index(pre.tasks_, name="task"))
    frame["change"] = frame["after"] - frame["before"]
    return frame


@dataclass
class CoexpressionResult:
    """Outcome of the random-disruption co-expression experiment for a gene pair.

    Attributes
    ----------
    gene_a, gene_b : str
        The disrupted gene and its partner.
    baseline : float
        Spearman correlation of their unedited predicted tissue profiles.
    correlations : ndarray
        The correlation after each disruption.
    design : pandas.DataFrame
        Disruptions x terms (0/1): which regions and regulators were removed.
    effects : pandas.DataFrame
        ``term, kind, effect, se, p, p_bonferroni`` of the regression.
    """

    gene_a: str
    gene_b: str
    baseline: float  # Spearman of A's and B's unedited predicted tissue profiles
    correlations: np.ndarray  # (N,)
    design: pd.DataFrame  # N x terms (0/1): which regions / regulators were removed
    effects: pd.DataFrame  # term, kind, effect, se, p, p_bonferroni


def _regions(length: int) -> list[tuple[str, str, int, int]]:
    out = [(name, "promoter", lo, hi) for name, lo, hi in PROMOTER_REGIONS]
    edges = np.linspace(0, length, MRNA_FIFTHS + 1).round().astype(int)
    for i in range(MRNA_FIFTHS):
        lo, hi = int(edges[i]), int(edges[i + 1]) - 1
        if hi >= lo:
            out.append((f"mRNA {20 * i}-{20 * (i + 1)}% of transcript", "mrna", lo, hi))
    return out


def coexpression_experiment(cnn: DecodeCNN, pre: DecodePreprocessor, data: DecodeData, gene_a: str, gene_b: str,
                            n: int = 1000, p_region: float = 0.3, p_regulator: float = 0.3,
                            max_regulators: int = 30, seed: int = 0, progress: Progress | None = None,
                            should_stop: Callable[[], bool] | None = None) -> CoexpressionResult:
    """Random disruptions of gene A and their effect on its co-expression with gene B.

    Each of ``n`` disruptions removes every region of A (six 500-bp promoter
    windows, five fifths of the transcript) with probability ``p_region`` and
    knocks out every regulator bound to A (at most ``max_regulators``, the most
    bound first; only features the model uses) with probability ``p_regulator``.
    The Spearman correlation between A's edited predicted tissue profile and B's
    predicted profile is regressed (OLS) on the 0/1 indicators; each term's
    coefficient is its effect on the correlation, with Bonferroni-corrected
    p-values over all terms (paper: 10,000 disruptions).

    Parameters
    ----------
    cnn, pre
        As in :func:`predict_edited`.
    data : DecodeData
        The binding data.
    gene_a, gene_b : str
        The disrupted gene and its partner.
    n : int
        Number of disruptions.
    p_region, p_regulator : float
        Probability of removing each region and each regulator.
    max_regulators : int
        Most regulators considered.
    seed : int
        Seed of the disruptions.
    progress, should_stop : callable, optional
        Progress callback ``(fraction, message)`` and a cancellation poll.

    Returns
    -------
    CoexpressionResult
    """
    import statsmodels.api as sm

    from core.stats import rank_columns

    if gene_a == gene_b:
        raise InputError("choose two different genes for the co-expression experiment")
    if not 20 <= int(n) <= 100_000:
        raise InputError(f"the number of disruptions must be between 20 and 100,000, got {n}")
    a, b = gene_binding(data, gene_a), gene_binding(data, gene_b)
    report = progress or (lambda f, m: None)
    tissues = [i for i, t in enumerate(pre.tasks_) if t != "median"]
    profile_b = predict_edited(cnn, pre, b.promoter[None], b.mrna[None], b.length)[0, tissues]
    profile_a = predict_edited(cnn, pre, a.promoter[None], a.mrna[None], a.length)[0, tissues]

    used_p = set(pre.promoter_features_[1:])
    used_m = set(pre.mrna_features_[1:])
    totals = [(f"promoter:{name}", float(a.promoter[i].sum())) for i, name in enumerate(a.promoter_features)
              if i > 0 and name in used_p and a.promoter[i].sum() > 0]
    totals += [(f"mrna:{name}", float(a.mrna[i].sum())) for i, name in enumerate(a.mrna_features)
               if i > 0 and name in used_m and a.mrna[i].sum() > 0]
    regulators = [name for name, _ in sorted(totals, key=lambda x: -x[1])[:max_regulators]]
    regions = [r for r in _regions(a.length) if (a.promoter if r[1] == "promoter" else a.mrna)[1:, r[2]:r[3] + 1].any()]
    if not regions and not regulators:
        raise InputError(f"{gene_a} has no binding sites the model uses; pick another gene A")

    rng = np.random.default_rng(seed)
    region_on = rng.random((int(n), len(regions))) < p_region
    reg_on = rng.random((int(n), len(regulators))) < p_regulator
    p_rows = {name: a.promoter_features.index(name.split(":", 1)[1]) for name in regulators
              if name.startswith("promoter:")}
    m_rows = {name: a.mrna_features.index(name.split(":", 1)[1]) for name in regulators if name.startswith("mrna:")}
    correlations = np.zeros(int(n))
    chunk = 200
    rank_b = rank_columns(profile_b)
    rank_b = (rank_b - rank_b.mean()) / rank_b.std()
    for s in range(0, int(n), chunk):
        if should_stop is not None and should_stop():
            raise JobCancelled("co-expression experiment cancelled")
        e = min(int(n), s + chunk)
        promoters = np.repeat(a.promoter[None], e - s, axis=0)
        mrnas = np.repeat(a.mrna[None], e - s, axis=0)
        for k, (_, branch, lo, hi) in enumerate(regions):
            sel = region_on[s:e, k]
            target = promoters if branch == "promoter" else mrnas
            target[sel, 1:, lo:hi + 1] = 0.0
        for k, name in enumerate(regulators):
            sel = reg_on[s:e, k]
            if name in p_rows:
                promoters[sel, p_rows[name]] = 0.0
            else:
                mrnas[sel, m_rows[name]] = 0.0
        pred = predict_edited(cnn, pre, promoters, mrnas, a.length)[:, tissues]
        ranks = rank_columns(pred.T)  # tissues x copies
        ranks = (ranks - ranks.mean(0)) / np.where(ranks.std(0) > 0, ranks.std(0), 1.0)
        correlations[s:e] = (ranks * rank_b[:, None]).mean(axis=0)
        report(e / int(n), f"{e:,} of {int(n):,} disruptions of {gene_a}")

    terms = [r[0] for r in regions] + regulators
    design = pd.DataFrame(np.concatenate([region_on, reg_on], axis=1).astype(np.int8), columns=terms)
    kinds = ["region"] * len(regions) + ["regulator"] * len(regulators)
    varying = design.columns[(design.std() > 0).to_numpy()]
    fit = sm.OLS(correlations, sm.add_constant(design[varying].to_numpy(float), has_constant="add")).fit()
    effects = pd.DataFrame({"term": list(varying), "kind": [kinds[terms.index(t)] for t in varying],
                            "effect": fit.params[1:], "se": fit.bse[1:], "p": fit.pvalues[1:]})
    effects["p_bonferroni"] = np.minimum(1.0, effects["p"] * max(len(varying), 1))
    baseline_ranks = rank_columns(profile_a)
    baseline = float(np.corrcoef(baseline_ranks, rank_b)[0, 1])
    return CoexpressionResult(gene_a=gene_a, gene_b=gene_b, baseline=baseline, correlations=correlations,
                              design=design, effects=effects.reset_index(drop=True))
