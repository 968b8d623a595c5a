"""DKO (He, Klein, Levy & Wang, arXiv 2510.03359, 2025): assemblage -> profile, virtual knockouts.

``DKO().fit(P)`` learns, from unperturbed single cells (genes x cells), the map
from which genes are present to the expression profile; :func:`knockout_impacts`
then knocks out every present gene in every cell in silico and
:func:`double_knockout_impacts` removes pairs. Heavy imports (torch) happen
inside the functions that need them.
"""

from core.dko.data import assemblages, bray_curtis, profiles
from core.dko.estimator import DKO
from core.dko.evaluation import HeldoutResult, heldout_evaluation, mean_profile_baseline, per_gene_agreement
from core.dko.explore import ImpactClusters, cell_embedding, cluster_impacts, impact_matrix, top_knockouts_by_group
from core.dko.export import impact_export, knockout_design
from core.dko.knockouts import double_knockout_impacts, knockout_impacts, naive_knockout_impacts

__all__ = [
    "DKO", "HeldoutResult", "ImpactClusters", "assemblages", "bray_curtis", "cell_embedding", "cluster_impacts",
    "double_knockout_impacts", "heldout_evaluation", "impact_export", "impact_matrix", "knockout_design",
    "knockout_impacts", "mean_profile_baseline", "naive_knockout_impacts", "per_gene_agreement", "profiles",
    "top_knockouts_by_group",
]
