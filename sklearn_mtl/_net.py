"""The skorch net that trains on masked multi-task targets.

Only documented skorch seams are used: a Dataset passed as X, ``iterator_train`` /
``iterator_valid``, ``train_split``, ``get_loss``, ``train_step_single``, ``infer`` and ``notify``.
The datasets and iterators it reads are in ``_batches.py``, its callbacks in ``_callbacks.py``.
"""

from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import unpack_data
from skorch.utils import TeeGenerator

from . import _distributed as distributed
from ._batches import (
    BatchIterator,
    InputDataset,
    LabelDataset,
    RandomSplit,
    takes_sparse_batches,
)
from ._callbacks import (
    CosineLearningRate,
    StopOnNonFiniteLoss,
    TaskCheckpoint,
    TaskLossLogger,
    ValidationScore,
    batch_rows,
)
from ._fit_feedback import deferred_interrupts

# the callbacks and the datasets' pieces a fitted net holds are named here too: pickles made
# before they moved to _batches.py and _callbacks.py look for them in this module
__all__ = [
    "BatchIterator",
    "CosineLearningRate",
    "MaskedNet",
    "RandomSplit",
    "StopOnNonFiniteLoss",
    "TaskCheckpoint",
    "TaskLossLogger",
    "ValidationScore",
    "flush_denormals",
    "flushing_denormals",
]


def flushing_denormals():
    """Whether this thread's CPU flushes denormal floats to zero (``torch.set_flush_denormal``)."""
    # with the flush on, the smallest float32 denormal is read and written as 0
    tiny = torch.tensor([1e-45], dtype=torch.float32)
    return bool((tiny * 2.0)[0] == 0)


@contextmanager
def flush_denormals():
    """Flush denormal floats to zero on this thread while training, then restore the previous mode.

    Late in training, Adam's first moment of the weights of input bits a batch rarely sees decays
    towards zero by its ``beta1`` every step and becomes denormal (below 1.2e-38 in float32): on
    Tox21 a third of the first layer's ``exp_avg`` was, and each arithmetic instruction on a
    denormal costs tens of times a normal one. The epochs of a default Tox21 fit slowed from 0.6 s
    to 4.7 s as the cosine schedule ended; with the flush the whole fit took 12 s instead of 32 s
    (``benchmarks/bench_fit_speed.py``). Values below 1.2e-38 become 0, which changes no
    prediction beyond float rounding. The mode is the CPU's, per thread (torch's intra-op worker
    threads keep theirs), so concurrent fits in threads do not interfere.
    """
    was_on = flushing_denormals()
    supported = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if supported and not was_on:
            torch.set_flush_denormal(False)


def _weight_matrices(module):
    """``(parameter, factor)`` pairs of what the L2 penalty applies to, and how strongly (``factor``
    times the penalty): those the module names (``penalized_parameters()``, as
    :class:`~sklearn_mtl.modules.MemberEnsembleNet`, whose biases are matrices too and whose shared
    weight serves every member), else its weight matrices (every parameter of more than one
    dimension), each with factor 1."""
    if hasattr(module, "penalized_parameters"):
        return list(module.penalized_parameters())
    return [(p, 1.0) for p in module.parameters() if p.ndim > 1]


_BATCH_EVENTS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


class MaskedNet(NeuralNet):
    """A skorch ``NeuralNet`` whose targets are the dicts made by :meth:`LabelDataset.batch`.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`skorch.NeuralNet`.
    alpha : float, default=0.0
        L2 penalty on the weight matrices (not the biases), added to each training batch's loss as
        ``0.5 * alpha * ||W||^2 / batch_weight``, the meaning it has in scikit-learn's MLP.
    l2 : float, default=0.0
        L2 penalty added to each training batch's loss as ``0.5 * l2 * ||W||^2``, whatever the
        batch's size: a coefficient on the mean batch loss (``alpha="auto"`` of the estimators).
    """

    def __init__(self, *args, alpha=0.0, l2=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.alpha = alpha
        self.l2 = l2

    def __getstate__(self):
        # the estimator that owns this net restores the back-reference (``estimator_``) when it is
        # unpickled, and the parameter lists are rebuilt from the unpickled module
        state = super().__getstate__()
        state.pop("estimator_", None)
        state.pop("_parameter_lists_", None)
        return state

    def initialize_optimizer(self, *args, **kwargs):
        """As skorch's, with two differences.

        - The module's sparse parameters (a sparse input layer's weight), if any, get their own
          ``torch.optim.SparseAdam`` (``sparse_optimizer_``, a lazy Adam that updates only the rows a
          batch touches); skorch steps every optimizer it registers.
        - With ``l2`` or ``alpha`` and the default ``torch.optim.Adam`` (no ``weight_decay`` or
          parameter groups of the user's), the penalty's gradient of each dense weight matrix,
          ``(l2 + alpha / batch weight) * W``, is added by Adam's own ``weight_decay`` (coupled L2,
          not AdamW's decoupled decay; ``_penalty`` sets the batch's coefficient), inside its fused
          kernel: the same gradient as back-propagating ``0.5 * (l2 + alpha / batch weight) *
          ||W||^2``, without two passes over every weight per step (on Tox21 it halved the step:
          benchmarks/bench_fit_speed.py; alpha's share of a small network's step was 10%:
          benchmarks/bench_fit_overhead.py). The logged loss still includes the penalty.
        """
        sparse = getattr(self.module_, "sparse_parameters", list)()
        sparse_ids = {id(p) for p in sparse}
        dense = [(name, p) for name, p in self.get_all_learnable_params() if id(p) not in sparse_ids]
        opt_args, opt_kwargs = self.get_params_for_optimizer("optimizer", dense)
        groups = list(opt_args[0])
        # skorch gives one group of all the parameters unless the user set optimizer__param_groups
        plain = len(groups) == 1 and set(groups[0]) == {"params"}
        default_adam = self.optimizer is torch.optim.Adam and "weight_decay" not in opt_kwargs
        if (self.l2 or self.alpha) and default_adam and plain:
            parameters = list(groups[0]["params"])
            factors = {id(p): factor for p, factor in _weight_matrices(self.module_)}
            # a group's "l2_penalty" key marks it, with the factor of its penalty (optimizers keep
            # extra keys, pickled with them)
            groups = [
                {
                    "params": [p for p in parameters if factors.get(id(p)) == factor],
                    "weight_decay": self.l2 * factor,
                    "l2_penalty": factor,
                }
                for factor in sorted(set(factors.values()))
            ] + [{"params": [p for p in parameters if id(p) not in factors]}]
            groups = [group for group in groups if group["params"]]
        self.optimizer_ = self.optimizer(groups, *opt_args[1:], **opt_kwargs)
        if sparse:
            self.sparse_optimizer_ = torch.optim.SparseAdam(sparse, lr=opt_kwargs.get("lr", self.lr))
        return self

    def _parameters(self):
        """``(penalized, shared, decayed)`` parameter lists of the current module, built once per module
        and optimizer.

        ``penalized`` are the weight matrices the L2 penalty is back-propagated through at every
        step; ``decayed`` those whose penalty gradient the optimizer adds instead
        (``initialize_optimizer``); a sparse layer's weight is penalized lazily
        (``module_.sparse_squared_norm``). ``shared`` are the parameters every task depends on
        (``module_.shared_parameters()`` when the module declares them, else all of its
        parameters). Walking the module tree for them every batch costs more than the penalty
        itself on small networks.
        """
        module, optimizer = self.module_, self.__dict__.get("optimizer_")
        lists = self.__dict__.get("_parameter_lists_")
        if lists is None or lists[0] is not module or lists[1] is not optimizer:
            groups = [] if optimizer is None else optimizer.param_groups
            decayed_ids = {id(p) for group in groups if group.get("l2_penalty") for p in group["params"]}
            sparse = {id(p) for p in getattr(module, "sparse_parameters", list)()}
            matrices = [(p, factor) for p, factor in _weight_matrices(module) if id(p) not in sparse]
            penalized = [(p, factor) for p, factor in matrices if id(p) not in decayed_ids]
            decayed = [(p, factor) for p, factor in matrices if id(p) in decayed_ids]
            shared = list(module.shared_parameters() if hasattr(module, "shared_parameters") else module.parameters())
            lists = self._parameter_lists_ = (module, optimizer, penalized, shared, decayed)
        return lists[2], lists[3], lists[4]

    def initialize_module(self):
        """As skorch's, then check that a user's ``module`` built a ``torch.nn.Module``."""
        super().initialize_module()
        if not isinstance(self.module_, torch.nn.Module):
            raise TypeError(
                "module must build a torch.nn.Module when called as module(n_features=..., n_outputs=...); "
                f"it returned {type(self.module_).__name__}."
            )
        return self

    def notify(self, method_name, **cb_kwargs):
        """As skorch's, but batch-level events skip the callbacks that do nothing with them.

        Three events per batch times every callback is measurable overhead for small networks;
        epoch-level events, and callbacks that define a batch-level method, are served as usual.

        In a data-parallel fit, an error of a callback on this rank is raised at the rank's next
        collective, on every rank at once (``_distributed.py``), rather than here, on this rank
        alone, which would leave the others waiting in that collective; the other callbacks still
        run, so that every rank takes the same decisions (early stopping) until then.
        """
        share = self._share()
        if method_name not in _BATCH_EVENTS and share is None:
            return super().notify(method_name, **cb_kwargs)
        if method_name == "on_batch_end" and cb_kwargs.get("training") and share is not None:
            # skorch weighs the epoch's loss by each batch's X rows: a data-parallel fit's are the
            # whole batch's, alike on every rank, so that every rank logs (and stops on) the same loss
            self.history.record_batch("train_batch_size", batch_rows(cb_kwargs["batch"]))
        for hook in self._hooks(method_name):
            try:
                hook(self, **cb_kwargs)
            except Exception as error:
                if share is None:
                    raise
                share.defer(error)
        return None

    def _hooks(self, method_name):
        """The net's and callbacks' methods that serve ``method_name``: at a batch-level event, the
        callbacks that define it only. Found once per event and fit (three events a batch, every
        callback looked up each time, cost 5% of a small network's step)."""
        cache = self.__dict__.get("_hooks_of_fit")
        if cache is not None and method_name in cache:
            return cache[method_name]
        hooks = [getattr(self, method_name)]
        for _, callback in self.callbacks_:
            method = getattr(type(callback), method_name)
            if method_name not in _BATCH_EVENTS or method is not getattr(Callback, method_name):
                hooks.append(getattr(callback, method_name))
        if cache is not None:
            cache[method_name] = hooks
        return hooks

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """As skorch's, with denormal floats flushed to zero on this thread (:func:`flush_denormals`),
        and Ctrl-C deferred to the end of the epoch in progress (:func:`deferred_interrupts`). The
        callbacks serving each event are found once (``_hooks``), for the loop's duration only."""
        self.__dict__["_hooks_of_fit"] = {}
        try:
            with flush_denormals(), deferred_interrupts(self):
                return super().fit_loop(X, y, epochs=epochs, **fit_params)
        finally:
            self.__dict__.pop("_hooks_of_fit", None)

    def get_dataset(self, X, y=None):
        """A :class:`LabelDataset` as is; plain inputs (array, CSR, tensor) as an :class:`InputDataset`,
        so that ``predict_proba`` and ``forward`` work on them and return the module's raw outputs."""
        if isinstance(X, LabelDataset) or y is not None:
            return super().get_dataset(X, y)
        dtype = next(self.module_.parameters()).dtype
        sparse_batches = takes_sparse_batches(self.module_)
        if sp.issparse(X) or sparse_batches:
            X = sp.csr_matrix(X, dtype=torch.empty((), dtype=dtype).numpy().dtype)
            return InputDataset(X, self.device, sparse_batches)
        return InputDataset(torch.as_tensor(np.asarray(X), dtype=dtype, device=self.device))

    def infer(self, x, **fit_params):
        """Batches are already tensors on the device: call the module directly."""
        if isinstance(x, torch.Tensor) and not fit_params:
            return self.module_(x)
        return super().infer(x, **fit_params)

    def _penalty(self, X, y_true):
        """The L2 penalty of one training batch (a zero tensor when alpha and l2 are 0).

        Of the weights whose penalty gradient the optimizer adds (``decayed``, see
        ``initialize_optimizer``), the penalty is the value only, so that the logged loss is still
        the one minimized.
        """
        module, (parameters, _, decayed) = self.module_, self._parameters()
        if not (self.alpha or self.l2) or not (parameters or decayed):
            return torch.zeros((), device=(parameters or decayed)[0][0].device if parameters or decayed else "cpu")
        squares = sum(factor * (p**2).sum() for p, factor in parameters)
        if getattr(module, "sparse_heads", False) and "tasks" in y_true:
            columns = self.criterion_.layout.task_start.to(y_true["tasks"].device)[y_true["tasks"]]
            squares = squares + module.sparse_squared_norm(X, columns)
        elif isinstance(X, torch.Tensor) and X.layout == torch.sparse_csr and hasattr(module, "sparse_squared_norm"):
            # (a module without it, as MemberEnsembleNet, has no weight penalized lazily)
            squares = squares + module.sparse_squared_norm(X)
        decayed_squares = 0.0
        if decayed:
            with torch.no_grad():
                decayed_squares = sum(factor * torch.dot(p.view(-1), p.view(-1)) for p, factor in decayed)
            if self.alpha:
                self._decay_for_batch(y_true)
        penalty = (squares + decayed_squares) * (0.5 * self.l2)
        if self.alpha:
            penalty = penalty + self._alpha_penalty(squares + decayed_squares, y_true)
        world_size = self.__dict__.get("world_size_")
        if world_size:  # each rank adds its part: the ranks' sum is the batch's penalty, counted once
            penalty = penalty / world_size
        return penalty if isinstance(penalty, torch.Tensor) else torch.tensor(float(penalty))

    def _decay_for_batch(self, y_true):
        """Set the optimizer's ``weight_decay`` of the decayed weights to this batch's coefficient
        ``factor * (l2 + alpha / batch weight)`` (``l2`` alone for a batch whose rows all weigh 0),
        the gradient of the penalty ``_penalty`` logs."""
        batch_weight = float(y_true["row_weight_sum"])
        per_row = self.alpha / batch_weight if batch_weight > 0 else 0.0
        for group in self.optimizer_.param_groups:
            if group.get("l2_penalty"):
                group["weight_decay"] = group["l2_penalty"] * (self.l2 + per_row)

    def _alpha_penalty(self, squares, y_true):
        batch_weight = y_true["row_weight_sum"]
        if isinstance(batch_weight, float):
            return squares * (0.5 * self.alpha / batch_weight)
        # a batch whose rows all weigh 0 adds nothing, not alpha / 0
        return squares * torch.where(batch_weight > 0, 0.5 * self.alpha / batch_weight, 0.0)

    def _batch_outputs(self, X, targets):
        """The module's outputs for a batch: only the labelled pairs' (1-D) when the batch's labels are
        pairs, every head has one output and the module can gather them (``pair_forward``); else all
        of them, through ``infer``. Both give the same loss and gradients."""
        layout = self.criterion_.layout
        if "tasks" in targets and hasattr(self.module_, "pair_forward") and layout.n_outputs == len(layout.losses):
            columns = self.criterion_.layout.task_start.to(targets["tasks"].device)[targets["tasks"]]
            return self.module_.pair_forward(X, targets["rows"], columns)
        return self.infer(X)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion's loss, plus the L2 penalty in training."""
        loss = self.criterion_(y_pred, y_true)
        return loss + self._penalty(X, y_true) if training else loss

    def train_step(self, batch, **fit_params):
        """As skorch's, but with several optimizers (the sparse layers' ``SparseAdam`` beside Adam),
        one forward and backward pass for all of them: skorch passes the step to each optimizer's
        ``step`` as a closure, which each runs, so that every batch took two passes, and the second
        optimizer stepped on gradients taken after the first one's step. One optimizer (an
        ``LBFGS`` of the user's, say, which needs the closure) keeps skorch's way."""
        if len(self._optimizers) < 2:
            return super().train_step(batch, **fit_params)
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch,
            training=True,
        )
        self._step_optimizer(None)
        return step

    def train_step_single(self, batch, **fit_params):
        """Forward, loss and gradients of one batch; the task-weighting strategy does the backward
        pass, so that gradient-based strategies (PCGrad, GradNorm) can shape the gradients. The
        per-task losses go to the callbacks with the step's output (``task_losses``)."""
        if not self.module_.training:  # set once per epoch, not once per batch
            self._set_training(True)
        share = self._share()
        try:
            Xi, yi = unpack_data(batch)
            y_pred = self._batch_outputs(Xi, yi)
            task_losses, present = self.criterion_.task_losses(y_pred, yi)
            criterion = self.criterion_
            loss = criterion.weighting.backward(
                criterion.task_weights * task_losses, present, self._penalty(Xi, yi), self._parameters()[1]
            )
            task_losses = task_losses.detach()
        except Exception as error:
            if share is None:
                raise
            share.defer(error)  # the all-reduce below carries it to every rank, which all raise there
            y_pred, loss, task_losses = None, torch.zeros(()), torch.zeros(len(self.criterion_.layout.losses))
        if share is not None:
            # a data-parallel fit: this rank computed its share of the batch; sum over the ranks
            parameters = [p for _, p in self.get_all_learnable_params() if p.requires_grad]
            loss, task_losses = distributed.sum_gradients(parameters, loss, task_losses, share)
        return {"loss": loss, "y_pred": y_pred, "task_losses": task_losses}

    def _share(self):
        """The ``_distributed.Share`` of a data-parallel fit in progress, else None."""
        return self.__dict__.get("iterator_train__share") if self.__dict__.get("world_size_") else None

    def validation_step(self, batch, **fit_params):
        """As skorch's, with the per-task losses in the step's output (``task_losses``)."""
        self._set_training(False)
        Xi, yi = unpack_data(batch)
        with torch.no_grad():
            y_pred = self._batch_outputs(Xi, yi)
            task_losses, present = self.criterion_.task_losses(y_pred, yi)
            loss = self.criterion_.combine(task_losses, present)
        return {"loss": loss, "y_pred": y_pred, "task_losses": task_losses}
