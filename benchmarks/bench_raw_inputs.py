"""Inputs in their own units: the defaults on the raw X against themselves behind a scaler and per-task baselines.

A gradient-boosting user never scales, and a chemist's first features are RDKit's descriptors
(from 1e-3 to beyond 1e30). Each set of ``real_data_panel.RAW_LOADERS`` is fitted, as a user has
it, by:

- the package's defaults on the raw X (``input_transform="auto"`` brings each column to a
  common scale inside the estimator);
- the same with ``input_transform="none"`` (the network reads X as given: what the defaults did
  before the transform);
- the defaults behind scikit-learn's ``StandardScaler``, and behind a ``QuantileTransformer``
  (normal output) with ``--quantile``;
- per-task ``HistGradientBoosting*`` on the raw X, and per-task ``Ridge`` / ``LogisticRegression``
  behind a ``StandardScaler``, their strength chosen per task on an inner split.

Splits: the chemistry sets and enb2012 are split 90/10 at random (``RandomState(seed)``); the
Parkinson's recordings (patients as tasks, one label per row) by time within each patient and
SARCOS by time (first 70% to train), so their split is the same for every seed. Each seed is also
the ``random_state`` of every model. ``--split valid`` scores on the validation split of the
training part (inner 80/20, by time for the time-ordered sets): choose settings there, never on
the test part. Metric: mean over tasks of ROC-AUC or R^2; Parkinson's is scored by explained
variance over all test rows (1 - SSE/SST, as in the data's README), since a patient's own test rows
vary little. Run with one torch thread::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_raw_inputs.py --seeds 0 1 2

``--config name='{...}'`` adds the package with changed parameters on the raw X; ``--quick``
subsamples and runs 3 epochs (a smoke test, not a measurement).
"""

import argparse
import json
import time
import warnings

import numpy as np
import torch
from bench_real_data import inner_split, run_boosting, run_linear, scorable, task_score
from real_data_panel import RAW_LOADERS, TIME_SPLITS, time_split_indices, train_test_indices
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import QuantileTransformer, StandardScaler

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskRegressor

# scored by explained variance over all test rows rather than the mean of per-task R^2
POOLED = {"parkinsons"}


def parts(name, split, seed, quick):
    """``(X_fit, Y_fit, X_eval, Y_eval, kind)`` of one set."""
    X, Y, kinds, _ = RAW_LOADERS[name]()
    kind = kinds[0]
    if name in TIME_SPLITS:
        train, test = time_split_indices(name, np.arange(len(X)))
        if split == "valid":
            train, test = time_split_indices(name, train, test_fraction=0.2)
    else:
        labelled = np.flatnonzero(~np.isnan(Y).all(axis=1))
        train, test = (labelled[part] for part in train_test_indices(len(labelled), seed=seed))
        if split == "valid":
            fit_rows, valid_rows = inner_split(len(train))
            train, test = train[fit_rows], train[valid_rows]
    if quick:
        train = np.random.RandomState(0).permutation(train)[:600]
    return X[train], Y[train], X[test], Y[test], kind


def pooled_explained_variance(Y, predictions):
    observed = ~np.isnan(Y)
    truth, predicted = Y[observed], predictions[observed]
    return 1 - np.sum((truth - predicted) ** 2) / np.sum((truth - truth.mean()) ** 2)


def evaluate(name, kind, model_outputs, Y):
    """The set's metric of predictions: mean over tasks, or pooled explained variance."""
    if name in POOLED:
        return pooled_explained_variance(Y, model_outputs)
    scores = []
    for task in range(Y.shape[1]):
        rows = ~np.isnan(Y[:, task])
        if scorable(kind, Y[rows, task]):
            scores.append(task_score(kind, Y[rows, task], model_outputs[rows, task]))
    return float(np.mean(scores))


def package_outputs(model, kind, X):
    if kind == "classification":
        return np.column_stack([proba[:, 1] for proba in model.predict_proba(X)])
    return model.predict(X)


def per_task_outputs(models, kind, X, n_tasks):
    outputs = np.full((len(X), n_tasks), np.nan)
    for task, model in enumerate(models):
        if model is not None:
            outputs[:, task] = model.predict_proba(X)[:, 1] if kind == "classification" else model.predict(X)
    return outputs


def models_of(kind, configs, quantile, quick, random_state):
    estimator = MaskedMultiTaskClassifier if kind == "classification" else MaskedMultiTaskRegressor
    extra = {"max_iter": 3} if quick else {}

    def package(**params):
        return estimator(random_state=random_state, **extra, **params)

    models = {
        "defaults (raw X)": package(),
        "input_transform='none' (raw X)": package(input_transform="none"),
        "StandardScaler + defaults": make_pipeline(StandardScaler(), package()),
    }
    if quantile:
        models["QuantileTransformer + defaults"] = make_pipeline(
            QuantileTransformer(output_distribution="normal", random_state=random_state), package()
        )
    for config, params in configs.items():
        models[config] = package(**params)
    return models


def timed(fit_and_predict, name, kind, Y_eval):
    """``(score, fit and predict seconds, None)``, or ``(nan, seconds, the error)`` for a model that
    fails on the raw X (a StandardScaler's variance overflows on SIDER's descriptors; a network
    reading 1e30 diverges): the table says so rather than stopping."""
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            outputs = fit_and_predict()
        return evaluate(name, kind, outputs, Y_eval), time.perf_counter() - start, None
    except ValueError as error:
        return np.nan, time.perf_counter() - start, str(error).split(".")[0][:60]


def benchmark(name, args, configs, seed):
    X, Y, X_eval, Y_eval, kind = parts(name, args.split, seed, args.quick)
    results = {}
    if not args.skip_baselines:
        for row, run in {
            "per-task boosting (raw X)": lambda: run_boosting(kind, X, Y, 10 if args.quick else 100, seed),
            "per-task linear (scaled)": lambda: run_linear(kind, X, Y, tabular=True),
        }.items():
            results[row] = timed(lambda run=run: per_task_outputs(run(), kind, X_eval, Y.shape[1]), name, kind, Y_eval)
    for row, model in models_of(kind, configs, args.quantile, args.quick, seed).items():
        results[row] = timed(lambda model=model: package_outputs(model.fit(X, Y), kind, X_eval), name, kind, Y_eval)
    metric = "explained variance" if name in POOLED else ("ROC-AUC" if kind == "classification" else "R^2")
    print(f"\n{name}: {Y.shape[1]} {kind} tasks, {X.shape[1]} raw columns, {len(X)} rows to fit, "
          f"{len(X_eval)} to score ({args.split}, seed {seed})")
    print(f"{'model':<34} {metric:>18} {'fit s':>7}  (fit and predict)")
    for row, (score, seconds, error) in results.items():
        print(f"{row:<34} {score:>18.4f} {seconds:>7.1f}" + (f"  fails: {error}" if error else ""))
    return {row: {"score": score, "fit_s": seconds} for row, (score, seconds, _) in results.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="*", default=list(RAW_LOADERS), choices=list(RAW_LOADERS))
    parser.add_argument("--split", choices=["test", "valid"], default="test")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--quantile", action="store_true", help="also the defaults behind a QuantileTransformer")
    parser.add_argument("--config", action="append", default=[], help="name='{json parameters}'")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--quick", action="store_true", help="small subsets, 3 epochs: a smoke test")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    configs = dict(config.split("=", 1) for config in args.config)
    configs = {name: json.loads(params) for name, params in configs.items()}
    summary = {}
    for name in args.data:
        runs = [benchmark(name, args, configs, seed) for seed in args.seeds]
        print(f"\n{name}: means over seeds {' '.join(map(str, args.seeds))} ({args.split})")
        summary[name] = {}
        for row in runs[0]:
            scores = np.array([run[row]["score"] for run in runs])  # NaN where a fit failed
            seconds = float(np.mean([run[row]["fit_s"] for run in runs]))
            summary[name][row] = {"mean": float(scores.mean()), "std": float(scores.std()), "fit_s": seconds}
            print(f"{row:<34} {scores.mean():>12.4f} +- {scores.std():.4f} {seconds:>7.1f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(summary, handle, indent=1)
    return summary


if __name__ == "__main__":
    main()
