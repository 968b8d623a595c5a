"""Settings read from the environment, with defaults that work on a fresh clone.

| variable | meaning | default |
|---|---|---|
| ``PERTURBSCOPE_DATA_DIR`` | where demo and uploaded data live | ``<repo>/data`` (installed: ``./data``) |
| ``PERTURBSCOPE_CACHE_DIR`` | artifact store and job cache | ``<data dir>/cache`` |
| ``PERTURBSCOPE_REGISTRY_DIR`` | datasets registered on the Datasets page | ``<data dir>/registry`` |
| ``PERTURBSCOPE_IMPORT_DIR`` | the only folder server-side paths may name | ``<data dir>`` |
| ``PERTURBSCOPE_SEED`` | seed of the demo generators | ``0`` |
| ``PERTURBSCOPE_N_JOBS`` | worker processes for parallel sweeps | ``1`` |
| ``PERTURBSCOPE_JOB_THREADS`` | torch threads inside one background job | ``min(2, CPUs)`` |
| ``PERTURBSCOPE_DASK_SCHEDULER`` | Dask scheduler address (``tcp://host:8786``) for atlas builds | unset: local |
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_data_dir() -> Path:
    """``<repo>/data`` in a checkout (``app.py`` beside ``core/``); ``./data`` when ``core`` is installed.

    An installed package must not write into ``site-packages``, so its data
    live in the working folder unless ``PERTURBSCOPE_DATA_DIR`` says otherwise.
    """
    return REPO_ROOT / "data" if (REPO_ROOT / "app.py").is_file() else Path.cwd() / "data"


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one process.

    Attributes
    ----------
    data_dir, cache_dir, registry_dir, import_dir : Path
        Data root, job cache, registered datasets and the server-side import folder.
    seed : int
        Default seed of the jobs.
    n_jobs, job_threads : int
        Worker processes and threads per job.
    """

    data_dir: Path
    cache_dir: Path
    registry_dir: Path
    import_dir: Path
    seed: int
    n_jobs: int
    job_threads: int
    dask_scheduler: str | None = None

    @property
    def demo_dir(self) -> Path:
        """Folder holding the generated demo datasets."""
        return self.data_dir / "demo"


#: The variables :func:`get_settings` reads.
VARIABLES = ("PERTURBSCOPE_DATA_DIR", "PERTURBSCOPE_CACHE_DIR", "PERTURBSCOPE_REGISTRY_DIR", "PERTURBSCOPE_IMPORT_DIR",
             "PERTURBSCOPE_SEED", "PERTURBSCOPE_N_JOBS", "PERTURBSCOPE_JOB_THREADS", "PERTURBSCOPE_DASK_SCHEDULER")


def _int_env(env: dict[str, str | None], name: str, default: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} must be an integer") from None


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; call it where needed).

    Resolving the folders touches the file system, and every request of the
    app reads the settings: they are resolved once per combination of these
    variables, working folder and CPU count.
    """
    return _settings(tuple(os.environ.get(name) for name in VARIABLES), os.getcwd(), len(os.sched_getaffinity(0)))


@functools.lru_cache(maxsize=32)
def _settings(values: tuple[str | None, ...], cwd: str, cpus: int) -> Settings:
    env = dict(zip(VARIABLES, values))
    data_dir = Path(env["PERTURBSCOPE_DATA_DIR"] or default_data_dir()).resolve()
    cache_dir = Path(env["PERTURBSCOPE_CACHE_DIR"] or data_dir / "cache").resolve()
    return Settings(
        data_dir=data_dir,
        cache_dir=cache_dir,
        registry_dir=Path(env["PERTURBSCOPE_REGISTRY_DIR"] or data_dir / "registry").resolve(),
        import_dir=Path(env["PERTURBSCOPE_IMPORT_DIR"] or data_dir).resolve(),
        seed=_int_env(env, "PERTURBSCOPE_SEED", 0),
        n_jobs=_int_env(env, "PERTURBSCOPE_N_JOBS", 1),
        job_threads=max(1, _int_env(env, "PERTURBSCOPE_JOB_THREADS", min(2, cpus))),
        dask_scheduler=(env["PERTURBSCOPE_DASK_SCHEDULER"] or "").strip() or None,
    )
