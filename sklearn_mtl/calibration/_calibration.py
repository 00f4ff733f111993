"""Per-task probability calibration with missing labels: each task calibrated on its own observed labels."""

import numbers
import warnings

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, log_softmax, logit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.isotonic import IsotonicRegression
from sklearn.utils import _safe_indexing
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
from .._sklearn_compat import _check_sample_weight
from .._tasks import stack_predictions

METHODS = ("sigmoid", "isotonic", "temperature")
_EPS = 1e-12


def _clipped_logit(p):
    return logit(np.clip(p, _EPS, 1 - _EPS))


def _platt(scores, truth, weights):
    """``(a, b)`` of Platt's sigmoid ``expit(a * scores + b)``, with his smoothed targets."""
    n_positive, n_negative = weights[truth == 1].sum(), weights[truth == 0].sum()
    target = np.where(truth == 1, (n_positive + 1) / (n_positive + 2), 1 / (n_negative + 2))

    def loss(params):
        z = params[0] * scores + params[1]
        p = expit(z)
        value = -(
            weights * (target * np.log(np.clip(p, _EPS, None)) + (1 - target) * np.log(np.clip(1 - p, _EPS, None)))
        )
        gradient = weights * (p - target)
        return value.sum(), np.array([(gradient * scores).sum(), gradient.sum()])

    return minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B").x


def _checked_weights(sample_weight, X):
    """sample_weight as fit checks it (one finite, non-negative weight per row), or None."""
    if sample_weight is None:
        return None
    return _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)


class _TaskCalibrator:
    """One task's map from its model probabilities ``(n, K)`` to calibrated ones.

    "sigmoid": Platt's sigmoid of the logit of each class's probability (one against the rest
    for K > 2, then normalized), so that a calibrated model stays as it is; "isotonic": scikit-
    learn's ``IsotonicRegression`` of each class's probability (as ``CalibratedClassifierCV``
    does); "temperature": one temperature dividing the task's log-probabilities, fitted on the
    log loss (it keeps the ranking of the task's rows and the argmax).
    """

    def __init__(self, method, n_classes):
        self.method = method
        self.n_classes = n_classes
        self.maps = None  # None: the identity

    def fit(self, probabilities, indices, weights):
        k = self.n_classes
        if k < 2:
            return self
        if self.method == "temperature":
            scores = self._temperature_scores(probabilities)

            def loss(log_t):
                return -(weights * log_softmax(scores / np.exp(log_t), axis=1)[np.arange(len(indices)), indices]).sum()

            self.maps = np.exp(minimize_scalar(loss, bounds=(np.log(1e-2), np.log(1e2)), method="bounded").x)
            return self
        columns = [1] if k == 2 else range(k)
        self.maps = []
        for c in columns:
            truth = (indices == c).astype(float)
            if self.method == "isotonic":
                self.maps.append(
                    IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(
                        probabilities[:, c], truth, sample_weight=weights
                    )
                )
            else:
                self.maps.append(_platt(_clipped_logit(probabilities[:, c]), truth, weights))
        return self

    def _temperature_scores(self, probabilities):
        if self.n_classes == 2:  # the binary logit as two classes' scores
            return np.column_stack([np.zeros(len(probabilities)), _clipped_logit(probabilities[:, 1])])
        return np.log(np.clip(probabilities, _EPS, None))

    def predict(self, probabilities):
        if self.maps is None:
            return probabilities
        if self.method == "temperature":
            return softmax(self._temperature_scores(probabilities) / self.maps, axis=1)
        columns = [1] if self.n_classes == 2 else range(self.n_classes)
        calibrated = np.column_stack(
            [
                m.predict(probabilities[:, c])
                if self.method == "isotonic"
                else expit(m[0] * _clipped_logit(probabilities[:, c]) + m[1])
                for m, c in zip(self.maps, columns, strict=True)
            ]
        )
        if self.n_classes == 2:
            return np.column_stack([1 - calibrated[:, 0], calibrated[:, 0]])
        totals = calibrated.sum(axis=1, keepdims=True)
        # as scikit-learn: rows whose one-vs-rest maps all give 0 are uniform
        return np.divide(calibrated, totals, out=np.full_like(calibrated, 1 / self.n_classes), where=totals > 0)


class _CalibratedModel:
    """A fitted multi-task model and one calibrator per classification task (None elsewhere)."""

    def __init__(self, estimator, calibrators):
        self.estimator = estimator
        self.calibrators = calibrators

    def predict_proba(self, X):
        raw = per_task_probabilities(self.estimator, X)
        return [None if c is None else c.predict(p) for c, p in zip(self.calibrators, raw, strict=True)]


class MultiTaskCalibratedClassifierCV(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Calibrate each task's probabilities on its own observed labels, with missing labels.

    The multi-task counterpart of scikit-learn's :class:`~sklearn.calibration.CalibratedClassifierCV`,
    which takes a 1-D y only. A :class:`~sklearn.frozen.FrozenEstimator` of a fitted model is
    calibrated on the data given to ``fit``; an unfitted estimator is cross-fitted: on each split
    of ``cv``, a clone is fitted on the training part and each task's calibrator on the task's
    observed labels of the other part. Missing labels (as the model's ``missing_label`` marks
    them) take part in neither.

    Parameters
    ----------
    estimator : estimator
        A :class:`~sklearn_mtl.MaskedMultiTaskClassifier` or
        :class:`~sklearn_mtl.MaskedMultiTaskEstimator` (or a pipeline ending in one), unfitted,
        or fitted and wrapped in :class:`~sklearn.frozen.FrozenEstimator`. The mixed
        estimator's regression tasks pass through: ``predict`` gives their predictions as the
        model does, ``predict_proba`` None.
    method : {"sigmoid", "isotonic", "temperature"}, default="sigmoid"
        "sigmoid": Platt scaling of the logit of each class's probability (one against the rest
        for K > 2 classes, then normalized); "isotonic": isotonic regression of each class's
        probability, as ``CalibratedClassifierCV`` (it needs more labels: over a thousand per
        task, says scikit-learn's user guide); "temperature": one temperature per task on its
        log-probabilities (one parameter; ranks and ``predict`` unchanged).
    cv : int, cross-validation generator or None, default=None
        How an unfitted estimator is cross-fitted: None is 5 splits and an int that many, of
        :class:`~sklearn_mtl.model_selection.MultiTaskStratifiedKFold` (which spreads each task's
        labels of each class over the splits); or any splitter with a ``split(X, y)`` method.
        Ignored for a ``FrozenEstimator``.
    ensemble : bool or "auto", default="auto"
        With cross-fitting, True keeps one calibrated clone per split and averages their
        probabilities; False fits the calibrators on the out-of-split probabilities of all
        splits and one model on all the data. "auto" is True, and False for a
        ``FrozenEstimator``.

    Attributes
    ----------
    calibrated_classifiers_ : list
        The fitted models with their calibrators: one per split with ``ensemble=True``, else one.
    classes_ : list of ndarray or ndarray
        The model's classes (one array per task, or one array for a 1-D y; None for a
        regression task).
    n_tasks_ : int
    n_features_in_ : int
        Present when the model has it.

    See Also
    --------
    sklearn.calibration.CalibratedClassifierCV : the single-task original.
    sklearn_mtl.conformal.MultiTaskConformalClassifier : prediction sets per task.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn_mtl import MaskedMultiTaskClassifier
    >>> from sklearn_mtl.calibration import MultiTaskCalibratedClassifierCV
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 4))
    >>> y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(float)
    >>> y[rng.rand(*y.shape) < 0.3] = np.nan
    >>> clf = MaskedMultiTaskClassifier(hidden_layer_sizes=(8,), random_state=0).fit(X[:200], y[:200])
    >>> calibrated = MultiTaskCalibratedClassifierCV(FrozenEstimator(clf)).fit(X[200:], y[200:])
    >>> [p.shape for p in calibrated.predict_proba(X[:3])]
    [(3, 2), (3, 2)]
    """

    def __init__(self, estimator, *, method="sigmoid", cv=None, ensemble="auto"):
        self.estimator = estimator
        self.method = method
        self.cv = cv
        self.ensemble = ensemble

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the calibrators (and, unless the estimator is frozen, the cross-fitted models).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_tasks)
            Labels with missing ones marked as the model's ``missing_label`` does.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, for fitting the models and the calibrators.
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : object
        """
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}; got {self.method!r}.")
        if self.ensemble not in (True, False, "auto"):
            raise ValueError(f"ensemble must be True, False or 'auto'; got {self.ensemble!r}.")
        splitter = hasattr(self.cv, "split") and not isinstance(self.cv, str)
        if not (self.cv is None or splitter or isinstance(self.cv, numbers.Integral)):
            raise TypeError(f"cv must be None, an integer of at least 2 or a splitter; got {self.cv!r}.")
        if isinstance(self.cv, numbers.Integral) and (isinstance(self.cv, (bool, np.bool_)) or self.cv < 2):
            raise ValueError(f"cv must be None, an integer of at least 2 or a splitter; got {self.cv!r}.")
        frozen = type(self.estimator).__name__ == "FrozenEstimator"
        weights = _checked_weights(sample_weight, X)
        if frozen:
            check_is_fitted(final_estimator(self.estimator))
            if self.ensemble is True:
                raise ValueError("ensemble=True needs cross-fitting; a FrozenEstimator is calibrated as it is.")
            models = [self._calibrated(self.estimator, X, y, weights, strict=True)]
        else:
            models = self._cross_fit(X, y, weights, fit_params, ensemble=self.ensemble in (True, "auto"))
        model = final_estimator(models[0].estimator)
        self.calibrated_classifiers_ = models
        self.n_tasks_ = len(models[0].calibrators)
        self.classes_ = model.classes_ if hasattr(model, "classes_") else self._classes(model)
        if hasattr(model, "n_features_in_"):
            self.n_features_in_ = model.n_features_in_
        return self

    @staticmethod
    def _classes(model):
        return [getattr(task, "classes", None) if task.kind == "classification" else None for task in model.tasks_]

    def _splitter(self):
        if self.cv is None or isinstance(self.cv, numbers.Integral):
            from ..model_selection import MultiTaskStratifiedKFold

            return MultiTaskStratifiedKFold(n_splits=5 if self.cv is None else int(self.cv))
        return self.cv

    def _cross_fit(self, X, y, weights, fit_params, ensemble):
        models, parts = [], []
        for train, test in self._splitter().split(X, y):
            fitted = clone(self.estimator)
            extra = {} if weights is None else {"sample_weight": weights[train]}
            fitted.fit(_safe_indexing(X, train), _safe_indexing(y, train), **extra, **fit_params)
            X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
            w_test = None if weights is None else weights[test]
            if ensemble:
                models.append(self._calibrated(fitted, X_test, y_test, w_test, strict=False))
            else:
                self._check_kinds(fitted)
                parts.append((test, per_task_probabilities(fitted, X_test)))
        if ensemble:
            return models
        n_samples = sum(len(test) for test, _ in parts)
        fitted = clone(self.estimator).fit(
            X, y, **({} if weights is None else {"sample_weight": weights}), **fit_params
        )
        out_of_split = []
        for task, first in enumerate(parts[0][1]):
            if first is None:
                out_of_split.append(None)
                continue
            block = np.zeros((n_samples, first.shape[1]))
            for test, probabilities in parts:
                block[test] = probabilities[task]
            out_of_split.append(block)
        return [_CalibratedModel(fitted, self._fit_calibrators(fitted, out_of_split, y, weights, strict=False))]

    def _calibrated(self, fitted, X, y, weights, strict):
        self._check_kinds(fitted)
        return _CalibratedModel(
            fitted, self._fit_calibrators(fitted, per_task_probabilities(fitted, X), y, weights, strict)
        )

    @staticmethod
    def _check_kinds(fitted):
        kinds = task_kinds(fitted)
        if "classification" not in kinds:
            raise ValueError("The model has no classification task to calibrate.")
        return kinds

    def _fit_calibrators(self, fitted, probabilities, y, weights, strict):
        kinds = self._check_kinds(fitted)
        model = final_estimator(fitted)
        names = task_names(fitted)
        n_samples = len(next(p for p in probabilities if p is not None))
        labels = observed_labels(y, n_samples, len(kinds), missing_label_of(fitted), names, model.tasks_)
        calibrators = []
        for task, (kind, p, (rows, values)) in enumerate(zip(kinds, probabilities, labels, strict=True)):
            if kind != "classification":
                calibrators.append(None)
                continue
            classes = model.tasks_[task].classes
            calibrator = _TaskCalibrator(self.method, len(classes))
            label = task_label(task, names)
            indices = model.tasks_[task].encode_labels(values).astype(np.intp)  # a label not among classes: an error
            if len(np.unique(indices)) < min(2, len(classes)):
                n_classes = len(np.unique(indices))
                message = f"{label} has {len(rows)} observed labels of {n_classes} class(es) in the calibration data"
                if strict and not len(rows):
                    raise ValueError(f"{message}; give calibration data with labels of every task.")
                warnings.warn(
                    f"{message}: its probabilities are left as the model gives them.", UserWarning, stacklevel=4
                )
            else:
                task_weights = np.ones(len(rows)) if weights is None else weights[rows]
                calibrator.fit(p[rows], indices, task_weights)
            calibrators.append(calibrator)
        return calibrators

    def predict_proba(self, X):
        """Each classification task's calibrated probabilities (the mean over the calibrated models).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        list of (ndarray of shape (n_samples, n_classes_t) or None), or ndarray
            In the model's format: one entry per task (None for a regression task), or one array
            when it was fitted on a 1-D y.
        """
        check_is_fitted(self)
        per_model = [model.predict_proba(X) for model in self.calibrated_classifiers_]
        mean = [None if parts[0] is None else np.mean(parts, axis=0) for parts in zip(*per_model, strict=True)]
        return mean[0] if isinstance(self.classes_, np.ndarray) else mean

    def predict(self, X):
        """Each classification task's most probable class after calibration; regression tasks as the model predicts.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_tasks), or (n_samples,) for a model fitted on a 1-D y
        """
        probabilities = self.predict_proba(X)
        single = isinstance(probabilities, np.ndarray)
        probabilities = [probabilities] if single else probabilities
        models = self.calibrated_classifiers_
        tasks = final_estimator(models[0].estimator).tasks_
        columns = []
        regression = None
        for task, p in zip(tasks, probabilities, strict=True):
            if p is not None:
                columns.append(task.classes[np.argmax(p, axis=1)])
                continue
            if regression is None:
                regression = np.mean([per_task_predictions(m.estimator, X).astype(np.float64) for m in models], axis=0)
            columns.append(regression[:, task.index])
        predictions = stack_predictions(columns)
        return predictions[:, 0] if single else predictions

    def score(self, X, y, sample_weight=None):
        """Mean over the classification tasks of each task's accuracy on its observed labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_tasks)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        predictions = self.predict(X)
        predictions = predictions.reshape(len(predictions), -1)
        sample_weight = _checked_weights(sample_weight, predictions)
        model = self.calibrated_classifiers_[0].estimator
        tasks = final_estimator(model).tasks_
        labels = observed_labels(
            y, len(predictions), predictions.shape[1], missing_label_of(model), task_names(model), tasks
        )
        scores = []
        for task, (rows, values) in zip(tasks, labels, strict=True):
            if task.kind == "classification" and len(rows):
                weights = None if sample_weight is None else sample_weight[rows]
                scores.append(np.average(predictions[rows, task.index].astype(values.dtype) == values, weights=weights))
        return float(np.mean(scores))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True
        return tags
