"""Shared scikit-learn conventions of the estimators: renamed hyperparameters and labelled output.

The estimators renamed ``seed``, ``lr`` and ``val_fraction`` to scikit-learn's
``random_state``, ``learning_rate`` and ``validation_fraction``. For one
release the old names stay in each ``__init__`` with the default
:data:`DEPRECATED` (scikit-learn's own deprecation pattern): ``get_params``,
``set_params`` and ``clone`` carry them like any other hyperparameter, and
``fit`` maps a set alias to the new name with a ``FutureWarning``.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping

import numpy as np
import pandas as pd

#: Default of a deprecated alias: "not given".
DEPRECATED = "deprecated"
#: Old hyperparameter name -> new name.
RENAMED = {"seed": "random_state", "lr": "learning_rate", "val_fraction": "validation_fraction"}


def _is_unset(value: Any) -> bool:
    return isinstance(value, str) and value == DEPRECATED


def resolved_params(estimator: Any, *names: str) -> tuple:
    """The values ``fit`` uses for hyperparameters ``names``, honouring their deprecated aliases.

    Parameters
    ----------
    estimator : object
        An estimator with the attributes ``names`` and, possibly, their old names.
    *names : str
        Current names (``random_state``, ``learning_rate``, ``validation_fraction``).

    Returns
    -------
    tuple
        Per name, the alias's value when it was set (with a ``FutureWarning``), else the value of the name.

    Examples
    --------
    >>> class Toy:
    ...     random_state, seed, learning_rate = 0, 7, 0.1
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):
    ...     resolved_params(Toy(), "random_state", "learning_rate")
    (7, 0.1)
    """
    old_of = {new: old for old, new in RENAMED.items()}
    values = []
    for new in names:
        old = old_of[new]
        value = getattr(estimator, old, DEPRECATED)
        if _is_unset(value):
            value = getattr(estimator, new)
        else:
            warnings.warn(f"{type(estimator).__name__}: {old} is deprecated and will be removed in the next "
                          f"release; use {new} instead", FutureWarning, stacklevel=3)
        values.append(value)
    return tuple(values)


def current_params(params: Mapping[str, Any], accepted) -> dict[str, Any]:
    """Stored hyperparameters with old names mapped to new ones (models saved before the renaming).

    Parameters
    ----------
    params : mapping
        Hyperparameters as saved by an estimator, old or new names.
    accepted : collection of str
        Parameter names the estimator's ``__init__`` takes; others are dropped.

    Returns
    -------
    dict
        Keyword arguments for the estimator's ``__init__``.

    Examples
    --------
    >>> current_params({"seed": 3, "lr": 0.1}, {"random_state", "learning_rate", "seed", "lr"})
    {'random_state': 3, 'learning_rate': 0.1}
    """
    out = {}
    for key, value in params.items():
        if key in RENAMED:
            if _is_unset(value):
                continue
            key = RENAMED[key]
        if key in accepted:
            out[key] = value
    return out


def labelled(values: np.ndarray, index, columns) -> pd.DataFrame:
    """Predictions as a DataFrame with the caller's row labels and the model's column labels.

    Parameters
    ----------
    values : ndarray
        Two-dimensional predictions, one row per input row.
    index : pandas.Index
        The input's row labels.
    columns : sequence
        Output labels (landmark genes, tissues).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> labelled(np.zeros((1, 2)), pd.Index(["TP53"]), ["liver", "lung"])
          liver  lung
    TP53    0.0   0.0
    """
    return pd.DataFrame(values, index=index, columns=pd.Index(columns))
