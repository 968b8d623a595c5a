"""One gene across the four methods: what the gene card and the gene list show.

Every section reads only stored results (the demo's prebuilt atlas and trained
models, or the user's cache), so a card answers at once; a method without a
stored result, or without the gene, says so instead of computing. The numbers
of each section also come as tidy frames, for the card's CSV zip.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.errors import InputError
from dashboard.text import plural
from dashboard.services import (DATASETS, DEFAULT_DATASET, dataset, genes_of, is_demo, lookup_gene, provenance,
                                source_label)

METHODS = ("essentiality", "decode", "dko", "perturbation")
METHOD_TITLES = {
    "essentiality": "Modifier genes (Rosenski et al. 2023)",
    "decode": "DEcode tissue expression (Tasaki et al. 2020)",
    "dko": "DKO single-cell knockout (He et al. 2025)",
    "perturbation": "Perturbation signatures (TranscriptionNet 2024)",
}
METHOD_PAGES = {"essentiality": "/essentiality", "decode": "/decode", "dko": "/dko", "perturbation": "/perturbation"}
#: The headline number of each method, as the gene list names it.
HEADLINES = {
    "essentiality": "essentiality test r (chosen model, held-out cell lines)",
    "decode": "DEcode r (predicted vs measured tissue profile)",
    "dko": "DKO mean knockout impact (Bray-Curtis)",
    "perturbation": "signature r (predicted vs measured, mean over types)",
}
#: Column names of the gene list's table and CSV (what the number is, with its unit).
HEADLINE_COLUMNS = {
    "essentiality": "essentiality_test_pearson_r",
    "decode": "decode_tissue_profile_pearson_r",
    "dko": "dko_mean_knockout_impact_bray_curtis",
    "perturbation": "signature_pearson_r_mean_over_types",
}
MAX_LIST = 200


@dataclass
class Section:
    """One method's part of a gene card.

    Attributes
    ----------
    method
        ``essentiality``, ``decode``, ``dko`` or ``perturbation``.
    available
        Whether the method has anything on the gene.
    summary
        One or two plain sentences with the numbers (or why there is nothing).
    facts
        Named values for the card's small table, in display order.
    frames
        Tidy tables of the numbers drawn (written to the CSV zip).
    headline
        The method's headline number (:data:`HEADLINES`), or NaN.
    related
        Genes this method ties to the gene (modifiers, regulators, similar signatures).
    together
        The section's sentence in the card's concordance paragraph.
    """

    method: str
    available: bool
    summary: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    headline: float = float("nan")
    related: dict[str, list[str]] = field(default_factory=dict)
    together: str = ""


@dataclass
class GeneCard:
    """A gene's four sections, the published result and what they say together."""

    gene: str
    sections: dict[str, Section]
    published: dict | None
    published_modifier_of: pd.DataFrame
    concordance: str

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every table of the card, named ``<method>_<table>``."""
        out = {f"{m}_{name}": frame for m, s in self.sections.items() for name, frame in s.frames.items()}
        if self.published is not None:
            out["published_rosenski2023"] = pd.DataFrame(
                [{k: v for k, v in self.published.items() if k != "modifiers"}])
            out["published_rosenski2023_modifiers"] = pd.DataFrame(
                self.published["modifiers"], columns=["modifier", "xgboost_importance"])
        if len(self.published_modifier_of):
            out["published_rosenski2023_modifier_of"] = self.published_modifier_of
        return out


def _fmt_p(p: float) -> str:
    return "n/a" if p is None or not np.isfinite(p) else (f"{p:.1e}" if p < 0.001 else f"{p:.3f}")


# --- essentiality ---------------------------------------------------------------------------

def _modifier_of(gene: str, atlas: pd.DataFrame) -> pd.DataFrame:
    """The atlas's targets whose selected modifiers include ``gene``, best predicted first."""
    columns = ["target", "chosen_model", "test_pearson", "test_pearson_p", "n_modifiers"]
    hits = atlas[atlas["modifiers"].fillna("").str.split(";").map(lambda mods: gene in mods)]
    return hits[columns].sort_values("test_pearson", ascending=False).reset_index(drop=True)


def essentiality_section(gene: str, source: str = DEFAULT_DATASET) -> Section:
    """The gene as a screened target (atlas row and its predictions) and as a modifier of other targets."""
    from core.essentiality import MODEL_LABELS
    from dashboard.services import essentiality

    method = "essentiality"
    atlas = essentiality.atlas.result(source=source)
    if atlas is None:
        return Section(method, False, "No atlas of this dataset yet; build it on the atlas page.")
    modifier_of = _modifier_of(gene, atlas)
    frames: dict[str, pd.DataFrame] = {}
    if len(modifier_of):
        frames["modifier_of"] = modifier_of
    of_text, of_together = "", ""
    if len(modifier_of):
        of_together = (f"It is a selected modifier of {plural(len(modifier_of), 'target')} in the atlas "
                       f"({', '.join(modifier_of['target'][:3])}{', ...' if len(modifier_of) > 3 else ''}).")
        listed = ", ".join(f"{t} (r {r:.2f})" for t, r in zip(modifier_of["target"][:5], modifier_of["test_pearson"][:5]))
        of_text = f" Modifier of {plural(len(modifier_of), 'target')}: {listed}."
    related = {"modifier of": list(modifier_of["target"])}
    row = atlas.loc[gene].to_dict() if gene in atlas.index else None
    if row is None or row.get("error"):
        why = "is not a screened target" if row is None else f"has no model ({row['error']})"
        summary = f"{gene} {why} in this dataset." + (of_text or " It is not a selected modifier of any target either.")
        return Section(method, bool(len(modifier_of)), summary, frames=frames, related=related,
                       together=of_together)
    modifiers = [m for m in str(row["modifiers"]).split(";") if m]
    model = MODEL_LABELS.get(row["chosen_model"], row["chosen_model"])
    facts = [
        ("chosen model", model),
        ("test Pearson r", f"{row['test_pearson']:.3f} (p = {_fmt_p(row['test_pearson_p'])}, BH q = "
                           f"{_fmt_p(row['q'])}, {int(row['n_test'])} held-out cell lines)"),
        ("test RMSE (mean-only baseline)", f"{row['test_rmse']:.3f} ({row['baseline_test_rmse']:.3f})"),
        ("modifiers (any of 3 tests, BH q < 0.05)", f"{len(modifiers)}: " + ", ".join(modifiers[:8])
         + (" ..." if len(modifiers) > 8 else "")),
        ("single best modifier", f"{row['single_best_modifier']} (test r {row['single_best_pearson']:.3f})"
         if row["single_best_modifier"] else "none"),
    ]
    try:
        analysis = essentiality.quick_analysis(gene, source=source)
        predictions = analysis.report.predictions
        frames["predictions"] = predictions.rename(columns={"actual": "actual_gene_effect",
                                                            "predicted": "predicted_gene_effect"})
        lineage_fit = analysis.weights.dropna(subset=["r2"]) if "r2" in analysis.weights else analysis.weights
        if len(lineage_fit) >= 2:
            best, worst = lineage_fit["r2"].idxmax(), lineage_fit["r2"].idxmin()
            facts.append(("per-lineage linear fit R² (best, worst)",
                          f"{best} {lineage_fit.loc[best, 'r2']:.2f}; {worst} {lineage_fit.loc[worst, 'r2']:.2f} "
                          f"(n = {int(lineage_fit.loc[worst, 'n_cells'])})"))
            frames["lineage_weights"] = analysis.weights.rename(columns={"r2": "r_squared"}).reset_index()
    except InputError:
        pass
    frames["modifiers"] = pd.DataFrame({"modifier": modifiers})
    summary = (f"{gene}'s CRISPR gene effect is predicted from expression with test r {row['test_pearson']:.2f} "
               f"(p = {_fmt_p(row['test_pearson_p'])}, {model}) from {plural(len(modifiers), 'modifier gene')}"
               + (f", the strongest {row['single_best_modifier']}." if row["single_best_modifier"] else ".") + of_text)
    related["modifiers"] = modifiers
    together = (f"Its CRISPR essentiality is predicted from expression with test r {row['test_pearson']:.2f} "
                f"(BH q = {_fmt_p(row['q'])} over the atlas's targets). {of_together}").strip()
    return Section(method, True, summary, facts, frames, float(row["test_pearson"]), related, together)


# --- DEcode ---------------------------------------------------------------------------------

def decode_section(gene: str, source: str = DEFAULT_DATASET, n_regulators: int = 5) -> Section:
    """Predicted vs measured tissue profile of the gene, and its top regulators in its most specific tissue."""
    from dashboard.services import decode

    method = "decode"
    if gene not in genes_of(method, source):
        return Section(method, False, f"{gene} is not in the {_name(method, source)} dataset.")
    params = decode.training_params(source=source)
    if decode.training.result(params=params, source=source) is None:
        return Section(method, False, "No trained DEcode model yet; train it on the DEcode page.")
    profiles = decode.gene_profiles(params, gene, source)
    split = decode.gene_split(params, gene, source)
    tissues = profiles.drop(index="median", errors="ignore")
    r = float(np.corrcoef(tissues["predicted"], tissues["actual"])[0, 1]) if len(tissues) > 2 else float("nan")
    specific = str(tissues["actual"].idxmax())
    attribution = decode.gene_attribution(params, gene, specific, source)
    scores = pd.concat([attribution.promoter.sum(axis=1).rename(lambda n: f"{n} (promoter)"),
                        attribution.mrna.sum(axis=1).rename(lambda n: f"{n} (mRNA)")])
    top = scores[scores.abs() > 0].reindex(scores.abs().sort_values(ascending=False).index)[:n_regulators]
    regulators = pd.DataFrame({"regulator": top.index, "tissue": specific, "attribution": top.to_numpy()})
    table = profiles.rename_axis("tissue").reset_index().rename(columns={
        "predicted": "predicted_log2fc_cnn", "ridge": "predicted_log2fc_ridge", "actual": "measured_log2fc"})
    held = {"test": "a held-out test gene", "validate": "a validation gene", "train": "a training gene"}.get(
        split, "not used in training")
    facts = [
        ("Pearson r, predicted vs measured", f"{r:.3f} over {len(tissues)} tissues"),
        ("gene in the model's split", held),
        ("most specific tissue (measured)", f"{specific} (log2 FC {tissues.loc[specific, 'actual']:+.2f})"),
        (f"top regulators in {specific} (DeepLIFT)",
         ", ".join(f"{n} {v:+.3f}" for n, v in top.items()) or "none bound"),
    ]
    summary = (f"DEcode predicts {gene}'s tissue profile from its binding sites with r = {r:.2f} across "
               f"{len(tissues)} tissues ({held}); in {specific}, its most specific tissue, the strongest "
               f"regulator is {top.index[0] if len(top) else 'none'}.")
    related = {"regulators": [n.split(" (")[0] for n in top.index]}
    frames = {"tissue_profile": table, "regulators": regulators}
    as_regulator = _as_regulator(gene, params, source)
    if as_regulator is not None:
        tissue, score, rank, n = as_regulator.iloc[0]
        facts.append(("as a regulator (mean DeepLIFT over test genes)",
                      f"strongest in {tissue}: {score:+.4f}, rank {rank} of {n} regulators"))
        related["as regulator"] = [f"strongest in {tissue}, {score:+.3f}, rank {rank} of {n}"]
        frames["as_regulator"] = as_regulator
    together = f"DEcode predicts its tissue profile at r {r:.2f} ({held})."
    return Section(method, True, summary, facts, frames, r, related, together)


def _as_regulator(gene: str, params: dict, source: str) -> pd.DataFrame | None:
    """Per tissue: the gene's mean attribution as a binding feature and its rank by |score|, strongest first."""
    from dashboard.services import decode

    scores = decode.attribution.result(params=params, source=source)
    names = [n for n in (f"promoter:{gene}", f"mrna:{gene}") if scores is not None and n in scores.index]
    if not names:
        return None
    ranks = scores.abs().rank(ascending=False, method="min")
    rows = [{"tissue": t, "mean_attribution": float(scores.loc[names[0], t]),
             "rank_by_abs_attribution": int(ranks.loc[names[0], t]), "n_regulators": len(scores)}
            for t in scores.columns]
    frame = pd.DataFrame(rows)
    order = np.lexsort((-frame["mean_attribution"].abs().to_numpy(), frame["rank_by_abs_attribution"].to_numpy()))
    return frame.iloc[order].reset_index(drop=True)


# --- DKO ------------------------------------------------------------------------------------

def dko_section(gene: str, source: str = DEFAULT_DATASET) -> Section:
    """Knockout impact of the gene across cells and cell types, and its rank among all knockouts."""
    from dashboard.services import dko

    method = "dko"
    if gene not in genes_of(method, source):
        return Section(method, False, f"{gene} is not in the {_name(method, source)} dataset.")
    payload = dko.sweep.result(steps=dko.DEFAULT_STEPS, source=source)
    if payload is None:
        return Section(method, False, "No trained DKO model yet; train it on the DKO page.")
    table = payload["table"]
    means = table.groupby("gene")["impact"].mean().sort_values(ascending=False)
    if gene not in means.index:
        return Section(method, False, f"{gene} is present in no cell, so it has no knockout.")
    rank = int(means.index.get_loc(gene)) + 1
    part = table[table["gene"] == gene][["cell", "impact"]].copy()
    clusters = payload["cell_cluster"].set_index("cell")["cluster"]
    part["cluster"] = part["cell"].map(clusters)
    groups = dko.cell_groups(source)
    part["cell_type"] = part["cell"].map(groups) if groups is not None else "all cells"
    by_type = (part.groupby("cell_type")["impact"].agg(["count", "mean", "median"])
               .rename(columns={"count": "n_cells", "mean": "mean_impact", "median": "median_impact"})
               .reset_index())
    by_cluster = (part.groupby("cluster")["impact"].agg(["count", "mean"])
                  .rename(columns={"count": "n_cells", "mean": "mean_impact_bray_curtis"}).reset_index())
    n_cells = dataset(method, source).expression.shape[1]
    keystone = gene in (getattr(dataset(method, source), "keystones", None) or [])
    top_type = by_type.sort_values("mean_impact", ascending=False).iloc[0]
    facts = [
        ("mean impact (Bray-Curtis)", f"{means[gene]:.4f}"),
        ("rank among all knockouts", f"{rank} of {len(means)} (1 = largest mean impact)"),
        ("cells where present", f"{len(part):,} of {n_cells:,}"),
        ("largest in cell type", f"{top_type['cell_type']} (mean {top_type['mean_impact']:.4f}, "
                                 f"n = {int(top_type['n_cells'])})"),
        ("largest in impact cluster", _top_cluster(part)),
    ]
    if keystone:
        facts.append(("planted role (simulated)", "keystone regulator"))
    summary = (f"Knocking {gene} out in silico changes cell profiles by {means[gene]:.3f} Bray-Curtis on average "
               f"over the {len(part):,} cells where it is present: rank {rank} of {len(means)} genes"
               + (", a planted keystone." if keystone else "."))
    per_cell = part.rename(columns={"impact": "impact_bray_curtis"})[
        ["cell", "cell_type", "cluster", "impact_bray_curtis"]]
    by_type = by_type.rename(columns={"mean_impact": "mean_impact_bray_curtis",
                                      "median_impact": "median_impact_bray_curtis"})
    related = {"keystone": [str(rank)]} if keystone else {}
    together = (f"Its in-silico knockout moves single-cell profiles by {means[gene]:.3f} Bray-Curtis on average "
                f"(rank {rank} of {len(means)}).")
    return Section(method, True, summary, facts, {"impact_per_cell": per_cell, "impact_by_cell_type": by_type,
                                                  "impact_by_cluster": by_cluster}, float(means[gene]), related,
                   together)


def _top_cluster(part: pd.DataFrame) -> str:
    means = part.groupby("cluster")["impact"].agg(["mean", "count"]).sort_values("mean", ascending=False)
    if means.empty:
        return "none"
    return f"{means.index[0]} (mean {means['mean'].iloc[0]:.4f}, n = {int(means['count'].iloc[0])})"


# --- perturbation signatures ----------------------------------------------------------------

def perturbation_section(gene: str, source: str = DEFAULT_DATASET, n_similar: int = 10) -> Section:
    """Predicted and measured signatures of the gene per type, and the genes with the most similar predictions."""
    from dashboard.services import perturbation

    method = "perturbation"
    if gene not in perturbation.all_genes(source):
        return Section(method, False, f"{gene} is in none of the network layers of the "
                                      f"{_name(method, source)} dataset.")
    payload = perturbation.default_training(source)
    if payload is None:
        return Section(method, False, "No trained signature model yet; train it on the perturbation page.")
    rows, signatures, similar = [], [], []
    for kind in perturbation.types_of(source):
        pred, status = perturbation.predicted(payload, gene, kind)
        meas = perturbation.measured(gene, kind, source)
        if pred is None and meas is None:
            continue
        r = float(np.corrcoef(pred, meas.reindex(pred.index))[0, 1]) if pred is not None and meas is not None \
            else float("nan")
        rows.append({"type": kind, "status": status or "not predicted", "measured": meas is not None,
                     "pearson_predicted_vs_measured": r})
        frame = pd.DataFrame({"landmark": (pred if pred is not None else meas).index, "type": kind})
        frame["predicted_z"] = pred.to_numpy() if pred is not None else np.nan
        frame["measured_z"] = meas.reindex(frame["landmark"]).to_numpy() if meas is not None else np.nan
        signatures.append(frame)
        close = perturbation.similar_genes(payload, gene, kind, n=n_similar)
        similar.append(close.assign(type=kind))
    if not rows:
        return Section(method, False, f"{gene} has no predicted or measured signature.")
    per_type = pd.DataFrame(rows)
    similar_frame = pd.concat(similar, ignore_index=True).rename(columns={"cosine": "cosine_centred"})
    scored = per_type.dropna(subset=["pearson_predicted_vs_measured"])
    headline = float(scored["pearson_predicted_vs_measured"].mean()) if len(scored) else float("nan")
    facts = [(f"{r.type}: predicted vs measured r",
              f"{r.pearson_predicted_vs_measured:.3f} ({r.status})" if np.isfinite(r.pearson_predicted_vs_measured)
              else f"no measured signature ({r.status})") for r in per_type.itertuples()]
    first = similar_frame[similar_frame["type"] == per_type["type"].iloc[0]]
    facts.append((f"most similar predicted {per_type['type'].iloc[0]} signatures",
                  ", ".join(f"{g} ({c:.2f})" for g, c in zip(first["gene"][:5], first["cosine_centred"][:5]))))
    held = scored[scored["status"] == "held-out"]
    summary = (f"Signatures of {gene} are predicted for {plural(len(per_type), 'perturbation type')}"
               + (f"; against the measured ones, r = {headline:.2f} on average" if np.isfinite(headline) else "")
               + (f" ({len(held)} held out from training)" if len(held) else "") + ".")
    related = {"similar signatures": list(dict.fromkeys(similar_frame.sort_values("cosine_centred",
                                                                                     ascending=False)["gene"]))}
    together = (f"Its predicted perturbation signatures agree with the measured ones at r {headline:.2f}."
                if np.isfinite(headline) else "")
    return Section(method, True, summary, facts, {"signature_agreement": per_type,
                   "signatures": pd.concat(signatures, ignore_index=True), "similar_signatures": similar_frame},
                   headline, related, together)


SECTIONS = {"essentiality": essentiality_section, "decode": decode_section, "dko": dko_section,
            "perturbation": perturbation_section}


def _name(kind: str, source: str) -> str:
    return DATASETS[kind] if is_demo(source) else kind


# --- the card -------------------------------------------------------------------------------

def concordance(gene: str, sections: dict[str, Section]) -> str:
    """What the methods say together about a gene, in numbers (shared partners named)."""
    have = [m for m in METHODS if sections[m].available]
    if not have:
        return f"No method has data on {gene}."
    parts = [f"{len(have)} of {len(METHODS)} methods have results on {gene}."]
    parts += [sections[m].together for m in METHODS if sections[m].together]
    ess, dec, dko_, sig = (sections[m] for m in METHODS)
    similar = set(sig.related.get("similar signatures", []))
    partners = [("modifiers", "a modifier of its essentiality"), ("modifier of", "a target it modifies"),
                ("regulators", "one of its top DEcode regulators")]
    for key, label in partners:
        shared = [g for section in (ess, dec) for g in section.related.get(key, []) if g in similar]
        for partner in shared[:3]:
            parts.append(f"{partner}, {label}, is also among the genes with the most similar predicted "
                         f"perturbation signatures.")
    if dec.related.get("as regulator") and dko_.related.get("keystone"):
        parts.append(f"{gene} is also a regulator in DEcode ({dec.related['as regulator'][0]}) and a keystone of "
                     f"the DKO network (rank {dko_.related['keystone'][0]} by mean knockout impact).")
    return " ".join(parts)


@functools.lru_cache(maxsize=64)
def _published_row(gene: str):
    from dashboard.services.essentiality import _published

    published = _published()
    try:
        return published.gene(gene), published.modifier_of(gene)
    except InputError:
        return None, pd.DataFrame()


def gene_card(gene: str, source: str = DEFAULT_DATASET) -> GeneCard:
    """Every method's section on one gene, from stored results only.

    Kept per process while the stored results it reads stay the same (treat the card as read-only).
    """
    return _gene_card(gene, source, _results_token(source))


def _results_token(source: str) -> tuple:
    """Which stored results a card can read, of which datasets: a new result makes a new card."""
    from dashboard.services import dataset_hash, decode, dko, essentiality, perturbation

    return (tuple(dataset_hash(m, source) for m in METHODS),
            essentiality.atlas.result(source=source) is not None,
            decode.training.result(params=decode.training_params(source=source), source=source) is not None,
            dko.sweep.result(steps=dko.DEFAULT_STEPS, source=source) is not None,
            perturbation.default_training(source) is not None)


@functools.lru_cache(maxsize=64)
def _gene_card(gene: str, source: str, _token: tuple) -> GeneCard:
    sections = {m: SECTIONS[m](gene, source) for m in METHODS}
    published, modifier_of = _published_row(gene)
    return GeneCard(gene, sections, published, modifier_of, concordance(gene, sections))


def resolve_gene(requested: str | None) -> tuple[str | None, str | None]:
    """The gene symbol to show for a URL value, and a notice when it was corrected or unknown."""
    text = (requested or "").strip()
    if not text:
        return None, None
    match = lookup_gene(text)
    if match is None:
        return None, (f"{text} is in none of the datasets (gene symbols, e.g. RPP25L); "
                      "search for a gene above.")
    return match, None if match == text else f"Showing {match} (you asked for {text})."


def card_zip(card: GeneCard) -> bytes:
    """All numbers of a card as CSV files in one zip, with a provenance JSON and a README."""
    buffer = io.BytesIO()
    stamp = {m: provenance(m, "gene-card", card.gene) for m in METHODS}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, frame in card.frames().items():
            archive.writestr(f"{card.gene}_{name}.csv", frame.to_csv(index=False))
        archive.writestr("provenance.json", json.dumps({"gene": card.gene, "methods": stamp}, indent=2, default=str))
        lines = [f"Gene card of {card.gene}: numbers behind each section.", "", card.concordance, ""]
        for m in METHODS:
            lines += [f"{METHOD_TITLES[m]} -- dataset {source_label(m)}", f"  {card.sections[m].summary}"]
        if card.published is not None:
            from core.datasets.published import CITATION

            lines += ["", f"published_rosenski2023*.csv: real results, {CITATION} (CC BY 4.0)."]
        archive.writestr("README.txt", "\n".join(lines) + "\n")
    return buffer.getvalue()


# --- a gene list ----------------------------------------------------------------------------

def split_genes(text: str | None) -> list[str]:
    """Gene symbols in pasted text (commas, spaces, tabs, semicolons or new lines), de-duplicated in order."""
    import re

    return list(dict.fromkeys(t for t in re.split(r"[\s,;]+", text or "") if t))


def parse_gene_list(text: str | None) -> list[str]:
    """:func:`split_genes`, refusing more than :data:`MAX_LIST` genes with a message that says so."""
    genes = split_genes(text)
    if len(genes) > MAX_LIST:
        raise InputError(f"{len(genes)} genes given; paste at most {MAX_LIST}.")
    return genes


def matrix_csv(matrix: pd.DataFrame) -> str:
    """The gene list's numbers as CSV: named columns, full precision, provenance in a header comment."""
    header = "".join(f"# {HEADLINE_COLUMNS[m]}: {HEADLINES[m]}; dataset {source_label(m)}\n" for m in METHODS)
    return header + matrix.rename(columns=HEADLINE_COLUMNS).to_csv()


def _headlines(method: str, source: str) -> pd.Series | None:
    """Every gene's headline number of one method, from its stored result (None when there is none)."""
    from dashboard.services import decode, dko, essentiality, perturbation

    if method == "essentiality":
        atlas = essentiality.atlas.result(source=source)
        return None if atlas is None else atlas["test_pearson"].astype(float)
    if method == "decode":
        params = decode.training_params(source=source)
        if decode.training.result(params=params, source=source) is None:
            return None
        fit = decode.load_fit(params, source)
        tissues = [t for t in fit.tasks if t != "median"]
        pred = fit.predictions[tissues].to_numpy(float)
        meas = dataset(method, source).targets.loc[fit.predictions.index, tissues].to_numpy(float)
        pred, meas = pred - pred.mean(1, keepdims=True), meas - meas.mean(1, keepdims=True)
        r = (pred * meas).sum(1) / np.sqrt((pred**2).sum(1) * (meas**2).sum(1))
        return pd.Series(r, index=fit.predictions.index)
    if method == "dko":
        payload = dko.sweep.result(steps=dko.DEFAULT_STEPS, source=source)
        return None if payload is None else payload["table"].groupby("gene")["impact"].mean()
    payload = perturbation.default_training(source)
    if payload is None:
        return None
    per_type = []
    for kind in perturbation.types_of(source):
        predicted = payload.get(f"predicted_{kind}")
        measured = dataset(method, source).signatures.get(kind)
        if predicted is None or measured is None:
            continue
        genes = predicted.index.intersection(measured.index)
        a = predicted.loc[genes].to_numpy(float)
        b = measured.loc[genes, predicted.columns].to_numpy(float)
        a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
        per_type.append(pd.Series((a * b).sum(1) / np.sqrt((a**2).sum(1) * (b**2).sum(1)), index=genes))
    return pd.concat(per_type, axis=1).mean(axis=1) if per_type else None


def gene_matrix(genes: list[str], source: str = DEFAULT_DATASET) -> tuple[pd.DataFrame, list[str]]:
    """Each method's headline number (:data:`HEADLINES`) for each known gene, and the unknown genes.

    Returns
    -------
    (DataFrame, list of str)
        Index ``gene`` = the known genes in the order given, columns = :data:`METHODS`
        (NaN where a method has no result on a gene); and the genes no dataset has.
    """
    found = {g: lookup_gene(g) for g in genes}
    known = list(dict.fromkeys(symbol for symbol in found.values() if symbol))
    unknown = [g for g, symbol in found.items() if symbol is None]
    columns = {}
    for method in METHODS:
        values = _headlines(method, source)
        columns[method] = values.reindex(known) if values is not None else pd.Series(np.nan, index=known)
    return pd.DataFrame(columns, index=pd.Index(known, name="gene")), unknown
