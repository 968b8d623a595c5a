"""A crash-safe artifact store for computed results.

Results are keyed by (data hash, parameters, code version) so a repeated
request is served from disk, also after an app restart, and a change of data,
parameters or code never serves a stale result.

An artifact is a small bundle of named parts: pandas DataFrames (stored as
parquet), numpy arrays (``.npy`` without pickle) and JSON-able values. Nothing
is ever pickled. Each bundle is written to a temporary folder and renamed into
place in one step, and carries a manifest of SHA-256 digests (of every part
file, and of the manifest itself with its inline JSON values and its key) that
is checked on every read: a torn or corrupted entry is discarded and
recomputed, never served.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from core import __version__

Payload = dict[str, Any]

_MANIFEST = "manifest.json"
STALE_TMP_SECONDS = 6 * 3600  # no put() takes this long


def hash_files(paths: list[Path] | list[str]) -> str:
    """SHA-256 over the bytes of several files (in the order given).

    Parameters
    ----------
    paths : list of str or Path
        Files, hashed in this order.
    """
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def frames_fingerprint(frames, options: Mapping[str, Any]) -> str:
    """Short digest of DataFrames' labels and values and of JSON-able options (for resumable work folders).

    Parameters
    ----------
    frames : iterable of pandas.DataFrame
        Tables whose labels and values are hashed.
    options : mapping
        JSON-able options hashed with them.
    """
    digest = hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode())
    for frame in frames:
        digest.update(json.dumps([list(map(str, frame.index)), list(map(str, frame.columns))]).encode())
        digest.update(np.ascontiguousarray(frame.to_numpy()).tobytes())
    return digest.hexdigest()[:20]


def make_key(namespace: str, data_hash: str, params: Mapping[str, Any], code_version: str = "") -> str:
    """Stable key for an artifact.

    Parameters
    ----------
    namespace : str
        What kind of result (``"essentiality.screen"``); becomes a folder name.
    data_hash : str
        Content hash of the input data.
    params : mapping
        JSON-able parameters of the computation (key order does not matter).
    code_version : str
        Version of the code producing the result; the package version is
        always included, bump this to invalidate one namespace only.
    """
    blob = json.dumps(
        {"data": data_hash, "params": params, "code": f"{__version__}:{code_version}"},
        sort_keys=True,
        default=str,
    )
    return f"{namespace}/{hashlib.sha256(blob.encode()).hexdigest()[:32]}"


class ArtifactStore:
    """Folder of atomically written, integrity-checked result bundles.

    A key's payload never changes (keys name the data, parameters and code
    version), so a store may keep recently read payloads in memory: a page
    that shows a stored result then skips reading and checking its files.

    Parameters
    ----------
    root : path
        Folder to keep artifacts in (created on demand).
    fallbacks : sequence of path
        Read-only folders of artifacts looked up, in order, when ``root`` lacks
        a key (for example results precomputed with the demo data). They are
        never written to, and a damaged entry there is skipped, not deleted.
    memory_bytes : int
        Keep up to about this many bytes of recently read payloads in memory
        (0: none). Callers must not modify the payloads they get.
    """

    def __init__(self, root: str | Path, fallbacks: tuple[str | Path, ...] | list = (), memory_bytes: int = 0):
        self.root = Path(root)
        self.fallbacks = tuple(Path(f) for f in fallbacks)
        self.memory_bytes = memory_bytes
        self._memory: OrderedDict[str, tuple[Payload, int]] = OrderedDict()
        self._lock = threading.Lock()

    def _path(self, key: str, root: Path | None = None) -> Path:
        parts = key.split("/")
        if any(p in ("", ".", "..") or os.sep in p for p in parts):
            raise ValueError(f"invalid artifact key {key!r}")
        return (root or self.root).joinpath(*parts)

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def get(self, key: str) -> Payload | None:
        """Return the stored payload, or None when absent or corrupted.

        A corrupted entry (missing part, digest mismatch, unreadable file) is
        deleted so that the next :meth:`put` can replace it.
        """
        if self.memory_bytes:
            with self._lock:
                if key in self._memory:
                    self._memory.move_to_end(key)
                    return dict(self._memory[key][0])
        found = self._read(key, self._path(key), discard=True)
        for root in self.fallbacks:
            if found is not None:
                break
            found = self._read(key, self._path(key, root), discard=False)
        if found is not None and self.memory_bytes:
            self._remember(key, found)
        return found

    def _remember(self, key: str, payload: Payload) -> None:
        size = sum(v.memory_usage(index=True).sum() if isinstance(v, pd.DataFrame) else
                   v.nbytes if isinstance(v, np.ndarray) else len(v) if isinstance(v, (str, bytes)) else 0
                   for v in payload.values())
        if size > self.memory_bytes:
            return
        with self._lock:
            self._memory[key] = (payload, int(size))
            while sum(entry[1] for entry in self._memory.values()) > self.memory_bytes:
                self._memory.popitem(last=False)

    @staticmethod
    def _read(key: str, path: Path, discard: bool) -> Payload | None:
        manifest_file = path / _MANIFEST
        if not manifest_file.is_file():
            return None
        try:
            manifest = json.loads(manifest_file.read_text())
            if manifest.get("sha256") != _manifest_digest(manifest) or manifest.get("key") != key:
                raise ValueError("manifest digest or key mismatch")
            payload: Payload = {}
            for name, entry in manifest["parts"].items():
                if entry["kind"] == "json":
                    payload[name] = entry["value"]
                    continue
                raw = (path / entry["file"]).read_bytes()
                if hashlib.sha256(raw).hexdigest() != entry["sha256"]:
                    raise ValueError(f"digest mismatch in {entry['file']}")
                if entry["kind"] == "frame":
                    payload[name] = pd.read_parquet(io.BytesIO(raw))
                else:
                    payload[name] = np.load(io.BytesIO(raw), allow_pickle=False)
            return payload
        except Exception:  # corrupted entry: discard, recompute, never serve
            if discard:
                shutil.rmtree(path, ignore_errors=True)
            return None

    def put(self, key: str, payload: Mapping[str, Any]) -> None:
        """Write a payload atomically (readers see the old entry or the new one)."""
        with self._lock:
            self._memory.pop(key, None)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(path.parent)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent))
        try:
            parts: dict[str, Any] = {}
            for index, (name, value) in enumerate(payload.items()):
                if isinstance(value, pd.Series):
                    value = value.to_frame()
                if isinstance(value, pd.DataFrame):
                    buffer = io.BytesIO()
                    frame = value.copy()
                    frame.columns = [str(c) for c in frame.columns]
                    frame.to_parquet(buffer)
                    kind, filename = "frame", f"part{index}.parquet"
                elif isinstance(value, np.ndarray):
                    buffer = io.BytesIO()
                    np.save(buffer, value, allow_pickle=False)
                    kind, filename = "array", f"part{index}.npy"
                else:
                    json.dumps(value)  # fail early on values JSON cannot hold
                    parts[name] = {"kind": "json", "value": value}
                    continue
                raw = buffer.getvalue()
                _write_synced(tmp / filename, raw)
                parts[name] = {"kind": kind, "file": filename, "sha256": hashlib.sha256(raw).hexdigest()}
            manifest = {"key": key, "parts": parts}
            manifest["sha256"] = _manifest_digest(manifest)
            _write_synced(tmp / _MANIFEST, json.dumps(manifest).encode())
            if path.exists():
                shutil.rmtree(path, ignore_errors=True)
            try:
                os.replace(tmp, path)
            except OSError:
                # another writer won the race; its bundle holds the same result
                if self.get(key) is None:
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def get_or_compute(self, key: str, compute: Callable[[], Mapping[str, Any]]) -> Payload:
        """Return the stored payload, computing and storing it when missing."""
        cached = self.get(key)
        if cached is not None:
            return cached
        payload = dict(compute())
        self.put(key, payload)
        return self.get(key) or payload


def _remove_stale_temporaries(folder: Path, max_age_s: float = STALE_TMP_SECONDS) -> None:
    # a writer killed inside put() leaves its temporary folder behind; one that
    # old cannot belong to a live writer
    remove_stale(folder, ".tmp-*", max_age_s)


def remove_stale(folder: Path, pattern: str, max_age_s: float) -> None:
    """Delete the entries of ``folder`` matching ``pattern`` not modified for ``max_age_s`` seconds.

    Parameters
    ----------
    folder : Path
        Where to look (a missing folder has nothing to delete).
    pattern : str
        A glob pattern (``"*"``: every entry).
    max_age_s : float
        Age in seconds beyond which an entry is deleted.
    """
    now = time.time()
    for entry in Path(folder).glob(pattern):
        try:
            if now - entry.stat().st_mtime > max_age_s:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue


def _manifest_digest(manifest: Mapping[str, Any]) -> str:
    # covers the part digests and the JSON values stored inline in the manifest
    blob = json.dumps({"key": manifest.get("key"), "parts": manifest.get("parts")}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _write_synced(path: Path, raw: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(raw)
        handle.flush()
        os.fsync(handle.fileno())
