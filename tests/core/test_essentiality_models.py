"""The model zoo: scikit-learn contract, real learning on toy data, MLP save / load."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from core.errors import InputError
from core.essentiality import FAST_MODELS, MODEL_NAMES, make_model
from core.essentiality.mlp import MLPRegressor

torch.set_num_threads(1)
FAST_MLP = {"max_epochs": 150, "patience": 30}


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(260, 4))
    y = 0.8 * x[:, 0] - 0.5 * (x[:, 1] > 0) + 0.1 * rng.normal(size=260)
    return x[:200], y[:200], x[200:], y[200:]


def test_names():
    assert MODEL_NAMES == ("ols", "lasso", "xgboost", "mlp", "gp", "knn", "tree", "xgb_mlp")
    assert set(FAST_MODELS) <= set(MODEL_NAMES) and not {"mlp", "gp", "xgb_mlp"} & set(FAST_MODELS)
    with pytest.raises(InputError, match="unknown model"):
        make_model("svm")


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_learns_and_follows_the_estimator_contract(name, toy):
    x, y, x_test, y_test = toy
    model = make_model(name, random_state=0, mlp_params=FAST_MLP)
    params = model.get_params()
    assert clone(model).get_params().keys() == params.keys()
    assert model.fit(x, y) is model
    pred = model.predict(x_test)
    assert pred.shape == (len(y_test),)
    baseline = np.sqrt(np.mean((y_test - y.mean()) ** 2))
    rmse = np.sqrt(np.mean((y_test - pred) ** 2))
    assert rmse < 0.75 * baseline, (name, rmse, baseline)


def test_xgboost_chooses_a_learning_rate_on_validation(toy):
    x, y, _, _ = toy
    model = make_model("xgboost").fit(x, y)
    assert model.learning_rate_ in (0.05, 0.1, 0.2)
    assert model.learning_rate_ == min(model.validation_scores_, key=model.validation_scores_.get)
    assert 1 <= model.n_trees_ <= 500


def test_mlp_early_stopping_and_save_load_roundtrip(toy, tmp_path):
    x, y, x_test, _ = toy
    model = MLPRegressor(max_epochs=400, patience=20, learning_rate=1e-2).fit(x, y)
    assert model.n_epochs_ < 400 and model.best_epoch_ <= model.n_epochs_
    path = tmp_path / "mlp.pt"
    model.save(path)
    loaded = MLPRegressor.load(path)
    np.testing.assert_allclose(loaded.predict(x_test), model.predict(x_test), rtol=1e-6)
    state = torch.load(path, weights_only=True)
    assert set(state) >= {"x_mean", "x_scale", "y_mean", "y_scale"}


def test_models_validate_their_input(toy):
    x, y, _, _ = toy
    with pytest.raises(ValueError):
        make_model("knn").fit(x[:, :2], y[:10])
    with pytest.raises(ValueError):
        MLPRegressor(max_epochs=0).fit(x, y)
