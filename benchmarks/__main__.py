"""Run benchmarks: ``python -m benchmarks <name>|all|list``."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks
from benchmarks import REGISTRY, emit

# Every module in this package registers its benchmarks on import.
for _module in pkgutil.iter_modules(benchmarks.__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"benchmarks.{_module.name}")


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "list"):
        print("benchmarks:", ", ".join(sorted(REGISTRY)) + " (or 'all')")
        return 0
    names = sorted(REGISTRY) if argv[0] == "all" else argv
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {sorted(REGISTRY)}", file=sys.stderr)
        return 2
    for name in names:
        for line in REGISTRY[name]():
            emit(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
