"""Run under ``torchrun --nproc_per_node 2`` by tests/test_distributed.py: what a data-parallel fit
must do beyond the example's equality (every rank the same model and history, early stopping on a
validation split, sparse X, a sparse y, an ensemble, towers, each rank its own rows) and the clear
errors; one JSON line per check
from rank 0, written to the file named by the first argument."""

import json
import sys

import numpy as np
import scipy.sparse as sp
import torch
import torch.distributed as dist

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskRegressor


def every_rank(value):
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, value)
    return out


def same_everywhere(estimator, X):
    outputs = every_rank(estimator._forward(X).numpy())
    # every epoch's record (losses, per-task losses and scores, the stopping monitor), timings aside
    record = [{k: v for k, v in epoch.items() if k not in ("dur", "batches")} for epoch in estimator.history_]
    histories = every_rank(repr(record))
    return all(np.array_equal(outputs[0], o) for o in outputs) and all(h == histories[0] for h in histories)


def cases():
    """``{name: (estimator, X, y)}``: the fits the data-parallel run and the one-process test compare."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(240, 12))
    y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] > 0.5]).astype(float)
    y[rng.rand(*y.shape) < 0.3] = np.nan
    Xs = sp.csr_matrix(np.where(rng.rand(240, 200) < 0.04, 1.0, 0.0))
    ys = np.column_stack([Xs[:, :10].sum(axis=1).A1, Xs[:, 10:20].sum(axis=1).A1])
    ys_sparse = sp.csr_matrix(ys * (rng.rand(*ys.shape) < 0.5))  # a stored entry is a label (an explicit 0 too)
    small = dict(hidden_layer_sizes=(16,), batch_size=50, max_iter=6, random_state=0, dtype="float64")
    stopping = dict(early_stopping=True, learning_rate_schedule="constant", n_iter_no_change=3)
    return {
        "early_stopping": (MaskedMultiTaskClassifier(**{**small, "max_iter": 40}, **stopping), X, y),
        "sparse": (MaskedMultiTaskRegressor(**small), Xs, ys),
        "ensemble": (MaskedMultiTaskRegressor(**small, ensemble_size=3), Xs, ys),
        "towers": (MaskedMultiTaskRegressor(**{**small, "hidden_layer_sizes": (16, 8)}, n_shared_layers=1), Xs, ys),
        "sparse_y": (MaskedMultiTaskRegressor(**small), Xs, ys_sparse),
        # each rank fits its own rows (a contiguous part, in rank order): the one-process fit of all of them
        "own_rows_ensemble": (MaskedMultiTaskRegressor(**small, ensemble_size=3, distributed_rows="own"), Xs, ys),
        "own_rows_classifier": (MaskedMultiTaskClassifier(**small, distributed_rows="own"), X, y),
    }, small


def main(path):
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    results = {}
    fits, small = cases()
    for name, (estimator, X_fit, y_fit) in fits.items():
        if estimator.distributed_rows == "own":
            part = np.array_split(np.arange(X_fit.shape[0]), dist.get_world_size())[dist.get_rank()]
            estimator.fit(X_fit[part], y_fit[part])
        else:
            estimator.fit(X_fit, y_fit)
        results[name] = {
            "same": same_everywhere(estimator, X_fit),
            "epochs": estimator.n_iter_,
            "outputs": estimator._forward(X_fit).numpy().tolist(),
        }
    _, X, y = fits["early_stopping"]
    errors = {}
    for name, params in {
        "task_weighting": dict(task_weighting="uncertainty"),
        "sampling": dict(sampling="task_balanced"),
        "own_validation": dict(distributed_rows="own", early_stopping=True),
    }.items():
        try:
            MaskedMultiTaskClassifier(**small, **params).fit(X, y)
            errors[name] = None
        except ValueError as error:
            errors[name] = str(error)
    try:
        MaskedMultiTaskClassifier(**small).partial_fit(X, y, classes=[[0, 1]] * 3)
        errors["partial_fit"] = None
    except ValueError as error:
        errors["partial_fit"] = str(error)
    results["errors"] = errors
    MaskedMultiTaskClassifier(**small, verbose=1).fit(X, y)  # only rank 0 prints (test_distributed counts)
    if dist.get_rank() == 0:
        with open(path, "w") as file:
            json.dump(results, file)
    dist.barrier()  # every rank leaves together (see examples/distributed_fit.py)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
