"""
Classification and regression tasks in one network
==================================================

A face photo can tell a person's age (a number of years) and gender (a class): two tasks of
different kinds that read the same features of the face. Keras users train such a pair with one
network, one loss per output and hand-tuned ``loss_weights``, because a squared error in years is
thousands of times larger than a cross-entropy; labels that were never collected are filled with
some value, and trained on as if they were real.

:class:`~sklearn_mtl.MaskedMultiTaskEstimator` takes a ``y`` with a column per task, whatever its
kind. The kind of each task comes from ``task_types`` or is inferred from its labels; a
classification task trains with cross-entropy, a regression task with the squared error of its
target standardized on its observed values, so a target in years weighs like a cross-entropy with
no weight to tune. Missing labels are left out of the loss. This example compares it with two
separate models and with the hand-written Keras recipe, first on generated "photo embeddings",
then on real molecules with three classification and two regression tasks.
"""

# %%
# Age and gender from a photo embedding
# -------------------------------------
#
# Each row stands for the 50-dimensional embedding of a face photo (standardized, as such
# embeddings usually are). Three of its directions, :math:`d_0, d_1, d_2`, carry the traits of the
# face; the other 47 (pose, lighting, background) are irrelevant to both labels. The labels share
# two non-linear features of the traits, :math:`|d_0|` (how far the face is from the average along
# the first direction) and :math:`d_1 d_2`, and each has a linear part of its own: age is
# :math:`45 + 12\,(|d_0| - 0.8 + 0.8\,d_1 d_2 + 0.5\,d_1)` years plus noise of 4 years, clipped to
# 18-80; gender is ``"f"`` with probability :math:`\sigma(3\,(0.8 - |d_0| + d_1 d_2 + 0.5\,d_2))`,
# else ``"m"``. A network has to learn the shared features from labels, and the labels of either
# task teach them.
#
# The training photos come from two sources: 500 were annotated with age only, 500 with gender
# only. Each training row therefore carries one label, and the other is missing. The 5000 test
# photos carry both. ``y`` is a pandas DataFrame with a float ``age`` column (NaN where missing)
# and a string ``gender`` column (missing where not annotated).

import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import mean_absolute_error, r2_score, roc_auc_score
from torch import nn
from torch.nn import functional as F

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskEstimator, MaskedMultiTaskRegressor

torch.set_num_threads(1)  # small networks are fastest, and most predictable, on one thread

# Networks fitted for a fixed number of epochs warn that they have not converged; that is the
# budget this example chose, not a problem to report on every fit.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

N_FEATURES, N_PER_SOURCE, N_TEST = 50, 500, 5000
rng = np.random.RandomState(0)
traits = np.linalg.qr(rng.normal(size=(N_FEATURES, 3)))[0]  # three orthonormal directions


def make_photos(n_samples, rng):
    """Embeddings X, the labels y (complete), and the noise-free age and gender logit."""
    X = rng.normal(size=(n_samples, N_FEATURES))
    d = X @ traits
    shared = np.abs(d[:, 0]) - 0.8, d[:, 1] * d[:, 2]  # what both labels depend on
    age_signal = 45 + 12 * (shared[0] + 0.8 * shared[1] + 0.5 * d[:, 1])
    gender_logit = 3 * (-shared[0] + shared[1] + 0.5 * d[:, 2])
    age = np.clip(age_signal + 4 * rng.normal(size=n_samples), 18, 80)
    gender = np.where(rng.uniform(size=n_samples) < 1 / (1 + np.exp(-gender_logit)), "f", "m")
    y = pd.DataFrame({"age": age, "gender": gender})
    return X.astype(np.float32), y, np.clip(age_signal, 18, 80), gender_logit


X_train, y_complete, _, _ = make_photos(2 * N_PER_SOURCE, rng)
X_test, y_test, age_truth, logit_truth = make_photos(N_TEST, rng)
has_age = np.arange(2 * N_PER_SOURCE) < N_PER_SOURCE  # the first source annotated age, the second gender
y_train = y_complete.copy()
y_train.loc[~has_age, "age"] = np.nan
y_train.loc[has_age, "gender"] = None
print(y_train.iloc[N_PER_SOURCE - 2 : N_PER_SOURCE + 2])
print(f"observed labels per task: {y_train.notna().sum().to_dict()}; test photos: {N_TEST}, all labelled")

is_female = (y_test["gender"] == "f").to_numpy()


def photo_scores(age_pred, p_female):
    """Test ROC-AUC for gender (positive class "f"), R^2 and mean absolute error for age."""
    return {
        "gender ROC-AUC": roc_auc_score(is_female, p_female),
        "age R^2": r2_score(y_test["age"], age_pred),
        "age MAE (years)": mean_absolute_error(y_test["age"], age_pred),
    }


photo_results = {}

# %%
# (a) One network for both tasks
# ------------------------------
#
# The estimator with its defaults: one hidden layer of 1024 ReLU units shared by the two tasks.
# It infers that ``age`` (floats) is a regression task and ``gender`` (two strings) a
# classification task; ``tasks_`` says what it decided, including the mean and scale that
# standardize the observed ages.

mixed = MaskedMultiTaskEstimator(random_state=0).fit(X_train, y_train)
for task in mixed.tasks_:
    print(task)

# %%
# ``predict`` returns one column per task, in each task's own units and labels (an object array,
# since one task has string labels); ``predict_proba`` returns one entry per task, None for a
# regression task.

print(mixed.predict(X_test[:3]))
print(mixed.predict_proba(X_test[:3]))

age_task, gender_task = mixed.tasks_
female_column = list(gender_task.classes).index("f")
photo_results["(a) one network, both tasks"] = photo_scores(
    mixed.predict(X_test)[:, age_task.index].astype(float),
    mixed.predict_proba(X_test)[gender_task.index][:, female_column],
)

# %%
# (b) Two separate networks
# -------------------------
#
# The same defaults, one model per task, each fitted on the rows labelled for its task:
# :class:`~sklearn_mtl.MaskedMultiTaskRegressor` on the 500 aged photos,
# :class:`~sklearn_mtl.MaskedMultiTaskClassifier` on the 500 gendered ones.

age_model = MaskedMultiTaskRegressor(random_state=0).fit(X_train[has_age], y_train.loc[has_age, "age"])
gender_model = MaskedMultiTaskClassifier(random_state=0).fit(X_train[~has_age], y_train.loc[~has_age, "gender"])
photo_results["(b) two networks, one per task"] = photo_scores(
    age_model.predict(X_test), gender_model.predict_proba(X_test)[:, list(gender_model.classes_).index("f")]
)

# %%
# (c) and (d) The same network trained by hand
# --------------------------------------------
#
# A plain PyTorch loop with the network and training recipe of the package's defaults here: 50
# inputs, one hidden layer of 1024 ReLU units, two outputs (age in years, the logit of "f"), Adam
# with a learning rate that falls from 4e-3 to 0 along a cosine, mini-batches of 32 rows (what
# ``batch_size="auto"`` gives 1000 rows), the L2 penalty of ``alpha="auto"``
# (``0.5 * 0.003 * ||W||^2`` on the weight matrices), and as many epochs as (a) ran
# (``max_iter="auto"``: about 750 steps on an input of fewer than 100 features). One difference:
# the loop initializes the two outputs independently, where the package starts every task's head
# alike.
#
# (c) is the usual Keras recipe: missing labels filled with 0 (age 0, gender "m"), and one loss on
# every row, ``0.001 * MSE(age in years) + 1.0 * BCE(gender)``, i.e. hand-tuned
# ``loss_weights={"age": 0.001, "gender": 1.0}``. (d) fixes the filling but not the scales: the
# masked loss (each task's mean over its observed labels only) on raw years, weights 1 and 1.

EPOCHS, BATCH_SIZE, L2 = mixed.n_iter_, 32, 3e-3


def train_by_hand(age, female, loss_weights, observed=None, seed=0):
    """Train the two-output network; ``observed`` (rows x 2) masks the loss, None trains on every entry."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(N_FEATURES, 1024), nn.ReLU(), nn.Linear(1024, 2))
    optimizer = torch.optim.Adam(net.parameters(), lr=4e-3)
    X = torch.tensor(X_train)
    steps = EPOCHS * -(-len(X) // BATCH_SIZE)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    targets = torch.tensor(np.column_stack([age, female]), dtype=torch.float32)
    weights = torch.ones_like(targets) if observed is None else torch.tensor(observed, dtype=torch.float32)
    order = torch.Generator().manual_seed(seed)
    for _ in range(EPOCHS):
        for batch in torch.randperm(len(X), generator=order).split(BATCH_SIZE):
            outputs, target, weight = net(X[batch]), targets[batch], weights[batch]
            entry_losses = torch.stack(
                [
                    (outputs[:, 0] - target[:, 0]) ** 2,
                    F.binary_cross_entropy_with_logits(outputs[:, 1], target[:, 1], reduction="none"),
                ],
                dim=1,
            )
            task_losses = (entry_losses * weight).sum(dim=0) / weight.sum(dim=0).clamp(min=1)
            loss = loss_weights["age"] * task_losses[0] + loss_weights["gender"] * task_losses[1]
            loss = loss + 0.5 * L2 * sum((p**2).sum() for p in net.parameters() if p.ndim > 1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    with torch.no_grad():
        outputs = net(torch.tensor(X_test))
    return outputs[:, 0].numpy(), torch.sigmoid(outputs[:, 1]).numpy()


age_filled = y_train["age"].fillna(0).to_numpy()
female_filled = (y_train["gender"] == "f").to_numpy(dtype=float)  # a missing gender counts as "m"
observed = y_train.notna().to_numpy()

photo_results["(c) by hand: filled, weights .001 / 1"] = photo_scores(
    *train_by_hand(age_filled, female_filled, {"age": 0.001, "gender": 1.0})
)
photo_results["(d) by hand: masked, raw years"] = photo_scores(
    *train_by_hand(age_filled, female_filled, {"age": 1.0, "gender": 1.0}, observed=observed)
)
# the best any model could do: the generator's noise-free age and its true probability of "f"
photo_results["noise-free truth (ceiling)"] = photo_scores(age_truth, logit_truth)

# %%
# Test scores
# -----------

photo_table = pd.DataFrame(photo_results).T
print(photo_table.round(3).to_string())

fig, axes = plt.subplots(1, 3, figsize=(12, 4.2), layout="constrained")
models = photo_table.index[:-1]
colors = [f"C{k}" for k in range(len(models))]
for ax, metric in zip(axes, photo_table.columns, strict=True):
    values = photo_table.loc[models, metric].to_numpy()
    ax.bar(range(len(models)), values, color=colors)
    ax.axhline(photo_table.loc["noise-free truth (ceiling)", metric], color="k", linestyle="--", linewidth=1)
    if metric == "gender ROC-AUC":
        ax.set_ylim(0.5, 1)
    elif metric == "age R^2":
        ax.set_ylim(-0.5, 1)  # a bar below -0.5 is cut: its value is written on it
    bottom, top = ax.get_ylim()
    for k, value in enumerate(values):
        ax.text(k, min(max(value, bottom), top), f"{value:.3g}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(models)), ["(a)", "(b)", "(c)", "(d)"])
    ax.set_title(metric.replace("R^2", "$R^2$"))
handles = [Patch(color=color, label=name) for color, name in zip(colors, models, strict=True)]
handles.append(Line2D([], [], color="k", linestyle="--", linewidth=1, label="noise-free truth (ceiling)"))
_ = fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)

# %%
# Compare the rows. Filling the missing labels (c) teaches the network that every photo annotated
# for gender only is 0 years old and every photo annotated for age only is a man: its ages are
# pulled far towards 0 (an :math:`R^2` below 0, errors of decades) and its gender scores learn
# the false "m" labels too, whatever the loss weights. Masking the missing labels (d) removes that
# bias but not the mismatch of scales: squared errors in years are orders of magnitude larger than
# a cross-entropy, so age's gradients dominate the shared hidden layer, and the rest of the recipe
# (learning rate, initialization, L2 penalty) is sized for losses and outputs of about 1, not for
# outputs of tens of years; compare (d) with (a) on each task. The mixed estimator (a) is (d)
# with each regression target standardized on its observed values (``tasks_`` above shows the mean
# and scale it used): both tasks start with losses of about 1, and no weight was tuned.
#
# Against two separate networks (b), the shared network learns the two shared features from the
# labels of both tasks, 1000 instead of 500; compare (a) and (b) on each task. That gain comes
# from the data: here both labels depend on the same features of the embedding. It shrinks as
# each task gets more labels of its own, and tasks that share little gain little from sharing a
# network, as the molecules below show.

# %%
# Real data: three classification and two regression tasks on molecules
# ---------------------------------------------------------------------
#
# ``mixed5`` merges five MoleculeNet data sets (Wu et al., "MoleculeNet: a benchmark for molecular
# machine learning", Chemical Science, 2018) on the molecules' canonical SMILES: blood-brain
# barrier penetration (BBBP), BACE-1 inhibition and clinical-trial toxicity (ClinTox ``CT_TOX``)
# are binary, lipophilicity (logD, from ChEMBL) and ESOL log solubility (Delaney, 2004) are
# regression targets. A molecule carries exactly the labels it was measured for, so 79% of the
# labels are missing, and not at random. The features are 2048-bit Morgan fingerprints (radius 2).
# The file comes with the repository, in ``benchmarks/data`` (source files from the chemprop
# repository, MIT licence; ``benchmarks/data/README.md`` gives the provenance); it is not part of
# the installed package.
#
# The split is the benchmark panel's: a random permutation from ``RandomState(0)``, the first 10%
# of it for testing.

# benchmarks/data of the repository, seen from its root or from examples/ (where the docs build runs this)
DATA = next(path for path in [Path("benchmarks/data"), Path("../benchmarks/data")] if path.is_dir())
with np.load(DATA / "mixed5_morgan2048.npz", allow_pickle=False) as archive:
    X = np.unpackbits(archive["X"], axis=1).astype(np.float32)
    Y, task_names, kinds = archive["Y"], archive["tasks"].astype(str), archive["kinds"].astype(str)
order = np.random.RandomState(0).permutation(len(X))
n_test = int(round(0.1 * len(X)))
train, test = order[n_test:], order[:n_test]
labelled = ~np.isnan(Y)
print(f"{len(X)} molecules, {X.shape[1]} features, {labelled.size - labelled.sum()} of {labelled.size} labels missing")
counts = {"kind": kinds, "train labels": labelled[train].sum(axis=0), "test labels": labelled[test].sum(axis=0)}
print(pd.DataFrame(counts, index=task_names))

classification = np.flatnonzero(kinds == "classification")
regression = np.flatnonzero(kinds == "regression")

# %%
# Three ways to fit the five tasks: one :class:`~sklearn_mtl.MaskedMultiTaskEstimator` on all of
# them; a :class:`~sklearn_mtl.MaskedMultiTaskClassifier` on the three classification tasks plus a
# :class:`~sklearn_mtl.MaskedMultiTaskRegressor` on the two regression tasks, each fitted on the
# molecules with at least one label of its tasks; and a per-task linear model,
# ``LogisticRegression(C=0.1)`` or ``Ridge(alpha=10)``, on each task's labelled molecules.
#
# The package's defaults (1024 hidden units) take tens of seconds per fit on this set,
# too slow for a documentation build: every network here has 256 hidden units and trains for 60
# epochs, the same for all of them. The figures of the full defaults, against per-task baselines
# with tuned ``C`` and ``alpha``, come from ``benchmarks/bench_real_data.py --data mixed5`` (add
# ``--mixed`` for the one network on all five tasks).

network = dict(hidden_layer_sizes=(256,), max_iter=60, random_state=0)
seconds, outputs = {}, {}  # outputs: for each model, one test column per task (P(class 1) or prediction)

start = time.perf_counter()
one_network = MaskedMultiTaskEstimator(**network).fit(X[train], Y[train])
print("inferred kinds:", [task.kind for task in one_network.tasks_])
probabilities, predictions = one_network.predict_proba(X[test]), one_network.predict(X[test])
outputs["one network, 5 tasks"] = [predictions[:, t] if p is None else p[:, 1] for t, p in enumerate(probabilities)]
seconds["one network, 5 tasks"] = time.perf_counter() - start

start = time.perf_counter()
rows = train[labelled[train][:, classification].any(axis=1)]
classifier = MaskedMultiTaskClassifier(**network).fit(X[rows], Y[np.ix_(rows, classification)])
rows = train[labelled[train][:, regression].any(axis=1)]
regressor = MaskedMultiTaskRegressor(**network).fit(X[rows], Y[np.ix_(rows, regression)])
columns = {}
columns.update(zip(classification, [p[:, 1] for p in classifier.predict_proba(X[test])], strict=True))
columns.update(zip(regression, regressor.predict(X[test]).T, strict=True))
outputs["classifier + regressor"] = [columns[t] for t in range(len(task_names))]
seconds["classifier + regressor"] = time.perf_counter() - start

start = time.perf_counter()
columns = []
for t, kind in enumerate(kinds):
    rows = train[labelled[train, t]]
    if kind == "classification":
        columns.append(LogisticRegression(C=0.1, max_iter=2000).fit(X[rows], Y[rows, t]).predict_proba(X[test])[:, 1])
    else:
        columns.append(Ridge(alpha=10).fit(X[rows], Y[rows, t]).predict(X[test]))
outputs["per-task linear"] = columns
seconds["per-task linear"] = time.perf_counter() - start

# %%
# Test scores per task, each on its labelled test molecules: ROC-AUC for a classification task,
# R^2 for a regression task, and their means over the tasks of each kind.


def task_score(t, column):
    rows = labelled[test, t]
    metric = roc_auc_score if kinds[t] == "classification" else r2_score
    return metric(Y[test, t][rows], column[rows])


metric_names = np.where(kinds == "classification", "ROC-AUC", "R^2")
row_names = [f"{name} ({metric})" for name, metric in zip(task_names, metric_names, strict=True)]
molecule_table = pd.DataFrame(
    {name: [task_score(t, column) for t, column in enumerate(columns)] for name, columns in outputs.items()},
    index=row_names,
)
molecule_table.loc["mean ROC-AUC, 3 classification tasks"] = molecule_table.iloc[classification].mean()
molecule_table.loc["mean R^2, 2 regression tasks"] = molecule_table.iloc[regression].mean()
molecule_table.loc["fit seconds"] = pd.Series(seconds)
print(molecule_table.round(3).to_string())

# %%
# Compare the columns. Mixing kinds of task in one network is a convenience here, not a free
# gain: the one network is fitted once and standardizes the two regression targets itself, but
# whether sharing one trunk between all five tasks beats a classifier and a regressor depends on
# how related the tasks are. They share little: the three classification data sets were measured
# on different molecules, for unrelated properties, while lipophilicity and solubility both depend
# on how polar a molecule is. Dropout is alike in the two setups (see ``dropout`` in the API
# reference): on inputs this wide the classification tasks train with it, in the classifier and in
# the mixed network, while the mixed network's regression tasks read a second pass through the same
# weights without it, as the regressor trains. One small test split moves these scores by a
# hundredth or more, so read small differences as ties.
