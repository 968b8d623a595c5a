"""TranscriptionNet end to end: FunDNN per type, cross-type refinement, baselines, held-out metrics.

:class:`TranscriptionNet` takes one embedding per gene (from
:func:`core.transcriptionnet.embedding.network_embedding` or precomputed) and the
measured signatures of each perturbation type with a train / valid / test split of
their genes. Test genes are used only for the final metrics; early stopping uses the
validation genes.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from core.errors import InputError
from core.estimator_params import DEPRECATED, resolved_params
from core.transcriptionnet.baselines import KNNSignature, MeanSignature, RidgeSignature
from core.transcriptionnet.embedding import check_embedding
from core.transcriptionnet.fundnn import FunDNNRegressor
from core.transcriptionnet.metrics import signature_metrics, summarise

Progress = Callable[[float, str], None]
TYPES = ("RNAi", "CRISPR", "OE")
MODELS = ("fundnn", "refined", "mean", "ridge", "knn")
MODEL_LABELS = {"fundnn": "FunDNN", "refined": "FunDNN + cross-type refiner", "mean": "training mean",
                "ridge": "ridge on embedding", "knn": "k nearest network neighbours"}
STATUS = ("measured", "held-out", "predicted only")
MIN_TRAIN, MIN_VALID = 10, 2


def random_split(genes: Sequence[str], valid: float = 0.15, test: float = 0.15, seed: int = 0) -> dict[str, list]:
    """Random train / valid / test split of a type's perturbed genes (seeded).

    Parameters
    ----------
    genes : sequence of str
        The measured genes of one type.
    valid, test : float
        Shares of the validation and test genes.
    seed : int
        Seed of the permutation.

    Returns
    -------
    dict
        ``{"train": [...], "valid": [...], "test": [...]}``, each sorted.
    """
    genes = list(map(str, genes))
    order = np.random.default_rng(seed).permutation(len(genes))
    n_test, n_valid = int(round(test * len(genes))), int(round(valid * len(genes)))
    pick = lambda idx: sorted(genes[i] for i in idx)  # noqa: E731
    return {"test": pick(order[:n_test]), "valid": pick(order[n_test:n_test + n_valid]),
            "train": pick(order[n_test + n_valid:])}


def _stage(progress: Progress | None, start: float, width: float) -> Progress:
    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(start + width * max(0.0, min(1.0, fraction)), message)
    return report


class TranscriptionNet(BaseEstimator):
    """Predict RNAi / CRISPR / OE landmark signatures of any gene from its network embedding.

    Parameters
    ----------
    types : sequence of str
        Perturbation types modelled (their signatures are refined against each other).
    hidden, dropout, learning_rate, batch_size, max_epochs, patience
        FunDNN hyperparameters (see :class:`core.transcriptionnet.fundnn.FunDNNRegressor`).
    refine : bool
        Train the cross-type attention refiner (needs at least two types).
    refine_folds : int
        Folds of the cross-fitting that gives the refiner honest (out-of-fold) FunDNN predictions
        for its training genes.
    refine_epochs, refine_patience : int
        Refiner training length and early-stopping patience.
    knn_k : int
        Neighbours of the kNN baseline.
    random_state : int
        Seed of every random step.
    lr, seed
        Deprecated aliases of ``learning_rate`` and ``random_state`` (removed in the next release).

    Attributes
    ----------
    types_ : tuple of str
        The types modelled.
    genes_ : pandas.Index
        Genes with an embedding (the genes :meth:`predict_all` covers).
    splits_ : dict
        Type -> ``{"train", "valid", "test"}`` gene lists actually used (genes with an embedding).
    dropped_ : dict
        Type -> measured genes left out because they have no embedding.
    per_gene_ : pandas.DataFrame
        Held-out metrics per type, model and gene.
    summary_ : pandas.DataFrame
        Mean held-out metrics per type and model.
    seconds_ : dict
        Wall time per step.

    Examples
    --------
    >>> from core.datasets import make_perturbation_demo
    >>> from core.transcriptionnet import TranscriptionNet, network_embedding
    >>> data = make_perturbation_demo(seed=0, n_genes=150, n_landmarks=10, n_measured=60)
    >>> embedding = network_embedding(data.layers, dim=6)
    >>> model = TranscriptionNet(types=("RNAi", "OE"), hidden=16, learning_rate=1e-3, max_epochs=3,
    ...                          refine_epochs=2, random_state=0).fit(embedding, data.signatures)
    >>> predictions, status = model.predict_all("OE")
    >>> predictions.shape, sorted(status.unique())
    ((150, 10), ['held-out', 'measured', 'predicted only'])
    """

    def __init__(self, types: Sequence[str] = TYPES, hidden: int = 1024, dropout: float = 0.1,
                 learning_rate: float = 1e-4, batch_size: int = 32, max_epochs: int = 150, patience: int = 15,
                 refine: bool = True, refine_folds: int = 2, refine_epochs: int = 100, refine_patience: int = 10,
                 knn_k: int = 10, random_state: int = 0, lr=DEPRECATED, seed=DEPRECATED):
        self.types = types
        self.hidden = hidden
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.refine = refine
        self.refine_folds = refine_folds
        self.refine_epochs = refine_epochs
        self.refine_patience = refine_patience
        self.knn_k = knn_k
        self.random_state = random_state
        self.lr = lr
        self.seed = seed

    # -- fitting -------------------------------------------------------------------------
    def _fundnn(self, learning_rate: float, seed: int) -> FunDNNRegressor:
        return FunDNNRegressor(hidden=self.hidden, dropout=self.dropout, learning_rate=learning_rate,
                               batch_size=self.batch_size, max_epochs=self.max_epochs, patience=self.patience,
                               random_state=seed)

    def _check_inputs(self, types, embedding, signatures, splits, seed):
        if not types or any(t not in signatures for t in types):
            missing = [t for t in types if t not in signatures]
            raise InputError(f"signatures are missing for perturbation type(s) {', '.join(missing)}")
        if self.refine_folds < 2:
            raise InputError(f"refine_folds must be at least 2, got {self.refine_folds}")
        embedding = check_embedding(embedding)
        landmarks = None
        clean_splits, dropped, clean = {}, {}, {}
        for t in types:
            sig = clean[t] = signatures[t].set_axis(signatures[t].index.astype(str), axis=0)
            if sig.index.has_duplicates:
                raise InputError(f"{t} signatures list some genes twice (e.g. "
                                 f"{', '.join(sig.index[sig.index.duplicated()][:5])})")
            if landmarks is None:
                landmarks = sig.columns
            elif not sig.columns.equals(landmarks):
                raise InputError(f"{t} signatures have different landmark genes from {types[0]}; all types "
                                 f"must share the same landmarks in the same order")
            split = splits[t] if splits is not None and t in splits else random_split(sig.index, seed=seed)
            unknown = set().union(*map(set, split.values())) - set(sig.index)
            if unknown:
                raise InputError(f"the {t} split names genes without a {t} signature (e.g. "
                                 f"{', '.join(sorted(unknown)[:5])})")
            have = set(embedding.index)
            clean_splits[t] = {part: [g for g in split.get(part, []) if g in have] for part in ("train", "valid", "test")}
            dropped[t] = sorted(g for part in split.values() for g in part if g not in have)
            if len(clean_splits[t]["train"]) < MIN_TRAIN or len(clean_splits[t]["valid"]) < MIN_VALID:
                raise InputError(
                    f"{t}: only {len(clean_splits[t]['train'])} training and {len(clean_splits[t]['valid'])} "
                    f"validation genes have an embedding; at least {MIN_TRAIN} and {MIN_VALID} are needed")
        return embedding, landmarks, clean_splits, dropped, clean

    def fit(self, embedding: pd.DataFrame, signatures: Mapping[str, pd.DataFrame],
            splits: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
            progress: Progress | None = None) -> "TranscriptionNet":
        """Train FunDNN, the refiner and the baselines per type, then score the held-out genes.

        Parameters
        ----------
        embedding
            Genes x dimensions; every gene here gets a prediction.
        signatures
            Type -> measured signatures (genes x landmarks, the same landmarks for every type).
        splits
            Type -> ``{"train": [...], "valid": [...], "test": [...]}``; default a seeded random
            70 / 15 / 15 split per type. Measured genes without an embedding are left out (``dropped_``).
        progress
            Optional callback ``(fraction, message)``.

        Returns
        -------
        TranscriptionNet
            ``self``.
        """
        started = time.perf_counter()
        learning_rate, seed = resolved_params(self, "learning_rate", "random_state")
        self.types_ = types = tuple(self.types)
        embedding, landmarks, self.splits_, self.dropped_, clean = self._check_inputs(
            types, embedding, signatures, splits, seed)
        self.genes_, self.landmarks_, self.embedding_ = embedding.index, landmarks, embedding
        self.signatures_ = {t: clean[t].astype(np.float32) for t in types}
        x_all = embedding.to_numpy(np.float32)
        pos = {g: i for i, g in enumerate(self.genes_)}
        rows = lambda genes: np.array([pos[g] for g in genes], dtype=np.int64)  # noqa: E731
        n_types = len(types)
        do_refine = self.refine and n_types >= 2
        width = 0.8 / n_types if do_refine else 0.95 / n_types
        self.fundnn_, self.baselines_, oof = {}, {}, {}
        base = {}
        self.seconds_ = {}
        for k, t in enumerate(types):
            tick = time.perf_counter()
            split, sig = self.splits_[t], self.signatures_[t]
            x_tr, y_tr = x_all[rows(split["train"])], sig.loc[split["train"]].to_numpy()
            x_va, y_va = x_all[rows(split["valid"])], sig.loc[split["valid"]].to_numpy()
            share = 1.0 / (1 + (self.refine_folds if do_refine else 0))
            self.fundnn_[t] = self._fundnn(learning_rate, seed).fit(x_tr, y_tr, x_va, y_va,
                                                 progress=_stage(progress, k * width, width * share))
            base[t] = self.fundnn_[t].predict(x_all)
            self.baselines_[t] = {"mean": MeanSignature().fit(x_tr, y_tr), "ridge": RidgeSignature().fit(x_tr, y_tr),
                                  "knn": KNNSignature(self.knn_k).fit(x_tr, y_tr)}
            if do_refine:  # cross-fitted FunDNN predictions for the refiner's training genes
                folds = np.random.default_rng(seed).permutation(len(x_tr)) % self.refine_folds
                oof[t] = np.zeros_like(y_tr)
                for f in range(self.refine_folds):
                    part = self._fundnn(learning_rate, seed).fit(
                        x_tr[folds != f], y_tr[folds != f], x_va, y_va,
                        progress=_stage(progress, k * width + width * share * (f + 1), width * share))
                    oof[t][folds == f] = part.predict(x_tr[folds == f])
            self.seconds_[f"fundnn_{t}"] = time.perf_counter() - tick
        self.base_ = {t: pd.DataFrame(base[t], index=self.genes_, columns=landmarks) for t in types}
        self.refiners_ = {}
        if do_refine:
            from core.transcriptionnet.refine import CrossTypeRefinerRegressor

            for k, t in enumerate(types):
                tick = time.perf_counter()
                split = self.splits_[t]
                s_tr, m_tr = self._refiner_inputs(t, split["train"], own=oof[t])
                s_va, m_va = self._refiner_inputs(t, split["valid"])
                scaler = self.fundnn_[t].scaler_
                self.refiners_[t] = CrossTypeRefinerRegressor(
                    target=k, max_epochs=self.refine_epochs, patience=self.refine_patience, random_state=seed,
                ).fit(s_tr, m_tr, scaler.transform(self.signatures_[t].loc[split["train"]].to_numpy()),
                      s_va, m_va, scaler.transform(self.signatures_[t].loc[split["valid"]].to_numpy()),
                      progress=_stage(progress, 0.8 + k * 0.15 / n_types, 0.15 / n_types))
                self.seconds_[f"refiner_{t}"] = time.perf_counter() - tick
        self._score()
        self.seconds_["total"] = time.perf_counter() - started
        if progress is not None:
            progress(1.0, "models trained and scored")
        return self

    def _measured_for_input(self, t: str) -> set:
        """Genes whose measured ``t`` signature may feed the refiner (train + valid, never test)."""
        return set(self.splits_[t]["train"]) | set(self.splits_[t]["valid"])

    def _refiner_inputs(self, target: str, genes: Sequence[str], own: np.ndarray | None = None):
        """Scaled (genes, types, landmarks) inputs and measured flags for refining ``target``."""
        genes = list(genes)
        sigs = np.zeros((len(genes), len(self.types_), len(self.landmarks_)), dtype=np.float32)
        flags = np.zeros((len(genes), len(self.types_)), dtype=np.int64)
        scaler = self.fundnn_[target].scaler_
        for u_idx, u in enumerate(self.types_):
            if u == target:
                values = own if own is not None else self.base_[u].loc[genes].to_numpy()
                sigs[:, u_idx] = scaler.transform(values)
                continue
            measured = self._measured_for_input(u)
            use = np.array([g in measured for g in genes], dtype=bool)
            values = self.base_[u].loc[genes].to_numpy().copy()
            if use.any():
                values[use] = self.signatures_[u].loc[[g for g, m in zip(genes, use) if m]].to_numpy()
            sigs[:, u_idx] = self.fundnn_[u].scaler_.transform(values)
            flags[:, u_idx] = use
        return sigs, flags

    # -- prediction and scoring -------------------------------------------------------------
    def predict(self, kind: str, genes: Sequence[str], model: str = "refined") -> pd.DataFrame:
        """Predicted signatures of ``genes`` by one model.

        Parameters
        ----------
        kind : str
            Perturbation type, one of ``types_``.
        genes : sequence of str
            Genes with an embedding.
        model : str
            ``fundnn``, ``refined`` (FunDNN when no refiner was trained), ``mean``, ``ridge`` or ``knn``.

        Returns
        -------
        pandas.DataFrame
            Genes x landmarks (float32), index named ``gene``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        check_is_fitted(self, "base_", msg="this TranscriptionNet is not trained yet; call fit first")
        if kind not in self.types_:
            raise InputError(f"unknown perturbation type {kind!r}; choose one of {', '.join(self.types_)}")
        genes = [str(g) for g in genes]
        unknown = [g for g in genes if g not in self.base_[kind].index]
        if unknown:
            raise InputError(f"no network embedding for {', '.join(unknown[:5])}; predictions need an embedding")
        if model == "refined" and not self.refiners_:
            model = "fundnn"
        if model == "fundnn":
            values = self.base_[kind].loc[genes].to_numpy()
        elif model == "refined":
            s, m = self._refiner_inputs(kind, genes)
            values = self.fundnn_[kind].scaler_.inverse_transform(self.refiners_[kind].predict(s, m))
        elif model in ("mean", "ridge", "knn"):
            values = self.baselines_[kind][model].predict(self.embedding_.loc[genes].to_numpy())
        else:
            raise InputError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
        return pd.DataFrame(np.asarray(values, np.float32), index=pd.Index(genes, name="gene"),
                            columns=self.landmarks_)

    def predict_all(self, kind: str, model: str = "refined") -> tuple[pd.DataFrame, pd.Series]:
        """A signature for every gene with an embedding, and each gene's status.

        Parameters
        ----------
        kind : str
            Perturbation type, one of ``types_``.
        model : str
            As in :meth:`predict`.

        Returns
        -------
        predictions : pandas.DataFrame
            Genes x landmarks (float32).
        status : pandas.Series
            ``measured`` (a training or validation gene of this type), ``held-out`` (a test gene:
            measured but hidden from training) or ``predicted only`` (never measured).
        """
        predictions = self.predict(kind, list(self.genes_), model)
        status = pd.Series("predicted only", index=self.genes_, name="status")
        status[status.index.isin(self._measured_for_input(kind))] = "measured"
        status[status.index.isin(self.splits_[kind]["test"])] = "held-out"
        return predictions, status

    def _score(self) -> None:
        frames = []
        for t in self.types_:
            test = self.splits_[t]["test"]
            if not test:
                continue
            measured = self.signatures_[t].loc[test]
            mean = self.baselines_[t]["mean"].mean_
            models = [m for m in MODELS if m != "refined" or self.refiners_]
            for model in models:
                metrics = signature_metrics(self.predict(t, test, model), measured, mean)
                frames.append(metrics.assign(type=t, model=model).reset_index())
        self.per_gene_ = (pd.concat(frames, ignore_index=True) if frames else
                          pd.DataFrame(columns=["gene", "type", "model"]))
        self.summary_ = summarise(self.per_gene_) if frames else pd.DataFrame()
