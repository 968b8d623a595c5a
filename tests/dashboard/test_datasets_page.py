"""Datasets page callbacks and services: staging, limits, tokens, paths, and names shown as text."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import plotly
import pytest

import app  # noqa: F401  (registers pages and callbacks)
from core.errors import InputError
from dashboard.pages import datasets as page
from dashboard.services import datasets as service


def _data_url(payload: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(payload).decode()


def test_layout_has_a_slot_per_role_for_every_kind():
    for kind, spec in service.SPECS.items():
        text = json.dumps(page.layout(kind=kind), cls=plotly.utils.PlotlyJSONEncoder)
        for role in spec.roles:
            assert json.dumps({"type": "ds-upload", "role": role.key})[1:-1].split(",")[0] in text
            assert role.label in text and service.FORMS[kind].hints.get(role.key, "") in text
    assert "DepMap release" in json.dumps(page.layout(kind="<script>"), cls=plotly.utils.PlotlyJSONEncoder)


def test_upload_is_staged_under_a_token_and_a_bad_one_keeps_earlier_files(monkeypatch):
    staged, status = page.upload_files(_data_url(b"gene,c1\nA,1\n"), "../../evil name.csv")
    assert staged[0]["name"] == "evil_name.csv" and "evil_name.csv" in status
    assert service.staged_path(staged[0]["token"]).read_bytes() == b"gene,c1\nA,1\n"
    kept, message = page.upload_files("not a data url", "x.csv")
    assert kept is page.no_update and "did not arrive" in str(message.children)


def test_upload_limit_is_enforced_on_the_decoded_size(monkeypatch):
    monkeypatch.setenv("PERTURBSCOPE_MAX_UPLOAD_MB", "0.001")  # 1,048 bytes
    service.stage_upload(_data_url(b"x" * 1000), "small.csv")
    with pytest.raises(InputError, match="upload limit"):
        service.stage_upload(_data_url(b"x" * 2000), "big.csv")


def test_tampered_tokens_and_paths_are_refused(tmp_path):
    for token in ["../../../etc/passwd", "/etc/passwd", "0" * 32 + "/../../x", "0" * 32 + "/missing.csv", ""]:
        with pytest.raises(InputError):
            service.staged_path(token)
    with pytest.raises(InputError, match="inside the data folder"):
        service.server_paths("/etc/passwd", multiple=False)
    with pytest.raises(InputError, match="one path"):
        service.server_paths("a.csv; b.csv", multiple=False)


def test_register_from_uploads_then_again_is_a_noop(registered, user_files):
    staged = {role: [service.stage_upload(_data_url(p.read_bytes()), p.name) for p in paths]
              for role, paths in user_files["dko"].items()}
    entry, report, created = service.register("dko", "Same cells", staged, {})
    assert entry.ident == registered["dko"] and not created
    assert "already registered as 'My dko data'" in report.checks[-1][1]
    view = json.dumps(page.report_view(report, entry, created), cls=plotly.utils.PlotlyJSONEncoder)
    assert "Already registered" in view and f"/dko?data={entry.ident}" in view


def test_names_and_file_names_are_shown_as_text(registered, tmp_path, monkeypatch, user_files):
    monkeypatch.setenv("PERTURBSCOPE_IMPORT_DIR", str(tmp_path))
    odd = tmp_path / "<img src=x onerror=alert(1)>.csv"
    odd.write_bytes(Path(user_files["dko"]["matrix"][0]).read_bytes().replace(b"\n", b"\n", 1) + b"\n")
    entry, report, created = service.register("dko", "Cells (odd file)", {}, {"matrix": odd.name})
    assert created, report.checks
    assert entry.original["matrix"] == [odd.name]
    cells = [row.children[0].children for row in page.registered_table().children[1:]]
    assert "Cells (odd file)" in cells  # a plain string child: Dash renders it as text, never as HTML
    staged, status = page.upload_files(_data_url(b"a"), "<img src=x onerror=alert(1)>.csv")
    assert isinstance(status, str) and "<" not in status and staged[0]["name"] == "_img_src_x_onerror_alert(1)_.csv"


def test_a_registered_depmap_release_gets_its_atlas_in_the_background(user_files):
    """Registration starts a detached atlas build; its progress and result are visible to every process."""
    import time

    from dashboard.services import essentiality as ess_service

    from dashboard import services

    entry, report, _ = services.registry().register("essentiality", "Background atlas", user_files["essentiality"])
    assert entry is not None, report.checks
    if ess_service.atlas.result(source=entry.ident) is None:
        assert ess_service.start_atlas_build(entry.ident)
        assert not ess_service.start_atlas_build(entry.ident)  # one builder at a time
    deadline = time.time() + 120
    while ess_service.atlas_state(entry.ident) != "atlas built":
        assert time.time() < deadline, ess_service.atlas_state(entry.ident)
        time.sleep(0.5)
    table = ess_service.atlas.result(source=entry.ident)
    assert len(table) == 70 and table["error"].eq("").sum() > 50
    assert any("atlas built" in row["summary"] for row in service.registrations())


def test_a_gene_set_library_registers_from_an_upload_and_links_to_the_enrichment_card(registered, user_files):
    path = user_files["genesets"]["gmt"][0]
    staged = {"gmt": [service.stage_upload("data:application/gzip;base64," + base64.b64encode(path.read_bytes())
                                           .decode(), path.name)]}
    entry, report, created = service.register("genesets", "Same pathways", staged, {})
    assert entry.ident == registered["genesets"] and not created
    row = next(r for r in service.registrations() if r["id"] == entry.ident)
    assert row["kind"] == "Gene-set library (GMT)" and row["href"] == "/essentiality" and "gene sets" in row["summary"]
    view = json.dumps(page.report_view(report, entry, created), cls=plotly.utils.PlotlyJSONEncoder)
    assert '"href": "/essentiality"' in view and "gene-set menu" in view
    text = json.dumps(page.layout(kind="genesets"), cls=plotly.utils.PlotlyJSONEncoder)
    assert "MSigDB" in text and "gene symbols" in text


def test_paths_cannot_leave_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "ok.csv").write_text("x")
    outside = tmp_path / "secret.csv"
    outside.write_text("secret")
    os.symlink(outside, root / "link.csv")
    assert service.resolve_inside(root, "sub/ok.csv") == (root / "sub" / "ok.csv").resolve()
    assert service.resolve_inside(root, str(root / "sub" / "ok.csv")) == (root / "sub" / "ok.csv").resolve()
    for bad in ["../secret.csv", str(outside), "link.csv", "sub/../../secret.csv", "", "a\x00b", "missing.csv"]:
        with pytest.raises(InputError):
            service.resolve_inside(root, bad)
