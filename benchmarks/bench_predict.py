"""Prediction latency: ``predict_proba`` of the package, its ONNX graph in onnxruntime, and ``MLPClassifier``.

Two shapes of the same network, 12 binary tasks behind one hidden layer of 1024 units:

- ``fingerprints``: 2048 binary features, 1.5% non-zero (Tox21's Morgan fingerprints); the
  package's first layer reads the non-zeros only (``SparseInputLinear``);
- ``tabular``: 64 dense standard-normal features (an ``nn.Linear`` first layer).

For 1, 100 and 10,000 rows, each line gives the best of repeated timings (and the median, in the
returned results) of one call of: ``MaskedMultiTaskClassifier.predict_proba`` (input validation,
float64 inference, per-task probabilities); the same model exported with
:mod:`sklearn_mtl.onnx` and run by onnxruntime (one thread, the rows' dtype); ``MLPClassifier``
on the same shape (``hidden_layer_sizes=(1024,)``, one output per task), fitted on rows of the
same dtype, as a user would fit it; and the fitted torch module called bare (float32, dense
tensor, no validation, under ``torch.inference_mode``). Ratios are against ``MLPClassifier``.
All are measured in the same run; training quality plays no part (one epoch each).

The rows' dtype matters to ``MLPClassifier``, not to the package: scikit-learn keeps float32 data
in float32, so an MLP fitted and called on float32 rows multiplies float32 weights (on the
fingerprint shape, half the bytes of the float64 product it runs on float64 rows, and about twice
as fast), while the package infers in float64 either way and reads only the weight rows of the
non-zero columns. A float32 MLP is the faster and the fairer reference: it is the default here
(``--dtype float64`` gives the other). Run with one thread, as CI::

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


def seconds(function, argument, budget_s=1.0, at_most=300):
    """(best, median) wall time of ``function(argument)`` over repeats within ``budget_s``."""
    function(argument)  # warm-up
    times = []
    start = time.perf_counter()
    while len(times) < at_most and (len(times) < 5 or time.perf_counter() - start < budget_s):
        begin = time.perf_counter()
        function(argument)
        times.append(time.perf_counter() - begin)
    return float(np.min(times)), float(np.median(times))


def onnx_runner(model, rows):
    """A function that runs ``model``'s ONNX graph (for the dtype of ``rows``) in onnxruntime, one thread."""
    import onnxruntime

    from sklearn_mtl.onnx import to_onnx

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        to_onnx(model, rows[:1]).SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    name = session.get_inputs()[0].name
    return lambda X: session.run(None, {name: X})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 100, 10_000])
    parser.add_argument("--shapes", nargs="+", default=["fingerprints", "tabular"], choices=["fingerprints", "tabular"])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="dtype of the rows")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of repeats per measurement")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    dtype = np.dtype(args.dtype)
    results = {}
    print(f"best of repeated timings, {args.dtype} rows (a shared machine's timings are noisy: rerun to compare)")
    print(
        f"{'shape':<13} {'rows':>6} {'sklearn_mtl ms':>15} {'onnxrt ms':>10} {'MLP ms':>9} {'bare ms':>9} "
        f"{'ours/MLP':>9} {'onnx/MLP':>9}"
    )
    for shape in args.shapes:
        X, Y = make_data(shape, 2000)
        X = X.astype(dtype)
        X_new = make_data(shape, max(args.rows), seed=1)[0].astype(dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ours = MaskedMultiTaskClassifier(max_iter=1, random_state=0).fit(X, Y)
            mlp = MLPClassifier((1024,), max_iter=1, random_state=0).fit(X, Y.astype(int))
        module = ours.net_.module_
        onnx_run = onnx_runner(ours, X_new)

        def bare(rows, module=module):
            with torch.inference_mode():
                return module(torch.from_numpy(rows.astype(np.float32)))

        for n_rows in args.rows:
            rows = X_new[:n_rows]
            times = {
                "sklearn_mtl": seconds(ours.predict_proba, rows, args.budget),
                "onnxruntime": seconds(onnx_run, rows, args.budget),
                "MLP": seconds(mlp.predict_proba, rows, args.budget),
                "bare": seconds(bare, rows, args.budget),
            }
            results[shape, n_rows] = times
            best = {name: value[0] for name, value in times.items()}
            print(
                f"{shape:<13} {n_rows:>6} {best['sklearn_mtl'] * 1e3:>15.3f} {best['onnxruntime'] * 1e3:>10.3f} "
                f"{best['MLP'] * 1e3:>9.3f} {best['bare'] * 1e3:>9.3f} {best['sklearn_mtl'] / best['MLP']:>8.2f}x "
                f"{best['onnxruntime'] / best['MLP']:>8.2f}x"
            )
    return results


if __name__ == "__main__":
    main()
