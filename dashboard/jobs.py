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
        return CeleryManager(celery_app)
    folder = get_settings().cache_dir / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    cache_class, manager_class = _fork_safe_classes(DiskcacheManager)
    return manager_class(cache_class(str(folder)))


def _fork_safe_classes(manager_base):
    """A job cache and manager that never fork while another thread is inside SQLite.

    Dash forks a process per job. A fork taken while another server thread holds
    SQLite's lock (polling the job queue) leaves the child with a lock nobody will
    release: its first cache call hangs for ever. So every cache call takes one
    process-wide lock, and the fork happens while holding it.
    """
    import contextlib
    import threading

    import diskcache

    lock = threading.RLock()

    def locked(method):
        def call(self, *args, **kwargs):
            with lock:
                return method(self, *args, **kwargs)
        return call

    class LockedCache(diskcache.Cache):
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
