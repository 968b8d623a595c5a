"""Precompute what the demo pages open with: ``python -m dashboard.services.prebuild``.

Each result goes into ``data/demo/prebuilt`` under the very key the page's job
uses; every artifact store reads that folder when its own cache lacks a key,
so a page finds the result at once and a user's "Run" finds it stored too:

* the modifier-gene atlas of the demo (every target, fast models), and the
  instant analysis of each target among the genes shared by the demos (their
  gene cards open on it);
* the DEcode CNN with the page's default training settings, and its
  regulator attributions;
* the DKO model with the page's default training steps, and every knockout;
* the perturbation-signature models (TranscriptionNet) with the page defaults.

Everything is seeded, so a rebuild stores the same results. Results already
stored are skipped. ``make demo-data`` runs this after building the data.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable

STEPS = ("essentiality", "decode", "dko", "perturbation")


def _essentiality() -> str:
    from core.datasets.genes import SHARED_SYMBOLS
    from dashboard.services import dataset, essentiality

    outcome = essentiality.atlas.run()
    if outcome.error:
        raise RuntimeError(outcome.error)
    shared = [g for g in SHARED_SYMBOLS if g in dataset("essentiality").effect.columns]
    for gene in shared:
        essentiality.quick_analysis(gene)
    return f"atlas of {len(essentiality.atlas.result()):,} targets, analyses of {len(shared)} shared targets"


def _decode() -> str:
    from dashboard.services import decode

    params = decode.training_params()
    for job in (decode.training, decode.attribution):
        outcome = job.run(params=params)
        if outcome.error:
            raise RuntimeError(outcome.error)
    return "CNN and attributions"


def _dko() -> str:
    from dashboard.services import dko

    outcome = dko.sweep.run(steps=dko.DEFAULT_STEPS)
    if outcome.error:
        raise RuntimeError(outcome.error)
    return f"model ({dko.DEFAULT_STEPS:,} steps) and every knockout"


def _perturbation() -> str:
    from dashboard.services import perturbation

    outcome = perturbation.training.run(epochs=perturbation.DEFAULT_EPOCHS, width=perturbation.DEFAULT_WIDTH)
    if outcome.error:
        raise RuntimeError(outcome.error)
    return "FunDNN, refiner and baselines"


BUILDERS: dict[str, Callable[[], str]] = {
    "essentiality": _essentiality, "decode": _decode, "dko": _dko, "perturbation": _perturbation,
}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m dashboard.services.prebuild", description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=STEPS, help="precompute only this (repeatable)")
    parser.add_argument("--atlas", metavar="DATASET_ID",
                        help="build the modifier-gene atlas of a registered dataset into the cache instead")
    args = parser.parse_args(argv)
    if args.atlas:
        from dashboard.services import essentiality

        started = time.perf_counter()
        outcome = essentiality.atlas.run(source=args.atlas)
        if outcome.error:
            print(outcome.error, file=sys.stderr)
            return 1
        print(f"atlas of {args.atlas} ready in {time.perf_counter() - started:.1f} s")
        return 0
    from dashboard.services import prebuilt_dir

    # every job below stores its result in the cache: make that cache the demo's prebuilt folder
    os.environ["PERTURBSCOPE_CACHE_DIR"] = str(prebuilt_dir())
    for name in args.only or STEPS:
        started = time.perf_counter()
        what = BUILDERS[name]()
        print(f"{name:<13} {what} ready in {time.perf_counter() - started:5.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
