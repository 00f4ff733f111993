"""The input transform (``input_transform``): each dense column of X brought to a common scale inside the estimator.

A network reads its inputs through weights initialized for values of about unit size, and one
L2 penalty and one learning rate serve every weight: a column in its own units (a molecular
weight in the hundreds, a descriptor reaching 1e30, a jitter of 1e-5 seconds) then dominates or
vanishes, and the fit is finite and wrong (RDKit descriptors: mean R^2 below -1e18; sensor
readings: -3.2). ``input_transform="auto"`` fits one map per column on the training rows:

- a column of 0/1 values (a bit, an indicator) is left as it is, and so is a mostly-zero column
  of values within 10 (counts, word weights) and a scipy sparse X: fingerprints and counts keep
  their zeros, their first layer that reads non-zeros only, and the same model given dense or
  sparse; a column of two other values maps them to 0 and 1, and a constant one to 0;
- a light-tailed column is standardized (its mean and standard deviation, as a
  ``StandardScaler``);
- a heavy-tailed column, one whose training values reach beyond ``_HEAVY_TAIL`` robust units
  (the interquartile range over 1.349) from its median, is centred on the median, divided by
  that unit and read through ``asinh``: about linear within one unit, logarithmic beyond
  (RDKit's ``Ipc`` reaches 1e199 on SIDER's drugs, where a standard deviation overflows);
- any other column of which over half the values are one value (a mostly-zero count reaching
  beyond 10, a capital gain) is centred on it (zeros stay zeros), divided by the median departure
  of the other values from it, and read through ``asinh`` if heavy-tailed by that unit.

The standardizing and the robust maps follow any affine map of their column (means, standard
deviations, quantiles do), so a user's own scaler in front changes nothing the network reads
there, to rounding. The map is stored with
the model (``input_transform_``) and applied alike by ``predict``, ``partial_fit``, ``add_tasks``
and each rank of a data-parallel fit. The choices were made on validation splits (user guide,
"What the estimator does with your inputs"): the median and interquartile range for every column
lost 0.006 R^2 on SARCOS's joint readings, asinh from 5 robust units instead of 10 lost 0.05
there, and without asinh the descriptors' fit diverged.
"""

import numpy as np
import scipy.sparse as sp

# A mostly-zero column whose values lie within this bound (counts, word weights, one-hot codes) is read as
# it is: already of unit size, and its zeros stay zeros, so the first layer that reads the non-zeros of
# a mostly-zero X only (fingerprints and counts) keeps its sparsity and its speed
_UNIT_SIZED = 10.0

# a column whose training values reach beyond this many robust units from its median is heavy-tailed,
# and read through asinh (a normal column of 100,000 rows reaches about 6)
_HEAVY_TAIL = 10.0

# the interquartile range of a normal law, in standard deviations
_NORMAL_IQR = 1.349

# the map is fitted on at most this many rows (evenly spaced): quantiles of a column settle long before
_MAX_FIT_ROWS = 100_000

# columns whose quantiles are found together (a block transposed and partitioned at a time)
_QUANTILE_BLOCK = 64


class ColumnScaling:
    """A fitted per-column map of X: ``z = (x - center) / scale``, then ``asinh(z)`` where ``compress``.

    Parameters
    ----------
    center, scale : ndarray of shape (n_features,)
        Float64 centre and scale of each column (0 and 1 for a column left as it is).
    compress : ndarray of shape (n_features,)
        Whether each column is read through ``asinh`` after its affine map.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl._input_transform import fit_scaling
    >>> X = np.array([[1.0, 0.0, 200.0], [2.0, 1.0, 300.0], [3.0, 0.0, 400.0], [4.0, 1.0, 1e9]])
    >>> scaling = fit_scaling(X, "auto")
    >>> scaling.compress.tolist()
    [False, False, True]
    >>> np.round(scaling.transform(X)[:, 0], 2).tolist()
    [-1.34, -0.45, 0.45, 1.34]
    """

    def __init__(self, center, scale, compress):
        self.center = np.asarray(center, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.compress = np.asarray(compress, dtype=bool)
        self._changed = np.flatnonzero((self.center != 0) | (self.scale != 1) | self.compress)

    def transform(self, X):
        """X with its columns mapped (float64, a new array; X itself is not written)."""
        if X.shape[1] != len(self.center):
            raise ValueError(f"X has {X.shape[1]} columns; the input transform was fitted on {len(self.center)}.")
        X = np.array(X, dtype=np.float64)
        columns = self._changed
        if 2 * len(columns) > X.shape[1]:
            # most columns change: in place over the whole array (0 and 1 leave the others exactly)
            X -= self.center
            X /= self.scale
            compressed = np.flatnonzero(self.compress)
            X[:, compressed] = np.arcsinh(X[:, compressed])
            return X
        block = (X[:, columns] - self.center[columns]) / self.scale[columns]
        compress = self.compress[columns]
        block[:, compress] = np.arcsinh(block[:, compress])
        X[:, columns] = block
        return X

    def __repr__(self):
        n_compressed = int(self.compress.sum())
        return (
            f"ColumnScaling({len(self._changed)} of {len(self.center)} columns mapped, "
            f"{n_compressed} through asinh)"
        )


def fit_scaling(X, transform, row_weights=None, gathered=None, split=None):
    """The fitted :class:`ColumnScaling` of X's training rows, or None where no column changes:
    ``transform="none"``, a scipy sparse X, or every column already of unit size (0/1 bits,
    mostly-zero columns of values within ``_UNIT_SIZED``).

    Rows count by their weight (``row_weights``; a weight of 2 is the row repeated, 0 the row
    left out), and at most ``_MAX_FIT_ROWS`` rows are read, evenly spaced. In a data-parallel fit
    on each rank's own rows, ``gathered`` returns every rank's object in a list: the map is then
    that of all ranks' rows, as one process would fit it. In any data-parallel fit, ``split`` is
    ``(rank, world_size, gathered)``: each rank fits every ``world_size``-th column (the maps of
    the columns are independent) and the ranks' maps are gathered, so that the ranks share the
    work rather than each repeat it."""
    if transform == "none" or sp.issparse(X):
        return None
    X = np.asarray(X)
    # fingerprint bits and indicators first, in one pass, so that a wide binary X costs no sort
    binary = ((X == 0) | (X == 1)).all(axis=0)
    if gathered is not None:
        binary = np.logical_and.reduce(gathered(binary))
    weights = np.ones(X.shape[0]) if row_weights is None else np.asarray(row_weights, dtype=np.float64)
    rows = np.linspace(0, X.shape[0] - 1, _MAX_FIT_ROWS).astype(int) if X.shape[0] > _MAX_FIT_ROWS else slice(None)
    weights = weights[rows]
    columns = np.flatnonzero(~binary)
    share = columns if split is None or gathered is not None else columns[split[0] :: split[1]]
    sample = np.asarray(X[rows][:, share] if len(share) < X.shape[1] else X[rows], dtype=np.float64)
    if not (weights > 0).all():
        sample, weights = sample[weights > 0], weights[weights > 0]
    if gathered is not None:
        samples, row_weights = zip(*gathered((sample, weights)), strict=True)
        sample, weights = np.vstack(samples), np.concatenate(row_weights)
    center, scale, compress = np.zeros(X.shape[1]), np.ones(X.shape[1]), np.zeros(X.shape[1], dtype=bool)
    if split is None:
        center[columns], scale[columns], compress[columns] = _fit_columns(sample, weights)
    else:  # this rank's share of the columns, then every rank's
        rank, world_size, gather = split
        if gathered is not None:  # every rank holds all ranks' rows of every column: take its share
            sample = sample[:, rank::world_size]
        for other, maps in enumerate(gather(_fit_columns(sample, weights))):
            center[columns[other::world_size]], scale[columns[other::world_size]] = maps[0], maps[1]
            compress[columns[other::world_size]] = maps[2]
    if not ((center != 0) | (scale != 1) | compress).any():
        return None
    return ColumnScaling(center, scale, compress)


def _quantiles(sample, weights, q):
    """The inverted-CDF percentiles ``q`` of each column of ``sample``, its rows weighed by ``weights``
    (a weight of 2 is a repeated row): an array of shape ``(len(q), n_columns)``.

    Equal weights (the common case) give the unweighted quantiles: order statistics, found by
    partitioning blocks of columns rather than sorting (a sort of 40,000 rows x 1,024 columns took
    seconds, longer than the fit it served)."""
    if not np.all(weights == weights[0]):
        return np.stack(
            [np.percentile(column, q, weights=weights, method="inverted_cdf") for column in sample.T], axis=1
        )
    n_rows, n_columns = sample.shape
    # inverted CDF: the smallest value with at least the fraction q of the rows at or below it
    ranks = [max(int(np.ceil(n_rows * fraction / 100)) - 1, 0) for fraction in q]
    out = np.empty((len(q), n_columns))
    for start in range(0, n_columns, _QUANTILE_BLOCK):
        # a copy always (partitioned in place: sample may be a view of the user's X)
        block = np.array(sample[:, start : start + _QUANTILE_BLOCK].T, order="C")
        block.partition(ranks, axis=1)
        out[:, start : start + _QUANTILE_BLOCK] = block[:, ranks].T
    return out


def _fit_columns(sample, weights):
    """``(center, scale, compress)`` of each column of ``sample`` (none of them 0/1), its rows
    weighed by ``weights`` (the inverted-CDF quantiles and the weighted moments treat a weight of
    2 as a repeated row). One vectorized pass over all columns; a loop over the few columns of
    which over half the values are one value."""
    n_columns = sample.shape[1]
    center, scale, compress = np.zeros(n_columns), np.ones(n_columns), np.zeros(n_columns, dtype=bool)
    if n_columns == 0:
        return center, scale, compress
    low, high = sample.min(axis=0), sample.max(axis=0)
    q1, median, q3 = _quantiles(sample, weights, [25, 50, 75])
    reach = np.maximum(high - median, median - low)
    constant = low == high  # no information, and a large constant would only shift the layer
    # mostly zero and already of unit size: as it is, its zeros stay zeros
    as_is = ~constant & (q1 == 0) & (q3 == 0) & (np.maximum(-low, high) <= _UNIT_SIZED)
    # two values (to 0 and 1): only a column whose quartiles are its extremes can be one
    extreme = [(q == low) | (q == high) for q in (q1, median, q3)]
    two_values = ~constant & ~as_is & extreme[0] & extreme[1] & extreme[2]
    candidates = np.flatnonzero(two_values)
    within = sample[:, candidates]
    two_values[candidates] = ~((within > low[candidates]) & (within < high[candidates])).any(axis=0)
    heaped = ~constant & ~as_is & ~two_values & (q1 == q3)  # over half one value: keep it at 0
    rest = ~(constant | as_is | two_values | heaped)
    center[constant] = low[constant]
    center[two_values], scale[two_values] = low[two_values], (high - low)[two_values]
    for column in np.flatnonzero(heaped):
        departures = np.abs(sample[:, column] - median[column])
        away = departures > 0
        spread = _quantiles(departures[away, None], weights[away], [50])[0, 0]
        center[column], scale[column] = median[column], spread
        compress[column] = reach[column] / spread > _HEAVY_TAIL
    spread = np.where(rest, (q3 - q1) / _NORMAL_IQR, 1.0)
    heavy = rest & (reach / spread > _HEAVY_TAIL)
    center[heavy], scale[heavy], compress[heavy] = median[heavy], spread[heavy], True
    # light tails: the mean and standard deviation, as a StandardScaler would
    light = np.flatnonzero(rest & ~heavy)
    if len(light):
        block, total = sample[:, light], weights.sum()
        mean = weights @ block / total  # (a product: np.average broadcasts the weights, 10x slower)
        block -= mean
        block **= 2
        center[light], scale[light] = mean, np.sqrt(weights @ block / total)
    return center, scale, compress
