"""Build the demo datasets: ``python -m core.datasets.build_demo [--out DIR] [--seed N] [--force]``.

Each kind is generated into ``DIR/<kind>/`` (default ``get_settings().demo_dir``)
with a ``manifest.json`` (seed, generator version, sizes, sha256 of every file).
Existing datasets built with the same seed and generator version are skipped
unless ``--force``. Building happens in a hidden temporary folder next to the
target that is renamed into place at the end, so an interrupted build never
leaves a half-written dataset behind.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from core.datasets import DEMO_KINDS, DEMOS

MANIFEST = "manifest.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sizes(data: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in vars(data).items():
        if hasattr(value, "shape"):
            out[name] = list(value.shape)
        elif isinstance(value, dict) and value and all(hasattr(v, "shape") for v in value.values()):
            out[name] = {k: list(v.shape) for k, v in value.items()}
        elif isinstance(value, list):
            out[name] = len(value)
    return out


def generator_version(kind: str) -> str:
    """Version string of the generator of ``kind`` (bumped when its output changes).

    Parameters
    ----------
    kind : str
        Demo kind (``essentiality``, ``decode``, ``dko``, ``perturbation``).
    """
    module = importlib.import_module(DEMOS[kind][1].__module__)
    return str(module.GENERATOR_VERSION)


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of a built dataset folder, or None if absent or unreadable.

    Parameters
    ----------
    directory : Path
        A built dataset folder.
    """
    try:
        return json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def is_current(directory: Path, kind: str, seed: int) -> bool:
    """True if ``directory`` holds a complete ``kind`` dataset built with ``seed`` by this generator version.

    Parameters
    ----------
    directory : Path
        A built dataset folder.
    kind : str
        Demo kind.
    seed : int
        The seed it should have been built with.
    """
    manifest = read_manifest(directory)
    return bool(manifest) and manifest.get("kind") == kind and manifest.get("seed") == seed and (
        manifest.get("generator_version") == generator_version(kind)
    )


def build_one(kind: str, out: Path, seed: int = 0, force: bool = False) -> tuple[str, float]:
    """Build one demo dataset into ``out / kind`` atomically.

    Parameters
    ----------
    kind
        One of ``DEMO_KINDS``.
    out
        Parent folder of the dataset folders.
    seed
        Seed passed to the generator.
    force
        Rebuild even if an up-to-date dataset exists.

    Returns
    -------
    (status, seconds)
        ``status`` is ``built`` or ``skipped``.
    """
    target = out / kind
    if not force and is_current(target, kind, seed):
        return "skipped", 0.0
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    tmp = out / f".{kind}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()  # unlike tempfile.mkdtemp, honours the umask (the folder ends up world-readable)
    try:
        data = DEMOS[kind][1](seed=seed)
        data.save(tmp)
        seconds = time.perf_counter() - start
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        manifest = {
            "kind": kind,
            "seed": seed,
            "generator": DEMOS[kind][1].__module__ + "." + DEMOS[kind][1].__name__,
            "generator_version": generator_version(kind),
            "params": data.params,
            "sizes": _sizes(data),
            "seconds": round(seconds, 3),
            "files": {p.relative_to(tmp).as_posix(): _sha256(p) for p in files},
            "simulated": True,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        if target.exists():
            old = out / f".{kind}.old-{uuid.uuid4().hex[:8]}"
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return "built", seconds


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).
    """
    from core.config import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m core.datasets.build_demo", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=settings.demo_dir,
                        help=f"parent folder of the datasets (default {settings.demo_dir})")
    parser.add_argument("--seed", type=int, default=settings.seed, help="generator seed (default %(default)s)")
    parser.add_argument("--force", action="store_true", help="rebuild datasets that already exist")
    parser.add_argument("--kind", action="append", choices=DEMO_KINDS,
                        help="build only this kind (repeatable; default: all)")
    args = parser.parse_args(argv)
    for kind in args.kind or DEMO_KINDS:
        status, seconds = build_one(kind, args.out, seed=args.seed, force=args.force)
        where = args.out / kind
        if status == "built":
            print(f"{kind:<13} built in {seconds:5.1f} s  {_folder_size(where) / 1e6:6.1f} MB  {where}", flush=True)
        else:
            print(f"{kind:<13} up to date (seed {args.seed}), skipped  {where}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
