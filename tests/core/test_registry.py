"""The dataset registry: validation reports, content-hash storage, names, paths that cannot escape."""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
import pytest

from core.datasets import load_singlecell
from core.datasets.registry import (
    DatasetRegistry, check_name, content_digest,
)
from core.errors import InputError


@pytest.fixture
def reg(tmp_path):
    return DatasetRegistry(tmp_path / "registry")


def _folders(reg, kind):
    return sorted(p.name for p in (reg.root / kind).glob("*") if not p.name.startswith("."))


@pytest.mark.parametrize("kind", ["essentiality", "dko", "decode", "perturbation", "genesets"])
def test_each_kind_registers_once_and_loads_as_page_data(reg, user_files, kind):
    entry, report, created = reg.register(kind, f"My {kind}", user_files[kind])
    assert created and report.ok and entry.kind == kind
    assert all(level != "error" for level, _ in report.checks) and report.summary
    again, report2, created2 = reg.register(kind, "Another name", user_files[kind])
    assert not created2 and again.ident == entry.ident and "already registered" in report2.checks[-1][1]
    assert _folders(reg, kind) == [entry.digest]
    data = reg.load(kind, entry.ident)
    assert data.params["registered"] == f"My {kind}"
    assert getattr(data, "truth", None) is None  # real data carry no planted truth, not an empty stand-in
    assert reg.find(kind, f"My {kind}").digest == entry.digest


def test_gene_set_library_loads_as_the_gmt_reader_gives_it(reg, user_files, tmp_path):
    from core.datasets.gene_sets import load_gmt, write_gmt

    entry, report, created = reg.register("genesets", "Pathways", user_files["genesets"])
    assert created and report.summary["gene sets"] == str(len(load_gmt(user_files["genesets"]["gmt"][0])))
    assert reg.load("genesets", entry.ident).sets == load_gmt(user_files["genesets"]["gmt"][0])
    entrez = write_gmt({"KEGG_A": ["5290", "207", "1956"], "KEGG_B": ["7157", "672", "675"]}, tmp_path / "e.gmt")
    entry, report, _ = reg.register("genesets", "Entrez", {"gmt": [entrez]})
    assert entry is None and "Entrez" in " ".join(text for _, text in report.checks)
    broken = tmp_path / "broken.gmt"
    broken.write_text("SET A only spaces here\n")
    entry, report, _ = reg.register("genesets", "Broken", {"gmt": [broken]})
    assert entry is None and any(level == "error" and "tabs" in text for level, text in report.checks)


def test_loaded_single_cell_data_equal_the_loader(reg, user_files):
    entry, _, _ = reg.register("dko", "cells", user_files["dko"])
    data = reg.load("dko", entry.ident)
    pd.testing.assert_frame_equal(data.expression, load_singlecell(user_files["dko"]["matrix"][0]))
    assert data.keystones is None and data.network is None  # no simulated truth for real cells
    assert set(data.cells["cell_type"]) == {""}


def test_digest_depends_on_bytes_and_roles_not_file_names(tmp_path, user_files):
    src = user_files["dko"]["matrix"][0]
    renamed = tmp_path / "other_name.csv"
    renamed.write_bytes(src.read_bytes())
    assert content_digest("dko", {"matrix": [src]}) == content_digest("dko", {"matrix": [renamed]})
    changed = tmp_path / "changed.csv"
    changed.write_bytes(src.read_bytes().replace(b"\n", b"\n", 1) + b"\n")
    assert content_digest("dko", {"matrix": [src]}) != content_digest("dko", {"matrix": [changed]})
    assert content_digest("dko", {"matrix": [src]}) != content_digest("decode", {"matrix": [src]})


def test_failed_validation_stores_nothing(reg, tmp_path):
    one_cell = tmp_path / "one.csv"
    one_cell.write_text("gene,c1\nA,1\nB,2\n")
    entry, report, created = reg.register("dko", "tiny", {"matrix": [one_cell]})
    assert entry is None and not created and not report.ok
    assert "one.csv" in " ".join(text for _, text in report.checks)
    assert not (reg.root / "dko").exists() or _folders(reg, "dko") == []


def test_missing_required_role_is_named(reg, user_files):
    files = {"effect": user_files["essentiality"]["effect"]}
    entry, report, _ = reg.register("essentiality", "half", files)
    assert entry is None and "expression" in report.checks[-1][1]


def test_names_are_checked_and_unique_per_kind(reg, user_files):
    for bad in ["", "   ", "<script>alert(1)</script>", "x" * 61, "demo", "../up"]:
        with pytest.raises(InputError):
            check_name(bad)
    reg.register("dko", "Cells", user_files["dko"])
    with pytest.raises(InputError, match="already used"):
        reg.register("dko", "cells", user_files["decode"] | {})  # wrong roles never get this far
    assert check_name("  DepMap 24Q4 (public)  ") == "DepMap 24Q4 (public)"


def test_unreadable_entry_is_skipped_and_concurrent_registrations_store_once(reg, user_files):
    results = []
    threads = [threading.Thread(target=lambda: results.append(reg.register("dko", "Cells", user_files["dko"])))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({entry.digest for entry, _, _ in results}) == 1
    assert len(_folders(reg, "dko")) == 1
    broken = reg.root / "dko" / ("f" * 64)
    broken.mkdir()
    (broken / "entry.json").write_text("{not json")
    assert [e.name for e in reg.entries("dko")] == ["Cells"]
    assert json.loads((reg.root / "dko" / results[0][0].digest / "entry.json").read_text())["name"] == "Cells"


def test_real_decode_toy_folder_registers_with_its_own_split(reg):
    from tests.conftest import SHARED_DATA

    folder = SHARED_DATA / "decode_toy"
    if not folder.is_dir():
        pytest.skip("../shared/data/decode_toy is not present")
    entry, report, created = reg.register("decode", "DEcode toy (GTEx)", {"bundle": [folder]})
    assert created, report.checks
    assert any("own gene split" in text for _, text in report.checks)
    data = reg.load("decode", entry.ident)
    assert len(data.genes) == 2742 and set(data.params["split"]) == {"train", "validate", "test"}


def test_registration_keeps_a_typed_copy_that_loads_equal_to_the_originals(user_files, tmp_path):
    import shutil

    from core.datasets.registry import PARSED_DIR, to_page_data, validate

    reg = DatasetRegistry(tmp_path / "registry")
    for kind, files in user_files.items():
        entry, report, created = reg.register(kind, f"typed {kind}", files)
        assert created, report.checks
        parsed = reg.folder(entry) / PARSED_DIR
        assert (parsed / "fields.json").is_file()
        fresh = to_page_data(kind, validate(kind, reg.paths(entry))[0], entry.name)
        _assert_same(reg.load(kind, entry.ident), fresh)
        shutil.rmtree(parsed)  # an older registration: parsed from the originals, and given its copy
        _assert_same(reg.load(kind, entry.ident), fresh)
        assert (parsed / "fields.json").is_file()


def _assert_same(a, b):
    for name, x in vars(a).items():
        y = getattr(b, name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True)
        elif isinstance(x, pd.Series):
            pd.testing.assert_series_equal(x, y, check_exact=True)
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        elif isinstance(x, dict) and x and all(isinstance(v, pd.DataFrame) for v in x.values()):
            assert len(x) == len(y)  # keys may name the user's files (typed copy) or the stored ones
            for u, v in zip(x.values(), y.values()):
                pd.testing.assert_frame_equal(u, v, check_exact=True)
        elif name == "params":  # the typed copy names the files as the user gave them, not as stored
            assert x["registered"] == y["registered"]
        else:
            assert x == y, name
