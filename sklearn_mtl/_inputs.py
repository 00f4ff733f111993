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

from ._input_transform import fit_scaling

ENCODINGS = ("auto", "none")
TRANSFORMS = ("auto", "none")  # input_transform: see _input_transform.py

# An input of at least this many columns is wide (fingerprints, word counts): it takes no encoding
# here, and the engine's rules (dropout="auto", the sparse first layer) read the same width
_WIDE_INPUT = 100

# A column is encoded when it takes between these many distinct values in the training rows (a
# binary column's indicators would only repeat it) ...
_LEVELS = (3, 16)
# ... and each value is on at least this many rows on average: the values of a column that is
# mostly unique (a small sample of a continuous measurement) are not levels
_MIN_ROWS_PER_LEVEL = 20


def fitted_levels(X, encoding, gathered=None):
    """The columns of X that ``encoding`` gives indicators, with the distinct values of each:
    ``{column: sorted values}`` (empty when none qualifies, for sparse X, for an input of at least
    ``_WIDE_INPUT`` columns, and for "none"). In a data-parallel fit on each rank's own rows
    (``distributed_rows="own"``), ``gathered`` returns every rank's object in a list, and the
    levels are those of all ranks' rows."""
    if encoding != "auto" or sp.issparse(X) or X.shape[1] >= _WIDE_INPUT:
        return {}
    part = (X.shape[0], [_distinct(X[:, column]) for column in range(X.shape[1])])
    parts = gathered(part) if gathered else [part]
    high = min(_LEVELS[1], sum(n_rows for n_rows, _ in parts) // _MIN_ROWS_PER_LEVEL)
    levels = {}
    for column in range(X.shape[1]):
        values = [distinct[column] for _, distinct in parts]
        if any(v is None for v in values):
            continue
        union = np.unique(np.concatenate(values))
        if _LEVELS[0] <= len(union) <= high:
            levels[column] = union
    return levels


def _distinct(values):
    """The distinct values of one column, or None when there are more than a level column can have."""
    distinct = np.unique(values)
    return distinct if len(distinct) <= _LEVELS[1] else None


def fitted_maps(est, X, labels, gathered=None, split=None):
    """``(input_levels_, input_transform_)``: what fit learns of X's columns by ``est``'s
    ``input_encoding`` and ``input_transform``, each row weighed by its ``labels.row_weights``
    (``gathered``: every rank's objects, in a data-parallel fit on each rank's own rows; ``split``:
    ``(rank, world_size, gathered)`` in any data-parallel fit, whose ranks share the columns' maps)."""
    levels = fitted_levels(X, est.input_encoding, gathered)
    return levels, fit_scaling(X, est.input_transform, labels.row_weights, gathered or None, split)


def levels_of(est):
    """The fitted levels of ``est`` (none for a model fitted before ``input_encoding`` existed,
    which reads X as it is)."""
    return getattr(est, "input_levels_", {})


def scaling_of(est):
    """The fitted input transform of ``est`` (None for a model fitted before ``input_transform``
    existed, which reads X as it is)."""
    return getattr(est, "input_transform_", None)


def n_encoded_features(est):
    """The width of X as ``est``'s network reads it: X's own columns and the indicators of its levels."""
    return est.n_features_in_ + sum(len(values) for values in levels_of(est).values())


# A value matches a level within this fraction of the smallest gap between its column's levels: a
# column standardized in float32 and in float64 (a pipeline's scaler keeps the dtype it is given)
# differs in the last bits, far less than its levels differ
_MATCH_GAP_FRACTION = 1e-3


def network_input(est, X):
    """X as ``est``'s network reads it: its own columns through the fitted input transform
    (``_input_transform.py``), then the indicator columns of its fitted levels, read from X's own
    values."""
    scaling = scaling_of(est)
    return encode(X, levels_of(est), X if scaling is None else scaling.transform(X))


def encode(X, levels, own=None):
    """X with the indicator columns of ``levels`` after its own (X itself when there are none;
    ``own`` replaces X's own columns, the indicators still read X). A value that matches none of
    its column's levels (not seen in fit) sets none of its indicators."""
    own = X if own is None else own
    if not levels:
        return own
    blocks = [own]
    for column, values in sorted(levels.items()):
        tolerance = _MATCH_GAP_FRACTION * np.diff(values).min()
        blocks.append((np.abs(X[:, [column]] - values[None, :]) <= tolerance).astype(own.dtype))
    return np.hstack(blocks)

