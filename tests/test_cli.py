"""The ``perturbscope`` command (dashboard/cli.py) and the package it is installed with (pyproject.toml)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboard import cli

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {  # subcommand -> words its --help must show (its arguments)
    "serve": ["--host", "--port", "--workers", "gunicorn"],
    "demo": ["--seed", "--force", "--no-prebuild"],
    "register": ["kind", "[ROLE=]PATH", "--name", "--option"],
    "atlas": ["dataset", "--output"],
    "gene": ["gene", "--output", "--format", "json", "csv"],
    "knockouts": ["matrix", "--output", "--steps", "--val-every", "--seed", "--id-base"],
    "export": ["{gene,genes}", "--output", "--format", "--preset"],
    "validate": ["METHOD"],
}
VALIDATE_HELP = {"dko": ["source", "steps"], "decode": ["--data", "--restarts"],
                 "transcriptionnet": ["--data", "--max-epochs"]}


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as stop:
        cli.main([*argv, "--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


def test_top_level_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "dashboard.cli", "--help"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.startswith("usage: perturbscope")
    for command in [*COMMANDS, "validate"]:
        assert f"\n    {command} " in out, command


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_help_describes_its_arguments(capsys, command):
    out = _help(capsys, command)
    assert out.startswith(f"usage: perturbscope {command}")
    for word in COMMANDS[command]:
        assert word in out, (command, word)


@pytest.mark.parametrize("method", sorted(VALIDATE_HELP))
def test_each_validate_command_help(capsys, method):
    out = _help(capsys, "validate", method)
    assert "usage:" in out and ("perturbscope validate dko" in out if method == "dko"
                                else f"python -m core.{method}.validate" in out)
    for word in VALIDATE_HELP[method]:
        assert word in out


def test_bad_input_exits_2_with_the_reason_and_no_traceback(tmp_path):
    run = subprocess.run([sys.executable, "-m", "dashboard.cli", "knockouts", str(tmp_path / "absent.csv"),
                          "-o", str(tmp_path / "out.csv")], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip() == f"error: absent.csv: file not found ({tmp_path / 'absent.csv'})"
    assert not (tmp_path / "out.csv").exists()


def test_unknown_gene_and_bad_roles_exit_2(capsys):
    assert cli.main(["gene", "NOT_A_GENE_XYZ"]) == 2
    assert "NOT_A_GENE_XYZ is in none of the datasets" in capsys.readouterr().err
    assert cli.main(["register", "essentiality", "a.csv", "--name", "x"]) == 2
    assert "ROLE=PATH" in capsys.readouterr().err
    assert cli.main(["register", "dko", "cells=a.csv", "--name", "x"]) == 2
    assert "unknown file role 'cells'" in capsys.readouterr().err


# --- gene -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def card():
    from dashboard.services import gene as gene_service

    return gene_service.gene_card("RPP25L")


def test_gene_json_is_the_service_card(card, tmp_path, capsys):
    out = tmp_path / "rpp25l.json"
    assert cli.main(["gene", "rpp25l", "-o", str(out)]) == 0  # the symbol is corrected as on the page
    assert "Showing RPP25L" in capsys.readouterr().err
    data = json.loads(out.read_text())
    assert data["gene"] == "RPP25L" and data["concordance"] == card.concordance
    assert set(data["sections"]) == set(card.sections)
    for method, section in card.sections.items():
        got = data["sections"][method]
        assert got["available"] == section.available and got["summary"] == section.summary
        assert got["facts"] == dict(section.facts)
        if section.available:
            assert got["headline"] == pytest.approx(section.headline)
    frames = card.frames()
    assert set(data["tables"]) == set(frames)
    name = "essentiality_predictions"
    got = pd.DataFrame(data["tables"][name])
    assert list(got.columns) == list(frames[name].columns) and len(got) == len(frames[name])
    assert np.allclose(got.select_dtypes("number"), frames[name].select_dtypes("number"))


def test_gene_csv_has_every_fact_and_headline(card, tmp_path):
    out = tmp_path / "rpp25l.csv"
    assert cli.main(["gene", "RPP25L", "-o", str(out)]) == 0
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns) == ["gene", "method", "field", "value"] and set(table["gene"]) == {"RPP25L"}
    for method, section in card.sections.items():
        rows = table[table["method"] == method].set_index("field")["value"]
        assert rows["summary"] == section.summary
        for label, value in section.facts:
            assert rows[label] == value
        if section.available:
            assert float(rows["headline"]) == pytest.approx(section.headline)
    assert table.loc[table["field"] == "concordance", "value"].item() == card.concordance


def test_gene_zip_holds_every_table(card, tmp_path):
    out = tmp_path / "card.zip"
    assert cli.main(["gene", "RPP25L", "-o", str(out)]) == 0
    names = set(zipfile.ZipFile(out).namelist())
    assert {f"RPP25L_{name}.csv" for name in card.frames()} | {"provenance.json", "README.txt"} == names


def test_export_views_are_the_pages_figures(card, tmp_path, capsys):
    from dashboard.figures.gene import card_figure

    fig, provenance = cli.view_figure("gene", ["RPP25L"])
    assert fig.to_json() == card_figure(card).to_json() and provenance["gene"] == "RPP25L"
    fig, provenance = cli.view_figure("genes", ["RPP25L", "KRAS", "NOT_A_GENE_XYZ"])
    assert list(fig.data[0].x) == ["RPP25L", "KRAS"] and provenance["params"]["genes"] == ["RPP25L", "KRAS"]
    assert "left out: NOT_A_GENE_XYZ" in capsys.readouterr().err
    assert cli.main(["export", "gene", "RPP25L", "-o", str(tmp_path / "card.jpg")]) == 2
    assert "end it in .png, .svg or .pdf" in capsys.readouterr().err


# --- register -------------------------------------------------------------------------------------

def test_register_prints_the_report_and_the_id(tmp_path, monkeypatch, capsys):
    from core.datasets.registry import DatasetRegistry
    from tests.user_files import singlecell_file

    monkeypatch.setenv("PERTURBSCOPE_REGISTRY_DIR", str(tmp_path / "registry"))
    path = singlecell_file(tmp_path / "in")["matrix"][0]
    assert cli.main(["register", "dko", str(path), "--name", "small cells"]) == 0
    out = capsys.readouterr().out
    entry = DatasetRegistry(tmp_path / "registry").find("dko", "small cells")
    assert out.rstrip().endswith(f"dataset id: {entry.ident}")
    assert "ok       non-negative matrix of 30 genes x 120 cells" in out and "cells: 120" in out
    assert cli.main(["register", "dko", f"matrix={path}", "--name", "small cells"]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"dataset id: {entry.ident} (already registered)")


def test_register_of_invalid_files_prints_the_errors_and_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PERTURBSCOPE_REGISTRY_DIR", str(tmp_path / "registry"))
    bad = tmp_path / "negative.csv"
    pd.DataFrame(-np.ones((30, 40))).to_csv(bad)
    assert cli.main(["register", "dko", str(bad), "--name", "bad"]) in (1, 2)
    captured = capsys.readouterr()
    assert "negative" in captured.out + captured.err
    assert not list((tmp_path / "registry").glob("dko/*/entry.json"))


# --- atlas ----------------------------------------------------------------------------------------

def _register_small_depmap(tmp_path, monkeypatch) -> str:
    from core.datasets.registry import DatasetRegistry
    from tests.user_files import depmap_files

    monkeypatch.setenv("PERTURBSCOPE_REGISTRY_DIR", str(tmp_path / "registry"))
    files = depmap_files(tmp_path / "in")
    assert cli.main(["register", "essentiality", *(f"{role}={paths[0]}" for role, paths in files.items()),
                     "--name", "small depmap"]) == 0
    return DatasetRegistry(tmp_path / "registry").find("essentiality", "small depmap").ident


def test_atlas_of_a_registered_release_by_name(tmp_path, monkeypatch, capsys):
    from dashboard.services import essentiality

    ident = _register_small_depmap(tmp_path, monkeypatch)
    capsys.readouterr()
    assert cli.main(["atlas", "small depmap", "-o", str(tmp_path / "atlas.csv")]) == 0
    captured = capsys.readouterr()
    assert "[##############################]" in captured.err and "100%" in captured.err  # the progress bar
    assert "atlas of small depmap: 70 targets ready" in captured.out
    stored = essentiality.atlas.result(source=ident)  # stored under the id, where the app looks
    written = pd.read_csv(tmp_path / "atlas.csv")
    assert list(written["target"]) == list(stored["target"]) and len(written) == 70
    assert np.allclose(written["test_pearson"], stored["test_pearson"], equal_nan=True)
    assert cli.main(["atlas", "no such release"]) == 2
    assert "no DepMap release dataset 'no such release' is registered" in capsys.readouterr().err


def test_atlas_on_a_dask_cluster_named_by_the_environment(tmp_path, monkeypatch, capsys):
    from distributed import LocalCluster

    _register_small_depmap(tmp_path, monkeypatch)
    monkeypatch.setenv("PERTURBSCOPE_CACHE_DIR", str(tmp_path / "local-cache"))
    assert cli.main(["atlas", "small depmap", "-o", str(tmp_path / "local.csv")]) == 0
    monkeypatch.setenv("PERTURBSCOPE_CACHE_DIR", str(tmp_path / "dask-cache"))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        monkeypatch.setenv("PERTURBSCOPE_DASK_SCHEDULER", cluster.scheduler_address)
        capsys.readouterr()
        assert cli.main(["atlas", "small depmap", "-o", str(tmp_path / "dask.csv")]) == 0
        ran = set(cluster.scheduler.task_prefixes)
    assert "atlas_batch" in ran  # the batches ran there (Dask names a task prefix without its underscore)
    err = capsys.readouterr().err
    assert "targets" in err and "[##############################]" in err  # progress came back batch by batch
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "dask.csv"), pd.read_csv(tmp_path / "local.csv"),
                                  check_exact=True)
    monkeypatch.setenv("PERTURBSCOPE_DASK_SCHEDULER", "tcp://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setattr("core.cluster.CONNECT_TIMEOUT", 2)
    monkeypatch.setenv("PERTURBSCOPE_CACHE_DIR", str(tmp_path / "unreachable"))
    assert cli.main(["atlas", "small depmap"]) != 0
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in capsys.readouterr().err


# --- knockouts ------------------------------------------------------------------------------------

def test_knockouts_on_an_int_labelled_matrix_equal_knockout_impacts(tmp_path):
    """The authors' format: no header, so pandas gives integer labels; ids are 0-based positions as theirs."""
    import torch

    from core.dko import DKO, knockout_impacts

    rng = np.random.default_rng(3)
    values = rng.gamma(2.0, 1.0, size=(12, 60)) * (rng.random((12, 60)) < 0.7)
    values[0, values.sum(axis=0) == 0] = 1.0
    path = tmp_path / "Ptrain.csv"
    pd.DataFrame(values).to_csv(path, header=False, index=False)
    threads = torch.get_num_threads()
    try:
        assert cli.main(["knockouts", str(path), "-o", str(tmp_path / "impacts.csv"), "--steps", "40",
                         "--val-every", "4", "--seed", "1"]) == 0
        P = pd.read_csv(path, header=None)
        assert P.index.dtype.kind == "i"
        expected = knockout_impacts(DKO(n_steps=40, val_every=4, random_state=1).fit(P), P)
    finally:
        torch.set_num_threads(threads)
    got = pd.read_csv(tmp_path / "impacts.csv")
    assert list(got.columns[:3]) == ["gene_id", "cell_id", "k_pred"]  # the authors' Impact_results.csv
    assert len(got) == len(expected) == int((values > 0).sum())
    assert (got["gene_id"].to_numpy() == expected["gene"].astype(int).to_numpy()).all()
    assert (got["cell_id"].to_numpy() == expected["cell"].astype(int).to_numpy()).all()
    assert np.allclose(got["k_pred"], expected["impact"], rtol=1e-6, atol=1e-9)
    assert np.allclose(got["impact_others"], expected["impact_others"], rtol=1e-6, atol=1e-9)


# --- packaging ------------------------------------------------------------------------------------

def _pyproject() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_of_the_tree_is_installed():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for top in ("core", "dashboard")
             for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts}
    assert found <= listed, f"add to pyproject.toml's packages: {sorted(found - listed)}"
    assert _pyproject()["project"]["scripts"]["perturbscope"] == "dashboard.cli:main"


def _copy_tracked_tree(target: Path) -> None:
    """The checkout as a clean clone has it (no data, caches or virtual environment)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to list the tracked files")
def test_install_gives_core_and_the_command_outside_the_checkout(tmp_path):
    """Build the wheel offline and install it into a new virtual environment (no download: --no-index)."""
    tree, wheels, venv, elsewhere = (tmp_path / n for n in ("tree", "wheels", "venv", "elsewhere"))
    for folder in (tree, elsewhere):
        folder.mkdir()
    _copy_tracked_tree(tree)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PERTURBSCOPE_DATA_DIR")}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(wheels), str(tree)],
                   check=True, env=env, capture_output=True)
    wheel = next(wheels.glob("perturbscope-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert {"dashboard/assets/style.css", "dashboard/assets/perturbscope.js", "dashboard/pages/gene.py",
            "core/datasets/published_data/rosenski2023_modifiers.csv.gz"} <= names
    assert "app.py" not in names
    pins = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    assert [line[len("Requires-Dist: "):] for line in metadata.splitlines() if line.startswith("Requires-Dist:")] \
        == [p for p in pins if p]

    # a new environment that sees this one's dependencies (but not the checkout) through a .pth file
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, env=env)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, env=env, capture_output=True, text=True).stdout.strip()
    Path(site, "outer_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
                   check=True, env=env, capture_output=True)

    code = ("import core, dashboard.app_factory as f; from core.dko import DKO; "
            "print(core.__file__); print(f.assets_folder()); "
            "from core.datasets.published import FOLDER; print(FOLDER)")
    lines = subprocess.run([python, "-c", code], cwd=elsewhere, env=env, check=True, capture_output=True,
                           text=True).stdout.splitlines()
    assert all(line.startswith(site) for line in lines), lines
    helped = subprocess.run([venv / "bin" / "perturbscope", "--help"], cwd=elsewhere, env=env, check=True,
                            capture_output=True, text=True).stdout
    assert helped.startswith("usage: perturbscope") and "knockouts" in helped
    settings = subprocess.run([python, "-c", "from core.config import get_settings; print(get_settings().data_dir)"],
                              cwd=elsewhere, env=env, check=True, capture_output=True, text=True).stdout.strip()
    assert settings == str(elsewhere.resolve() / "data")  # installed: data in the working folder
