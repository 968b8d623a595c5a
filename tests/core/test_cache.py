"""The artifact store: round trips, keys, atomicity and corruption handling."""

import numpy as np
import pandas as pd

from core.cache import ArtifactStore, make_key


def test_round_trip(tmp_path):
    store = ArtifactStore(tmp_path)
    frame = pd.DataFrame({"gene": ["A", "B"], "r": [0.5, -0.25]})
    key = make_key("test.ns", "hash1", {"a": 1})
    store.put(key, {"table": frame, "matrix": np.arange(6.0).reshape(2, 3), "meta": {"n": 2}})
    got = store.get(key)
    pd.testing.assert_frame_equal(got["table"], frame)
    assert np.array_equal(got["matrix"], np.arange(6.0).reshape(2, 3))
    assert got["meta"] == {"n": 2}


def test_keys_depend_on_data_params_and_code():
    base = make_key("ns", "h", {"a": 1, "b": 2})
    assert base == make_key("ns", "h", {"b": 2, "a": 1})
    assert base != make_key("ns", "h2", {"a": 1, "b": 2})
    assert base != make_key("ns", "h", {"a": 1, "b": 3})
    assert base != make_key("ns", "h", {"a": 1, "b": 2}, code_version="2")


def test_corrupted_entry_is_discarded_and_recomputed(tmp_path):
    store = ArtifactStore(tmp_path)
    key = make_key("ns", "h", {})
    store.put(key, {"table": pd.DataFrame({"x": [1.0, 2.0]})})
    part = next((tmp_path / key).glob("*.parquet"))
    part.write_bytes(part.read_bytes()[:-10] + b"0123456789")
    assert store.get(key) is None
    assert not (tmp_path / key).exists()
    calls = []
    payload = store.get_or_compute(key, lambda: calls.append(1) or {"table": pd.DataFrame({"x": [3.0]})})
    assert calls == [1] and payload["table"]["x"].tolist() == [3.0]


def test_leftover_temp_folder_is_ignored(tmp_path):
    store = ArtifactStore(tmp_path)
    key = make_key("ns", "h", {"k": 1})
    (tmp_path / "ns" / ".tmp-crashed").mkdir(parents=True)
    assert store.get(key) is None
    store.put(key, {"v": [1, 2]})
    assert store.get(key) == {"v": [1, 2]}


def test_no_pickle_on_disk(tmp_path):
    store = ArtifactStore(tmp_path)
    key = make_key("ns", "h", {})
    store.put(key, {"a": np.array([1, 2, 3])})
    raw = next((tmp_path / key).glob("*.npy")).read_bytes()
    assert b"pickle" not in raw.lower()
    assert np.load(next((tmp_path / key).glob("*.npy")), allow_pickle=False).tolist() == [1, 2, 3]


def test_fallback_folders_are_read_never_written(tmp_path):
    prebuilt = ArtifactStore(tmp_path / "prebuilt")
    key = make_key("demo.result", "hash", {"a": 1})
    prebuilt.put(key, {"table": pd.DataFrame({"x": [1.0, 2.0]}), "meta": {"n": 2}})
    cache = ArtifactStore(tmp_path / "cache", fallbacks=[tmp_path / "prebuilt"])
    assert cache.get(key)["meta"] == {"n": 2} and key in cache
    assert not (tmp_path / "cache").exists()  # reading wrote nothing
    cache.put(key, {"meta": {"n": 3}})
    assert cache.get(key)["meta"] == {"n": 3} and prebuilt.get(key)["meta"] == {"n": 2}
    # a damaged fallback entry is skipped, not deleted
    other = make_key("demo.result", "hash", {"a": 2})
    prebuilt.put(other, {"table": pd.DataFrame({"x": [1.0]})})
    part = next((tmp_path / "prebuilt").glob("demo.result/*/part0.parquet"))
    for path in (tmp_path / "prebuilt").rglob("part0.parquet"):
        path.write_bytes(b"garbage")
    assert cache.get(other) is None and part.exists()


def test_memory_keeps_recent_payloads_within_its_budget(tmp_path):
    store = ArtifactStore(tmp_path, memory_bytes=10_000)
    small, big = make_key("m", "h", {"n": 1}), make_key("m", "h", {"n": 2})
    store.put(small, {"table": pd.DataFrame({"x": np.arange(100.0)})})
    store.put(big, {"table": pd.DataFrame({"x": np.arange(5000.0)})})  # 40 kB: read from disk every time
    assert store.get(small) is not None and store.get(big) is not None
    for part in tmp_path.rglob("*.parquet"):
        part.unlink()
    assert store.get(small)["table"]["x"].sum() == np.arange(100.0).sum()  # served from memory
    assert store.get(big) is None  # not remembered: the damaged entry is found and discarded
    store.put(small, {"meta": {"changed": True}})  # a write replaces the remembered payload
    assert store.get(small) == {"meta": {"changed": True}}
