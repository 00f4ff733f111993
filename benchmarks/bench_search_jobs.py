"""GridSearchCV with n_jobs=1 versus n_jobs=2 on a small masked multi-task search.

Prints both wall-clock times and their ratio, and the torch thread count inside a joblib (loky)
worker. Run with ``OMP_NUM_THREADS=1 python benchmarks/bench_search_jobs.py``. Both settings are
timed after a warm-up run, so neither pays the one-off cost of importing torch, skorch and
``torch._dynamo`` (in this process or in the reused loky workers).
"""

import time
import warnings

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MaskedMultiTaskClassifier
from sklearn_mtl.metrics import make_masked_scorer, task_scorers

N_SAMPLES, N_FEATURES, N_TASKS = 2000, 20, 4


def make_data(seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    y = (X[:, :N_TASKS] + 0.5 * rng.normal(size=(N_SAMPLES, N_TASKS)) > 0).astype(float)
    y[rng.rand(N_SAMPLES, N_TASKS) < 0.4] = np.nan
    return X, y


def run_search(X, y, n_jobs):
    model = make_pipeline(
        StandardScaler(), MaskedMultiTaskClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    )
    search = GridSearchCV(
        model,
        {"maskedmultitaskclassifier__alpha": [1e-4, 1e-3, 1e-2, 1e-1]},
        scoring=task_scorers("roc_auc", N_TASKS) | {"mean": make_masked_scorer("roc_auc")},
        refit=False,
        cv=KFold(3, shuffle=True, random_state=0),
        n_jobs=n_jobs,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    return time.perf_counter() - start


def main():
    torch.set_num_threads(1)
    X, y = make_data()
    worker_threads = Parallel(n_jobs=2)(delayed(torch.get_num_threads)() for _ in range(2))
    print(f"torch threads: main process {torch.get_num_threads()}, loky workers {worker_threads}")
    timings = {}
    for n_jobs in (1, 2):
        run_search(X, y, n_jobs)  # warm-up
        timings[n_jobs] = min(run_search(X, y, n_jobs) for _ in range(2))
    print("12 fits (4 candidates x 3 folds), 2000 rows, 4 tasks, hidden (16,), 20 epochs")
    print(f"n_jobs=1: {timings[1]:.2f} s")
    print(f"n_jobs=2: {timings[2]:.2f} s")
    print(f"speed-up (n_jobs=1 time / n_jobs=2 time): {timings[1] / timings[2]:.2f}x")


if __name__ == "__main__":
    main()
