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
    """Resolved configuration of one process."""

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


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} must be an integer") from None


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; call it where needed)."""
    data_dir = Path(os.environ.get("PERTURBSCOPE_DATA_DIR") or default_data_dir()).resolve()
    cache_dir = Path(os.environ.get("PERTURBSCOPE_CACHE_DIR") or data_dir / "cache").resolve()
    return Settings(
        data_dir=data_dir,
        cache_dir=cache_dir,
        registry_dir=Path(os.environ.get("PERTURBSCOPE_REGISTRY_DIR") or data_dir / "registry").resolve(),
        import_dir=Path(os.environ.get("PERTURBSCOPE_IMPORT_DIR") or data_dir).resolve(),
        seed=_int_env("PERTURBSCOPE_SEED", 0),
        n_jobs=_int_env("PERTURBSCOPE_N_JOBS", 1),
        job_threads=max(1, _int_env("PERTURBSCOPE_JOB_THREADS", min(2, len(os.sched_getaffinity(0))))),
        dask_scheduler=os.environ.get("PERTURBSCOPE_DASK_SCHEDULER", "").strip() or None,
    )
