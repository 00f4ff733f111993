"""The skorch net that trains on masked multi-task targets, and the data pipeline it iterates over.

Only documented skorch seams are used: a Dataset passed as X, ``iterator_train`` /
``iterator_valid``, ``train_split``, ``get_loss``, ``train_step_single``, ``infer`` and ``notify``.
"""

import math
import warnings
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import unpack_data

from ._labels import positions_by_task
from ._losses import compact_task_denominators, task_denominators
from ._tasks import split_outputs, validation_scores


def csr_rows(X, rows, sparse, device):
    """Rows of a scipy CSR matrix as a torch sparse CSR tensor (``sparse``) or a dense tensor, on ``device``.

    A sparse batch costs O(its non-zeros); a dense one O(rows x columns).
    """
    part = X[rows]
    if not sparse:
        return torch.from_numpy(part.toarray()).to(device)
    with warnings.catch_warnings():
        # torch says once per process that its sparse CSR tensors are "in beta", and (some versions,
        # when one is copied to a GPU) that their invariant checks are off; the layer uses only
        # their indices and values, and a scipy CSR matrix is a valid one
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta", category=UserWarning)
        warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly", category=UserWarning)
        batch = torch.sparse_csr_tensor(
            torch.from_numpy(part.indptr.astype(np.int64)),
            torch.from_numpy(part.indices.astype(np.int64)),
            torch.from_numpy(part.data),
            size=part.shape,
            check_invariants=False,
        )
        return batch.to(device)


def takes_sparse_batches(module):
    """Whether ``module``'s first layer takes sparse CSR batches (a ``SparseInputLinear``)."""
    return getattr(module, "sparse_layer", None) is not None


def take_inputs(X, indices, sparse_batches):
    """The rows ``indices`` (a slice or an index tensor) of X: a tensor, or a scipy CSR matrix's rows
    as a sparse CSR tensor (``sparse_batches``) or densified, on the device of ``indices``' data."""
    if sp.issparse(X):
        rows = indices if isinstance(indices, slice) else indices.cpu().numpy()
        device = "cpu" if isinstance(indices, slice) else indices.device
        return csr_rows(X, rows, sparse_batches, device)
    return X[indices] if isinstance(indices, slice) else X.index_select(0, indices.to(X.device))


class MaskedDataset(torch.utils.data.Dataset):
    """Inputs and encoded targets converted to tensors once, served in batches by index.

    Parameters
    ----------
    X : tensor of shape (n_samples, n_features) or scipy CSR matrix
        Dense inputs are one tensor; sparse inputs stay CSR, served per batch as sparse CSR tensors
        (``sparse_batches``) or densified.
    values : tensor of shape (n_samples, n_tasks)
        Encoded targets, 0 at missing positions.
    loss_weights : tensor of shape (n_samples, n_tasks)
        Multiplier of each entry's loss: sample weight times class weight, 0 where missing.
    count_weights : tensor of shape (n_samples, n_tasks)
        How much each label counts in the denominators: its sample weight, 0 where missing.
    row_weights : tensor of shape (n_samples,)
        Weight of each row.
    normalization : str
        The loss normalization, which decides the per-task denominators of this data set.
    row_probabilities : tensor of shape (n_samples,), default=None
        Probability of drawing each row in training (task-balanced sampling); None is uniform.
    y : ndarray of shape (n_samples, n_tasks), default=None
        The labels as the user gave them, for scorers that skorch's ``EpochScoring`` calls with
        this data set (they score original labels, not encoded ones).
    sparse_batches : bool, default=False
        Serve batches of a CSR ``X`` as torch sparse CSR tensors (for a module with a sparse input
        layer) instead of densifying them.
    """

    def __init__(
        self,
        X,
        values,
        loss_weights,
        count_weights,
        row_weights,
        normalization,
        row_probabilities=None,
        y=None,
        sparse_batches=False,
    ):
        self.X = X
        self.sparse_batches = sparse_batches
        self.values = values
        self.loss_weights = loss_weights
        self.count_weights = count_weights
        self.row_weights = row_weights
        self.normalization = normalization
        self.row_probabilities = row_probabilities
        self.y = y
        self.denominators = task_denominators(count_weights, row_weights, normalization, row_probabilities)
        # without sample weights a batch's weight is its row count: no gather and sum per batch
        self._unit_rows = bool((row_weights == 1).all())

    def __len__(self):
        return self.values.shape[0]

    def __getitem__(self, index):
        return self.batch(torch.as_tensor([index]))

    @property
    def device(self):
        return self.values.device

    def set_row_probabilities(self, row_probabilities):
        """Draw rows with these probabilities in training; the denominators follow."""
        self.row_probabilities = row_probabilities
        self.denominators = task_denominators(
            self.count_weights, self.row_weights, self.normalization, row_probabilities
        )

    def validation_scores(self, tasks, outputs):
        """Each task's validation metric on this data set's labels, from the module's (n_rows, n_outputs) outputs."""
        values = self.values.cpu().double().numpy()
        weights = self.count_weights.cpu().double().numpy()
        return validation_scores(tasks, outputs, values, weights)

    def subset(self, indices):
        """The rows ``indices`` as a data set of their own (uniformly sampled), with its own denominators."""
        X = self.X[indices.numpy()] if sp.issparse(self.X) else self.X[indices]
        loss_weights = self.loss_weights[indices]
        # without class weights the two are one tensor, and stay one
        count_weights = loss_weights if self.count_weights is self.loss_weights else self.count_weights[indices]
        return MaskedDataset(
            X,
            self.values[indices],
            loss_weights,
            count_weights,
            self.row_weights[indices],
            self.normalization,
            y=None if self.y is None else self.y[indices.numpy()],
            sparse_batches=self.sparse_batches,
        )

    def batch(self, indices):
        """``(X_batch, targets)`` for a slice or an index tensor, as the net's ``get_loss`` expects.

        A batch's denominators are the data set's, scaled by the fraction of rows in the batch:
        each batch loss then estimates the data-set loss without the noise of in-batch counts,
        and the batch-size-weighted mean of the batch losses over an epoch is exactly the
        data-set loss of the chosen normalization.
        """
        if isinstance(indices, slice):
            take = lambda tensor: tensor[indices]  # noqa: E731
        else:
            take = lambda tensor: tensor.index_select(0, indices)  # noqa: E731
        X = take_inputs(self.X, indices, self.sparse_batches)
        if sp.issparse(self.X) and X.device != self.values.device:
            X = X.to(self.values.device)
        values = take(self.values)
        n_rows = values.shape[0]
        targets = {
            "values": values,
            "weights": take(self.loss_weights),
            "denominators": self.denominators * (n_rows / len(self)),
            "row_weight_sum": float(n_rows) if self._unit_rows else take(self.row_weights).sum(),
        }
        return X, targets


class CompactMaskedDataset(torch.utils.data.Dataset):
    """Inputs and labels given as (row, task) pairs: what :class:`MaskedDataset` is for a sparse y.

    Memory follows the number of labels, not rows x tasks, and a batch gathers only its rows'
    labels: the loss then reads the outputs of labelled pairs only.

    Parameters
    ----------
    X : tensor of shape (n_samples, n_features) or scipy CSR matrix
    row_ptr : tensor of int64, shape (n_samples + 1,)
        The labels of row ``i`` are ``row_ptr[i]:row_ptr[i + 1]`` (labels sorted by row).
    label_tasks : tensor of int64, shape (n_labels,)
    values, loss_weights, count_weights : tensor of shape (n_labels,)
        Encoded labels, and each label's loss multiplier and count weight (see :class:`MaskedDataset`).
    row_weights : tensor of shape (n_samples,)
    n_tasks : int
    normalization : str
    row_probabilities : tensor of shape (n_samples,), default=None
    sparse_batches : bool, default=False
    """

    def __init__(
        self,
        X,
        row_ptr,
        label_tasks,
        values,
        loss_weights,
        count_weights,
        row_weights,
        n_tasks,
        normalization,
        row_probabilities=None,
        sparse_batches=False,
    ):
        self.X = X
        self.row_ptr = row_ptr
        self.label_tasks = label_tasks
        self.values = values
        self.loss_weights = loss_weights
        self.count_weights = count_weights
        self.row_weights = row_weights
        self.n_tasks = n_tasks
        self.normalization = normalization
        self.sparse_batches = sparse_batches
        self.y = None
        self.label_rows = torch.repeat_interleave(torch.arange(len(row_ptr) - 1, device=row_ptr.device), row_ptr.diff())
        self._unit_rows = bool((row_weights == 1).all())
        self.set_row_probabilities(row_probabilities)

    def __len__(self):
        return len(self.row_ptr) - 1

    @property
    def device(self):
        return self.values.device

    def set_row_probabilities(self, row_probabilities):
        """Draw rows with these probabilities in training; the denominators follow."""
        self.row_probabilities = row_probabilities
        self.denominators = compact_task_denominators(
            self.label_rows,
            self.label_tasks,
            self.count_weights,
            self.row_weights,
            self.n_tasks,
            self.normalization,
            row_probabilities,
        )

    def _positions(self, indices):
        """``(label positions, their rows' positions in indices)`` of the rows ``indices``."""
        if isinstance(indices, slice):
            start, stop, _ = indices.indices(len(self))
            positions = torch.arange(int(self.row_ptr[start]), int(self.row_ptr[stop]), device=self.device)
            return positions, self.label_rows[positions] - start
        indices = indices.to(self.device)
        starts = self.row_ptr[indices]
        counts = self.row_ptr[indices + 1] - starts
        local_rows = torch.repeat_interleave(torch.arange(len(indices), device=self.device), counts)
        first = torch.cumsum(counts, 0) - counts  # where each row's labels start in the batch
        positions = starts[local_rows] + torch.arange(len(local_rows), device=self.device) - first[local_rows]
        return positions, local_rows

    def subset(self, indices):
        """The rows ``indices`` as a data set of their own (uniformly sampled), with its own denominators."""
        positions, local_rows = self._positions(indices)
        counts = torch.bincount(local_rows, minlength=len(indices))
        loss_weights = self.loss_weights[positions]
        count_weights = loss_weights if self.count_weights is self.loss_weights else self.count_weights[positions]
        return CompactMaskedDataset(
            self.X[indices.numpy()] if sp.issparse(self.X) else self.X[indices],
            torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)]),
            self.label_tasks[positions],
            self.values[positions],
            loss_weights,
            count_weights,
            self.row_weights[indices.to(self.row_weights.device)],
            self.n_tasks,
            self.normalization,
            sparse_batches=self.sparse_batches,
        )

    def batch(self, indices):
        """``(X_batch, targets)``: the batch's labels as pairs (``rows`` within the batch, ``tasks``)."""
        X = take_inputs(self.X, indices, self.sparse_batches)
        if X.device != self.device:
            X = X.to(self.device)
        positions, local_rows = self._positions(indices)
        n_rows = X.shape[0]
        if self._unit_rows:
            row_weight_sum = float(n_rows)
        else:
            rows = indices if isinstance(indices, slice) else indices.to(self.row_weights.device)
            row_weight_sum = self.row_weights[rows].sum()
        targets = {
            "rows": local_rows,
            "tasks": self.label_tasks[positions],
            "values": self.values[positions],
            "weights": self.loss_weights[positions],
            "denominators": self.denominators * (n_rows / len(self)),
            "row_weight_sum": row_weight_sum,
        }
        return X, targets

    def validation_scores(self, tasks, outputs):
        """Each task's validation metric on this data set's labels, from the module's (n_rows, n_outputs) outputs."""
        rows, label_tasks = self.label_rows.cpu().numpy(), self.label_tasks.cpu().numpy()
        values, weights = self.values.cpu().double().numpy(), self.count_weights.cpu().double().numpy()
        if outputs.ndim == 1:  # the labelled pairs' outputs, in label order (the split's rows in order)
            parts, rows = [outputs[:, None]] * len(tasks), np.arange(len(outputs))
        else:
            parts = split_outputs(tasks, outputs)
        scores = np.full(len(tasks), np.nan)
        for task, mine in zip(tasks, positions_by_task(label_tasks, len(tasks)), strict=True):
            if len(mine):
                scores[task.index] = task.validation_score(parts[task.index][rows[mine]], values[mine], weights[mine])
        return scores


class InputDataset(torch.utils.data.Dataset):
    """Inputs without targets, served in batches like a :class:`MaskedDataset` (for the net's
    ``predict`` and ``forward`` on plain arrays).

    Parameters
    ----------
    X : tensor of shape (n_samples, n_features) or scipy CSR matrix
    device : torch.device, default="cpu"
        Where batches of a CSR matrix go.
    sparse_batches : bool, default=False
        Serve batches of a CSR ``X`` as sparse CSR tensors instead of densifying them.
    """

    def __init__(self, X, device="cpu", sparse_batches=False):
        self.X = X
        self.device = device
        self.sparse_batches = sparse_batches

    def __len__(self):
        return self.X.shape[0]

    def batch(self, indices):
        rows = indices if isinstance(indices, slice) else indices.numpy()
        if sp.issparse(self.X):
            return csr_rows(self.X, rows, self.sparse_batches, self.device), None
        return self.X[rows], None


class BatchIterator:
    """Mini-batches of a :class:`MaskedDataset` by tensor slicing.

    skorch's default ``DataLoader`` collates one row at a time, which costs several times the
    training step of a small network. Slicing tensors that were converted once does not.

    Parameters
    ----------
    dataset : MaskedDataset
    batch_size : int
    shuffle : bool, default=False
        Visit the rows in a new random order each epoch. With the dataset's
        ``row_probabilities`` set, draw ``len(dataset)`` rows with replacement from them instead.
    seed : int or None, default=None
        Seed of a private ``torch.Generator``; the global RNG is not touched.
    """

    def __init__(self, dataset, batch_size, shuffle=False, seed=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(int(seed))

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        n_samples = len(self.dataset)
        if not self.shuffle:
            for start in range(0, n_samples, self.batch_size):
                yield self.dataset.batch(slice(start, start + self.batch_size))
            return
        probabilities = self.dataset.row_probabilities
        if probabilities is None:
            order = torch.randperm(n_samples, generator=self.generator)
        else:
            # the generator is a CPU one (seeded alike on every device): draw on the CPU
            order = torch.multinomial(probabilities.cpu(), n_samples, replacement=True, generator=self.generator)
        device = self.dataset.device
        if order.device != device:
            order = order.to(device)
        for start in range(0, n_samples, self.batch_size):
            yield self.dataset.batch(order[start : start + self.batch_size])


class RandomSplit:
    """A non-stratified random train/validation split of a :class:`MaskedDataset`.

    skorch's default split stratifies on y, which fails with missing labels.

    Parameters
    ----------
    validation_fraction : float
    seed : int
    """

    def __init__(self, validation_fraction, seed):
        self.validation_fraction = validation_fraction
        self.seed = seed

    def __call__(self, dataset, y=None, **fit_params):
        n_samples = len(dataset)
        n_valid = int(round(self.validation_fraction * n_samples))
        if n_valid < 1 or n_valid >= n_samples:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves {n_valid} of {n_samples} "
                "rows for validation; early stopping needs at least one row on each side. Give "
                "more rows, change validation_fraction, or set early_stopping=False."
            )
        order = torch.randperm(n_samples, generator=torch.Generator().manual_seed(int(self.seed)))
        train, valid = dataset.subset(order[n_valid:]), dataset.subset(order[:n_valid])
        if dataset.row_probabilities is not None:
            probabilities = dataset.row_probabilities[order[n_valid:].to(dataset.row_probabilities.device)]
            train.set_row_probabilities(probabilities / probabilities.sum())
        return train, valid


class TaskLossLogger(Callback):
    """Record each task's epoch-mean training (and validation) loss in the history.

    Keys are ``train_loss_<task>`` and ``valid_loss_<task>``, with the task's key. The per-task
    losses of each batch come with the step's output (``task_losses``), as skorch hands batch
    values to ``on_batch_end``. At the end of each epoch the training losses are also handed to
    the task-weighting strategy.

    Parameters
    ----------
    task_keys : list of str
    record_tasks : bool, default=True
        Record the per-task keys; False records nothing (the totals are skorch's).
    """

    def __init__(self, task_keys, record_tasks=True):
        self.task_keys = task_keys
        self.record_tasks = record_tasks

    def on_epoch_begin(self, net, **kwargs):
        self.sums_ = {}

    def on_batch_end(self, net, training, task_losses=None, y_pred=None, **kwargs):
        prefix = "train" if training else "valid"
        rows = len(y_pred)
        if prefix not in self.sums_:
            self.sums_[prefix] = [torch.zeros_like(task_losses, requires_grad=False), 0]
        self.sums_[prefix][0].add_(task_losses.detach(), alpha=rows)
        self.sums_[prefix][1] += rows

    def on_epoch_end(self, net, **kwargs):
        # the sums are consumed here: a fitted net keeps no tensors outside its modules
        epoch_sums, self.sums_ = self.sums_, None
        for prefix, (sums, rows) in epoch_sums.items():
            means = sums / rows
            if prefix == "valid":
                self.last_valid_losses_ = means.cpu().double().numpy()
            if self.record_tasks:
                for key, value in zip(self.task_keys, means.tolist(), strict=True):
                    net.history.record(f"{prefix}_loss_{key}", value)
            if prefix == "train":
                net.criterion_.weighting.end_epoch(means)


class ValidationScore(Callback):
    """Record the masked validation score of each epoch, for early stopping to follow.

    ``valid_score`` is the mean over tasks of each task's validation metric (ROC-AUC for a
    classification task, R^2 for a regression task; see ``Task.validation_score``) on the
    validation split's observed labels, over the tasks where it is defined;
    ``valid_score_<task>`` is each task's. When it is defined for no task (every validation task
    lacks a class), ``valid_score`` is minus the validation loss, so that early stopping still has
    something to follow. Nothing is recorded in epochs without a validation split. The outputs
    are those of the validation step, which visits the split's rows in order: no second forward
    pass.

    Parameters
    ----------
    tasks : list of Task
        The fitted task description.
    record_tasks : bool, default=True
        Record ``valid_score_<task>``; False records ``valid_score`` only.
    """

    def __init__(self, tasks, record_tasks=True):
        self.tasks = tasks
        self.record_tasks = record_tasks

    def on_epoch_begin(self, net, **kwargs):
        self.valid_outputs_ = []

    def on_batch_end(self, net, training, y_pred=None, **kwargs):
        if not training:
            self.valid_outputs_.append(y_pred.detach())

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        # the outputs are consumed here: a fitted net keeps no tensors outside its modules
        outputs, self.valid_outputs_ = self.valid_outputs_, None
        if dataset_valid is None:
            return
        outputs = torch.cat(outputs).cpu().double().numpy()
        scores = self.last_scores_ = dataset_valid.validation_scores(self.tasks, outputs)
        if self.record_tasks:
            for task, score in zip(self.tasks, scores.tolist(), strict=True):
                net.history.record(f"valid_score_{task.key}", score)
        defined = scores[np.isfinite(scores)]
        net.history.record("valid_score", float(defined.mean()) if len(defined) else -net.history[-1, "valid_loss"])


class TaskCheckpoint(Callback):
    """Keep each task at its own best validation epoch: per-task stopping.

    At each epoch with a validation split, a task whose validation score (or minus its validation
    loss, with ``monitor="loss"``) improved by more than ``threshold`` has its private parameters
    copied (its head rows, and its tower with private
    layers: ``module_.private_parameters(task)``). When training ends, after early stopping has
    restored the best epoch of the whole network, each task's copy is written back.

    Parameters
    ----------
    n_tasks : int
    monitor : {"score", "loss"}
        What a task's best epoch maximizes: its validation score, or minus its validation loss.
    threshold : float
        The improvement that counts, as early stopping's ``tol``.

    Attributes
    ----------
    best_epochs_ : ndarray of int
        Each task's best epoch (1-based, as in the history); 0 for a task without a score.
    """

    def __init__(self, n_tasks, monitor="score", threshold=0.0):
        self.n_tasks = n_tasks
        self.monitor = monitor
        self.threshold = threshold

    def on_train_begin(self, net, **kwargs):
        self.best_ = np.full(self.n_tasks, -np.inf)
        self.best_epochs_ = np.zeros(self.n_tasks, dtype=int)
        self.saved_ = {}

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if dataset_valid is None:
            return
        callbacks = dict(net.callbacks_)
        if self.monitor == "score":
            scores = callbacks["valid_score"].last_scores_
        else:
            scores = -callbacks["task_losses"].last_valid_losses_
        improved = np.flatnonzero(np.isfinite(scores) & (scores > self.best_ + self.threshold))
        for task in improved:
            self.best_[task], self.best_epochs_[task] = scores[task], len(net.history)
            self.saved_[task] = [
                (parameter, index, parameter.detach()[index].clone())
                for parameter, index in net.module_.private_parameters(int(task))
            ]

    def on_train_end(self, net, **kwargs):
        with torch.no_grad():
            for parts in self.saved_.values():
                for parameter, index, value in parts:
                    parameter[index] = value
        self.saved_ = None  # a fitted net keeps no tensors outside its modules


class CosineLearningRate(Callback):
    """Anneal the learning rate of every optimizer of the net along a half cosine, step by step.

    At step ``s`` of ``n_epochs * steps_per_epoch`` the rate is
    ``net.lr * (1 + cos(pi * s / total)) / 2``: from ``net.lr`` to 0 (SGDR's schedule, Loshchilov
    and Hutter 2017, without restarts). skorch's ``LRScheduler`` drives ``net.optimizer_`` only;
    this drives the sparse first layer's ``SparseAdam`` (``sparse_optimizer_``) alike.

    Parameters
    ----------
    n_epochs : int or None, default=None
        Length of the cycle in epochs; None keeps ``net.lr`` (``partial_fit``). Set before each
        training call: every call starts a new cycle.
    """

    def __init__(self, n_epochs=None):
        self.n_epochs = n_epochs

    def on_train_begin(self, net, **kwargs):
        self.step_ = 0
        self._set_rate(net, net.lr)

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        self.steps_per_epoch_ = max(1, -(-len(dataset_train) // net.batch_size))

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training or self.n_epochs is None:
            return
        progress = min(1.0, self.step_ / (self.n_epochs * self.steps_per_epoch_))
        self._set_rate(net, net.lr * 0.5 * (1.0 + math.cos(math.pi * progress)))
        self.step_ += 1

    @staticmethod
    def _set_rate(net, rate):
        for optimizer in (net.optimizer_, getattr(net, "sparse_optimizer_", None)):
            for group in [] if optimizer is None else optimizer.param_groups:
                group["lr"] = rate


class StopOnNonFiniteLoss(Callback):
    """Stop with a clear error, naming the epoch and the tasks, once the training loss is not finite."""

    def on_epoch_end(self, net, **kwargs):
        epoch = net.history[-1]
        if np.isfinite(epoch["train_loss"]):
            return
        tasks = [key[len("train_loss_") :] for key in epoch if key.startswith("train_loss_")]
        bad = [task for task in tasks if not np.isfinite(epoch[f"train_loss_{task}"])]
        where = f" in tasks {bad}" if bad else ""
        raise ValueError(
            f"The training loss became {epoch['train_loss']} at epoch {len(net.history)}{where}. Try a smaller "
            "learning_rate_init, standardize X (for example with StandardScaler), or check X for extreme values."
        )


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


_BATCH_EVENTS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


class MaskedNet(NeuralNet):
    """A skorch ``NeuralNet`` whose targets are the dicts made by :meth:`MaskedDataset.batch`.

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
        - With ``l2`` and the default ``torch.optim.Adam`` (no ``weight_decay`` or parameter groups
          of the user's), the penalty's gradient ``l2 * W`` of each dense weight matrix is added by
          Adam's own ``weight_decay`` (coupled L2, not AdamW's decoupled decay), inside its fused
          kernel: the same gradient as back-propagating ``0.5 * l2 * ||W||^2``, without two passes
          over every weight per step (on Tox21 it halved the step: benchmarks/bench_fit_speed.py). The logged loss
          still includes the penalty (``_penalty``).
        """
        sparse = getattr(self.module_, "sparse_parameters", list)()
        sparse_ids = {id(p) for p in sparse}
        dense = [(name, p) for name, p in self.get_all_learnable_params() if id(p) not in sparse_ids]
        opt_args, opt_kwargs = self.get_params_for_optimizer("optimizer", dense)
        groups = list(opt_args[0])
        # skorch gives one group of all the parameters unless the user set optimizer__param_groups
        plain = len(groups) == 1 and set(groups[0]) == {"params"}
        default_adam = self.optimizer is torch.optim.Adam and "weight_decay" not in opt_kwargs
        if self.l2 and not self.alpha and default_adam and plain:
            parameters = list(groups[0]["params"])
            # the group's "l2_penalty" key marks it (optimizers keep extra keys, pickled with them)
            groups = [
                {"params": [p for p in parameters if p.ndim > 1], "weight_decay": self.l2, "l2_penalty": True},
                {"params": [p for p in parameters if p.ndim <= 1]},
            ]
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
            matrices = [p for p in module.parameters() if p.ndim > 1 and id(p) not in sparse]
            penalized = [p for p in matrices if id(p) not in decayed_ids]
            decayed = [p for p in matrices if id(p) in decayed_ids]
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
        """
        if method_name not in _BATCH_EVENTS:
            return super().notify(method_name, **cb_kwargs)
        getattr(self, method_name)(self, **cb_kwargs)
        for _, callback in self.callbacks_:
            method = getattr(type(callback), method_name)
            if method is not getattr(Callback, method_name):
                method(callback, self, **cb_kwargs)
        return None

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """As skorch's, with denormal floats flushed to zero on this thread (:func:`flush_denormals`)."""
        with flush_denormals():
            return super().fit_loop(X, y, epochs=epochs, **fit_params)

    def get_dataset(self, X, y=None):
        """A :class:`MaskedDataset` as is; plain inputs (array, CSR, tensor) as an :class:`InputDataset`,
        so that ``predict_proba`` and ``forward`` work on them and return the module's raw outputs."""
        if isinstance(X, (MaskedDataset, CompactMaskedDataset)) or y is not None:
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
        parameters, _, decayed = self._parameters()
        if not (self.alpha or self.l2) or not (parameters or decayed):
            return torch.zeros((), device=(parameters or decayed)[0].device if parameters or decayed else "cpu")
        squares = sum((p**2).sum() for p in parameters)
        if getattr(self.module_, "sparse_heads", False) and "tasks" in y_true:
            columns = self.criterion_.layout.task_start.to(y_true["tasks"].device)[y_true["tasks"]]
            squares = squares + self.module_.sparse_squared_norm(X, columns)
        elif isinstance(X, torch.Tensor) and X.layout == torch.sparse_csr:
            squares = squares + self.module_.sparse_squared_norm(X)
        decayed_squares = 0.0
        if decayed:
            with torch.no_grad():
                decayed_squares = sum(torch.dot(p.view(-1), p.view(-1)) for p in decayed)
        penalty = (squares + decayed_squares) * (0.5 * self.l2)
        if self.alpha:
            penalty = penalty + self._alpha_penalty(squares + decayed_squares, y_true)
        return penalty if isinstance(penalty, torch.Tensor) else torch.tensor(float(penalty))

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

    def train_step_single(self, batch, **fit_params):
        """Forward, loss and gradients of one batch; the task-weighting strategy does the backward
        pass, so that gradient-based strategies (PCGrad, GradNorm) can shape the gradients. The
        per-task losses go to the callbacks with the step's output (``task_losses``)."""
        if not self.module_.training:  # set once per epoch, not once per batch
            self._set_training(True)
        Xi, yi = unpack_data(batch)
        y_pred = self._batch_outputs(Xi, yi)
        task_losses, present = self.criterion_.task_losses(y_pred, yi)
        criterion = self.criterion_
        loss = criterion.weighting.backward(
            criterion.task_weights * task_losses, present, self._penalty(Xi, yi), self._parameters()[1]
        )
        return {"loss": loss, "y_pred": y_pred, "task_losses": task_losses.detach()}

    def validation_step(self, batch, **fit_params):
        """As skorch's, with the per-task losses in the step's output (``task_losses``)."""
        self._set_training(False)
        Xi, yi = unpack_data(batch)
        with torch.no_grad():
            y_pred = self._batch_outputs(Xi, yi)
            task_losses, present = self.criterion_.task_losses(y_pred, yi)
            loss = self.criterion_.combine(task_losses, present)
        return {"loss": loss, "y_pred": y_pred, "task_losses": task_losses}
