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


@contextlib.contextmanager
def running_server(cache_dir: str | Path, log_path: str | Path, *, env: dict[str, str | None] | None = None,
                   workers: int = 0, timeout: float = 90) -> Iterator[str]:
    """The app with its own artifact store, until the block ends; yields the base URL.

    ``env`` adds variables (``None`` removes one). The server is ``python app.py``
    (one process, a thread per request), or with ``workers`` gunicorn with that
    many processes of 8 threads each.
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
    with open(log_path, "w+") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + timeout
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"server exited early:\n{log.read()[-4000:]}")
                try:
                    urllib.request.urlopen(url + "/", timeout=2)
                    break
                except urllib.error.HTTPError:
                    break  # it answers (401 when basic auth is on)
                except OSError:
                    if time.time() > deadline:
                        raise RuntimeError(f"server did not start within {timeout:.0f} s") from None
                    time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
