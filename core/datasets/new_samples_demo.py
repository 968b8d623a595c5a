"""Seeded demo of new, unscreened samples for the essentiality-of-new-samples page.

Rosenski et al. (2023) apply models trained on DepMap cell lines to developmental tissues from the
Descartes atlas and flag tissues whose predicted essentiality differs from the mean prediction.
:func:`make_new_samples_demo` simulates such a set from the essentiality demo
(:func:`core.datasets.make_essentiality_demo`): every sample is a reference cell line's expression
profile plus noise, grouped into "developmental tissues" (each with the reference's share of cell lines
whose driver paralog is lost, so that tissues differ only by chance), and in one planted tissue the
driver paralog of a planted target is lost (RPP25 in Adrenal by default, so RPP25L should be
predicted more essential there). The profiles are given as linear TPM (``2**x - 1`` of the
simulated log2(TPM+1)), as an atlas would ship them, so the page has to put them on the
reference's scale. The data are SIMULATED; no sample is a real tissue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.datasets.essentiality_demo import EXPRESSION_MAX, PARALOG_THRESHOLD, PARALOGS, EssentialityData
from core.errors import InputError

#: Simulated "developmental tissues" (names only: every profile is a resampled demo cell line).
TISSUES: tuple[str, ...] = ("Adrenal", "Brain", "Heart", "Intestine", "Kidney", "Liver", "Lung", "Muscle",
                            "Stomach")
PLANTED_TARGET = "RPP25L"
PLANTED_GROUP = "Adrenal"
#: log2(TPM+1) of the driver in the planted group: N(LOST_MEAN, LOST_SD), well below PARALOG_THRESHOLD.
LOST_MEAN, LOST_SD = 1.0, 0.3
NOISE_SD = 0.25  # added to every gene's log2(TPM+1)
GROUP_COLUMN = "tissue"


@dataclass
class NewSamplesData:
    """Simulated new samples with tissue groups and one planted group.

    Attributes
    ----------
    expression
        Samples x genes, linear TPM (float64), the demo's genes.
    groups
        Tissue by sample (name ``tissue``).
    truth
        ``target``, ``driver``, ``group``: the planted group, where the driver is lost.
    params
        Generator arguments.
    """

    expression: pd.DataFrame
    groups: pd.Series
    truth: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    @property
    def description(self) -> str:
        """One paragraph for the UI saying what is simulated and what is planted."""
        t = self.truth
        return (f"SIMULATED new samples, not real tissues: {len(self.expression)} profiles in "
                f"{self.groups.nunique()} made-up 'developmental tissues' ({self.params.get('n_per_group')} each), "
                f"each a demo cell line's expression plus noise, given as linear TPM. Planted: {t['driver']} is "
                f"lost in {t['group']}, so {t['target']} should be predicted more essential there.")

    def to_table(self) -> pd.DataFrame:
        """Samples x (``tissue`` + genes), the layout the page accepts as an upload."""
        return pd.concat([self.groups, self.expression], axis=1)


def make_new_samples_demo(reference: EssentialityData, seed: int = 0, n_per_group: int = 24,
                          tissues: tuple[str, ...] = TISSUES, planted_group: str = PLANTED_GROUP,
                          target: str = PLANTED_TARGET, linear: bool = True) -> NewSamplesData:
    """Simulate grouped new samples from the essentiality demo, with one planted group.

    Parameters
    ----------
    reference
        The essentiality demo (its expression is resampled).
    seed
        Seed of the random generator; the output is a pure function of the arguments and ``reference``.
    n_per_group
        Samples per tissue.
    tissues
        Group names.
    planted_group
        The tissue in which ``target``'s driver paralog is lost.
    target
        A paralog target of the demo (a key of ``PARALOGS``).
    linear
        Give TPM (True) or log2(TPM+1) (False).

    Returns
    -------
    NewSamplesData
    """
    if target not in PARALOGS:
        raise InputError(f"target must be one of the demo's paralog targets ({', '.join(PARALOGS)}); got {target!r}")
    if planted_group not in tissues:
        raise InputError(f"planted_group {planted_group!r} is not one of the tissues")
    if n_per_group < 3:
        raise InputError(f"n_per_group must be at least 3; got {n_per_group}")
    driver = PARALOGS[target][0]
    rng = np.random.default_rng(seed)
    x = reference.expression.to_numpy(np.float64)
    n = n_per_group * len(tissues)
    col = reference.expression.columns.get_loc(driver)
    # every tissue gets the reference's share of driver-lost cell lines, so only the planted one differs
    lost = np.flatnonzero(x[:, col] < PARALOG_THRESHOLD)
    kept = np.flatnonzero(x[:, col] >= PARALOG_THRESHOLD)
    k_lost = int(round(len(lost) / len(x) * n_per_group))
    rows = np.concatenate([np.concatenate([rng.choice(lost, k_lost, replace=k_lost > len(lost)),
                                           rng.choice(kept, n_per_group - k_lost, replace=n_per_group > len(kept))])
                           for _ in tissues])
    values = x[rows] + rng.normal(0.0, NOISE_SD, (n, x.shape[1]))
    labels = np.repeat(np.array(tissues, dtype=object), n_per_group)
    planted = labels == planted_group
    values[planted, col] = rng.normal(LOST_MEAN, LOST_SD, planted.sum())
    values = np.clip(values, 0.0, EXPRESSION_MAX)
    if linear:
        values = np.exp2(values) - 1.0
    ids = [f"{t[:3].upper()}-{i + 1:02d}" for t in tissues for i in range(n_per_group)]
    index = pd.Index(ids, name="sample")
    expression = pd.DataFrame(np.round(values, 4), index=index, columns=reference.expression.columns.copy())
    groups = pd.Series(labels, index=index, name=GROUP_COLUMN).astype(str)
    assert LOST_MEAN + 3 * LOST_SD < PARALOG_THRESHOLD
    return NewSamplesData(expression=expression, groups=groups,
                          truth={"target": target, "driver": driver, "group": planted_group},
                          params={"seed": seed, "n_per_group": n_per_group, "tissues": list(tissues),
                                  "planted_group": planted_group, "target": target, "linear": linear})
