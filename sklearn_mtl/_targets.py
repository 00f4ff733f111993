"""Turn a user's y into per-task encoded values and an observed-label mask.

numpy and scikit-learn only. Every error about y is raised here, naming the task involved.
"""

import numbers

import numpy as np
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.utils.multiclass import type_of_target


def _is_nan_marker(missing_label):
    return missing_label is None or (isinstance(missing_label, numbers.Real) and np.isnan(missing_label))


def _object_missing(values):
    """Missing mask of an object array: None, float NaN and ``pd.NA``/``pd.NaT``."""
    try:
        import pandas as pd
    except ImportError:  # without pandas there is no pd.NA to find
        is_missing = np.frompyfunc(lambda v: v is None or (isinstance(v, float) and v != v), 1, 1)
        return is_missing(values).astype(bool)
    return np.asarray(pd.isna(values), dtype=bool)


def missing_mask(y, missing_label=np.nan):
    """Boolean mask of the missing entries of an array of labels.

    An entry is missing when it is NaN, None, ``pd.NA`` or equal to ``missing_label``.
    """
    y = np.asarray(y)
    if y.dtype.kind == "f":
        mask = np.isnan(y)
    elif y.dtype.kind == "O":
        mask = _object_missing(y)
    else:
        mask = np.zeros(y.shape, dtype=bool)
    if not _is_nan_marker(missing_label):
        marker_is_number = isinstance(missing_label, numbers.Number)
        if y.dtype.kind == "O" or marker_is_number == (y.dtype.kind in "biuf"):
            # compare only what is not already missing: pd.NA == marker is neither True nor False
            candidates = ~mask
            mask[candidates] = np.asarray(y[candidates] == missing_label, dtype=bool)
    return mask


def as_2d_targets(y):
    """Return ``(y_2d, was_1d, task_names)`` for a numpy/pandas/list y.

    ``task_names`` is an object array of strings when y is a DataFrame, else None.
    """
    task_names = None
    if hasattr(y, "columns"):
        task_names = np.asarray([str(name) for name in y.columns], dtype=object)
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    y = np.asarray(y)
    if y.dtype.kind == "c":
        raise ValueError("y has complex values; labels and targets must be real numbers or strings.")
    if y.ndim == 1:
        return y.reshape(-1, 1), True, task_names
    if y.ndim != 2:
        raise ValueError(
            f"y must be 1-D (one task) or 2-D of shape (n_samples, n_tasks); got an array with {y.ndim} dimensions."
        )
    if y.shape[1] == 0:
        raise ValueError(f"y has shape {y.shape}: no task. Give at least one column of labels.")
    return y, False, task_names


def task_label(task, task_names=None):
    """How a task is named in messages: its column name when it has one, else its index."""
    if task_names is not None:
        return f"task {task} ({task_names[task]!r})"
    return f"task {task}"


def _observed_values(column, observed, name):
    """The observed entries of one task as a typed numpy array (object columns are re-inferred)."""
    values = column[observed]
    if values.dtype.kind != "O":
        return values
    kinds = {
        "number" if isinstance(v, (numbers.Number, np.bool_)) and not isinstance(v, str) else "text" for v in values
    }
    if len(kinds) > 1:
        raise TypeError(
            f"{name} mixes numbers and strings among its labels; give each task labels of one "
            "type (for example convert them all with str)."
        )
    return np.asarray(values.tolist())


def _check_finite(values, name):
    if values.dtype.kind not in "fc" or np.all(np.isfinite(values)):
        return
    if np.isnan(values).any():  # NaN among observed values can only come from text such as "nan"
        raise ValueError(
            f"{name} has observed values that become NaN as numbers (such as the text 'nan'); mark missing "
            "labels with np.nan, None or missing_label."
        )
    raise ValueError(
        f"Input y contains infinity or a value too large for dtype('float64') in {name}; "
        "mark missing labels with NaN (or missing_label) and replace infinite values."
    )


def _check_has_labels(observed, name):
    if not observed.any():
        raise ValueError(
            f"{name} has no observed label: every entry is missing. Drop that task's column or "
            "give it at least one label."
        )


class EncodedTargets:
    """The numeric form of y that the network trains on.

    Attributes
    ----------
    values : ndarray of shape (n_samples, n_tasks)
        int64 class indices (classification) or float64 standardized targets (regression), with
        0 at every missing position so that no NaN reaches the loss.
    observed : ndarray of bool, shape (n_samples, n_tasks)
        True where a label is present.
    """

    def __init__(self, values, observed):
        self.values = values
        self.observed = observed


def learn_classes(y2d, observed, task_names=None):
    """The sorted classes of each task, learned from its observed labels.

    Raises a ValueError naming the task when a task has no observed label, has infinite values,
    or has continuous values (a regression target given to a classifier).
    """
    classes = []
    for task in range(y2d.shape[1]):
        name = task_label(task, task_names)
        rows = observed[:, task]
        _check_has_labels(rows, name)
        task_values = _observed_values(y2d[:, task], rows, name)
        _check_finite(task_values, name)
        target_type = type_of_target(task_values)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                f"Unknown label type: {target_type} in {name}. A classifier needs discrete "
                "classes; for continuous targets use MaskedMultiTaskRegressor."
            )
        classes.append(LabelEncoder().fit(task_values).classes_)
    return classes


def encode_classification_targets(y2d, observed, classes, task_names=None):
    """Class indices of each task's observed labels (0 at missing positions).

    Parameters
    ----------
    y2d : ndarray of shape (n_samples, n_tasks)
    observed : ndarray of bool, shape (n_samples, n_tasks)
    classes : list of ndarray
        The classes of each task, as :func:`learn_classes` returns them.
    task_names : array of str or None

    Returns
    -------
    EncodedTargets
    """
    values = np.zeros(y2d.shape, dtype=np.int64)
    for task, task_classes in enumerate(classes):
        name = task_label(task, task_names)
        rows = observed[:, task]
        task_values = _observed_values(y2d[:, task], rows, name)
        _check_finite(task_values, name)
        if not task_values.size:
            continue
        unseen = np.setdiff1d(task_values, task_classes)
        if unseen.size:
            raise ValueError(
                f"{name} has labels {unseen[:5].tolist()} that are not among its classes {list(task_classes)}."
            )
        values[rows, task] = np.searchsorted(task_classes, task_values)
    return EncodedTargets(values, observed)


def regression_values(y2d, observed, task_names=None):
    """The regression targets as float64 with NaN at missing positions, validated per task."""
    values = np.full(y2d.shape, np.nan)
    for task in range(y2d.shape[1]):
        name = task_label(task, task_names)
        rows = observed[:, task]
        task_values = _observed_values(y2d[:, task], rows, name)
        try:
            task_values = task_values.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} has non-numeric targets (for example {task_values[:3].tolist()}); "
                "a regressor needs numbers. Use MaskedMultiTaskClassifier for class labels."
            ) from None
        _check_finite(task_values, name)
        values[rows, task] = task_values
    return values


def fit_target_scaler(values, task_names=None, sample_weight=None):
    """Per-task standardization on the observed values only (NaN marks the missing ones)."""
    for task in range(values.shape[1]):
        _check_has_labels(~np.isnan(values[:, task]), task_label(task, task_names))
    return StandardScaler().fit(values, sample_weight=sample_weight)


def encode_regression_targets(values, scaler):
    """Standardize with a fitted scaler and put 0 at the missing positions."""
    observed = ~np.isnan(values)
    standardized = np.where(observed, scaler.transform(values), 0.0)
    return EncodedTargets(standardized, observed)
