"""
A rare task learns from related common tasks
============================================

Often one task of interest has few labels (an expensive assay, a new product category) while
related tasks have many. A single-task model of the rare task sees only its own few labels; a
multi-task network trained with the masked loss learns a shared representation from the labels of
every task, and the rare task's head only has to read it out.

This example measures the rare task's test ROC-AUC as its number of labels grows, for a single-task
network and for the same network shared with four well-labelled tasks.
"""

# %%
# The data
# --------
#
# :func:`~sklearn_mtl.datasets.make_multitask_classification` draws five binary tasks that depend
# on the same two directions of ``X`` (``task_relatedness=0.9``: 90% of each task's signal is
# shared, 10% is its own). Tasks 0 to 3 are labelled on every training row; task 4, the rare task,
# on a random subset of ``n_rare`` rows only, and its other labels are NaN. The test set keeps
# every label.

import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score

from sklearn_mtl import MaskedMultiTaskClassifier
from sklearn_mtl.datasets import make_multitask_classification

torch.set_num_threads(1)  # small networks are fastest, and most predictable, on one thread

N_TRAIN, RARE = 1500, 4
X, _, y = make_multitask_classification(
    n_samples=N_TRAIN + 2000, n_features=20, n_tasks=5, task_relatedness=0.9, return_complete=True, random_state=0
)
X_train, y_train, X_test, y_test = X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]
print("correlation of the tasks' labels:")
print(np.round(np.corrcoef(y.T), 2))

# %%
# The models
# ----------
#
# Both models are the same network, one hidden layer of 64 units with the same regularization;
# they differ only in what they are trained on. The single-task model is fitted on the ``n_rare``
# labelled rows of the rare task (a one-dimensional ``y``), for up to 300 epochs since it has few
# rows per epoch. The multi-task model is fitted on every training row with all five tasks, the
# rare task's unlabelled rows marked NaN, for up to 60 epochs. Some fits reach their epoch limit
# before the training loss settles; the :class:`~sklearn.exceptions.ConvergenceWarning` this
# raises is silenced. Each point is the mean over two random draws of the labelled rows.

network = dict(hidden_layer_sizes=(64,), alpha=1e-3, batch_size=128)
label_counts = [10, 30, 100, 300, 1000]
seeds = [0, 1]


def rare_task_auc(model):
    proba = model.predict_proba(X_test)
    positive = proba[:, 1] if isinstance(proba, np.ndarray) else proba[RARE][:, 1]
    return roc_auc_score(y_test[:, RARE], positive)


scores = {name: np.zeros((len(label_counts), len(seeds))) for name in ["single-task", "multi-task"]}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for i, n_rare in enumerate(label_counts):
        for j, seed in enumerate(seeds):
            labelled = np.random.RandomState(seed).choice(N_TRAIN, size=n_rare, replace=False)
            single = MaskedMultiTaskClassifier(**network, max_iter=300, random_state=seed)
            single.fit(X_train[labelled], y_train[labelled, RARE])
            scores["single-task"][i, j] = rare_task_auc(single)

            y_masked = y_train.copy()
            y_masked[:, RARE] = np.nan
            y_masked[labelled, RARE] = y_train[labelled, RARE]
            multi = MaskedMultiTaskClassifier(**network, max_iter=60, random_state=seed)
            multi.fit(X_train, y_masked)
            scores["multi-task"][i, j] = rare_task_auc(multi)
        print(
            f"n_rare={n_rare:5d}  single-task AUC {scores['single-task'][i].mean():.3f}"
            f"  multi-task AUC {scores['multi-task'][i].mean():.3f}"
        )

# %%
# The rare task's test ROC-AUC
# ----------------------------

fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
for name, marker in [("single-task", "o"), ("multi-task", "s")]:
    mean, spread = scores[name].mean(axis=1), scores[name].std(axis=1)
    ax.errorbar(label_counts, mean, yerr=spread, marker=marker, capsize=3, label=name)
ax.set(
    xscale="log",
    xlabel="labels of the rare task (training rows: 1500)",
    ylabel="rare task test ROC-AUC",
    title="A rare task borrows from four related tasks",
)
ax.legend()
ax.grid(alpha=0.3)

# %%
# With a handful of labels, the single-task network has to find the relevant directions among 20
# features from its few examples, and it does so poorly. The multi-task network learns those
# directions from the 1500 labels of each common task; the rare task's few labels only have to
# set its own output weights, so it is far better from the start. As the rare task gathers labels,
# the single-task model catches up: the benefit of sharing is largest where labels are scarcest.
#
# The benefit rests on the tasks being related. With ``task_relatedness=0`` the common tasks would
# teach the trunk nothing about the rare one, and sharing the trunk could even hurt it (see the
# user guide's section on when multi-task learning helps).
