"""Labels in a compact form: one entry per observed (row, task) label, so memory follows the labels.

A scipy sparse y is read this way: a *stored* entry is a label (an explicit 0 is the label 0) and
anything not stored is missing. :func:`labels_from_long` builds such a y from a long table of
(row, task, label), the form in which labels come out of a database. numpy and scipy only.
"""

import numbers

import numpy as np
import scipy.sparse as sp

__all__ = ["CompactLabels", "labels_from_long", "positions_by_task"]


def task_label(task, task_names=None):
    """How a task is named in messages: its column name when it has one, else its index."""
    if task_names is not None:
        return f"task {task} ({task_names[task]!r})"
    return f"task {task}"


def positions_by_task(tasks, n_tasks):
    """The positions of each task's labels, from the task of each label: a list of ``n_tasks`` arrays."""
    order = np.argsort(tasks, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(tasks, minlength=n_tasks))])
    return [order[bounds[t] : bounds[t + 1]] for t in range(n_tasks)]


def _index_array(values, name):
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {array.shape}.")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not (np.issubdtype(array.dtype, np.floating) and np.all(np.mod(array, 1) == 0)):
            raise ValueError(f"{name} must hold integer indices; got dtype {array.dtype}.")
    array = array.astype(np.int64)
    if array.size and array.min() < 0:
        where = int(np.flatnonzero(array < 0)[0])
        raise ValueError(f"{name} has a negative index ({array[where]}) at position {where}; indices start at 0.")
    return array


class CompactLabels:
    """The observed labels of a y as parallel arrays, sorted by row then task.

    Parameters
    ----------
    rows, tasks : ndarray of int64, shape (n_labels,)
    values : ndarray, shape (n_labels,)
        The labels as given: float64 from a sparse y; a dense y's own dtype (numbers, bools,
        strings, objects), which each task's ``classes`` keep.
    shape : (int, int)
        ``(n_samples, n_tasks)``.

    Attributes
    ----------
    row_ptr : ndarray of int64, shape (n_samples + 1,)
        The labels of row ``i`` are ``row_ptr[i]:row_ptr[i + 1]``.
    weights, row_weights, by_task_ : ndarray, ndarray, list of ndarray
        Set by fit's door (``_fit_labels.py``): each label's weight (all > 0), each row's weight,
        and the positions of each task's labels.
    """

    def __init__(self, rows, tasks, values, shape):
        self.shape = (int(shape[0]), int(shape[1]))
        keys = rows * self.shape[1] + tasks
        steps = np.diff(keys)
        if not np.all(steps > 0):  # np.nonzero of a dense mask comes sorted: no sort needed
            order = np.lexsort((tasks, rows))
            rows, tasks, values = rows[order], tasks[order], values[order]
            steps = np.diff(keys[order])
        self.rows, self.tasks, self.values = rows, tasks, values
        self.row_ptr = np.concatenate([[0], np.cumsum(np.bincount(self.rows, minlength=self.shape[0]))])
        if np.any(steps == 0):
            where = int(np.flatnonzero(steps == 0)[0])
            raise ValueError(
                f"{task_label(int(self.tasks[where]))} has two labels for row {int(self.rows[where])}: "
                "a (row, task) pair may hold one label only (sum or drop the duplicates first)."
            )

    def check_stored(self):
        """Refuse a stored NaN or infinity: in a sparse y every stored entry is a label."""
        bad = ~np.isfinite(self.values)
        if bad.any():
            where = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{task_label(int(self.tasks[where]))} has a stored {self.values[where]} at row "
                f"{int(self.rows[where])}. In a sparse y every stored entry is a label: leave missing labels "
                "unstored rather than storing NaN, and replace infinite values."
            )
        return self

    @classmethod
    def from_sparse(cls, y):
        """The stored entries of a scipy sparse matrix or array of shape (n_samples, n_tasks)."""
        if y.ndim != 2:
            raise ValueError(f"A sparse y must be 2-D (n_samples, n_tasks); got shape {y.shape}.")
        if y.shape[1] == 0:
            raise ValueError(f"y has shape {y.shape}: no task. Give at least one column of labels.")
        if not np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.complexfloating):
            raise ValueError(f"A sparse y must hold real numbers; got dtype {y.dtype}.")
        coo = sp.coo_matrix(y)
        labels = cls(coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float64), y.shape)
        return labels.check_stored()

    def __len__(self):
        return len(self.values)

    def select(self, keep):
        """The labels where the boolean array ``keep`` is True."""
        return CompactLabels(self.rows[keep], self.tasks[keep], self.values[keep], self.shape)

    def by_task(self):
        """The positions of each task's labels: a list of ``n_tasks`` index arrays."""
        return positions_by_task(self.tasks, self.shape[1])

    def to_dense(self):
        """A float64 (n_samples, n_tasks) array with NaN where no label is stored."""
        dense = np.full(self.shape, np.nan)
        dense[self.rows, self.tasks] = self.values
        return dense


def labels_from_long(rows, tasks, labels, *, shape=None):
    """A sparse y from a long table of (row, task, label): what a database query returns.

    Parameters
    ----------
    rows : array-like of int, shape (n_labels,)
        The row (sample) of each label, from 0.
    tasks : array-like of int, shape (n_labels,)
        The task (column of y) of each label, from 0.
    labels : array-like of float, shape (n_labels,)
        The labels: class labels as numbers, or regression targets.
    shape : (int, int), default=None
        ``(n_samples, n_tasks)``; None takes one more than the largest row and task index.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_samples, n_tasks)
        Every label stored (an explicit 0 too); every entry not stored is a missing label. The
        estimators, the masked metrics and ``MultiTaskStratifiedKFold`` accept it as y; inside
        ``fit`` the labels stay compact, so memory follows their number, not n_samples x n_tasks.

    Examples
    --------
    >>> from sklearn_mtl import labels_from_long
    >>> y = labels_from_long([0, 2, 2], [1, 0, 1], [1.0, 0.0, 3.5])
    >>> y.shape, y.nnz
    ((3, 2), 3)
    >>> y.toarray()
    array([[0. , 1. ],
           [0. , 0. ],
           [0. , 3.5]])
    """
    rows, tasks = _index_array(rows, "rows"), _index_array(tasks, "tasks")
    values = np.asarray(labels, dtype=np.float64)
    if not len(rows) == len(tasks) == len(values):
        raise ValueError(f"rows, tasks and labels must have one entry per label; got {len(rows)}, {len(tasks)}, "
                         f"{len(values)}.")
    if shape is None:
        shape = (int(rows.max(initial=-1)) + 1, int(tasks.max(initial=-1)) + 1)
    if not all(isinstance(size, numbers.Integral) and size >= 0 for size in shape) or len(shape) != 2:
        raise ValueError(f"shape must be (n_samples, n_tasks) of non-negative ints; got {shape!r}.")
    if len(rows) and (rows.max() >= shape[0] or tasks.max() >= shape[1]):
        raise ValueError(f"An index is out of shape {tuple(shape)}: largest row {rows.max()}, largest task "
                         f"{tasks.max()}.")
    compact = CompactLabels(rows, tasks, values, shape).check_stored()  # no duplicate, no non-finite label
    return sp.csr_matrix((compact.values, (compact.rows, compact.tasks)), shape=compact.shape)
