"""Calibration and conformal prediction per task on the real panel, with missing labels.

Each split (``--seeds``) is a ``RandomState(seed)`` permutation into a fit part, a calibration
part (which fits the calibrators and the conformal quantiles) and a test part on which every
figure is measured, each task on its own observed labels: 60/20/20 for the classification sets,
70/15/15 for the regression sets (the split the intervals' target was set on). Lines give means
over tasks and splits.

- Classification sets (``tox21``, ``sider``): expected calibration error (ECE: 10 equal-count
  bins of the positive class's probability), Brier score and log loss (NLL) of the default
  network, then of ``MultiTaskCalibratedClassifierCV(FrozenEstimator(...))`` with each method;
  then the 90% conformal sets (``MultiTaskConformalClassifier``): coverage (mean, and the lowest
  task's) and the share of one-class sets.
- Regression sets (``physchem3``, ``enb2012``): 90% conformal intervals
  (``MultiTaskConformalRegressor``): coverage (mean and lowest task) and mean width in units of
  each task's standard deviation, against the anchor of per-task models (``Ridge`` and a random
  forest, each fitted on its task's rows of the fit part) with the same split-conformal quantile.
  Then the ensemble (``ensemble_size=5``) against one network: fit seconds (and their ratio),
  test R^2, the Spearman correlation of each row's std with its absolute error, and the
  ``"normalized"`` intervals (``y_pred ± q * y_std``). ``--independent`` adds five independent
  fits of one network (seeds apart) as the anchor of what an ensemble's std can rank.

Run from ``benchmarks/`` with one thread::

    OMP_NUM_THREADS=1 ../.venv/bin/python bench_uncertainty.py --seeds 0 1 2
"""

import argparse
import time
import warnings

import numpy as np
from real_data_panel import LOADERS, TABULAR
from scipy.stats import spearmanr
from sklearn.ensemble import RandomForestRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import Ridge
from sklearn.metrics import brier_score_loss, log_loss, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskRegressor
from sklearn_mtl.calibration import MultiTaskCalibratedClassifierCV
from sklearn_mtl.conformal import MultiTaskConformalClassifier, MultiTaskConformalRegressor, conformal_quantile

LEVEL = 0.9


def expected_calibration_error(truth, positive, n_bins=10):
    """Mean |fraction of positives - mean probability| over equal-count bins, weighted by their size."""
    order = np.argsort(positive, kind="stable")
    return sum(
        len(part) / len(truth) * abs(truth[part].mean() - positive[part].mean())
        for part in np.array_split(order, n_bins)
        if len(part)
    )


# the fractions of the fit and calibration parts; the test part is the rest
CLASSIFICATION_PARTS = (0.6, 0.2)
REGRESSION_PARTS = (0.7, 0.15)


def _parts(n_samples, seed, parts):
    order = np.random.RandomState(seed).permutation(n_samples)
    fit, calibration = parts
    return np.split(order, [int(fit * n_samples), int((fit + calibration) * n_samples)])


def _classification_figures(model, X, y):
    figures = []
    for task, p in enumerate(model.predict_proba(X)):
        rows = ~np.isnan(y[:, task])
        truth, positive = y[rows, task], p[rows, 1]
        figures.append(
            (
                expected_calibration_error(truth, positive),
                brier_score_loss(truth, positive),
                log_loss(truth, positive, labels=[0, 1]),
            )
        )
    return np.mean(figures, axis=0)


def _coverage(inside_per_task):
    return np.mean(inside_per_task), np.min(inside_per_task)


def run_classification(name, X, y, seeds):
    rows = {}
    for seed in seeds:
        fit, cal, test = _parts(len(X), seed, CLASSIFICATION_PARTS)
        clf = MaskedMultiTaskClassifier(random_state=seed).fit(X[fit], y[fit])
        models = {"network": clf}
        for method in ("sigmoid", "temperature", "isotonic"):
            models[method] = MultiTaskCalibratedClassifierCV(FrozenEstimator(clf), method=method).fit(X[cal], y[cal])
        for label, model in models.items():
            rows.setdefault(label, []).append(_classification_figures(model, X[test], y[test]))
        conformal = MultiTaskConformalClassifier(models["sigmoid"], confidence_level=LEVEL).conformalize(X[cal], y[cal])
        _, sets = conformal.predict_set(X[test])
        covered, singletons = [], []
        for task, task_sets in enumerate(sets):
            observed = ~np.isnan(y[test, task])
            truth = y[test][observed, task].astype(int)
            covered.append(task_sets[observed][np.arange(observed.sum()), truth].mean())
            singletons.append((task_sets[observed].sum(axis=1) == 1).mean())
        rows.setdefault("sets", []).append((*_coverage(covered), np.mean(singletons)))
    print(f"\n{name}: {y.shape[1]} classification tasks, means over tasks and splits (seeds {seeds}, test parts)")
    print(f"{'model':28s} {'ECE':>7s} {'Brier':>7s} {'NLL':>7s}")
    for label in ("network", "sigmoid", "temperature", "isotonic"):
        ece, brier, nll = np.mean(rows[label], axis=0)
        print(f"{label if label == 'network' else 'calibrated, ' + label:28s} {ece:7.4f} {brier:7.4f} {nll:7.4f}")
    mean, lowest, single = np.mean(rows["sets"], axis=0)
    print(f"{LEVEL:.0%} sets (lac, on sigmoid): coverage {mean:.3f} (lowest task {lowest:.3f}), ", end="")
    print(f"one-class sets {single:.3f}")
    return rows


def _interval_figures(predictions, half_widths, y_test, scales):
    inside, widths = [], []
    for task in range(y_test.shape[1]):
        observed = ~np.isnan(y_test[:, task])
        error = np.abs(y_test[observed, task] - predictions[observed, task])
        inside.append(np.mean(error <= half_widths[task]))
        widths.append(2 * half_widths[task] / scales[task])
    return (*_coverage(inside), np.mean(widths))


def _per_task_anchor(make_model, X, y, fit, cal, test):
    predictions, half_widths = np.zeros((len(test), y.shape[1])), np.zeros(y.shape[1])
    for task in range(y.shape[1]):
        rows = fit[~np.isnan(y[fit, task])]
        model = make_model().fit(X[rows], y[rows, task])
        cal_rows = cal[~np.isnan(y[cal, task])]
        half_widths[task] = conformal_quantile(np.abs(y[cal_rows, task] - model.predict(X[cal_rows])), LEVEL)
        predictions[:, task] = model.predict(X[test])
    return predictions, half_widths


def _fitted(model, X, y):
    """``model`` fitted on (X, y), and the seconds it took."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cosine schedule ends at max_iter on purpose
        model.fit(X, y)
    return model, time.perf_counter() - start


def _ensemble_figures(mean, std, y_test):
    """Mean over tasks of the test R^2 and of the Spearman correlation of std with |error|."""
    r2, rho = [], []
    for task in range(y_test.shape[1]):
        observed = ~np.isnan(y_test[:, task])
        truth = y_test[observed, task]
        r2.append(r2_score(truth, mean[observed, task]))
        if std is not None:
            rho.append(spearmanr(std[observed, task], np.abs(truth - mean[observed, task])).statistic)
    return np.mean(r2), np.mean(rho) if rho else np.nan


def run_regression(name, X, y, seeds, tabular, ensemble_size=5, independent=False):
    rows, ensembles = {}, {}
    scales = np.nanstd(y, axis=0)

    def network(**params):
        regressor = MaskedMultiTaskRegressor(**params)
        return make_pipeline(StandardScaler(), regressor) if tabular else regressor

    for seed in seeds:
        fit, cal, test = _parts(len(X), seed, REGRESSION_PARTS)
        regressor, seconds = _fitted(network(random_state=seed), X[fit], y[fit])
        conformal = MultiTaskConformalRegressor(regressor, confidence_level=LEVEL).conformalize(X[cal], y[cal])
        y_pred, _ = conformal.predict_interval(X[test])
        rows.setdefault("sklearn_mtl", []).append(
            _interval_figures(y_pred, conformal.conformity_scores_quantile_, y[test], scales)
        )
        ensembles.setdefault("one network", []).append((seconds, *_ensemble_figures(y_pred, None, y[test])))
        ensemble, ensemble_seconds = _fitted(network(random_state=seed, ensemble_size=ensemble_size), X[fit], y[fit])
        mean, std = ensemble.predict(X[test], return_std=True)
        label = f"ensemble_size={ensemble_size}"
        ensembles.setdefault(label, []).append((ensemble_seconds, *_ensemble_figures(mean, std, y[test])))
        normalized = MultiTaskConformalRegressor(ensemble, confidence_level=LEVEL, conformity_score="normalized")
        _, intervals = normalized.conformalize(X[cal], y[cal]).predict_interval(X[test])
        rows.setdefault(f"{label}, normalized", []).append(_normalized_figures(intervals, y[test], scales))
        if independent:
            start, members = time.perf_counter(), []
            for k in range(ensemble_size):
                members.append(_fitted(network(random_state=1000 * seed + k + 1), X[fit], y[fit])[0].predict(X[test]))
            figures = _ensemble_figures(np.mean(members, 0), np.std(members, 0), y[test])
            seconds = time.perf_counter() - start
            ensembles.setdefault(f"{ensemble_size} independent fits", []).append((seconds, *figures))
        anchors = {
            "per-task Ridge": lambda: make_pipeline(StandardScaler(), Ridge()),
            "per-task forest": lambda seed=seed: RandomForestRegressor(n_estimators=100, n_jobs=1, random_state=seed),
        }
        for label, make_model in anchors.items():
            predictions, half_widths = _per_task_anchor(make_model, X, y, fit, cal, test)
            rows.setdefault(label, []).append(_interval_figures(predictions, half_widths, y[test], scales))
    print(f"\n{name}: {y.shape[1]} regression tasks, {LEVEL:.0%} split-conformal intervals (seeds {seeds}, test parts)")
    print(f"{'model':30s} {'coverage':>8s} {'lowest':>7s} {'width/std':>9s}")
    for label, figures in rows.items():
        mean, lowest, width = np.mean(figures, axis=0)
        print(f"{label:30s} {mean:8.3f} {lowest:7.3f} {width:9.3f}")
    print(f"{'model':30s} {'fit s':>8s} {'x one':>7s} {'R^2':>7s} {'Spearman(std, |error|)':>23s}")
    reference = np.mean([figures[0] for figures in ensembles["one network"]])
    for label, figures in ensembles.items():
        seconds, r2, rho = np.mean(figures, axis=0)
        print(f"{label:30s} {seconds:8.1f} {seconds / reference:7.2f} {r2:7.4f} {rho:23.3f}")
    return {**rows, **ensembles}


def _normalized_figures(intervals, y_test, scales):
    inside, widths = [], []
    for task in range(y_test.shape[1]):
        observed = ~np.isnan(y_test[:, task])
        low, high = intervals[observed, task, 0], intervals[observed, task, 1]
        inside.append(np.mean((low <= y_test[observed, task]) & (y_test[observed, task] <= high)))
        widths.append(np.mean(high - low) / scales[task])
    return (*_coverage(inside), np.mean(widths))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data", nargs="+", default=["tox21", "sider", "physchem3", "enb2012"])
    parser.add_argument("--rows", type=int, default=None, help="use the first ROWS rows only (smoke runs)")
    parser.add_argument("--ensemble-size", type=int, default=5)
    parser.add_argument("--independent", action="store_true", help="also fit ENSEMBLE_SIZE networks one by one")
    args = parser.parse_args(argv)
    results = {}
    for name in args.data:
        X, y, kinds, _ = LOADERS[name]()
        if args.rows:
            X, y = X[: args.rows], y[: args.rows]
        kinds = set(kinds)
        if kinds == {"classification"}:
            results[name] = run_classification(name, X, y, args.seeds)
        elif kinds == {"regression"}:
            results[name] = run_regression(
                name, X, y, args.seeds, name in TABULAR, args.ensemble_size, args.independent
            )
        else:
            raise ValueError(f"{name} mixes task kinds; this benchmark takes classification or regression sets")
    return results


if __name__ == "__main__":
    main()
