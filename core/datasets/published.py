"""The published modifier-gene results of Rosenski, Shifman & Kaplan (2023), as compact tables.

Additional file 1 of Rosenski J, Shifman S, Kaplan T. "Predicting gene knockout
effects from expression data." BMC Med Genomics 16:26 (2023),
doi:10.1186/s12920-023-01446-6, is published under CC BY 4.0. Two of its sheets
are shipped in ``data/published/`` as derived tables (values unchanged; exact
duplicate rows dropped; a BH q-value added):

* ``rosenski2023_performance.csv.gz``: per gene, the model chosen by validation
  RMSE and its test Pearson r, p-value and RMSE on 200 held-out DepMap cell
  lines (sheet "table 4 - all_genes_performance");
* ``rosenski2023_modifiers.csv.gz``: per target, its modifier genes with their
  XGBoost feature importances (sheet "table 3 - feature importance").

``python -m core.datasets.published --xlsx 12920_2023_1446_MOESM1_ESM.xlsx``
rebuilds them (needs ``openpyxl``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import REPO_ROOT
from core.errors import InputError
from core.stats import bh_fdr

#: ``data/published`` of a checkout, or its copy installed as ``core/datasets/published_data``
FOLDER = next((f for f in (REPO_ROOT / "data" / "published", Path(__file__).resolve().parent / "published_data")
               if f.is_dir()), REPO_ROOT / "data" / "published")
PERFORMANCE_FILE = "rosenski2023_performance.csv.gz"
MODIFIERS_FILE = "rosenski2023_modifiers.csv.gz"
CITATION = ("Rosenski J, Shifman S, Kaplan T. Predicting gene knockout effects from expression data. "
            "BMC Med Genomics 16:26 (2023), Additional file 1, CC BY 4.0")
#: The paper's model names, as the app names its models.
MODELS = {"linear": "Linear", "GP": "Gaussian process", "xg_boost": "XGBoost", "deep": "Neural network"}


@dataclass
class PublishedResults:
    """The paper's genome-wide results on DepMap CRISPR data.

    Attributes
    ----------
    performance : DataFrame
        Indexed by ``gene``: ``model``, ``test_pearson``, ``test_pearson_p``,
        ``test_rmse``, ``q`` (BH over all genes).
    modifiers : DataFrame
        ``target, rank, modifier, importance`` (rank 1 = most important).
    """

    performance: pd.DataFrame
    modifiers: pd.DataFrame

    def gene(self, symbol: str) -> dict | None:
        """One gene's published result and its top modifiers, or None when the paper has no row for it."""
        if symbol not in self.performance.index:
            return None
        row = self.performance.loc[symbol].to_dict()
        mods = self.modifiers[self.modifiers["target"] == symbol].sort_values("rank")
        row["modifiers"] = list(zip(mods["modifier"], mods["importance"]))
        return {"gene": symbol, **row}

    def modifier_of(self, symbol: str) -> pd.DataFrame:
        """Targets whose published modifiers include ``symbol``, most important first."""
        hits = self.modifiers[self.modifiers["modifier"] == symbol]
        return hits.sort_values("importance", ascending=False).reset_index(drop=True)


def build_published(xlsx: str | Path, out: str | Path = FOLDER) -> tuple[Path, Path]:
    """Derive the two tables from the paper's Additional file 1.

    Parameters
    ----------
    xlsx : path
        ``12920_2023_1446_MOESM1_ESM.xlsx``.
    out : path
        Folder to write ``rosenski2023_*.csv.gz`` into.

    Returns
    -------
    (performance path, modifiers path)
    """
    sheets = pd.read_excel(xlsx, sheet_name=None, header=None, engine="openpyxl")
    perf_sheet = next((v for k, v in sheets.items() if k.startswith("table 4")), None)
    mods_sheet = next((v for k, v in sheets.items() if k.startswith("table 3")), None)
    if perf_sheet is None or mods_sheet is None:
        raise InputError(f"{xlsx} lacks the sheets 'table 3 - feature importance' and 'table 4 - all_genes_performance'")
    perf = perf_sheet.iloc[1:, :5].set_axis(["gene", "test_rmse", "test_pearson", "test_pearson_p", "model"], axis=1)
    perf = perf.dropna(subset=["gene"]).drop_duplicates()
    perf = perf.drop_duplicates("gene")  # the sheet repeats a few genes with identical rows
    perf["model"] = perf["model"].map(MODELS).fillna(perf["model"])
    for column in ("test_rmse", "test_pearson", "test_pearson_p"):
        perf[column] = pd.to_numeric(perf[column], errors="coerce")
    perf["q"] = bh_fdr(perf["test_pearson_p"].to_numpy(np.float64))
    perf = perf[["gene", "model", "test_pearson", "test_pearson_p", "test_rmse", "q"]].sort_values("gene")
    rows = []
    for record in mods_sheet.iloc[1:].itertuples(index=False):
        target = record[0]
        if not isinstance(target, str):
            continue
        for rank, cell in enumerate((c for c in record[1:] if isinstance(c, str) and "," in c), start=1):
            name, importance = cell.rsplit(",", 1)
            rows.append((target, rank, name, float(importance)))
    mods = pd.DataFrame(rows, columns=["target", "rank", "modifier", "importance"])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = out / PERFORMANCE_FILE, out / MODIFIERS_FILE
    # fixed gzip metadata: a rebuild from the same file gives the same bytes
    perf.to_csv(paths[0], index=False, float_format="%.6g", compression={"method": "gzip", "mtime": 0})
    mods.to_csv(paths[1], index=False, float_format="%.6g", compression={"method": "gzip", "mtime": 0})
    return paths


def load_published(folder: str | Path = FOLDER) -> PublishedResults:
    """Read the shipped tables (see the module docstring for their source and licence).

    Parameters
    ----------
    folder : str or Path
        Folder of the shipped tables.

    Raises
    ------
    core.errors.InputError
        The tables are missing (rebuild them with ``--xlsx``).
    """
    folder = Path(folder)
    try:
        perf = pd.read_csv(folder / PERFORMANCE_FILE, index_col="gene")
        mods = pd.read_csv(folder / MODIFIERS_FILE)
    except OSError:
        raise InputError(f"the published results are missing from {folder}; rebuild them with "
                         "python -m core.datasets.published --xlsx 12920_2023_1446_MOESM1_ESM.xlsx") from None
    return PublishedResults(performance=perf, modifiers=mods)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(prog="python -m core.datasets.published", description=__doc__.split("\n")[0])
    parser.add_argument("--xlsx", type=Path, required=True, help="the paper's Additional file 1")
    parser.add_argument("--out", type=Path, default=FOLDER, help="folder of the tables (default %(default)s)")
    args = parser.parse_args(argv)
    for path in build_published(args.xlsx, args.out):
        print(f"{path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
