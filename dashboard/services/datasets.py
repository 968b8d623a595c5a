"""Datasets page services: stage uploaded files, resolve server paths, register.

Uploads arrive as base64 data URLs. Each is decoded once into a private staging
folder and the page keeps only a token (``<folder>/<file name>``) for it, never a
path: a token is resolved inside the staging folder, and a typed server path
inside ``PERTURBSCOPE_IMPORT_DIR``, so no value sent by a browser can make the
server read anything else.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from core.cache import remove_stale
from core.config import get_settings
from core.datasets.registry import Registration, ValidationReport
from core.errors import InputError
from dashboard import security
from dashboard import services
from dashboard.services.dataset_forms import FORMS, SPECS

STAGING_DIR = ".staging"
STAGING_MAX_AGE_S = 24 * 3600


def staging_root() -> Path:
    return get_settings().registry_dir / STAGING_DIR


def safe_filename(filename: str | None) -> str:
    """The last component of a browser-given file name, with only harmless characters."""
    name = re.split(r"[\\/]", filename or "")[-1].strip()
    name = re.sub(r"[^A-Za-z0-9._()+-]", "_", name)[:120].lstrip(".")
    return name or "upload"


def stage_upload(contents: str | None, filename: str | None) -> dict[str, Any]:
    """Decode one ``dcc.Upload`` data URL into the staging folder.

    Returns
    -------
    dict
        ``token`` (to give back to :func:`register`), ``name`` and ``bytes``.

    Raises
    ------
    core.errors.InputError
        Not a base64 data URL, or larger than ``PERTURBSCOPE_MAX_UPLOAD_MB``.
    """
    name = safe_filename(filename)
    header, comma, payload = (contents or "").partition(",")
    if not comma or not header.startswith("data:") or not header.endswith(";base64"):
        raise InputError(f"{name}: the upload did not arrive as a file; try again")
    limit = security.max_upload_bytes()
    if len(payload) // 4 * 3 > limit + 3:
        raise InputError(f"{name}: larger than the upload limit of {limit / 2**20:,.0f} MB. Put the file into the "
                         f"server's data folder and give its path instead, or raise PERTURBSCOPE_MAX_UPLOAD_MB.")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{name}: the upload was damaged on the way (not valid base64); try again") from None
    if len(data) > limit:
        raise InputError(f"{name}: larger than the upload limit of {limit / 2**20:,.0f} MB")
    root = staging_root()
    root.mkdir(parents=True, exist_ok=True)
    remove_stale(root, "*", STAGING_MAX_AGE_S)
    folder = root / uuid.uuid4().hex
    folder.mkdir()
    (folder / name).write_bytes(data)
    return {"token": f"{folder.name}/{name}", "name": name, "bytes": len(data)}


def resolve_inside(root: str | Path, user_path: str) -> Path:
    """Resolve a user-given path so that it cannot leave ``root``.

    Relative paths are taken from ``root``; absolute ones must lie inside it.
    Symbolic links are followed before the check, so a link pointing outside is
    refused too.

    Raises
    ------
    core.errors.InputError
        Empty path, a path outside ``root``, or one that does not exist.
    """
    text = (user_path or "").strip()
    if not text:
        raise InputError("give a path to a file inside the data folder")
    if "\x00" in text:
        raise InputError("the path contains a NUL character")
    base = Path(root).resolve()
    candidate = Path(text).expanduser()
    target = (candidate if candidate.is_absolute() else base / candidate).resolve()
    if not target.is_relative_to(base):
        raise InputError(f"{text}: only paths inside the data folder {base} can be read; copy the file there first")
    if not target.exists():
        raise InputError(f"{text}: no such file or folder inside {base}")
    return target


def staged_path(token: str) -> Path:
    """The staged file of a token (InputError when it is not one)."""
    if not re.fullmatch(r"[0-9a-f]{32}/[A-Za-z0-9._()+-]{1,120}", token or ""):
        raise InputError("an uploaded file reference is not valid; upload the file again")
    try:
        return resolve_inside(staging_root(), token)
    except InputError:
        raise InputError("an uploaded file is no longer on the server (uploads are kept for a day); "
                         "upload it again") from None


def import_dir() -> Path:
    """The server folder whose files users may register by path (``PERTURBSCOPE_IMPORT_DIR``)."""
    return get_settings().import_dir


def server_paths(text: str | None, multiple: bool) -> list[Path]:
    """Paths typed by the user (``;``-separated when several), each inside the import folder."""
    parts = [p.strip() for p in (text or "").split(";") if p.strip()]
    if len(parts) > 1 and not multiple:
        raise InputError("give one path here (several are only allowed for network layers)")
    return [resolve_inside(import_dir(), part) for part in parts]


def collect_files(kind: str, staged: dict[str, list[dict]], typed: dict[str, str]) -> tuple[dict, dict]:
    """role -> paths and role -> names the user knows them by, from uploads and typed paths."""
    if kind not in SPECS:
        raise InputError(f"unknown dataset kind {kind!r}")
    files: dict[str, list[Path]] = {}
    names: dict[str, list[str]] = {}
    for role in SPECS[kind].roles:
        uploads = staged.get(role.key) or []
        paths = [staged_path(item["token"]) for item in uploads]
        labels = [item.get("name") or path.name for item, path in zip(uploads, paths)]
        for path in server_paths(typed.get(role.key), role.multiple):
            paths.append(path)
            labels.append(path.name)
        if len(paths) > 1 and not role.multiple:
            raise InputError(f"{role.label}: give one file, either uploaded or as a path, not both")
        if paths:
            files[role.key], names[role.key] = paths, labels
    return files, names


def register(kind: str, name: str | None, staged: dict[str, list[dict]], typed: dict[str, str],
             progress: Callable[[float, str], None] | None = None, options: dict[str, Any] | None = None
             ) -> tuple[Registration | None, ValidationReport, bool]:
    """Validate and register one dataset from staged uploads and typed paths.

    ``options`` are a single-cell matrix's reading options (matrix, genes,
    n_genes, keep; see :func:`core.datasets.registry.check_dko_options`),
    ignored for other kinds. Returns ``(registration or None, report,
    created)``; a problem with the request itself (name, paths, missing
    uploads, options) comes back as a failed report.
    """
    report = progress or (lambda fraction, message: None)
    try:
        files, names = collect_files(kind, staged, typed)
        report(0.1, "reading and checking the files")
        entry, checked, created = services.registry().register(
            kind, name or "", files, original=names, options=options if kind == "dko" else None)
        if entry is not None and kind == "essentiality":
            from dashboard.services import essentiality

            if essentiality.start_atlas_build(entry.ident):
                checked.add("ok", "the modifier-gene atlas (every target) is being built in the background; "
                                  "its progress shows in the list below and on the atlas page")
        return entry, checked, created
    except InputError as exc:
        failed = ValidationReport(kind)
        failed.add("error", str(exc))
        return None, failed, False


def open_href(entry: Registration) -> str:
    """Where a registration is used: its page with ``?data=<id>``, or the page alone for a library it offers."""
    form = FORMS[entry.kind]
    return f"{form.page}?data={entry.ident}" if form.opens_by_id else form.page


def registrations() -> list[dict[str, Any]]:
    """Registered datasets as table rows (newest first)."""
    rows = []
    for entry in reversed(services.registry().entries()):
        spec = SPECS[entry.kind]
        summary = ", ".join(f"{k}: {v}" for k, v in list(entry.report.get("summary", {}).items())[:3])
        if entry.kind == "essentiality":
            from dashboard.services import essentiality

            summary += f" · {essentiality.atlas_state(entry.ident)}"
        rows.append({"name": entry.name, "kind": spec.label, "summary": summary, "id": entry.ident,
                     "registered": time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.created)),
                     "href": open_href(entry)})
    return rows


def singlecell_matrices(staged: dict[str, list[dict]], typed: dict[str, str]) -> dict[str, Any] | None:
    """The matrices a staged or typed single-cell file offers, for the matrix control.

    Returns
    -------
    dict or None
        ``options`` (dropdown options; matrices DKO cannot use are disabled),
        ``default`` (the key used when none is chosen), ``lines`` (what each
        holds), ``genes`` (in the default matrix) and ``hvg`` (number of genes
        the file flags as highly variable, or None); None when no file is given.

    Raises
    ------
    core.errors.InputError
        An unreadable file (the same message registering would give).
    """
    from core.datasets.scverse import default_matrix, read_singlecell_file

    files, _ = collect_files("dko", staged, typed)
    paths = files.get("matrix") or []
    if not paths:
        return None
    file = read_singlecell_file(paths[0])
    default = default_matrix(file.choices)
    options = [{"label": choice.label + (" (default)" if choice.key == default else ""), "value": choice.key,
                "disabled": not choice.usable} for choice in file.choices]
    hvg = int(file.highly_variable.sum()) if file.highly_variable is not None else None
    return {"options": options, "default": default, "lines": [c.describe() for c in file.choices],
            "genes": len(file.genes), "hvg": hvg}
