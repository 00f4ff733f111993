"""Scale: sparse inputs, mostly-empty label matrices and thousands of tasks, with figures side by side.

1. Sparse X (word counts, hashed features, fingerprints as CSR): the package's fit against

- a hand-written loop whose first layer is ``torch.nn.EmbeddingBag(mode="sum", sparse=True)``
  trained by ``torch.optim.SparseAdam`` (Adam for the rest): the O(non-zeros) reference;
- the same loop with every batch densified and a dense first layer: what the package did before.

   Same network (one hidden layer, ReLU, one logit per task), same epochs and batch size, no
   regularization, binary tasks with missing labels; fit seconds and their ratio to the
   EmbeddingBag loop, measured in the same run.
2. Memory of labels: y of 100,000 rows x 1,000 tasks with 99.9% missing, given dense (NaN) and
   sparse: how much ``fit`` raises the process's peak memory, beside the bytes of a dense float32
   y and of the compact labels (row, task, value, weight).
3. Many tasks, one label per row (sparse y, sparse fingerprint-like X, the package's defaults):
   seconds per epoch at 10, 1,000 and 10,000 tasks, as ratios to 10 tasks, and peak memory.
4. ``--large``: a million rows, 10,000 tasks, 10 million labels: seconds per epoch and peak memory.
5. The first-layer rule (``--only first_layer``, also in the default run): scipy sparse X of 2,000
   to 200,000 columns and mostly-zero dense X at several densities, each path the rule can take
   timed against the others and the hand-written loops (``bench_first_layer``).

Each fit of 2 to 4 runs in a fresh process, so that its peak memory is its own. Run with one torch
thread, as CI::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_scale.py [--large]

``--quick`` shrinks every problem to a smoke test (not a measurement).
"""

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.exceptions import ConvergenceWarning
from torch import nn
from torch.nn import functional as F

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskEstimator, labels_from_long


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


def _package_fit_with(name, value, *args, **kwargs):
    """``package_fit`` with one of the first-layer rule's parts (``_first_layer.<name>``: a threshold,
    or the ``sparse_gradient`` rule itself) replaced by ``value``: each path timed, whichever the
    rule picks, to show where its thresholds belong."""
    from sklearn_mtl import _first_layer

    kept = getattr(_first_layer, name)
    setattr(_first_layer, name, value)
    try:
        return package_fit(*args, **kwargs)
    finally:
        setattr(_first_layer, name, kept)


def bench_first_layer(args):
    """The first-layer rule (``sklearn_mtl/_first_layer.py``) at several widths and densities.

    Scipy sparse X (``--nnz`` non-zeros a row) of 2,000 to 200,000 columns: the package's fit with
    the first layer's dense gradient (Adam) and with its sparse gradient (SparseAdam), which the
    rule picks, the EmbeddingBag + SparseAdam loop and (up to 10,000 columns) the densified-batches
    loop. Dense X of 2,048 0/1 columns at several densities: the first layer that reads non-zeros
    (``SparseInputLinear``) against ``nn.Linear``, and which the rule picks.
    """
    from sklearn_mtl import _first_layer

    n_rows = 2000 if args.quick else 20_000
    widths = args.widths or ((2000, 10_000) if args.quick else (2000, 10_000, 50_000, 200_000))
    settings = dict(hidden=256, epochs=1 if args.quick else 3, batch_size=256)
    nnz = args.nnz
    print(
        f"\nfirst layer, scipy sparse X: {n_rows} rows, {nnz} non-zeros a row, 10 tasks, hidden (256,), "
        f"{settings['epochs']} epochs, batch 256; fit seconds (ratio to the EmbeddingBag + SparseAdam loop)"
    )
    print(f"{'columns':>8} {'EmbeddingBag loop':>18} {'dense grad.':>15} {'sparse grad.':>16} {'densified':>15}  rule")
    warm = sparse_problem(512, 2000, nnz, 10)
    package_fit(*warm, **{**settings, "epochs": 1})
    loop_fit(*warm, **{**settings, "epochs": 1})
    rows = {}
    for width in widths:
        X, Y = sparse_problem(n_rows, width, nnz_per_row=nnz, n_tasks=10)
        reference = timed(loop_fit, X, Y, sparse=True, **settings)[0]
        dense = timed(_package_fit_with, "sparse_gradient", lambda *_: False, X, Y, **settings)[0]
        sparse = timed(_package_fit_with, "sparse_gradient", lambda *_: True, X, Y, **settings)[0]
        densified = timed(loop_fit, X, Y, sparse=False, **settings)[0] if width <= 10_000 else float("nan")
        picks = "sparse" if _first_layer.sparse_gradient(width, X.nnz / n_rows, settings["batch_size"]) else "dense"
        rows[width] = dict(loop=reference, dense=dense, sparse=sparse, densified=densified, rule=picks)
        print(
            f"{width:>8} {reference:>18.1f} {dense:>8.1f} ({dense / reference:.2f}) "
            f"{sparse:>9.1f} ({sparse / reference:.2f}) {densified:>8.1f} ({densified / reference:.2f})  {picks}"
        )
    if args.widths:  # the widths asked for only
        return rows
    print(
        f"\nfirst layer, dense X of 2048 columns (0/1 entries), {n_rows} rows: seconds of the package's fit "
        f"reading non-zeros (SparseInputLinear) and as nn.Linear"
    )
    print(f"{'non-zero':>9} {'reads non-zeros':>16} {'nn.Linear':>10} {'ratio':>6} {'rule picks':>11}")
    for density in (0.02, 0.05, 0.1, 0.2, 0.4):
        rng = np.random.RandomState(0)
        X = (rng.rand(n_rows, 2048) < density).astype(np.float32)
        Y = (X[:, :10] + 0.3 * rng.normal(size=(n_rows, 10)) > 0.5).astype(np.float64)
        Y[rng.rand(*Y.shape) < 0.5] = np.nan
        sparse_first = timed(_package_fit_with, "_SPARSE_INPUT_MAX_DENSITY", 1.0, X, Y, **settings)[0]
        linear = timed(_package_fit_with, "_SPARSE_INPUT_MAX_DENSITY", -1.0, X, Y, **settings)[0]
        picks = "non-zeros" if _first_layer.reads_nonzeros(X) else "nn.Linear"
        rows[f"dense-{density}"] = dict(sparse=sparse_first, linear=linear, rule=picks)
        print(f"{density:>9.0%} {sparse_first:>16.1f} {linear:>10.1f} {sparse_first / linear:>6.2f} {picks:>11}")
    return rows


def _rss_mib():
    """The process's resident memory now, in MiB (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def _reset_peak():
    """Restart the kernel's record of the process's peak memory (VmHWM), so that the peak that
    ``_peak_mib`` reads is the one reached since (Linux; else the lifetime peak is read)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass


def _peak_mib():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_label_per_row(n_rows, n_tasks, n_features=2048, nnz_per_row=40, labels_per_row=1, seed=0):
    """Fingerprint-like CSR X and a sparse y with ``labels_per_row`` labels per row, every task labelled."""
    rng = np.random.RandomState(seed)
    X, _ = sparse_problem(n_rows, n_features, nnz_per_row, n_tasks=1, seed=seed)
    rows = np.repeat(np.arange(n_rows), labels_per_row)
    tasks = (np.arange(len(rows)) + rng.randint(n_tasks, size=len(rows))) % n_tasks
    tasks[:n_tasks] = np.arange(min(n_tasks, len(rows)))  # every task gets a label
    keep = np.unique(rows * n_tasks + tasks, return_index=True)[1]  # one label per (row, task)
    rows, tasks = rows[keep], tasks[keep]
    signal = np.asarray(X[:, : n_features // 2].sum(axis=1)).ravel()
    labels = (signal[rows] + rng.normal(size=len(rows)) * 2 > np.median(signal)).astype(np.float64)
    # each task needs both classes: its first two labels get one of each
    first = np.unique(tasks, return_index=True)[1]
    labels[first] = 0.0
    labels[np.minimum(first + 1, len(labels) - 1)] = 1.0
    return X, labels_from_long(rows, tasks, labels, shape=(n_rows, n_tasks))


def _warm_up():
    """A tiny fit first: the first fit of a process imports and initializes (about 250 MiB) what
    every later fit reuses, which is not the fit's own memory."""
    X = np.random.RandomState(0).normal(size=(64, 4)).astype(np.float32)
    y = labels_from_long(np.arange(64), np.arange(64) % 2, np.arange(64) % 2, shape=(64, 2))
    MaskedMultiTaskClassifier(hidden_layer_sizes=(4,), max_iter=1).fit(sp.csr_matrix(X), y)
    MaskedMultiTaskEstimator(hidden_layer_sizes=(4,), max_iter=1).fit(X, y.toarray())


def run_case(case, quick):
    """One measured fit, in this (fresh) process: a dict of figures, printed as JSON by ``--case``."""
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    _warm_up()
    if case.startswith("labels-"):
        n_rows, n_tasks = (10_000, 100) if quick else (100_000, 1_000)
        rng = np.random.RandomState(0)
        X = rng.normal(size=(n_rows, 20)).astype(np.float32)
        n_labels = n_rows * n_tasks // 1000
        rows, tasks = rng.randint(n_rows, size=n_labels), rng.randint(n_tasks, size=n_labels)
        keep = np.unique(rows * n_tasks + tasks, return_index=True)[1]
        rows, tasks = rows[keep], tasks[keep]
        values = (X[rows, 0] + rng.normal(size=len(rows)) > 0).astype(np.float64)
        y = labels_from_long(rows, tasks, values, shape=(n_rows, n_tasks))
        if case == "labels-dense":
            y = y.toarray().astype(np.float32)
            y[:] = np.nan
            y[rows, tasks] = values
        params = dict(hidden_layer_sizes=(64,), max_iter=1, random_state=0, task_types="classification")
        model = MaskedMultiTaskEstimator(**params)
        _reset_peak()
        before = _rss_mib()
        start = time.perf_counter()
        model.fit(X, y)
        return {
            "fit_s": time.perf_counter() - start,
            "peak_increase_mib": _peak_mib() - before,
            "labels": int(len(rows)),
            "dense_y_mib": n_rows * n_tasks * 4 / 2**20,
            "compact_mib": len(rows) * (8 + 8 + 4 + 4) / 2**20,
        }
    n_tasks = int(case.split("-")[1])
    large = case.startswith("large")
    n_rows = (2_000 if quick else 1_000_000) if large else (2_000 if quick else 200_000)
    X, y = one_label_per_row(n_rows, n_tasks, labels_per_row=10 if large else 1)
    epochs = 1 if large else 2
    model = MaskedMultiTaskClassifier(max_iter=epochs, random_state=0, early_stopping=False)
    _reset_peak()
    before = _rss_mib()
    model.fit(X, y)
    seconds = [float(duration) for duration in model.history_[:, "dur"]]
    return {
        "rows": n_rows,
        "tasks": n_tasks,
        "labels": int(y.nnz),
        "epoch_s": min(seconds),
        "peak_increase_mib": _peak_mib() - before,
        "sparse_heads": bool(model.net_.module_.sparse_heads),
    }


def in_fresh_process(case, quick):
    command = [sys.executable, __file__, "--case", case] + (["--quick"] if quick else [])
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_labels_memory(args):
    dense, sparse = in_fresh_process("labels-dense", args.quick), in_fresh_process("labels-sparse", args.quick)
    print(
        f"\nlabels: {dense['labels']} labels in a y of {dense['dense_y_mib']:.0f} MiB as dense float32 "
        f"(compact: {dense['compact_mib']:.1f} MiB); 1 epoch, (64,)"
    )
    print(f"{'y given as':<12} {'fit raises peak memory by (MiB)':>32} {'x dense y':>10} {'fit s':>6}")
    for name, row in (("dense, NaN", dense), ("sparse", sparse)):
        ratio = row["peak_increase_mib"] / row["dense_y_mib"]
        print(f"{name:<12} {row['peak_increase_mib']:>32.0f} {ratio:>10.2f} {row['fit_s']:>6.1f}")
    return {"dense": dense, "sparse": sparse}


def bench_many_tasks(args):
    counts = (10, 100, 1_000) if args.quick else (10, 1_000, 10_000)
    rows = {n_tasks: in_fresh_process(f"tasks-{n_tasks}", args.quick) for n_tasks in counts}
    first = rows[10]
    print(
        f"\nmany tasks: {first['rows']} rows, one label per row, sparse X 2048 columns (40 non-zeros per row), "
        "defaults"
    )
    print(f"{'tasks':>6} {'epoch s':>8} {'x 10 tasks':>11} {'fit peak +MiB':>14} {'sparse heads':>13}")
    for n_tasks, row in rows.items():
        ratio = row["epoch_s"] / first["epoch_s"]
        print(
            f"{n_tasks:>6} {row['epoch_s']:>8.1f} {ratio:>11.2f} {row['peak_increase_mib']:>14.0f} "
            f"{row['sparse_heads']!s:>13}"
        )
    return rows


def bench_large(args):
    row = in_fresh_process("large-10000", args.quick)
    print(
        f"\nlarge: {row['rows']} rows x {row['tasks']} tasks, {row['labels']} labels, sparse X 2048 columns: "
        f"{row['epoch_s']:.0f} s per epoch, fit raises peak memory by {row['peak_increase_mib']:.0f} MiB"
    )
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small problems: a smoke test")
    parser.add_argument("--skip-dense", action="store_true", help="skip the slow densified-batches loop")
    parser.add_argument("--large", action="store_true", help="also the million-row case")
    parser.add_argument(
        "--only", choices=["sparse_input", "first_layer", "labels", "many_tasks", "large"], help="one section"
    )
    parser.add_argument("--widths", type=int, nargs="+", help="first_layer: these widths only (no densities)")
    parser.add_argument("--nnz", type=int, default=60, help="first_layer: non-zeros a row of sparse X (60)")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # one measured fit, run in a fresh process
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case, args.quick)))
        return None
    torch.set_num_threads(1)
    sections = {
        "sparse_input": bench_sparse_input,
        "first_layer": bench_first_layer,
        "labels": bench_labels_memory,
        "many_tasks": bench_many_tasks,
        "large": bench_large,
    }
    chosen = [args.only] if args.only else [name for name in sections if name != "large" or args.large]
    return {name: sections[name](args) for name in chosen}


if __name__ == "__main__":
    main()
