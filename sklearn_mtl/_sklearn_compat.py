"""The private scikit-learn names the package uses, imported here and nowhere else.

They are not part of scikit-learn's public API and may move between releases; when one does, this
module is the one place to adapt. It imports numpy and scikit-learn only (never torch), so that
``sklearn_mtl.metrics`` can use it.

scikit-learn's callback API (``sklearn.callback``, new and experimental in 1.9) is switched here
too: with an older scikit-learn, ``CallbackSupportMixin`` adds nothing (the estimators have no
``set_callbacks``) and ``HAS_CALLBACK_API`` is False.
"""

import sys

from sklearn.base import _fit_context
from sklearn.metrics._scorer import _BaseScorer, _cached_call
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

try:
    from sklearn.callback import CallbackSupportMixin

    HAS_CALLBACK_API = True
except ImportError:  # scikit-learn < 1.9

    class CallbackSupportMixin:
        """Stands in for scikit-learn's mixin where it has no callback API: adds nothing."""

    HAS_CALLBACK_API = False

__all__ = [
    "HAS_CALLBACK_API",
    "CallbackSupportMixin",
    "Interval",
    "StrOptions",
    "_BaseScorer",
    "_cached_call",
    "_check_sample_weight",
    "_fit_context",
    "_safe_indexing",
    "fit_callback_context",
    "fitted_by_model_selection",
    "open_callback_context",
]


def open_callback_context(estimator, max_subtasks):
    """Open the callback context of ``estimator``'s fit, a task of ``max_subtasks`` subtasks, and set
    its callbacks up (the mixin's ``_init_callback_context``); None without the callback API."""
    if not HAS_CALLBACK_API:
        return None
    return estimator._init_callback_context(max_subtasks=max_subtasks)


def fit_callback_context(estimator):
    """The callback context of ``estimator``'s fit in progress, or None (scikit-learn removes it when
    the fit ends)."""
    return getattr(estimator, "_callback_fit_ctx", None)


def fitted_by_model_selection():
    """Whether the running code was called from ``sklearn.model_selection`` (a search, its refit,
    ``cross_validate`` and the other loops over fits), found by reading the call stack.

    No version of scikit-learn tells an estimator that it is one fit of a search's many (1.9's
    callback contexts reach searches but not ``cross_validate``); its loops all live in that
    package, whose module names this reads.
    """
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith("sklearn.model_selection."):
            return True
        frame = frame.f_back
    return False
