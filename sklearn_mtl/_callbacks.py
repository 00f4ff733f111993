"""The skorch callbacks of the training engine: per-task losses and validation scores in the
history, per-task checkpoints, the cosine learning-rate schedule, and the stop on a non-finite loss."""

import math

import numpy as np
import torch
from skorch.callbacks import Callback


def batch_rows(batch):
    """The rows of a batch ``(X, targets)``: a data-parallel fit's whole batch (of which this rank
    computed its share), else X's."""
    X, targets = batch
    whole = targets.get("batch_rows") if isinstance(targets, dict) else None
    return whole or X.shape[0]


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

    def on_batch_end(self, net, training, task_losses=None, y_pred=None, batch=None, **kwargs):
        prefix = "train" if training else "valid"
        rows = batch_rows(batch)
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
        # all ranks' rows in a data-parallel fit of their own rows (LabelDataset.n_global_rows)
        n_rows = getattr(dataset_train, "n_global_rows", None) or len(dataset_train)
        self.steps_per_epoch_ = max(1, -(-n_rows // net.batch_size))

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
