"""Task affinity by lookahead, grouping tasks by it, and its Display."""


import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskEstimator, MaskedMultiTaskRegressor
from sklearn_mtl.inspection import TaskAffinity, TaskAffinityDisplay, group_tasks, task_affinity

matplotlib.use("Agg")
SMALL = dict(hidden_layer_sizes=(32,), max_iter=8, random_state=0)
TRUE_GROUPS = [[0, 2, 4], [1, 3, 5]]


# tiny networks and few epochs: max_iter is reached on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _two_groups(n_rows=800, seed=0):
    """Six tasks in two hidden groups, interleaved: tasks 0, 2, 4 read one direction of X, 1, 3, 5 another."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, 20))
    directions = rng.normal(size=(2, 20))
    columns = [np.tanh(X @ (directions[task % 2] + 0.3 * rng.normal(size=20))) for task in range(6)]
    y = np.column_stack(columns) + 0.1 * rng.normal(size=(n_rows, 6))
    y[rng.rand(n_rows, 6) < 0.3] = np.nan
    return X, y


def _within_and_between(affinity):
    same = np.equal.outer(np.arange(6) % 2, np.arange(6) % 2) & ~np.eye(6, dtype=bool)
    other = ~np.equal.outer(np.arange(6) % 2, np.arange(6) % 2)
    return affinity[same].mean(), affinity[other].mean()


@pytest.mark.parametrize("kind", ["regression", "classification", "mixed"])
def test_affinity_finds_the_hidden_groups(kind):
    X, y = _two_groups()
    if kind == "regression":
        estimator = MaskedMultiTaskRegressor(**SMALL)
    elif kind == "classification":
        y = np.where(np.isnan(y), np.nan, (y > 0).astype(float))
        estimator = MaskedMultiTaskClassifier(**SMALL)
    else:  # tasks 0 and 1 become classification tasks, one in each group
        y[:, :2] = np.where(np.isnan(y[:, :2]), np.nan, (y[:, :2] > 0).astype(float))
        estimator = MaskedMultiTaskEstimator(**SMALL, task_types=["classification"] * 2 + ["regression"] * 4)
    affinity = task_affinity(estimator, X, y, every=2)
    within, between = _within_and_between(affinity)
    assert within > between and within > 0
    assert group_tasks(affinity, 2) == TRUE_GROUPS


def _noisy_copies(n_rows=4000, seed=0):
    """Six binary tasks in two hidden groups, interleaved: each task is a noisy copy of its group's
    concept (the sign of a direction of X, tilted a little per task); half the labels missing."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, 20))
    directions = rng.normal(size=(2, 20))
    columns = [np.tanh(X @ (directions[task % 2] + 0.2 * rng.normal(size=20))) for task in range(6)]
    y = (np.column_stack(columns) + 0.3 * rng.normal(size=(n_rows, 6)) > 0).astype(float)
    y[rng.rand(n_rows, 6) < 0.5] = np.nan
    return X, y


@pytest.fixture(scope="module")
def noisy_copies():
    return _noisy_copies()


def test_affinity_finds_the_hidden_groups_with_the_estimators_defaults(noisy_copies):
    X, y = noisy_copies
    affinity = task_affinity(MaskedMultiTaskClassifier(hidden_layer_sizes=(32,), max_iter=15, random_state=0), X, y)
    within, between = _within_and_between(affinity)
    assert within > between and within > 0
    assert group_tasks(affinity, 2) == TRUE_GROUPS


def test_training_as_the_estimator_would_hides_the_groups_the_lookahead_settings_find(noisy_copies):
    """Why task_affinity trains with settings of its own: the defaults' decaying 4e-3 rate and heavier L2
    converge within a few epochs, where the gradients of related tasks cancel rather than align."""
    X, y = noisy_copies
    estimator = MaskedMultiTaskClassifier(hidden_layer_sizes=(32,), max_iter=15, random_state=0)
    within, between = _within_and_between(task_affinity(estimator, X, y, every=2, training_params={}))
    assert within < between


def test_task_affinity_rejects_bad_parameters():
    X, y = _two_groups(n_rows=100)
    estimator = MaskedMultiTaskRegressor(**SMALL)
    with pytest.raises(ValueError, match="every must be an integer of at least 1; got 0"):
        task_affinity(estimator, X, y, every=0)
    with pytest.raises(ValueError, match="lookahead_lr must be None or a positive float; got -0.1"):
        task_affinity(estimator, X, y, lookahead_lr=-0.1)
    with pytest.raises(TypeError, match="training_params must be a dict or None; got list"):
        task_affinity(estimator, X, y, training_params=[("alpha", 0.0)])
    with pytest.raises(ValueError, match="does not take: \\['learning_rate'\\]"):
        task_affinity(estimator, X, y, training_params={"learning_rate": 0.1})


def test_a_pair_that_never_shares_a_batch_has_no_affinity():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    y = np.full((60, 3), np.nan)
    y[:30, 0] = X[:30, 0]
    y[30:, 1] = X[30:, 1]
    y[:, 2] = X[:, 2]
    callback = TaskAffinity()
    params = dict(SMALL, max_iter=2, batch_size=1, callbacks=[("affinity", callback)])
    fitted = dict(MaskedMultiTaskRegressor(**params).fit(X, y).net_.callbacks_)["affinity"]
    assert np.isnan(fitted.affinity_[0, 1]) and np.isnan(fitted.affinity_[1, 0])
    assert fitted.n_steps_[0, 2] == 60 and fitted.n_steps_[2, 2] == 120 and np.isfinite(fitted.affinity_[0, 2])


def test_without_shared_layers_there_is_no_affinity():
    X, y = _two_groups(n_rows=200)
    estimator = MaskedMultiTaskRegressor(**{**SMALL, "hidden_layer_sizes": (8, 8)}, n_shared_layers=0)
    assert np.isnan(task_affinity(estimator, X, y, every=4)).all()


def test_group_tasks_heuristic_recovers_planted_groups_beyond_exact_search():
    rng = np.random.RandomState(0)
    labels = np.arange(14) % 3
    affinity = np.where(np.equal.outer(labels, labels), 1.0, -0.5) + 0.2 * rng.normal(size=(14, 14))
    groups = group_tasks(affinity, 3, max_exact=1000)
    assert groups == [list(range(0, 14, 3)), list(range(1, 14, 3)), list(range(2, 14, 3))]
    assert group_tasks(affinity[:6, :6], 2) == group_tasks(affinity[:6, :6], 2, max_exact=0)


@pytest.mark.parametrize(
    "affinity, n_groups, match",
    [
        (np.zeros((3, 2)), 2, "square"),
        (np.zeros((3, 3)), 4, "n_groups must be between 1 and the number of tasks \\(3\\)"),
        (np.zeros((3, 3)), 0, "n_groups must be between 1"),
    ],
)
def test_group_tasks_rejects_bad_input(affinity, n_groups, match):
    with pytest.raises(ValueError, match=match):
        group_tasks(affinity, n_groups)


def test_display_draws_the_heatmap_with_task_names_in_group_order():
    X, y = _two_groups(n_rows=400)
    frame = pd.DataFrame(y, columns=[f"t{task}" for task in range(6)])
    display = TaskAffinityDisplay.from_estimator(MaskedMultiTaskRegressor(**SMALL), X, frame, n_groups=2, every=4)
    assert display.groups == TRUE_GROUPS
    assert [label.get_text() for label in display.ax_.get_xticklabels()] == ["t0", "t2", "t4", "t1", "t3", "t5"]
    assert display.figure_ is display.ax_.figure and display.im_.get_array().shape == (6, 6)
    names = list("abcdef")
    named = TaskAffinityDisplay.from_estimator(MaskedMultiTaskRegressor(**SMALL), X, y, task_names=names, every=4)
    assert [label.get_text() for label in named.ax_.get_yticklabels()] == names
    with pytest.raises(ValueError, match="task_names has 2 names but the affinity has 6 tasks"):
        TaskAffinityDisplay(display.affinity, task_names=["a", "b"]).plot()


def test_the_lookahead_step_is_bounded_where_past_gradients_were_near_zero():
    """Adam's step on one gradient, without momentum: each coordinate at most sqrt((1 - beta2^(t+1)) / (1 - beta2))
    times the learning rate, even for a weight whose past gradients were all near zero (dividing by their mean alone
    made the example's lookahead steps thousands of times too large and its groups wrong)."""
    from sklearn_mtl.inspection._affinity import _adam_direction

    gradient = torch.tensor([1e-2, 1.0, -3.0])
    past_squares = torch.tensor([1e-4, 1e-16, 0.0])
    direction = _adam_direction(gradient, (past_squares, 100.0, 0.999, 1e-8))
    bound = np.sqrt((1 - 0.999**101) / (1 - 0.999))
    assert torch.all(direction.abs() <= bound + 1e-6) and torch.all(torch.sign(direction) == torch.sign(gradient))
    np.testing.assert_allclose(_adam_direction(gradient, None), gradient)
