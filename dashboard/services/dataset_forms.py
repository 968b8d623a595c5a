"""How the Datasets page presents each kind of dataset, and which page opens a registered one.

The engine knows the kinds and their file roles (:mod:`core.datasets.kinds`);
the form's words (what each file usually is called, what the kind is for) and
the routes live here, with the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.datasets.kinds import KINDS, SPECS, KindSpec, Role

__all__ = ["FORMS", "KINDS", "KindForm", "KindSpec", "Role", "SPECS", "role_hint"]


@dataclass(frozen=True)
class KindForm:
    """The Datasets page's view of one kind.

    Attributes
    ----------
    page
        The route of the page that uses the kind.
    about
        One paragraph under the kind's choice.
    hints
        role key -> the file names or formats expected, shown beside each file slot.
    opens_by_id
        The page opens a registration by its id (``?data=``); False for libraries the page offers itself.
    """

    page: str
    about: str
    hints: dict[str, str] = field(default_factory=dict)
    opens_by_id: bool = True


FORMS: dict[str, KindForm] = {
    "essentiality": KindForm(
        "/essentiality",
        "Gene effect and expression of the same DepMap release; the annotation adds lineages.",
        {"effect": "CRISPRGeneEffect.csv or Achilles_gene_effect.csv",
         "expression": "OmicsExpressionProteinCodingGenesTPMLogp1.csv or CCLE_expression.csv",
         "models": "Model.csv or sample_info.csv"},
    ),
    "dko": KindForm(
        "/dko",
        "Non-negative expression: genes in rows and cells in columns, or an AnnData .h5ad (X, .raw or a layer, "
        "with its cell annotations and embeddings), or 10x Genomics Cell Ranger output.",
        {"matrix": "genes x cells .csv/.tsv (or DKO's Ptrain.csv), .h5ad, 10x .h5, or a 10x matrix folder (.zip, "
                   "or its server path)"},
    ),
    "decode": KindForm(
        "/decode",
        "Promoter and mRNA binding sites with tissue expression targets.",
        {"bundle": ".npz written by core.datasets.write_decode, or a toy-layout folder (server path only)"},
    ),
    "perturbation": KindForm(
        "/perturbation",
        "One file per network layer and at least one signature type, all with the same landmark genes.",
        {"network": "edge lists: gene1 gene2 [weight], one file a layer",
         "RNAi": "CSV, GCT or GCTX: perturbed genes x landmarks", "CRISPR": "CSV, GCT or GCTX",
         "OE": "CSV, GCT or GCTX", "genes": "entrez and symbol columns, to map Entrez ids to symbols"},
    ),
    "genesets": KindForm(
        "/essentiality",
        "A gene-set library for the pathway enrichment of modifier genes on the Modifier genes page (nothing is "
        "downloaded there): one set per line, name<TAB>description<TAB>genes, with gene symbols as in the "
        "expression tables.",
        {"gmt": ".gmt or .gmt.gz: MSigDB, Reactome, KEGG or GO export, gene symbols"},
        opens_by_id=False,
    ),
}


def role_hint(kind: str, role: str) -> str:
    """What the file of one role usually is (empty when there is nothing to say)."""
    return FORMS[kind].hints.get(role, "")
