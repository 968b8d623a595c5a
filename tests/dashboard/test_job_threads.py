"""Jobs forked from a server that has used torch must not hang (GNU OpenMP is not fork-safe)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import multiprocess
    {import_torch_before}
    from dashboard import jobs
    jobs.keep_server_single_threaded()
    import torch
    x = torch.randn(1500, 1500)
    for _ in range(3):
        (x @ x).sum()  # what a page callback in the serving process may do

    def job(queue):
        jobs.use_job_threads()
        y = torch.randn(1500, 1500)
        for _ in range(3):
            (y @ y).sum()
        queue.put(torch.get_num_threads())

    queue = multiprocess.Queue()
    child = multiprocess.Process(target=job, args=(queue,))
    child.start()
    child.join(60)
    if child.is_alive():
        child.kill()
        raise SystemExit("the forked job hung")
    print(torch.get_num_threads(), queue.get(timeout=5))
""")


@pytest.mark.parametrize("torch_first", [True, False], ids=["torch-imported-before", "torch-imported-after"])
def test_forked_job_after_torch_in_server_finishes_with_its_own_threads(torch_first):
    env_threads = "2"
    script = SCRIPT.replace("{import_torch_before}", "import torch" if torch_first else "")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PERTURBSCOPE_JOB_THREADS": env_threads})
    assert done.returncode == 0, done.stderr + done.stdout
    server_threads, job_threads = done.stdout.split()
    assert server_threads == "1"
    assert job_threads == env_threads


def test_a_job_importing_torch_itself_gets_the_job_threads():
    """A server that never used torch does not import it for every job (an essentiality screen needs none)."""
    script = textwrap.dedent("""
        import sys
        import multiprocess
        from dashboard import jobs
        jobs.keep_server_single_threaded()

        def job(queue):
            jobs.use_job_threads()
            imported = "torch" in sys.modules
            import torch
            queue.put((imported, torch.get_num_threads()))

        queue = multiprocess.Queue()
        child = multiprocess.Process(target=job, args=(queue,))
        child.start()
        child.join(60)
        print(*queue.get(timeout=5))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PERTURBSCOPE_JOB_THREADS": "2"})
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stdout.split() == ["False", "2"]
