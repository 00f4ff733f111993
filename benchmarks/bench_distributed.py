"""Data-parallel fit time: one process against several under ``torchrun``, on a compute-bound case.

The case: 8192 rows of 256 dense features, 8 regression tasks with 30% of the targets missing, a
network of two hidden layers of 1024 units, batches of 1024 rows, 4 epochs, float32. Each step's
forward and backward pass costs far more than its all-reduce of the gradients (2.4 million
parameters) and its optimizer step, which every rank takes whole: this is where more processes
pay. Smaller batches or wider first layers on few rows shift the balance towards the all-reduce
and the optimizer, which do not shrink with more processes (``--batch-size`` shows it).

The one-process fit runs in this process with one thread; the data-parallel fits run under
``python -m torch.distributed.run --standalone --nproc_per_node N``, one thread per process (gloo
on CPUs; ``--device cuda`` uses nccl and one GPU per process). Every run prints its fit seconds,
its ratio to the one-process fit measured in the same run, and the largest difference of its
predictions from the one-process model's (float32 sums in another order). Run from the
repository's root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_distributed.py --nproc 2
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from sklearn_mtl import MaskedMultiTaskRegressor


def data(n_rows=8192, n_features=256, n_tasks=8):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n_rows, n_features)).astype(np.float32)
    y = np.tanh(X @ rng.normal(size=(n_features, n_tasks)) / 16) + 0.1 * rng.normal(size=(n_rows, n_tasks))
    y[rng.rand(n_rows, n_tasks) < 0.3] = np.nan
    return X, y


def model(args, device):
    return MaskedMultiTaskRegressor(
        hidden_layer_sizes=tuple(args.hidden),
        batch_size=args.batch_size,
        max_iter=args.epochs,
        learning_rate_schedule="constant",
        early_stopping=False,
        random_state=0,
        device=device,
        dtype=args.dtype,
    )


def timed_fit(args, device):
    X, y = data(n_rows=args.rows, n_features=args.features)
    with warnings.catch_warnings():  # one-time costs of a process (imports), outside the timing
        warnings.simplefilter("ignore")
        model(args, device).set_params(max_iter=1).fit(X[:256], y[:256])
    estimator = model(args, device)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant rate that ends at max_iter: ConvergenceWarning
        estimator.fit(X, y)
    return time.perf_counter() - start, estimator._forward(X[:512]).numpy()


def worker(args):
    import torch.distributed as dist

    torch.set_num_threads(1)
    backend = "nccl" if args.device == "cuda" else "gloo"
    dist.init_process_group(backend)
    rank = dist.get_rank()
    device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if args.device == "cuda" else "cpu"
    seconds, outputs = timed_fit(args, device)
    if rank == 0:
        np.save(args.worker + ".npy", outputs)
        Path(args.worker).write_text(json.dumps({"seconds": seconds}))
    dist.barrier()  # every rank leaves together (see examples/distributed_fit.py)
    dist.destroy_process_group()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, nargs="+", default=[2])
    parser.add_argument("--batch-size", type=lambda v: v if v == "auto" else int(v), default=1024)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rows", type=int, default=8192)
    parser.add_argument("--features", type=int, default=256)
    parser.add_argument("--hidden", type=int, nargs="+", default=[1024, 1024], help="hidden layer sizes")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    torch.set_num_threads(1)
    device = "cuda" if args.device == "cuda" else "cpu"
    reference, reference_outputs = timed_fit(args, device)
    print(f"{'processes':>9s} {'fit s':>8s} {'speed-up':>8s} {'max |diff|':>10s}  (batch {args.batch_size})")
    print(f"{1:9d} {reference:8.2f} {1.0:8.2f} {0.0:10.1e}")
    results = {1: reference}
    for n_processes in args.nproc:
        with tempfile.TemporaryDirectory() as folder:
            report = os.path.join(folder, "report.json")
            command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n_processes}"]
            options = ["--batch-size", str(args.batch_size), "--epochs", str(args.epochs), "--device", args.device]
            options += ["--dtype", args.dtype]
            options += ["--rows", str(args.rows), "--features", str(args.features)]
            options += ["--hidden", *map(str, args.hidden)]
            environment = {**os.environ, "OMP_NUM_THREADS": "1"}
            subprocess.run([*command, __file__, *options, "--worker", report], check=True, env=environment)
            seconds = json.loads(Path(report).read_text())["seconds"]
            difference = np.abs(np.load(report + ".npy") - reference_outputs).max()
        results[n_processes] = seconds
        print(f"{n_processes:9d} {seconds:8.2f} {reference / seconds:8.2f} {difference:10.1e}")
    return results


if __name__ == "__main__":
    main()
