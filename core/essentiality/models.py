"""The paper's model zoo, each a scikit-learn regressor.

``make_model(name)`` builds one by name; every model standardises its inputs
where the method needs it, so callers pass raw expression.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from core.errors import InputError

#: Zoo names in display order.
MODEL_NAMES: tuple[str, ...] = ("ols", "lasso", "xgboost", "mlp", "gp", "knn", "tree", "xgb_mlp")
#: A quick subset (no MLP, Gaussian process or ensemble).
FAST_MODELS: tuple[str, ...] = ("ols", "lasso", "xgboost", "knn", "tree")
#: The atlas's models, fitted for every target of a dataset: the lasso's penalty is chosen by BIC on one
#: LARS path (about 6x faster than 3-fold CV over 100 penalties).
ATLAS_MODELS: tuple[str, ...] = ("ols", "lasso_bic", "tree")
#: Models beyond the paper's zoo that :func:`make_model` also builds.
EXTRA_MODELS: tuple[str, ...] = ("lasso_bic",)
#: Human-readable labels for the UI.
MODEL_LABELS: dict[str, str] = {
    "ols": "Linear (OLS)", "lasso": "Lasso (CV)", "xgboost": "XGBoost", "mlp": "Neural network",
    "gp": "Gaussian process", "knn": "KNN (k=50)", "tree": "Decision tree (depth 4)",
    "xgb_mlp": "XGBoost + NN average", "lasso_bic": "Lasso (BIC)",
}
XGB_LEARNING_RATES = (0.05, 0.1, 0.2)


class XGBoostRegressor(RegressorMixin, BaseEstimator):
    """XGBoost with the learning rate chosen on a validation split (paper's settings).

    Each candidate learning rate is fitted on ``1 - validation_fraction`` of the
    data with early stopping on the rest; the rate with the lowest validation
    RMSE wins and is refitted on all data with its best number of trees.

    Parameters
    ----------
    max_depth, n_estimators : int
        Tree depth and the most trees.
    learning_rates : tuple of float
        Candidate learning rates; the chosen one is ``learning_rate_``.
    validation_fraction : float
        Share of the data for choosing the rate and the number of trees.
    early_stopping_rounds : int
        Stop adding trees after this many without a better validation RMSE.
    random_state, n_jobs : int
        Seed and xgboost threads.
    """

    def __init__(self, max_depth=5, n_estimators=500, learning_rates=XGB_LEARNING_RATES,
                 validation_fraction=0.1, early_stopping_rounds=40, random_state=0, n_jobs=1):
        self.max_depth = max_depth
        self.n_estimators = n_estimators
        self.learning_rates = learning_rates
        self.validation_fraction = validation_fraction
        self.early_stopping_rounds = early_stopping_rounds
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _booster(self, learning_rate, n_estimators, early_stopping_rounds=None):
        from xgboost import XGBRegressor

        return XGBRegressor(max_depth=self.max_depth, n_estimators=n_estimators, learning_rate=learning_rate,
                            early_stopping_rounds=early_stopping_rounds, random_state=self.random_state,
                            n_jobs=self.n_jobs, tree_method="hist", verbosity=0)

    def fit(self, X, y):
        """Choose the learning rate and number of trees on a validation split, then refit on all rows."""
        X, y = check_X_y(X, y, dtype=np.float64, y_numeric=True)
        if not self.learning_rates:
            raise ValueError("learning_rates must not be empty")
        rng = np.random.default_rng(self.random_state)
        order = rng.permutation(len(y))
        n_val = max(1, int(round(self.validation_fraction * len(y))))
        val, fit = order[:n_val], order[n_val:]
        scores = {}
        for rate in self.learning_rates:
            model = self._booster(rate, self.n_estimators, self.early_stopping_rounds)
            model.fit(X[fit], y[fit], eval_set=[(X[val], y[val])], verbose=False)
            best_iteration = int(model.best_iteration)
            rmse = float(np.sqrt(np.mean((model.predict(X[val], iteration_range=(0, best_iteration + 1))
                                          - y[val]) ** 2)))
            scores[float(rate)] = (rmse, best_iteration + 1)
        self.learning_rate_ = min(scores, key=lambda r: scores[r][0])
        self.n_trees_ = scores[self.learning_rate_][1]
        self.validation_scores_ = {r: s[0] for r, s in scores.items()}
        self.model_ = self._booster(self.learning_rate_, self.n_trees_).fit(X, y)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        """Predictions of the refitted booster."""
        check_is_fitted(self, "model_")
        return self.model_.predict(check_array(X, dtype=np.float64))

    @property
    def feature_importances_(self):
        check_is_fitted(self, "model_")
        return self.model_.feature_importances_


class KNNRegressor(RegressorMixin, BaseEstimator):
    """Distance-weighted k-nearest neighbours on standardised inputs (k capped at the sample size).

    Parameters
    ----------
    n_neighbors : int
        Neighbours (capped at the number of samples: ``n_neighbors_``).
    """

    def __init__(self, n_neighbors=50):
        self.n_neighbors = n_neighbors

    def fit(self, X, y):
        """Standardise the inputs and index the training rows."""
        from sklearn.neighbors import KNeighborsRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        X, y = check_X_y(X, y, dtype=np.float64, y_numeric=True)
        if self.n_neighbors < 1:
            raise ValueError("n_neighbors must be at least 1")
        self.n_neighbors_ = min(int(self.n_neighbors), len(y))
        self.model_ = make_pipeline(StandardScaler(), KNeighborsRegressor(self.n_neighbors_, weights="distance"))
        self.model_.fit(X, y)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        """Distance-weighted mean of the nearest training targets."""
        check_is_fitted(self, "model_")
        return self.model_.predict(check_array(X, dtype=np.float64))


class GPRegressor(RegressorMixin, BaseEstimator):
    """Gaussian process with an RBF kernel (one length scale, no ARD) plus white noise.

    Inputs are standardised. Kernel hyperparameters are fitted by maximum
    marginal likelihood on at most ``max_hyper_samples`` cells (a random
    subset: the optimiser's O(n^3) steps dominate otherwise), then the
    process is conditioned on all cells with those hyperparameters fixed.

    Parameters
    ----------
    max_hyper_samples : int
        Most cells used to fit the kernel hyperparameters.
    random_state : int
        Seed of that subset and of the optimiser.
    """

    def __init__(self, max_hyper_samples=300, random_state=0):
        self.max_hyper_samples = max_hyper_samples
        self.random_state = random_state

    def fit(self, X, y):
        """Fit the kernel on a subset, then condition on every row."""
        from threadpoolctl import threadpool_limits

        X, y = check_X_y(X, y, dtype=np.float64, y_numeric=True)
        # small Cholesky factorisations: threaded BLAS only adds spin-waiting on a busy machine
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit(X, y)

    def _fit(self, X, y):
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
        from sklearn.preprocessing import StandardScaler

        self.scaler_ = StandardScaler().fit(X)
        xs = self.scaler_.transform(X)
        kernel = ConstantKernel(1.0) * RBF(length_scale=np.sqrt(X.shape[1])) + WhiteKernel(noise_level=0.5)
        subset = np.arange(len(y))
        if self.max_hyper_samples and len(y) > self.max_hyper_samples:
            subset = np.random.default_rng(self.random_state).choice(len(y), self.max_hyper_samples, replace=False)
        tuned = GaussianProcessRegressor(kernel=kernel, normalize_y=True, random_state=self.random_state)
        tuned.fit(xs[subset], y[subset])
        self.kernel_ = tuned.kernel_
        if len(subset) == len(y):
            self.model_ = tuned
        else:
            self.model_ = GaussianProcessRegressor(kernel=self.kernel_, optimizer=None, normalize_y=True).fit(xs, y)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        """Posterior mean."""
        from threadpoolctl import threadpool_limits

        check_is_fitted(self, "model_")
        with threadpool_limits(limits=1, user_api="blas"):
            return self.model_.predict(self.scaler_.transform(check_array(X, dtype=np.float64)))


class AverageRegressor(RegressorMixin, BaseEstimator):
    """Mean prediction of several regressors (the paper's XGBoost + MLP ensemble, Fig. 3F).

    Parameters
    ----------
    estimators : sequence of estimators
        Regressors cloned and fitted on the same data.
    """

    def __init__(self, estimators=()):
        self.estimators = estimators

    def fit(self, X, y):
        """Fit a clone of every estimator."""
        X, y = check_X_y(X, y, dtype=np.float64, y_numeric=True)
        if not self.estimators:
            raise ValueError("AverageRegressor needs at least one estimator")
        self.estimators_ = [clone(e).fit(X, y) for e in self.estimators]
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        """Mean of the fitted estimators' predictions."""
        check_is_fitted(self, "estimators_")
        X = check_array(X, dtype=np.float64)
        return np.mean([e.predict(X) for e in self.estimators_], axis=0)


def make_model(name: str, random_state: int = 0, *, mlp_params: dict | None = None):
    """A fresh, unfitted zoo model.

    Parameters
    ----------
    name : str
        One of :data:`MODEL_NAMES` or :data:`EXTRA_MODELS`.
    random_state : int
        Seed for the models that use one.
    mlp_params : dict, optional
        Overrides for :class:`core.essentiality.mlp.MLPRegressor` (e.g.
        ``{"max_epochs": 50}`` in tests), used by ``mlp`` and ``xgb_mlp``.

    Returns
    -------
    sklearn-compatible regressor

    Raises
    ------
    core.errors.InputError
        Unknown model name.
    """
    from sklearn.linear_model import LassoCV, LassoLarsIC, LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeRegressor

    from core.essentiality.mlp import MLPRegressor

    mlp = dict(mlp_params or {})
    if name == "ols":
        return LinearRegression()
    if name == "lasso":
        return make_pipeline(StandardScaler(), LassoCV(cv=3, random_state=random_state, n_jobs=1))
    if name == "xgboost":
        return XGBoostRegressor(random_state=random_state)
    if name == "mlp":
        return MLPRegressor(random_state=random_state, **mlp)
    if name == "gp":
        # a single shared length scale (no ARD): ARD kernels take minutes per gene
        return GPRegressor(random_state=random_state)
    if name == "knn":
        return KNNRegressor(n_neighbors=50)
    if name == "lasso_bic":
        return make_pipeline(StandardScaler(), LassoLarsIC(criterion="bic"))
    if name == "tree":
        return DecisionTreeRegressor(max_depth=4, random_state=random_state)
    if name == "xgb_mlp":
        return AverageRegressor([XGBoostRegressor(random_state=random_state),
                                 MLPRegressor(random_state=random_state, **mlp)])
    raise InputError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES + EXTRA_MODELS)}")


def check_models(models) -> list[str]:
    """Validate a list of zoo names (None: all of :data:`MODEL_NAMES`).

    Parameters
    ----------
    models : str, sequence of str or None
        Zoo names.
    """
    if models is None:
        return list(MODEL_NAMES)
    if isinstance(models, str):
        models = [models]
    models = list(dict.fromkeys(models))
    unknown = [m for m in models if m not in MODEL_NAMES + EXTRA_MODELS]
    if unknown or not models:
        raise InputError(f"unknown model(s) {unknown}; choose from {', '.join(MODEL_NAMES + EXTRA_MODELS)}")
    return models
