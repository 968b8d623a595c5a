"""Crash safety of the artifact store: SIGKILL mid-write, corruption on disk, restarts.

A writer process fills an :class:`core.cache.ArtifactStore` with large
deterministic payloads and is killed with SIGKILL at random moments; whatever
``get()`` returns afterwards (and while it writes) must be exactly a payload
that was written. Corrupted entries are discarded and recomputed. Finally the
real server and a screening job sharing one cache folder are both killed
mid-job and the server is restarted on that folder.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cache import STALE_TMP_SECONDS, ArtifactStore
from tests.server import start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent
N_KEYS = 6
ARRAY_LEN = 400_000  # 3.2 MB per array: a put takes long enough to be killed inside

# Shared by this module and the writer subprocess: the payload is a pure
# function of (index, version), and records both so a reader can check it.
def key_of(index: int) -> str:
    return f"crash/entry{index:02d}"


def make_payload(index: int, version: int) -> dict:
    rng = np.random.default_rng([index, version])
    frame = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd"))
    frame.index = [f"g{i}" for i in range(200)]
    return {"meta": {"index": index, "version": version}, "frame": frame, "array": rng.normal(size=ARRAY_LEN)}


WRITER_SRC = f"""
import sys
from core.cache import ArtifactStore
from tests.test_crash_safety import key_of, make_payload

store = ArtifactStore(sys.argv[1])
version = int(sys.argv[2])
print("ready", flush=True)
while True:
    for index in range({N_KEYS}):
        store.put(key_of(index), make_payload(index, version))
    version += 1
"""


def _assert_exact(payload, index: int) -> None:
    """``payload`` is exactly what ``make_payload`` wrote for this index."""
    assert set(payload) == {"meta", "frame", "array"}
    assert payload["meta"]["index"] == index
    expected = make_payload(index, payload["meta"]["version"])
    pd.testing.assert_frame_equal(payload["frame"], expected["frame"])
    assert np.array_equal(payload["array"], expected["array"])


def _entry_dirs(root: Path) -> list[Path]:
    return [p for p in (root / "crash").iterdir() if not p.name.startswith(".tmp-")]


def test_sigkill_mid_write_never_serves_a_torn_entry(tmp_path):
    root = tmp_path / "store"
    store = ArtifactStore(root)
    rng = random.Random(7)
    served = 0
    leftovers = 0
    for round_ in range(8):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER_SRC, str(root), str(100 * round_)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        try:
            assert writer.stdout.readline().strip() == "ready"
            deadline = time.monotonic() + rng.uniform(0.1, 0.9)
            while time.monotonic() < deadline:  # read while it writes
                index = rng.randrange(N_KEYS)
                payload = store.get(key_of(index))
                if payload is not None:
                    _assert_exact(payload, index)
                    served += 1
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait()
            writer.stdout.close()
        assert writer.returncode == -signal.SIGKILL
        leftovers += sum(p.name.startswith(".tmp-") for p in (root / "crash").iterdir())
        for index in range(N_KEYS):  # after the crash: exact payload or nothing
            payload = store.get(key_of(index))
            if payload is not None:
                _assert_exact(payload, index)
                served += 1
        # anything still on disk under an entry name is now a complete entry
        for entry in _entry_dirs(root):
            assert (entry / "manifest.json").is_file()
    assert served > 0, "the writer never completed an entry: the test checked nothing"
    # killed temporaries are never read as entries, whatever their number
    print(f"served {served} exact payloads; {leftovers} killed temporary folders seen")


def _corrupt_entries(store: ArtifactStore) -> dict[int, str]:
    """Write one entry per index and damage most of them in a different way."""
    for index in range(N_KEYS):
        store.put(key_of(index), make_payload(index, 1))
    folder = store.root / "crash"

    def part(index: int, suffix: str) -> Path:
        return next((folder / f"entry{index:02d}").glob(f"*{suffix}"))

    def flip(path: Path, offset: int) -> None:
        raw = bytearray(path.read_bytes())
        raw[offset % len(raw)] ^= 0x01
        path.write_bytes(bytes(raw))

    damage = {}
    flip(part(0, ".npy"), 5000)
    damage[0] = "one bit flipped in the array"
    flip(part(1, ".parquet"), 100)
    damage[1] = "one bit flipped in the frame"
    with open(part(2, ".npy"), "r+b") as handle:
        handle.truncate(1000)
    damage[2] = "array truncated"
    part(3, ".parquet").unlink()
    damage[3] = "frame file missing"
    manifest = folder / "entry04" / "manifest.json"
    text = manifest.read_text()
    assert '"version": 1' in text
    manifest.write_text(text.replace('"version": 1', '"version": 3'))  # still valid JSON
    damage[4] = "a JSON value changed in the manifest"
    # entry05 stays intact
    return damage


def test_corrupted_entries_are_discarded_and_recomputed(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    damage = _corrupt_entries(store)
    for index, what in damage.items():
        assert store.get(key_of(index)) is None, f"served an entry with {what}"
        assert not (store.root / "crash" / f"entry{index:02d}").exists(), f"kept an entry with {what}"
    _assert_exact(store.get(key_of(5)), 5)

    calls = []

    def compute_for(index):
        def compute():
            calls.append(index)
            return make_payload(index, 2)
        return compute

    for index in range(N_KEYS):
        _assert_exact(store.get_or_compute(key_of(index), compute_for(index)), index)
    assert sorted(calls) == sorted(damage)  # only the damaged ones were recomputed
    for index in range(N_KEYS):  # and now they are served from disk
        _assert_exact(store.get_or_compute(key_of(index), compute_for(index)), index)
    assert sorted(calls) == sorted(damage)


def test_manifest_damage_is_detected(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    store.put(key_of(0), make_payload(0, 1))
    manifest = store.root / "crash" / "entry00" / "manifest.json"
    for damaged in ("", "{", "[]", '{"parts": {}}', manifest.read_text()[:-3]):
        store.put(key_of(0), make_payload(0, 1))
        manifest.write_text(damaged)
        assert store.get(key_of(0)) is None
    # an entry moved under another key is not served as that key
    store.put(key_of(0), make_payload(0, 1))
    (store.root / "crash" / "entry00").rename(store.root / "crash" / "entry01")
    assert store.get(key_of(1)) is None


def test_states_a_crash_can_leave_are_recovered(tmp_path):
    """Deterministic versions of what SIGKILL can leave behind inside put()."""
    store = ArtifactStore(tmp_path / "store")
    store.put(key_of(0), make_payload(0, 1))
    entry = store.root / "crash" / "entry00"
    # killed before the rename: a temporary folder beside an entry that was never written
    (store.root / "crash" / ".tmp-killed").mkdir()
    (entry / "part1.parquet").replace(store.root / "crash" / ".tmp-killed" / "part1.parquet")
    assert store.get(key_of(0)) is None  # killed while the old entry was being removed
    # killed after the manifest of the old entry was removed: parts without a manifest
    entry.mkdir()
    (entry / "part2.npy").write_bytes(b"partial")
    assert store.get(key_of(0)) is None
    store.put(key_of(0), make_payload(0, 2))  # a later put replaces the debris
    _assert_exact(store.get(key_of(0)), 0)
    assert store.get(key_of(1)) is None  # the temporary folder is never an entry


# --- the real server and a real job, killed and restarted ---------------------------------

JOB_SRC = '''
import sys
from dashboard.services import dataset
from dashboard.services.essentiality import screen

targets = list(dataset("essentiality").effect.columns)
print("ready", flush=True)
for target in targets:
    outcome = screen.run(target=target, n_permutations=int(sys.argv[1]))
    assert outcome.error is None, outcome.error
    print(target, flush=True)
'''


def _manifests(artifacts: Path) -> list[Path]:
    return [m for m in artifacts.rglob("manifest.json") if not any(p.startswith(".tmp-") for p in m.parts)]


@pytest.mark.slow
def test_server_and_job_killed_mid_job_restart_cleanly(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    log_path = tmp_path / "server.log"
    n_permutations = 1000
    server, url = start_server(cache, log_path)
    env = {**os.environ, "PERTURBSCOPE_CACHE_DIR": str(cache)}
    job = subprocess.Popen([sys.executable, "-c", JOB_SRC, str(n_permutations)], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, text=True)
    try:
        assert job.stdout.readline().strip() == "ready"
        finished = [job.stdout.readline().strip() for _ in range(2)]  # two screens stored
        time.sleep(random.Random(3).uniform(0.05, 0.4))  # then kill inside a later one
    finally:
        job.send_signal(signal.SIGKILL)
        server.send_signal(signal.SIGKILL)
        job.wait()
        server.wait()
        job.stdout.close()
    assert job.returncode == -signal.SIGKILL and server.returncode == -signal.SIGKILL
    assert all(finished), "the job process ended before it was killed"

    server, url = start_server(cache, log_path)
    try:
        with urllib.request.urlopen(url + "/", timeout=10) as response:
            assert response.status == 200
        with urllib.request.urlopen(url + "/essentiality", timeout=10) as response:
            assert response.status == 200
    finally:
        stop_server(server)

    artifacts = cache / "artifacts"
    store = ArtifactStore(artifacts)
    manifests = _manifests(artifacts)
    assert len(manifests) >= len(finished)
    tables = {}
    for manifest in manifests:
        key = manifest.parent.relative_to(artifacts).as_posix()
        payload = store.get(key)  # a payload or None, never an exception
        if payload is not None:
            assert isinstance(payload["table"], pd.DataFrame) and len(payload["table"]) > 0
            tables[key] = payload["table"]

    # the screens that finished before the kill are served, and equal a fresh computation
    from dashboard import services
    from dashboard.services.essentiality import screen

    monkeypatch.setenv("PERTURBSCOPE_CACHE_DIR", str(tmp_path / "fresh"))
    for target in finished:
        outcome = screen.run(target=target, n_permutations=n_permutations)
        assert outcome.error is None
        fresh = services.store().get(outcome.key)["table"]
        assert outcome.key in tables, f"the finished screen of {target} was lost"
        pd.testing.assert_frame_equal(tables[outcome.key], fresh)
    json.dumps(sorted(tables))  # keys are plain strings


def test_temporaries_of_killed_writers_are_cleaned_up(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    folder = store.root / "crash"
    folder.mkdir(parents=True)
    stale, live = folder / ".tmp-killed", folder / ".tmp-live"
    for tmp in (stale, live):
        tmp.mkdir()
        (tmp / "part0.npy").write_bytes(b"x" * 100)
    old = time.time() - 2 * STALE_TMP_SECONDS
    os.utime(stale, (old, old))
    store.put(key_of(0), make_payload(0, 1))
    assert not stale.exists()  # a killed writer's debris goes
    assert live.exists()  # a folder a running writer may still be filling stays
    _assert_exact(store.get(key_of(0)), 0)
