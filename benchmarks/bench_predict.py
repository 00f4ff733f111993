"""Prediction latency: ``predict_proba`` of the package against ``MLPClassifier`` and the bare module.

Two shapes of the same network, 12 binary tasks behind one hidden layer of 1024 units:

- ``fingerprints``: 2048 binary features, 1.5% non-zero (Tox21's Morgan fingerprints); the
  package's first layer reads the non-zeros only (``SparseInputLinear``);
- ``tabular``: 64 dense standard-normal features (an ``nn.Linear`` first layer).

For 1, 100 and 10,000 rows, each line gives the median wall time of one ``predict_proba`` call of
``MaskedMultiTaskClassifier`` (input validation, float64 inference, per-task probabilities), of
``MLPClassifier`` on the same shape (``hidden_layer_sizes=(1024,)``, one output per task), and of
the fitted torch module called bare (float32, dense tensor, no validation, under
``torch.inference_mode``), with the package's time as a ratio of each. All three are measured in
the same run; training quality plays no part (one epoch each). Run with one thread, as CI::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_predict.py
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sklearn_mtl import MaskedMultiTaskClassifier

N_TASKS = 12


def make_data(shape, n_rows, seed=0):
    rng = np.random.RandomState(seed)
    if shape == "fingerprints":
        X = (rng.rand(n_rows, 2048) < 0.015).astype(np.float64)
    else:
        X = rng.normal(size=(n_rows, 64))
    logits = X @ rng.normal(size=(X.shape[1], N_TASKS)) * 0.3
    Y = (logits > np.median(logits, axis=0)).astype(np.float64)
    return X, Y


def median_seconds(function, argument, budget_s=1.0, at_most=200):
    function(argument)  # warm-up
    times = []
    start = time.perf_counter()
    while len(times) < at_most and (len(times) < 3 or time.perf_counter() - start < budget_s):
        begin = time.perf_counter()
        function(argument)
        times.append(time.perf_counter() - begin)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 100, 10_000])
    parser.add_argument("--shapes", nargs="+", default=["fingerprints", "tabular"], choices=["fingerprints", "tabular"])
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of repeats per measurement")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results = {}
    print(f"{'shape':<13} {'rows':>6} {'sklearn_mtl ms':>15} {'MLP ms':>9} {'bare ms':>9} {'vs MLP':>7} {'vs bare':>8}")
    for shape in args.shapes:
        X, Y = make_data(shape, 2000)
        X_new, _ = make_data(shape, max(args.rows), seed=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ours = MaskedMultiTaskClassifier(max_iter=1, random_state=0).fit(X, Y)
            mlp = MLPClassifier((1024,), max_iter=1, random_state=0).fit(X, Y.astype(int))
        module = ours.net_.module_

        def bare(rows, module=module):
            with torch.inference_mode():
                return module(torch.from_numpy(rows.astype(np.float32)))

        for n_rows in args.rows:
            rows = X_new[:n_rows]
            times = {
                "sklearn_mtl": median_seconds(ours.predict_proba, rows, args.budget),
                "MLP": median_seconds(mlp.predict_proba, rows, args.budget),
                "bare": median_seconds(bare, rows, args.budget),
            }
            results[shape, n_rows] = times
            print(
                f"{shape:<13} {n_rows:>6} {times['sklearn_mtl'] * 1e3:>15.3f} {times['MLP'] * 1e3:>9.3f} "
                f"{times['bare'] * 1e3:>9.3f} {times['sklearn_mtl'] / times['MLP']:>6.2f}x "
                f"{times['sklearn_mtl'] / times['bare']:>7.2f}x"
            )
    return results


if __name__ == "__main__":
    main()
