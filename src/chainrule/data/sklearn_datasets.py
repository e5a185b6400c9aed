"""The small real datasets that ship inside scikit-learn (no download): digits, iris, breast-cancer, wine, diabetes."""

from __future__ import annotations

import numpy as np

from ..errors import DataError

LOADERS = {
    "digits": "load_digits",
    "iris": "load_iris",
    "breast-cancer": "load_breast_cancer",
    "wine": "load_wine",
    "diabetes": "load_diabetes",
}


def load_sklearn(name: str):
    """(X float32, y, class_names) of a scikit-learn bundled dataset."""
    try:
        import sklearn.datasets as skd
    except ImportError:
        raise DataError(
            f"dataset {name!r} comes with scikit-learn, which is not installed: pip install 'chainrule[datasets]'"
        ) from None
    bunch = getattr(skd, LOADERS[name])()
    X = np.asarray(bunch.data, dtype=np.float32)
    if name == "diabetes":
        return X, np.asarray(bunch.target, dtype=np.float32).reshape(-1, 1), []
    names = [str(n) for n in getattr(bunch, "target_names", [])]
    return X, np.asarray(bunch.target, dtype=np.int64), names
