"""Data access for the DEcode, DKO and perturbation overview pages."""

from __future__ import annotations

import functools

import pandas as pd

from dashboard.services import dataset, genes_of


def decode_default_gene() -> str:
    """The gene most bound by the first planted promoter regulator (else the first gene)."""
    data = dataset("decode")
    features = list(map(str, data.promoter_features))
    planted = [r for r in data.truth.get("regulator", []) if r in features]
    if not planted:
        return str(data.genes[0])
    promoter = data.promoter[data.promoter["feature"] == features.index(planted[0])]
    best = promoter.groupby("gene")["value"].sum().idxmax()
    return str(data.genes[int(best)])


def decode_profile(gene: str) -> tuple[pd.Series, float]:
    """Measured tissue log fold changes and the median expression of a gene."""
    targets = dataset("decode").targets
    row = targets.loc[gene]
    return row.drop("median").astype(float), float(row["median"])


def decode_binding(gene: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dense promoter and mRNA binding maps of one gene (bound regulators only)."""
    data = dataset("decode")
    index = list(map(str, data.genes)).index(gene)

    def dense(coo: pd.DataFrame, names, n_bins: int, labels) -> pd.DataFrame:
        part = coo[coo["gene"] == index]
        matrix = pd.DataFrame(0.0, index=list(names), columns=labels)
        for feature, b, value in part[["feature", "bin", "value"]].itertuples(index=False):
            matrix.iat[int(feature), int(b)] += float(value)
        return matrix.loc[matrix.sum(axis=1) > 0]

    promoter_labels = [f"{start:+d}" for start in range(-2000, 1000, 100)]
    n_mrna = int(data.mrna_length.iloc[index]) if hasattr(data.mrna_length, "iloc") else int(data.mrna_length[index])
    mrna_labels = [f"{100 * b}" for b in range(n_mrna)]
    return (dense(data.promoter, data.promoter_features, 30, promoter_labels),
            dense(data.mrna, data.mrna_features, n_mrna, mrna_labels))


@functools.lru_cache(maxsize=4)
def dko_type_means(n_genes: int = 30) -> pd.DataFrame:
    """Mean expression per cell type of the most variable genes."""
    data = dataset("dko")
    expression = data.expression
    top = expression.var(axis=1).sort_values(ascending=False).index[:n_genes]
    return expression.loc[top].T.groupby(data.cells["cell_type"].reindex(expression.columns)).mean().T


def perturbation_default_gene() -> str:
    """The first gene with a measured signature of every type."""
    signatures = dataset("perturbation").signatures.values()
    common = set.intersection(*[set(map(str, s.index)) for s in signatures])
    return sorted(common)[0] if common else genes_of("perturbation")[0]


def perturbation_degrees(gene: str) -> pd.Series:
    """Number of neighbours of a gene in each network layer."""
    layers = dataset("perturbation").layers
    return pd.Series({
        name: int(((edges["gene1"] == gene) | (edges["gene2"] == gene)).sum()) for name, edges in layers.items()
    })
