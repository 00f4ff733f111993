"""Which first layer a fit takes: the rule and its thresholds, measured, in one place.

The first layer is where wide inputs cost: ``nn.Linear`` reads every column of every row of a
batch, forward and backward, and Adam updates every row of its weight each step. The rule:

- **Reads the non-zeros** (:class:`~sklearn_mtl.modules.SparseInputLinear`, whose cost follows
  the non-zeros of X) for a scipy sparse X, and for a dense X of at least ``_WIDE_INPUT`` columns
  with at most ``_SPARSE_INPUT_MAX_DENSITY`` of its entries non-zero; ``nn.Linear`` otherwise.
- **Sparse gradient** (only the rows of the columns a batch uses, trained by
  ``torch.optim.SparseAdam``, a lazy Adam) when X has at least ``_SPARSE_GRADIENT_MIN_FEATURES``
  columns *and* at least ``_SPARSE_GRADIENT_COLUMNS_PER_NONZERO`` columns per non-zero of a
  batch (batch rows x mean non-zeros per row); the dense gradient and Adam of ``nn.Linear``
  otherwise (the same model as a dense X gives). A batch's sparse gradient holds one row per
  non-zero, which SparseAdam sorts and merges each step: when the batches touch a large share of
  the columns, updating the whole weight is cheaper.

Measured with ``benchmarks/bench_scale.py --only first_layer`` (20,000 rows, 10 tasks, a 256-unit
layer, batches of 256, 3 epochs, one thread; fit seconds):

======== =============== ================ ================= ================= =================
non-zeros columns         dense gradient    sparse gradient   EmbeddingBag +    densified
a row                                                         SparseAdam loop   batches loop
======== =============== ================ ================= ================= =================
60       2,000            0.8               3.1               3.7               1.9
60       10,000           2.7               14.0              14.7              11.4
60       50,000           14.7              18.0              19.1
60       200,000          48.0              24.4              19.1
10       2,000            1.0               2.6               3.4               2.8
10       10,000           2.0               3.4               4.9               12.9
10       50,000           10.4              3.1               4.5
======== =============== ================ ================= ================= =================

The two gradients cost alike near 4.3 (60 a row: 15,360 non-zeros a batch, about 65,000 columns)
to 5.5 (10 a row: 2,560, about 14,000) columns per non-zero of a batch: hence 5. Reading the
non-zeros of a dense X of 2,048 0/1 columns cost 0.53, 0.76, 0.97, 1.63 and 2.92 times
``nn.Linear``'s fit at 2%, 5%, 10%, 20% and 40% non-zero: hence 10%.
"""

import numpy as np
import scipy.sparse as sp

from ._inputs import _WIDE_INPUT

# a dense X of at least _WIDE_INPUT columns is read through its non-zeros up to this fraction of them
_SPARSE_INPUT_MAX_DENSITY = 0.1
# the first layer's weight gets a sparse gradient and SparseAdam from this many columns ...
_SPARSE_GRADIENT_MIN_FEATURES = 10_000
# ... and this many columns per non-zero of a batch (batch rows x mean non-zeros per row)
_SPARSE_GRADIENT_COLUMNS_PER_NONZERO = 5


def density(X):
    """The fraction of non-zero entries of a dense X."""
    return np.count_nonzero(X) / max(X.size, 1)


def reads_nonzeros(X):
    """Whether X's shape and density call for a first layer that reads its non-zeros."""
    if sp.issparse(X):
        return True
    return X.shape[1] >= _WIDE_INPUT and density(X) <= _SPARSE_INPUT_MAX_DENSITY


def nonzeros_per_row(X):
    """The mean number of non-zero entries in a row of X (dense or scipy sparse)."""
    n_nonzero = X.nnz if sp.issparse(X) else np.count_nonzero(X)
    return n_nonzero / max(X.shape[0], 1)


def sparse_gradient(n_features, nonzeros_per_row, batch_size):
    """Whether a first layer that reads the non-zeros of X takes a sparse gradient and SparseAdam.

    Examples
    --------
    >>> from sklearn_mtl._first_layer import sparse_gradient
    >>> sparse_gradient(50_000, nonzeros_per_row=60, batch_size=256)  # a batch touches most columns
    False
    >>> sparse_gradient(200_000, nonzeros_per_row=60, batch_size=256)
    True
    """
    per_batch = batch_size * nonzeros_per_row
    return bool(n_features >= max(_SPARSE_GRADIENT_MIN_FEATURES, _SPARSE_GRADIENT_COLUMNS_PER_NONZERO * per_batch))
