"""scikit-learn conventions of every estimator in core (issue 14, item 2).

Each estimator goes through ``clone``, ``get_params`` / ``set_params`` (a
misspelt name raises), ``repr`` (parameters, no object address), a pandas
round trip and the checks of :mod:`sklearn.utils.estimator_checks` that fit its
inputs:

* every estimator (with the baselines shown beside the methods): the
  structural checks in ``STRUCTURAL`` (no data needed);
* ``check_estimators_unfitted`` calls ``predict(X)`` with one matrix: it applies
  to DKO, the DEcode CNN (``check_is_fitted`` comes before any use of ``X``),
  FunDNN and the essentiality models, not to the refiner (``predict`` takes
  signatures *and* flags) nor to TranscriptionNet (``predict(kind, genes)``),
  whose not-fitted errors are tested by hand;
* the checks that fit on random ``(X, y)`` matrices apply where ``fit(X, y)``
  takes a samples x features matrix: FunDNN and the essentiality models, and
  DKO for the checks whose ``X`` is non-negative (DKO reads it as genes x
  cells and ignores ``y``). The DEcode CNN and its ridge baseline need binding
  sets (the CNN a validation set too), the signature baselines a genes x
  landmarks ``y``, the refiner three-dimensional signatures and
  TranscriptionNet a mapping of signature tables, so those checks cannot feed
  them.

The essentiality regressors return arrays, like the scikit-learn regressors
they sit beside in :func:`core.essentiality.make_model`.
"""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks as checks

from core.decode.estimator import DecodeCNN
from core.decode.evaluate import RidgeBaseline
from core.dko import DKO, double_knockout_impacts, knockout_impacts
from core.essentiality.mlp import MLPRegressor
from core.essentiality.models import AverageRegressor, GPRegressor, KNNRegressor, XGBoostRegressor
from core.transcriptionnet import FunDNNRegressor, KNNSignature, MeanSignature, RidgeSignature, TranscriptionNet
from core.transcriptionnet.refine import CrossTypeRefinerRegressor

torch.set_num_threads(1)

STRUCTURAL = (checks.check_parameters_default_constructible, checks.check_no_attributes_set_in_init,
              checks.check_get_params_invariance, checks.check_set_params, checks.check_estimator_repr,
              checks.check_estimator_cloneable, checks.check_do_not_raise_errors_in_init_or_set_params,
              checks.check_mixin_order)
FITTING = (checks.check_dont_overwrite_parameters, checks.check_fit_check_is_fitted,
           checks.check_estimators_fit_returns_self, checks.check_estimators_overwrite_params,
           checks.check_n_features_in, checks.check_estimators_unfitted)
NON_NEGATIVE_FITTING = (checks.check_dont_overwrite_parameters, checks.check_fit_check_is_fitted,
                        checks.check_estimators_unfitted)

TINY = {
    "DKO": DKO(n_steps=5),
    "DecodeCNN": DecodeCNN(n_restarts=1, max_epochs=1, rna_channels=4, promoter_channels=4, hidden=4),
    "FunDNNRegressor": FunDNNRegressor(hidden=8, max_epochs=2, patience=1),
    "CrossTypeRefinerRegressor": CrossTypeRefinerRegressor(d_model=8, n_heads=2, max_epochs=2),
    "TranscriptionNet": TranscriptionNet(hidden=8, max_epochs=2, refine_epochs=2),
    "MLPRegressor": MLPRegressor(hidden=(4,), dropout=(0.0,), max_epochs=3, patience=2),
    "XGBoostRegressor": XGBoostRegressor(n_estimators=3, learning_rates=(0.1,), early_stopping_rounds=2),
    "KNNRegressor": KNNRegressor(n_neighbors=3),
    "GPRegressor": GPRegressor(max_hyper_samples=20),
    "AverageRegressor": AverageRegressor([KNNRegressor(n_neighbors=3)]),
    "RidgeBaseline": RidgeBaseline(),
    "MeanSignature": MeanSignature(),
    "RidgeSignature": RidgeSignature(),
    "KNNSignature": KNNSignature(k=3),
}
UNFITTED = (checks.check_estimators_unfitted,)
DATA_CHECKS = {"DKO": NON_NEGATIVE_FITTING, "DecodeCNN": UNFITTED, "RidgeBaseline": UNFITTED,
               "MeanSignature": UNFITTED, "RidgeSignature": UNFITTED, "KNNSignature": UNFITTED,
               "FunDNNRegressor": FITTING, "MLPRegressor": FITTING, "XGBoostRegressor": FITTING,
               "KNNRegressor": FITTING, "GPRegressor": FITTING, "AverageRegressor": FITTING}
#: Estimators whose old hyperparameter names still work for one release.
ALIASES = {"DKO": {"seed": "random_state", "val_fraction": "validation_fraction"},
           "DecodeCNN": {"seed": "random_state", "lr": "learning_rate"},
           "FunDNNRegressor": {"seed": "random_state", "lr": "learning_rate"},
           "CrossTypeRefinerRegressor": {"seed": "random_state", "lr": "learning_rate"},
           "TranscriptionNet": {"seed": "random_state", "lr": "learning_rate"}}


@pytest.mark.parametrize("name", TINY)
def test_clone_params_and_repr(name):
    est = TINY[name]
    twin = clone(est)
    assert twin is not est and repr(twin) == repr(est) and twin.get_params().keys() == est.get_params().keys()
    params = est.get_params(deep=False)
    assert twin.set_params(**params) is twin and repr(twin) == repr(est)
    with pytest.raises(ValueError, match="Invalid parameter"):
        clone(est).set_params(n_step=10)
    text = repr(est)
    assert text.startswith(f"{name}(") and " at 0x" not in text and not re.search(r"0x[0-9a-f]{6,}", text)
    assert "deprecated" not in text


@pytest.mark.parametrize("name", TINY)
def test_structural_estimator_checks(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # check_set_params warns about fuzz values it sets on purpose
        for check in STRUCTURAL:
            check(name, TINY[name])


@pytest.mark.parametrize("name", DATA_CHECKS)
def test_estimator_checks_that_fit_on_matrices(name):
    for check in DATA_CHECKS[name]:
        check(name, TINY[name])


@pytest.mark.parametrize("name", ALIASES)
def test_deprecated_aliases_map_to_the_new_names_and_survive_clone(name):
    for old, new in ALIASES[name].items():
        value = 0.25 if "fraction" in new else (7 if new == "random_state" else 0.5)
        est = clone(TINY[name]).set_params(**{old: value})
        twin = clone(est)
        assert twin.get_params()[old] == value and twin.get_params()[new] == TINY[name].get_params()[new]
        assert f"{old}=" in repr(twin)


def test_unfitted_models_raise_not_fitted_error():
    for est, call in ((CrossTypeRefinerRegressor(), lambda e: e.predict(np.zeros((2, 3, 4)), np.zeros((2, 3)))),
                      (TranscriptionNet(), lambda e: e.predict("OE", ["A"])),
                      (DKO(), lambda e: e.weights()), (DecodeCNN(), lambda e: e.to_bytes())):
        with pytest.raises(NotFittedError):
            call(est)


# --- pandas round trips -----------------------------------------------------

def _expression(n_genes=6, n_cells=24, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.random((n_genes, n_cells)) * (rng.random((n_genes, n_cells)) < 0.7)
    values[0] += 0.1  # no empty cell
    return pd.DataFrame(values, index=[f"g{i}" for i in range(n_genes)], columns=[f"c{j}" for j in range(n_cells)])


def test_dko_pandas_round_trip_and_the_seed_alias():
    P = _expression()
    model = DKO(n_steps=20, random_state=4).fit(P)
    shuffled = P.iloc[::-1, ::2]
    predicted = model.predict(shuffled)
    assert list(predicted.index) == list(P.index) and list(predicted.columns) == list(shuffled.columns)
    with pytest.warns(FutureWarning, match="seed is deprecated.*random_state"):
        old = DKO(n_steps=20, seed=4).fit(P)
    pd.testing.assert_frame_equal(old.predict(P), model.predict(P))
    assert old.get_params()["seed"] == 4  # stored unmodified: clone gives the same model again


def test_dko_same_int_labelled_frame_everywhere():
    P = _expression().reset_index(drop=True).T.reset_index(drop=True).T  # integer labels on both axes
    model = DKO(n_steps=20).fit(P)
    assert model.predict(P).index.equals(P.index) and model.predict(P).columns.equals(P.columns)
    assert len(knockout_impacts(model, P)) == int((P > 0).to_numpy().sum())
    assert len(double_knockout_impacts(model, P, n_random=5)) == 5


def test_fundnn_pandas_round_trip():
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.normal(size=(30, 4)), index=[f"G{i}" for i in range(30)], columns=list("abcd"))
    y = pd.DataFrame(rng.normal(size=(30, 3)), index=x.index, columns=["L1", "L2", "L3"])
    model = FunDNNRegressor(hidden=8, max_epochs=3, random_state=0).fit(x, y)
    out = model.predict(x.iloc[5:9])
    assert list(out.index) == list(x.index[5:9]) and list(out.columns) == ["L1", "L2", "L3"]
    np.testing.assert_allclose(out.to_numpy(), model.predict(x.iloc[5:9].to_numpy()))
    assert model.predict(x.to_numpy()[:2]).shape == (2, 3)  # arrays in, arrays out


@pytest.fixture(scope="module")
def decode_sets():
    from core.datasets import make_decode_demo
    from core.decode.features import DecodePreprocessor, make_split

    data = make_decode_demo(seed=0, n_genes=100, n_tissues=4)
    split = make_split(data)
    pre = DecodePreprocessor(min_genes=5).fit(data, split.train)
    y = pd.DataFrame(pre.scale_targets(data.targets.loc[split.train]), index=split.train, columns=pre.tasks_)
    return (pre.transform(data, split.train), y, pre.transform(data, split.validate),
            pre.scale_targets(data.targets.loc[split.validate]), split)


def test_decode_cnn_pandas_round_trip_and_save(decode_sets, tmp_path):
    X, y, X_val, y_val, split = decode_sets
    model = clone(TINY["DecodeCNN"]).fit(X, y, X_val, y_val)
    out = model.predict(X_val)
    assert list(out.index) == list(split.validate) and list(out.columns) == list(y.columns)
    assert isinstance(clone(TINY["DecodeCNN"]).fit(X, y.to_numpy(), X_val, y_val).predict(X_val), np.ndarray)
    pd.testing.assert_frame_equal(DecodeCNN.load(model.save(tmp_path / "m")).predict(X_val), out)


def test_loading_models_saved_with_the_old_names(decode_sets):
    X, y, X_val, y_val, _ = decode_sets
    raw, config = clone(TINY["DecodeCNN"]).fit(X, y, X_val, y_val).to_bytes()
    params = {("seed" if k == "random_state" else "lr" if k == "learning_rate" else k): v
              for k, v in config["params"].items() if k not in ("seed", "lr")}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no FutureWarning: the old names are translated, not passed on
        loaded = DecodeCNN.from_bytes(raw, {**config, "params": params})
    assert loaded.get_params()["random_state"] == config["params"]["random_state"]
    assert loaded.get_params()["seed"] == "deprecated"
