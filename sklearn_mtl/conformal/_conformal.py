"""Split conformal prediction per task, with missing labels: intervals for regression tasks and
prediction sets for classification tasks, each calibrated on its task's observed labels.

The names follow MAPIE 1.x (``SplitConformalRegressor``, ``SplitConformalClassifier``:
``confidence_level``, ``conformity_score``, ``prefit``, ``conformalize``, ``predict_interval``,
``predict_set``). MAPIE itself is not used inside: it validates y as finite (so it refuses NaN)
and fits one output at a time, while split conformal on each task's observed labels is a
conformity score and one finite-sample quantile per task, written here.
"""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from .._labels import task_label
from .._responses import (
    final_estimator,
    missing_label_of,
    observed_labels,
    per_task_predictions,
    per_task_probabilities,
    task_kinds,
    task_names,
)


def conformal_quantile(scores, confidence_level):
    """The split-conformal quantile of conformity ``scores``: their ``ceil((n + 1) * level)``-th
    smallest, which covers a new exchangeable point with probability at least ``level``;
    infinite when ``n`` is too small for that (``ceil((n + 1) * level) > n``).

    Parameters
    ----------
    scores : array-like of shape (n,)
    confidence_level : float in (0, 1)

    Returns
    -------
    float

    Examples
    --------
    >>> from sklearn_mtl.conformal import conformal_quantile
    >>> conformal_quantile([0.1, 0.4, 0.2, 0.3], 0.6)  # the ceil(5 * 0.6) = 3rd smallest
    np.float64(0.3)
    >>> conformal_quantile([0.1, 0.4, 0.2, 0.3], 0.9)  # ceil(5 * 0.9) = 5 > 4 scores
    inf
    """
    n = len(scores)
    rank = int(np.ceil((n + 1) * confidence_level))
    if rank > n:
        return np.inf
    return np.partition(np.asarray(scores, dtype=np.float64), rank - 1)[rank - 1]


def _check_level(confidence_level):
    if (
        not isinstance(confidence_level, numbers.Real)
        or isinstance(confidence_level, (bool, np.bool_))
        or not 0 < confidence_level < 1
    ):
        raise ValueError(f"confidence_level must be a float strictly between 0 and 1; got {confidence_level!r}.")


def _floored(std):
    """An ensemble's std, floored at 1e-12 so that a (vanishingly rare) zero spread divides safely."""
    return np.maximum(np.asarray(std, dtype=np.float64), 1e-12)


class _SplitConformal(MetaEstimatorMixin, BaseEstimator):
    """What the conformal regressor and classifier share: fitting (when not prefit), and the
    per-task quantiles of ``conformalize``."""

    _kind = None  # the kind of task this wrapper conformalizes
    _conformity_scores = ()  # the conformity scores it computes

    def fit(self, X_train, y_train, **fit_params):
        """Fit a clone of the estimator (only with ``prefit=False``).

        Parameters
        ----------
        X_train : {array-like, sparse matrix} of shape (n_samples, n_features)
        y_train : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_tasks)
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : object
        """
        self._check_prefit()
        if self.prefit:
            raise ValueError(
                "The estimator is used as fitted (prefit=True): skip fit and call conformalize, or set prefit=False."
            )
        self.estimator_ = clone(self.estimator).fit(X_train, y_train, **fit_params)
        return self

    def _check_prefit(self):
        if not isinstance(self.prefit, (bool, np.bool_)):
            raise ValueError(f"prefit must be True or False; got {self.prefit!r}.")

    def _fitted_estimator(self):
        if self.prefit:
            try:
                check_is_fitted(final_estimator(self.estimator))
            except NotFittedError:
                raise NotFittedError(
                    f"prefit=True takes a fitted estimator; {type(self.estimator).__name__} is not fitted. Fit it "
                    "first, or set prefit=False and call fit."
                ) from None
            return self.estimator
        if not hasattr(self, "estimator_"):
            raise NotFittedError("prefit=False: call fit before conformalize.")
        return self.estimator_

    def conformalize(self, X_conformalize, y_conformalize):
        """Compute each task's conformity scores on its observed labels, and their quantile.

        Parameters
        ----------
        X_conformalize : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows the model was not fitted on.
        y_conformalize : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_tasks)
            Their labels, missing ones marked as the model's ``missing_label`` does.

        Returns
        -------
        self : object
        """
        self._check_prefit()
        _check_level(self.confidence_level)
        if self.conformity_score not in self._conformity_scores:
            allowed = " or ".join(map(repr, self._conformity_scores))
            raise ValueError(f"conformity_score must be {allowed}; got {self.conformity_score!r}.")
        estimator = self._fitted_estimator()
        kinds = task_kinds(estimator)
        if self._kind not in kinds:
            raise ValueError(f"{type(self).__name__} needs {self._kind} tasks; the model has none.")
        names = task_names(estimator)
        responses = self._responses(estimator, X_conformalize)
        n_rows, missing_label = self._n_rows(responses), missing_label_of(estimator)
        tasks = final_estimator(estimator).tasks_
        labels = observed_labels(y_conformalize, n_rows, len(kinds), missing_label, names, tasks)
        quantiles, counts = np.full(len(kinds), np.nan), np.zeros(len(kinds), dtype=int)
        for task, (kind, (rows, values)) in enumerate(zip(kinds, labels, strict=True)):
            if kind != self._kind:
                continue
            scores = self._scores(estimator, task, responses, rows, values)
            quantiles[task], counts[task] = conformal_quantile(scores, self.confidence_level), len(rows)
            if np.isinf(quantiles[task]):
                needed = int(np.ceil(self.confidence_level / (1 - self.confidence_level) - 1e-9))
                warnings.warn(
                    f"{task_label(task, names)} has {len(rows)} observed labels in the conformalization data; "
                    f"confidence_level={self.confidence_level} needs at least {needed}, so its "
                    f"{'intervals are infinite' if self._kind == 'regression' else 'sets hold every class'}.",
                    UserWarning,
                    stacklevel=2,
                )
        self.estimator_ = estimator
        self.conformity_scores_quantile_ = quantiles
        self.n_conformalize_ = counts
        return self

    def _conformalized(self):
        check_is_fitted(self, "conformity_scores_quantile_")
        return self.estimator_

    def predict(self, X):
        """The model's predictions.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_tasks), or (n_samples,) for a model fitted on a 1-D y
        """
        estimator = self.estimator_ if hasattr(self, "estimator_") else self._fitted_estimator()
        return estimator.predict(X)


class MultiTaskConformalRegressor(_SplitConformal):
    """Split-conformal prediction intervals for each regression task, with missing labels.

    Each task's interval has, for a new row exchangeable with the conformalization rows, at least
    ``confidence_level`` probability of holding its target (marginally, over rows). The quantile
    of a task is computed on its own observed labels of the conformalization data, with the
    finite-sample correction ``ceil((n + 1) * confidence_level) / n``.

    Parameters
    ----------
    estimator : estimator
        A :class:`~sklearn_mtl.MaskedMultiTaskRegressor` or
        :class:`~sklearn_mtl.MaskedMultiTaskEstimator` (or a pipeline ending in one); the
        mixed estimator's classification tasks get NaN intervals.
    confidence_level : float, default=0.9
    conformity_score : {"absolute", "normalized"}, default="absolute"
        "absolute": ``|y - y_pred|``, an interval of the same width for every row of a task.
        "normalized": ``|y - y_pred| / y_std``, with ``y_std`` the spread of an ensemble's members
        (``predict(X, return_std=True)``; the model needs ``ensemble_size >= 2``): each row's
        interval is ``y_pred ± q * y_std``, wider where the members disagree (MAPIE's residual
        normalized score, with the ensemble's std as the residual estimator).
    prefit : bool, default=True
        Whether ``estimator`` is fitted already (then call ``conformalize`` directly); with
        False, ``fit`` fits a clone first.

    Attributes
    ----------
    estimator_ : estimator
        The model the intervals are built around.
    conformity_scores_quantile_ : ndarray of shape (n_tasks,)
        Each task's quantile of conformity scores: the half-width of its intervals (NaN for
        a classification task; inf when its labels are too few for the level).
    n_conformalize_ : ndarray of shape (n_tasks,)
        How many observed labels each task had in the conformalization data.

    See Also
    --------
    MultiTaskConformalClassifier : prediction sets for classification tasks.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl import MaskedMultiTaskRegressor
    >>> from sklearn_mtl.conformal import MultiTaskConformalRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(400, 3))
    >>> y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]]) + 0.1 * rng.normal(size=(400, 2))
    >>> y[rng.rand(*y.shape) < 0.3] = np.nan
    >>> reg = MaskedMultiTaskRegressor(hidden_layer_sizes=(16,), random_state=0).fit(X[:200], y[:200])
    >>> conformal = MultiTaskConformalRegressor(reg, confidence_level=0.9).conformalize(X[200:], y[200:])
    >>> y_pred, y_intervals = conformal.predict_interval(X[:5])
    >>> y_pred.shape, y_intervals.shape
    ((5, 2), (5, 2, 2))
    """

    _kind = "regression"
    _conformity_scores = ("absolute", "normalized")

    def __init__(self, estimator, *, confidence_level=0.9, conformity_score="absolute", prefit=True):
        self.estimator = estimator
        self.confidence_level = confidence_level
        self.conformity_score = conformity_score
        self.prefit = prefit

    def _responses(self, estimator, X):
        """``(y_pred, y_std)``, both (n_samples, n_tasks); ``y_std`` is None for the absolute score."""
        if self.conformity_score == "absolute":
            return per_task_predictions(estimator, X), None
        try:
            return per_task_predictions(estimator, X, return_std=True)
        except ValueError as error:
            raise ValueError(f"conformity_score='normalized' scales each error by the model's std: {error}") from None

    @staticmethod
    def _n_rows(responses):
        return len(responses[0])

    @staticmethod
    def _scores(estimator, task, responses, rows, values):
        y_pred, y_std = responses
        errors = np.abs(values.astype(np.float64) - y_pred[rows, task].astype(np.float64))
        return errors if y_std is None else errors / _floored(y_std[rows, task])

    def predict_interval(self, X):
        """The model's predictions and each regression task's interval.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_tasks)
            The model's predictions (always 2-D, one column per task).
        y_intervals : ndarray of shape (n_samples, n_tasks, 2)
            Each task's lower and upper bound; NaN for a classification task.
        """
        estimator = self._conformalized()
        y_pred, y_std = self._responses(estimator, X)
        quantiles = self.conformity_scores_quantile_
        regression = ~np.isnan(quantiles)
        centers = np.full(y_pred.shape, np.nan)
        centers[:, regression] = y_pred[:, regression].astype(np.float64)
        half = quantiles if y_std is None else quantiles * _floored(np.where(regression, y_std, np.nan))
        intervals = np.stack([centers - half, centers + half], axis=-1)
        return y_pred, intervals


class MultiTaskConformalClassifier(_SplitConformal):
    """Split-conformal prediction sets for each classification task, with missing labels.

    Each task's set holds, for a new row exchangeable with the conformalization rows, its true
    class with probability at least ``confidence_level`` (marginally, over rows). The threshold
    of a task is the finite-sample quantile of its conformity scores on its own observed labels.

    Parameters
    ----------
    estimator : estimator
        A :class:`~sklearn_mtl.MaskedMultiTaskClassifier` or
        :class:`~sklearn_mtl.MaskedMultiTaskEstimator` (or a pipeline ending in one, or a
        :class:`~sklearn_mtl.calibration.MultiTaskCalibratedClassifierCV`); the mixed
        estimator's regression tasks get no set (None).
    confidence_level : float, default=0.9
    conformity_score : {"lac"}, default="lac"
        "lac" (least ambiguous set-valued classifier): one minus the probability of the true
        class; a set holds every class of probability at least one minus the task's quantile.
    prefit : bool, default=True
        Whether ``estimator`` is fitted already; with False, ``fit`` fits a clone first.

    Attributes
    ----------
    estimator_ : estimator
    conformity_scores_quantile_ : ndarray of shape (n_tasks,)
        Each task's quantile of conformity scores (NaN for a regression task).
    n_conformalize_ : ndarray of shape (n_tasks,)

    See Also
    --------
    MultiTaskConformalRegressor : intervals for regression tasks.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl import MaskedMultiTaskClassifier
    >>> from sklearn_mtl.conformal import MultiTaskConformalClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(400, 3))
    >>> y = np.column_stack([X[:, 0] > 0, np.digitize(X[:, 1], [-0.5, 0.5])]).astype(float)
    >>> y[rng.rand(*y.shape) < 0.3] = np.nan
    >>> clf = MaskedMultiTaskClassifier(hidden_layer_sizes=(16,), random_state=0).fit(X[:200], y[:200])
    >>> conformal = MultiTaskConformalClassifier(clf).conformalize(X[200:], y[200:])
    >>> y_pred, y_sets = conformal.predict_set(X[:5])
    >>> [s.shape for s in y_sets]
    [(5, 2), (5, 3)]
    """

    _kind = "classification"
    _conformity_scores = ("lac",)

    def __init__(self, estimator, *, confidence_level=0.9, conformity_score="lac", prefit=True):
        self.estimator = estimator
        self.confidence_level = confidence_level
        self.conformity_score = conformity_score
        self.prefit = prefit

    @staticmethod
    def _responses(estimator, X):
        return per_task_probabilities(estimator, X)

    @staticmethod
    def _n_rows(responses):
        return len(next(p for p in responses if p is not None))

    @staticmethod
    def _scores(estimator, task, responses, rows, values):
        indices = final_estimator(estimator).tasks_[task].encode_labels(values).astype(np.intp)  # unseen: an error
        return 1.0 - responses[task][rows, indices]

    def predict_set(self, X):
        """The model's predictions and each classification task's prediction sets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_tasks)
            The model's predictions (always 2-D, one column per task).
        y_sets : list of (ndarray of bool, shape (n_samples, n_classes_t), or None)
            For each classification task, which of its classes (in the order of its
            ``classes_``) each row's set holds; None for a regression task.
        """
        estimator = self._conformalized()
        probabilities = per_task_probabilities(estimator, X)
        sets = [
            None if p is None or np.isnan(q) else p >= 1.0 - q
            for p, q in zip(probabilities, self.conformity_scores_quantile_, strict=True)
        ]
        return per_task_predictions(estimator, X), sets
