"""`python app.py` (or gunicorn) on a free loopback port, for tests and benchmarks that need a real server.

Also a private ``redis-server`` and a Celery worker, for the tests of jobs on Celery.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def start_server(cache_dir: str | Path, log_path: str | Path, *, env: dict[str, str | None] | None = None,
                 workers: int = 0, timeout: float = 90) -> tuple[subprocess.Popen, str]:
    """Start the app with its own artifact store and wait until it answers: (process, base URL).

    ``env`` adds variables (``None`` removes one). The server is ``python app.py``
    (one process, a thread per request), or with ``workers`` gunicorn with that
    many processes of 8 threads each. Its output is appended to ``log_path``.
    """
    port = free_port()
    environment = {**os.environ, "PORT": str(port), "HOST": LOOPBACK, "PERTURBSCOPE_CACHE_DIR": str(cache_dir)}
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    url = f"http://{LOOPBACK}:{port}"
    command = [sys.executable, "app.py"] if not workers else [
        sys.executable, "-m", "gunicorn", "app:server", "-b", f"{LOOPBACK}:{port}", "-w", str(workers),
        "--threads", "8",
        # one request per connection: with keep-alive (gunicorn 23 and 27 alike), under nine running jobs a
        # page's request (a job's start, a Cancel) sometimes reached the server about a minute late while its
        # threads were idle; without it, 10 runs of the concurrency scenario in a row passed
        "--keep-alive", "0",
        # the control socket's default path is one per machine, shared by every gunicorn
        "--no-control-socket"]
    with open(log_path, "a") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{Path(log_path).read_text(errors='replace')[-4000:]}")
        try:
            urllib.request.urlopen(url + "/", timeout=2).close()
            return proc, url
        except urllib.error.HTTPError:
            return proc, url  # it answers (401 when basic auth is on)
        except OSError:
            if time.time() > deadline:
                stop_server(proc)
                raise RuntimeError(f"server did not start within {timeout:.0f} s") from None
            time.sleep(0.3)


def stop_server(proc: subprocess.Popen) -> None:
    """Terminate the server (or worker), and kill it if it does not exit within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def redis_server() -> str | None:
    """The ``redis-server`` program (Debian's package), or None."""
    return shutil.which("redis-server") or next(
        (path for path in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if Path(path).exists()), None)


def require_redis_server() -> None:
    """Skip the calling test without ``redis-server``; in CI (``CI=true``), fail it instead."""
    import pytest

    if redis_server() is None:
        message = "redis-server is not installed (make test installs Debian's redis-server)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def start_redis(folder: str | Path, timeout: float = 30) -> tuple[subprocess.Popen, str]:
    """A private, memory-only ``redis-server`` on a free loopback port: (process, ``redis://`` URL)."""
    import redis

    port = free_port()
    proc = subprocess.Popen(
        [redis_server() or "redis-server", "--port", str(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no",
         "--dir", str(folder), "--logfile", str(Path(folder) / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://{LOOPBACK}:{port}/0"
    deadline = time.time() + timeout
    while True:
        try:
            redis.Redis.from_url(url, socket_timeout=1).ping()
            return proc, url
        except redis.exceptions.ConnectionError:
            if proc.poll() is not None or time.time() > deadline:
                stop_server(proc)
                raise RuntimeError(f"redis-server did not start: {(Path(folder) / 'redis.log').read_text()[-2000:]}")
            time.sleep(0.1)


def start_worker(redis_url: str, log_path: str | Path, *, env: dict[str, str], concurrency: int = 2,
                 timeout: float = 120) -> subprocess.Popen:
    """``celery -A app:celery_app worker`` in its own process group, once it says it is ready.

    ``env`` must give the worker the web server's ``PERTURBSCOPE_CACHE_DIR``
    (results pass through it). :func:`kill_worker` ends the whole group.
    """
    log_path = Path(log_path)
    start = log_path.stat().st_size if log_path.exists() else 0
    command = [sys.executable, "-m", "celery", "-A", "app:celery_app", "worker", "--loglevel=INFO",
               f"--concurrency={concurrency}", "--hostname", f"test-{free_port()}@%h"]
    with open(log_path, "a") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env, "REDIS_URL": redis_url},
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + timeout
    while " ready." not in log_path.read_text(errors="replace")[start:]:
        if proc.poll() is not None or time.time() > deadline:
            kill_worker(proc)
            raise RuntimeError(f"celery worker did not start:\n{log_path.read_text(errors='replace')[-4000:]}")
        time.sleep(0.3)
    return proc


def kill_worker(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to a worker started by :func:`start_worker` and its pool processes, and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    proc.wait()


@contextlib.contextmanager
def running_server(cache_dir: str | Path, log_path: str | Path, **options) -> Iterator[str]:
    """:func:`start_server` for the duration of a block; yields the base URL."""
    proc, url = start_server(cache_dir, log_path, **options)
    try:
        yield url
    finally:
        stop_server(proc)
