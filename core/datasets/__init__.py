"""Datasets: seeded demo generators with planted truth, and loaders of real formats.

Every ``make_*`` function is deterministic given its ``seed`` and returns a
dataclass with ``save(directory)`` / ``load(directory)`` and a ``description``
for the UI. :func:`load_demo` reads a demo built by
``python -m core.datasets.build_demo``. The ``load_*`` functions read the
formats users bring (DepMap releases, single-cell matrices, DEcode bundles,
L1000 signatures, network edge lists) and raise :class:`core.errors.InputError`
with a message naming the file and the fix.
"""

from __future__ import annotations

from pathlib import Path

from core.datasets.decode_bundle import load_decode, load_decode_toy, write_decode
from core.datasets.decode_demo import DecodeData, make_decode_demo
from core.datasets.depmap import DepMapData, load_depmap
from core.datasets.dko_demo import DKOData, make_dko_demo, true_knockout_impact
from core.datasets.essentiality_demo import EssentialityData, make_essentiality_demo
from core.datasets.networks import load_network
from core.datasets.perturbation_demo import PerturbationData, make_perturbation_demo
from core.datasets.signatures import load_signatures
from core.datasets.singlecell import load_singlecell
from core.errors import InputError

#: Demo kind -> (dataclass, generator).
DEMOS = {
    "essentiality": (EssentialityData, make_essentiality_demo),
    "decode": (DecodeData, make_decode_demo),
    "dko": (DKOData, make_dko_demo),
    "perturbation": (PerturbationData, make_perturbation_demo),
}
DEMO_KINDS: tuple[str, ...] = tuple(DEMOS)
BUILD_COMMAND = "python -m core.datasets.build_demo"


def load_demo(kind: str, directory: str | Path | None = None):
    """Load a demo dataset built by ``python -m core.datasets.build_demo``.

    Parameters
    ----------
    kind
        One of :data:`DEMO_KINDS`: ``essentiality``, ``decode``, ``dko``, ``perturbation``.
    directory
        Folder of that dataset; default ``get_settings().demo_dir / kind``.

    Returns
    -------
    EssentialityData | DecodeData | DKOData | PerturbationData

    Raises
    ------
    core.errors.InputError
        Unknown kind, or the folder has not been built.
    """
    if kind not in DEMOS:
        raise InputError(f"unknown demo dataset {kind!r}; choose one of {', '.join(DEMO_KINDS)}")
    if directory is None:
        from core.config import get_settings

        directory = get_settings().demo_dir / kind
    directory = Path(directory)
    if not (directory / "fields.json").is_file():
        raise InputError(
            f"the {kind} demo data set is missing (no {directory}); build it with `{BUILD_COMMAND}` "
            f"run from the project folder"
        )
    return DEMOS[kind][0].load(directory)


__all__ = [
    "DEMO_KINDS", "DecodeData", "DepMapData", "DKOData", "EssentialityData", "PerturbationData", "load_decode",
    "load_decode_toy", "load_demo", "load_depmap", "load_network", "load_signatures", "load_singlecell",
    "write_decode",
    "make_decode_demo", "make_dko_demo", "make_essentiality_demo", "make_perturbation_demo",
    "true_knockout_impact",
]
