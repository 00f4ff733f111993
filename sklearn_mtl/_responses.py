"""What the wrappers around a fitted multi-task model (calibration, conformal prediction) read from
it: each task's responses in one form, and each task's observed labels.

numpy and scikit-learn only: the wrappers take any estimator (or pipeline) whose ``predict_proba``
returns one array per task (None for a regression task) and whose ``predict`` returns one column
per task, as the masked multi-task estimators do.
"""

import numpy as np
from sklearn.utils.validation import check_consistent_length

from ._labels import task_label
from ._targets import as_2d_targets, missing_mask, typed_values


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


def observed_labels(y, n_samples, n_tasks, missing_label, names=None):
    """Each task's observed labels and their rows: ``[(rows, values), ...]`` (values typed per task)."""
    y2d, _, _ = as_2d_targets(y)
    check_consistent_length(np.empty(n_samples), y2d)
    if y2d.shape[1] != n_tasks:
        raise ValueError(f"y has {y2d.shape[1]} tasks, but the model has {n_tasks}.")
    observed = ~missing_mask(y2d, missing_label)
    return [
        (np.flatnonzero(observed[:, t]), typed_values(y2d[observed[:, t], t], task_label(t, names)))
        for t in range(n_tasks)
    ]
