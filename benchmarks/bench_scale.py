"""Scale: sparse inputs, side by side with hand-written PyTorch loops on the same network.

Sparse X (word counts, hashed features, fingerprints as CSR): the package's fit against

- a hand-written loop whose first layer is ``torch.nn.EmbeddingBag(mode="sum", sparse=True)``
  trained by ``torch.optim.SparseAdam`` (Adam for the rest): the O(non-zeros) reference;
- the same loop with every batch densified and a dense first layer: what the package did before.

Same network (one hidden layer, ReLU, one logit per task), same epochs and batch size, no
regularization, binary tasks with missing labels. Fit seconds are printed with their ratio to the
EmbeddingBag loop, measured in the same run. Run with one torch thread, as CI::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_scale.py

``--quick`` shrinks the problem to a smoke test (not a measurement).
"""

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.exceptions import ConvergenceWarning
from torch import nn
from torch.nn import functional as F

from sklearn_mtl import MaskedMultiTaskClassifier


def sparse_problem(n_rows, n_features, nnz_per_row, n_tasks, seed=0):
    """CSR X with ``nnz_per_row`` counts per row, and binary tasks that read a few columns each."""
    rng = np.random.RandomState(seed)
    columns = rng.randint(n_features, size=(n_rows, nnz_per_row))
    X = sp.csr_matrix(
        (np.ones(n_rows * nnz_per_row, dtype=np.float32), (np.repeat(np.arange(n_rows), nnz_per_row), columns.ravel())),
        shape=(n_rows, n_features),
    )
    X.sum_duplicates()
    weights = sp.random(n_features, n_tasks, density=0.01, random_state=rng, format="csr").toarray()
    scores = X @ weights
    Y = (scores > np.median(scores, axis=0)).astype(np.float64)
    Y[rng.rand(*Y.shape) < 0.5] = np.nan
    return X, Y


def _masked_bce(logits, targets, observed):
    losses = F.binary_cross_entropy_with_logits(logits, targets, reduction="none") * observed
    return (losses.sum(dim=0) / observed.sum(dim=0).clamp(min=1)).sum()


def loop_fit(X, Y, hidden, epochs, batch_size, lr=1e-3, sparse=True, seed=0):
    """The hand-written reference: EmbeddingBag + SparseAdam (``sparse``), or densified batches."""
    torch.manual_seed(seed)
    n_features, n_tasks = X.shape[1], Y.shape[1]
    if sparse:
        first = nn.EmbeddingBag(n_features, hidden, mode="sum", sparse=True, include_last_offset=True)
        bias = nn.Parameter(torch.zeros(hidden))
        dense_parameters, sparse_optimizer = [bias], torch.optim.SparseAdam(first.parameters(), lr=lr)
    else:
        first = nn.Linear(n_features, hidden)
        dense_parameters, sparse_optimizer = list(first.parameters()), None
    head = nn.Linear(hidden, n_tasks)
    optimizer = torch.optim.Adam([*dense_parameters, *head.parameters()], lr=lr, fused=True)
    observed = torch.from_numpy(~np.isnan(Y)).float()
    targets = torch.from_numpy(np.nan_to_num(Y)).float()
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(X.shape[0], generator=generator)
        for start in range(0, X.shape[0], batch_size):
            index = order[start : start + batch_size]
            rows = X[index.numpy()]
            if sparse:
                hidden_in = first(
                    torch.from_numpy(rows.indices.astype(np.int64)),
                    torch.from_numpy(rows.indptr.astype(np.int64)),
                    per_sample_weights=torch.from_numpy(rows.data),
                )
                hidden_in = hidden_in + bias
            else:
                hidden_in = first(torch.from_numpy(rows.toarray()))
            loss = _masked_bce(head(torch.relu(hidden_in)), targets[index], observed[index])
            optimizer.zero_grad()
            if sparse_optimizer is not None:
                sparse_optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if sparse_optimizer is not None:
                sparse_optimizer.step()
    return head


def package_fit(X, Y, hidden, epochs, batch_size, seed=0):
    model = MaskedMultiTaskClassifier(
        hidden_layer_sizes=(hidden,),
        alpha=0.0,
        dropout=0.0,
        input_dropout=0.0,
        batch_size=batch_size,
        max_iter=epochs,
        early_stopping=False,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, Y)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def bench_sparse_input(args):
    n_rows, n_features = (2000, 5000) if args.quick else (20_000, 50_000)
    X, Y = sparse_problem(n_rows, n_features, nnz_per_row=60, n_tasks=10)
    settings = dict(hidden=256, epochs=1 if args.quick else 3, batch_size=256)
    print(
        f"\nsparse X: {n_rows} x {n_features}, {X.nnz / n_rows:.0f} non-zeros per row, {Y.shape[1]} tasks, "
        f"hidden ({settings['hidden']},), {settings['epochs']} epochs, batch {settings['batch_size']}"
    )
    # warm-ups on a few rows: the first fit and the first optimizer of a process pay one-time imports
    package_fit(X[:512], Y[:512], **{**settings, "epochs": 1})
    loop_fit(X[:512], Y[:512], **{**settings, "epochs": 1})
    reference, _ = timed(loop_fit, X, Y, sparse=True, **settings)
    loop_package, model = timed(package_fit, X, Y, **settings)
    rows = {
        "EmbeddingBag + SparseAdam loop": reference,
        "sklearn_mtl (sparse first layer)": loop_package,
    }
    if not args.skip_dense:
        rows["densified batches loop"] = timed(loop_fit, X, Y, sparse=False, **settings)[0]
    print(f"{'fit':<36} {'seconds':>8} {'ratio':>6}")
    for name, seconds in rows.items():
        print(f"{name:<36} {seconds:>8.1f} {seconds / reference:>6.2f}")
    assert model.net_.module_.sparse_layer is not None
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small problem: a smoke test")
    parser.add_argument("--skip-dense", action="store_true", help="skip the slow densified-batches loop")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    return {"sparse_input": bench_sparse_input(args)}


if __name__ == "__main__":
    main()
