"""Labels at the door: y and sample_weight, in whatever form they come, as one compact table.

Every y (array, DataFrame, list, scipy sparse matrix, or a long table made one with
``labels_from_long``) leaves :func:`labels_at_door` as :class:`~sklearn_mtl._labels.CompactLabels`:
one entry per observed (row, task) label with its value (in the user's dtype), its weight, and the
positions of each task's labels. ``describe_tasks`` reads each task's ``(values, weights)`` from it
(:func:`task_labels`), the training engine encodes it once by ``tasks_``, and one dataset serves
every fit. Memory follows the number of labels, not n_samples x n_tasks.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_consistent_length

from ._labels import CompactLabels, task_label
from ._sklearn_compat import _check_sample_weight
from ._targets import as_2d_targets, missing_mask, typed_values


def labels_at_door(X, y, sample_weight, missing_label):
    """``(labels, was_1d, task_names, y_2d)``: y's observed labels of weight > 0 as compact labels.

    ``y_2d`` is a dense y as a 2-D array (what scorers compare predictions with), None for a
    sparse y. In a dense y a label is missing where it is NaN, None, ``pd.NA`` or
    ``missing_label``; in a sparse y where it is not stored. A 1-D ``sample_weight`` weighs rows
    (each of a row's labels, and the row in the ``per_sample`` denominator and the L2 penalty); a
    2-D one (dense y only) weighs each label on its own, every row then weighing 1. A label of
    weight 0 is exactly a missing label: it neither trains nor defines a class or a scale.
    """
    if sp.issparse(y):
        return _weighed(CompactLabels.from_sparse(y), X, sample_weight), False, None, None
    y2d, was_1d, task_names = as_2d_targets(y)
    check_consistent_length(X, y2d)
    observed = ~missing_mask(y2d, missing_label)
    rows, tasks = np.nonzero(observed)
    del observed  # as large as y in cells: gone before the labels' own arrays are made
    labels = CompactLabels(rows, tasks, y2d[rows, tasks], y2d.shape)
    if _per_label(sample_weight):
        weights = _label_sample_weight(sample_weight, y2d.shape)[rows, tasks]
        keep = weights > 0
        labels = labels.select(keep) if not keep.all() else labels
        _set_weights(labels, weights[keep], np.ones(y2d.shape[0]))
        return labels, was_1d, task_names, y2d
    return _weighed(labels, X, sample_weight), was_1d, task_names, y2d


def task_labels(labels, task_names=None):
    """Each task's observed labels (typed: a DataFrame's object columns re-inferred) and their
    weights, ``[(values, weights), ...]``: what ``describe_tasks`` learns the tasks from."""
    return [
        (typed_values(labels.values[positions], task_label(task, task_names)), labels.weights[positions])
        for task, positions in enumerate(labels.by_task_)
    ]


def shifted_labels(labels, offset, n_tasks):
    """The labels of new tasks placed after ``offset`` fitted ones, among ``n_tasks`` (``add_tasks``)."""
    moved = CompactLabels(labels.rows, labels.tasks + offset, labels.values, (labels.shape[0], n_tasks))
    return _set_weights(moved, labels.weights, labels.row_weights)


def _per_label(sample_weight):
    """Whether sample_weight weighs each label (2-D) rather than each row."""
    return sample_weight is not None and np.asarray(sample_weight).ndim == 2


def _label_sample_weight(sample_weight, shape):
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if sample_weight.shape != shape:
        raise ValueError(
            f"sample_weight has shape {sample_weight.shape}; a 2-D sample_weight needs one weight "
            f"per label, shape (n_samples, n_tasks) = {shape}."
        )
    if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
        raise ValueError("sample_weight must be finite and non-negative (0 drops a label).")
    return sample_weight


def _weighed(labels, X, sample_weight):
    """Compact labels with each label's weight (its row's), those of weight 0 dropped."""
    if labels.shape[0] != X.shape[0]:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: [{X.shape[0]}, {labels.shape[0]}]"
        )
    if _per_label(sample_weight):
        raise ValueError(
            "A 2-D sample_weight needs a dense y. With a sparse y, weigh rows with a 1-D sample_weight, or "
            "drop the labels that should not count."
        )
    row_weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    weights = row_weights[labels.rows]
    if not np.all(weights > 0):  # a label of weight 0 is a missing label
        labels = labels.select(weights > 0)
        weights = row_weights[labels.rows]
    return _set_weights(labels, weights, row_weights)


def _set_weights(labels, weights, row_weights):
    labels.weights, labels.row_weights, labels.by_task_ = weights, row_weights, labels.by_task()
    return labels
