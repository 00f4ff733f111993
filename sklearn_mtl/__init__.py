"""Multi-task neural networks for scikit-learn that train on the labels you have.

The estimators are imported on first use, so that ``import sklearn_mtl.metrics`` (numpy and
scikit-learn only) does not import torch.
"""

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sklearn-mtl")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

_LAZY_NAMES = {
    "MaskedMultiTaskClassifier": "._classifier",
    "MaskedMultiTaskRegressor": "._regressor",
    "MaskedMultiTaskEstimator": "._estimator",
    "SKOPS_TRUSTED_TYPES": "._persistence",
    "Task": "._tasks",
    "labels_from_long": "._labels",
}

__all__ = [
    "MaskedMultiTaskClassifier",
    "MaskedMultiTaskRegressor",
    "MaskedMultiTaskEstimator",
    "SKOPS_TRUSTED_TYPES",
    "Task",
    "labels_from_long",
    "__version__",
]


def __getattr__(name):
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(_LAZY_NAMES[name], __name__), name)
    raise AttributeError(f"module 'sklearn_mtl' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
