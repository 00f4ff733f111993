"""Masked multi-task losses: per-entry losses, their normalization, and task weighting.

The loss of one batch is built in three steps that stay separate so each can change alone:

1. an output layout turns the network's fused output into one loss per (row, task) entry;
2. entries are multiplied by their weight (0 where the label is missing) and summed per task, then
   divided by that task's denominator (see :func:`task_denominators`), giving a vector of task losses;
3. a task-weighting strategy turns the vector of task losses into the scalar the optimizer minimizes.
"""

import numpy as np
import torch
from sklearn.metrics import r2_score, roc_auc_score
from torch import nn
from torch.nn import functional as F

LOSS_NORMALIZATIONS = ("per_task", "per_label", "per_sample")


class ClassificationOutputLayout:
    """Where each task's logits sit in the fused output, and how to score them.

    A binary task owns one logit (sigmoid / binary cross-entropy); a task with K > 2 classes owns
    K logits (softmax / cross-entropy). Tasks with the same K are processed together, so the loss
    costs one operation per distinct K, not one per task.

    Parameters
    ----------
    n_classes : sequence of int
        Number of classes of each task. A task with one class owns one logit that is ignored.
    """

    def __init__(self, n_classes):
        self.n_classes = [int(k) for k in n_classes]
        groups = {}
        start = 0
        self.task_columns = []
        for task, k in enumerate(self.n_classes):
            width = k if k > 2 else 1
            self.task_columns.append((start, start + width))
            groups.setdefault(width, []).append(task)
            start += width
        self.n_outputs = start
        self.head_widths = [stop - start for start, stop in self.task_columns]
        self._groups = []
        order = []
        for width, tasks in sorted(groups.items()):
            columns = [c for t in tasks for c in range(*self.task_columns[t])]
            self._groups.append((width, torch.tensor(tasks), torch.tensor(columns)))
            order.extend(tasks)
        # entry losses are computed group by group; this puts the columns back in task order
        self._inverse_order = torch.argsort(torch.tensor(order))
        # one group whose columns are already in task order (e.g. all tasks binary): no index work
        self._single_group_width = self._groups[0][0] if len(self._groups) == 1 else None

    def entry_losses(self, logits, targets):
        """Cross-entropy of every (row, task) entry: a (n_rows, n_tasks) tensor.

        ``targets`` holds valid class indices everywhere (0 at missing positions), so every entry
        is finite and masking by multiplication cannot produce NaN.
        """
        if self._single_group_width is not None:
            return self._group_losses(self._single_group_width, logits, targets)
        parts = []
        for width, tasks, columns in self._groups:
            tasks = tasks.to(logits.device)
            group_logits = logits.index_select(1, columns.to(logits.device))
            parts.append(self._group_losses(width, group_logits, targets.index_select(1, tasks)))
        entries = torch.cat(parts, dim=1)
        return entries.index_select(1, self._inverse_order.to(logits.device))

    @staticmethod
    def _group_losses(width, logits, targets):
        """Entry losses of tasks that all own ``width`` logits, laid out task after task."""
        if width == 1:
            return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), reduction="none")
        log_probs = F.log_softmax(logits.view(len(logits), targets.shape[1], width), dim=-1)
        return -log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)

    def probabilities(self, logits):
        """One (n_rows, n_classes_t) probability tensor per task."""
        probabilities = []
        for task, (start, stop) in enumerate(self.task_columns):
            k = self.n_classes[task]
            if k == 1:
                probabilities.append(torch.ones_like(logits[:, start:stop]))
            elif k == 2:
                positive = torch.sigmoid(logits[:, start])
                probabilities.append(torch.stack([1 - positive, positive], dim=1))
            else:
                probabilities.append(torch.softmax(logits[:, start:stop], dim=1))
        return probabilities

    def task_scores(self, logits, values, weights):
        """Each task's weighted ROC-AUC on its observed labels (one-vs-rest macro for K > 2).

        The validation score that early stopping follows: ranking quality, which keeps improving
        for epochs after the cross-entropy starts rising from over-confidence. A task whose
        observed labels miss a class has an undefined score, NaN.
        """
        probabilities = [p.detach().cpu().double().numpy() for p in self.probabilities(logits)]
        values, weights = values.cpu().numpy(), weights.detach().cpu().double().numpy()
        scores = np.full(len(self.n_classes), np.nan)
        for task, k in enumerate(self.n_classes):
            rows = weights[:, task] > 0
            truth = values[rows, task]
            if k < 2 or len(np.unique(truth)) < k:
                continue
            score = probabilities[task][rows, 1] if k == 2 else probabilities[task][rows]
            scores[task] = roc_auc_score(
                truth, score, sample_weight=weights[rows, task], multi_class="ovr", labels=np.arange(k)
            )
        return scores


class RegressionOutputLayout:
    """One output per task, scored with the squared error on standardized targets."""

    def __init__(self, n_tasks):
        self.n_tasks = int(n_tasks)
        self.n_outputs = self.n_tasks
        self.head_widths = [1] * self.n_tasks

    def entry_losses(self, outputs, targets):
        """Squared error of every (row, task) entry: a (n_rows, n_tasks) tensor."""
        return (outputs - targets.to(outputs.dtype)) ** 2

    def task_scores(self, outputs, values, weights):
        """Each task's weighted R^2 on its observed targets (NaN with fewer than two).

        R^2 does not change when targets and predictions are standardized alike, so it is
        computed on the standardized scale the network works in.
        """
        outputs, values = outputs.detach().cpu().double().numpy(), values.cpu().double().numpy()
        weights = weights.detach().cpu().double().numpy()
        scores = np.full(self.n_tasks, np.nan)
        for task in range(self.n_tasks):
            rows = weights[:, task] > 0
            if rows.sum() >= 2:
                scores[task] = r2_score(values[rows, task], outputs[rows, task], sample_weight=weights[rows, task])
        return scores


def task_denominators(count_weights, row_weights, normalization, row_probabilities=None):
    """Per-task denominators of a whole data set, for one loss normalization.

    Parameters
    ----------
    count_weights : tensor of shape (n_samples, n_tasks)
        How much each label counts: its sample weight where it is observed, 0 where it is missing.
    row_weights : tensor of shape (n_samples,)
        Weight of each row (all ones without sample weights).
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
    if normalization not in LOSS_NORMALIZATIONS:
        raise ValueError(f"loss_normalization must be one of {LOSS_NORMALIZATIONS}; got {normalization!r}.")
    n_tasks = count_weights.shape[1]
    if row_probabilities is None:
        per_task, per_row = count_weights.sum(dim=0), row_weights.sum()
    else:
        n_samples = len(row_probabilities)
        per_task = n_samples * (row_probabilities.to(count_weights.dtype) @ count_weights)
        per_row = n_samples * (row_probabilities.to(row_weights.dtype) @ row_weights)
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
    """The criterion of the skorch net: entry losses -> per-task losses, plus the task weighting.

    Parameters
    ----------
    layout : ClassificationOutputLayout or RegressionOutputLayout
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

    def forward(self, outputs, values, weights, denominators):
        """Return ``(task_losses, present)`` for one batch.

        ``task_losses`` are the unweighted per-task losses; ``present`` says which tasks have a
        label in the batch (None when the weighting strategy does not use it, which saves two
        operations per batch). Whatever ``values`` holds where ``weights`` is 0 (NaN, a marker,
        garbage) is replaced before the loss is computed: multiplying a NaN loss by 0 would still
        give NaN, and so would its gradient.
        """
        missing = weights == 0
        entries = self.layout.entry_losses(outputs, values.masked_fill(missing, 0))
        task_losses = masked_task_losses(entries, weights.to(entries.dtype), denominators)
        present = (~missing).any(dim=0) if self.weighting.uses_presence else None
        return task_losses, present
