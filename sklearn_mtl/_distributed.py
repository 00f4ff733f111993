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
"""

import numpy as np
import torch
import torch.distributed as dist

from ._losses import denominators_from_counts, task_label_counts

ROWS = ("all", "own")


def process_group():
    """``(rank, world_size)`` when a process group of more than one process is initialized, else None."""
    if not (dist.is_available() and dist.is_initialized()):
        return None
    world_size = dist.get_world_size()
    return None if world_size == 1 else (dist.get_rank(), world_size)


def check_supported(est, continue_training, incremental):
    """Say which parameters data-parallel training does not combine with yet, rather than train a
    model that differs from the one-process one."""
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
        dist.all_reduce(total)
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


def sum_gradients(parameters, loss, task_losses):
    """Sum the gradients of ``parameters``, the batch loss and the task losses over the ranks (one
    all-reduce of one flat buffer); a parameter without a gradient on a rank counts as 0."""
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
    values = torch.cat([loss.detach().reshape(1).to(grads[0].dtype), task_losses.to(grads[0].dtype)])
    flat = torch.cat([g.reshape(-1) for g in grads] + [values])
    dist.all_reduce(flat)
    start = 0
    for p, g in zip(parameters, grads, strict=True):
        p.grad = flat[start : start + g.numel()].view_as(g).clone()
        start += g.numel()
    return flat[start].to(loss.dtype), flat[start + 1 :].to(task_losses.dtype)


def broadcast_parameters(module):
    """Rank 0's parameters and buffers on every rank."""
    for tensor in [*module.parameters(), *module.buffers()]:
        dist.broadcast(tensor.data, 0)
