"""
Three tasks, half of the labels missing
=======================================

Multi-task data often comes with holes: each row was labelled for some tasks and not for
others. :class:`~sklearn_mtl.MaskedMultiTaskClassifier` trains one network on every row and
leaves the missing labels out of the loss. This example compares it with what one would do with
:class:`~sklearn.neural_network.MLPClassifier` alone:

1. keep only the rows where every label is observed (one multi-label network),
2. fill the missing labels with 0 (one multi-label network on every row),
3. fit one network per task, each on the rows where that task is observed.

All networks have the same hidden layers, batch size, number of epochs and random state.
"""

# %%
# The data
# --------
#
# Two features drawn uniformly in the unit square and three binary tasks with simple, known
# boundaries: task 0 is ``x1 <= 0.5``, task 1 is ``x0 >= 0.5`` and task 2 is ``x0 + x1 > 1``.
# Each of the training labels is missing with probability one half, independently of the
# others and of ``X`` (missing completely at random); a missing label is ``np.nan``. The test
# set has every label.

import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from sklearn_mtl import MaskedMultiTaskClassifier

# Networks this small gain nothing from several threads, and on a busy machine extra threads
# can slow them down many times: one thread for every model, so that fit times compare fairly.
torch.set_num_threads(1)
threadpool_limits(1)

N_TRAIN, N_TEST = 100_000, 20_000
TASKS = ["x1 <= 0.5", "x0 >= 0.5", "x0 + x1 > 1"]


def make_tasks(n_samples, rng):
    X = rng.uniform(size=(n_samples, 2))
    y = np.column_stack([X[:, 1] <= 0.5, X[:, 0] >= 0.5, X[:, 0] + X[:, 1] > 1]).astype(np.float64)
    return X, y


rng = np.random.RandomState(0)
X_train, y_complete = make_tasks(N_TRAIN, rng)
X_test, y_test = make_tasks(N_TEST, rng)
y_train = y_complete.copy()
y_train[rng.uniform(size=y_train.shape) < 0.5] = np.nan

observed = ~np.isnan(y_train)
all_observed = observed.all(axis=1)
print(f"training rows: {N_TRAIN}, labels observed per task: {observed.sum(axis=0)}")
print(f"rows with all {len(TASKS)} labels observed: {all_observed.sum()}")

# %%
# The models
# ----------
#
# Every network has two hidden layers of 32 ReLU units and is trained with Adam for a fixed
# number of epochs: ``n_iter_no_change`` is as large as ``max_iter`` so that no model stops
# early, and the resulting :class:`~sklearn.exceptions.ConvergenceWarning` is silenced.

EPOCHS = 20
shared = dict(hidden_layer_sizes=(32, 32), batch_size=256, max_iter=EPOCHS, n_iter_no_change=EPOCHS, random_state=0)


def timed_fit(make_model, X, y):
    """Fit a new model and return it with the seconds the fit took."""
    model = make_model()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model, time.perf_counter() - start


def accuracies(y_pred):
    """Accuracy of each task on the (complete) test labels."""
    return (y_pred == y_test).mean(axis=0)


results = {}

masked, seconds = timed_fit(lambda: MaskedMultiTaskClassifier(**shared), X_train, y_train)
results["masked multi-task, all rows"] = (accuracies(masked.predict(X_test)), seconds)

model, seconds = timed_fit(lambda: MLPClassifier(**shared), X_train[all_observed], y_train[all_observed])
results["MLP, complete rows only"] = (accuracies(model.predict(X_test)), seconds)

model, seconds = timed_fit(lambda: MLPClassifier(**shared), X_train, np.where(observed, y_train, 0.0))
results["MLP, missing filled with 0"] = (accuracies(model.predict(X_test)), seconds)

per_task_predictions, per_task_seconds = [], 0.0
for task in range(len(TASKS)):
    rows = observed[:, task]
    model, seconds = timed_fit(lambda: MLPClassifier(**shared), X_train[rows], y_train[rows, task])
    per_task_predictions.append(model.predict(X_test))
    per_task_seconds += seconds
results["one MLP per task, its rows"] = (accuracies(np.column_stack(per_task_predictions)), per_task_seconds)

# %%
# Test accuracy
# -------------
#
# Accuracy of each task on the held-out test set, their mean, and the time spent fitting
# (summed over the three networks for the one-per-task approach).

header = f"{'method':<30}" + "".join(f"{f'task {t}':>9}" for t in range(len(TASKS))) + f"{'mean':>9}{'fit s':>8}"
print(header)
print("-" * len(header))
for method, (task_accuracy, seconds) in results.items():
    cells = "".join(f"{accuracy:9.4f}" for accuracy in task_accuracy)
    print(f"{method:<30}{cells}{task_accuracy.mean():9.4f}{seconds:8.1f}")

# %%
# Filling the missing labels with 0 is not a neutral choice: it turns half of the positive
# labels into negatives, so inside each task's positive region the network is taught that a
# row is positive with probability one half, and whether such a row is predicted positive
# depends on which side of 0.5 the network happens to land. The table shows how much accuracy
# that bias costs. Dropping the incomplete rows avoids the bias but keeps only about one row in
# eight (a row has all three labels with probability 1/8), so with the same number of epochs
# it also makes about eight times fewer updates, and the waste grows with the number of tasks.
# The boundaries here are simple enough that the remaining rows still go a long way: compare
# its accuracy with the masked model's in the table rather than expecting a large gap. One
# network per task uses every observed label too, but it needs one model (and one fit) per
# task and the tasks share nothing. The masked model uses every observed label in a single
# network.
#
# The fit times are wall-clock seconds from a single run, and depend on the machine and its
# load. The masked model trains with PyTorch through skorch, the baselines with scikit-learn's
# NumPy implementation; for a network this small, PyTorch's fixed cost per mini-batch is a
# large part of the time, and it weighs less as networks and batches grow.

# %%
# What the masked model learned
# -----------------------------
#
# The predicted probability of the positive class of each task over the unit square, the
# model's decision boundary (probability 0.5, solid) and the true boundary (dashed).

grid = np.linspace(0, 1, 201)
x0, x1 = np.meshgrid(grid, grid)
probabilities = masked.predict_proba(np.column_stack([x0.ravel(), x1.ravel()]))
true_boundaries = [([0, 1], [0.5, 0.5]), ([0.5, 0.5], [0, 1]), ([0, 1], [1, 0])]

fig, axes = plt.subplots(1, len(TASKS), figsize=(12, 4.2), sharey=True, layout="constrained")
for task, ax in enumerate(axes):
    positive = probabilities[task][:, list(masked.classes_[task]).index(1.0)].reshape(x0.shape)
    image = ax.contourf(x0, x1, positive, levels=np.linspace(0, 1, 11), cmap="RdBu_r", vmin=0, vmax=1)
    ax.contour(x0, x1, positive, levels=[0.5], colors="k", linewidths=1.5)
    ax.plot([], [], color="k", linewidth=1.5, label="model, P = 0.5")
    ax.plot(*true_boundaries[task], "--", color="gold", linewidth=2, label="true boundary")
    ax.set(title=f"task {task}: {TASKS[task]}", xlabel="x0", xlim=(0, 1), ylim=(0, 1), aspect="equal")
axes[0].set_ylabel("x1")
axes[0].legend(loc="lower left")
fig.colorbar(image, ax=axes, label="predicted P(y = 1)", shrink=0.9)

figure_path = Path("missing_labels_decision_boundaries.png").resolve()
fig.savefig(figure_path, dpi=100)
print(f"figure saved to {figure_path}")
