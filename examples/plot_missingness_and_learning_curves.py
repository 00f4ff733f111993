"""
Missingness patterns and learning curves
========================================

Two pictures worth drawing before trusting a multi-task model: which labels are missing, and how
the training and validation losses evolved during training. The first is a plot of ``y``'s NaN
mask; the second reads the estimator's per-epoch record, ``history_``.
"""

# %%
# What is missing in Tox21
# ------------------------
#
# :func:`~sklearn_mtl.datasets.load_tox21` returns 7831 molecules with 12 assay labels each; a label
# is NaN where the molecule was not tested. Below, 120 molecules drawn at random: each row is a
# molecule, each column an assay, white where the label is missing. Missingness is not the same
# for every assay, and positives (dark) are rare.

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap

from sklearn_mtl import MaskedMultiTaskRegressor
from sklearn_mtl.datasets import load_tox21, make_multitask_regression

torch.set_num_threads(1)  # small networks are fastest, and most predictable, on one thread

tox21 = load_tox21()
rows = np.sort(np.random.RandomState(0).choice(len(tox21.target), size=120, replace=False))
status = np.where(np.isnan(tox21.target[rows]), 0, 1 + tox21.target[rows])  # 0 missing, 1 negative, 2 positive

fig, (ax_pattern, ax_rate) = plt.subplots(
    1, 2, figsize=(11, 5.5), layout="constrained", gridspec_kw={"width_ratios": [1.2, 1]}
)
cmap = ListedColormap(["white", "#9ecae1", "#08306b"])
ax_pattern.imshow(status, aspect="auto", cmap=cmap, vmin=0, vmax=2, interpolation="nearest")
ax_pattern.set_xticks(range(12), tox21.target_names, rotation=60, ha="right")
ax_pattern.set(ylabel="molecule (120 drawn at random)", title="Labels: missing, negative, positive")
for value, name in enumerate(["missing", "negative (0)", "positive (1)"]):
    ax_pattern.scatter([], [], marker="s", s=60, color=cmap(value), edgecolors="grey", label=name)
ax_pattern.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncols=3, frameon=False)

missing_rate = np.isnan(tox21.target).mean(axis=0)
positive_rate = np.nanmean(tox21.target, axis=0)
position = np.arange(12)
ax_rate.barh(position - 0.2, missing_rate, height=0.4, color="lightgrey", edgecolor="grey", label="missing")
ax_rate.barh(position + 0.2, positive_rate, height=0.4, color="#08306b", label="positive, of observed")
ax_rate.set_yticks(position, tox21.target_names)
ax_rate.invert_yaxis()
ax_rate.set(xlabel="fraction of labels", title="Per assay")
ax_rate.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, frameon=False)

complete_rows = (~np.isnan(tox21.target)).all(axis=1).mean()
print(f"labels missing: {np.isnan(tox21.target).mean():.1%}; molecules with all 12 labels: {complete_rows:.1%}")

# %%
# Dropping the incomplete rows would keep only the molecules with every label; the masked loss
# keeps every observed label instead.
#
# Learning curves
# ---------------
#
# A small regression problem with five tasks whose labels are missing at rates from 10% to 90%,
# generated with :func:`~sklearn_mtl.datasets.make_multitask_regression`. With 400 rows and a
# weak L2 penalty (``alpha=1e-4``, MLPRegressor's default rather than this package's), a network
# of 256 units overfits quickly. ``early_stopping=True`` holds out ``validation_fraction`` of the
# rows; ``scoring="loss"`` computes the same masked loss on them after every epoch (the default
# follows their mean :math:`R^2`), stops when it has not improved for ``n_iter_no_change`` epochs
# and restores the weights of the best epoch.

X, y = make_multitask_regression(
    n_samples=400, n_features=20, n_tasks=5, noise=0.5, missing_rate=[0.1, 0.3, 0.5, 0.7, 0.9], random_state=0
)
print("observed labels per task:", (~np.isnan(y)).sum(axis=0))

regressor = MaskedMultiTaskRegressor(
    hidden_layer_sizes=(256,),
    alpha=1e-4,
    early_stopping=True,
    scoring="loss",
    validation_fraction=0.2,
    n_iter_no_change=25,
    max_iter=300,
    batch_size=32,
    random_state=0,
).fit(X, y)

# %%
# ``history_`` is skorch's :class:`~skorch.history.History`: one entry per epoch, sliced by key.
# ``train_loss`` is exactly the loss the optimizer minimized (mean over the epoch), and
# ``valid_loss`` the same masked loss on the held-out rows. Both add up the five tasks' mean squared
# errors on standardized targets (``loss_normalization="per_task"``), so predicting every task's
# mean would score about 5, one per task.

train_loss = np.array(regressor.history_[:, "train_loss"])
valid_loss = np.array(regressor.history_[:, "valid_loss"])
epochs = np.arange(1, len(train_loss) + 1)
best_epoch = epochs[np.argmin(valid_loss)]

fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
ax.plot(epochs, train_loss, label="training loss")
ax.plot(epochs, valid_loss, label="validation loss")
ax.axvline(best_epoch, color="grey", linestyle="--", label=f"best epoch ({best_epoch}), weights restored")
ax.set(xlabel="epoch", ylabel="masked loss (sum over 5 tasks)", title="Early stopping on the masked loss")
ax.legend()
ax.grid(alpha=0.3)
print(f"epochs run: {regressor.n_iter_}, best validation loss {valid_loss.min():.3f} at epoch {best_epoch}")

# %%
# The training loss keeps falling while the validation loss turns up: the network starts to
# memorize its 320 training rows. Training stopped ``n_iter_no_change`` epochs after the best
# validation loss, and the model kept is the one from the best epoch. If the two curves stay
# together and still fall at the end, raise ``max_iter``; if they part early, regularize more
# (``alpha``, ``dropout``) or use a smaller network.
