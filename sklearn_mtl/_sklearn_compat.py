"""The private scikit-learn names the package uses, imported here and nowhere else.

They are not part of scikit-learn's public API and may move between releases; when one does, this
module is the one place to adapt. It imports numpy and scikit-learn only (never torch), so that
``sklearn_mtl.metrics`` can use it.
"""

from sklearn.base import _fit_context
from sklearn.metrics._scorer import _BaseScorer, _cached_call
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "Interval",
    "StrOptions",
    "_BaseScorer",
    "_cached_call",
    "_check_sample_weight",
    "_fit_context",
    "_safe_indexing",
]
