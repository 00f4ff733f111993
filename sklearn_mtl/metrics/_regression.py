"""Masked regression metrics: scikit-learn's R^2, mean squared and mean absolute error, each task
scored on its observed targets (the masking is ``_masked.py``'s)."""

import numpy as np
from sklearn.metrics import (
    mean_absolute_error,
    mean_squared_error,
    r2_score,
)

from ._masked import (
    _score_tasks,
)

__all__ = ["masked_mean_absolute_error", "masked_mean_squared_error", "masked_r2_score"]


def _regression_metric(metric, name, y_true, y_pred, *, average, sample_weight, missing_label):
    def score_task(task, task_name, truth, pred, weights):
        return metric(truth.astype(np.float64), np.asarray(pred, dtype=np.float64), sample_weight=weights)

    return _score_tasks(
        name, score_task, y_true, y_pred, average=average, sample_weight=sample_weight, missing_label=missing_label
    )


def masked_r2_score(y_true, y_pred, *, average="macro", sample_weight=None, missing_label=np.nan):
    """R^2 of each task on its observed targets, averaged over tasks.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
        True targets; NaN, None, ``pd.NA`` or ``missing_label`` marks a missing one.
    y_pred : array-like of the same shape
        Predicted targets.
    average : {"macro"} or None, default="macro"
        ``"macro"``: mean over the tasks that have a score (NaN-valued tasks are left out); None:
        one score per task, NaN where it is undefined.
    sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), default=None
        Weight of each row, or of each (row, task) entry.
    missing_label : scalar, default=np.nan
        Marker of a missing target besides NaN, None and ``pd.NA``.

    Returns
    -------
    float or ndarray of shape (n_tasks,)

    See Also
    --------
    sklearn.metrics.r2_score : The metric applied to each task.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import masked_r2_score
    >>> y_true = np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 4.0]])
    >>> y_pred = np.array([[1.0, 2.5], [2.0, 0.0], [3.0, 3.5]])
    >>> masked_r2_score(y_true, y_pred, average=None)
    array([1. , 0.75])
    """
    return _regression_metric(
        r2_score,
        "masked_r2_score",
        y_true,
        y_pred,
        average=average,
        sample_weight=sample_weight,
        missing_label=missing_label,
    )


def masked_mean_squared_error(y_true, y_pred, *, average="macro", sample_weight=None, missing_label=np.nan):
    """Mean squared error of each task on its observed targets, averaged over tasks.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
        True targets; NaN, None, ``pd.NA`` or ``missing_label`` marks a missing one.
    y_pred : array-like of the same shape
        Predicted targets.
    average : {"macro"} or None, default="macro"
        ``"macro"``: mean over the tasks that have a score (NaN-valued tasks are left out); None:
        one score per task, NaN where it is undefined.
    sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), default=None
        Weight of each row, or of each (row, task) entry.
    missing_label : scalar, default=np.nan
        Marker of a missing target besides NaN, None and ``pd.NA``.

    Returns
    -------
    float or ndarray of shape (n_tasks,)
        Lower is better.

    See Also
    --------
    sklearn.metrics.mean_squared_error : The metric applied to each task.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import masked_mean_squared_error
    >>> y_true = np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 4.0]])
    >>> y_pred = np.array([[1.0, 2.5], [2.0, 0.0], [3.0, 3.5]])
    >>> masked_mean_squared_error(y_true, y_pred, average=None)
    array([0.  , 0.25])
    """
    return _regression_metric(
        mean_squared_error,
        "masked_mean_squared_error",
        y_true,
        y_pred,
        average=average,
        sample_weight=sample_weight,
        missing_label=missing_label,
    )


def masked_mean_absolute_error(y_true, y_pred, *, average="macro", sample_weight=None, missing_label=np.nan):
    """Mean absolute error of each task on its observed targets, averaged over tasks.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
        True targets; NaN, None, ``pd.NA`` or ``missing_label`` marks a missing one.
    y_pred : array-like of the same shape
        Predicted targets.
    average : {"macro"} or None, default="macro"
        ``"macro"``: mean over the tasks that have a score (NaN-valued tasks are left out); None:
        one score per task, NaN where it is undefined.
    sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), default=None
        Weight of each row, or of each (row, task) entry.
    missing_label : scalar, default=np.nan
        Marker of a missing target besides NaN, None and ``pd.NA``.

    Returns
    -------
    float or ndarray of shape (n_tasks,)
        Lower is better.

    See Also
    --------
    sklearn.metrics.mean_absolute_error : The metric applied to each task.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import masked_mean_absolute_error
    >>> y_true = np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 4.0]])
    >>> y_pred = np.array([[1.0, 2.5], [2.0, 0.0], [3.0, 3.5]])
    >>> masked_mean_absolute_error(y_true, y_pred)
    0.25
    """
    return _regression_metric(
        mean_absolute_error,
        "masked_mean_absolute_error",
        y_true,
        y_pred,
        average=average,
        sample_weight=sample_weight,
        missing_label=missing_label,
    )
