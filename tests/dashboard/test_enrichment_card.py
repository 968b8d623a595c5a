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
    analysis = ess_service.analysis_result(planted_target, ess_service.ATLAS_SET)
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


def test_registered_dataset_has_no_library_yet(registered):
    source = registered["essentiality"]
    sets, why = enrichment.library(source)
    assert sets is None and "GMT" in why
    target = str(services.dataset("essentiality", source).effect.columns[0])
    fig, _config, text = page.show_enrichment({"target": target, "models": ess_service.ATLAS_SET, "source": source})
    assert "GMT" in text
