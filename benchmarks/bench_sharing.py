"""One model per task, trained as towers of one model, against as many separate models.

100 binary tasks with missing labels; each "separate" model is a single-task
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


def problem(n_rows, n_tasks, n_features=50, missing=0.7, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, n_features)).astype(np.float32)
    weights = rng.normal(size=(n_features, n_tasks))
    y = (X @ weights + rng.normal(size=(n_rows, n_tasks)) > 0).astype(np.float64)
    y[rng.rand(n_rows, n_tasks) < missing] = np.nan
    return X, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--hidden", type=int, default=64)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)
    n_tasks, epochs = (10, 2) if args.quick else (100, 20)
    X, y = problem(2000, n_tasks)
    settings = dict(
        hidden_layer_sizes=(args.hidden,), max_iter=epochs, batch_size=64, early_stopping=False, random_state=0
    )
    MaskedMultiTaskClassifier(**{**settings, "max_iter": 1}).fit(X[:64], y[:64, 0])  # one-time imports

    start = time.perf_counter()
    towers = MaskedMultiTaskClassifier(**settings, n_shared_layers=0, n_iter_no_change=epochs + 1).fit(X, y)
    towers_s = time.perf_counter() - start

    start = time.perf_counter()
    separate = []
    for task in range(n_tasks):
        rows = ~np.isnan(y[:, task])
        model = MaskedMultiTaskClassifier(**settings, n_iter_no_change=epochs + 1)
        separate.append(model.fit(X[rows], y[rows, task]))
    separate_s = time.perf_counter() - start

    truth = (X @ np.random.RandomState(0).normal(size=(X.shape[1], n_tasks)) > 0).astype(int)
    auc_towers = np.mean([roc_auc_score(truth[:, t], p[:, 1]) for t, p in enumerate(towers.predict_proba(X))])
    auc_separate = np.mean([roc_auc_score(truth[:, t], m.predict_proba(X)[:, 1]) for t, m in enumerate(separate)])
    print(
        f"\n{n_tasks} tasks, 2000 rows x 50 features, 70% of labels missing, one hidden layer of {args.hidden} "
        f"per task, {epochs} epochs, batch 64"
    )
    print(f"{'fit':<38} {'seconds':>8} {'ratio':>6} {'mean ROC-AUC (noise-free truth)':>32}")
    print(f"{'one model, n_shared_layers=0':<38} {towers_s:>8.1f} {1.0:>6.2f} {auc_towers:>32.4f}")
    print(f"{f'{n_tasks} separate single-task models':<38} {separate_s:>8.1f} {separate_s / towers_s:>6.2f} "
          f"{auc_separate:>32.4f}")
    return {"towers_s": towers_s, "separate_s": separate_s, "auc_towers": auc_towers, "auc_separate": auc_separate}


if __name__ == "__main__":
    main()
