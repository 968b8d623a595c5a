"""Datasets that users bring: validate, store by content hash, register under a name, load.

The kinds and their file roles are in :mod:`core.datasets.kinds`, the checks in
:mod:`core.datasets.validation`, and the content hash and the typed binary
copies in :mod:`core.datasets.storage`; this module keeps the registry itself.

Files are copied to ``<root>/<kind>/<digest>/`` where ``digest`` is the SHA-256
of the kind, each role and each file's bytes, so registering the same files
twice stores nothing new. Validation is loading: the files go through the same
loaders the pages use, then through minimum-size and plausibility checks, and
the outcome is a :class:`ValidationReport` written for biologists. Nothing is
unpickled; entries are JSON.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.datasets.kinds import KINDS, SPECS, KindSpec, Role
from core.datasets.storage import SCHEMA_FILE, content_digest
from core.datasets.validation import ValidationReport, check_dko_options, validate
from core.errors import InputError

__all__ = ["DatasetRegistry", "KINDS", "KindSpec", "PARSED_DIR", "Registration", "Role", "SPECS",
           "ValidationReport", "check_dko_options", "check_name", "content_digest", "to_page_data", "validate"]

ENTRY_FILE = "entry.json"
PARSED_DIR = "parsed"  # the typed binary copy of a registration's page data
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,59}$")


@dataclass(frozen=True)
class Registration:
    """A stored, registered dataset.

    Attributes
    ----------
    kind, name
        Dataset kind and the user's name for it.
    digest
        SHA-256 over the kind, roles and file contents (hex).
    files
        role -> file names inside the entry's folder.
    original
        role -> the names the files had when they were given.
    options
        How the files were read (single-cell: matrix and gene selection, see
        :func:`check_dko_options`); empty for the defaults.
    created
        Unix time of registration.
    report
        The validation report (JSON form).
    """

    kind: str
    name: str
    digest: str
    files: dict[str, list[str]]
    original: dict[str, list[str]]
    created: float
    report: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def ident(self) -> str:
        """Short id used in URLs and cache keys (first 16 hex digits of the digest)."""
        return self.digest[:16]


# --- names ---------------------------------------------------------------------------------------

def check_name(name: str | None) -> str:
    """A dataset name as typed, validated (letters, digits, space and ``._()+-``; at most 60 characters).

    Parameters
    ----------
    name : str or None
        The name as typed; surrounding spaces are dropped.

    Returns
    -------
    str
        The name.

    Raises
    ------
    InputError
        An empty or unusable name, or ``"demo"``.
    """
    text = (name or "").strip()
    if not text:
        raise InputError("give the dataset a name (for example 'DepMap 24Q4')")
    if not NAME_PATTERN.match(text):
        raise InputError(f"{text[:80]!r} is not a usable name: use at most 60 letters, digits, spaces and . _ ( ) + -, "
                         "starting with a letter or digit")
    if text.lower() == "demo":
        raise InputError("'demo' is the name of the built-in demo dataset; choose another name")
    return text


# --- the registry ---------------------------------------------------------------------------------

def to_page_data(kind: str, loaded: Any, name: str):
    """The dataclass a method page works on, from what :func:`validate` loaded.

    Parameters
    ----------
    kind : str
        The dataset's kind.
    loaded : object
        What :func:`validate` loaded for that kind.
    name : str
        The dataset's name, recorded in the data's ``params["registered"]``.

    Returns
    -------
    object
        The kind's data class (``EssentialityData``, ``DKOData``, ...).
    """
    if kind == "genesets":
        from core.datasets.gene_sets import GeneSetLibrary

        return GeneSetLibrary.from_sets(loaded, name)
    if kind == "essentiality":
        from core.datasets.essentiality_demo import EssentialityData

        return EssentialityData(expression=loaded.expression, effect=loaded.effect, cells=loaded.cells,
                                params={**loaded.params, "registered": name})
    if kind == "dko":
        from core.datasets.dko_demo import DKOData

        return DKOData(expression=loaded.expression, cells=loaded.cells, params={"registered": name, **loaded.info})
    loaded.params = {**loaded.params, "registered": name}
    return loaded


class DatasetRegistry:
    """Registered datasets under one folder (``<data dir>/registry`` in the app).

    Parameters
    ----------
    root
        Folder holding ``<kind>/<digest>/entry.json`` and the stored files.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def entries(self, kind: str | None = None) -> list[Registration]:
        """Registered datasets (of one kind), oldest first; unreadable entries are skipped."""
        found = []
        kinds = [kind] if kind else list(KINDS)
        for k in kinds:
            for entry in sorted((self.root / k).glob(f"*/{ENTRY_FILE}")):
                try:
                    found.append(Registration(**json.loads(entry.read_text())))
                except (OSError, ValueError, TypeError):
                    continue
        return sorted(found, key=lambda r: r.created)

    def find(self, kind: str, ident: str) -> Registration:
        """The registration of ``kind`` whose id (digest prefix) or name is ``ident``."""
        for entry in self.entries(kind):
            if ident in (entry.ident, entry.digest, entry.name):
                return entry
        raise InputError(f"no {SPECS[kind].label if kind in SPECS else kind} dataset {ident!r} is registered")

    def folder(self, entry: Registration) -> Path:
        return self.root / entry.kind / entry.digest

    def paths(self, entry: Registration) -> dict[str, list[Path]]:
        """role -> stored paths of a registration."""
        folder = self.folder(entry)
        return {role: [folder / name for name in names] for role, names in entry.files.items()}

    def register(self, kind: str, name: str, files: dict[str, list[str | Path]],
                 original: dict[str, list[str]] | None = None,
                 options: dict[str, Any] | None = None) -> tuple[Registration | None, ValidationReport, bool]:
        """Validate files and store them under their content hash.

        Parameters
        ----------
        kind
            A key of :data:`SPECS`.
        name
            The name users will pick the dataset by (see :func:`check_name`).
        files
            role -> paths; read, never moved.
        original
            role -> the names the user knows the files by (default: the paths' names).
        options
            How to read the files (single-cell: matrix and genes, see :func:`check_dko_options`).

        Returns
        -------
        (registration, report, created)
            ``registration`` is None when validation failed; ``created`` is False
            when the same files were registered before (nothing is stored then).

        Raises
        ------
        core.errors.InputError
            Unknown kind, unusable name, or a name already used for other files.
        """
        if kind not in SPECS:
            raise InputError(f"unknown dataset kind {kind!r}; choose one of {', '.join(KINDS)}")
        name = check_name(name)
        clean = {role: [Path(p) for p in paths] for role, paths in files.items() if paths}
        missing = [str(p.name) for paths in clean.values() for p in paths if not p.exists()]
        if missing:
            raise InputError(f"file(s) not found: {', '.join(missing)}")
        options = check_dko_options(options) if kind == "dko" else (options or {})
        digest = content_digest(kind, clean, options)
        for entry in self.entries(kind):
            if entry.digest == digest:
                report = ValidationReport.from_json(entry.report)
                report.add("ok", f"these files are already registered as {entry.name!r}; nothing new was stored")
                return entry, report, False
            if entry.name.lower() == name.lower():
                raise InputError(f"the name {name!r} is already used by another {SPECS[kind].label} dataset; "
                                 "choose another name")
        data, report = validate(kind, clean, options)
        if data is None or not report.ok:
            return None, report, False
        entry = self._store(kind, name, digest, clean, original, report, to_page_data(kind, data, name), options)
        return entry, report, True

    def _store(self, kind, name, digest, files, original, report, parsed=None, options=None) -> Registration:
        final = self.root / kind / digest
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{digest[:8]}-{uuid.uuid4().hex[:6]}-", dir=final.parent))
        stored: dict[str, list[str]] = {}
        try:
            for role, paths in files.items():
                stored[role] = []
                for i, path in enumerate(paths):
                    suffix = "".join(s for s in path.suffixes[-2:] if re.fullmatch(r"\.[A-Za-z0-9]{1,6}", s))
                    target = f"{role}_{i}{suffix.lower()}"
                    if path.is_dir():
                        shutil.copytree(path, staging / target)
                    else:
                        shutil.copyfile(path, staging / target)
                    stored[role].append(target)
            if parsed is not None:
                # parsed once, read fast: typed binary files beside the originals (see load)
                parsed.save(staging / PARSED_DIR)
            entry = Registration(kind=kind, name=name, digest=digest, files=stored,
                                 original=original or {r: [p.name for p in ps] for r, ps in files.items()},
                                 created=time.time(), report=report.to_json(), options=options or {})
            (staging / ENTRY_FILE).write_text(json.dumps(asdict(entry), indent=1))
            os.replace(staging, final)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if (final / ENTRY_FILE).is_file():  # a concurrent registration of the same files won
                return Registration(**json.loads((final / ENTRY_FILE).read_text()))
            raise
        return entry

    def load(self, kind: str, ident: str):
        """The page dataclass (EssentialityData, DKOData, DecodeData, PerturbationData, GeneSetLibrary) of a
        registration.

        Read from the typed binary copy made at registration (a full DepMap
        release in about a second); registrations made before such copies
        existed are parsed from their original files, and get one.
        """
        entry = self.find(kind, ident)
        parsed = self.folder(entry) / PARSED_DIR
        if (parsed / SCHEMA_FILE).is_file():
            try:
                return _page_class(kind).load(parsed)
            except (InputError, OSError, ValueError):
                pass  # damaged or from another format: parse the originals again below
        data, report = validate(kind, self.paths(entry), entry.options)
        if data is None:
            problems = "; ".join(text for level, text in report.checks if level == "error")
            raise InputError(f"the stored dataset {entry.name!r} no longer loads: {problems}")
        page_data = to_page_data(kind, data, entry.name)
        _write_parsed(page_data, parsed)
        return page_data


def _page_class(kind: str):
    """The page dataclass of a kind (imported on demand: each pulls in its generator module)."""
    import importlib

    module, name = {"essentiality": ("essentiality_demo", "EssentialityData"), "dko": ("dko_demo", "DKOData"),
                    "decode": ("decode_demo", "DecodeData"),
                    "perturbation": ("perturbation_demo", "PerturbationData"),
                    "genesets": ("gene_sets", "GeneSetLibrary")}[kind]
    return getattr(importlib.import_module(f"core.datasets.{module}"), name)


def _write_parsed(data, folder: Path) -> None:
    """Write the parsed copy of an older registration atomically; a failure only costs speed."""
    staging = folder.parent / f".{PARSED_DIR}-{uuid.uuid4().hex[:8]}"
    try:
        data.save(staging)
        os.replace(staging, folder)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
