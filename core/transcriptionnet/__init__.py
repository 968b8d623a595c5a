"""TranscriptionNet (Zhan et al., arXiv 2403.02724, 2024): perturbation signatures from gene networks.

* :mod:`~core.transcriptionnet.embedding`: random walk with restart on each network layer, integrated
  into one vector per gene by a randomized truncated SVD of the concatenated diffusion states.
* :mod:`~core.transcriptionnet.model` (torch): FunDNN and the cross-type attention refiner.
* :mod:`~core.transcriptionnet.fundnn`, :mod:`~core.transcriptionnet.refine`: their estimators.
* :mod:`~core.transcriptionnet.baselines`: training mean, ridge on the embedding, k nearest neighbours.
* :mod:`~core.transcriptionnet.metrics`: Pearson, Pearson delta, cosine, top-50 Pearson, RMSE.
* :mod:`~core.transcriptionnet.intervals`: paired bootstrap intervals of model minus baseline.
* :mod:`~core.transcriptionnet.connectivity_query`: :func:`connectivity`, CMap-style connectivity query (weighted KS score).
* :mod:`~core.transcriptionnet.pipeline`: :class:`TranscriptionNet` (fit, predict, ``predict_all``).
* ``python -m core.transcriptionnet.validate --data PATH``: the real-data check.

Torch is imported only inside the functions that train or run the networks.
"""

from core.transcriptionnet.baselines import KNNSignature, MeanSignature, RidgeSignature
from core.transcriptionnet.connectivity_query import ConnectivityIndex, connectivity, resolve_genes
from core.transcriptionnet.embedding import check_embedding, network_embedding
from core.transcriptionnet.fundnn import FunDNNRegressor, SignatureScaler
from core.transcriptionnet.intervals import paired_bootstrap, verdict_of
from core.transcriptionnet.metrics import METRICS, signature_metrics, summarise
from core.transcriptionnet.pipeline import MODEL_LABELS, MODELS, STATUS, TYPES, TranscriptionNet, random_split

__all__ = [
    "ConnectivityIndex", "FunDNNRegressor", "KNNSignature", "METRICS", "MODELS", "MODEL_LABELS", "MeanSignature",
    "RidgeSignature", "STATUS", "SignatureScaler", "TYPES", "TranscriptionNet", "check_embedding", "connectivity", "network_embedding",
    "paired_bootstrap", "random_split", "resolve_genes", "signature_metrics", "summarise", "verdict_of",
]
