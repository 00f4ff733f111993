"""Multi-task neural networks for scikit-learn that train on the labels you have."""

from importlib.metadata import PackageNotFoundError, version

from ._classifier import MaskedMultiTaskClassifier
from ._persistence import SKOPS_TRUSTED_TYPES
from ._regressor import MaskedMultiTaskRegressor

try:
    __version__ = version("sklearn-mtl")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

__all__ = ["MaskedMultiTaskClassifier", "MaskedMultiTaskRegressor", "SKOPS_TRUSTED_TYPES", "__version__"]
