"""The kinds of dataset users can register, and the file roles each is made of.

==================  ===========================================  ==========================
kind                files (roles)                                 read by
==================  ===========================================  ==========================
``essentiality``    DepMap gene effect + expression (+ models)   :func:`load_depmap`
``dko``             one single-cell matrix (CSV/TSV/h5ad/10x)    :func:`read_singlecell_file`
``decode``          one DEcode bundle (.npz) or toy folder        :func:`load_decode_any`
``perturbation``    network edge lists + RNAi/CRISPR/OE           :func:`load_network`,
                    signatures (+ gene table)                     :func:`load_signatures`
``genesets``        one GMT gene-set library (MSigDB, Reactome,   :func:`load_gmt`
                    KEGG, GO exports)
==================  ===========================================  ==========================

Only what the engine needs lives here: which files a kind takes and how
errors name them. How a form presents them (hints, the page that opens a
dataset) is the app's business (``dashboard.services.datasets``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    """One file slot of a dataset kind.

    Attributes
    ----------
    key
        The role's name in ``files`` mappings (``"effect"``, ``"matrix"``, ...).
    label
        How messages name the file.
    required
        Whether a dataset of the kind needs this file.
    multiple
        Whether the role takes several files (network layers).
    """

    key: str
    label: str
    required: bool = True
    multiple: bool = False


@dataclass(frozen=True)
class KindSpec:
    """What one kind of dataset is made of.

    Attributes
    ----------
    kind : str
        The kind's name, e.g. ``"essentiality"``.
    label : str
        What the kind is called in messages.
    roles : tuple of Role
        The files a dataset of this kind is made of.
    """

    kind: str
    label: str
    roles: tuple[Role, ...]


SPECS: dict[str, KindSpec] = {
    "essentiality": KindSpec("essentiality", "DepMap release", (
        Role("effect", "CRISPR gene effect"),
        Role("expression", "Expression, log2(TPM+1)"),
        Role("models", "Cell-line annotation (optional)", required=False),
    )),
    "dko": KindSpec("dko", "Single-cell matrix", (Role("matrix", "Expression matrix"),)),
    "decode": KindSpec("decode", "DEcode bundle", (Role("bundle", "DEcode bundle"),)),
    "perturbation": KindSpec("perturbation", "L1000 signatures + networks", (
        Role("network", "Network layers", multiple=True),
        Role("RNAi", "RNAi signatures", required=False),
        Role("CRISPR", "CRISPR signatures", required=False),
        Role("OE", "Overexpression signatures", required=False),
        Role("genes", "Gene table (optional)", required=False),
    )),
    "genesets": KindSpec("genesets", "Gene-set library (GMT)", (Role("gmt", "Gene sets (GMT)"),)),
}
KINDS: tuple[str, ...] = tuple(SPECS)
