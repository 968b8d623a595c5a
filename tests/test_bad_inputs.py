"""Every file of the bad-input corpus (tests/bad_inputs/) is refused with a helpful InputError.

Each malformed file goes through the loader named in ``MANIFEST.csv``; bad DepMap files
are paired with the good fixtures of ``tests/fixtures/depmap/current/`` in the other slots.
The loader must raise :class:`core.errors.InputError` (nothing else may escape) whose
message names the file and is long enough to say what is wrong.
"""

from __future__ import annotations

import csv
import pickle
from pathlib import Path

import pytest

from core.datasets import load_decode, load_depmap, load_network, load_signatures, load_singlecell
from core.datasets.cell_annotations import cell_grouping, cell_table
from core.datasets.scverse import read_singlecell_file
from core.errors import InputError

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
GOOD = Path(__file__).resolve().parent / "fixtures" / "depmap" / "current"
GOOD_EFFECT = GOOD / "CRISPRGeneEffect.csv"
GOOD_EXPRESSION = GOOD / "OmicsExpressionProteinCodingGenesTPMLogp1.csv"
GOOD_MODELS = GOOD / "Model.csv"
NOT_DATA = {"make_corpus.py", "__init__.py", "MANIFEST.csv", "README.md"}

LOADERS = {
    "depmap_effect": lambda p: load_depmap(p, GOOD_EXPRESSION, GOOD_MODELS),
    "depmap_expression": lambda p: load_depmap(GOOD_EFFECT, p, GOOD_MODELS),
    "depmap_models": lambda p: load_depmap(GOOD_EFFECT, GOOD_EXPRESSION, p),
    "singlecell": load_singlecell,
    "singlecell_grouping": lambda p: cell_grouping(cell_table(read_singlecell_file(p))[0], "clone", p.name),
    "decode": load_decode,
    "signatures": load_signatures,
    "network": load_network,
}


def _manifest() -> list[dict[str, str]]:
    with open(CORPUS / "MANIFEST.csv", newline="") as handle:
        return list(csv.DictReader(handle))


MANIFEST = _manifest()


def test_manifest_covers_the_corpus():
    listed = [row["file"] for row in MANIFEST]
    on_disk = sorted(p.name for p in CORPUS.iterdir() if p.is_file() and p.name not in NOT_DATA)
    assert sorted(listed) == on_disk
    assert len(listed) >= 40
    assert {row["loader"] for row in MANIFEST} == set(LOADERS)
    assert all(row["what_is_wrong"].strip() for row in MANIFEST)


def test_good_partners_load():
    """The pairing fixtures are valid, so a DepMap failure is due to the bad file."""
    data = load_depmap(GOOD_EFFECT, GOOD_EXPRESSION, GOOD_MODELS)
    assert data.effect.shape[0] >= 10


@pytest.mark.parametrize("row", MANIFEST, ids=[row["file"] for row in MANIFEST])
def test_bad_file_raises_input_error_naming_it(row):
    path = CORPUS / row["file"]
    try:
        LOADERS[row["loader"]](path)
    except InputError as error:
        message = str(error)
    except Exception as error:  # pragma: no cover - the failure this test exists to catch
        pytest.fail(f"{row['file']} ({row['what_is_wrong']}): {type(error).__name__} escaped instead of "
                    f"InputError: {error}")
    else:
        pytest.fail(f"{row['file']} ({row['what_is_wrong']}) loaded without an error")
    assert row["file"] in message, message
    assert len(message) > 30, message
    assert len(message) < 2000, "messages are shown in an alert: keep them short"
    assert "Traceback" not in message


def test_input_error_is_a_value_error():
    assert issubclass(InputError, ValueError)


def test_disguised_pickle_is_never_unpickled(monkeypatch):
    """Loading the pickle renamed to .npz must not call pickle.load at all."""
    calls = []
    monkeypatch.setattr(pickle, "load", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: calls.append(a))
    with pytest.raises(InputError):
        load_decode(CORPUS / "decode_pickle_disguised.npz")
    with pytest.raises(InputError):
        load_decode(CORPUS / "decode_object_array.npz")
    assert calls == []


def test_committed_corpus_matches_the_generator(tmp_path):
    """make_corpus.py is deterministic and the committed files are its current output."""
    from tests.bad_inputs.make_corpus import main

    rows = main(tmp_path)
    for name, _, _ in rows:
        assert (tmp_path / name).read_bytes() == (CORPUS / name).read_bytes(), f"{name}: rerun make_corpus"
    assert (tmp_path / "MANIFEST.csv").read_bytes() == (CORPUS / "MANIFEST.csv").read_bytes()


# --- the same corpus through the Datasets page's upload callback --------------------------------

UPLOAD_SLOTS = {  # loader -> (dataset kind, role of the bad file, good partner files by role)
    "depmap_effect": ("essentiality", "effect", {"expression": GOOD_EXPRESSION, "models": GOOD_MODELS}),
    "depmap_expression": ("essentiality", "expression", {"effect": GOOD_EFFECT, "models": GOOD_MODELS}),
    "depmap_models": ("essentiality", "models", {"effect": GOOD_EFFECT, "expression": GOOD_EXPRESSION}),
    "singlecell": ("dko", "matrix", {}),
    "decode": ("decode", "bundle", {}),
    "signatures": ("perturbation", "RNAi", {"network": "good network"}),
    "network": ("perturbation", "network", {"RNAi": "good signatures"}),
}


@pytest.fixture(scope="module")
def client():
    """The real Dash app behind a Flask test client (requests go through Dash's dispatcher)."""
    import app as app_module

    with app_module.server.test_client() as test_client:
        assert test_client.get("/datasets").status_code == 200
        yield test_client


def _upload(client, role: str, path: Path) -> dict:
    """POST one file to the Datasets page's upload callback, as the browser does."""
    import base64
    import json

    ids = {name: {"role": role, "type": name} for name in ("ds-staged", "ds-file", "ds-upload")}
    match = lambda t: json.dumps({"role": ["MATCH"], "type": t}, separators=(",", ":"))  # noqa: E731
    body = {
        "output": f"..{match('ds-staged')}.data...{match('ds-file')}.children..",
        "outputs": [{"id": ids["ds-staged"], "property": "data"}, {"id": ids["ds-file"], "property": "children"}],
        "inputs": [{"id": ids["ds-upload"], "property": "contents",
                    "value": "data:application/octet-stream;base64," + base64.b64encode(path.read_bytes()).decode()}],
        "state": [{"id": ids["ds-upload"], "property": "filename", "value": path.name}],
        "changedPropIds": [json.dumps(ids["ds-upload"], separators=(",", ":")) + ".contents"],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.data[:500]
    return response.get_json()["response"]


UPLOADED = [row for row in MANIFEST if row["loader"] in UPLOAD_SLOTS]


@pytest.mark.parametrize("row", UPLOADED, ids=[row["file"] for row in UPLOADED])
def test_bad_file_through_the_upload_callback(row, client, user_files):
    from dashboard.services import datasets as datasets_service

    kind, role, partners = UPLOAD_SLOTS[row["loader"]]
    good = {"good network": user_files["perturbation"]["network"][0],
            "good signatures": user_files["perturbation"]["RNAi"][0]}
    staged = {}
    for slot, path in [(role, CORPUS / row["file"]), *partners.items()]:
        path = good.get(path, path)
        response = _upload(client, slot, Path(path))
        staged[slot] = response[json_id("ds-staged", slot)]["data"]
    before = sorted(datasets_service.services.registry().root.rglob("entry.json"))
    entry, report, created = datasets_service.register(kind, "bad upload", staged, {})
    errors = " ".join(text for level, text in report.checks if level == "error")
    assert entry is None and not created, f"{row['file']} was registered"
    assert row["file"] in errors, errors
    assert "Traceback" not in errors
    assert sorted(datasets_service.services.registry().root.rglob("entry.json")) == before
    assert client.get("/datasets").status_code == 200  # the app keeps serving


def json_id(kind: str, role: str) -> str:
    import json

    return json.dumps({"role": role, "type": kind}, separators=(",", ":"))


def test_annotation_with_too_many_values_registers_as_text_not_colours(client, user_files):
    """The file itself is fine: it registers, the report says the column is kept as text, and the DKO page
    offers only the other annotation for grouping (asking for the text one is refused, see the corpus test)."""
    from core.datasets.cell_annotations import cell_groupings, text_annotations
    from dashboard import services
    from dashboard.services import datasets as datasets_service

    response = _upload(client, "matrix", CORPUS / "singlecell_obs_5000_categories.h5ad")
    staged = {"matrix": response[json_id("ds-staged", "matrix")]["data"]}
    entry, report, created = datasets_service.register("dko", "many clones", staged, {})
    assert entry is not None, report.checks
    warnings = " ".join(text for level, text in report.checks if level == "warning")
    assert "'clone' has 5,000 different values" in warnings and "kept as text" in warnings
    cells = services.registry().load("dko", entry.ident).cells
    assert list(cell_groupings(cells)) == ["cell_type"]
    assert text_annotations(cells)["clone"].nunique() == 5000
