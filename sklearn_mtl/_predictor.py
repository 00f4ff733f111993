"""What predict needs of a fitted network, built once at the end of fit and on load.

A :class:`NetworkPredictor` holds a float64 copy of the fitted module in evaluation mode, with no
gradients: inference in float64 keeps a row's prediction independent of which other rows share its
batch (float32 matrix products differ in the last bit with the batch size). The copy used to be
made at every call, which cost 19 times ``MLPClassifier``'s latency for a 1-row ``predict_proba``
(``benchmarks/bench_predict.py``). Its forward pass reads the module and writes nothing, so
threads can predict with it at once. It remembers which module it copied, and the version
counters of that module's tensors: a module changed in place since (further training, a user's
``load_state_dict`` or surgery on the weights) is seen (:meth:`NetworkPredictor.is_current`) and
the estimator builds a new predictor instead of predicting with stale weights.
"""

import copy

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import validate_data

from ._batches import csr_rows, dense_csr_rows, takes_sparse_batches

# Rows per forward pass at prediction time, at most, and outputs per pass (rows x outputs): bounds
# the memory of the pass (32 MiB of float64 outputs with thousands of tasks), and does not change
# results because inference runs in float64.
_PREDICT_CHUNK = 4096
_PREDICT_OUTPUTS = 2**22


class NetworkPredictor:
    """The fitted module's outputs for new rows, from a float64 copy made once.

    Parameters
    ----------
    module : torch.nn.Module
        The fitted module; it is copied, not kept, so that training it further (``partial_fit``,
        ``warm_start``) does not change this predictor's outputs.
    n_outputs : int
        Columns of the module's output, which bound the rows of one forward pass.
    """

    def __init__(self, module, n_outputs):
        self.source, self._parts = module, list(module.modules())
        self.versions = self._versions()
        self.module = copy.deepcopy(module).to(torch.float64).train(False).requires_grad_(False)
        parameter = next(self.module.parameters(), None)
        self.device = parameter.device if parameter is not None else torch.device("cpu")
        self.sparse_batches = takes_sparse_batches(self.module)
        n_members = getattr(self.module, "n_members", 1)
        self.chunk = max(1, min(_PREDICT_CHUNK, _PREDICT_OUTPUTS // max(1, n_outputs * n_members)))

    def is_current(self, module):
        """Whether ``module`` is the module this predictor copied, unchanged since."""
        return module is self.source and self._versions() == self.versions

    def _versions(self):
        """Each tensor of the copied module's parts with its in-place version counter (torch bumps it
        on every in-place change: an optimizer step, ``copy_``, ``fill_``); read from the parts'
        own dicts, which costs a few microseconds where ``module.parameters()`` costs tens."""
        return [
            (id(tensor), tensor._version)
            for part in self._parts
            for tensors in (part._parameters, part._buffers)
            for tensor in tensors.values()
            if tensor is not None
        ]

    def forward(self, X, members=False):
        """The module's outputs for X (a float array or a scipy CSR matrix) as a float64 CPU tensor;
        with ``members``, an ensemble's members' own ones, (n_members, n_samples, n_outputs)."""
        call = self.module.member_outputs if members else self.module
        if sp.issparse(X):
            X = sp.csr_matrix(X, dtype=np.float64)  # once, not per chunk
        elif not self.sparse_batches:
            X = np.require(X, np.float64, ["C", "W"])  # torch warns on read-only arrays
        outputs = []
        with torch.inference_mode():
            for start in range(0, X.shape[0], self.chunk):
                rows = slice(start, start + self.chunk)
                if sp.issparse(X):
                    inputs = csr_rows(X, rows, self.sparse_batches, self.device)
                elif self.sparse_batches:
                    # a first layer that reads non-zeros only (mostly-zero X) reads a dense X's
                    # non-zeros too: the same function at a fraction of a dense product's cost
                    inputs = dense_csr_rows(X[rows]).to(self.device)
                else:
                    inputs = torch.from_numpy(X[rows]).to(self.device)
                outputs.append(call(inputs).cpu())
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=1 if members else 0)


_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


def validated_rows(est, X):
    """X as ``validate_data(est, X, reset=False)`` returns it for prediction (float32 or float64,
    dense or CSR), checked once per call.

    A 2-D float ndarray of the fitted width, without feature names on either side and with a
    finite sum (so every value finite), is returned as it is, which is what ``validate_data``
    returns for it, in a twentieth of its time: its checks cost more than a one-row prediction's
    network (``benchmarks/bench_predict.py``). Anything else goes through ``validate_data``, whose
    conversions, checks and error messages apply unchanged.
    """
    plain = (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in _FLOATS
        and X.shape[0] > 0
        and X.shape[1] == est.n_features_in_
        and "feature_names_in_" not in est.__dict__
    )
    if plain:
        with np.errstate(over="ignore", invalid="ignore"):  # an overflowing sum takes the long way
            if np.isfinite(X.sum()):
                return X
    return validate_data(est, X, reset=False, accept_sparse="csr", dtype=(np.float64, np.float32))
