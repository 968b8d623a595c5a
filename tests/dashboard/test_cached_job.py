"""The one cached-job abstraction: CachedJob's run/result and the page wiring of register_cached_job."""

from __future__ import annotations

import uuid

import pytest

from dashboard import services
from dashboard.components.job_panel import job_status, register_cached_job
from dashboard.services import CachedJob, InputError


def _job(calls: list, **kwargs) -> CachedJob:
    """A job over the essentiality demo whose computation counts its calls and doubles ``n``."""

    def compute(report, *, source, n):
        calls.append(n)
        if n == 13:
            raise RuntimeError("unlucky")
        report(0.5, "halfway")
        return {"twice": 2 * n}

    def key(n, source):
        if n < 0:
            raise InputError(f"n must be at least 0, got {n}")
        return {"n": n}

    return CachedJob(f"test.{uuid.uuid4().hex}", "essentiality", compute, key_params=key,
                     load=lambda payload, n: payload["twice"], **kwargs)


def test_run_stores_once_and_result_reads_back():
    calls, seen = [], []
    job = _job(calls)
    assert job.result(n=3) is None  # never computes
    outcome = job.run(seen.append, n=3)
    assert outcome.error is None and outcome.key == job.key(n=3)
    assert job.result(n=3) == 6 and calls == [3]
    assert seen[0][2].startswith("starting") and seen[-1][:2] == (100, 100)
    assert job.run(n=3).key == outcome.key and calls == [3]  # stored: not computed again
    assert job.key(n=3) != _job(calls).key(n=3)  # the namespace is part of the key


def test_code_version_and_parameters_identify_a_result():
    calls = []
    job = _job(calls)
    newer = CachedJob(job.namespace, job.kind, job.compute, key_params=job.key_params, load=job.load,
                      code_version="2")
    job.run(n=4)
    assert newer.result(n=4) is None and job.result(n=5) is None and job.result(n=4) == 8


def test_errors_come_back_as_messages():
    calls = []
    job = _job(calls)
    refused = job.run(n=-1)
    assert refused.key is None and refused.error == "n must be at least 0, got -1" and calls == []
    assert job.result(n=-1) is None
    failed = job.run(n=13)
    assert failed.key is None and "RuntimeError: unlucky" in failed.error and "Earlier results are kept" in failed.error
    assert job.result(n=13) is None


def test_registered_callbacks_run_show_stored_and_refuse(monkeypatch):
    import dash

    registered = []
    # record the callbacks instead of adding them to every app the other tests build
    monkeypatch.setattr(dash, "callback", lambda *args, **kwargs: lambda f: registered.append((args, kwargs)) or f)
    calls = []
    job = _job(calls)
    prefix = f"t{uuid.uuid4().hex[:8]}"

    def values(n, source):
        if n is None:
            raise InputError("give n first")
        return {"n": int(n), "source": source}

    run, show_stored = register_cached_job(prefix, f"{prefix}-store", [("n", "value"), ("src", "data")], job,
                                           params=values, fallback=lambda v: {**v, "instant": True})
    assert [kwargs.get("background") for _, kwargs in registered] == [None, True, None]  # cancel, run, show
    assert registered[1][1]["cancel"] and registered[1][1]["progress"]
    assert show_stored(2, services.DEFAULT_DATASET) == {"n": 2, "source": "demo", "instant": True}
    assert show_stored(None, services.DEFAULT_DATASET) is None
    stored, error = run(lambda progress: None, 1, 2, services.DEFAULT_DATASET)
    assert error == "" and stored["n"] == 2 and stored["seconds"] >= 0 and job_status(stored).startswith("Finished")
    assert show_stored(2, services.DEFAULT_DATASET) == {"n": 2, "source": "demo", "cached": True}
    assert job_status({"cached": True}) == "Loaded the stored result."
    _, error = run(lambda progress: None, 1, None, services.DEFAULT_DATASET)
    assert error == "give n first"
    _, error = run(lambda progress: None, 1, 13, services.DEFAULT_DATASET)
    assert "unlucky" in error


@pytest.mark.parametrize("value, expected", [("7", 7), (7.9, 7), (None, 5), ("x", 5), (-3, 0), (10**9, 10),
                                             (float("inf"), 5)])
def test_clamp_int_and_check_int_share_the_limits(value, expected):
    assert services.clamp_int(value, 5, 0, 10) == expected
    if isinstance(value, int) and 0 <= value <= 10:
        assert services.check_int(value, "n", 0, 10) == value
    elif value in (-3, 10**9):
        with pytest.raises(InputError, match="n must be between 0 and 10"):
            services.check_int(value, "n", 0, 10)
