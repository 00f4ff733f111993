"""
Data-parallel training under torchrun
=====================================

One model, fitted by several processes. This script is not run by the docs build (it needs a
launcher); launch it with PyTorch's launcher, one process per CPU core (or per GPU, with ``"nccl"``)::

    torchrun --standalone --nproc_per_node 2 examples/distributed_fit.py
    torchrun --standalone --nproc_per_node 2 examples/distributed_fit.py --rows own

The script initializes the process group, as any DDP script does; ``fit`` then sees it and
trains data-parallel: every rank computes its share of each batch and the gradients are summed
over the ranks before each step, so that the model is the one a single process would fit with the
same batches, and every rank ends with it. With ``--rows all`` every rank passes every row (the
simple script); with ``--rows own`` each rank passes only its own rows, as when the data are too
large for one process (``distributed_rows="own"``). ``--out FILE`` saves rank 0's predictions,
which ``tests/test_distributed.py`` compares with a one-process fit.
"""

import argparse

import numpy as np
import torch
import torch.distributed as dist

from sklearn_mtl import MaskedMultiTaskEstimator
from sklearn_mtl.datasets import make_multitask_classification


def data():
    """300 rows, 3 binary tasks and 2 regression targets, 30% of the labels missing."""
    X, y_cls = make_multitask_classification(n_samples=300, n_features=20, n_tasks=3, missing_rate=0.3, random_state=0)
    rng = np.random.RandomState(1)
    y_reg = X[:, :2] @ rng.normal(size=(2, 2)) + 0.1 * rng.normal(size=(300, 2))
    y_reg[rng.rand(*y_reg.shape) < 0.3] = np.nan
    return X, np.column_stack([y_cls, y_reg]), ["classification"] * 3 + ["regression"] * 2


def model(rows):
    return MaskedMultiTaskEstimator(
        task_types=["classification"] * 3 + ["regression"] * 2,
        hidden_layer_sizes=(32,),
        batch_size=64,
        max_iter=8,
        dtype="float64",
        random_state=0,
        distributed_rows=rows,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", choices=["all", "own"], default="all")
    parser.add_argument("--out", default=None, help="save rank 0's predictions here (.npy)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    dist.init_process_group("gloo")  # "nccl" for GPUs, one per process
    rank, world_size = dist.get_rank(), dist.get_world_size()
    X, y, _ = data()
    if args.rows == "own":  # this rank's rows only: a contiguous part, in rank order
        part = np.array_split(np.arange(len(X)), world_size)[rank]
        X_fit, y_fit = X[part], y[part]
    else:
        X_fit, y_fit = X, y
    estimator = model(args.rows).fit(X_fit, y_fit)
    outputs = estimator._forward(X).numpy()
    every = [None] * world_size
    dist.all_gather_object(every, outputs)
    same = all(np.array_equal(every[0], other) for other in every)
    if rank == 0:
        score = estimator.score(X, y)
        print(f"{world_size} processes ({args.rows} rows): score {score:.4f}, every rank holds the same model: {same}")
        if args.out:
            np.save(args.out, outputs)
    # every rank leaves together: a rank that tore gloo down while another still ran (rank 0
    # scoring) was aborted at exit now and then ("terminate called without an active exception")
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
