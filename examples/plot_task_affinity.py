"""
Which tasks should be learned together?
=======================================

One network for all tasks helps the tasks that have something in common and can hurt those that
have not: a task whose gradients pull the shared layers away from what another task needs is
better trained elsewhere. With many tasks, trying every grouping is out of the question, but the
training of one network can tell which tasks help each other.

:func:`~sklearn_mtl.inspection.task_affinity` measures the *inter-task affinity* of Fifty et al.
(2021) while it trains a clone of an estimator: every ``every``-th step, it takes a lookahead
step of the shared layers on the loss of task :math:`i` alone and sees how the loss of every task
:math:`j` changes,

.. math:: Z_{i \\to j} = 1 - \\frac{L_j(\\text{after a step on } i)}{L_j(\\text{before})},

positive when a step for :math:`i` lowers :math:`j`'s loss. ``affinity[i, j]`` is the mean over
the measured steps. :func:`~sklearn_mtl.inspection.group_tasks` splits the tasks into groups with
the most affinity within, and :class:`~sklearn_mtl.inspection.TaskAffinityDisplay` shows the
matrix as a heatmap, tasks ordered by group.

This example checks the method on generated data whose groups are known, then applies it to the
12 assays of Tox21 and asks whether one model per group beats one model for all.
"""

# %%
# Nine tasks in three hidden groups
# ---------------------------------
#
# Each row has 50 standardized features. Three orthogonal directions :math:`d_0, d_1, d_2` of the
# feature space define three groups of tasks; task :math:`t` belongs to group :math:`t \bmod 3`
# (the groups are interleaved, so the column order gives nothing away) and its target is
# :math:`|x \cdot w_t|` plus noise, where :math:`w_t` is its group's direction tilted a little at
# random. The tasks of a group need the same non-linear feature of the data; tasks of different
# groups need unrelated ones. 40% of the labels are missing, at random.

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import ConvergenceWarning

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskRegressor
from sklearn_mtl.datasets import load_tox21
from sklearn_mtl.inspection import TaskAffinityDisplay, group_tasks, task_affinity
from sklearn_mtl.metrics import masked_r2_score, masked_roc_auc_score

torch.set_num_threads(1)  # small networks are fastest, and most predictable, on one thread

# The networks here train for a fixed, small number of epochs and warn that they have not
# converged; that is the budget this example chose, not a problem to report on every fit.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

N_TASKS, N_GROUPS, N_FEATURES, N_TRAIN, N_TEST = 9, 3, 50, 600, 2000
rng = np.random.RandomState(0)
directions = np.linalg.qr(rng.normal(size=(N_FEATURES, N_GROUPS)))[0].T  # orthonormal rows
true_group = np.arange(N_TASKS) % N_GROUPS
weights = directions[true_group] + 0.3 * rng.normal(size=(N_TASKS, N_FEATURES)) / np.sqrt(N_FEATURES)
X_syn = rng.normal(size=(N_TRAIN + N_TEST, N_FEATURES)).astype(np.float32)
y_syn = np.abs(X_syn @ weights.T) + 0.2 * rng.normal(size=(N_TRAIN + N_TEST, N_TASKS))
y_syn[rng.uniform(size=y_syn.shape) < 0.4] = np.nan
syn_tasks = [f"task {t}" for t in range(N_TASKS)]
y_syn = pd.DataFrame(y_syn, columns=syn_tasks)
syn_train, syn_test = np.arange(N_TRAIN), np.arange(N_TRAIN, N_TRAIN + N_TEST)
true_groups = [np.flatnonzero(true_group == g).tolist() for g in range(N_GROUPS)]
print(f"{N_TRAIN} rows to train, {N_TEST} to test, {N_FEATURES} features, {N_TASKS} tasks")
print(f"true groups: {true_groups}")
print(f"observed training labels per task: {y_syn.iloc[syn_train].notna().sum().to_dict()}")

# %%
# The affinity
# ------------
#
# A small network, two shared hidden layers of 32 and 16 units, trained for a few epochs; the
# affinity is measured on every second step. The lookahead step is the one Adam would take on a
# single task's gradient (each parameter's gradient scaled by Adam's running estimate of its
# size), so it is as large as a training step whatever the scale of the losses.
#
# The clone keeps the estimator's network, batch size and epochs but trains with the affinity's
# own settings (a small constant learning rate of 5e-4, no dropout, a light L2 penalty; see
# ``training_params``): the affinity tells related tasks apart while the shared layers are still
# learning, and a larger or decaying rate (this network's 3e-3, or the defaults' cosine schedule)
# would bring the run near its end, where the tasks' gradients cancel, within a few epochs.

syn_network = dict(
    hidden_layer_sizes=(32, 16), learning_rate_init=3e-3, batch_size=64, early_stopping=False, random_state=0
)
start = time.perf_counter()
syn_affinity = task_affinity(
    MaskedMultiTaskRegressor(**syn_network, max_iter=30),
    X_syn[syn_train],
    y_syn.iloc[syn_train],
    every=2,
)
print(f"affinity measured in {time.perf_counter() - start:.1f} s")
print(pd.DataFrame(syn_affinity, index=syn_tasks, columns=syn_tasks).round(3).to_string())

# %%
# The heatmap shows the tasks group after group (the groups that
# :func:`~sklearn_mtl.inspection.group_tasks` finds): row :math:`i` is the task that takes the
# step, column :math:`j` the task whose loss is measured. The diagonal is each task's own
# progress.

display = TaskAffinityDisplay.from_affinity(syn_affinity, task_names=syn_tasks, n_groups=N_GROUPS)
_ = display.ax_.set_title("Generated data: affinity, tasks ordered by group")

found_groups = group_tasks(syn_affinity, N_GROUPS)
print(f"groups found: {found_groups}")
print(f"true groups:  {true_groups}")
print(f"the same partition: {sorted(map(sorted, found_groups)) == sorted(map(sorted, true_groups))}")

# %%
# Does grouping pay?
# ------------------
#
# Three ways to train the nine tasks, all with the same network (two hidden layers of 32 and 16
# units), learning rate and 200 epochs:
#
# (a) *one model for all*: one estimator, both hidden layers shared by all tasks;
#
# (b) *one model per group*: one estimator per found group, fitted on that group's columns only;
#
# (c) *one model per task*: one estimator with ``n_shared_layers=0``, which trains a private
# network for every task.
#
# Each is scored by the test :math:`R^2` of every task, on its labelled test rows.


def fit_predict(make_model, X, y, train, test, groups):
    """Fit one model per group of columns on the training rows; their predictions on the test rows."""
    predictions = np.empty((len(test), y.shape[1]))
    for group in groups:
        model = make_model().fit(X[train], y.iloc[train, group])
        predictions[:, group] = model.predict(X[test]).reshape(len(test), len(group))
    return predictions


syn_all = list(range(N_TASKS))
syn_designs = {
    "(a) one for all": (lambda: MaskedMultiTaskRegressor(**syn_network, max_iter=200), [syn_all]),
    "(b) one per group": (lambda: MaskedMultiTaskRegressor(**syn_network, max_iter=200), found_groups),
    "(c) one per task": (
        lambda: MaskedMultiTaskRegressor(**syn_network, max_iter=200, n_shared_layers=0),
        [syn_all],
    ),
}
syn_scores = {}
for name, (make_model, groups) in syn_designs.items():
    start = time.perf_counter()
    predictions = fit_predict(make_model, X_syn, y_syn, syn_train, syn_test, groups)
    syn_scores[name] = masked_r2_score(y_syn.iloc[syn_test], predictions, average=None)
    print(f"{name}: fitted in {time.perf_counter() - start:.1f} s")
syn_table = pd.DataFrame(syn_scores, index=syn_tasks)
syn_table.loc["mean"] = syn_table.mean()
print("test R^2")
print(syn_table.round(3).to_string())

# %%
# Compare the columns. One model per task learns each task from its own labels only; one model
# per group pools the labels of the tasks that need the same feature; one model for all pools
# every label, and its shared layers have to serve three unrelated features at once.

# %%
# Tox21
# -----
#
# Tox21 (:func:`~sklearn_mtl.datasets.load_tox21`) has 12 binary toxicity assays, 2048-bit Morgan
# fingerprints, and 17% of the labels missing. Which assays belong together is not known here.
#
# **Reduced settings for the documentation build.** This page is built on a two-core CI machine
# within a few minutes, so everything is small: a random 4000 of the 7831 molecules, two hidden
# layers of 64 and 32 units, 15 epochs at a learning rate of 3e-3, the same for every model
# compared. The affinity is measured on every fifth training step. The figures below are what
# these small networks do on this split; rerun the example with more rows, wider layers and more
# epochs before drawing conclusions.
#
# A random 20% of the molecules is set aside as the test part before anything else.

tox21 = load_tox21(as_frame=True)
rows = np.random.RandomState(0).permutation(len(tox21.target))[:6000]
X = tox21.data.to_numpy(dtype=np.float32)[rows]
y = tox21.target.iloc[rows].reset_index(drop=True)
tasks = list(y.columns)
n_test = len(X) // 5
test, train = np.arange(n_test), np.arange(n_test, len(X))  # the rows are in random order already
print(f"{len(train)} molecules to train, {len(test)} to test, {len(tasks)} tasks; positives per task in the test part:")
print(y.iloc[test].sum().astype(int).to_frame("positives").T.to_string())

network = dict(hidden_layer_sizes=(64, 32), learning_rate_init=3e-3, max_iter=20, early_stopping=False, random_state=0)

# %%
# The affinity of the 12 assays, and three groups. It is the pattern of the matrix that the groups
# come from. Look for blocks: pairs whose affinity stands out from the rest of their rows, both
# ways.

start = time.perf_counter()
tox_display = TaskAffinityDisplay.from_estimator(
    MaskedMultiTaskClassifier(**network), X[train], y.iloc[train], n_groups=3, every=5
)
print(f"affinity measured in {time.perf_counter() - start:.1f} s")
print(pd.DataFrame(tox_display.affinity, index=tasks, columns=tasks).round(3).to_string())
_ = tox_display.ax_.set_title("Tox21: affinity, tasks ordered by group")
tox_groups = tox_display.groups
for number, group in enumerate(tox_groups):
    print(f"group {number}: {[tasks[t] for t in group]}")

# %%
# One model per group against one for all
# ---------------------------------------
#
# The same three designs as above, scored by the test ROC-AUC of each assay on its labelled test
# molecules.


def fit_proba(make_model, groups):
    """Fit one classifier per group of assays; P(active) of every assay on the test molecules."""
    probabilities = [None] * len(tasks)
    for group in groups:
        model = make_model().fit(X[train], y.iloc[train, group])
        proba = model.predict_proba(X[test])
        proba = proba if isinstance(proba, list) else [proba]
        for task, task_proba in zip(group, proba, strict=True):
            probabilities[task] = task_proba
    return probabilities


all_tasks = list(range(len(tasks)))
tox_designs = {
    "(a) one for all": (lambda: MaskedMultiTaskClassifier(**network), [all_tasks]),
    "(b) one per group": (lambda: MaskedMultiTaskClassifier(**network), tox_groups),
    "(c) one per task": (lambda: MaskedMultiTaskClassifier(**network, n_shared_layers=0), [all_tasks]),
}
tox_scores = {}
for name, (make_model, groups) in tox_designs.items():
    start = time.perf_counter()
    tox_scores[name] = masked_roc_auc_score(y.iloc[test], fit_proba(make_model, groups), average=None)
    print(f"{name}: fitted in {time.perf_counter() - start:.1f} s")
tox_table = pd.DataFrame(tox_scores, index=tasks)
tox_table.loc["mean"] = tox_table.mean()
group_of = {tasks[t]: str(number) for number, group in enumerate(tox_groups) for t in group}
tox_table.insert(0, "group", tox_table.index.map(group_of).fillna(""))
print("test ROC-AUC")
print(tox_table.round(3).to_string())

# %%
# Compare the mean row first, then the rows of each group. On the generated data the groups were
# real and disjoint; on Tox21 the assays overlap in what they measure (several are nuclear
# receptor assays, several stress responses), the affinity is a noisy estimate from a short run,
# and the test part holds only a few dozen positives for several assays (counted at the top of this
# section), so a difference of a few hundredths in one assay's ROC-AUC means little. Grouping pays
# when the affinity shows clear blocks; when it does not, one model for all is the simpler choice
# and may well be the better one.

plt.show()
