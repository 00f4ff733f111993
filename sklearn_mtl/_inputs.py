"""What fit learns of the input's columns (``input_encoding``), applied alike in fit and predict.

``input_encoding="auto"`` gives each column of a narrow dense input that takes a few distinct
values (a level, an orientation, a count, a rating) one indicator column per value, after the
input's own columns: the first layer can then give each level its own effect, as a tree does by
splitting on it, where from the value alone a strongly penalized layer fits a step between two
levels only with several units' kinks. On enb2012 (8 columns of 2 to 12 values each) the
validation :math:`R^2` of the default regressor rose from 0.9877 to 0.9960 (per-task gradient
boosting: 0.9893); on scikit-learn's narrow real sets it was level (diabetes, whose one such column
is binary, and digits, whose pixels take up to 17 values; breast cancer and wine have none); see
the user guide's "Defaults".
"""

import numpy as np
import scipy.sparse as sp

from ._engine import _WIDE_INPUT

ENCODINGS = ("auto", "none")

# A column is encoded when it takes between these many distinct values in the training rows (a
# binary column's indicators would only repeat it) ...
_LEVELS = (3, 16)
# ... and each value is on at least this many rows on average: the values of a column that is
# mostly unique (a small sample of a continuous measurement) are not levels
_MIN_ROWS_PER_LEVEL = 20
# ... of an input narrower than _WIDE_INPUT columns (wide inputs, fingerprints or counts, take no
# encoding)


def _encodes(X, encoding):
    return encoding == "auto" and not sp.issparse(X) and X.shape[1] < _WIDE_INPUT


def column_levels(X, encoding):
    """The columns of X that ``encoding`` gives indicators, with the distinct values of each:
    ``{column: sorted values}`` (empty when none qualifies, for sparse X, and for "none")."""
    if not _encodes(X, encoding):
        return {}
    return select_levels({column: _distinct(X[:, column]) for column in range(X.shape[1])}, X.shape[0])


def _distinct(values):
    """The distinct values of one column, or None when there are more than a level column can have."""
    distinct = np.unique(values)
    return distinct if len(distinct) <= _LEVELS[1] else None


def select_levels(distinct, n_rows):
    """``{column: values}`` of the columns whose distinct values (None: too many) make levels."""
    high = min(_LEVELS[1], n_rows // _MIN_ROWS_PER_LEVEL)
    return {
        column: values
        for column, values in distinct.items()
        if values is not None and _LEVELS[0] <= len(values) <= high
    }


def gathered_levels(X, encoding, gathered):
    """:func:`column_levels` of the rows of every rank of a data-parallel fit (``distributed_rows="own"``):
    ``gathered`` is the function that returns every rank's object in a list."""
    if not _encodes(X, encoding):
        return {}
    parts = gathered((X.shape[0], [_distinct(X[:, column]) for column in range(X.shape[1])]))
    distinct = {}
    for column in range(X.shape[1]):
        values = [part[1][column] for part in parts]
        union = None if any(v is None for v in values) else np.unique(np.concatenate(values))
        distinct[column] = union if union is not None and len(union) <= _LEVELS[1] else None
    return select_levels(distinct, sum(part[0] for part in parts))


# A value matches a level within this fraction of the smallest gap between its column's levels: a
# column standardized in float32 and in float64 (a pipeline's scaler keeps the dtype it is given)
# differs in the last bits, far less than its levels differ
_MATCH_GAP_FRACTION = 1e-3


def encode(X, levels):
    """X with the indicator columns of ``levels`` after its own (X itself when there are none). A
    value that matches none of its column's levels (not seen in fit) sets none of its indicators."""
    if not levels:
        return X
    blocks = [X]
    for column, values in sorted(levels.items()):
        tolerance = _MATCH_GAP_FRACTION * np.diff(values).min()
        blocks.append((np.abs(X[:, [column]] - values[None, :]) <= tolerance).astype(X.dtype))
    return np.hstack(blocks)


def fitted_levels(X, encoding, gathered=None):
    """:func:`column_levels`, or :func:`gathered_levels` in a data-parallel fit on each rank's own rows."""
    return column_levels(X, encoding) if not gathered else gathered_levels(X, encoding, gathered)
