"""
Tox21: one network for twelve toxicity assays
=============================================

Tox21 is the classic multi-task benchmark with missing labels: 7831 molecules, 12 binary assays,
and 17% of the labels missing because not every molecule was tested in every assay. The package
ships it with precomputed Morgan fingerprints (:func:`~sklearn_mtl.datasets.load_tox21`).

This example compares a :class:`~sklearn_mtl.MaskedMultiTaskClassifier`, one network for all 12
assays trained on the observed labels only, with the usual per-task baselines, a logistic
regression and a random forest per assay, each trained on the molecules labelled for it. The
metric is MoleculeNet's: the test ROC-AUC of each task on a random 80/10/10 split, averaged over
tasks.
"""

# %%
# The data and the split
# ----------------------
#
# ``data`` holds 2048 fingerprint bits per molecule (0 or 1), ``target`` the 12 labels with NaN
# where a molecule was not tested. The split is random: 80% to train, 10% to validate (choosing
# the logistic regression's ``C``, early stopping for the network), 10% to test.

import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
import torch
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from sklearn_mtl import MaskedMultiTaskClassifier
from sklearn_mtl.datasets import load_tox21
from sklearn_mtl.metrics import masked_roc_auc_score

torch.set_num_threads(1)  # see the getting-started page: one thread is fastest on a busy CPU

tox21 = load_tox21()
X, y, tasks = tox21.data.astype(np.float32), tox21.target, tox21.target_names
print(f"{X.shape[0]} molecules, {X.shape[1]} features, {len(tasks)} tasks, {np.isnan(y).mean():.1%} labels missing")

order = np.random.RandomState(0).permutation(len(X))
n_train, n_valid = int(0.8 * len(X)), int(0.1 * len(X))
train, valid, test = np.split(order, [n_train, n_train + n_valid])


def per_task_probabilities(make_model, X_fit, rows):
    """Fit one model per task on the rows where its label is observed; P(active) on X[test]."""
    columns = []
    for task in range(len(tasks)):
        labelled = rows[~np.isnan(y[rows, task])]
        model = make_model().fit(X_fit[labelled], y[labelled, task])
        columns.append(model.predict_proba(X_fit[test]))
    return columns


results, seconds = {}, {}

# %%
# Per-task baselines
# ------------------
#
# The logistic regression's ``C`` is picked on the validation molecules among three values, then
# the model is refitted on the training molecules. The random forest (100 trees) uses its
# defaults; trees are several times faster on a sparse matrix of fingerprints.

start = time.perf_counter()
validation_auc = {}
for C in [0.03, 0.1, 0.3]:
    columns = []
    for task in range(len(tasks)):
        labelled = train[~np.isnan(y[train, task])]
        model = LogisticRegression(C=C, max_iter=1000).fit(X[labelled], y[labelled, task])
        columns.append(model.predict_proba(X[valid]))
    validation_auc[C] = masked_roc_auc_score(y[valid], columns)
best_C = max(validation_auc, key=validation_auc.get)
results["logistic regression"] = per_task_probabilities(lambda: LogisticRegression(C=best_C, max_iter=1000), X, train)
seconds["logistic regression"] = time.perf_counter() - start
print(f"logistic regression: C={best_C} (validation ROC-AUC {validation_auc[best_C]:.3f})")

start = time.perf_counter()
results["random forest"] = per_task_probabilities(
    lambda: RandomForestClassifier(n_estimators=100, random_state=0), sp.csr_matrix(X), train
)
seconds["random forest"] = time.perf_counter() - start

# %%
# The masked multi-task network
# -----------------------------
#
# The network runs with its defaults (see the user guide's "Defaults"): one hidden layer of 1024
# units shared by the 12 assays, a strong L2 penalty, dropout 0.5 after the layer and 0.2 on the
# 2048 input bits, read through a first layer that touches their non-zeros only. Its learning
# rate follows a cosine from 4e-3 to 0 over about 1500 steps (``learning_rate_schedule``,
# ``max_iter="auto"``), so it needs no validation split to know when to stop: it is fitted on the
# training and validation molecules together. None of its settings was chosen on this test split.

start = time.perf_counter()
network = MaskedMultiTaskClassifier(random_state=0)
network.fit(X[np.concatenate([train, valid])], y[np.concatenate([train, valid])])
results["masked multi-task network"] = network.predict_proba(X[test])
seconds["masked multi-task network"] = time.perf_counter() - start
print(f"network: {network.n_iter_} epochs in {seconds['masked multi-task network']:.1f} s")

# %%
# Test ROC-AUC per assay
# ----------------------
#
# :func:`~sklearn_mtl.metrics.masked_roc_auc_score` scores each assay on the test molecules that
# were tested in it; ``average=None`` keeps one score per assay.

MOLECULENET_BEST = 0.829  # graph convolution, random split (Wu et al., 2018)
scores = {name: masked_roc_auc_score(y[test], proba, average=None) for name, proba in results.items()}
for name, task_scores in scores.items():
    print(f"{name:<27} mean test ROC-AUC {task_scores.mean():.3f}   fit {seconds[name]:5.1f} s")

fig, (ax_tasks, ax_mean) = plt.subplots(
    1, 2, figsize=(12, 4.8), layout="constrained", gridspec_kw={"width_ratios": [4, 1]}, sharey=True
)
width = 0.8 / len(scores)
for k, (name, task_scores) in enumerate(scores.items()):
    ax_tasks.bar(np.arange(len(tasks)) + (k - 1) * width, task_scores, width, label=name)
    ax_mean.bar(k, task_scores.mean(), color=f"C{k}")
    ax_mean.text(k, task_scores.mean() + 0.005, f"{task_scores.mean():.3f}", ha="center", va="bottom")
ax_tasks.set_xticks(range(len(tasks)), tasks, rotation=45, ha="right")
ax_tasks.set(ylim=(0.5, 1.05), ylabel="test ROC-AUC", title="Per assay")
ax_tasks.legend(loc="upper center", ncol=3, fontsize=9)
ax_mean.axhline(MOLECULENET_BEST, color="k", linestyle="--", linewidth=1, label=f"MoleculeNet best {MOLECULENET_BEST}")
ax_mean.legend(loc="lower center", fontsize=8)
ax_mean.set_xticks(range(len(scores)), ["LR", "RF", "masked"])
ax_mean.set(title="Mean over assays")

# %%
# Reading the figures
# -------------------
#
# The right panel compares the mean test ROC-AUC of the three models with the best model of the
# MoleculeNet benchmark (a graph convolution network, 0.829 on a random split; chemprop's D-MPNN
# reaches 0.851). The printed table above gives the figures of this run; the benchmark in
# ``benchmarks/bench_real_data.py`` (another split, 90/10) and the user guide's "Defaults" give
# the same comparison on four more data sets. A fingerprint network is not expected to reach a
# graph network's 0.851: graph networks learn their own molecular features, while every model
# here reads the same fixed fingerprint bits.
#
# Keep two caveats in mind before reading much into differences of 0.01:
#
# - the test set has 783 molecules, and some assays only a few dozen positives in it, so a single
#   random split moves per-assay scores by several hundredths (MoleculeNet averages three splits);
# - the defaults were chosen on validation splits of training data, Tox21's among them (never on
#   its test part); a data set that played no part in choosing them is the fairer test.
#
# The differences are not spread evenly over the assays: no model wins every assay, and the
# per-task baselines beat the network on some of them. What the shared network offers is a single
# model, trained once on every observed label, that does at least as well as the best per-task
# baseline on average.
