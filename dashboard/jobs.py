"""The background-callback manager: Diskcache by default, Celery with REDIS_URL.

With ``REDIS_URL`` set, jobs go to a Celery worker (see README: run
``celery -A app:celery_app worker``); otherwise each job runs in a separate
local process and its progress and result pass through a diskcache folder.

A Celery worker can die mid-job (SIGKILL, out of memory, its machine gone).
Celery then leaves the task "started" for ever, and the page would poll it for
ever. So a worker writes a heartbeat key for each job it runs, and the manager
reports a started job without a heartbeat as lost: the page says so and can run
it again. Lost jobs are not re-delivered (no ``task_acks_late``): a job that
killed its worker (out of memory) would kill the next one too, Redis re-delivers
only after its visibility timeout (an hour), long after the page gave up, and a
re-run is cheap since finished results are in the artifact store.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sys
import threading
import time

from core.config import get_settings

HEARTBEAT_SECONDS = 2
HEARTBEAT_TTL = 10  # a running job whose worker wrote no heartbeat for this long is lost
LOST_JOB = "perturbscope: the worker running this job stopped"


def make_background_manager():
    """Build the manager for ``dash.Dash(background_callback_manager=...)``."""
    from dash import CeleryManager, DiskcacheManager

    redis_url = os.environ.get("REDIS_URL", "").strip()
    if redis_url:
        celery_app = make_celery(redis_url)
        return _watched(_one_key_per_job(CeleryManager))(celery_app)
    folder = get_settings().cache_dir / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    cache_class, manager_class = _fork_safe_classes(_one_key_per_job(DiskcacheManager), folder / "sqlite.lock")
    return manager_class(cache_class(str(folder)))


def _one_key_per_job(manager_base):
    """A manager whose every job has its own key.

    Dash keys a job by the callback's source and arguments. Two clients (or two
    panels sharing one callback body) starting the same job at once would share
    one key, and the first to poll would take the other's progress and result
    (they are deleted once read). Results are cached by ``core.cache``, not here.
    """
    import uuid

    class OneKeyPerJob(manager_base):
        def build_cache_key(self, fn, args, cache_args_to_ignore, triggered):
            return f"{super().build_cache_key(fn, args, cache_args_to_ignore, triggered)}-{uuid.uuid4().hex}"

    return OneKeyPerJob


class _ProcessesLock:
    """A re-entrant lock held by one thread of one process at a time: an RLock plus ``lockf`` on a file.

    The file lock excludes the other processes sharing the job store: gunicorn's
    workers and the job processes forked from them. A forked child inherits the
    RLock as held by its only thread, but not the file lock (POSIX locks belong
    to a process), so it counts its own depth and takes the file lock itself.
    """

    def __init__(self, path):
        self._path = path
        self._rlock = threading.RLock()
        self._depth: dict[int, int] = {}  # per process id
        self._fd: dict[int, int] = {}  # never closed: closing any descriptor drops the process's lock

    def __enter__(self):
        self._rlock.acquire()
        pid = os.getpid()
        if not self._depth.get(pid):
            if pid not in self._fd:
                self._fd[pid] = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.lockf(self._fd[pid], fcntl.LOCK_EX)
        self._depth[pid] = self._depth.get(pid, 0) + 1
        return self

    def __exit__(self, *exc_info):
        pid = os.getpid()
        self._depth[pid] -= 1
        if not self._depth[pid]:
            fcntl.lockf(self._fd[pid], fcntl.LOCK_UN)
        self._rlock.release()


#: Connections a forked job process inherited from its parent: kept, never used nor closed there.
_INHERITED: list = []


def _fork_safe_classes(manager_base, lock_path):
    """A job cache and manager that never fork while another thread or process is inside SQLite.

    Dash forks a process per job. A fork taken while another server thread is
    inside SQLite leaves the child with SQLite's internal mutexes held by nobody:
    its first cache call hangs for ever. So all SQLite work of the job cache
    happens under one lock, and the fork happens while holding it. The lock spans
    processes (see `_ProcessesLock`): gunicorn's workers and their jobs share the store.

    Each process has one connection, shared by its threads, as every use is under
    the lock. diskcache's default, a connection per thread, means a new one per
    request under Dash's development server (a thread per request), closed
    whenever the dead thread is collected, perhaps during a fork. Opening and
    closing one per call instead cost 10-13 ms a call on a loaded machine (0.2-2 ms
    on an open connection): under gunicorn, nine jobs and their clients' polls
    then queued on the store for minutes.
    """
    import contextlib
    import sqlite3

    import diskcache

    lock = _ProcessesLock(lock_path)

    def locked(method):
        def call(self, *args, **kwargs):
            with lock:
                return method(self, *args, **kwargs)
        return call

    class LockedCache(diskcache.Cache):
        @property
        def _con(self):
            shared = self.__dict__.get("_shared")
            if shared is None or shared[0] != os.getpid():
                if shared is not None:
                    _INHERITED.append(shared[1])
                con = sqlite3.connect(os.path.join(self._directory, diskcache.core.DBNAME), timeout=self._timeout,
                                      isolation_level=None, check_same_thread=False)
                self._shared = (os.getpid(), con)
                try:
                    settings = con.execute("SELECT key, value FROM Settings").fetchall()
                except sqlite3.OperationalError:  # a new store: diskcache's constructor creates the table
                    settings = []
                for key, value in settings:
                    if key.startswith("sqlite_"):
                        self.reset(key, value, update=False)  # per-connection pragmas, as diskcache does
            return self._shared[1]

        def close(self):
            with lock:
                shared = self.__dict__.pop("_shared", None)
                if shared is not None and shared[0] == os.getpid():
                    shared[1].close()

        @contextlib.contextmanager
        def transact(self, retry=False):
            with lock, super().transact(retry):
                yield

    for name in ("get", "set", "add", "delete", "touch", "pop", "incr", "__getitem__", "__setitem__",
                 "__delitem__", "__contains__"):
        setattr(LockedCache, name, locked(getattr(diskcache.Cache, name)))

    class ForkSafeManager(manager_base):
        def call_job_fn(self, key, job_fn, args, context):
            with lock:
                return super().call_job_fn(key, job_fn, args, context)

    return LockedCache, ForkSafeManager


def make_celery(redis_url: str):
    """A Celery app using Redis as broker and result backend, whose workers send job heartbeats."""
    from celery import Celery

    app = Celery("perturbscope", broker=redis_url, backend=redis_url)
    # "started" tells a job that a worker took (and must keep beating) from one still queued
    app.conf.update(task_track_started=True, task_acks_late=False, worker_prefetch_multiplier=1)
    _beat_while_running(app)
    return app


def heartbeat_key(job: str) -> str:
    return f"perturbscope-job-alive-{job}"


def _beat_while_running(celery_app) -> None:
    """In a worker: keep a job's heartbeat key alive from the moment it starts until it ends."""
    import threading

    from celery.signals import task_postrun, task_prerun

    running: dict[str, threading.Event] = {}

    def beat(key: str, done: threading.Event) -> None:
        client = celery_app.backend.client
        while not done.wait(HEARTBEAT_SECONDS):
            try:
                client.set(key, "1", ex=HEARTBEAT_TTL)
            except Exception:  # noqa: BLE001  (Redis away for a moment: the next beat retries)
                continue
        client.delete(key)

    def started(task_id=None, **_):
        celery_app.backend.client.set(heartbeat_key(task_id), "1", ex=HEARTBEAT_TTL)  # before "started" is stored
        running[task_id] = threading.Event()
        threading.Thread(target=beat, args=(heartbeat_key(task_id), running[task_id]), daemon=True).start()

    def ended(task_id=None, **_):
        done = running.pop(task_id, None)
        if done is not None:
            done.set()

    task_prerun.connect(started, weak=False)
    task_postrun.connect(ended, weak=False)


def _watched(manager_base):
    """A Celery manager that reports a job whose worker died as lost (see the module's docstring)."""

    class Watched(manager_base):
        def job_lost(self, job) -> bool:
            task = self.get_task(job)
            if task is None:
                return False
            state = task.state
            # Dash's task catches the callback's own exceptions: a failed task is a dead pool process.
            return state == "FAILURE" or (
                state == "STARTED" and not self.handle.backend.client.exists(heartbeat_key(job)))

        def job_running(self, job):
            return super().job_running(job) and not self.job_lost(job)

        def get_result(self, key, job):
            result = super().get_result(key, job)
            if result is self.UNDEFINED and job is not None and self.job_lost(job):
                return {"background_callback_error": {"msg": LOST_JOB, "tb": ""}}
            return result

    return Watched


def report_lost_job(prefix: str):
    """The ``on_error`` of a job panel's callback: a lost job says so and frees its panel.

    Other errors propagate as without it.
    """
    def handle(error: Exception):
        if LOST_JOB not in str(error):
            raise error
        from dash import set_props

        set_props(f"{prefix}-status", {"children": "Lost."})
        set_props(f"{prefix}-progress", {"value": "0"})
        set_props(f"{prefix}-error", {"children": "The worker running this job stopped before it finished. "
                                                  "Earlier results are kept; run it again."})
        return None

    return handle


# Cancel stops a job through its panel's own request, not only through Dash's. Dash's renderer sends
# its cancel request in its queue of callbacks, which can hold it back until the job has finished
# (1 cancel in 4 to 8 ran to the end and stored its result under gunicorn). So a job records, per
# page load and panel, which job it is, and the page's Cancel button also posts straight to
# CANCEL_PATH (assets/perturbscope.js), which stops the job recorded there.
CANCEL_PATH = "_perturbscope/cancel"


def _running_record(page_token: str, panel: str):
    digest = hashlib.sha256(f"{page_token}\0{panel}".encode()).hexdigest()[:32]
    return get_settings().cache_dir / "jobs" / "running" / digest


def _this_job() -> dict:
    """This job as the manager knows it: the Celery task id on a worker, else the process (pid, start time)."""
    try:
        from celery import current_task
    except ImportError:
        current_task = None
    if current_task and current_task.request.id:
        return {"job": current_task.request.id}
    import psutil

    return {"job": str(os.getpid()), "created": psutil.Process().create_time()}


@contextlib.contextmanager
def running_job(panel: str):
    """Inside a background job: record it as the job of this page load's ``panel`` while it runs.

    Outside a Dash request (a test calling the callback) it records nothing.
    """
    from dash import callback_context

    try:
        page_token = callback_context.args.get("endId")
    except Exception:  # no callback context
        page_token = None
    if not page_token:
        yield
        return
    record, this = _running_record(page_token, panel), _this_job()
    record.parent.mkdir(parents=True, exist_ok=True)
    for old in record.parent.iterdir():  # records of jobs killed before they could remove theirs
        with contextlib.suppress(OSError):
            if time.time() - old.stat().st_mtime > 86_400:
                old.unlink()
    part = record.with_name(f"{record.name}.{os.getpid()}.part")
    part.write_text(json.dumps(this))
    os.replace(part, record)
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(record.read_text()) == this:
                record.unlink()


def cancel_panel_job(manager, secret: bytes, page_token: str, panel: str) -> bool:
    """Stop the job that ``panel`` of the page load ``page_token`` runs; False when there is none.

    ``page_token`` is the signed page-load token Dash gives each page (its
    ``end_id``); a token the server did not sign stops nothing. A recorded
    process that is no longer the job's (its pid reused) is left alone.
    """
    from dash import _callback_signing

    if _callback_signing.unsign(secret, _callback_signing.END_SCOPE, page_token) is None:
        return False
    record = _running_record(page_token, panel)
    try:
        recorded = json.loads(record.read_text())
        record.unlink()
    except (OSError, ValueError):
        return False
    if "created" in recorded:
        import psutil

        try:
            if psutil.Process(int(recorded["job"])).create_time() != recorded["created"]:
                return False
        except psutil.NoSuchProcess:
            return False
    manager.terminate_job(recorded["job"])
    return True


def install_cancel_endpoint(app, manager) -> None:
    """Serve ``POST <prefix>_perturbscope/cancel`` with JSON ``{"endId": page token, "panel": prefix}``."""
    from flask import request

    @app.server.post(app.config.requests_pathname_prefix + CANCEL_PATH)
    def _cancel():
        body = request.get_json(silent=True)
        token, panel = (body.get("endId"), body.get("panel")) if isinstance(body, dict) else (None, None)
        if not (isinstance(token, str) and isinstance(panel, str) and 0 < len(panel) <= 100):
            return {"error": 'send JSON {"endId": the page\'s end_id, "panel": the job panel\'s id prefix}'}, 400
        return {"stopped": cancel_panel_job(manager, app._get_signing_secret(), token, panel)}


# GNU OpenMP (torch's CPU thread pool) is not fork-safe: once the serving process
# has run a multi-threaded torch op, a forked job process that uses torch hangs
# for ever. So the serving process keeps torch single-threaded, and only the
# processes forked from it for jobs get more threads.
_SERVER_PID: int | None = None


def keep_server_single_threaded() -> None:
    """Called once by the serving process before any job is forked."""
    global _SERVER_PID
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    else:  # torch reads this when first imported; importing it here would slow every start by seconds
        os.environ["OMP_NUM_THREADS"] = "1"
    _SERVER_PID = os.getpid()


def use_job_threads() -> None:
    """In a job process forked from the server: use the configured torch threads."""
    if _SERVER_PID is None or os.getpid() == _SERVER_PID:
        return
    threads = get_settings().job_threads
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    else:  # read by torch when a job that needs it imports it; a job that doesn't never pays for the import
        os.environ["OMP_NUM_THREADS"] = str(threads)
