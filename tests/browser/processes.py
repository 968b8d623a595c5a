"""The processes behind a test server: which serve requests and which run jobs.

``python app.py`` serves in one process and forks one process per job (Dash's
diskcache manager). gunicorn's master forks the worker processes that serve,
and each forks its jobs in turn. A Celery worker runs jobs in its pool
processes, which it forks at start and again when one is terminated.
A forked process keeps its parent's command line, which is how they are told apart.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import psutil


def _same_command_children(proc: psutil.Process) -> list[psutil.Process]:
    own = proc.cmdline()
    found = []
    for child in proc.children(recursive=False):
        try:
            if child.cmdline() == own and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def serving_processes(url: str) -> list[psutil.Process]:
    """The processes answering requests at ``url``: the ``app.py`` process, or gunicorn's workers.

    Only servers started by this test process are searched; [] when none matches.
    """
    port = url.rsplit(":", 1)[1]
    for proc in psutil.Process().children(recursive=True):
        try:
            command = proc.cmdline()
            if "app.py" in " ".join(command) and proc.environ().get("PORT") == port:
                return [proc]
            if "gunicorn" in command and any(arg.endswith(f":{port}") for arg in command) \
                    and proc.parent().cmdline() != command:  # the master, whose children are the workers
                return _same_command_children(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return []


def live_jobs(serving: list[psutil.Process]) -> list[int]:
    """Job processes forked by the serving processes that are still alive (not zombies)."""
    alive = []
    for proc in serving:
        try:
            alive.extend(job.pid for job in _same_command_children(proc))
        except psutil.NoSuchProcess:
            continue
    return alive


def pool_processes(worker_pid: int) -> list[int]:
    """The pool processes of the Celery worker whose main process is ``worker_pid``."""
    try:
        return [proc.pid for proc in _same_command_children(psutil.Process(worker_pid))]
    except psutil.NoSuchProcess:
        return []


def describe(pids: list[int]) -> list[str]:
    """Pid, state, kernel wait channel and innermost native frames of processes, for failure messages.

    A job process "sleeping waiting in futex_do_wait" whose page still says "Idle." was forked
    while another server thread was inside SQLite (the diskcache job store) and inherited its lock.
    """
    described = []
    for pid in pids:
        try:
            wchan = Path(f"/proc/{pid}/wchan").read_text()
            described.append(f"{pid} {psutil.Process(pid).status()} waiting in {wchan} {_native_stack(pid)}")
        except (psutil.NoSuchProcess, OSError):
            continue
    return described


def _native_stack(pid: int) -> str:
    """The innermost native frames of a process, when gdb is installed: which lock a stuck job waits for."""
    gdb = shutil.which("gdb")
    if gdb is None:
        return ""
    try:
        out = subprocess.run([gdb, "-p", str(pid), "-batch", "-ex", "bt 8"], capture_output=True, text=True,
                             timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    frames = [line.split(" in ", 1)[-1].split(" (")[0] for line in out.splitlines() if line.startswith("#")]
    return "(stack: " + " <- ".join(frames) + ")" if frames else ""
