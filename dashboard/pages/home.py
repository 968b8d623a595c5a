"""Home: the four methods in two sentences each, their papers and the data in use."""

from __future__ import annotations

import dash
from dash import dcc, html

from dashboard.text import plural
from dashboard import services
from dashboard.components.shell import page_header

dash.register_page(__name__, path="/", name="Home", title="PerturbScope", order=0)

METHODS = (
    {
        "path": "/essentiality", "kind": "essentiality", "title": "Modifier genes",
        "paper": "Rosenski, Shifman & Kaplan, BMC Medical Genomics 16:26 (2023)",
        "url": "https://doi.org/10.1186/s12920-023-01446-4",
        "text": "Predicts how essential a gene is in each cancer cell line (its CRISPR gene effect) from the "
                "expression of a few modifier genes, chosen by Pearson, Spearman and chi-squared tests on "
                "training cell lines. A zoo of models is compared on a validation split, so you can see which "
                "genes buffer or sensitise a target and in which lineages.",
    },
    {
        "path": "/decode", "kind": "decode", "title": "DEcode",
        "paper": "Tasaki et al., Nature Machine Intelligence 2:376 (2020)",
        "url": "https://doi.org/10.1038/s42256-020-0201-6",
        "text": "A convolutional network reads where transcription factors bind a gene's promoter and where "
                "RNA-binding proteins and miRNAs bind its mRNA, and predicts the gene's expression in every "
                "tissue. DeepSHAP attributions and in-silico removal of binding sites show which regulators "
                "drive tissue-specific expression.",
    },
    {
        "path": "/dko", "kind": "dko", "title": "DKO virtual knockouts",
        "paper": "He, Klein, Levy & Wang, arXiv 2510.03359 (2025)",
        "url": "https://arxiv.org/abs/2510.03359",
        "text": "Learns, in single cells, how the set of genes present maps to the expression profile, without "
                "any perturbation data. It then knocks out every present gene in every cell in silico and "
                "scores how much each knockout would reshape that cell's profile.",
    },
    {
        "path": "/perturbation", "kind": "perturbation", "title": "Perturbation signatures",
        "paper": "Zhan et al., TranscriptionNet, arXiv 2403.02724 (2024)",
        "url": "https://arxiv.org/abs/2403.02724",
        "text": "Predicts the L1000 transcriptional signature that knocking down (RNAi), knocking out (CRISPR) or "
                "overexpressing a gene would cause, from the gene's position in several integrated gene networks. "
                "This extends signatures from the few thousand measured genes to every gene in the networks.",
    },
)


HOME_GENES = ("RPP25L", "RPP25", "KRAS", "MCL1", "FAM50A", "HNF4A", "SPI1", "TP53")


def _dataset_summary(kind: str) -> str:
    data = services.dataset(kind)
    if kind == "essentiality":
        return (f"{data.expression.shape[0]:,} cell lines in {plural(data.cells['lineage'].nunique(), 'lineage')}, "
                f"{data.expression.shape[1]:,} genes' expression, {data.effect.shape[1]:,} target genes' effects")
    if kind == "decode":
        return (f"{len(data.genes):,} genes, {len(data.promoter_features):,} promoter and "
                f"{len(data.mrna_features):,} mRNA features, {data.targets.shape[1] - 1} tissues")
    if kind == "dko":
        return f"{data.expression.shape[0]:,} genes x {data.expression.shape[1]:,} cells, {plural(data.cells['cell_type'].nunique(), 'cell type')}"
    sigs = ", ".join(f"{k} {len(v):,}" for k, v in data.signatures.items())
    return (f"{len(data.genes):,} genes in {plural(len(data.layers), 'network layer')}, {len(data.landmarks):,} landmark genes; "
            f"measured signatures: {sigs}")


def _registered_line(kind: str, path: str) -> html.P:
    """Which of the user's datasets this page can also show, with links."""
    options = services.sources(kind)[1:]
    if not options:
        return html.P(["Your own data: none registered yet (", dcc.Link("Datasets", href="/datasets"), ")."],
                      className="dataset-line")
    links = []
    for option in options:
        links += [", " if links else "", dcc.Link(option["label"], href=f"{path}?data={option['value']}")]
    return html.P([html.Strong("Your datasets: "), *links], className="dataset-line")


def layout(**_):
    cards = []
    for method in METHODS:
        try:
            summary = _dataset_summary(method["kind"])
        except Exception as exc:  # a missing demo build must not take the home page down
            summary = f"Dataset unavailable: {exc}"
        cards.append(html.Div(className="card method-card", children=[
            html.H2(dcc.Link(method["title"], href=method["path"])),
            html.P(method["text"]),
            html.P(["Paper: ", html.A(method["paper"], href=method["url"], target="_blank", rel="noopener")],
                   className="paper"),
            html.P([html.Strong("Default dataset: "), f"{services.DATASETS[method['kind']]} (simulated) — {summary}."],
                   className="dataset-line"),
            _registered_line(method["kind"], method["path"]),
        ]))
    return html.Div([
        page_header(
            "PerturbScope",
            "Explore gene-perturbation predictions from four published methods: browse genes, train and "
            "evaluate models on demand, and export figures and the numbers behind them.",
            simulated_note="The app starts on simulated demo datasets with planted ground truth (see data/README.md); "
                           "every page that shows them says so.",
        ),
        html.Div(className="card", id="home-genes", children=[
            html.H2("Start from a gene"),
            html.P("Search any gene above, or open one shared by all four demo datasets: its card shows what each "
                   "method says about it, at once."),
            html.Div([dcc.Link(g, href=f"/gene?gene={g}", className="gene-chip") for g in HOME_GENES],
                     className="gene-chips"),
            html.P(dcc.Link("Compare a list of genes →", href="/genes")),
        ]),
        html.Div(cards, className="grid-2"),
    ])
