"""Pathway enrichment of modifier sets: against scipy, the GMT loader's refusals, the simulated demo pathways."""

import gzip

import numpy as np
import pytest
from scipy import stats

from core.datasets import load_demo
from core.datasets.essentiality_pathways import PLANTED_PREFIX, make_demo_pathways, planted_modifier_sets
from core.datasets.gene_sets import load_gmt, write_gmt
from core.errors import InputError
from core.essentiality import enrich_modifiers
from core.stats import bh_fdr


def random_case(seed=0):
    rng = np.random.default_rng(seed)
    background = [f"G{i:04d}" for i in range(500)]
    sets = {f"S{j:02d}": list(rng.choice(background + ["OUTSIDE1", "OUTSIDE2"], rng.integers(5, 60), replace=False))
            for j in range(30)}
    genes = list(rng.choice(background, 25, replace=False)) + list(sets["S03"][:8]) + ["NOT_IN_BACKGROUND"]
    return genes, sets, background


def test_p_values_match_scipy_hypergeom_and_fisher_exact():
    genes, sets, background = random_case()
    table = enrich_modifiers(genes, sets, background)
    universe, hits = set(background), set(genes) & set(background)
    assert table.attrs["n_modifiers"] == len(hits) and table.attrs["dropped_modifiers"] == ["NOT_IN_BACKGROUND"]
    for row in table.itertuples():
        members = set(sets[row.term]) & universe
        overlap = members & hits
        assert row.set_size == len(members) and row.overlap == len(overlap)
        assert row.genes == ", ".join(sorted(overlap))
        assert row.p == pytest.approx(stats.hypergeom.sf(len(overlap) - 1, len(universe), len(members), len(hits)),
                                      rel=1e-9, abs=1e-300)
        a, b = len(overlap), len(hits) - len(overlap)
        c, d = len(members) - a, len(universe) - len(members) - b
        assert row.p == pytest.approx(stats.fisher_exact([[a, b], [c, d]], alternative="greater")[1], rel=1e-6)
        assert row.expected == pytest.approx(len(hits) * len(members) / len(universe))
    assert np.allclose(table["q"], bh_fdr(table["p"].to_numpy()))
    assert list(table["p"]) == sorted(table["p"]) and table["term"].iloc[0] == "S03"


def test_size_filters_and_bad_requests():
    genes, sets, background = random_case(1)
    small = enrich_modifiers(genes, sets, background, min_size=20, max_size=40)
    assert small["set_size"].between(20, 40).all() and len(small) < len(sets)
    with pytest.raises(InputError, match="empty"):
        enrich_modifiers([], sets, background)
    with pytest.raises(InputError, match="background"):
        enrich_modifiers(genes, sets, [])
    with pytest.raises(InputError, match="none of the"):
        enrich_modifiers(["X1", "X2"], sets, background)
    with pytest.raises(InputError, match="no gene set"):
        enrich_modifiers(genes, {"a": ["Q1", "Q2"]}, background)
    with pytest.raises(InputError, match="one string"):
        enrich_modifiers("G0001", sets, background)


def test_gmt_round_trip_and_path_input(tmp_path):
    _genes, sets, background = random_case(2)
    for name in ("lib.gmt", "lib.gmt.gz"):
        path = write_gmt(sets, tmp_path / name, {"S00": "http://example.org/S00"})
        assert load_gmt(path) == {k: list(dict.fromkeys(v)) for k, v in sets.items()}
    table = enrich_modifiers(sets["S05"][:6], tmp_path / "lib.gmt", background)
    assert table["term"].iloc[0] == "S05"


BAD_GMT = {
    "empty.gmt": (b"", "no gene sets"),
    "blank_lines.gmt": (b"\n\n  \n", "no gene sets"),
    "spaces.gmt": (b"SET1 desc A B C\n", "spaces, not tabs"),
    "two_fields.gmt": (b"SET1\tdesc\n", "2 field"),
    "no_name.gmt": (b"\tdesc\tA\tB\n", "no name"),
    "duplicate.gmt": (b"S\td\tA\tB\nS\td\tC\n", "twice"),
    "only_blank_genes.gmt": (b"S\td\t\t \t\n", "0 gene"),
    "utf16.gmt": ("S\td\tA\tB\n".encode("utf-16"), "UTF-16"),
    "latin1.gmt": ("S\tcaf\u00e9\tA\tB\n".encode("latin-1"), "not UTF-8"),
    "binary.gmt": (bytes(range(256)) * 4, "not a text"),
    "fake.gmt.gz": (b"S\td\tA\n", "not gzip"),
    "truncated.gmt.gz": (gzip.compress(b"S\td\tA\tB\n" * 100)[:30], "cannot be decompressed"),
}


@pytest.mark.parametrize("name", sorted(BAD_GMT))
def test_bad_gmt_files_are_refused_with_what_to_fix(tmp_path, name):
    content, message = BAD_GMT[name]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_gmt(path)


def test_gmt_tolerates_comments_crlf_trailing_tabs_and_repeats(tmp_path):
    path = tmp_path / "ok.gmt"
    path.write_bytes(b"# a comment\r\nS1\t\tA\tB\tA\t\r\n\r\nS2\tdesc\tC\r\n")
    assert load_gmt(path) == {"S1": ["A", "B"], "S2": ["C"]}
    with pytest.raises(InputError, match="no such file"):
        load_gmt(tmp_path / "missing.gmt")


@pytest.fixture(scope="module")
def demo():
    return load_demo("essentiality")


def test_demo_pathways_contain_the_planted_sets_and_rank_them_first(demo):
    pathways = make_demo_pathways(demo)
    planted = planted_modifier_sets(demo)
    assert planted and all(set(m) <= set(pathways[PLANTED_PREFIX + t]) for t, m in planted.items())
    assert all(set(g) <= set(demo.expression.columns) for g in pathways.values())
    assert make_demo_pathways(demo) == pathways  # seeded
    background = list(demo.expression.columns)
    for target, modifiers in planted.items():
        table = enrich_modifiers(modifiers, pathways, background)
        assert table["term"].iloc[0] == PLANTED_PREFIX + target and table["q"].iloc[0] < 0.05


def test_selected_modifiers_of_a_planted_target_enrich_its_pathway(demo):
    from core.essentiality import select_modifiers

    pathways = make_demo_pathways(demo)
    target = max(planted_modifier_sets(demo).items(), key=lambda kv: len(kv[1]))[0]
    effect = demo.effect[target].dropna()
    selected = select_modifiers(demo.expression.loc[effect.index], effect, target=target)
    table = enrich_modifiers(selected.modifiers, pathways, list(demo.expression.columns))
    assert table["term"].iloc[0] == PLANTED_PREFIX + target and table["q"].iloc[0] < 0.05


def test_top_terms_of_many_sets_are_each_sets_first_enrichment_row():
    """The atlas's top term per target: the first row of enrich_modifiers, for sets with ties and empty ones."""
    from core.essentiality import TOP_TERM_COLUMNS, top_terms

    rng = np.random.default_rng(3)
    _, sets, background = random_case(1)
    sets["S_TIE_B"], sets["S_TIE_A"] = list(sets["S05"]), list(sets["S05"])  # identical sets: tie on p
    queries = {f"T{i}": list(rng.choice(background, rng.integers(1, 30), replace=False)) for i in range(40)}
    queries["T_PLANTED"] = list(sets["S05"][:10])
    queries["T_EMPTY"] = []
    queries["T_OUTSIDE"] = ["NOT_IN_BACKGROUND"]
    table = top_terms(queries, sets, background, min_size=3, chunk_size=7).set_index("target")
    assert list(table.reset_index().columns) == TOP_TERM_COLUMNS and list(table.index) == list(queries)
    for target, genes in queries.items():
        row = table.loc[target]
        if not set(genes) & set(background):
            assert row["top_term"] == "" and np.isnan(row["top_term_q"]) and row["n_enriched"] == 0
            continue
        reference = enrich_modifiers(genes, sets, background, min_size=3)
        first = reference.iloc[0]
        assert row["top_term"] == first["term"] and row["top_term_overlap"] == first["overlap"]
        assert row["top_term_p"] == pytest.approx(first["p"], rel=1e-12)
        assert row["top_term_q"] == pytest.approx(first["q"], rel=1e-12)
        assert row["n_enriched"] == int((reference["q"] < 0.05).sum())
    assert table.loc["T_PLANTED", "top_term"] == "S05"  # before S_TIE_A / S_TIE_B: ties by name
    with pytest.raises(InputError, match="no gene set"):
        top_terms(queries, {"X": ["nope"]}, background)
