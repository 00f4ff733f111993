"""Masked metrics: each task is scored on its observed rows with scikit-learn's own metric.

Collecting the observed pairs of a task and reducing the per-task scores are separate steps, so
every metric shares the same masking. numpy and scikit-learn only: importing this never imports torch.
"""

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)
from sklearn.preprocessing import label_binarize

from .._targets import _observed_values, as_2d_targets, missing_mask, task_label

__all__ = [
    "UndefinedTaskScoreWarning",
    "masked_accuracy_score",
    "masked_average_precision_score",
    "masked_balanced_accuracy_score",
    "masked_f1_score",
    "masked_log_loss",
    "masked_mean_absolute_error",
    "masked_mean_squared_error",
    "masked_r2_score",
    "masked_roc_auc_score",
    "observed_pairs",
    "reduce_task_scores",
]


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


def masked_accuracy_score(y_true, y_pred, *, average="macro", sample_weight=None, missing_label=np.nan):
    """Accuracy of each task on its observed labels, averaged over tasks.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
        True labels; NaN, None, ``pd.NA`` or ``missing_label`` marks a missing one.
    y_pred : array-like of the same shape
        Predicted labels.
    average : {"macro"} or None, default="macro"
        ``"macro"``: mean over the tasks that have a score (NaN-valued tasks are left out); None:
        one score per task, NaN where it is undefined.
    sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), default=None
        Weight of each row, or of each (row, task) entry.
    missing_label : scalar, default=np.nan
        Marker of a missing label besides NaN, None and ``pd.NA``.

    Returns
    -------
    float or ndarray of shape (n_tasks,)

    See Also
    --------
    sklearn.metrics.accuracy_score : The metric applied to each task.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import masked_accuracy_score
    >>> y_true = np.array([[0, 1], [1, np.nan], [1, 0]])
    >>> y_pred = np.array([[0, 1], [0, 0], [1, 1]])
    >>> masked_accuracy_score(y_true, y_pred, average=None)
    array([0.66666667, 0.5       ])
    """
    return _per_task_metric(
        accuracy_score,
        "masked_accuracy_score",
        y_true,
        y_pred,
        average=average,
        sample_weight=sample_weight,
        missing_label=missing_label,
    )


def masked_balanced_accuracy_score(y_true, y_pred, *, average="macro", sample_weight=None, missing_label=np.nan):
    """Balanced accuracy of each task on its observed labels, averaged over tasks.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
        True labels; NaN, None, ``pd.NA`` or ``missing_label`` marks a missing one.
    y_pred : array-like of the same shape
        Predicted labels.
    average : {"macro"} or None, default="macro"
        ``"macro"``: mean over the tasks that have a score (NaN-valued tasks are left out); None:
        one score per task, NaN where it is undefined.
    sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), default=None
        Weight of each row, or of each (row, task) entry.
    missing_label : scalar, default=np.nan
        Marker of a missing label besides NaN, None and ``pd.NA``.

    Returns
    -------
    float or ndarray of shape (n_tasks,)

    See Also
    --------
    sklearn.metrics.balanced_accuracy_score : The metric applied to each task.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import masked_balanced_accuracy_score
    >>> y_true = np.array([[0, "a"], [0, None], [1, "b"], [0, "b"]], dtype=object)
    >>> y_pred = np.array([[0, "a"], [1, "a"], [1, "a"], [0, "b"]], dtype=object)
    >>> masked_balanced_accuracy_score(y_true, y_pred, average=None)
    array([0.83333333, 0.75      ])
    """
    return _per_task_metric(
        balanced_accuracy_score,
        "masked_balanced_accuracy_score",
        y_true,
        y_pred,
        average=average,
        sample_weight=sample_weight,
        missing_label=missing_label,
    )


def masked_f1_score(
    y_true,
    y_pred,
    *,
    average="macro",
    class_average="binary",
    classes=None,
    sample_weight=None,
    missing_label=np.nan,
):
    """F1 score of each task on its observed labels, averaged over tasks.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
        True labels; NaN, None, ``pd.NA`` or ``missing_label`` marks a missing one.
    y_pred : array-like of the same shape
        Predicted labels.
    average : {"macro"} or None, default="macro"
        ``"macro"``: mean over the tasks that have a score (NaN-valued tasks are left out); None:
        one score per task, NaN where it is undefined.
    class_average : {"binary", "micro", "macro", "weighted"}, default="binary"
        How F1 is averaged over the classes of one task (``f1_score``'s ``average``).
        ``"binary"`` scores the positive class of a binary task, the last of its classes, and
        uses ``"macro"`` for a task with more than two classes.
    classes : list of array-like, default=None
        The classes of each task (an estimator's ``classes_``), which decide the positive class.
        None uses the sorted labels found in ``y_true`` and ``y_pred``.
    sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), default=None
        Weight of each row, or of each (row, task) entry.
    missing_label : scalar, default=np.nan
        Marker of a missing label besides NaN, None and ``pd.NA``.

    Returns
    -------
    float or ndarray of shape (n_tasks,)

    Notes
    -----
    A task whose F1 is undefined (no positive label observed or predicted) scores NaN with an
    :class:`UndefinedTaskScoreWarning`, rather than scikit-learn's default of 0.

    See Also
    --------
    sklearn.metrics.f1_score : The metric applied to each task.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import masked_f1_score
    >>> y_true = np.array([[0, 1], [1, np.nan], [1, 0], [1, 1]])
    >>> y_pred = np.array([[0, 1], [0, 0], [1, 1], [1, 1]])
    >>> masked_f1_score(y_true, y_pred, average=None)
    array([0.8, 0.8])
    """
    if class_average not in ("binary", "micro", "macro", "weighted"):
        raise ValueError(f"class_average must be 'binary', 'micro', 'macro' or 'weighted'; got {class_average!r}.")
    n_tasks = as_2d_targets(y_true)[0].shape[1]
    per_task_classes = _per_task_classes(classes, n_tasks)

    def score_task(task, name, truth, pred, weights):
        pred = _typed(pred, name)
        task_classes = _task_classes(per_task_classes[task], truth, name, pred=pred)
        options = {"average": class_average, "labels": task_classes}
        if class_average == "binary":
            if len(task_classes) <= 2:
                options = {"average": "binary", "pos_label": task_classes[-1]}
            else:
                options["average"] = "macro"
        return f1_score(truth, pred, sample_weight=weights, zero_division=np.nan, **options)

    return _score_tasks(
        "masked_f1_score",
        score_task,
        y_true,
        y_pred,
        average=average,
        sample_weight=sample_weight,
        missing_label=missing_label,
    )


def _probability_metric(name, score_task, y_true, y_score, *, average, classes, sample_weight, missing_label):
    n_tasks = as_2d_targets(y_true)[0].shape[1]
    per_task_classes = _per_task_classes(classes, n_tasks)

    def score_with_classes(task, task_name, truth, pred, weights):
        pred = _probabilities(pred, task_name)
        task_classes = _task_classes(per_task_classes[task], truth, task_name, n_columns=pred.shape[1])
        return score_task(truth, pred, task_classes, weights)

    return _score_tasks(
        name,
        score_with_classes,
        y_true,
        y_score,
        average=average,
        sample_weight=sample_weight,
        missing_label=missing_label,
        per_task_outputs=True,
    )


def masked_roc_auc_score(y_true, y_score, *, average="macro", classes=None, sample_weight=None, missing_label=np.nan):
    """Area under the ROC curve of each task on its observed labels, averaged over tasks.

    A binary task is scored on its positive-class column (the last of its classes); a task with
    more classes with scikit-learn's one-vs-rest macro average.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
        True labels; NaN, None, ``pd.NA`` or ``missing_label`` marks a missing one.
    y_score : list of array-like of shape (n_samples, n_classes_t), or array-like
        Class probabilities of each task, columns in the order of its classes: what a
        classifier's ``predict_proba`` returns (one array when there is a single task).
    average : {"macro"} or None, default="macro"
        ``"macro"``: mean over the tasks that have a score (NaN-valued tasks are left out); None:
        one score per task, NaN where it is undefined.
    classes : list of array-like, default=None
        The classes of each task, in the order of its columns (an estimator's ``classes_``). None
        uses the sorted labels observed in ``y_true``, which must then number as many as the
        columns.
    sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), default=None
        Weight of each row, or of each (row, task) entry.
    missing_label : scalar, default=np.nan
        Marker of a missing label besides NaN, None and ``pd.NA``.

    Returns
    -------
    float or ndarray of shape (n_tasks,)
        A task with fewer than two classes among its observed labels scores NaN, with an
        :class:`UndefinedTaskScoreWarning`.

    See Also
    --------
    sklearn.metrics.roc_auc_score : The metric applied to each task.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import masked_roc_auc_score
    >>> y_true = np.array([[0, 1], [1, np.nan], [1, 0], [0, 1]])
    >>> proba = [np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]]),
    ...          np.array([[0.1, 0.9], [0.5, 0.5], [0.8, 0.2], [0.6, 0.4]])]
    >>> masked_roc_auc_score(y_true, proba, average=None)
    array([1., 1.])
    """

    def score_task(truth, pred, task_classes, weights):
        _need_two_classes(truth)
        if len(task_classes) == 2:
            return roc_auc_score(truth == task_classes[1], pred[:, 1], sample_weight=weights)
        return roc_auc_score(truth, pred, multi_class="ovr", labels=task_classes, sample_weight=weights)

    return _probability_metric(
        "masked_roc_auc_score",
        score_task,
        y_true,
        y_score,
        average=average,
        classes=classes,
        sample_weight=sample_weight,
        missing_label=missing_label,
    )


def masked_average_precision_score(
    y_true, y_score, *, average="macro", classes=None, sample_weight=None, missing_label=np.nan
):
    """Average precision of each task on its observed labels, averaged over tasks.

    A binary task is scored on its positive-class column (the last of its classes); a task with
    more classes as the macro average over its one-vs-rest indicator columns.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
        True labels; NaN, None, ``pd.NA`` or ``missing_label`` marks a missing one.
    y_score : list of array-like of shape (n_samples, n_classes_t), or array-like
        Class probabilities of each task, columns in the order of its classes: what a
        classifier's ``predict_proba`` returns (one array when there is a single task).
    average : {"macro"} or None, default="macro"
        ``"macro"``: mean over the tasks that have a score (NaN-valued tasks are left out); None:
        one score per task, NaN where it is undefined.
    classes : list of array-like, default=None
        The classes of each task, in the order of its columns (an estimator's ``classes_``). None
        uses the sorted labels observed in ``y_true``, which must then number as many as the
        columns.
    sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), default=None
        Weight of each row, or of each (row, task) entry.
    missing_label : scalar, default=np.nan
        Marker of a missing label besides NaN, None and ``pd.NA``.

    Returns
    -------
    float or ndarray of shape (n_tasks,)
        A task with fewer than two classes among its observed labels scores NaN, with an
        :class:`UndefinedTaskScoreWarning`.

    See Also
    --------
    sklearn.metrics.average_precision_score : The metric applied to each task.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import masked_average_precision_score
    >>> y_true = np.array(["yes", "no", None, "yes"], dtype=object)
    >>> proba = np.array([[0.2, 0.8], [0.7, 0.3], [0.5, 0.5], [0.6, 0.4]])
    >>> masked_average_precision_score(y_true, proba)
    1.0
    """

    def score_task(truth, pred, task_classes, weights):
        _need_two_classes(truth)
        if len(task_classes) == 2:
            return average_precision_score(truth == task_classes[1], pred[:, 1], sample_weight=weights)
        indicators = label_binarize(truth, classes=task_classes)
        return average_precision_score(indicators, pred, average="macro", sample_weight=weights)

    return _probability_metric(
        "masked_average_precision_score",
        score_task,
        y_true,
        y_score,
        average=average,
        classes=classes,
        sample_weight=sample_weight,
        missing_label=missing_label,
    )


def masked_log_loss(y_true, y_pred, *, average="macro", classes=None, sample_weight=None, missing_label=np.nan):
    """Log loss (cross-entropy) of each task on its observed labels, averaged over tasks.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
        True labels; NaN, None, ``pd.NA`` or ``missing_label`` marks a missing one.
    y_pred : list of array-like of shape (n_samples, n_classes_t), or array-like
        Class probabilities of each task, columns in the order of its classes: what a
        classifier's ``predict_proba`` returns (one array when there is a single task).
    average : {"macro"} or None, default="macro"
        ``"macro"``: mean over the tasks that have a score (NaN-valued tasks are left out); None:
        one score per task, NaN where it is undefined.
    classes : list of array-like, default=None
        The classes of each task, in the order of its columns (an estimator's ``classes_``). None
        uses the sorted labels observed in ``y_true``, which must then number as many as the
        columns.
    sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), default=None
        Weight of each row, or of each (row, task) entry.
    missing_label : scalar, default=np.nan
        Marker of a missing label besides NaN, None and ``pd.NA``.

    Returns
    -------
    float or ndarray of shape (n_tasks,)
        Lower is better.

    See Also
    --------
    sklearn.metrics.log_loss : The metric applied to each task.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import masked_log_loss
    >>> y_true = np.array([[0, 2], [1, np.nan]])
    >>> proba = [np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([[0.5, 0.25, 0.25], [0.2, 0.2, 0.6]])]
    >>> masked_log_loss(y_true, proba, classes=[[0, 1], [0, 1, 2]], average=None).round(4)
    array([0.6931, 1.3863])
    """

    def score_task(truth, pred, task_classes, weights):
        return log_loss(truth, pred, labels=task_classes, sample_weight=weights)

    return _probability_metric(
        "masked_log_loss",
        score_task,
        y_true,
        y_pred,
        average=average,
        classes=classes,
        sample_weight=sample_weight,
        missing_label=missing_label,
    )


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
