"""One model per task, trained as towers of one model, against as many separate models.

100 binary tasks, fully labelled and with 70% of labels missing; each "separate" model is a single-task
``MaskedMultiTaskClassifier`` fitted on its task's labelled rows; the "towers" model is one
``MaskedMultiTaskClassifier(n_shared_layers=0)`` on all tasks at once: the same network per task
(one hidden layer of ``--hidden`` units), the same epochs and batch size. Prints fit seconds and
their ratio, measured in the same run. Run with one torch thread, as CI::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sharing.py

``--quick`` runs 10 tasks for 2 epochs: a smoke test, not a measurement.
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score

from sklearn_mtl import MaskedMultiTaskClassifier


def problem(n_rows, n_tasks, missing, n_features=50, seed=0):
    """X, y with ``missing`` of the labels missing, and the noise-free classes."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, n_features)).astype(np.float32)
    signal = X @ rng.normal(size=(n_features, n_tasks))
    truth = (signal > 0).astype(int)
    y = (signal + rng.normal(size=(n_rows, n_tasks)) * 2 > 0).astype(np.float64)
    y[rng.rand(n_rows, n_tasks) < missing] = np.nan
    return X, y, truth


def compare(n_tasks, epochs, hidden, missing):
    """Fit seconds and mean ROC-AUC (against the noise-free classes) of the two ways."""
    X, y, truth = problem(2000, n_tasks, missing)
    settings = dict(hidden_layer_sizes=(hidden,), max_iter=epochs, batch_size=64, early_stopping=False, random_state=0)
    settings["n_iter_no_change"] = epochs + 1  # every fit runs all its epochs

    start = time.perf_counter()
    towers = MaskedMultiTaskClassifier(**settings, n_shared_layers=0).fit(X, y)
    towers_s = time.perf_counter() - start

    start = time.perf_counter()
    separate = []
    for task in range(n_tasks):
        rows = ~np.isnan(y[:, task])
        separate.append(MaskedMultiTaskClassifier(**settings).fit(X[rows], y[rows, task]))
    separate_s = time.perf_counter() - start

    auc_towers = np.mean([roc_auc_score(truth[:, t], p[:, 1]) for t, p in enumerate(towers.predict_proba(X))])
    auc_separate = np.mean([roc_auc_score(truth[:, t], m.predict_proba(X)[:, 1]) for t, m in enumerate(separate)])
    return towers_s, separate_s, auc_towers, auc_separate


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--hidden", type=int, default=64)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)
    n_tasks, epochs = (10, 2) if args.quick else (100, 20)
    MaskedMultiTaskClassifier(hidden_layer_sizes=(4,), max_iter=1).fit(np.zeros((8, 2)), np.arange(8) % 2)  # imports
    print(
        f"\n{n_tasks} tasks, 2000 rows x 50 features, one hidden layer of {args.hidden} per task, {epochs} epochs, "
        "batch 64; each separate model fits its task's labelled rows"
    )
    print(f"{'missing labels':>14} {'one model, n_shared_layers=0 (s)':>33} {'separate models (s)':>20} {'ratio':>6} "
          f"{'ROC-AUC one / separate':>23}")
    results = {}
    for missing in (0.0, 0.7):
        towers_s, separate_s, auc_towers, auc_separate = compare(n_tasks, epochs, args.hidden, missing)
        print(f"{missing:>14.0%} {towers_s:>33.1f} {separate_s:>20.1f} {separate_s / towers_s:>6.2f} "
              f"{auc_towers:>11.4f} / {auc_separate:.4f}")
        results[missing] = {"towers_s": towers_s, "separate_s": separate_s, "auc": (auc_towers, auc_separate)}
    return results

if __name__ == "__main__":
    main()
