"""The job manager: two clients starting the same job at once each get their own result."""

from __future__ import annotations

import time

import pytest

from dashboard.jobs import HEARTBEAT_TTL, LOST_JOB, heartbeat_key, make_background_manager
from tests.server import require_redis_server, start_redis, stop_server


def _job(set_progress, n_clicks, gene):
    set_progress([f"working on {gene}"])
    return f"screen of {gene} (click {n_clicks})"


def _wait_for_exit(manager, pid, timeout=30.0):
    deadline = time.monotonic() + timeout
    while manager.job_running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not manager.job_running(pid), "the job process did not finish"


def test_same_job_started_twice_at_once_gives_both_clients_the_result(tmp_path, monkeypatch):
    monkeypatch.setenv("PERTURBSCOPE_CACHE_DIR", str(tmp_path))
    manager = make_background_manager()
    manager.register("job", _job, progress=True)
    args = [1, "RPP25L"]  # what two users on the same page with the same gene send
    keys = [manager.build_cache_key(_job, args, [], None) for _ in range(2)]
    assert keys[0] != keys[1]
    pids = [manager.call_job_fn(key, manager.func_registry["job"], args, {}) for key in keys]
    for pid in pids:
        _wait_for_exit(manager, pid)
    # Each client polls its own key: progress and result are read (and deleted) once per key.
    assert [manager.get_progress(key) for key in keys] == [["working on RPP25L"]] * 2
    assert [manager.get_result(key, None) for key in keys] == ["screen of RPP25L (click 1)"] * 2


def _connection_in_child(cache, seen):
    cache.set("child", 1)
    seen.put((id(cache._con), cache.get("child")))


def test_server_threads_share_one_connection_and_a_forked_job_opens_its_own(tmp_path, monkeypatch):
    """No connection per request thread (each one closed when its dead thread is collected, perhaps during a fork);
    a forked job never uses its parent's."""
    import multiprocessing
    import threading

    monkeypatch.setenv("PERTURBSCOPE_CACHE_DIR", str(tmp_path))
    cache = make_background_manager().handle
    used = []

    def request():
        cache.set("progress", [1, 2])
        with cache.transact():
            cache.delete("progress")
        used.append(id(cache._con))

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(used)) == 1 and getattr(cache._local, "con", None) is None
    context = multiprocessing.get_context("fork")
    seen = context.Queue()
    child = context.Process(target=_connection_in_child, args=(cache, seen))
    child.start()
    child_con, value = seen.get(timeout=30)
    child.join()
    assert value == 1 and cache.get("child") == 1
    assert child_con != used[0]


def _hold(lock, seconds, times):
    with lock:
        times.put(("entered", time.monotonic()))
        time.sleep(seconds)
        times.put(("left", time.monotonic()))


def test_the_job_store_lock_excludes_other_processes_and_forked_children(tmp_path):
    """gunicorn's workers and their job processes share one store: one of them at a time is inside SQLite."""
    import multiprocessing

    from dashboard.jobs import _ProcessesLock

    context = multiprocessing.get_context("fork")
    lock, times = _ProcessesLock(tmp_path / "sqlite.lock"), context.Queue()
    other = context.Process(target=_hold, args=(lock, 0.5, times))  # another worker: not forked under the lock
    other.start()
    assert times.get(timeout=30)[0] == "entered"
    with lock:
        entered = time.monotonic()
    left = dict([times.get(timeout=30)])["left"]
    other.join()
    assert entered >= left
    # A job forked while the parent holds the lock (as Dash's call_job_fn does) waits for the parent to leave.
    with lock:
        child = context.Process(target=_hold, args=(lock, 0, times))
        child.start()
        time.sleep(0.3)
        parent_left = time.monotonic()
    assert times.get(timeout=30)[1] >= parent_left
    child.join()
    assert child.exitcode == 0


@pytest.mark.celery
def test_celery_job_without_heartbeat_is_lost(tmp_path, monkeypatch):
    """The states a worker leaves in Redis, judged by the manager (the browser test kills a real worker)."""
    require_redis_server()
    proc, url = start_redis(tmp_path)
    try:
        monkeypatch.setenv("REDIS_URL", url)
        manager = make_background_manager()
        backend = manager.handle.backend
        backend.store_result("queued", None, "PENDING")
        assert manager.job_running("queued") and manager.get_result("key-queued", "queued") is manager.UNDEFINED
        backend.client.set(heartbeat_key("beating"), "1", ex=HEARTBEAT_TTL)
        backend.store_result("beating", {"pid": 1}, "STARTED")
        assert manager.job_running("beating") and not manager.job_lost("beating")
        backend.store_result("cancelled", None, "REVOKED")
        assert not manager.job_running("cancelled") and not manager.job_lost("cancelled")
        # Started without a heartbeat (the worker was killed), or failed (its pool process died): lost.
        backend.store_result("killed", {"pid": 1}, "STARTED")
        backend.store_result("pool-died", None, "FAILURE")
        for job in ("killed", "pool-died"):
            assert not manager.job_running(job)
            assert manager.get_result(f"key-{job}", job) == {"background_callback_error": {"msg": LOST_JOB, "tb": ""}}
        # A result the job wrote before its worker died is still delivered.
        backend.set("key-killed", '"done"')
        assert manager.get_result("key-killed", "killed") == "done"
    finally:
        stop_server(proc)


def _long_job(set_progress, panel):
    from dashboard.jobs import running_job

    with running_job(panel):
        set_progress(["running"])
        time.sleep(120)
    return "finished"


def test_cancel_stops_the_job_of_that_page_and_panel_only(tmp_path, monkeypatch):
    """The page's direct cancel request stops its panel's job; a forged page token or another panel stops nothing."""
    import dash
    from dash import _callback_signing as signing

    from dashboard.jobs import CANCEL_PATH, install_cancel_endpoint

    monkeypatch.setenv("PERTURBSCOPE_CACHE_DIR", str(tmp_path))
    manager = make_background_manager()
    manager.register("long", _long_job, progress=True)
    app = dash.Dash(__name__)
    app.layout = dash.html.Div()
    install_cancel_endpoint(app, manager)
    client = app.server.test_client()
    token = signing.sign(app._get_signing_secret(), signing.END_SCOPE, "page-load-1")
    key = manager.build_cache_key(_long_job, ["ess-screen"], [], None)
    pid = manager.call_job_fn(key, manager.func_registry["long"], ["ess-screen"], {"args": {"endId": token}})
    deadline = time.monotonic() + 30
    while manager.get_progress(key) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert manager.job_running(pid), "the job did not start"

    def cancel(body):
        return client.post(f"/{CANCEL_PATH}", json=body)

    bad = cancel({"panel": "ess-screen"})
    assert bad.status_code == 400 and "endId" in bad.get_json()["error"]
    forged = token.rsplit("~", 1)[0] + "~" + "0" * 64
    assert cancel({"endId": forged, "panel": "ess-screen"}).get_json() == {"stopped": False}
    assert cancel({"endId": token, "panel": "dko-train"}).get_json() == {"stopped": False}
    assert manager.job_running(pid)
    assert cancel({"endId": token, "panel": "ess-screen"}).get_json() == {"stopped": True}
    _wait_for_exit(manager, pid, timeout=10)
    assert manager.get_result(key, None) is manager.UNDEFINED  # killed before it stored a result
    assert cancel({"endId": token, "panel": "ess-screen"}).get_json() == {"stopped": False}
