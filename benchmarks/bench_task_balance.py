"""Does task weighting help the tasks that equal weights serve badly? Per-task test scores, side by side.

What it measures
----------------
``MaskedMultiTaskClassifier`` is fitted with each of these settings, everything else equal:

* ``equal``: the default (``task_weighting="equal"``, per-task loss normalization);
* ``uncertainty``, ``dwa``, ``gradnorm``, ``pcgrad``: the automatic strategies of
  :mod:`sklearn_mtl.weighting`, through ``task_weighting=<name>``;
* ``class_weight``: ``class_weight="balanced"`` (per task, from its observed labels);
* ``task_balanced``: ``sampling="task_balanced"`` (each task's labels drawn equally often).

Synthetic mode (the default)
    Four related binary tasks whose signal comes from one shared low-dimensional projection of X
    (``tanh(X @ P)``, 4 dimensions out of 30 features) plus a small task-specific part and noise.
    ``common`` is labelled on every training row (4000), ``scarce`` on 1% as many rows (40),
    ``medium`` on 20%, and ``rare_pos`` is 3% positive (labelled on 60% of rows). The test set
    (4000 rows) is fully labelled. Each task's test ROC-AUC is printed (average precision for
    ``rare_pos``, where ROC-AUC hides how few positives are found), as mean +- sd over seeds; each
    seed draws a new data set and a new initialization.

Tox21 mode (``--tox21``)
    The 7831 molecules and 12 assays of Tox21, 2048-bit Morgan fingerprints (radius 2), from
    :func:`sklearn_mtl.datasets.load_tox21` when it exists, else computed here from
    ``/work/shared/data/tox21.csv`` with RDKit (``pip install rdkit``), dropping the SMILES that
    RDKit cannot sanitize. Per seed, a random 80/10/10 split: the estimator's early stopping holds
    out the 10% validation part (``validation_fraction=1/9`` of the 90% it is given), and the mean
    test ROC-AUC over the 12 tasks is printed, as mean +- sd over seeds (split and initialization
    both change with the seed).

How to run
----------
::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_task_balance.py            # about 1-2 min
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_task_balance.py --tox21    # about 8 min
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_task_balance.py --seeds 2 --settings equal pcgrad

These are figures to read, not a pass/fail test: a strategy that does not help is a result.
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import average_precision_score, roc_auc_score

from sklearn_mtl import MaskedMultiTaskClassifier

torch.set_num_threads(1)

SETTINGS = {
    "equal": {},
    "uncertainty": {"task_weighting": "uncertainty"},
    "dwa": {"task_weighting": "dwa"},
    "gradnorm": {"task_weighting": "gradnorm"},
    "pcgrad": {"task_weighting": "pcgrad"},
    "class_weight": {"class_weight": "balanced"},
    "task_balanced": {"sampling": "task_balanced"},
}

SYNTHETIC_TASKS = ["common", "scarce", "medium", "rare_pos"]
SYNTHETIC_PARAMS = dict(hidden_layer_sizes=(64,), batch_size=200, max_iter=40, n_iter_no_change=40, tol=0.0)
TOX21_PARAMS = dict(
    hidden_layer_sizes=(256,),
    dropout=0.2,
    batch_size=128,
    max_iter=30,
    early_stopping=True,
    validation_fraction=1 / 9,
    n_iter_no_change=4,
    tol=0.0,
)


def make_synthetic(seed, n_train=4000, n_test=4000, n_features=30, n_latent=4):
    """Related tasks with very different label counts and one rare-positive task."""
    rng = np.random.RandomState(seed)
    projection = rng.normal(size=(n_features, n_latent)) / np.sqrt(n_features)
    shared_direction = rng.normal(size=n_latent)
    X = rng.normal(size=(n_train + n_test, n_features))
    latent = np.tanh(2 * X @ projection)
    columns = []
    for task in SYNTHETIC_TASKS:
        direction = shared_direction + 0.5 * rng.normal(size=n_latent)
        score = latent @ direction + 0.3 * X @ (rng.normal(size=n_features) / np.sqrt(n_features))
        score = score / score.std() + 0.5 * rng.normal(size=len(X))
        quantile = 0.97 if task == "rare_pos" else 0.5
        columns.append((score > np.quantile(score, quantile)).astype(float))
    y = np.column_stack(columns)
    X_train, X_test, y_train, y_test = X[:n_train], X[n_train:], y[:n_train].copy(), y[n_train:]
    labelled_fraction = {"common": 1.0, "scarce": 0.01, "medium": 0.2, "rare_pos": 0.6}
    for task, name in enumerate(SYNTHETIC_TASKS):
        n_labelled = int(round(labelled_fraction[name] * n_train))
        missing = rng.permutation(n_train)[n_labelled:]
        y_train[missing, task] = np.nan
    return X_train, y_train, X_test, y_test


def task_scores(clf, X_test, y_test, metrics):
    """One test score per task, on its observed labels."""
    probabilities = clf.predict_proba(X_test)
    scores = []
    for task, metric in enumerate(metrics):
        observed = ~np.isnan(y_test[:, task])
        scores.append(metric(y_test[observed, task], probabilities[task][observed, 1]))
    return scores


def fit_and_score(setting, params, seed, X_train, y_train, X_test, y_test, metrics):
    clf = MaskedMultiTaskClassifier(**params, **SETTINGS[setting], random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    return task_scores(clf, X_test, y_test, metrics), time.perf_counter() - start, clf.n_iter_


def print_table(title, columns, results, settings, delta_column):
    """``results[setting]`` is a list (over seeds) of (scores per column, seconds, epochs); 'vs equal' is
    the mean over seeds of the paired difference with ``equal`` in column ``delta_column``."""
    print(f"\n{title}")
    header = f"{'setting':<14}" + "".join(f"{c:>16}" for c in columns) + f"{'vs equal':>10}{'s/fit':>8}{'epochs':>8}"
    print(header)
    print("-" * len(header))
    reference = np.array([r[0] for r in results["equal"]]) if "equal" in results else None
    for setting in settings:
        scores = np.array([r[0] for r in results[setting]])
        seconds = np.mean([r[1] for r in results[setting]])
        epochs = np.mean([r[2] for r in results[setting]])
        cells = "".join(f"{m:>9.3f} +-{s:.3f}" for m, s in zip(scores.mean(0), scores.std(0), strict=True))
        delta = "" if reference is None else f"{(scores - reference)[:, delta_column].mean():>+10.3f}"
        print(f"{setting:<14}{cells}{delta}{seconds:>8.1f}{epochs:>8.1f}")


def run_synthetic(seeds, settings):
    metrics = [roc_auc_score, roc_auc_score, roc_auc_score, average_precision_score]
    columns = ["common AUC", "scarce AUC", "medium AUC", "rare_pos AP", "mean"]
    results = {setting: [] for setting in settings}
    for seed in range(seeds):
        X_train, y_train, X_test, y_test = make_synthetic(seed)
        for setting in settings:
            scores, seconds, epochs = fit_and_score(
                setting, SYNTHETIC_PARAMS, seed, X_train, y_train, X_test, y_test, metrics
            )
            results[setting].append(([*scores, np.mean(scores)], seconds, epochs))
    labels = (~np.isnan(y_train)).sum(0)
    positives = np.nanmean(y_train, axis=0)
    print(
        "Synthetic: 4000 training rows, labels per task "
        + ", ".join(f"{n}={c} ({p:.0%} pos)" for n, c, p in zip(SYNTHETIC_TASKS, labels, positives, strict=True))
        + f"; test set 4000 rows fully labelled; {seeds} seeds; {SYNTHETIC_PARAMS}"
    )
    title = "Test score per task (mean +- sd over seeds); 'vs equal' = paired change of the mean"
    print_table(title, columns, results, settings, delta_column=-1)


def load_tox21_data():
    """Fingerprints (float32) and targets with NaN; the package's loader, else RDKit from the CSV."""
    try:
        from sklearn_mtl.datasets import load_tox21
    except ImportError:
        load_tox21 = None
    if load_tox21 is not None:
        X, y = load_tox21(return_X_y=True)
        print(
            "Tox21 from sklearn_mtl.datasets.load_tox21 (the 8 aluminium salts RDKit cannot sanitize are kept,"
            " fingerprinted without sanitization)."
        )
        return X.astype(np.float32), y
    import csv

    from rdkit import Chem, RDLogger
    from rdkit.Chem import rdFingerprintGenerator

    RDLogger.DisableLog("rdApp.*")
    with open("/work/shared/data/tox21.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))[1:]
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fingerprints, targets, dropped = [], [], 0
    for row in rows:
        molecule = Chem.MolFromSmiles(row[0])
        if molecule is None:
            dropped += 1
            continue
        fingerprints.append(generator.GetFingerprintAsNumPy(molecule))
        targets.append([float(cell) if cell else np.nan for cell in row[1:]])
    print(f"Tox21 from /work/shared/data/tox21.csv with RDKit: dropped {dropped} SMILES that fail sanitization.")
    return np.array(fingerprints, dtype=np.float32), np.array(targets)


def run_tox21(seeds, settings):
    X, y = load_tox21_data()
    n_tasks = y.shape[1]
    metrics = [roc_auc_score] * n_tasks
    results = {setting: [] for setting in settings}
    for seed in range(seeds):
        order = np.random.RandomState(seed).permutation(len(X))
        n_test = len(X) // 10
        test, train = order[:n_test], order[n_test:]
        for setting in settings:
            scores, seconds, epochs = fit_and_score(
                setting, TOX21_PARAMS, seed, X[train], y[train], X[test], y[test], metrics
            )
            results[setting].append(([np.mean(scores), np.min(scores)], seconds, epochs))
            print(f"  seed {seed} {setting:<14} mean AUC {np.mean(scores):.3f}  {seconds:.0f} s", flush=True)
    print(
        f"Tox21: {len(X)} molecules, {n_tasks} tasks, {np.isnan(y).mean():.0%} labels missing; "
        f"80/10/10 split per seed; {seeds} seeds; {TOX21_PARAMS}"
    )
    title = "Test ROC-AUC over the 12 tasks (mean +- sd over seeds); 'vs equal' = paired change of the mean"
    print_table(title, ["mean AUC", "worst task"], results, settings, delta_column=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tox21", action="store_true", help="run on Tox21 instead of the synthetic problem")
    parser.add_argument("--seeds", type=int, default=None, help="default: 10 synthetic, 4 Tox21")
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    args = parser.parse_args()
    with warnings.catch_warnings():  # the first fit of a process imports torch._dynamo (s/fit would show it)
        warnings.simplefilter("ignore", ConvergenceWarning)
        MaskedMultiTaskClassifier(max_iter=1).fit(np.zeros((4, 2)), np.array([0.0, 1.0, 0.0, 1.0]))
    start = time.perf_counter()
    if args.tox21:
        run_tox21(args.seeds or 4, args.settings)
    else:
        run_synthetic(args.seeds or 10, args.settings)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
