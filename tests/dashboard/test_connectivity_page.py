"""Connectivity query page and service, called directly (no browser): queries, errors, links, the stored table."""

import numpy as np
import pytest

import app  # noqa: F401  (registers pages and callbacks)
from core.errors import InputError
from dashboard.pages import perturbation_connectivity as page
from dashboard.services import connectivity as conn
from dashboard.services import dataset
from dashboard.services import perturbation as tnet
from tests.dashboard.helpers import find_component

MEASURED = ["RNAi measured", "CRISPR measured", "OE measured"]


@pytest.fixture(scope="module")
def data():
    return dataset("perturbation")


def test_layout_offers_every_set_and_disables_predictions_without_stored_models():
    view = page.layout(epochs="3", width="128")
    sets = find_component(view, "pconn-sets")
    assert [o["value"] for o in sets.options] == conn.set_names()
    assert {o["value"] for o in sets.options if o["disabled"]} == {n for n in conn.set_names() if "predicted" in n}
    assert sets.value == MEASURED and "train them" in str(view)
    default = find_component(page.layout(), "pconn-sets")  # the demo ships models with the default settings
    assert default.value == conn.set_names()
    assert "/perturbation/connectivity" in str(page.layout()) and "simulated-banner" in str(page.layout())


def test_pasted_symbols_and_entrez_ids_resolve_and_bad_lists_say_what_to_fix(data):
    landmarks = [str(g) for g in data.landmarks]
    entrez = data.genes.loc[landmarks, "entrez"].astype(int).astype(str).tolist()
    up_text = ", ".join(landmarks[:4]) + "\n" + entrez[4] + " NOT_A_GENE"
    down_text = " ".join(g.lower() for g in landmarks[10:16])
    query = conn.build_query("demo", "lists", up_text, down_text)
    assert query["up"] == landmarks[:5] and query["down"] == landmarks[10:16] and query["unknown"] == ["NOT_A_GENE"]
    with pytest.raises(InputError, match="paste both"):
        conn.build_query("demo", "lists", "", down_text)
    with pytest.raises(InputError, match="none of the up genes"):
        conn.build_query("demo", "lists", "FOO BAR BAZ", down_text)
    with pytest.raises(InputError, match="both"):
        conn.build_query("demo", "lists", " ".join(landmarks[:6]), " ".join(landmarks[5:12]))
    with pytest.raises(InputError, match="at least 5"):
        conn.build_query("demo", "lists", " ".join(landmarks[:3]), down_text)
    with pytest.raises(InputError, match="between 5"):
        conn.build_query("demo", "signature", gene=str(data.signatures["OE"].index[0]), kind="OE", n=1000)
    with pytest.raises(InputError, match="no measured"):
        conn.build_query("demo", "signature", gene="nope", kind="OE")


def test_signature_query_takes_the_centred_top_and_bottom_genes(data):
    sig = data.signatures["CRISPR"].astype(float)
    gene = str(sig.index[3])
    query = conn.build_query("demo", "signature", gene=gene, kind="CRISPR", n=20)
    centred = (sig - sig.mean()).loc[gene]
    assert set(query["up"]) == set(centred.nlargest(20).index) and set(query["down"]) == set(centred.nsmallest(20).index)
    raw = conn.build_query("demo", "signature", gene=gene, kind="CRISPR", n=20, center=False)
    assert set(raw["up"]) == set(sig.loc[gene].nlargest(20).index)


def test_search_ranks_the_query_gene_first_and_the_page_shows_it(data):
    gene = str(data.signatures["RNAi"].index[7])
    query = conn.build_query("demo", "signature", gene=gene, kind="RNAi")
    outcome = conn.search.run(query=query, sets=MEASURED, epochs=tnet.DEFAULT_EPOCHS, width=tnet.DEFAULT_WIDTH)
    assert outcome.error is None, outcome.error
    params = conn.job_params(query, MEASURED, tnet.DEFAULT_EPOCHS, tnet.DEFAULT_WIDTH)
    table = conn.search.result(query=query, sets=MEASURED, epochs=tnet.DEFAULT_EPOCHS, width=tnet.DEFAULT_WIDTH)
    assert len(table) == sum(len(data.signatures[t]) for t in tnet.types_of())
    assert table.index[0] == gene and table["set"].iloc[0] == "RNAi measured"
    assert list(table["score"]) == sorted(table["score"], reverse=True)
    again = conn.search.run(query=query, sets=MEASURED, epochs=tnet.DEFAULT_EPOCHS, width=tnet.DEFAULT_WIDTH)
    assert again.key == outcome.key and again.seconds < 5  # stored
    fig, _config, methods, rows, summary, status = page.show_search(
        {"params": params, "label": query["label"], "unknown": ["XYZ"], "seconds": 1.0})
    assert rows[0]["gene"] == f"[{gene}](/gene?gene={gene})" and rows[0]["signature"] == "measured"
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    bars = np.concatenate([np.asarray(t.x, float) for t in fig.data])
    assert len(bars) == 30 and bars.max() == pytest.approx(1.0)
    # the link written after the search opens the same query, and its stored result at once
    view = page.layout(mode="signature", gene=gene, type="RNAi", n="50", sets=",".join(MEASURED), center="center")
    values = {key: find_component(view, control).value for key, control in page.QUERY_CONTROLS.items()}
    assert values["mode"] == "signature" and values["sets"] == MEASURED and values["center"] == ["center"]
    stored = page.stored_search(*values.values(), "demo")
    assert stored["params"] == params and stored["cached"]
    assert page.stored_search(*{**values, "n": 7}.values(), "demo") is None  # not searched yet
    assert find_component(page.layout(center="", sets=""), "pconn-center").value == []
    assert "XYZ" in summary and "q < 0.05" in summary
    assert "1,000" in methods and status.startswith("Finished")
    n_sig = int((table["q"] < 0.05).sum())
    assert f"{n_sig:,} with q < 0.05" in summary


def test_search_refuses_missing_sets_and_the_callback_reports_errors():
    query = conn.build_query("demo", "signature", gene=str(dataset("perturbation").signatures["OE"].index[0]),
                             kind="OE")
    assert "no stored models" in conn.search.run(query=query, sets=["OE predicted"], epochs=3, width=128).error
    assert "at least one" in conn.search.run(query=query, sets=[], epochs=tnet.DEFAULT_EPOCHS,
                                             width=tnet.DEFAULT_WIDTH).error
    out = page.run_search(None, 1, "lists", "", "", None, "RNAi", 50, MEASURED, tnet.DEFAULT_EPOCHS,
                          tnet.DEFAULT_WIDTH, ["center"])
    assert "paste both" in out[1]
    empty = page.show_search(None)
    assert empty[3] == [] and empty[-1] == "Idle."
