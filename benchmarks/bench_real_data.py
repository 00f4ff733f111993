"""Real data with missing labels: the package's defaults against the best per-task baselines.

For each data set of the panel (``real_data_panel.py``) and each kind of task in it, one table:

- per-task linear model: ``LogisticRegression`` / ``Ridge`` on each task's labelled rows, with C
  or alpha chosen on an inner validation split of the training part, then refitted on all of it;
- per-task random forest on each task's labelled rows;
- per-task ``HistGradientBoostingClassifier`` / ``HistGradientBoostingRegressor`` (scikit-learn's
  LightGBM-like gradient boosting, defaults): a quality and a speed anchor;
- the package with its defaults (plus ``random_state``), and any ``--config`` given.

It prints the mean test metric over tasks (ROC-AUC, R^2, or PRC-AUC for the rare-positive set),
how many tasks each model wins and loses against the best baseline of the run, fit seconds and
epochs. ``--seeds 0 1 2`` repeats everything on three random 90/10 splits and ends with a table
of the means over them: quote those, a single test part of a few hundred rows decides nothing.
Run with one torch thread, as CI::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_real_data.py --seeds 0 1 2 --config previous

``--config previous`` adds the recipe the defaults replaced (a constant learning rate of 1e-3 for up
to 200 epochs, early stopping on a held-out split from 300 validation labels of the median task,
no indicator columns for levels, no dropout in the mixed estimator), so that both are measured in
one run.

``--split valid`` scores on an inner validation split of the training part instead of the test
part: defaults are chosen there, never on the test part. ``--config name='{"alpha": 0}'`` adds
the package with changed parameters (the ablation in the user guide is run this way).
``--mixed`` also fits one ``MaskedMultiTaskEstimator`` on all the tasks of a set with both kinds
(mixed5) and scores it in each kind's table; the split is then made on the rows labelled for any
task, so that every model of both tables is scored on the same rows.
``muv`` (MUV: 93,087 molecules, 17 tasks of 24 to 30 positives among about 14,500 labels each) is
rare positives at scale; run it alone with ``--data muv --baselines linear`` (its X is sparse).
``tox21_rare`` is Tox21 with all but 25 positives of each task's training part made missing
(drawn at random, seed 0; the test part keeps its labels): a few dozen actives among thousands of
inactives, as in high-throughput screens, scored by PRC-AUC (average precision).
``--random-states 0 1 2`` fits every model (the forests and boosting too) with each of these
``random_state`` values on each split and averages over all the fits: on mixed5, ``random_state``
alone moved a three-split mean by up to 0.006, as much as the differences between models.
``--quick`` runs small subsets with few epochs: a smoke test, not a
measurement.
"""

import argparse
import importlib
import json
import time
import warnings

import numpy as np
import torch
from real_data_panel import LOADERS, METRICS, TABULAR, TRAIN_LABELS, train_test_indices
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import average_precision_score, r2_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskEstimator, MaskedMultiTaskRegressor

LINEAR_GRID = {"classification": [0.01, 0.03, 0.1, 0.3, 1.0], "regression": [0.1, 1.0, 10.0, 100.0]}


def inner_split(n_samples, fraction=0.2, seed=1):
    """A validation split of a training part: ``(fit rows, validation rows)``."""
    order = np.random.RandomState(seed).permutation(n_samples)
    n_valid = int(round(fraction * n_samples))
    return order[n_valid:], order[:n_valid]


SCORERS = {"ROC-AUC": roc_auc_score, "PRC-AUC": average_precision_score, "R^2": r2_score}


def metric_name(name, kind):
    return METRICS.get(name, "ROC-AUC" if kind == "classification" else "R^2")


def task_score(kind, truth, model_output, metric=None):
    return SCORERS[metric or metric_name(None, kind)](truth, model_output)


def scorable(kind, truth):
    return len(truth) >= 2 and (kind == "regression" or len(np.unique(truth)) == 2)


def linear_model(kind, strength, tabular):
    model = LogisticRegression(C=strength, max_iter=2000) if kind == "classification" else Ridge(alpha=strength)
    return make_pipeline(StandardScaler(), model) if tabular else model


def per_task_output(model, kind, X):
    return model.predict_proba(X)[:, 1] if kind == "classification" else model.predict(X)


def fit_per_task(make_model, kind, X, Y):
    """One model per task on its labelled rows (None for a task that cannot be fitted)."""
    models = []
    for task in range(Y.shape[1]):
        rows = ~np.isnan(Y[:, task])
        if kind == "classification" and len(np.unique(Y[rows, task])) < 2:
            models.append(None)
            continue
        models.append(make_model().fit(X[rows], Y[rows, task]))
    return models


def per_task_scores(models, kind, X, Y, metric):
    scores = np.full(Y.shape[1], np.nan)
    for task, model in enumerate(models):
        rows = ~np.isnan(Y[:, task])
        if model is not None and scorable(kind, Y[rows, task]):
            scores[task] = task_score(kind, Y[rows, task], per_task_output(model, kind, X[rows]), metric)
    return scores


def run_linear(kind, X, Y, tabular):
    """Per-task linear model, its strength chosen per task on an inner split of (X, Y)."""
    fit_rows, valid_rows = inner_split(X.shape[0], seed=2)
    grid = LINEAR_GRID[kind]
    choices = []
    for task in range(Y.shape[1]):
        best, best_score = grid[len(grid) // 2], -np.inf
        train = fit_rows[~np.isnan(Y[fit_rows, task])]
        valid = valid_rows[~np.isnan(Y[valid_rows, task])]
        if scorable(kind, Y[valid, task]) and scorable(kind, Y[train, task]):
            for strength in grid:
                model = linear_model(kind, strength, tabular).fit(X[train], Y[train, task])
                score = task_score(kind, Y[valid, task], per_task_output(model, kind, X[valid]))
                if score > best_score:
                    best, best_score = strength, score
        choices.append(best)
    choices = iter(choices)
    return fit_per_task(lambda: linear_model(kind, next(choices), tabular), kind, X, Y)


def run_forest(kind, X, Y, n_estimators, random_state=0):
    forest = RandomForestClassifier if kind == "classification" else RandomForestRegressor
    # one thread, as every other model here: fit seconds compare alike
    return fit_per_task(lambda: forest(n_estimators=n_estimators, n_jobs=1, random_state=random_state), kind, X, Y)


def run_boosting(kind, X, Y, max_iter, random_state=0):
    boosting = HistGradientBoostingClassifier if kind == "classification" else HistGradientBoostingRegressor
    return fit_per_task(lambda: boosting(max_iter=max_iter, random_state=random_state), kind, X, Y)


def package_scores(model, kind, X, Y, metric, columns=None):
    """Scores of the model's tasks ``columns`` (all of them by default) against the columns of Y."""
    columns = range(Y.shape[1]) if columns is None else columns
    scores = np.full(Y.shape[1], np.nan)
    outputs = model.predict_proba(X) if kind == "classification" else model.predict(X)
    for task, column in enumerate(columns):
        rows = ~np.isnan(Y[:, task])
        if scorable(kind, Y[rows, task]):
            output = outputs[column][rows, 1] if kind == "classification" else outputs[rows, column]
            scores[task] = task_score(kind, Y[rows, task], output.astype(np.float64), metric)
    return scores


def run_package(kind, params, tabular, random_state=0):
    estimator = {
        "classification": MaskedMultiTaskClassifier,
        "regression": MaskedMultiTaskRegressor,
        None: MaskedMultiTaskEstimator,
    }[kind]
    model = estimator(random_state=random_state, **params)
    return make_pipeline(StandardScaler(), model) if tabular else model


def parts(name, kind, split, quick, seed=0, all_rows=False):
    """``(X_fit, Y_fit, X_eval, Y_eval)`` of one kind of task of one data set (every task: kind None).

    The rows are those labelled for a task of that kind, or for any task with ``all_rows``.
    """
    X, Y, kinds, _ = LOADERS[name]()
    columns = [task for task, task_kind in enumerate(kinds) if kind in (None, task_kind)]
    labelled = ~np.isnan(Y if all_rows else Y[:, columns]).all(axis=1)
    Y = Y[:, columns]
    X, Y = X[labelled], Y[labelled]
    if quick:
        keep = np.random.RandomState(0).permutation(X.shape[0])[:600]
        X, Y = X[keep], Y[keep]
    train, test = train_test_indices(X.shape[0], seed=seed)
    if split == "valid":
        fit_rows, valid_rows = inner_split(len(train))
        train, test = train[fit_rows], train[valid_rows]
    Y_fit = TRAIN_LABELS[name](Y[train]) if name in TRAIN_LABELS else Y[train]
    return X[train], Y_fit, X[test], Y[test]


def previous_defaults(kind, Y):
    """The recipe the defaults replaced, in explicit parameters: a constant learning rate of 1e-3 for up
    to 200 epochs, early stopping when the split would hold 300 labels of the median task, no
    indicator columns for levels, and no dropout in the mixed estimator (``kind`` None). Without a
    split it stops when the training loss has not improved by ``tol`` for 20 epochs, as it did."""
    labels = (~np.isnan(Y)).sum(axis=0)
    params = {
        "learning_rate_init": 1e-3,
        "learning_rate_schedule": "constant",
        "max_iter": 200,
        "early_stopping": bool(0.1 * np.median(labels) >= 300),
        "n_iter_no_change": 20,
        "input_encoding": "none",
    }
    if kind is None:
        params.update(dropout=0.0, input_dropout=0.0)
    return params


def fit_package(kind, params, tabular, X, Y, quick, random_state=0):
    """The package fitted with ``params``: ``(model, fit seconds, epochs)``."""
    if params == "previous":
        params = previous_defaults(kind, Y)
    params = {**params, "max_iter": 3} if quick else params
    model = run_package(kind, params, tabular, random_state)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, Y)
    seconds = time.perf_counter() - start
    return model, seconds, model[-1].n_iter_ if hasattr(model, "steps") else model.n_iter_


def fit_mixed(name, args, configs, seed, random_state=0):
    """One MaskedMultiTaskEstimator per config on every task of the set: ``{config: (model, s, epochs)}``."""
    X, Y, _, _ = parts(name, None, args.split, args.quick, seed, all_rows=True)
    return {
        config: fit_package(None, params, name in TABULAR, X, Y, args.quick, random_state)
        for config, params in configs.items()
    }


def benchmark(name, kind, args, configs, seed, mixed=None, random_state=0):
    X, Y, X_eval, Y_eval = parts(name, kind, args.split, args.quick, seed, all_rows=mixed is not None)
    tabular = name in TABULAR
    metric = metric_name(name, kind)
    rows = {}
    timings, epochs = {}, {}
    if not args.skip_baselines:
        baselines = {
            "linear": lambda: run_linear(kind, X, Y, tabular),
            "forest": lambda: run_forest(kind, X, Y, 10 if args.quick else 100, random_state),
            "boosting": lambda: run_boosting(kind, X, Y, 10 if args.quick else 100, random_state),
        }
        for baseline in args.baselines:
            row, run = f"per-task {baseline}", baselines[baseline]
            start = time.perf_counter()
            models = run()
            timings[row] = time.perf_counter() - start
            rows[row] = per_task_scores(models, kind, X_eval, Y_eval, metric)
    for config, params in configs.items():
        model, timings[config], epochs[config] = fit_package(kind, params, tabular, X, Y, args.quick, random_state)
        rows[config] = package_scores(model, kind, X_eval, Y_eval, metric)
    if mixed is not None:
        kinds = LOADERS[name]()[2]
        columns = [task for task, task_kind in enumerate(kinds) if task_kind == kind]
        for config, (model, seconds, n_epochs) in mixed.items():
            row = f"{config} (all tasks)"
            rows[row] = package_scores(model, kind, X_eval, Y_eval, metric, columns)
            timings[row], epochs[row] = seconds, n_epochs
    baselines = [row for row in rows if row.startswith("per-task")]
    best = max(baselines, key=lambda row: np.nanmean(rows[row])) if baselines else None
    split = f"{args.split}, split seed {seed}, random_state {random_state}"
    print(f"\n{name}, {Y.shape[1]} {kind} tasks, {X.shape[0]} rows to fit, {X_eval.shape[0]} to score ({split})")
    print(f"{'model':<28} {'mean ' + metric:>13} {'wins':>5} {'losses':>6} {'fit s':>7} {'epochs':>6}")
    results = {}
    for row, scores in rows.items():
        mean = float(np.nanmean(scores))
        if best is not None and row != best:
            defined = np.isfinite(scores) & np.isfinite(rows[best])
            wins = int((scores[defined] > rows[best][defined]).sum())
            losses = int((scores[defined] < rows[best][defined]).sum())
            versus = f"{wins:>5} {losses:>6}"
        else:
            versus = f"{'best' if row == best else '':>5} {'':>6}"
        print(f"{row:<28} {mean:>13.4f} {versus} {timings[row]:>7.1f} {epochs.get(row, ''):>6}")
        results[row] = {"mean": mean, "fit_s": timings[row], "epochs": epochs.get(row), "per_task": scores.tolist()}
    return results


def summarize(runs, args):
    """The means over the splits of each table's rows: ``{table: {row: {mean, std, fit_s, epochs}}}``."""
    summary = {}
    for table in runs[0]:
        name, kind = table.rsplit(" ", 1)
        metric = metric_name(name, kind)
        seeds, states = " ".join(map(str, args.seeds)), " ".join(map(str, args.random_states))
        print(f"\n{table}: means over {len(runs)} fits (split seeds {seeds}; random states {states}; {args.split})")
        print(f"{'model':<32} {'mean ' + metric:>13} {'std':>7} {'fit s':>7} {'epochs':>6}")
        summary[table] = {}
        for row in runs[0][table]:
            means = np.array([run[table][row]["mean"] for run in runs])
            fit_s = float(np.mean([run[table][row]["fit_s"] for run in runs]))
            n_epochs = [run[table][row]["epochs"] for run in runs if run[table][row]["epochs"] is not None]
            mean_epochs = float(np.mean(n_epochs)) if n_epochs else None
            summary[table][row] = {"mean": float(means.mean()), "std": float(means.std()), "fit_s": fit_s}
            summary[table][row]["epochs"] = mean_epochs
            shown = "" if mean_epochs is None else f"{mean_epochs:.0f}"
            print(f"{row:<32} {means.mean():>13.4f} {means.std():>7.4f} {fit_s:>7.1f} {shown:>6}")
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # muv (93,087 rows of sparse X) is run on its own: --data muv --baselines linear
    default_data = [name for name in LOADERS if name != "muv"]
    parser.add_argument("--data", nargs="*", default=default_data, choices=list(LOADERS))
    parser.add_argument("--kind", choices=["classification", "regression"], help="only this kind of task")
    parser.add_argument("--split", choices=["test", "valid"], default="test")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="seeds of the train/test permutations (quote >= 3)"
    )
    parser.add_argument(
        "--random-states", type=int, nargs="+", default=[0], help="random_state of every model, each on each split"
    )
    parser.add_argument("--quick", action="store_true", help="small subsets, 3 epochs: a smoke test")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument(
        "--baselines", nargs="+", default=["linear", "forest", "boosting"], choices=["linear", "forest", "boosting"]
    )
    parser.add_argument("--no-defaults", action="store_true", help="run only the --config models")
    parser.add_argument(
        "--config", action="append", default=[], help="name=JSON of estimator parameters, or 'previous'"
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--mixed", action="store_true", help="also fit MaskedMultiTaskEstimator on all tasks of sets with both kinds"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    # torch imports torch._dynamo when the process builds its first optimizer (about 1.5 s here, once
    # per process): done before timing, so that it does not fall on whichever model is fitted first
    importlib.import_module("torch._dynamo")
    configs = {} if args.no_defaults else {"sklearn_mtl defaults": {}}
    for config in args.config:
        label, _, params = config.partition("=")
        configs[label] = "previous" if config == "previous" else json.loads(params)
    runs = []
    for seed in args.seeds:
        for state in args.random_states:
            results = {}
            for name in args.data:
                _, Y, kinds, _ = LOADERS[name]()
                mixed = fit_mixed(name, args, configs, seed, state) if args.mixed and len(set(kinds)) > 1 else None
                for kind in dict.fromkeys(kinds):
                    if args.kind not in (None, kind):
                        continue
                    results[f"{name} {kind}"] = benchmark(name, kind, args, configs, seed, mixed, state)
            runs.append(results)
    summary = summarize(runs, args) if len(runs) > 1 else None
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"splits": runs, "summary": summary}, file, indent=1)
    return runs[0] if summary is None else summary


if __name__ == "__main__":
    main()
