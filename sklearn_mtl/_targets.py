"""A user's y as a 2-D array, its missing labels, and the checks on its values, naming the task involved.

numpy only. What each task is and how its labels are encoded is in ``_tasks.py``.
"""

import numbers

import numpy as np
import scipy.sparse as sp

from ._labels import CompactLabels


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
    """Return ``(y_2d, was_1d, task_names)`` for a numpy/pandas/list y, or a scipy sparse one (a stored
    entry is a label, anything else missing: NaN in ``y_2d``).

    ``task_names`` is an object array of strings when y is a DataFrame, else None.
    """
    if sp.issparse(y):
        # metrics, score and splitters read a sparse y densified (NaN where no label is stored);
        # fit keeps its labels compact instead
        return CompactLabels.from_sparse(y).to_dense(), False, None
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


def _observed_values(column, observed, name):
    """The observed entries of one task as a typed numpy array (object columns are re-inferred)."""
    return typed_values(column[observed], name)


def typed_values(values, name):
    """One task's observed labels as a typed numpy array: an object array (a DataFrame's mixed
    columns) is re-inferred, so that a task of numbers learns numbers and one of strings strings."""
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
