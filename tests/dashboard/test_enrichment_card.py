"""The modifier page's pathway-enrichment card (Fig. 1B), called directly on the demo and a registered dataset."""

import numpy as np
import pytest

import app  # noqa: F401  (registers pages and callbacks)
from core.datasets.essentiality_pathways import PLANTED_PREFIX, planted_modifier_sets
from core.errors import InputError
from dashboard import services
from dashboard.pages import essentiality as page
from dashboard.services import enrichment
from dashboard.services import essentiality as ess_service


@pytest.fixture(scope="module")
def planted_target():
    sets = planted_modifier_sets(services.dataset("essentiality"))
    return max(sets, key=lambda t: len(sets[t]))


def test_card_ranks_the_planted_pathway_first_with_modifiers_on_hover(planted_target):
    result = {"target": planted_target, "models": ess_service.ATLAS_SET}  # the instant view the page opens with
    fig, _config, methods = page.show_enrichment(result)
    analysis = ess_service.analysis.result(target=planted_target, models=ess_service.ATLAS_SET)
    table, library = enrichment.modifier_enrichment(analysis.report.modifiers)
    bars = fig.data[0]
    assert list(bars.y)[::-1] == list(table["term"].head(5))
    assert bars.y[-1] == PLANTED_PREFIX + planted_target  # the top bar
    assert np.allclose(bars.x[::-1], -np.log10(table["p"].head(5)))
    assert set(bars.customdata[-1][3].split(", ")) <= set(analysis.report.modifiers)
    assert "simulated demo pathways" in methods and "q < 0.05" in methods
    assert fig.layout.meta["provenance"]["view"] == "modifier-enrichment"


def test_card_explains_what_is_missing():
    fig, _config, text = page.show_enrichment(None)
    assert "Run the analysis" in fig.layout.annotations[0].text
    with pytest.raises(InputError, match="nothing to test"):
        enrichment.modifier_enrichment([])


def test_registered_gene_sets_are_offered_beside_the_demo_pathways(registered):
    """A GMT registered on the Datasets page is a library of the demo and the only one of a registered dataset."""
    library_id = registered["genesets"]
    assert [o["value"] for o in enrichment.libraries()] == [enrichment.DEMO, library_id]
    source = registered["essentiality"]
    assert [o["value"] for o in enrichment.libraries(source)] == [library_id]
    with pytest.raises(InputError, match="demo data"):
        enrichment.library(source, enrichment.DEMO)
    sets, name = enrichment.library(source)
    assert PLANTED_PREFIX in " ".join(sets) and "registered gene-set library 'My genesets data'" == name
    data = services.dataset("essentiality", source)
    planted = [t[len(PLANTED_PREFIX):] for t in sets if t.startswith(PLANTED_PREFIX)]
    target = next(t for t in planted if t in data.effect.columns)
    result = {"target": target, "models": ess_service.ATLAS_SET, "source": source}
    fig, _config, methods = page.show_enrichment(result, library_id)
    assert fig.data and "My genesets data" in methods and "SIMULATED" not in methods
    assert fig.layout.meta["provenance"]["params"]["gene_sets"] == library_id
    # the demo with the registered library chosen: the same card, another library
    demo_target = next(iter(planted_modifier_sets(services.dataset("essentiality"))))
    fig, _config, methods = page.show_enrichment({"target": demo_target, "models": ess_service.ATLAS_SET},
                                                 library_id)
    assert "registered gene-set library 'My genesets data'" in methods


def test_registered_dataset_without_a_library_says_how_to_get_one(registered, tmp_path, monkeypatch):
    from core.datasets.registry import DatasetRegistry
    from tests.user_files import depmap_files

    reg = DatasetRegistry(tmp_path / "only-depmap")
    entry, report, _ = reg.register("essentiality", "No libraries", depmap_files(tmp_path / "depmap"))
    assert entry is not None, report.checks
    monkeypatch.setattr(services, "registry", lambda: reg)
    sets, why = enrichment.library(entry.ident)
    assert sets is None and "GMT" in why and "Datasets page" in why
    target = str(services.dataset("essentiality", entry.ident).effect.columns[0])
    fig, _config, text = page.show_enrichment({"target": target, "models": ess_service.ATLAS_SET,
                                               "source": entry.ident})
    assert "GMT" in text


def test_atlas_table_gives_each_targets_top_term_as_the_card_would():
    """The atlas browser's top_term / top_term_q columns: the first bar of each target's enrichment card."""
    from dashboard.pages import essentiality_sweep

    *_, note, rows, _summary, _status = essentiality_sweep.show_sweep({"source": "demo", "cached": True})
    atlas = ess_service.atlas.result()
    by_target = {r["target"].split("]")[0][1:]: r for r in rows}
    assert set(by_target) == set(atlas.index)
    planted = planted_modifier_sets(services.dataset("essentiality"))
    checked = 0
    for target in atlas.index[atlas["n_modifiers"] > 0][:40]:
        table, _ = enrichment.modifier_enrichment(atlas.loc[target, "modifiers"].split(";"))
        row = by_target[target]
        assert row["top_term"] == table["term"].iloc[0]
        assert row["top_term_q"] == pytest.approx(table["q"].iloc[0], rel=1e-9)
        checked += 1
    assert checked >= 10
    hits = [t for t in planted if t in by_target and by_target[t]["top_term"] == PLANTED_PREFIX + t
            and by_target[t]["top_term_q"] < 0.05]
    assert len(hits) >= len(planted) / 2  # planted modifier sets find their planted pathway in the atlas too
    assert "simulated demo pathways" in note and "q < 0.05" in note
