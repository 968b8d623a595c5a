"""Gene-set libraries in GMT format (MSigDB, Reactome, KEGG, GO exports).

A GMT file has one gene set per line, tab-separated: the set's name, a description (may be
empty or a URL), then its genes. :func:`load_gmt` reads plain or gzipped UTF-8 files and
refuses anything else with an :class:`~core.errors.InputError` that says what to fix;
:func:`write_gmt` writes one. :class:`GeneSetLibrary` is a library as the Datasets page
registers it (kind ``genesets``), stored without pickle.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd

from core.datasets.storage import Persistable
from core.errors import InputError

MAX_BYTES = 200_000_000
GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise InputError(f"{path.name}: no such file")
    raw = path.read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path.name} starts like a gzip file but cannot be decompressed ({exc}); upload the "
                             f"plain .gmt file or a complete .gmt.gz") from None
    elif path.suffix == ".gz":
        raise InputError(f"{path.name} ends in .gz but is not gzip-compressed; rename it to .gmt or compress it")
    if len(raw) > MAX_BYTES:
        raise InputError(f"{path.name} is larger than {MAX_BYTES // 1_000_000} MB uncompressed; split the library")
    return raw


def load_gmt(path: str | Path, min_genes: int = 1) -> dict[str, list[str]]:
    """Gene sets of a GMT file.

    Parameters
    ----------
    path
        A ``.gmt`` file, optionally gzipped.
    min_genes
        Sets with fewer genes are an error (a line with a name and no genes is malformed).

    Returns
    -------
    dict
        Set name -> genes (order kept, repeats within a set dropped, blanks ignored).

    Raises
    ------
    core.errors.InputError
        Empty, binary or non-UTF-8 files; lines without a tab-separated name, description and
        genes; duplicated set names; a file with no gene set.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if b"\x00" in raw[:100_000]:
        hint = " (it looks like UTF-16: save it as UTF-8)" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise InputError(f"{path.name} is not a text GMT file{hint}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    sets: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) < 3:
            what = "spaces, not tabs" if len(fields) == 1 and " " in line.strip() else f"{len(fields)} field(s)"
            raise InputError(f"{path.name}, line {number}: a GMT line is name<TAB>description<TAB>gene<TAB>gene...; "
                             f"this one has {what}")
        name = fields[0].strip()
        if not name:
            raise InputError(f"{path.name}, line {number}: the gene set has no name (first field)")
        if name in sets:
            raise InputError(f"{path.name}, line {number}: gene set {name!r} appears twice; names must be unique")
        genes = list(dict.fromkeys(g.strip() for g in fields[2:] if g.strip()))
        if len(genes) < min_genes:
            raise InputError(f"{path.name}, line {number}: gene set {name!r} has {len(genes)} gene(s); at least "
                             f"{min_genes} needed")
        sets[name] = genes
    if not sets:
        raise InputError(f"{path.name} has no gene sets (one line per set: name<TAB>description<TAB>genes...)")
    return sets


def write_gmt(gene_sets: Mapping[str, Iterable[str]], path: str | Path,
              descriptions: Mapping[str, str] | None = None) -> Path:
    """Write gene sets as a GMT file (gzipped when ``path`` ends in ``.gz``).

    Parameters
    ----------
    gene_sets : mapping
        Set name -> genes.
    path : str or Path
        Output file.
    descriptions : mapping, optional
        Set name -> description (default: empty).
    """
    path = Path(path)
    lines = []
    for name, genes in gene_sets.items():
        if "\t" in name or "\n" in name:
            raise InputError(f"gene set name {name!r} contains a tab or a line break")
        lines.append("\t".join([name, (descriptions or {}).get(name, ""), *map(str, genes)]))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
    return path


@dataclass
class GeneSetLibrary(Persistable):
    """A registered gene-set library.

    Attributes
    ----------
    members
        One row per (set, gene): columns ``term`` and ``gene``, sets in file order.
    params
        ``registered`` (the registration's name) and the numbers of sets and genes.
    """

    members: pd.DataFrame
    params: dict = field(default_factory=dict)

    @classmethod
    def from_sets(cls, gene_sets: Mapping[str, Iterable[str]], name: str = "") -> "GeneSetLibrary":
        """A library from set name -> genes (as :func:`load_gmt` returns)."""
        rows = [(term, str(gene)) for term, genes in gene_sets.items() for gene in genes]
        members = pd.DataFrame(rows, columns=["term", "gene"]).astype(str)
        return cls(members=members, params={"registered": name, "n_sets": int(members["term"].nunique()),
                                            "n_genes": int(members["gene"].nunique())})

    @property
    def sets(self) -> dict[str, list[str]]:
        """Set name -> genes, in file order."""
        return {str(term): list(part["gene"]) for term, part in self.members.groupby("term", sort=False)}
