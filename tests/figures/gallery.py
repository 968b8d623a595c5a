"""Every figure card of every page, built without a browser by calling the pages' callbacks as plain functions.

The jobs behind them run small (a 2-epoch TranscriptionNet, a 150-step DKO, a 3-epoch DEcode) in the test
session's cache; the figures have the shapes and labels of the real ones (the demo's 24 DEcode tissues, the
40 genes of the DKO heatmap, the depth-4 tree), which is what a layout test needs.
"""

from __future__ import annotations

from collections.abc import Iterator

import plotly.graph_objects as go


def _is_figure_json(item) -> bool:
    return isinstance(item, dict) and "data" in item and "layout" in item


def _figures(outputs) -> list[go.Figure]:
    """The figures among a callback's outputs, in card order (a cached view returns them as JSON dicts)."""
    items = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    return [item if isinstance(item, go.Figure) else go.Figure(item) for item in items
            if isinstance(item, go.Figure) or _is_figure_json(item)]


def _named(page: str, outputs) -> Iterator[tuple[str, go.Figure]]:
    for i, fig in enumerate(_figures(outputs)):
        view = ((fig.layout.meta or {}).get("provenance") or {}).get("view") or f"figure-{i}"
        yield f"{page}/{view}", fig


def essentiality_figures() -> Iterator[tuple[str, go.Figure]]:
    from dashboard import services
    from dashboard.pages import essentiality, essentiality_new_samples, essentiality_sweep, essentiality_tree
    from dashboard.services import essentiality as ess_service
    from dashboard.services import new_samples

    target = "RPP25L"
    result = {"target": target, "models": ess_service.ATLAS_SET, "cached": True}
    yield from _named("essentiality", essentiality.show_lineages(target))
    yield from _named("essentiality", essentiality.show_analysis(result, None))
    yield from _named("essentiality", essentiality.show_enrichment(result))
    yield from _named("essentiality", essentiality.show_counts(result))
    yield from _named("essentiality", essentiality.show_cv(result))
    cell = services.dataset("essentiality").expression.index[0]
    yield from _named("essentiality/tree", essentiality_tree.show_tree(result, cell))
    yield from _named("essentiality/sweep", essentiality_sweep.show_sweep({"source": "demo", "cached": True}))
    yield from _named("essentiality/new-samples",
                      essentiality_new_samples.show_predictions(target, new_samples.DEMO_SET, None, "demo"))


def gene_figures() -> Iterator[tuple[str, go.Figure]]:
    from dashboard.cli import view_figure

    yield "gene/gene-card", view_figure("gene", ["RPP25L"])[0]
    yield "genes/gene-list", view_figure("genes", ["RPP25L", "FAM50A", "SIM0001", "SIM0033"])[0]


def perturbation_figures() -> Iterator[tuple[str, go.Figure]]:
    from dashboard.pages import perturbation, perturbation_connectivity
    from dashboard.services import connectivity as conn
    from dashboard.services import dataset
    from dashboard.services import perturbation as tnet

    epochs, width = 2, 128
    assert tnet.training.run(epochs=epochs, width=width).error is None
    gene = tnet.default_gene()
    yield from _named("perturbation", perturbation.show_network(gene))
    yield from _named("perturbation", perturbation.show_results({"epochs": epochs, "width": width, "cached": True},
                                                                 gene, "RNAi"))
    measured = ["RNAi measured", "CRISPR measured", "OE measured"]
    query_gene = str(dataset("perturbation").signatures["RNAi"].index[7])
    query = conn.build_query("demo", "signature", gene=query_gene, kind="RNAi")
    assert conn.search.run(query=query, sets=measured, epochs=tnet.DEFAULT_EPOCHS, width=tnet.DEFAULT_WIDTH).error is None
    params = conn.job_params(query, measured, tnet.DEFAULT_EPOCHS, tnet.DEFAULT_WIDTH)
    yield from _named("perturbation/connectivity", perturbation_connectivity.show_search(
        {"params": params, "label": query["label"], "unknown": [], "seconds": 1.0}))


def dko_figures() -> Iterator[tuple[str, go.Figure]]:
    from dashboard.pages import dko
    from dashboard.services import dko as dko_service

    steps, genes = 150, ["SIM0033", "SIM0061", "SIM0076", "SIM0001"]
    assert dko_service.sweep.run(steps=steps).error is None
    assert dko_service.double.run(steps=steps, genes=genes).error is None
    result = {"steps": steps, "cached": True}
    cell = dko_service.sweep.result(steps=steps)["heldout_cells"][0]
    yield from _named("dko", dko.show_presence(genes[0]))
    yield from _named("dko", dko.show_training(result))
    yield from _named("dko", dko.show_cell_fit(result, cell))
    yield from _named("dko", dko.show_heatmap(result, "all"))
    yield from _named("dko", dko.show_gene(result, genes[0]))
    yield from _named("dko", dko.show_top_genes(result, cell, 20))
    yield from _named("dko", dko.show_double({"steps": steps, "genes": genes}))


def decode_figures() -> Iterator[tuple[str, go.Figure]]:
    from dashboard.pages import decode, decode_disruption
    from dashboard.services import decode as svc

    params = svc.training_params(1, 3)
    assert svc.training.run(params=params).error is None
    assert svc.attribution.run(params=params).error is None
    gene, partner = svc.default_gene(), svc.default_partner()
    assert svc.coexpression.run(params=params, gene=gene, partner=partner, n=100).error is None
    model = {"params": params, "cached": True}
    yield from _named("decode", decode.show_performance(model, "demo"))
    yield from _named("decode", decode.show_gene(model, gene, "Liver", "demo"))
    yield from _named("decode", decode.show_regulators(model, 20, "demo"))
    yield from _named("decode/disruption", decode_disruption.show_binding(gene, "promoter", [-500, 500], [0, 400], "demo"))
    yield from _named("decode/disruption", decode_disruption.show_edit(model, gene, "promoter", 1.0, [-500, 500],
                                                                       [0, 400], ["promoter:HNF4A"], "demo"))
    stored = decode_disruption.load_cached_coexpression(model, gene, partner, 100, "demo")
    yield from _named("decode/disruption", decode_disruption.show_coexpression(stored, "demo"))


PAGES = (essentiality_figures, gene_figures, perturbation_figures, dko_figures, decode_figures)


def every_figure() -> list[tuple[str, go.Figure]]:
    """(page/view, figure) for every figure card of every page."""
    return [item for page in PAGES for item in page()]


#: The figures of docs/figures: (page/view, file stem).
DOCS = {"essentiality/tree/decision-tree": "tree-depth4", "dko/dko-impact-heatmap-all": "dko-cluster-gene-heatmap",
        "decode/decode-profile-correlation": "decode-tissue-heatmap"}


def write_docs_figures(folder) -> list:
    """Write the print PNG (256-colour palette, to keep it small) and SVG of the figures in :data:`DOCS`."""
    import io
    from pathlib import Path

    from PIL import Image

    from dashboard.export.png import add_png_text, read_png_text, set_png_dpi
    from dashboard.export.render import figure_to_image

    folder, written = Path(folder), []
    figures = dict(item for page in (essentiality_figures, dko_figures, decode_figures) for item in page())
    for view, stem in DOCS.items():
        fig = figures[view]
        provenance = (fig.layout.meta or {}).get("provenance")
        png = figure_to_image(fig, "png", "print", provenance)
        buffer = io.BytesIO()
        Image.open(io.BytesIO(png)).convert("RGB").quantize(256).save(buffer, "PNG", optimize=True)
        small = set_png_dpi(add_png_text(buffer.getvalue(), read_png_text(png)), 300)
        for suffix, data in ((".png", small), (".svg", figure_to_image(fig, "svg", "print", provenance))):
            path = folder / f"{stem}_print{suffix}"
            path.write_bytes(data)
            written.append(path)
    return written


if __name__ == "__main__":  # python -m tests.figures.gallery docs/figures (in a scratch PERTURBSCOPE_CACHE_DIR)
    import sys

    import app  # noqa: F401  (registers pages and callbacks)

    for path in write_docs_figures(sys.argv[1] if len(sys.argv) > 1 else "docs/figures"):
        print(path, path.stat().st_size)
