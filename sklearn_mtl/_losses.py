"""Masked multi-task losses: per-entry losses, their normalization, and task weighting.

The loss of one batch is built in three steps that stay separate so each can change alone:

1. the output layout (built from the fitted task description) turns the network's fused output
   into one loss per (row, task) entry;
2. entries are multiplied by their weight (0 where the label is missing) and summed per task, then
   divided by that task's denominator (see :func:`task_denominators`), giving a vector of task losses;
3. a task-weighting strategy turns the vector of task losses into the scalar the optimizer minimizes.
"""

import torch
from torch import nn
from torch.nn import functional as F

LOSS_NORMALIZATIONS = ("per_task", "per_label", "per_sample")


class OutputLayout:
    """Where each task's outputs sit in the network's fused output, and the loss of each.

    A regression task owns one output (squared error on its standardized target); a binary task
    one logit (binary cross-entropy); a task with K > 2 classes K logits (softmax cross-entropy).
    Tasks with the same loss and width are processed together, so the loss costs one operation
    per distinct (loss, width), not one per task.

    Parameters
    ----------
    losses : sequence of {"squared_error", "binary_cross_entropy", "cross_entropy"}
        The loss of each task, in task order (``Task.loss`` of the fitted task description).
    head_widths : sequence of int
        The number of outputs of each task.
    """

    def __init__(self, losses, head_widths):
        self.losses = list(losses)
        self.head_widths = [int(width) for width in head_widths]
        groups = {}
        start = 0
        self.task_columns = []
        for task, (loss, width) in enumerate(zip(self.losses, self.head_widths, strict=True)):
            self.task_columns.append((start, start + width))
            groups.setdefault((loss, width), []).append(task)
            start += width
        self.n_outputs = start
        self._groups = []
        order = []
        for (loss, width), tasks in sorted(groups.items()):
            columns = [c for t in tasks for c in range(*self.task_columns[t])]
            self._groups.append((loss, width, torch.tensor(tasks), torch.tensor(columns)))
            order.extend(tasks)
        # entry losses are computed group by group; this puts the columns back in task order
        self._inverse_order = torch.argsort(torch.tensor(order))
        # one group whose columns are already in task order (e.g. all tasks binary): no index work
        self._single_group = self._groups[0][:2] if len(self._groups) == 1 else None
        # for labels given as (row, task) pairs: each task's group and first output column
        self._task_group = torch.empty(len(self.losses), dtype=torch.long)
        for group, (_, _, tasks, _) in enumerate(self._groups):
            self._task_group[tasks] = group
        self._task_start = torch.tensor([start for start, _ in self.task_columns], dtype=torch.long)

    @property
    def task_start(self):
        """The first output column of each task: a (n_tasks,) int64 tensor."""
        return self._task_start

    @classmethod
    def from_tasks(cls, tasks):
        """The layout of a fitted task description (a list of ``Task``)."""
        return cls([task.loss for task in tasks], [task.head_width for task in tasks])

    def entry_losses(self, outputs, targets):
        """The loss of every (row, task) entry: a (n_rows, n_tasks) tensor.

        ``targets`` holds floats: class indices of classification tasks (valid ones everywhere,
        0 at missing positions) and standardized regression targets, so every entry is finite
        and masking by multiplication cannot produce NaN.
        """
        if self._single_group is not None:
            return self._group_losses(*self._single_group, outputs, targets)
        parts = []
        for loss, width, tasks, columns in self._groups:
            tasks = tasks.to(outputs.device)
            group_outputs = outputs.index_select(1, columns.to(outputs.device))
            parts.append(self._group_losses(loss, width, group_outputs, targets.index_select(1, tasks)))
        entries = torch.cat(parts, dim=1)
        return entries.index_select(1, self._inverse_order.to(outputs.device))

    def pair_losses(self, outputs, rows, tasks, targets):
        """The loss of each labelled (row, task) pair: a (n_labels,) tensor.

        ``rows`` index ``outputs``; ``tasks`` and ``targets`` (encoded labels) are the pairs'.
        Only the outputs of the labelled pairs are read. 1-D ``outputs`` are already the pairs'
        outputs (``SharedTrunkNet.pair_forward``; every head then has one output).
        """
        if outputs.ndim == 1:
            losses = outputs.new_empty(len(outputs))
            groups = self._task_group.to(outputs.device)[tasks]
            for group, (loss, _, _, _) in enumerate(self._groups):
                selected = torch.nonzero(groups == group).flatten() if len(self._groups) > 1 else slice(None)
                losses[selected] = self._group_losses(
                    loss, 1, outputs[selected].unsqueeze(1), targets[selected].unsqueeze(1)
                ).squeeze(1)
            return losses
        starts = self._task_start.to(outputs.device)[tasks]
        if self._single_group is not None:
            loss, width = self._single_group
            return self._pair_group_losses(loss, width, outputs, rows, starts, targets)
        losses = outputs.new_empty(len(rows))
        groups = self._task_group.to(outputs.device)[tasks]
        for group, (loss, width, _, _) in enumerate(self._groups):
            selected = torch.nonzero(groups == group).flatten()
            if len(selected):
                losses[selected] = self._pair_group_losses(
                    loss, width, outputs, rows[selected], starts[selected], targets[selected]
                )
        return losses

    @classmethod
    def _pair_group_losses(cls, loss, width, outputs, rows, starts, targets):
        if width == 1:
            return cls._group_losses(loss, 1, outputs[rows, starts].unsqueeze(1), targets.unsqueeze(1)).squeeze(1)
        columns = starts.unsqueeze(1) + torch.arange(width, device=outputs.device)
        logits = outputs[rows.unsqueeze(1), columns]
        return cls._group_losses(loss, width, logits, targets.unsqueeze(1)).squeeze(1)

    @staticmethod
    def _group_losses(loss, width, outputs, targets):
        """Entry losses of tasks that all have this loss and width, laid out task after task."""
        targets = targets.to(outputs.dtype)
        if loss == "squared_error":
            return (outputs - targets) ** 2
        if loss == "binary_cross_entropy":
            return F.binary_cross_entropy_with_logits(outputs, targets, reduction="none")
        log_probs = F.log_softmax(outputs.view(len(outputs), targets.shape[1], width), dim=-1)
        return -log_probs.gather(-1, targets.long().unsqueeze(-1)).squeeze(-1)


def task_denominators(label_rows, label_tasks, count_weights, row_weights, n_tasks, normalization,
                      row_probabilities=None):
    """Per-task denominators of a whole data set, for one loss normalization.

    Parameters
    ----------
    label_rows, label_tasks : tensor of int64, shape (n_labels,)
        The row and the task of each observed label.
    count_weights : tensor of shape (n_labels,)
        How much each label counts: its sample weight.
    row_weights : tensor of shape (n_samples,)
        Weight of each row (all ones without sample weights).
    n_tasks : int
    normalization : {"per_task", "per_label", "per_sample"}
    row_probabilities : tensor of shape (n_samples,), default=None
        Probability of drawing each row when batches are sampled; None is uniform.

    Returns
    -------
    tensor of shape (n_tasks,)
        ``per_task``: each task's (weighted) count of observed labels; ``per_label``: the count of
        all observed labels, for every task; ``per_sample``: the (weighted) number of rows. With
        ``row_probabilities``, the count expected in ``n_samples`` draws. A denominator that
        would be 0 is 1 instead: its numerator is 0 too, so the task's loss is exactly 0, not 0/0.
    """
    if row_probabilities is None:
        per_task, per_row = task_label_counts(label_tasks, count_weights, row_weights, n_tasks)
    else:
        n_samples = len(row_probabilities)
        drawn = row_probabilities.to(count_weights.dtype)[label_rows] * count_weights
        per_task, _ = task_label_counts(label_tasks, drawn, row_weights, n_tasks)
        per_task = n_samples * per_task
        per_row = n_samples * (row_probabilities.to(row_weights.dtype) @ row_weights)
    return denominators_from_counts(per_task, per_row, normalization)


def task_label_counts(label_tasks, count_weights, row_weights, n_tasks):
    """Each task's (weighted) count of labels, and the rows' total weight: what the denominators of
    every normalization are made of (summed over ranks in a data-parallel fit of own rows)."""
    per_task = torch.zeros(n_tasks, dtype=count_weights.dtype, device=count_weights.device)
    per_task.index_add_(0, label_tasks, count_weights)
    return per_task, row_weights.sum()


def denominators_from_counts(per_task, per_row, normalization):
    """The denominators of one normalization from each task's (expected) label weight and the rows'."""
    if normalization not in LOSS_NORMALIZATIONS:
        raise ValueError(f"loss_normalization must be one of {LOSS_NORMALIZATIONS}; got {normalization!r}.")
    n_tasks = len(per_task)
    if normalization == "per_task":
        denominators = per_task
    elif normalization == "per_label":
        denominators = per_task.sum().expand(n_tasks).clone()
    else:
        denominators = per_row.expand(n_tasks).clone()
    return torch.where(denominators > 0, denominators, torch.ones_like(denominators))


def masked_task_losses(entry_losses, entry_weights, denominators):
    """Sum each task's weighted entry losses and divide by its denominator.

    The denominators come from :func:`task_denominators`, never 0: a task without labels has a
    sum of 0 and so a loss of exactly 0.
    """
    return (entry_losses * entry_weights).sum(dim=0) / denominators


class MaskedMultiTaskLoss(nn.Module):
    """The criterion of the skorch net: the loss of a batch, from its outputs and targets.

    Entry losses (from the layout) become per-task losses (:meth:`task_losses`), which the task
    weights and the weighting strategy turn into the scalar to minimize (:meth:`combine`);
    calling the criterion does both, as skorch's ``get_loss`` expects.

    Parameters
    ----------
    layout : OutputLayout
    weighting : sklearn_mtl.weighting.TaskWeighting
        Turns the task-weighted vector of task losses into the scalar to minimize; its learnable
        parameters are trained by the net's optimizer with the module's.
    task_weights : array-like of shape (n_tasks,)
        Fixed multipliers of the task losses.
    """

    def __init__(self, layout, weighting, task_weights):
        super().__init__()
        self.layout = layout
        self.weighting = weighting
        self.register_buffer("task_weights", torch.as_tensor(task_weights))

    def task_losses(self, outputs, targets):
        """Return ``(task_losses, present)`` for one batch.

        ``targets`` is the dict of :meth:`LabelDataset.batch`. ``task_losses`` are the
        unweighted per-task losses; ``present`` says which tasks have a label in the batch (None
        when the weighting strategy does not use it, which saves two operations per batch).
        Whatever ``values`` holds where ``weights`` is 0 is replaced before the loss is computed:
        multiplying a NaN loss by 0 would still give NaN, and so would its gradient.
        """
        if outputs.ndim == 3:
            return self._member_task_losses(outputs, targets)
        if "tasks" in targets:
            return self._compact_task_losses(outputs, targets)
        values, weights = targets["values"], targets["weights"]
        missing = weights == 0
        entries = self.layout.entry_losses(outputs, values.masked_fill(missing, 0))
        task_losses = masked_task_losses(entries, weights.to(entries.dtype), targets["denominators"])
        present = (~missing).any(dim=0) if self.weighting.uses_presence else None
        return task_losses, present

    def _compact_task_losses(self, outputs, targets):
        """:meth:`task_losses` of labels given as pairs: only the labelled outputs are read."""
        tasks, weights = targets["tasks"], targets["weights"]
        entries = self.layout.pair_losses(outputs, targets["rows"], tasks, targets["values"])
        sums = torch.zeros(len(self.layout.losses), dtype=entries.dtype, device=entries.device)
        sums.index_add_(0, tasks, entries * weights.to(entries.dtype))
        task_losses = sums / targets["denominators"]
        if not self.weighting.uses_presence:
            return task_losses, None
        return task_losses, torch.bincount(tasks, minlength=len(sums)) > 0

    def _member_task_losses(self, outputs, targets):
        """:meth:`task_losses` of an ensemble's members' outputs, (n_members, n_rows, n_outputs): each
        task's loss is the sum of the members' (the members as more rows with the same labels), so
        that each member's parameters get the gradient they would get alone."""
        n_members, n_rows = outputs.shape[:2]
        members = targets.get("member_weights")  # (n_members, n_rows): each member's weight of each row
        if "tasks" in targets:
            shifts = torch.arange(n_members, device=outputs.device).unsqueeze(1) * n_rows
            rows = (targets["rows"].unsqueeze(0) + shifts).flatten()
            weights = targets["weights"].repeat(n_members)
            if members is not None:
                weights = weights * members.reshape(-1)[rows].to(weights.dtype)
            repeated = {
                **targets,
                "rows": rows,
                "weights": weights,
                **{key: targets[key].repeat(n_members) for key in ("tasks", "values")},
            }
        else:
            weights = targets["weights"].repeat(n_members, 1)
            if members is not None:
                weights = weights * members.reshape(-1, 1).to(weights.dtype)
            repeated = {**targets, "values": targets["values"].repeat(n_members, 1), "weights": weights}
        return self.task_losses(outputs.reshape(n_members * n_rows, -1), repeated)

    def combine(self, task_losses, present):
        """The scalar loss: the weighting strategy applied to the task-weighted task losses."""
        return self.weighting(self.task_weights * task_losses, present)

    def forward(self, outputs, targets):
        """The scalar loss of one batch (without the L2 penalty, which the net adds in training)."""
        return self.combine(*self.task_losses(outputs, targets))
