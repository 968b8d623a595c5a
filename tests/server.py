"""`python app.py` on a free loopback port, for tests and benchmarks that need a real server."""

from __future__ import annotations

import contextlib
import os
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
        "--threads", "8"]
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
    """Terminate the server, and kill it if it does not exit within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def running_server(cache_dir: str | Path, log_path: str | Path, **options) -> Iterator[str]:
    """:func:`start_server` for the duration of a block; yields the base URL."""
    proc, url = start_server(cache_dir, log_path, **options)
    try:
        yield url
    finally:
        stop_server(proc)
