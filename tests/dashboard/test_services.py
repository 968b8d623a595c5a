"""Services: gene search, gene picking, cached jobs (no browser, no server)."""

from dashboard import services
from dashboard.services import essentiality as screen_service


def test_search_is_case_insensitive_prefix_then_substring():
    universe = ("ARID1A", "ARID1B", "RPP25", "RPP25L", "SMARCA2", "XRPP1")
    assert services.search_genes("rpp", universe=universe) == ["RPP25", "RPP25L", "XRPP1"]
    assert services.search_genes("25l", universe=universe) == ["RPP25L"]
    assert services.search_genes("", limit=2, universe=universe) == ["ARID1A", "ARID1B"]
    assert services.search_genes("nothing", universe=universe) == []


def test_search_covers_every_demo_dataset():
    genes = set(services.all_genes())
    for kind in services.DATASETS:
        assert set(services.genes_of(kind)) <= genes
    assert "RPP25L" in genes


def test_pick_gene_explains_replacements():
    gene, notice = services.pick_gene("essentiality", "rpp25l", "FAM50A")
    assert gene == "RPP25L" and notice is None
    gene, notice = services.pick_gene("essentiality", "NOT_A_GENE", "FAM50A")
    assert gene == "FAM50A" and "NOT_A_GENE is not in" in notice


def test_screen_job_reports_progress_caches_and_survives_restart():
    seen = []
    first = screen_service.screen.run(seen.append, target="RPP25L", n_permutations=50)
    assert first.error is None and first.key
    assert seen and seen[-1][0] == 100 and "elapsed" in seen[-1][2]
    table = screen_service.screen.result(target="RPP25L", n_permutations=50)
    assert table.iloc[0]["gene"] == "RPP25"
    # a new process has no in-memory state: the store alone must serve it
    services.dataset.cache_clear()
    second = screen_service.screen.run(target="RPP25L", n_permutations=50)
    assert second.key == first.key and second.seconds < first.seconds


def test_job_errors_become_messages_not_exceptions():
    outcome = screen_service.screen.run(target="NOT_A_TARGET", n_permutations=0)
    assert outcome.key is None and "pick one of the target genes" in outcome.error
