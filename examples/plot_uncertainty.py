"""
Calibrated probabilities and conformal sets per task, with missing labels
=========================================================================

Toxicity, ADME and bioactivity models rank and triage compounds by predicted probability, so the
probabilities should mean what they say, and a user should know how far a prediction can be
trusted. scikit-learn's :class:`~sklearn.calibration.CalibratedClassifierCV` and MAPIE take one
task without missing labels. Here each of Tox21's twelve tasks is calibrated on its own observed
labels (:class:`~sklearn_mtl.calibration.MultiTaskCalibratedClassifierCV`), and gets conformal
prediction sets with 90% coverage
(:class:`~sklearn_mtl.conformal.MultiTaskConformalClassifier`); a regression set with missing
targets gets conformal intervals (:class:`~sklearn_mtl.conformal.MultiTaskConformalRegressor`).
"""

# %%
# Three parts of Tox21
# --------------------
#
# The model is fitted on 60% of the compounds; 20% (the *calibration* part) fit the calibrators
# and the conformal quantiles; the last 20% (the *test* part) measure the result. Each part keeps
# Tox21's missing labels: a task is calibrated and measured on the labels it has.

import warnings

import numpy as np
import torch
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import brier_score_loss, log_loss

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskRegressor
from sklearn_mtl.calibration import MultiTaskCalibratedClassifierCV, MultiTaskCalibrationDisplay
from sklearn_mtl.conformal import MultiTaskConformalClassifier, MultiTaskConformalRegressor
from sklearn_mtl.datasets import load_tox21, make_multitask_regression

torch.set_num_threads(1)

data = load_tox21()
X, y = data.data.astype(np.float32), data.target
order = np.random.RandomState(0).permutation(len(X))
fit_rows, calibration_rows, test_rows = np.split(order, [int(0.6 * len(X)), int(0.8 * len(X))])

clf = MaskedMultiTaskClassifier(random_state=0).fit(X[fit_rows], y[fit_rows])

# %%
# Calibration per task
# --------------------
#
# A fitted model is wrapped in :class:`~sklearn.frozen.FrozenEstimator` and calibrated on the
# calibration part, as with scikit-learn. "sigmoid" is Platt scaling of each task's logit;
# "temperature" divides each task's logit by one fitted temperature, which leaves the ranking
# (ROC-AUC) and the predictions as they are.


def per_task(model, metric):
    values = []
    for task, p in enumerate(model.predict_proba(X[test_rows])):
        rows = ~np.isnan(y[test_rows, task])
        values.append(metric(y[test_rows][rows, task], p[rows, 1]))
    return np.array(values)


def log_loss_of_positive(truth, positive):
    return log_loss(truth, positive, labels=[0, 1])


models = {"network": clf}
for method in ["sigmoid", "temperature"]:
    models[method] = MultiTaskCalibratedClassifierCV(FrozenEstimator(clf), method=method).fit(
        X[calibration_rows], y[calibration_rows]
    )
print(f"{'':12s} {'log loss':>9s} {'Brier':>7s}   (test part, mean over the 12 tasks)")
for name, model in models.items():
    nll, brier = per_task(model, log_loss_of_positive).mean(), per_task(model, brier_score_loss).mean()
    print(f"{name:12s} {nll:9.4f} {brier:7.4f}")

# %%
# The reliability curve of each task, before and after, drawn by
# :class:`~sklearn_mtl.calibration.MultiTaskCalibrationDisplay` (scikit-learn's
# ``CalibrationDisplay``, one panel per task, each on the task's observed test labels):

display = MultiTaskCalibrationDisplay.from_estimator(
    clf, X[test_rows], y[test_rows], n_bins=8, strategy="quantile", name="network"
)
MultiTaskCalibrationDisplay.from_estimator(
    models["sigmoid"], X[test_rows], y[test_rows], n_bins=8, strategy="quantile", name="sigmoid", ax=display.ax_
)
display.figure_.set_size_inches(13, 9.5)
display.figure_.tight_layout()

# %%
# Conformal prediction sets
# -------------------------
#
# A prediction set holds every class whose probability is at least a threshold set per task on
# its calibration labels, so that it holds the true class of a new compound at least 90% of the
# time. A set of one class is a confident call; a set of both classes says "not sure". The
# thresholds are set here on the calibration part that also fitted the calibrators; the guarantee
# strictly needs rows that neither the model nor its calibrators saw (split that part in two for
# it). The guarantee is marginal, over compounds: with 3% to 16% actives per task, most sets are
# "inactive" alone, and the actives are covered less often than the inactives (a guarantee per
# class would need class-conditional, "Mondrian", conformal prediction, which is not built yet).

conformal = MultiTaskConformalClassifier(models["sigmoid"], confidence_level=0.9)
conformal.conformalize(X[calibration_rows], y[calibration_rows])
_, sets = conformal.predict_set(X[test_rows])
print(f"{'task':14s} {'coverage':>8s} {'one class':>9s}")
for task, task_sets in enumerate(sets):
    rows = ~np.isnan(y[test_rows, task])
    truth = y[test_rows][rows, task].astype(int)
    coverage = task_sets[rows][np.arange(rows.sum()), truth].mean()
    print(f"{data.target_names[task]:14s} {coverage:8.3f} {(task_sets[rows].sum(axis=1) == 1).mean():9.3f}")

# %%
# Conformal intervals for regression tasks
# ----------------------------------------
#
# Three regression tasks with 30% of their targets missing: each task's 90% interval is
# ``prediction +/- q``, with ``q`` the finite-sample quantile of its absolute errors on its own
# calibration labels. Tasks with noisier targets get wider intervals.

Xr, yr = make_multitask_regression(n_samples=3000, n_features=10, n_tasks=3, missing_rate=0.3, random_state=0)
yr = yr + np.random.RandomState(1).normal(size=yr.shape) * [0.0, 0.5, 1.0]  # three levels of noise
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the defaults' cosine schedule ends at max_iter on purpose
    reg = MaskedMultiTaskRegressor(random_state=0).fit(Xr[:1500], yr[:1500])
intervals = MultiTaskConformalRegressor(reg, confidence_level=0.9).conformalize(Xr[1500:2250], yr[1500:2250])
y_pred, bounds = intervals.predict_interval(Xr[2250:])
truth = yr[2250:]
for task in range(3):
    rows = ~np.isnan(truth[:, task])
    inside = (bounds[rows, task, 0] <= truth[rows, task]) & (truth[rows, task] <= bounds[rows, task, 1])
    print(f"task {task}: coverage {inside.mean():.3f}, width {2 * intervals.conformity_scores_quantile_[task]:.3f}")

# %%
# An ensemble's spread, and intervals that follow it
# --------------------------------------------------
#
# ``ensemble_size=5`` trains five networks together in one model (each layer of every member is
# one batched product; on fingerprints the members share the first layer's weight, each scaling
# it by its own random signs), predicts their mean, and ``predict(X, return_std=True)`` returns
# their standard deviation per task: where the members disagree, the prediction is less sure.
# The ``"normalized"`` conformity score divides each calibration error by that std, so that each
# row's interval is ``prediction +/- q * std``: narrow where the members agree, wide where they
# do not, with the same 90% guarantee per task. The figures below compare them with the
# ``"absolute"`` score's one width per task, and draw how the error grows with the std.
#
# The data are physchem3 (5565 molecules, three regression tasks: ESOL solubility, FreeSolv
# hydration free energy, lipophilicity; almost every molecule has one label). The file comes with
# the repository, in ``benchmarks/data`` (source files from the chemprop repository, MIT licence;
# ``benchmarks/data/README.md`` gives the provenance). A layer of 256 units keeps the example short.

from pathlib import Path  # noqa: E402

from matplotlib import pyplot as plt  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

# benchmarks/data of the repository, seen from its root or from examples/ (where the docs build runs this)
DATA = next(path for path in [Path("benchmarks/data"), Path("../benchmarks/data")] if path.is_dir())
with np.load(DATA / "physchem3_morgan2048.npz", allow_pickle=False) as archive:
    Xp = np.unpackbits(archive["X"], axis=1).astype(np.float32)
    yp, names = archive["Y"], [str(name) for name in archive["tasks"]]
order = np.random.RandomState(0).permutation(len(Xp))
fit_rows, calibration_rows, test_rows = np.split(order, [int(0.7 * len(Xp)), int(0.85 * len(Xp))])

ensemble = MaskedMultiTaskRegressor(hidden_layer_sizes=(256,), ensemble_size=5, random_state=0)
ensemble.fit(Xp[fit_rows], yp[fit_rows])
normalized = MultiTaskConformalRegressor(ensemble, confidence_level=0.9, conformity_score="normalized")
normalized.conformalize(Xp[calibration_rows], yp[calibration_rows])
y_mean, bounds = normalized.predict_interval(Xp[test_rows])
_, y_std = ensemble.predict(Xp[test_rows], return_std=True)
absolute = MultiTaskConformalRegressor(ensemble, confidence_level=0.9)
absolute.conformalize(Xp[calibration_rows], yp[calibration_rows])
truth = yp[test_rows]
figure, axes = plt.subplots(1, 3, figsize=(11, 3.2))
for task, ax in enumerate(axes):
    rows = ~np.isnan(truth[:, task])
    error = np.abs(truth[rows, task] - y_mean[rows, task])
    inside = (bounds[rows, task, 0] <= truth[rows, task]) & (truth[rows, task] <= bounds[rows, task, 1])
    rho = spearmanr(y_std[rows, task], error).statistic
    widths = bounds[rows, task, 1] - bounds[rows, task, 0]
    print(
        f"{names[task]:14s} coverage {inside.mean():.3f}, width {widths.mean():.2f} "
        f"({widths.min():.2f} to {widths.max():.2f}; absolute score: "
        f"{2 * absolute.conformity_scores_quantile_[task]:.2f}), Spearman(std, |error|) {rho:.2f}"
    )
    # the mean absolute error of the test molecules in each fifth of the members' std
    fifths = np.array_split(np.argsort(y_std[rows, task]), 5)
    ax.plot([y_std[rows, task][part].mean() for part in fifths], [error[part].mean() for part in fifths], "o-")
    ax.set(title=names[task], xlabel="members' std (mean of a fifth)", ylabel="mean |error|" if task == 0 else None)
figure.tight_layout()
