"""Data-parallel training under ``torch.distributed``, PyTorch's own engine (DDP's convention).

When the user's script has initialized a process group of more than one process (under
``torchrun``: ``torch.distributed.init_process_group("gloo")`` on CPUs, ``"nccl"`` on GPUs), ``fit``
trains data-parallel: every rank draws the same permutation of the rows each epoch, computes the
loss of its share of each global batch (whose denominators are the whole batch's and the data
set's, so that the shares' losses sum to the batch's loss), and the gradients are summed over the
ranks (one all-reduce of all of them per step) before every rank takes the same optimizer step.
The model is the one-process model with the same global batch, to float rounding; at the end of
training rank 0's parameters are broadcast, so that every rank holds the same fitted estimator.

Each rank passes either every row (``distributed_rows="all"``: simple scripts; each computes a
1/world share of each batch) or its own rows (``"own"``: the scalable case; the model is the one
fitted on the ranks' rows concatenated in rank order, and the tasks are described from all ranks'
labels).

A failure on one rank stops every rank at once, rather than leaving the others waiting in a
collective until the process group's timeout (30 minutes for gloo): an error while checking the
rank's own input stops every rank at the end of the checks (one tiny all-reduce per fit); an error
while training (a callback, a step) waits for this rank's next collective, whose all-reduced buffer
carries an error flag at no extra cost, and every rank raises there: the failing rank its own error,
the others a :class:`DistributedFitError` (a ``ValueError`` or ``TypeError`` too when the original
was one) that names the failing rank and its message.
"""

from contextlib import contextmanager

import numpy as np
import torch
import torch.distributed as dist

from ._losses import denominators_from_counts, task_label_counts

ROWS = ("all", "own")


class DistributedFitError(RuntimeError):
    """A data-parallel fit stopped because another rank failed (its error is in the message)."""


class DistributedValueError(DistributedFitError, ValueError):
    """Another rank failed with a ValueError (bad input on its rows, for example)."""


class DistributedTypeError(DistributedFitError, TypeError):
    """Another rank failed with a TypeError."""


def process_group():
    """``(rank, world_size)`` when a process group of more than one process is initialized, else None."""
    if not (dist.is_available() and dist.is_initialized()):
        return None
    world_size = dist.get_world_size()
    return None if world_size == 1 else (dist.get_rank(), world_size)


def check_supported(est, group, continue_training, incremental):
    """Say which parameters data-parallel training does not combine with yet, rather than train a
    model that differs from the one-process one (nothing to say without a process ``group``)."""
    if group is None:
        return
    conflicts = []
    if continue_training or incremental:
        conflicts.append("partial_fit and warm_start continuation (fit from scratch)")
    if est.sampling != "uniform":
        conflicts.append(f"sampling={est.sampling!r}")
    if not (isinstance(est.task_weighting, str) and est.task_weighting == "equal"):
        conflicts.append(f"task_weighting={est.task_weighting!r} (its terms would be counted once per rank)")
    if est.distributed_rows == "own":
        if getattr(est, "class_weight", None) == "balanced":
            conflicts.append("class_weight='balanced' with distributed_rows='own' (it counts each rank's labels)")
    if conflicts:
        raise ValueError(
            f"Data-parallel fit (torch.distributed is initialized) does not yet support {'; '.join(conflicts)}."
        )


def check_sparse_gradients(net):
    """Sparse gradients (SparseAdam: a sparse first layer from 10,000 columns, heads trained sparsely
    from 1,000 tasks) are not all-reduced yet."""
    sparse = getattr(net.module_, "sparse_parameters", list)()
    if sparse:
        raise ValueError(
            "Data-parallel fit does not yet all-reduce sparse gradients (a first layer of 10,000 columns or more, "
            "or heads trained sparsely for 1,000 tasks or more with few labels)."
        )


def _flag(failed):
    """A one-element tensor of ``failed`` on the device the backend reduces on (NCCL: this process's
    current GPU, which a DDP script sets to its local rank's)."""
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
    return torch.tensor([1.0 if failed else 0.0], device=device)


def _failed_anywhere(failed):
    """One tiny all-reduce: whether any rank failed (``failed``: whether this one did)."""
    flag = _flag(failed)
    dist.all_reduce(flag)
    return bool(flag.item() > 0)


def raise_together(error):
    """Once a flag said that some rank failed: every rank learns each rank's error (one all-gather,
    on the failure path only), and raises: its own ``error``, or else the first failing rank's, named."""
    reports = gathered(None if error is None else (type(error).__name__, str(error)))
    if error is not None:
        raise error
    rank, (kind, message) = next((rank, report) for rank, report in enumerate(reports) if report is not None)
    error_type = {"ValueError": DistributedValueError, "TypeError": DistributedTypeError}.get(
        kind, DistributedFitError
    )
    raise error_type(f"Data-parallel fit stopped: rank {rank} failed with {kind}: {message}") from None


@contextmanager
def checked_together(group):
    """Checks of each rank's own input (before any collective): when they fail on one rank, every rank
    stops at the end of the block (one tiny all-reduce). Nothing happens without a process group."""
    if group is None:
        yield
        return
    try:
        yield
    except Exception as error:
        _failed_anywhere(True)
        raise_together(error)
    if _failed_anywhere(False):
        raise_together(None)


def gathered(objects):
    """Every rank's ``objects``, in rank order (a list of one entry per rank)."""
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, objects)
    return out


def gathered_task_labels(task_labels):
    """Each task's ``(values, weights)`` over all ranks' rows, in rank order (``distributed_rows="own"``):
    the tasks are described from every label, as one process would."""
    parts = gathered(task_labels)
    return [
        (np.concatenate([part[task][0] for part in parts]), np.concatenate([part[task][1] for part in parts]))
        for task in range(len(task_labels))
    ]


class Share:
    """Which rows of each global batch one rank computes.

    Parameters
    ----------
    rank, world_size : int
    rows : {"all", "own"}
        "all": every rank holds every row and takes every ``world_size``-th row of each batch;
        "own": the rank holds rows ``offset : offset + n_local`` of the ``n_global`` rows and takes
        those of each batch.
    offset, n_global : int, default=0, None
    """

    def __init__(self, rank, world_size, rows="all", offset=0, n_global=None):
        self.rank, self.world_size, self.rows = rank, world_size, rows
        self.offset, self.n_global = offset, n_global
        self.error = None

    def defer(self, error):
        """An error on this rank while training: raised at its next collective, where every rank learns it
        (the first one, when more follow before that)."""
        if self.error is None:
            self.error = error

    def flag(self, dtype, device):
        """The error flag that this rank's next all-reduced buffer carries."""
        return torch.tensor([0.0 if self.error is None else 1.0], dtype=dtype, device=device)

    def raise_if_failed(self, flag):
        """After an all-reduce that carried the flags: raise on every rank when any had failed."""
        if flag > 0:
            raise_together(self.error)

    def n_samples(self, dataset):
        """The rows the shared permutation runs over."""
        return len(dataset) if self.rows == "all" else self.n_global

    def local(self, batch):
        """This rank's rows of the global ``batch`` (indices into its own data set)."""
        if self.rows == "all":
            return batch[self.rank :: self.world_size]
        mine = (batch >= self.offset) & (batch < self.offset + self._n_local)
        return batch[mine] - self.offset

    def bind(self, dataset):
        self._n_local = len(dataset)
        return self

    def row_weight_sum(self, dataset, batch, local):
        """The global batch's row weight (for ``alpha``'s per-batch penalty)."""
        weights = dataset.row_weights
        if self.rows == "all":
            return float(len(batch)) if dataset._unit_rows else weights[batch.to(weights.device)].sum()
        total = weights[local.to(weights.device)].sum().reshape(1)
        total = torch.cat([total, self.flag(total.dtype, total.device)])
        dist.all_reduce(total)
        self.raise_if_failed(total[1])
        return total[0]


def share_rows(dataset, rows):
    """The :class:`Share` of this rank for ``dataset``; with ``rows="own"``, the dataset's denominators
    become those of all ranks' labels."""
    rank, world_size = process_group()
    if rows == "all":
        return Share(rank, world_size).bind(dataset)
    sizes = gathered(len(dataset))
    per_task, per_row = task_label_counts(
        dataset.label_tasks, dataset.count_weights, dataset.row_weights, dataset.n_tasks
    )
    counts = torch.cat([per_task.double(), per_row.double().reshape(1)])
    dist.all_reduce(counts)
    dataset.denominators = denominators_from_counts(
        counts[:-1].to(per_task.dtype), counts[-1].to(per_task.dtype), dataset.normalization
    )
    dataset.n_global_rows = sum(sizes)
    return Share(rank, world_size, "own", offset=sum(sizes[:rank]), n_global=sum(sizes)).bind(dataset)


def sum_gradients(parameters, loss, task_losses, share):
    """Sum the gradients of ``parameters``, the batch loss and the task losses over the ranks (one
    all-reduce of one flat buffer, which carries the error flags of ``share``'s ranks); a parameter
    without a gradient on a rank counts as 0."""
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
    dtype, device = grads[0].dtype, grads[0].device
    values = torch.cat([loss.detach().reshape(1).to(dtype), task_losses.to(dtype), share.flag(dtype, device)])
    flat = torch.cat([g.reshape(-1) for g in grads] + [values])
    dist.all_reduce(flat)
    share.raise_if_failed(flat[-1])
    flat = flat[:-1]
    start = 0
    for p, g in zip(parameters, grads, strict=True):
        p.grad = flat[start : start + g.numel()].view_as(g)  # a view, as DDP's gradient buckets: no copy
        start += g.numel()
    return flat[start].to(loss.dtype), flat[start + 1 :].to(task_losses.dtype)


def broadcast_parameters(module, share):
    """Rank 0's parameters and buffers on every rank, unless a rank failed in training's last steps."""
    if _failed_anywhere(share.error is not None):
        raise_together(share.error)
    for tensor in [*module.parameters(), *module.buffers()]:
        dist.broadcast(tensor.data, 0)
