"""The background-callback manager: Diskcache by default, Celery with REDIS_URL.

With ``REDIS_URL`` set, jobs go to a Celery worker (see README: run
``celery -A app:celery_app worker``); otherwise each job runs in a separate
local process and its progress and result pass through a diskcache folder.
"""

from __future__ import annotations

import os
import sys

from core.config import get_settings


def make_background_manager():
    """Build the manager for ``dash.Dash(background_callback_manager=...)``."""
    from dash import CeleryManager, DiskcacheManager

    redis_url = os.environ.get("REDIS_URL", "").strip()
    if redis_url:
        celery_app = make_celery(redis_url)
        return _one_key_per_job(CeleryManager)(celery_app)
    folder = get_settings().cache_dir / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    cache_class, manager_class = _fork_safe_classes(_one_key_per_job(DiskcacheManager))
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


def _fork_safe_classes(manager_base):
    """A job cache and manager that never fork while another thread is inside SQLite.

    Dash forks a process per job. A fork taken while another server thread holds
    one of SQLite's locks leaves the child with a lock nobody will release: its
    first cache call hangs for ever. So all SQLite work of the job cache happens
    under one process-wide lock, and the fork happens while holding it. That
    includes closing connections: diskcache keeps one per thread, and the server
    runs each request in a new thread, whose connection would otherwise be closed
    (taking SQLite's allocator lock) whenever the dead thread is collected.
    """
    import contextlib
    import threading

    import diskcache

    lock = threading.RLock()
    depth = threading.local()

    @contextlib.contextmanager
    def sqlite_section(cache):
        with lock:
            depth.n = getattr(depth, "n", 0) + 1
            try:
                yield
            finally:
                depth.n -= 1
                if depth.n == 0:
                    cache.close()  # this thread's connection, closed now and under the lock

    def locked(method):
        def call(self, *args, **kwargs):
            with sqlite_section(self):
                return method(self, *args, **kwargs)
        return call

    class LockedCache(diskcache.Cache):
        @contextlib.contextmanager
        def transact(self, retry=False):
            with sqlite_section(self), super().transact(retry):
                yield

    for name in ("get", "set", "add", "delete", "touch", "pop", "incr", "__getitem__", "__setitem__",
                 "__delitem__", "__contains__"):
        setattr(LockedCache, name, locked(getattr(diskcache.Cache, name)))

    class ForkSafeManager(manager_base):
        def __init__(self, cache, *args, **kwargs):
            super().__init__(cache, *args, **kwargs)
            with lock:
                cache.close()  # the connection opened by the constructor

        def call_job_fn(self, key, job_fn, args, context):
            with lock:
                return super().call_job_fn(key, job_fn, args, context)

    return LockedCache, ForkSafeManager


def make_celery(redis_url: str):
    """A Celery app using Redis as broker and result backend."""
    from celery import Celery

    return Celery("perturbscope", broker=redis_url, backend=redis_url)


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
    import torch

    torch.set_num_threads(get_settings().job_threads)
