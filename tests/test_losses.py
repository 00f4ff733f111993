"""The masked loss: normalizations, masking, absent tasks, gradients."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from sklearn_mtl._losses import MaskedMultiTaskLoss, OutputLayout, task_denominators
from sklearn_mtl.weighting import EqualWeighting

N_CLASSES = [2, 3, 2, 4, 3]


def _classification_layout(n_classes):
    losses = ["cross_entropy" if k > 2 else "binary_cross_entropy" for k in n_classes]
    return OutputLayout(losses, [k if k > 2 else 1 for k in n_classes])


def _regression_layout(n_tasks):
    return OutputLayout(["squared_error"] * n_tasks, [1] * n_tasks)


def _denominators(weights, row_weights, normalization):
    """The denominators of the labels where a (rows x tasks) block of weights is > 0."""
    rows, tasks = torch.nonzero(weights > 0, as_tuple=True)
    return task_denominators(rows, tasks, weights[rows, tasks], row_weights, weights.shape[1], normalization)


def _targets(values, weights, denominators):
    return {"values": values, "weights": weights, "denominators": denominators}


def _problem(seed=0, n_rows=40):
    rng = np.random.RandomState(seed)
    layout = _classification_layout(N_CLASSES)
    logits = torch.tensor(rng.normal(size=(n_rows, layout.n_outputs)), requires_grad=True)
    values = torch.tensor(np.column_stack([rng.randint(k, size=n_rows) for k in N_CLASSES]))
    observed = torch.tensor(rng.rand(n_rows, len(N_CLASSES)) < 0.6)
    return layout, logits, values, observed


def _loss(layout, normalization, logits, values, observed, task_weights=None):
    weights = observed.double()
    task_weights = torch.ones(len(N_CLASSES)) if task_weights is None else task_weights
    criterion = MaskedMultiTaskLoss(layout, EqualWeighting(), task_weights)
    denominators = _denominators(weights, torch.ones(len(weights)), normalization)
    task_losses, present = criterion.task_losses(logits, _targets(values, weights, denominators))
    loss = criterion(logits, _targets(values, weights, denominators))
    torch.testing.assert_close(loss, criterion.combine(task_losses, present))
    return loss, task_losses


def _reference_task_sums(layout, logits, values, observed):
    """Per-task summed cross-entropy over the observed rows only, computed task by task."""
    sums = []
    for task, (start, stop) in enumerate(layout.task_columns):
        rows = observed[:, task]
        task_logits, targets = logits[rows, start:stop], values[rows, task]
        if N_CLASSES[task] == 2:
            loss = F.binary_cross_entropy_with_logits(task_logits[:, 0], targets.double(), reduction="sum")
        else:
            loss = F.cross_entropy(task_logits, targets, reduction="sum")
        sums.append(loss)
    return torch.stack(sums)


@pytest.mark.parametrize("normalization", ["per_task", "per_label", "per_sample"])
def test_masked_loss_equals_observed_only_subproblem(normalization):
    layout, logits, values, observed = _problem()
    loss, task_losses = _loss(layout, normalization, logits, values, observed)
    sums = _reference_task_sums(layout, logits, values, observed)
    counts = observed.sum(dim=0).double()
    expected_denominators = {
        "per_task": counts,
        "per_label": counts.sum().expand(len(counts)),
        "per_sample": torch.full_like(counts, len(observed)),
    }[normalization]
    torch.testing.assert_close(task_losses, sums / expected_denominators)
    torch.testing.assert_close(loss, (sums / expected_denominators).sum())


def test_per_task_is_mean_of_each_task_then_weighted_sum():
    layout, logits, values, observed = _problem(seed=1)
    task_weights = torch.tensor([1.0, 2.0, 0.5, 0.0, 3.0], dtype=torch.float64)
    loss, _ = _loss(layout, "per_task", logits, values, observed, task_weights)
    means = _reference_task_sums(layout, logits, values, observed) / observed.sum(dim=0)
    torch.testing.assert_close(loss, (task_weights * means).sum())


def test_garbage_at_masked_positions_changes_neither_loss_nor_gradient():
    layout, logits, values, observed = _problem(seed=2)
    loss, _ = _loss(layout, "per_task", logits, values, observed)
    (gradient,) = torch.autograd.grad(loss, logits)
    garbage = torch.where(observed, values, torch.full_like(values, -7))
    garbage_loss, _ = _loss(layout, "per_task", logits, garbage, observed)
    (garbage_gradient,) = torch.autograd.grad(garbage_loss, logits)
    torch.testing.assert_close(loss, garbage_loss)
    torch.testing.assert_close(gradient, garbage_gradient)


def test_nan_targets_give_no_nan_loss_or_gradient():
    rng = np.random.RandomState(0)
    outputs = torch.tensor(rng.normal(size=(30, 3)), requires_grad=True)
    observed = torch.tensor(rng.rand(30, 3) < 0.5)
    values = torch.where(observed, torch.tensor(rng.normal(size=(30, 3))), torch.tensor(float("nan")))
    criterion = MaskedMultiTaskLoss(_regression_layout(3), EqualWeighting(), torch.ones(3))
    weights = observed.double()
    denominators = _denominators(weights, torch.ones(30), "per_task")
    task_losses, _ = criterion.task_losses(outputs, _targets(values, weights, denominators))
    loss = task_losses.sum()
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(outputs.grad).all()
    # rows with no observed target get exactly zero gradient
    assert (outputs.grad[~observed] == 0).all()


def test_task_absent_from_batch_contributes_zero_not_nan():
    layout, logits, values, observed = _problem(seed=3)
    observed[:, 1] = False
    loss, task_losses = _loss(layout, "per_task", logits, values, observed)
    loss.backward()
    assert task_losses[1] == 0
    assert torch.isfinite(loss)
    start, stop = layout.task_columns[1]
    assert (logits.grad[:, start:stop] == 0).all()
    assert torch.isfinite(logits.grad).all()


def test_sample_weight_of_two_equals_repeating_the_row():
    layout, logits, values, observed = _problem(seed=4, n_rows=10)
    row_weights = torch.ones(10, dtype=torch.float64)
    row_weights[3] = 2.0
    for normalization in ["per_task", "per_label", "per_sample"]:
        weights = observed.double() * row_weights[:, None]
        criterion = MaskedMultiTaskLoss(layout, EqualWeighting(), torch.ones(len(N_CLASSES)))
        denominators = _denominators(weights, row_weights, normalization)
        weighted, _ = criterion.task_losses(logits, _targets(values, weights, denominators))
        order = torch.tensor([*range(10), 3])
        repeated_observed = observed[order].double()
        repeated_denominators = _denominators(repeated_observed, torch.ones(11, dtype=torch.float64), normalization)
        repeated, _ = criterion.task_losses(
            logits[order], _targets(values[order], repeated_observed, repeated_denominators)
        )
        torch.testing.assert_close(weighted, repeated)  # per-task losses


def test_one_class_task_has_one_column_and_zero_loss():
    layout = _classification_layout([1, 2])
    logits = torch.zeros(4, layout.n_outputs)
    assert layout.head_widths == [1, 1]
    entries = layout.entry_losses(logits, torch.zeros(4, 2))
    assert entries.shape == (4, 2)


def test_mixed_layout_gives_each_task_its_own_loss_in_task_order():
    # regression, 3-class, binary, regression: three groups whose columns interleave
    layout = OutputLayout(["squared_error", "cross_entropy", "binary_cross_entropy", "squared_error"], [1, 3, 1, 1])
    rng = np.random.RandomState(0)
    outputs = torch.tensor(rng.normal(size=(8, layout.n_outputs)))
    targets = torch.tensor(
        np.column_stack([rng.normal(size=8), rng.randint(3, size=8), rng.randint(2, size=8), rng.normal(size=8)])
    )
    entries = layout.entry_losses(outputs, targets)
    expected = torch.stack(
        [
            (outputs[:, 0] - targets[:, 0]) ** 2,
            F.cross_entropy(outputs[:, 1:4], targets[:, 1].long(), reduction="none"),
            F.binary_cross_entropy_with_logits(outputs[:, 4], targets[:, 2], reduction="none"),
            (outputs[:, 5] - targets[:, 3]) ** 2,
        ],
        dim=1,
    )
    torch.testing.assert_close(entries, expected)


def test_unknown_normalization_is_rejected():
    with pytest.raises(ValueError, match="loss_normalization must be one of"):
        _denominators(torch.ones(2, 2), torch.ones(2), "per_batch")
