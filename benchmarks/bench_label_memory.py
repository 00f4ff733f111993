"""Peak memory of a fit on a mostly-empty label matrix, given dense (NaN) or sparse.

The labels: ``--rows`` x ``--tasks`` (default 100,000 x 1,000) with ``--observed`` of them
labelled (default 0.1%, about 100 per task), binary, the rest missing. Each fit runs in a fresh
process (``max_iter=1``, a small network, 20 features), which reports its peak resident memory
(``ru_maxrss``) after building X and y and after ``fit``; the line gives what the fit added, next
to the size of the dense y itself (``n_rows x n_tasks`` float64). The goal: a dense NaN y costs
less than its own size on top of it, as its labels would as a sparse y. Run with one thread::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_label_memory.py
"""

import argparse
import json
import resource
import subprocess
import sys

import numpy as np


def make_labels(n_rows, n_tasks, observed, seed=0):
    rng = np.random.RandomState(seed)
    n_labels = int(round(n_rows * n_tasks * observed))
    # distinct (row, task) pairs, drawn without a permutation of all n_rows x n_tasks cells (which
    # would itself raise the peak being measured)
    flat = np.unique(rng.randint(n_rows * n_tasks, size=int(n_labels * 1.01) + 10, dtype=np.int64))
    flat = rng.permutation(flat)[:n_labels]
    rows, tasks = np.divmod(flat, n_tasks)
    X = rng.normal(size=(n_rows, 20)).astype(np.float32)
    values = (X[rows, tasks % 20] + rng.normal(size=n_labels) > 0).astype(np.float64)
    return X, rows, tasks, values


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def one_fit(form, n_rows, n_tasks, observed):
    """Run in a child process: build the data, fit once, print the peaks as JSON."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from sklearn_mtl import MaskedMultiTaskClassifier, labels_from_long

    X, rows, tasks, values = make_labels(n_rows, n_tasks, observed)
    if form == "dense":
        y = np.full((n_rows, n_tasks), np.nan)
        y[rows, tasks] = values
    else:
        y = labels_from_long(rows, tasks, values, shape=(n_rows, n_tasks))
    before = peak_mib()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MaskedMultiTaskClassifier(hidden_layer_sizes=(32,), max_iter=1, random_state=0).fit(X, y)
    print(json.dumps({"before": before, "after": peak_mib()}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=1_000)
    parser.add_argument("--observed", type=float, default=0.001)
    parser.add_argument("--child", choices=["dense", "sparse"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return one_fit(args.child, args.rows, args.tasks, args.observed)
    y_mib = args.rows * args.tasks * 8 / 2**20
    print(f"{args.rows} x {args.tasks} labels, {args.observed:.2%} observed; a dense float64 y is {y_mib:.0f} MiB")
    print(f"{'y given as':<12} {'fit adds MiB':>13} {'vs dense y':>11}")
    results = {}
    for form in ("dense", "sparse"):
        command = [sys.executable, __file__, "--child", form, "--rows", str(args.rows), "--tasks", str(args.tasks)]
        command += ["--observed", str(args.observed)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        peaks = json.loads(output.strip().splitlines()[-1])
        results[form] = added = max(peaks["after"] - peaks["before"], 0.0)
        print(f"{form:<12} {added:>13.0f} {added / y_mib:>10.2f}x")
    return results


if __name__ == "__main__":
    main()
