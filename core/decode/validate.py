"""Train DEcode on a bundle or on DEcode's toy layout and print one JSON summary.

``python -m core.decode.validate --data PATH`` where PATH is a ``.npz`` bundle
(:func:`core.datasets.decode_bundle.write_decode`) or a folder in the layout of
DEcode's ``data/toy`` (for example ``../shared/data/decode_toy``); without
``--data`` the built demo data set is used. Prints
``{"cnn": {...}, "ridge": {...}, "seconds": {...}}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(prog="python -m core.decode.validate", description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="bundle (.npz) or DEcode toy folder; default: the demo data set")
    parser.add_argument("--restarts", type=int, default=3, help="random restarts (paper: 10)")
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--min-genes", type=int, default=30, help="drop features bound in fewer training genes")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from core.decode.estimator import DecodeCNN
    from core.decode.evaluate import train_decode
    from core.errors import InputError

    started = time.perf_counter()
    try:
        if args.data:
            from core.datasets.decode_bundle import load_decode_any

            data = load_decode_any(args.data)
        else:
            from core.datasets import load_demo

            data = load_demo("decode")
        load_seconds = time.perf_counter() - started
        cnn = DecodeCNN(n_restarts=args.restarts, max_epochs=args.max_epochs, patience=args.patience,
                        random_state=args.seed, n_threads=args.threads)
        fit = train_decode(data, min_genes=args.min_genes, cnn=cnn)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = fit.summary()
    summary["seconds"] = {"load": round(load_seconds, 2), **summary["seconds"],
                          "total": round(time.perf_counter() - started, 2)}
    summary["n_genes"] = {k: len(v) for k, v in fit.split.to_dict().items()}
    summary["n_features"] = {"mrna": len(fit.preprocessor.mrna_keep_), "promoter": len(fit.preprocessor.promoter_keep_)}
    summary["epochs"] = int(len(fit.history))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
