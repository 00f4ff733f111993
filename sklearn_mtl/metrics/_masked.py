"""Masked metrics: each task is scored on its observed rows with scikit-learn's own metric.

Collecting the observed pairs of a task and reducing the per-task scores are separate steps, so
every metric shares the same masking. numpy and scikit-learn only: importing this never imports torch.
"""

import warnings

import numpy as np
from sklearn.metrics import accuracy_score, r2_score

from .._targets import _observed_values, as_2d_targets, missing_mask, task_label

__all__ = ["masked_accuracy_score", "masked_r2_score"]


class UndefinedTaskScoreWarning(UserWarning):
    """A task's score is undefined here (no observed label, or one class only) and is NaN."""


def observed_pairs(y_true, y_pred, *, missing_label=np.nan, sample_weight=None):
    """Yield ``(task, y_true_t, y_pred_t, sample_weight_t)`` over each task's observed rows.

    ``y_pred`` is 1-D/2-D like ``y_true`` (labels or values), or a list of per-task 2-D arrays
    (probabilities), or one 2-D array of per-task scores.
    """
    y_true2d, was_1d, task_names = as_2d_targets(y_true)
    observed = ~missing_mask(y_true2d, missing_label)
    n_tasks = y_true2d.shape[1]
    if isinstance(y_pred, list):
        if len(y_pred) != n_tasks:
            raise ValueError(f"y_pred has outputs for {len(y_pred)} tasks but y_true has {n_tasks}.")
        per_task_pred = y_pred
    else:
        y_pred = np.asarray(y_pred)
        if was_1d and y_pred.ndim == 1:
            y_pred = y_pred.reshape(-1, 1)
        if y_pred.ndim != 2 or y_pred.shape[1] != n_tasks:
            raise ValueError(
                f"y_pred has shape {y_pred.shape} but y_true has {n_tasks} tasks; give one column per task."
            )
        per_task_pred = [y_pred[:, task] for task in range(n_tasks)]
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.ndim == 1:
            sample_weight = np.repeat(sample_weight[:, None], n_tasks, axis=1)
        if sample_weight.shape != y_true2d.shape:
            raise ValueError(
                f"sample_weight has shape {sample_weight.shape}; it must be (n_samples,) or "
                f"(n_samples, n_tasks) = {y_true2d.shape}."
            )
    for task in range(n_tasks):
        rows = observed[:, task]
        name = task_label(task, task_names)
        task_pred = np.asarray(per_task_pred[task])
        if task_pred.shape[0] != y_true2d.shape[0]:
            raise ValueError(f"y_pred has {task_pred.shape[0]} rows for {name} but y_true has {y_true2d.shape[0]}.")
        weights = None if sample_weight is None else sample_weight[rows, task]
        yield task, name, _observed_values(y_true2d[:, task], rows, name), task_pred[rows], weights


def reduce_task_scores(scores, average):
    """Per-task scores (NaN where undefined) as an array (``average=None``) or their mean over
    the tasks that have a score (``average="macro"``)."""
    scores = np.asarray(scores, dtype=np.float64)
    if average is None:
        return scores
    if average != "macro":
        raise ValueError(f"average must be 'macro' or None; got {average!r}.")
    if np.all(np.isnan(scores)):
        return np.nan
    return float(np.nanmean(scores))


def _masked_metric(metric, y_true, y_pred, *, average, sample_weight, missing_label, **kwargs):
    scores = []
    for _, name, truth, pred, weights in observed_pairs(
        y_true, y_pred, missing_label=missing_label, sample_weight=sample_weight
    ):
        if truth.size == 0:
            warnings.warn(
                f"{name} has no observed label here; its score is NaN.", UndefinedTaskScoreWarning, stacklevel=2
            )
            scores.append(np.nan)
            continue
        scores.append(metric(truth, pred, sample_weight=weights, **kwargs))
    return reduce_task_scores(scores, average)


def masked_accuracy_score(y_true, y_pred, *, average="macro", sample_weight=None, missing_label=np.nan):
    """Accuracy of each task on its observed labels, averaged over tasks.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
        True labels; NaN, None, ``pd.NA`` or ``missing_label`` marks a missing one.
    y_pred : array-like of the same shape
        Predicted labels.
    average : {"macro"} or None, default="macro"
        ``"macro"``: mean over the tasks that have a score; None: one score per task.
    sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), default=None
    missing_label : scalar, default=np.nan
        Marker of a missing label besides NaN, None and ``pd.NA``.

    Returns
    -------
    float or ndarray of shape (n_tasks,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import masked_accuracy_score
    >>> y_true = np.array([[0, 1], [1, np.nan], [1, 0]])
    >>> y_pred = np.array([[0, 1], [0, 0], [1, 1]])
    >>> masked_accuracy_score(y_true, y_pred, average=None)
    array([0.66666667, 0.5       ])
    """
    return _masked_metric(
        accuracy_score, y_true, y_pred, average=average, sample_weight=sample_weight, missing_label=missing_label
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
        ``"macro"``: mean over the tasks that have a score; None: one score per task.
    sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), default=None
    missing_label : scalar, default=np.nan
        Marker of a missing target besides NaN, None and ``pd.NA``.

    Returns
    -------
    float or ndarray of shape (n_tasks,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import masked_r2_score
    >>> y_true = np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 4.0]])
    >>> y_pred = np.array([[1.0, 2.5], [2.0, 0.0], [3.0, 3.5]])
    >>> masked_r2_score(y_true, y_pred, average=None)
    array([1. , 0.75])
    """
    return _masked_metric(
        r2_score, y_true, y_pred, average=average, sample_weight=sample_weight, missing_label=missing_label
    )
