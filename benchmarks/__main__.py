"""Run benchmarks: ``python -m benchmarks <name>|all|list``."""

from __future__ import annotations

import sys

from benchmarks import REGISTRY, emit
from benchmarks import foundation  # noqa: F401  (registers)


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
