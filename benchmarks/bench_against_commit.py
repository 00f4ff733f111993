"""The defaults of this checkout against the defaults of the package at an earlier commit, fit by fit.

A recipe given as parameters (``bench_real_data.py --config previous``) runs on today's training
engine, so it credits neither side with what the engine gained since. This script checks the
earlier commit out into a temporary git worktree and fits, for each data set of the panel
(``real_data_panel.py``), kind of task and split, the estimator of that commit and the estimator
of this checkout with their defaults (plus ``random_state=0``), each in a fresh process on one
thread, one after the other, so that both meet the same machine. It prints the test metric, fit
seconds and epochs of both, and the means over the splits with the speed-up::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_against_commit.py 9fa191a --data enb2012 --seeds 0 1 2

9fa191a is the commit at which the "fast defaults" work began (its defaults: a constant learning
rate of 1e-3 for up to 200 epochs). The split, the scaling of tabular sets and the scores are
those of ``bench_real_data.py``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent


def fit_one(root, name, kind, seed):
    """In a child process: fit the package found at ``root`` and print one JSON line of results."""
    sys.path.insert(0, str(root))
    import importlib
    import time
    import warnings

    import torch

    torch.set_num_threads(1)
    importlib.import_module("torch._dynamo")  # torch's one-off import at the first optimizer
    import sklearn_mtl

    if not Path(sklearn_mtl.__file__).resolve().is_relative_to(Path(root).resolve()):
        raise RuntimeError(f"imported {sklearn_mtl.__file__}, not the package of {root}")
    from bench_real_data import TABULAR, metric_name, package_scores, parts, run_package

    X, Y, X_test, Y_test = parts(name, kind, "test", False, seed)
    model = run_package(kind, {}, name in TABULAR)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, Y)
    seconds = time.perf_counter() - start
    estimator = model[-1] if hasattr(model, "steps") else model
    scores = package_scores(model, kind, X_test, Y_test, metric_name(name, kind))
    print(json.dumps({"score": float(np.nanmean(scores)), "fit_s": seconds, "epochs": int(estimator.n_iter_)}))


def run_child(root, name, kind, seed):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE)}
    command = [sys.executable, __file__, "--child", str(root), name, kind, str(seed)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"the fit of {root} on {name} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None):
    # here, not at the top: a child process must import sklearn_mtl from its own root first
    from bench_real_data import metric_name
    from real_data_panel import LOADERS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commit", help="the earlier commit (any name git knows)")
    parser.add_argument("--data", nargs="+", default=["enb2012"], choices=list(LOADERS))
    parser.add_argument("--kind", choices=["classification", "regression"], help="only this kind of task")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)
    summary = {}
    with tempfile.TemporaryDirectory() as folder:
        earlier = Path(folder) / "earlier"
        subprocess.run(
            ["git", "-C", str(CHECKOUT), "worktree", "add", "--detach", str(earlier), args.commit], check=True
        )
        try:
            for name in args.data:
                kinds = dict.fromkeys(LOADERS[name]()[2])
                for kind in (kind for kind in kinds if args.kind in (None, kind)):
                    table = f"{name} {kind}"
                    summary[table] = {args.commit: [], "this checkout": []}
                    for seed in args.seeds:
                        for label, root in ((args.commit, earlier), ("this checkout", CHECKOUT)):
                            result = run_child(root, name, kind, seed)
                            summary[table][label].append(result)
                            print(
                                f"{table}, split seed {seed}, {label}: {metric_name(name, kind)} "
                                f"{result['score']:.4f}, fit {result['fit_s']:.1f} s, {result['epochs']} epochs",
                                flush=True,
                            )
        finally:
            subprocess.run(["git", "-C", str(CHECKOUT), "worktree", "remove", "--force", str(earlier)], check=True)
    print(f"\nmeans over {len(args.seeds)} splits (seeds {' '.join(map(str, args.seeds))}, test parts)")
    print(f"{'set':<28} {'model':<16} {'mean':>8} {'fit s':>7} {'epochs':>6} {'speed-up':>8}")
    for table, rows in summary.items():
        reference = np.mean([result["fit_s"] for result in rows[args.commit]])
        for label, results in rows.items():
            fit_s = np.mean([result["fit_s"] for result in results])
            score = np.mean([result["score"] for result in results])
            epochs = np.mean([result["epochs"] for result in results])
            print(f"{table:<28} {label:<16} {score:>8.4f} {fit_s:>7.1f} {epochs:>6.0f} {reference / fit_s:>7.2f}x")
    return summary


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        root, name, kind, seed = sys.argv[2:6]
        fit_one(root, name, kind, int(seed))
    else:
        sys.path.insert(0, str(HERE))
        main()
