"""Labels at the door: y and sample_weight as fit learns them.

A dense y (array, DataFrame) leaves here as its 2-D form with each label's weight (0 where it is
missing); a sparse y (or a long table made one with ``labels_from_long``) as compact labels that
also carry each label's weight and each task's positions. Either way ``describe_tasks`` reads the
per-task ``(values, weights)`` from them, and the training engine encodes them once by ``tasks_``.
"""

import numpy as np

from ._labels import CompactLabels, labels_from_long
from ._sklearn_compat import _check_sample_weight
from ._targets import as_2d_targets, missing_mask

# A dense y with at most this fraction of its cells labelled is taken in as compact labels: its
# dense encoding, weights and batches would cost several times the y itself (a 100,000 x 1,000 y
# with 0.1% labelled added 3.2 times its 763 MiB to fit's peak; benchmarks/bench_label_memory.py),
# the compact form only what its labels need. Above it, the dense form: the panel's sets (21% to
# 100% labelled) fit as before.
_COMPACT_MAX_OBSERVED = 0.1


def check_fit_sample_weight(sample_weight, X, observed):
    """``(row_weights, count_weights)`` from a 1-D (per row) or 2-D (per label) sample_weight.

    ``count_weights`` is each label's weight, 0 where the label is missing; ``row_weights`` is a
    row's weight. A 2-D sample_weight weighs labels only: every row then weighs 1 (in the
    ``per_sample`` denominator and the L2 penalty), so that a label of weight 0 is exactly a
    missing label.
    """
    if sample_weight is not None and np.asarray(sample_weight).ndim == 2:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != observed.shape:
            raise ValueError(
                f"sample_weight has shape {sample_weight.shape}; a 2-D sample_weight needs one weight "
                f"per label, shape (n_samples, n_tasks) = {observed.shape}."
            )
        if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
            raise ValueError("sample_weight must be finite and non-negative (0 drops a label).")
        return np.ones(len(sample_weight)), np.where(observed, sample_weight, 0.0)
    row_weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    return row_weights, observed * row_weights[:, None]


def stored_labels(y, missing_label):
    """A dense y as a sparse one that stores exactly its observed labels (explicit zeros included)."""
    y2d, _, _ = as_2d_targets(y)
    rows, tasks = np.nonzero(~missing_mask(y2d, missing_label))
    try:
        values = y2d[rows, tasks].astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "This network trains its heads from labelled pairs (it was fitted on a sparse y): continue with "
            "numeric labels."
        ) from None
    return labels_from_long(rows, tasks, values, shape=y2d.shape)


def label_weights(X, y2d, sample_weight, missing_label):
    """``(row_weights, count_weights, observed)`` of a dense y: a label of weight 0 is a missing
    label (it neither trains nor defines a class or a scale)."""
    row_weights, count_weights = check_fit_sample_weight(sample_weight, X, ~missing_mask(y2d, missing_label))
    return row_weights, count_weights, count_weights > 0


def compact_labels(X, y, sample_weight):
    """A sparse y's labels in compact form, with each label's weight (``weights``, all > 0) and the
    positions of each task's labels (``by_task_``); ``row_weights`` on the side."""
    return _weighed(CompactLabels.from_sparse(y), X, sample_weight)


def compact_if_mostly_missing(X, y2d, was_1d, sample_weight, missing_label):
    """:func:`compact_labels` of a dense y's observed labels when at most ``_COMPACT_MAX_OBSERVED`` of
    its cells hold one; else None. Only a 2-D float y with a 1-D (or no) sample_weight is taken
    this way: other dtypes keep the dense form, which keeps their classes' type (ints, bools,
    strings) in ``classes_`` and ``predict``, and a 2-D sample_weight needs the dense form."""
    if was_1d or y2d.dtype.kind != "f" or (sample_weight is not None and np.ndim(sample_weight) == 2):
        return None
    observed = ~missing_mask(y2d, missing_label)
    if np.count_nonzero(observed) > _COMPACT_MAX_OBSERVED * observed.size:
        return None
    rows, tasks = np.nonzero(observed)
    del observed
    values = y2d[rows, tasks].astype(np.float64)
    if not np.all(np.isfinite(values)):
        return None  # the dense form names the task of an infinite label
    return _weighed(CompactLabels(rows, tasks, values, y2d.shape), X, sample_weight)


def _weighed(labels, X, sample_weight):
    """Compact labels with each label's weight (its row's), those of weight 0 dropped."""
    if labels.shape[0] != X.shape[0]:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: [{X.shape[0]}, {labels.shape[0]}]"
        )
    if sample_weight is not None and np.ndim(sample_weight) == 2:
        raise ValueError(
            "A 2-D sample_weight needs a dense y. With a sparse y, weigh rows with a 1-D sample_weight, or "
            "drop the labels that should not count."
        )
    row_weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    weights = row_weights[labels.rows]
    if not np.all(weights > 0):  # a label of weight 0 is a missing label
        labels = labels.select(weights > 0)
        weights = row_weights[labels.rows]
    labels.weights, labels.row_weights, labels.by_task_ = weights, row_weights, labels.by_task()
    return labels
