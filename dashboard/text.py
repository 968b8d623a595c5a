"""Counted nouns for UI text: "1 gene", "2 genes", never "1 genes" or "gene(s)"."""

from __future__ import annotations


def plural(n: int | float, singular: str, plural_form: str | None = None) -> str:
    """``n`` (thousands separated) and the noun in the form it takes: ``plural(1, 'gene')`` is "1 gene".

    ``plural_form`` defaults to ``singular + "s"``; give it for irregular nouns ("matrix", "matrices").
    For a phrase, pluralise its counted word: ``plural(n, 'target gene')``.
    """
    count = int(n)
    return f"{count:,} {singular if count == 1 else (plural_form or singular + 's')}"
