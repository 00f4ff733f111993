"""What the wrappers around a fitted multi-task model (calibration, conformal prediction) read from
it: each task's responses in one form, and each task's observed labels.

numpy and scikit-learn only: the wrappers take any estimator (or pipeline) whose ``predict_proba``
returns one array per task (None for a regression task) and whose ``predict`` returns one column
per task, as the masked multi-task estimators do.
"""

import numpy as np
from sklearn.utils.validation import check_consistent_length

from ._labels import task_label
from ._targets import _check_finite, as_2d_targets, missing_mask, typed_values


def final_estimator(estimator):
    """The model at the end of (possibly nested) pipelines, frozen wrappers and calibrated ones."""
    while True:
        if hasattr(estimator, "_final_estimator"):
            estimator = estimator._final_estimator
        elif hasattr(estimator, "calibrated_classifiers_"):
            estimator = estimator.calibrated_classifiers_[0].estimator
        elif type(estimator).__name__ == "FrozenEstimator" and hasattr(estimator, "estimator"):
            estimator = estimator.estimator
        else:
            return estimator


def missing_label_of(estimator):
    return getattr(final_estimator(estimator), "missing_label", np.nan)


def task_kinds(estimator):
    """Each task's kind, from the fitted model's ``tasks_`` (the masked multi-task estimators)."""
    model = final_estimator(estimator)
    if not hasattr(model, "tasks_"):
        raise TypeError(
            f"{type(model).__name__} has no fitted tasks_; these wrappers take a fitted (or, with cv, an unfitted) "
            "MaskedMultiTaskClassifier, MaskedMultiTaskRegressor or MaskedMultiTaskEstimator, or a pipeline "
            "ending in one."
        )
    return [task.kind for task in model.tasks_]


def task_names(estimator):
    names = getattr(final_estimator(estimator), "task_names_", None)
    return None if names is None else list(names)


def per_task_probabilities(estimator, X):
    """``predict_proba`` as one entry per task (an array, or None for a regression task)."""
    probabilities = estimator.predict_proba(X)
    return [probabilities] if isinstance(probabilities, np.ndarray) else list(probabilities)


def per_task_predictions(estimator, X, return_std=False):
    """``predict`` as a 2-D array, one column per task (with ``return_std``, and the std's as one)."""
    if return_std:
        predictions, std = (np.asarray(part) for part in estimator.predict(X, return_std=True))
        return predictions.reshape(len(predictions), -1), std.reshape(len(std), -1)
    predictions = np.asarray(estimator.predict(X))
    return predictions.reshape(len(predictions), -1)


def observed_labels(y, n_samples, n_tasks, missing_label, names=None, tasks=None):
    """Each task's observed labels and their rows: ``[(rows, values), ...]`` (values typed per task),
    checked as ``fit`` checks them: finite, and with the fitted ``tasks`` (a model's ``tasks_``),
    numbers for a regression task."""
    y2d, _, _ = as_2d_targets(y)
    check_consistent_length(np.empty(n_samples), y2d)
    if y2d.shape[1] != n_tasks:
        raise ValueError(f"y has {y2d.shape[1]} tasks, but the model has {n_tasks}.")
    observed = ~missing_mask(y2d, missing_label)
    labels = []
    for t in range(n_tasks):
        values = typed_values(y2d[observed[:, t], t], task_label(t, names))
        if tasks is not None:
            values = tasks[t].checked_labels(values)
        else:
            _check_finite(values, task_label(t, names))
        labels.append((np.flatnonzero(observed[:, t]), values))
    return labels


def checked_probabilities(probabilities, n_samples, label):
    """One task's probabilities given by a user, as ``(n_samples, n_classes)``: a 1-D array is the
    positive class's (scikit-learn's binary format); each value in [0, 1], each row summing to 1."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim not in (1, 2):
        raise ValueError(
            f"{label}'s probabilities must be 1-D (the positive class's, as scikit-learn's binary format) or 2-D "
            f"(one column per class); got an array of {probabilities.ndim} dimensions."
        )
    if len(probabilities) != n_samples:
        raise ValueError(f"y_prob has {len(probabilities)} rows for {label}, but y_true has {n_samples}.")
    if np.isnan(probabilities).any():
        raise ValueError(f"{label}'s probabilities contain NaN.")
    if not np.all((probabilities >= 0) & (probabilities <= 1)):
        raise ValueError(
            f"{label}'s probabilities must lie in [0, 1]; got values from {probabilities.min()!r} to "
            f"{probabilities.max()!r}."
        )
    if probabilities.ndim == 1:
        return np.column_stack([1 - probabilities, probabilities])
    # float32 probabilities (a network's) sum to 1 within a few units of 1e-7 per class
    sums = probabilities.sum(axis=1)
    if not np.allclose(sums, 1, rtol=0, atol=1e-4):
        worst = int(np.argmax(np.abs(sums - 1)))
        raise ValueError(
            f"{label}'s probabilities must sum to 1 over its classes in each row; row {worst} sums to "
            f"{sums[worst]!r}. Give predict_proba's output, or the positive class's column alone for a binary task."
        )
    return probabilities
