"""The gene card and gene list services: one gene across the four demo datasets."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from core.datasets.genes import SHARED_SYMBOLS
from core.errors import InputError
from dashboard import services
from dashboard.services import gene as gene_service


@pytest.fixture(scope="module", autouse=True)
def _demo(demo_data):
    yield


def test_shared_universe_spans_the_four_demos():
    named = [set(services.named_genes(kind)) for kind in services.DATASETS]
    common = set.intersection(*named)
    real = sorted(g for g in common if not g.startswith("SIM"))
    assert len(real) >= 20 and "RPP25L" in real
    assert set(SHARED_SYMBOLS) <= common
    # every shared gene is shown by each method's page, not only named somewhere in its dataset
    for kind in ("decode", "dko", "perturbation"):
        assert set(SHARED_SYMBOLS) <= set(services.genes_of(kind)), kind
    # DKO's planted keystones are DEcode's planted transcription factors
    keystones = set(services.dataset("dko").keystones)
    planted = set(services.dataset("decode").truth["regulator"])
    assert keystones and keystones <= planted


def test_rpp25l_card_has_four_sections_and_the_published_result():
    card = gene_service.gene_card("RPP25L")
    assert all(card.sections[m].available for m in gene_service.METHODS)
    ess = card.sections["essentiality"]
    assert "RPP25" in ess.related["modifiers"]
    # the card's numbers are the atlas row's
    row = services.essentiality.atlas_row("RPP25L")
    assert ess.headline == pytest.approx(row["test_pearson"])
    predictions = ess.frames["predictions"]
    test = predictions[predictions["split"] == "test"]
    r = stats.pearsonr(test["actual_gene_effect"], test["predicted_gene_effect"])[0]
    assert r == pytest.approx(row["test_pearson"], abs=1e-6)
    assert card.published is not None and card.published["modifiers"][0][0] == "RPP25"
    assert "4 of 4 methods" in card.concordance and "RPP25" in card.concordance


def test_sections_agree_with_independent_computations():
    gene = "KRAS"
    card = gene_service.gene_card(gene)
    # DEcode: Pearson over tissues, from the stored fit's predictions and the measured targets
    profile = card.sections["decode"].frames["tissue_profile"]
    tissues = profile[profile["tissue"] != "median"]
    expected = np.corrcoef(tissues["predicted_log2fc_cnn"], tissues["measured_log2fc"])[0, 1]
    assert card.sections["decode"].headline == pytest.approx(expected)
    # DKO: mean over the cells where the gene is present, and its rank among all genes' means
    payload = services.dko.sweep.result(steps=services.dko.DEFAULT_STEPS)
    means = payload["table"].groupby("gene")["impact"].mean()
    assert card.sections["dko"].headline == pytest.approx(means[gene])
    rank = int((means > means[gene]).sum()) + 1
    assert dict(card.sections["dko"].facts)["rank among all knockouts"].startswith(f"{rank} of {len(means)}")
    # signatures: r between the stored prediction and the measured signature, averaged over types
    result = services.perturbation.default_training()
    data = services.dataset("perturbation")
    rs = [stats.pearsonr(result[f"predicted_{t}"].loc[gene], data.signatures[t].loc[gene])[0]
          for t in data.signatures if gene in data.signatures[t].index]
    assert card.sections["perturbation"].headline == pytest.approx(np.mean(rs))
    # the gene list's matrix holds the same headline numbers
    matrix, unknown = gene_service.gene_matrix([gene])
    assert unknown == []
    for method in gene_service.METHODS:
        assert matrix.loc[gene, method] == pytest.approx(card.sections[method].headline, rel=1e-6)


def test_lineage_view_shows_the_planted_excluded_lineage():
    # FAM50A is driven by FAM50B in every lineage but Prostate (planted): the card's lineage view says so
    section = gene_service.gene_card("FAM50A").sections["essentiality"]
    weights = section.frames["lineage_weights"].set_index("lineage")
    assert weights["r_squared"].idxmin() == "Prostate"
    assert "Prostate" in dict(section.facts)["per-lineage linear fit R² (best, worst)"]


def test_a_modifier_is_explained_as_a_modifier():
    card = gene_service.gene_card("RPP25")
    ess = card.sections["essentiality"]
    assert "not a screened target" in ess.summary
    assert "RPP25L" in ess.frames["modifier_of"]["target"].tolist()
    assert "modifier of 1 target" in card.concordance and "RPP25L" in card.concordance


def test_a_method_without_the_gene_says_so():
    # a synthetic gene only the large demos hold
    only_perturbation = next(g for g in services.named_genes("perturbation") if g not in services.genes_of("dko"))
    card = gene_service.gene_card(only_perturbation)
    assert not card.sections["dko"].available
    assert "is not in the DKO demo dataset" in card.sections["dko"].summary


def test_resolve_gene_corrects_case_and_ids_and_refuses_unknown():
    assert gene_service.resolve_gene("rpp25l") == ("RPP25L", "Showing RPP25L (you asked for rpp25l).")
    assert gene_service.resolve_gene("RPP25L") == ("RPP25L", None)
    entrez = str(services.dataset("perturbation").genes.loc["KRAS", "entrez"])
    assert gene_service.resolve_gene(entrez)[0] == "KRAS"
    symbol, notice = gene_service.resolve_gene("NOTAGENE1")
    assert symbol is None and "NOTAGENE1 is in none of the datasets" in notice


def test_search_finds_modifiers_regulators_landmarks_and_ids():
    landmark = services.dataset("perturbation").landmarks[0]
    for query, expected in [("RPP25", "RPP25"), ("hnf4", "HNF4A"), (landmark, landmark)]:
        assert expected in [o["value"] for o in services.search_options(query)]
    entrez = str(services.dataset("perturbation").genes.loc["RPP25L", "entrez"])
    hits = services.search_options(entrez)
    assert {"label": f"RPP25L (id {entrez})", "value": "RPP25L"} in hits


def test_card_zip_holds_named_csvs_and_provenance():
    card = gene_service.gene_card("RPP25L")
    archive = zipfile.ZipFile(io.BytesIO(gene_service.card_zip(card)))
    names = set(archive.namelist())
    assert {"provenance.json", "README.txt", "RPP25L_essentiality_predictions.csv",
            "RPP25L_decode_tissue_profile.csv", "RPP25L_dko_impact_per_cell.csv",
            "RPP25L_perturbation_signatures.csv", "RPP25L_published_rosenski2023.csv"} <= names
    profile = pd.read_csv(archive.open("RPP25L_decode_tissue_profile.csv"))
    assert list(profile.columns) == ["tissue", "predicted_log2fc_cnn", "predicted_log2fc_ridge", "measured_log2fc"]
    impact = pd.read_csv(archive.open("RPP25L_dko_impact_per_cell.csv"))
    assert list(impact.columns) == ["cell", "cell_type", "cluster", "impact_bray_curtis"]
    assert "Rosenski" in archive.read("README.txt").decode()
    assert '"simulated": true' in archive.read("provenance.json").decode()


def test_gene_list_parsing_and_unknown_genes():
    assert gene_service.split_genes("RPP25L, kras\nMCL1;;RPP25L\tHNF4A") == ["RPP25L", "kras", "MCL1", "HNF4A"]
    with pytest.raises(InputError, match="at most 200"):
        gene_service.parse_gene_list(",".join(f"G{i}" for i in range(201)))
    matrix, unknown = gene_service.gene_matrix(["RPP25L", "kras", "NOPE1", "HNF4A"])
    assert list(matrix.index) == ["RPP25L", "KRAS", "HNF4A"] and unknown == ["NOPE1"]
    assert np.isnan(matrix.loc["HNF4A", "essentiality"])  # not a screened target
    assert matrix.loc[["RPP25L", "KRAS"]].notna().all().all()
    csv = gene_service.matrix_csv(matrix)
    assert csv.startswith("# essentiality_test_pearson_r:")
    frame = pd.read_csv(io.StringIO(csv), comment="#")
    assert list(frame.columns) == ["gene", *gene_service.HEADLINE_COLUMNS.values()]


def test_card_figure_exports_as_png_and_svg_with_its_four_panels():
    from dashboard import export
    from dashboard.figures.gene import PANEL_TITLES, gene_card_figure

    if export.find_browser() is None:
        pytest.skip("no Chromium: kaleido cannot render")
    card = gene_service.gene_card("RPP25L")
    fig = gene_card_figure("RPP25L", card.frames(), {}, {})
    provenance = services.provenance("essentiality", "gene-card", "RPP25L")
    png = export.figure_to_image(fig, "png", "print", provenance)
    width, height = export.png_size(png)
    # 7 in at 300 dpi; as tall as the tissue panel's rows need (one 12-px label each), at least the own aspect
    assert width == 2100 and height >= 2100 * 860 / 1100 - 3
    assert export.read_png_text(png)["Title"] == "RPP25L across four methods"
    svg = export.figure_to_image(fig, "svg", "print", provenance).decode()
    for title in PANEL_TITLES.values():
        assert title.split(":")[0] in svg
