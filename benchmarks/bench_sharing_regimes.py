"""Few labels per task, one label per row: the defaults against per-task and pooled models.

Regimes (each row of the training part labelled for one task only):

- ``synthetic``: ``make_multitask_classification``, 30 tasks x 150 training labels, 40 inputs,
  8 shared nonlinear features that each task mixes in its own way (``mixing_correlation=0``),
  ``noise=0.5``; scored on 2,000 fully labelled rows (mean per-task ROC-AUC), on the generator's
  draws 100, 101, ... (draws 0-2 were the validation sets the rule's constants were chosen on). Per-task
  ``LogisticRegression`` given the true shared features is the reference of what sharing can give.
- ``synthetic_alike``: the same with 40 labels per task and tasks that mix the shared features
  alike (``mixing_correlation=0.9``): one model for all is nearly right.
- ``parkinsons``: UCI Parkinsons Telemonitoring, each of the 42 patients a task, ``motor_UPDRS``
  from 18 voice measures, age and sex (``test_time`` left out: it gives the interpolated score
  away); each patient's earliest recordings train and the later ones test, cut at 60%, 70% and 80%
  of the patient's recordings (one split each); explained variance over the test rows.
- ``sarcos``: SARCOS inverse dynamics (the 4,449-row test file), 7 torques; the first 70% of the
  rows train, each keeping one random joint's torque (a new draw per split), the rest test with
  every torque (mean R^2 over the joints).

Models: per-task linear models (``LogisticRegression`` / ``RidgeCV`` behind a scaler), per-task
``HistGradientBoosting`` (SARCOS), pooled ``HistGradientBoosting`` with the task as a categorical
column, the pooled network (the same network, one column of labels: no task in its input), the
network with independent heads (``task_sharing=0``, the model before this option) and the defaults
(``task_sharing="auto"``, with how often each setting was chosen, and their fit seconds against
the independent heads': the held-out choice costs about five fits of the network). Inputs go through a
``StandardScaler`` fitted on the training rows. Split ``k`` uses ``random_state=k`` for every model.

``--check`` also shows that on the fingerprint panel's training parts (Tox21, physchem3) the
defaults make no choice and so are the model of before, exactly. Run with one torch thread::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sharing_regimes.py --splits 3 --check

``--quick`` runs small subsets with few epochs: a smoke test, not a measurement.
"""

import argparse
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskRegressor
from sklearn_mtl.datasets import make_multitask_classification

DATA = Path(__file__).resolve().parent / "data"
REGIMES = ("synthetic", "synthetic_alike", "parkinsons", "sarcos")
# (independent heads, defaults) fit seconds of each split, for the regime being run
FIT_SECONDS = []


def _one_column(y):
    """The task of each row of a one-label-per-row y, and its label."""
    task = np.argmax(~np.isnan(y), axis=1)
    return task, y[np.arange(len(y)), task]


def _network_models(make, X_train, y_train, state, quick):
    """Fitted networks: pooled, independent heads, defaults; and the defaults' choice."""
    settings = dict(random_state=state, **({"max_iter": 3, "hidden_layer_sizes": (32,)} if quick else {}))
    task, pooled_y = _one_column(y_train)
    pooled = make(**settings).fit(X_train, pooled_y)
    start = time.perf_counter()
    independent = make(**settings, task_sharing=0).fit(X_train, y_train)
    middle = time.perf_counter()
    defaults = make(**settings).fit(X_train, y_train)
    FIT_SECONDS.append((middle - start, time.perf_counter() - middle))
    scores = defaults.sharing_scores_
    choice = "no choice" if scores is None else max(scores, key=scores.get)
    return pooled, independent, defaults, choice


def synthetic(split, quick, alike=False):
    """{model: mean per-task test ROC-AUC} and the defaults' choice."""
    n_tasks, n_labels = (10, 40) if quick else (30, 40 if alike else 150)
    n_train = n_tasks * n_labels
    X, y, y_complete, shared = make_multitask_classification(
        n_samples=n_train + 2000, n_features=40, n_tasks=n_tasks, n_informative=20, n_shared_factors=8,
        noise=0.5, mixing_correlation=0.9 if alike else 0.0, one_label_per_row=True, return_complete=True,
        return_shared_features=True, random_state=100 + split,  # draws 0-2 chose the rule's constants
    )
    scaler = StandardScaler().fit(X[:n_train])
    X = scaler.transform(X)
    X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y_complete[n_train:]
    task, label = _one_column(y_train)

    def auc(scores):
        return float(np.mean([roc_auc_score(y_test[:, t], s) for t, s in enumerate(scores)]))

    results = {}
    results["per-task LogisticRegression"] = auc(
        [LogisticRegression().fit(X_train[task == t], label[task == t]).predict_proba(X_test)[:, 1]
         for t in range(n_tasks)]
    )
    results["per-task LogisticRegression, true shared features"] = auc(
        [LogisticRegression().fit(shared[:n_train][task == t], label[task == t]).predict_proba(shared[n_train:])[:, 1]
         for t in range(n_tasks)]
    )
    boosting = HistGradientBoostingClassifier(categorical_features=[X.shape[1]], random_state=split)
    boosting.fit(np.column_stack([X_train, task]), label)
    results["pooled HistGradientBoosting, task as category"] = auc(
        [boosting.predict_proba(np.column_stack([X_test, np.full(len(X_test), t)]))[:, 1] for t in range(n_tasks)]
    )
    pooled, independent, defaults, choice = _network_models(MaskedMultiTaskClassifier, X_train, y_train, split, quick)
    results["pooled network"] = auc([pooled.predict_proba(X_test)[:, 1]] * n_tasks)
    results["independent heads (task_sharing=0)"] = auc([p[:, 1] for p in independent.predict_proba(X_test)])
    results["defaults (task_sharing='auto')"] = auc([p[:, 1] for p in defaults.predict_proba(X_test)])
    return results, choice


def parkinsons(split, quick):
    """{model: explained variance over the test rows} and the defaults' choice."""
    table = pd.read_csv(DATA / "parkinsons_updrs.csv")
    features = [c for c in table.columns if c not in ("subject#", "test_time", "motor_UPDRS", "total_UPDRS")]
    patients = np.sort(table["subject#"].unique())
    task = np.searchsorted(patients, table["subject#"].to_numpy())
    if quick:
        keep = task < 6
        table, task, patients = table[keep], task[keep], patients[:6]
    target = table["motor_UPDRS"].to_numpy(float)
    time_rank = table.groupby("subject#")["test_time"].rank(pct=True).to_numpy()
    train = time_rank <= (0.6, 0.7, 0.8)[split % 3]
    X = StandardScaler().fit(table[features][train]).transform(table[features]).astype(np.float32)
    y = np.full((len(X), len(patients)), np.nan)
    y[np.arange(len(X)), task] = target

    def explained(predictions):
        truth = target[~train]
        return float(1 - np.sum((truth - predictions) ** 2) / np.sum((truth - truth.mean()) ** 2))

    results = {}
    linear = np.empty((~train).sum())
    for t in range(len(patients)):
        mine = train & (task == t)
        ridge = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13))).fit(X[mine], target[mine])
        linear[task[~train] == t] = ridge.predict(X[~train][task[~train] == t])
    results["per-task RidgeCV"] = explained(linear)
    boosting = HistGradientBoostingRegressor(categorical_features=[X.shape[1]], random_state=split)
    boosting.fit(np.column_stack([X[train], task[train]]), target[train])
    results["pooled HistGradientBoosting, task as category"] = explained(
        boosting.predict(np.column_stack([X[~train], task[~train]]))
    )
    pooled, independent, defaults, choice = _network_models(MaskedMultiTaskRegressor, X[train], y[train], split, quick)
    test_rows = np.arange((~train).sum())
    results["pooled network"] = explained(pooled.predict(X[~train]))
    results["independent heads (task_sharing=0)"] = explained(independent.predict(X[~train])[test_rows, task[~train]])
    results["defaults (task_sharing='auto')"] = explained(defaults.predict(X[~train])[test_rows, task[~train]])
    return results, choice


def sarcos(split, quick):
    """{model: mean test R^2 over the 7 torques} and the defaults' choice."""
    table = pd.read_csv(DATA / "sarcos_test.csv")
    if quick:
        table = table.iloc[:700]
    X, Y = table.iloc[:, :21].to_numpy(float), table.iloc[:, 21:].to_numpy(float)
    n_train = int(0.7 * len(X))
    X = StandardScaler().fit(X[:n_train]).transform(X).astype(np.float32)
    joint = np.random.RandomState(split).randint(7, size=n_train)
    y_train = np.full((n_train, 7), np.nan)
    y_train[np.arange(n_train), joint] = Y[np.arange(n_train), joint]
    X_train, X_test, Y_test = X[:n_train], X[n_train:], Y[n_train:]

    def r2(predictions):
        return float(np.mean([r2_score(Y_test[:, j], predictions[:, j]) for j in range(7)]))

    def per_joint(model):
        return np.column_stack(
            [model().fit(X_train[joint == j], y_train[joint == j, j]).predict(X_test) for j in range(7)]
        )

    results = {}
    results["per-task RidgeCV"] = r2(per_joint(lambda: RidgeCV(alphas=np.logspace(-3, 3, 13))))
    results["per-task HistGradientBoosting"] = r2(per_joint(lambda: HistGradientBoostingRegressor(random_state=split)))
    boosting = HistGradientBoostingRegressor(categorical_features=[21], random_state=split)
    boosting.fit(np.column_stack([X_train, joint]), y_train[np.arange(n_train), joint])
    results["pooled HistGradientBoosting, task as category"] = r2(
        np.column_stack([boosting.predict(np.column_stack([X_test, np.full(len(X_test), j)])) for j in range(7)])
    )
    pooled, independent, defaults, choice = _network_models(MaskedMultiTaskRegressor, X_train, y_train, split, quick)
    results["pooled network"] = r2(np.repeat(pooled.predict(X_test)[:, None], 7, axis=1))
    results["independent heads (task_sharing=0)"] = r2(independent.predict(X_test))
    results["defaults (task_sharing='auto')"] = r2(defaults.predict(X_test))
    return results, choice


RUNS = {
    "synthetic": lambda split, quick: synthetic(split, quick),
    "synthetic_alike": lambda split, quick: synthetic(split, quick, alike=True),
    "parkinsons": parkinsons,
    "sarcos": sarcos,
}


def check_panel_untouched():
    """Whether the defaults make a choice on the training parts of Tox21 and physchem3 (90% of the rows)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from real_data_panel import LOADERS, train_test_indices

    made = {}
    for name in ("tox21", "physchem3"):
        X, Y, kinds, _ = LOADERS[name]()
        train, _ = train_test_indices(len(X))
        make = MaskedMultiTaskClassifier if kinds[0] == "classification" else MaskedMultiTaskRegressor
        # one epoch of a small network: the choice is made (or not) before training, from the labels
        model = make(hidden_layer_sizes=(8,), max_iter=1, random_state=0).fit(X[train], Y[train])
        made[name] = (model.sharing_scores_ is not None, model.task_sharing_, model.net_.l2)
    return made


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--regimes", nargs="+", choices=REGIMES, default=list(REGIMES))
    parser.add_argument("--check", action="store_true", help="show that the fingerprint panel's defaults are kept")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)
    summary = {}
    for regime in args.regimes:
        runs, choices, start = [], Counter(), time.perf_counter()
        FIT_SECONDS.clear()
        for split in range(args.splits):
            results, choice = RUNS[regime](split, args.quick)
            runs.append(results)
            choices[choice] += 1
        means = {model: float(np.mean([run[model] for run in runs])) for model in runs[0]}
        print(f"\n{regime}: means over {args.splits} splits ({time.perf_counter() - start:.0f} s)")
        for model, mean in means.items():
            values = " ".join(f"{run[model]:.4f}" for run in runs)
            print(f"  {model:50s} {mean:.4f}   ({values})")
        independent_s, defaults_s = np.sum(FIT_SECONDS, axis=0)
        print(f"  defaults chose: {dict(choices)}")
        print(f"  fit seconds, independent heads {independent_s:.1f}, defaults {defaults_s:.1f} "
              f"(ratio {defaults_s / independent_s:.1f})")
        summary[regime] = {"means": means, "choices": dict(choices), "fit_ratio": defaults_s / independent_s}
    if args.check:
        for name, (chose, task_sharing, l2) in check_panel_untouched().items():
            print(f"\n{name}: choice made: {chose}; task_sharing_={task_sharing}, L2 coefficient {l2}")
            summary[f"{name} check"] = chose
    return summary


if __name__ == "__main__":
    main()
