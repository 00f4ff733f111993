"""
One model per task, or one for all?
===================================

A multi-task network shares its hidden layers among all tasks: each task's labels shape features
that the other tasks read too. That helps when the tasks are related and labels are few, and it
hurts when a task needs features of its own that the others crowd out. Whether it helps on a
given data set is a question for validation data, not for a rule of thumb.

``n_shared_layers`` makes it a hyperparameter. With ``hidden_layer_sizes=(64, 32)``:

- ``n_shared_layers=None`` (the default) or ``2`` shares both layers: *one model for all* tasks,
  each with its own output head only;
- ``n_shared_layers=1`` shares the first layer; each task has a private second layer (a *tower*);
- ``n_shared_layers=0`` shares nothing: *one model per task*, an independent network for each
  task, all trained together in one estimator (the towers are computed with one batched matrix
  product per layer, not a loop over tasks). A task's fit then does not depend on the other
  tasks' labels.

This example searches over it on Tox21, keeps each task at its own best epoch
(``per_task_stopping``), adds a task to a fitted model
(:meth:`~sklearn_mtl.MaskedMultiTaskClassifier.add_tasks`), and repeats the comparison on the 27
side-effect tasks of SIDER.
"""

# %%
# Tox21: the data and the split
# -----------------------------
#
# Tox21 (:func:`~sklearn_mtl.datasets.load_tox21`) has 12 binary toxicity assays and 2048-bit
# Morgan fingerprints; 17% of the labels are missing. ``as_frame=True`` gives the targets as a
# DataFrame, whose column names become the task names (``task_names_``, the scorer keys and the
# ``history_`` keys below).
#
# **Reduced settings for the documentation build.** This page is built on a two-core CI machine
# within a few minutes, so everything here is small: a random 4000 of the 7831 molecules, two
# hidden layers of 64 and 32 units, at most 25 epochs at a learning rate of 3e-3 (three times the
# previous default, to converge within that budget), the same for every model compared. A
# network of 12 private towers computes 12 first layers where a shared one computes one, and the
# defaults (1024 units, about 1500 steps) would take too long here. The figures of this page
# are what these small networks do on this split; run the example with more rows, wider layers
# and more epochs before drawing conclusions for your own data.
#
# The test part, a random 20% of the molecules, is set aside before the search and used only at
# the end.

import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sklearn_mtl import MaskedMultiTaskClassifier
from sklearn_mtl.datasets import load_tox21
from sklearn_mtl.metrics import make_masked_scorer, masked_roc_auc_score, task_scorers
from sklearn_mtl.model_selection import MultiTaskStratifiedKFold

torch.set_num_threads(1)  # small networks are fastest, and most predictable, on one thread

# A fit that runs its 25 epochs without meeting the early-stopping criterion warns that it has not
# converged; that is the epoch budget this example chose, not a problem to report on every fit.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

tox21 = load_tox21(as_frame=True)
rows = np.random.RandomState(0).permutation(len(tox21.target))[:4000]
X = tox21.data.to_numpy(dtype=np.float32)[rows]
y = tox21.target.iloc[rows].reset_index(drop=True)
tasks = list(y.columns)
n_test = len(X) // 5
test, train = np.arange(n_test), np.arange(n_test, len(X))  # the rows are in random order already
print(f"{len(X)} molecules ({len(train)} to train, {len(test)} to test), {X.shape[1]} features, {len(tasks)} tasks")
print(f"{y.isna().to_numpy().mean():.1%} of the labels missing; positives per task in training:")
print(y.iloc[train].sum().astype(int).to_frame("positives").T.to_string())

# %%
# The search
# ----------
#
# Every candidate has the same two hidden layers, learning rate and epochs; only
# ``n_shared_layers`` changes. Early stopping holds out 10% of each training fold, follows the
# mean validation ROC-AUC, and restores the best epoch. The folds come from
# :class:`~sklearn_mtl.model_selection.MultiTaskStratifiedKFold`, which spreads the few positives
# of every assay over the three folds. The scorers are one masked ROC-AUC per task
# (:func:`~sklearn_mtl.metrics.task_scorers`, keyed by task name) and their mean
# (:func:`~sklearn_mtl.metrics.make_masked_scorer`), which ``refit`` maximizes.

network = dict(
    hidden_layer_sizes=(64, 32),
    learning_rate_init=3e-3,
    max_iter=25,
    early_stopping=True,
    n_iter_no_change=10,
    random_state=0,
)
DEPTHS = [0, 1, 2]
NAMES = {0: "0 (one per task)", 1: "1", 2: "2 (one for all)"}

scoring = task_scorers("roc_auc", tasks) | {"mean": make_masked_scorer("roc_auc")}
search = GridSearchCV(
    MaskedMultiTaskClassifier(**network),
    {"n_shared_layers": DEPTHS},
    scoring=scoring,
    refit="mean",
    cv=MultiTaskStratifiedKFold(n_splits=3, shuffle=True, random_state=0),
)
start = time.perf_counter()
search.fit(X[train], y.iloc[train])
print(f"search: {time.perf_counter() - start:.0f} s, best {search.best_params_}")

results = pd.DataFrame(search.cv_results_).set_index("param_n_shared_layers")
cv_table = pd.DataFrame(
    {
        NAMES[k]: [results.loc[k, f"mean_test_roc_auc_{task}"] for task in tasks]
        + [results.loc[k, "mean_test_mean"], results.loc[k, "std_test_mean"], results.loc[k, "mean_fit_time"]]
        for k in DEPTHS
    },
    index=[*tasks, "mean", "std of mean over folds", "fit seconds per fold"],
)
cv_table.columns.name = "n_shared_layers"
print("cross-validated ROC-AUC")
print(cv_table.round(3).to_string())

# %%
# Task by task
# ------------
#
# Each point is a task: its cross-validated ROC-AUC with no sharing (x) and with both layers shared
# (y); the hollow points are ``n_shared_layers=1``. Above the diagonal, sharing helped that task;
# below, the task did better on its own network.

cv_auc = {k: np.array([results.loc[k, f"mean_test_roc_auc_{task}"] for task in tasks]) for k in DEPTHS}


def task_scatter(ax, x, y_shared, labels, y_middle=None):
    low = min(np.nanmin(x), np.nanmin(y_shared)) - 0.02
    high = max(np.nanmax(x), np.nanmax(y_shared)) + 0.02
    ax.plot([low, high], [low, high], color="k", linewidth=1, linestyle="--")
    if y_middle is not None:
        ax.scatter(x, y_middle, facecolors="none", edgecolors="C1", label="n_shared_layers=1")
    ax.scatter(x, y_shared, color="C0", label="all layers shared")
    for label, x_value, y_value in zip(labels, x, y_shared, strict=True):
        ax.annotate(label, (x_value, y_value), textcoords="offset points", xytext=(4, 2), fontsize=7)
    ax.set(xlim=(low, high), ylim=(low, high), aspect="equal")
    ax.set_xlabel("ROC-AUC, one model per task (n_shared_layers=0)")
    ax.legend(loc="lower right", fontsize=8)


fig, ax = plt.subplots(figsize=(6, 6), layout="constrained")
task_scatter(ax, cv_auc[0], cv_auc[2], tasks, y_middle=cv_auc[1])
ax.set_ylabel("ROC-AUC with sharing")
_ = ax.set_title("Tox21, cross-validated ROC-AUC per task")

# %%
# On the test part
# ----------------
#
# The search refitted its best candidate on all training molecules; the other two candidates are
# fitted on the same molecules with the same settings, and all three are scored on the test
# molecules that nobody has looked at so far.

models = {search.best_params_["n_shared_layers"]: search.best_estimator_}
for k in DEPTHS:
    if k not in models:
        models[k] = MaskedMultiTaskClassifier(**network, n_shared_layers=k).fit(X[train], y.iloc[train])
test_auc = {k: masked_roc_auc_score(y.iloc[test], models[k].predict_proba(X[test]), average=None) for k in DEPTHS}
test_table = pd.DataFrame({NAMES[k]: test_auc[k] for k in DEPTHS}, index=tasks)
test_table.loc["mean"] = test_table.mean()
test_table.columns.name = "n_shared_layers"
print(f"test ROC-AUC (the search chose n_shared_layers={search.best_params_['n_shared_layers']})")
print(test_table.round(3).to_string())

# %%
# Compare the columns of both tables. The mean says which setting wins on average here, and the
# rows and the scatter plot say whether it wins on every task or on some of them only: sharing
# lends a task the features that its neighbours' labels taught, which should matter most for the
# assays with the fewest positives (counted at the top), while a task that needs features of its
# own can lose them to the others. The standard deviation of the mean over the three folds, and a
# test part in which some assays have only a few dozen positives, say how large a difference has
# to be before it means anything. Note also what "the same settings" implies: with
# ``n_shared_layers=0`` there are 12 first layers of 64 units, with sharing one, so the shared
# network is also a twelfth of the size; the towers cost that much more time too (see the fit
# seconds above).

# %%
# Per-task stopping
# -----------------
#
# Early stopping follows the mean validation score of all tasks and restores one epoch for all of
# them. Tasks learn at different speeds, though: a task with many positives may still improve
# when a rare one has started to overfit. With ``per_task_stopping=True``, every task's head and
# private layers go back to the epoch where *its* validation score was best (``best_epochs_``),
# while the shared layers keep the epoch of the best mean. With ``n_shared_layers=0`` nothing is
# shared, and this is plain early stopping of each task's own network.
#
# Both models below train the same way, epoch for epoch (the same seed, the same validation rows);
# they differ only in which epoch each task keeps at the end.

per_task = MaskedMultiTaskClassifier(**network, n_shared_layers=0, per_task_stopping=True).fit(X[train], y.iloc[train])
one_epoch = models[0]  # per_task_stopping=False, fitted above
same_training = np.allclose(per_task.validation_scores_, one_epoch.validation_scores_)
print(f"epochs run: {per_task.n_iter_}; same validation curves as without per-task stopping: {same_training}")
shared_best = int(np.argmax(one_epoch.validation_scores_)) + 1
print(f"best epoch of the mean validation ROC-AUC (kept by every task without per-task stopping): {shared_best}")
print(pd.Series(per_task.best_epochs_, index=tasks, name="best_epochs_").to_frame().T.to_string())

# %%
# ``history_`` records, for every epoch, each task's validation score under
# ``valid_score_<task name>`` (here ``history_[-1]`` also holds the mean, ``valid_score``, and the
# per-task losses ``train_loss_<task>`` and ``valid_loss_<task>``).

print(sorted(key for key in per_task.history_[-1] if key.startswith("valid_score")))
epochs = np.arange(1, per_task.n_iter_ + 1)
fig, axes = plt.subplots(3, 4, figsize=(12, 7), sharex=True, layout="constrained")
for ax, task, best in zip(axes.flat, tasks, per_task.best_epochs_, strict=True):
    ax.plot(epochs, per_task.history_[:, f"valid_score_{task}"], color="C0")
    ax.axvline(best, color="C0", linewidth=1, label="its best epoch")
    ax.axvline(shared_best, color="k", linestyle="--", linewidth=1, label="best epoch of the mean")
    ax.set_title(task, fontsize=9)
axes[0, 0].legend(fontsize=7)
for ax in axes[-1]:
    ax.set_xlabel("epoch")
for ax in axes[:, 0]:
    ax.set_ylabel("validation ROC-AUC")
_ = fig.suptitle("Validation ROC-AUC of each task, n_shared_layers=0")

# %%
# Test ROC-AUC with one epoch for all tasks and with each task's own epoch:

stopping_table = pd.DataFrame(
    {
        "best epoch": per_task.best_epochs_.astype(float),  # float: the "mean" row leaves it empty
        "per_task_stopping=False": test_auc[0],
        "per_task_stopping=True": masked_roc_auc_score(y.iloc[test], per_task.predict_proba(X[test]), average=None),
    },
    index=tasks,
)
stopping_table.loc["mean"] = stopping_table.mean()
stopping_table.loc["mean", "best epoch"] = np.nan
print(stopping_table.round(3).to_string())

# %%
# Compare the two columns task by task. Where a task's best epoch equals the epoch of the mean, the
# two models are the same for that task. Where it differs, the task's own epoch was best on the
# validation rows, 10% of the training molecules, among which an assay has a few dozen positives
# at most: a noisy choice, which the test part may or may not confirm. Per-task stopping pays off when the
# curves above peak at clearly different epochs and the validation split is large enough to
# locate each peak.

# %%
# Adding a task later
# -------------------
#
# A fitted model can take new tasks: :meth:`~sklearn_mtl.MaskedMultiTaskClassifier.add_tasks`
# gives them heads (and private layers, with ``n_shared_layers``) on top of the frozen shared
# layers, and trains only those, on the new labels. Nothing that the fitted tasks use changes,
# so their predictions stay exactly the same. It is the fine-tuning step of transfer learning,
# kept in one estimator.
#
# Here the model with one shared layer is fitted on 11 assays; the 12th is then added with the
# labels of the training molecules. Its test ROC-AUC is compared with a network trained on that
# assay alone (the same settings, a 1-D ``y`` of its labelled molecules) and with the model that
# had all 12 assays from the start.

new_task = tasks[-1]
old_tasks = tasks[:-1]
extended = MaskedMultiTaskClassifier(**network, n_shared_layers=1).fit(X[train], y.iloc[train][old_tasks])
before = extended.predict_proba(X[test])
labelled = train[y.iloc[train][new_task].notna().to_numpy()]
extended.add_tasks(X[labelled], y.iloc[labelled][[new_task]])
after = extended.predict_proba(X[test])
unchanged = all(np.array_equal(old, now) for old, now in zip(before, after[:-1], strict=True))
print(
    f"tasks now: {extended.n_tasks_} (last: {extended.task_names_[-1]}); the 11 old tasks' predictions unchanged: "
    f"{unchanged}"
)

alone = MaskedMultiTaskClassifier(**network, n_shared_layers=1).fit(X[labelled], y.iloc[labelled][new_task])
truth = y.iloc[test][[new_task]]
added_table = pd.Series(
    {
        "added to the 11-task model (add_tasks)": masked_roc_auc_score(truth, after[-1]),
        "trained alone": masked_roc_auc_score(truth, alone.predict_proba(X[test])),
        "in the 12-task model from the start": test_auc[1][-1],
    },
    name=f"test ROC-AUC of {new_task}",
)
print(added_table.round(3).to_string())

# %%
# Compare the rows. The added task can only use what the 11 other assays taught the shared layer;
# whether that is enough depends on how much the assays have in common, and this one assay's
# test score rests on a few dozen positives. What ``add_tasks`` guarantees is the last line of the
# output above it: the 11 fitted tasks keep their predictions bit for bit, so a deployed model can
# grow without re-validating what it already predicts.

# %%
# SIDER: 27 side-effect classes
# -----------------------------
#
# SIDER lists the side effects of 1427 marketed drugs, grouped into 27 organ classes (Kuhn et al.,
# "The SIDER database of drugs and side effects", Nucleic Acids Research, 2016, through
# MoleculeNet); every drug has all 27 labels. The file, with 2048-bit Morgan fingerprints
# (radius 2), comes with the repository in ``benchmarks/data`` (made from the chemprop repository's
# copy, MIT licence; SIDER itself is CC BY-NC-SA 4.0; ``benchmarks/data/README.md`` gives the
# provenance). It is not part of the installed package.
#
# The same two networks, no sharing and all layers shared, with the same reduced settings as
# above, on a random 80/20 split.

# benchmarks/data of the repository, seen from its root or from examples/ (where the docs build runs this)
DATA = next(path for path in [Path("benchmarks/data"), Path("../benchmarks/data")] if path.is_dir())
with np.load(DATA / "sider_morgan2048.npz", allow_pickle=True) as archive:
    X_sider = np.unpackbits(archive["X"], axis=1).astype(np.float32)
    Y_sider, sider_tasks = archive["Y"].astype(np.float64), [str(task) for task in archive["tasks"]]
order = np.random.RandomState(0).permutation(len(X_sider))
n_test = len(X_sider) // 5
sider_test, sider_train = order[:n_test], order[n_test:]
print(f"{len(X_sider)} drugs ({len(sider_train)} to train, {len(sider_test)} to test), {len(sider_tasks)} tasks")

sider_auc, sider_seconds = {}, {}
for k in [0, None]:
    start = time.perf_counter()
    model = MaskedMultiTaskClassifier(**network, n_shared_layers=k).fit(X_sider[sider_train], Y_sider[sider_train])
    sider_seconds[k] = time.perf_counter() - start
    sider_auc[k] = masked_roc_auc_score(Y_sider[sider_test], model.predict_proba(X_sider[sider_test]), average=None)

sider_table = pd.DataFrame(
    {
        "task": sider_tasks,
        "positive rate": np.nanmean(Y_sider[sider_train], axis=0),
        "one per task (0)": sider_auc[0],
        "one for all (None)": sider_auc[None],
    }
)
sider_table.index.name = "#"
print(sider_table.round(3).to_string(max_colwidth=45))
for k, name in [(0, "one per task (0)"), (None, "one for all (None)")]:
    print(f"{name:<20} mean test ROC-AUC {np.nanmean(sider_auc[k]):.3f}   fit {sider_seconds[k]:5.1f} s")

fig, ax = plt.subplots(figsize=(6, 6), layout="constrained")
task_scatter(ax, sider_auc[0], sider_auc[None], [str(t) for t in range(len(sider_tasks))])
ax.set_ylabel("ROC-AUC, one model for all (n_shared_layers=None)")
_ = ax.set_title("SIDER, test ROC-AUC per task (numbers as in the table)")

# %%
# Compare the two columns, and the points with the diagonal. SIDER is small and its 27 classes are
# broad and overlapping (most drugs have most of them), so one might expect its tasks to have much
# to share; the table says whether sharing paid off with these networks. Two things to keep in
# mind when reading it. First, the comparison holds the layer sizes fixed, not the number of
# weights: the shared network has one pair of layers of 64 and 32 units for all 27 tasks, the
# towers 27 pairs, so "one for all" is also a much smaller model; a wider shared network is the
# fairer rival, and one more candidate for a search. Second, a test part of a fifth of 1427 drugs
# gives the rarest classes (see the positive rates) only a handful of positives, whose ROC-AUC
# says little on its own. Neither choice is right for every data set: putting
# ``n_shared_layers`` (and the widths) into the search, as on Tox21 above, lets validation data
# decide.
