"""The masking every masked metric shares: each task is scored on its observed rows with
scikit-learn's own metric (``_classification.py``, ``_regression.py``).

Collecting the observed pairs of a task and reducing the per-task scores are separate steps, so
every metric shares the same masking. numpy and scikit-learn only: importing this never imports torch.
"""

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning

from .._labels import task_label
from .._targets import _observed_values, as_2d_targets, missing_mask

__all__ = ["UndefinedTaskScoreWarning", "observed_pairs", "reduce_task_scores"]


class UndefinedTaskScoreWarning(UserWarning):
    """A task's score is undefined here (no observed label, or one class only) and is NaN."""


class _UndefinedTask(Exception):
    """Raised by a per-task metric whose value is undefined on the task's observed rows."""


def _typed(values, name):
    """An object column (labels of mixed-dtype tasks) as a typed array, so sklearn sees its labels."""
    values = np.asarray(values)
    return _observed_values(values, np.ones(values.shape[0], dtype=bool), name) if values.dtype.kind == "O" else values


def observed_pairs(y_true, y_pred, *, missing_label=np.nan, sample_weight=None, per_task_outputs=False):
    """Yield ``(task, name, y_true_t, y_pred_t, sample_weight_t)`` over each task's observed rows.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
        True labels or targets; NaN, None, ``pd.NA`` or ``missing_label`` marks a missing one.
    y_pred : array-like or list of array-like
        With ``per_task_outputs=False``, labels or values shaped like ``y_true``. With
        ``per_task_outputs=True``, a list with one ``(n_samples, n_classes_t)`` array per task
        (what ``predict_proba`` returns), or one such array when there is a single task.
    missing_label : scalar, default=np.nan
        Marker of a missing label besides NaN, None and ``pd.NA``.
    sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), default=None
        Weight of each row, or of each (row, task) entry.
    per_task_outputs : bool, default=False
        Whether ``y_pred`` holds one 2-D array per task.

    Yields
    ------
    task : int
    name : str
        How the task is named in messages.
    y_true_t, y_pred_t : ndarray
        The task's observed labels and the predictions on those rows.
    sample_weight_t : ndarray or None

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import observed_pairs
    >>> y_true = np.array([[0, 1], [1, np.nan], [1, 0]])
    >>> y_pred = np.array([[0, 1], [0, 0], [1, 1]])
    >>> [(task, t.tolist(), p.tolist()) for task, _, t, p, _ in observed_pairs(y_true, y_pred)]
    [(0, [0.0, 1.0, 1.0], [0, 0, 1]), (1, [1.0, 0.0], [1, 1])]
    """
    y_true2d, was_1d, task_names = as_2d_targets(y_true)
    observed = ~missing_mask(y_true2d, missing_label)
    n_samples, n_tasks = y_true2d.shape
    if per_task_outputs:
        if not isinstance(y_pred, (list, tuple)):
            if n_tasks != 1:
                raise ValueError(
                    f"y_pred must be a list with one (n_samples, n_classes) array per task ({n_tasks}), as "
                    "predict_proba returns it; got a single array."
                )
            y_pred = [y_pred]
        per_task_pred = [np.asarray(pred) for pred in y_pred]
        if len(per_task_pred) != n_tasks:
            raise ValueError(f"y_pred has outputs for {len(per_task_pred)} tasks but y_true has {n_tasks}.")
    else:
        y_pred = np.asarray(y_pred.to_numpy() if hasattr(y_pred, "to_numpy") else y_pred)
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
        task_pred = per_task_pred[task]
        if task_pred.shape[0] != n_samples:
            raise ValueError(f"y_pred has {task_pred.shape[0]} rows for {name} but y_true has {n_samples}.")
        weights = None if sample_weight is None else sample_weight[rows, task]
        yield task, name, _observed_values(y_true2d[:, task], rows, name), task_pred[rows], weights


def reduce_task_scores(scores, average):
    """Per-task scores as an array, or their mean over the tasks that have one.

    Parameters
    ----------
    scores : array-like of shape (n_tasks,)
        One score per task, NaN where a task's score is undefined.
    average : {"macro"} or None
        ``"macro"``: the mean over the tasks whose score is not NaN (NaN when none has one);
        None: the scores themselves.

    Returns
    -------
    float or ndarray of shape (n_tasks,)

    Examples
    --------
    >>> from sklearn_mtl.metrics import reduce_task_scores
    >>> reduce_task_scores([0.5, float("nan"), 1.0], "macro")
    0.75
    """
    scores = np.asarray(scores, dtype=np.float64)
    if average is None:
        return scores
    if average != "macro":
        raise ValueError(f"average must be 'macro' or None; got {average!r}.")
    if np.all(np.isnan(scores)):
        return np.nan
    return float(np.nanmean(scores))


def _score_tasks(metric_name, score_task, y_true, y_pred, *, average, sample_weight, missing_label, **pair_options):
    """Score each task with ``score_task(task, name, truth, pred, weights)``; NaN and one warning
    for the tasks where it is undefined."""
    scores, undefined = [], []
    for task, name, truth, pred, weights in observed_pairs(
        y_true, y_pred, missing_label=missing_label, sample_weight=sample_weight, **pair_options
    ):
        if truth.size == 0:
            undefined.append(f"{name} has no observed label")
            scores.append(np.nan)
            continue
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                score = float(score_task(task, name, truth, pred, weights))
        except _UndefinedTask as reason:
            undefined.append(f"{name} {reason}")
            scores.append(np.nan)
            continue
        sklearn_undefined = [str(w.message) for w in caught if issubclass(w.category, UndefinedMetricWarning)]
        for caught_warning in caught:
            if np.isnan(score) and issubclass(caught_warning.category, UndefinedMetricWarning):
                continue
            warnings.warn_explicit(
                caught_warning.message, caught_warning.category, caught_warning.filename, caught_warning.lineno
            )
        if np.isnan(score):
            detail = f" ({' '.join(sklearn_undefined)})" if sklearn_undefined else ""
            undefined.append(f"{name} has an undefined score on its {truth.size} observed labels{detail}")
        scores.append(score)
    if undefined:
        warnings.warn(
            f"{metric_name}: {'; '.join(undefined)}. Their scores are NaN, and a macro average is taken over "
            "the other tasks.",
            UndefinedTaskScoreWarning,
            stacklevel=3,
        )
    return reduce_task_scores(scores, average)


def _per_task_classes(classes, n_tasks):
    """``classes`` as a list with one array per task (or None)."""
    if classes is None:
        return [None] * n_tasks
    if n_tasks == 1 and len(classes) and np.ndim(classes[0]) == 0:
        classes = [classes]
    if len(classes) != n_tasks:
        raise ValueError(f"classes has {len(classes)} entries but y_true has {n_tasks} tasks; give one per task.")
    return [np.asarray(task_classes) for task_classes in classes]


def _task_classes(classes, truth, name, n_columns=None, pred=None):
    """The classes of one task, checked against its observed labels (and its number of columns)."""
    if classes is None:
        classes = np.unique(truth if pred is None else np.concatenate([truth, _typed(pred, name)]))
        if n_columns is not None and len(classes) != n_columns:
            raise ValueError(
                f"{name}: y_pred has {n_columns} columns but the task's observed labels are {classes.tolist()}; "
                "pass classes=[...] (for example the estimator's classes_) to say which column is which class."
            )
        return classes
    if n_columns is not None and len(classes) != n_columns:
        raise ValueError(f"{name}: y_pred has {n_columns} columns but classes has {len(classes)}: {classes.tolist()}.")
    unknown = np.setdiff1d(truth, classes)
    if unknown.size:
        raise ValueError(f"{name} has labels {unknown[:5].tolist()} that are not among its classes {classes.tolist()}.")
    return classes


def _probabilities(y_pred, name):
    pred = np.asarray(y_pred, dtype=np.float64)
    if pred.ndim != 2:
        raise ValueError(f"{name}: y_pred must hold one (n_samples, n_classes) array per task; got shape {pred.shape}.")
    return pred


def _need_two_classes(truth):
    present = np.unique(truth)
    if present.size < 2:
        raise _UndefinedTask(f"has only one class ({present[0].item()!r}) among its observed labels")


def _per_task_metric(
    metric, name, y_true, y_pred, *, average, sample_weight, missing_label, per_task_outputs=False, **kwargs
):
    """Any ``metric(y_true, y_pred, **kwargs)`` of scikit-learn's style, applied to each task's
    observed rows (labels predicted as objects are typed first), then reduced with ``average``."""

    def score_task(task, task_name, truth, pred, weights):
        pred = pred if per_task_outputs else _typed(pred, task_name)
        return metric(truth, pred, **({} if weights is None else {"sample_weight": weights}), **kwargs)

    return _score_tasks(
        name,
        score_task,
        y_true,
        y_pred,
        average=average,
        sample_weight=sample_weight,
        missing_label=missing_label,
        per_task_outputs=per_task_outputs,
    )
