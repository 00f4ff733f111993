"""Masked classification metrics: scikit-learn's accuracy, F1, ROC-AUC, average precision and log
loss, each task scored on its observed labels (the masking is ``_masked.py``'s)."""

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    roc_auc_score,
)
from sklearn.preprocessing import label_binarize

from .._targets import as_2d_targets
from ._masked import (
    _need_two_classes,
    _per_task_classes,
    _per_task_metric,
    _probabilities,
    _score_tasks,
    _task_classes,
    _typed,
)

__all__ = [
    "masked_accuracy_score",
    "masked_average_precision_score",
    "masked_balanced_accuracy_score",
    "masked_f1_score",
    "masked_log_loss",
    "masked_roc_auc_score",
]


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
