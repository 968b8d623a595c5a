"""The essentiality-of-new-samples page: callbacks called directly on the demo, an upload and a registered set."""

import base64

import numpy as np
import pytest

import app  # noqa: F401  (registers pages and callbacks)
from core.errors import InputError
from core.essentiality import group_test
from dashboard import services
from dashboard.figures.common import RED
from dashboard.pages import essentiality_new_samples as page
from dashboard.services import new_samples as ns
from tests.dashboard.helpers import find_component


def _text(component) -> str:
    if isinstance(component, str):
        return component
    children = getattr(component, "children", None)
    parts = children if isinstance(children, (list, tuple)) else [children]
    return " ".join(_text(c) for c in parts if c is not None and (isinstance(c, str) or hasattr(c, "to_plotly_json")))


def _data_url(text: str, kind: str = "text/csv") -> str:
    return f"data:{kind};base64," + base64.b64encode(text.encode()).decode()


def test_demo_page_flags_the_planted_tissue():
    demo = ns.demo_samples()
    truth = demo.truth
    fig, _config, methods, rows, status, missing = page.show_predictions(truth["target"], ns.DEMO_SET, None, "demo")
    flagged = [r["group"] for r in rows if r["flagged"] == "yes"]
    assert truth["group"] in flagged
    # the table is the core's group test on the figure's points
    points = {trace.name.rstrip(" *"): np.asarray(trace.y) for trace in fig.data}
    assert sum(len(v) for v in points.values()) == len(demo.expression)
    values = np.concatenate(list(points.values()))
    labels = np.concatenate([[g] * len(v) for g, v in points.items()])
    import pandas as pd

    table = group_test(pd.Series(values), pd.Series(labels)).set_index("group")
    for row in rows:
        assert row["t"] == pytest.approx(table.loc[row["group"], "t"])
        assert row["q"] == pytest.approx(table.loc[row["group"], "q"])
    planted = next(t for t in fig.data if t.name.rstrip(" *") == truth["group"])
    assert planted.name.endswith("*") and planted.marker.color == RED
    assert "log2(x+1)" in status and truth["group"] in status
    assert "Welch's two-sided t-test" in methods and "Benjamini-Hochberg" in methods
    assert missing == ""
    assert fig.layout.meta["provenance"]["view"] == "new-samples"


def test_layout_has_the_family_tab_and_says_the_data_are_simulated():
    layout = page.layout(gene="RPP25L")
    text = _text(layout)
    assert services.SIMULATED_NOTE in text
    assert "New samples" in text and "Genome-wide atlas" in text  # the family's tabs
    dropdown = find_component(layout, page.SAMPLES_ID)
    assert dropdown.value == ns.DEMO_SET
    assert find_component(page.layout(gene="RPP25L", samples="nonsense"), page.SAMPLES_ID).value == ns.DEMO_SET


def test_upload_without_a_modifier_gene_names_it_and_retrains():
    demo = ns.demo_samples()
    model = ns.reference_model(demo.truth["target"])
    dropped = [g for g in model.modifiers if g != demo.truth["driver"]][0]
    table = demo.to_table().iloc[::3].drop(columns=[dropped])
    staged, value, message = page.stage_upload(_data_url(table.to_csv()), "tissues.csv")
    assert value == ns.UPLOAD and message == ""
    assert staged["group_column"] == "tissue" and staged["n_samples"] == len(table)
    fig, _c, _m, rows, status, missing = page.show_predictions(demo.truth["target"], ns.UPLOAD, staged, "demo")
    assert dropped in missing and "retrained" in missing
    assert "uploaded file tissues.csv" in status
    assert {r["group"] for r in rows} == set(table["tissue"])
    assert sum(r["n"] for r in rows) == len(table)


def test_tsv_without_groups_and_bad_uploads():
    demo = ns.demo_samples()
    tsv = demo.expression.iloc[:5].to_csv(sep="\t")
    expression, groups = ns.parse_table(tsv.encode(), "x.tsv")
    assert groups is None and expression.shape == (5, demo.expression.shape[1])
    staged, _, _ = page.stage_upload(_data_url(tsv, "text/tab-separated-values"), "x.tsv")
    _fig, _c, _m, rows, _s, _missing = page.show_predictions("RPP25L", ns.UPLOAD, staged, "demo")
    assert [r["group"] for r in rows] == ["all samples"]
    bad = "sample,tissue,donor,RPP25\na,x,d1,1\nb,y,d2,2\nc,x,d3,3\n"
    assert page.stage_upload(_data_url(bad), "bad.csv")[2].startswith("bad.csv: columns donor")
    assert "did not arrive as a file" in page.stage_upload("garbage", "x.csv")[2]
    with pytest.raises(InputError, match="at least 3 samples"):
        ns.parse_table(b"sample,RPP25\na,1\n", "one.csv")
    # choosing "uploaded file" before uploading says what to do
    fig, *_rest, missing = page.show_predictions("RPP25L", ns.UPLOAD, None, "demo")
    assert "Upload a CSV or TSV" in missing


def test_registered_expression_as_new_samples_and_as_reference(registered):
    source = registered["essentiality"]
    options = [o["value"] for o in ns.sample_set_options()]
    assert source in options
    fig, _c, _m, rows, status, missing = page.show_predictions("RPP25L", source, None, "demo")
    assert rows and "registered dataset" in status
    data = services.dataset("essentiality", source)
    assert sum(r["n"] for r in rows) == len(data.expression)
    # a registered reference with the simulated tissues still shows the banner; without them it does not
    assert services.SIMULATED_NOTE in _text(page.layout(gene="RPP25L", data=source))
    assert services.SIMULATED_NOTE not in _text(page.layout(gene="RPP25L", data=source, samples=ns.UPLOAD))


def test_an_unexpected_failure_is_a_message_not_a_server_error(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ns, "predict", boom)
    fig, _c, _m, rows, status, missing = page.show_predictions("RPP25L", ns.DEMO_SET, None, "demo")
    assert rows == [] and "disk on fire" in missing and "prediction failed" in missing
    monkeypatch.setattr(ns, "stage", boom)
    assert "could not be read" in page.stage_upload(_data_url("a,b\n"), "x.csv")[2]
