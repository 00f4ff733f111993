"""Training-loop overhead of ``MaskedMultiTaskClassifier.fit`` against a hand-written PyTorch loop.

What it measures
----------------
One synthetic data set (20,000 rows x 50 float32 features, 8 binary tasks, about 40% of the labels
missing as NaN) is fitted, for batch sizes 32, 256 and 4096, by

* the estimator: ``MaskedMultiTaskClassifier(hidden_layer_sizes=(64, 64), batch_size=bs,
  max_iter=E, tol=0, n_iter_no_change=E + 1, alpha=1e-4, random_state=0, **SAME_WORK).fit(X, y)``
  (no early stop, so exactly E epochs run), where ``SAME_WORK`` sets what the defaults would
  add to the loop below and a careful user's loop does not have: no validation split held out
  and scored each epoch, no dropout, a constant learning rate, X read as it is (the reference
  does not standardize it; it is standard normal already). The overhead measured is the
  training loop's, on the same work; and
* a reference: the plain PyTorch loop a careful user would write for the same work. The same
  network (:class:`sklearn_mtl.modules.SharedTrunkNet`, (64, 64), 8 outputs), tensors converted
  once, a ``torch.randperm`` per epoch and index slicing, ``torch.optim.Adam(fused=True, lr=1e-3)``,
  the masked binary cross-entropy normalized per task exactly as the estimator's default
  ``loss_normalization="per_task"`` (each task's sum of weighted entry losses divided by the
  task's observed count times ``batch_rows / n_rows``), plus the L2 penalty the estimator adds
  in training (``0.5 * alpha * sum of squared weight matrices / batch_rows``), the epoch loss
  accumulated on the device, and the same number of epochs.

Both timings are wall-clock seconds of a whole fit, so they include the per-fit work (input
validation and conversion, building the network and optimizer). One-time process costs are
excluded: one warm-up fit of each is run first (the first optimizer built in a process imports
``torch._dynamo``, about 1.3 s). Each measurement is repeated, the two fits alternating, and the minimum is
reported, because other processes on the machine only ever add time.

The printed ratio is estimator seconds / reference seconds; the project's target is <= 1.15.

How to run
----------
::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_fit_overhead.py
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_fit_overhead.py --quick     # smoke run
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_fit_overhead.py --device cuda

``OMP_NUM_THREADS=1`` (and ``torch.set_num_threads(1)`` below) matters: on a small, busy machine
two intra-op threads can make a tiny network 10x-250x slower, and the figures would measure
OpenMP barriers instead of the training loop.
"""

import argparse
import time
import warnings

import numpy as np
import torch
from torch.nn import functional as F

from sklearn_mtl import MaskedMultiTaskClassifier
from sklearn_mtl.modules import SharedTrunkNet

torch.set_num_threads(1)

N_ROWS = 20_000
N_FEATURES = 50
N_TASKS = 8
MISSING_FRACTION = 0.4
HIDDEN = (64, 64)
ALPHA = 1e-4
LR = 1e-3
TARGET = 1.15
# what the estimator's defaults do beyond the reference loop (see the module's docstring)
SAME_WORK = dict(
    early_stopping=False, dropout=0.0, input_dropout=0.0, learning_rate_schedule="constant", input_transform="none"
)
# epochs per batch size: about 1-3 s per fit on one CPU thread
EPOCHS = {32: 2, 256: 15, 4096: 40}
QUICK_EPOCHS = {32: 1, 256: 3, 4096: 5}


def make_data(seed=0):
    """X (float32) and y (float64, NaN where the label is missing) of 8 correlated binary tasks."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N_ROWS, N_FEATURES)).astype(np.float32)
    shared = rng.standard_normal((N_FEATURES, 4))
    mixing = rng.standard_normal((4, N_TASKS))
    logits = X @ shared @ mixing / 2 + 0.5 * rng.standard_normal((N_ROWS, N_TASKS))
    y = (logits > 0).astype(np.float64)
    y[rng.random(y.shape) < MISSING_FRACTION] = np.nan
    return X, y


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fit_reference(X, y, batch_size, epochs, device, seed=0):
    """The hand-written loop; returns the mean training loss of the last epoch."""
    generator = torch.Generator(device=device).manual_seed(seed)
    torch.manual_seed(seed)
    observed = ~np.isnan(y)
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)
    values = torch.from_numpy(np.where(observed, y, 0.0).astype(np.float32)).to(device)
    weights = torch.from_numpy(observed.astype(np.float32)).to(device)
    counts = weights.sum(dim=0)
    task_weights = torch.ones(N_TASKS, device=device)
    n_rows = len(Xt)

    model = SharedTrunkNet(n_features=X.shape[1], n_outputs=y.shape[1], hidden_layer_sizes=HIDDEN).to(device)
    model.train()
    matrices = [p for p in model.parameters() if p.ndim > 1]
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, fused=True)

    for _ in range(epochs):
        order = torch.randperm(n_rows, generator=generator, device=device)
        epoch_loss = torch.zeros((), device=device)
        for start in range(0, n_rows, batch_size):
            idx = order[start : start + batch_size]
            xb, yb, wb = Xt[idx], values[idx], weights[idx]
            rows = len(idx)
            denominators = counts * (rows / n_rows)
            safe = torch.where(denominators > 0, denominators, torch.ones_like(denominators))
            entries = F.binary_cross_entropy_with_logits(model(xb), yb, reduction="none")
            task_losses = (entries * wb).sum(dim=0) / safe
            loss = (task_weights * task_losses).sum()
            loss = loss + 0.5 * ALPHA * sum((w**2).sum() for w in matrices) / rows
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            epoch_loss += loss.detach() * rows
    last_loss = (epoch_loss / n_rows).item()
    sync(device)
    return last_loss


def fit_estimator(X, y, batch_size, epochs, device, seed=0):
    """``MaskedMultiTaskClassifier.fit``; returns the training loss of the last epoch."""
    clf = MaskedMultiTaskClassifier(
        hidden_layer_sizes=HIDDEN,
        batch_size=batch_size,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        alpha=ALPHA,
        learning_rate_init=LR,
        device=str(device),
        random_state=seed,
        **SAME_WORK,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is reached on purpose
        clf.fit(X, y)
    sync(device)
    return clf.loss_curve_[-1]


def best_times(fits, repeats, *args):
    """The least seconds of each fit over ``repeats`` rounds and its last loss; the fits alternate
    within each round, so that a load that comes and goes weighs on both alike."""
    times, losses = [[] for _ in fits], [None] * len(fits)
    for _ in range(repeats):
        for i, fit in enumerate(fits):
            start = time.perf_counter()
            losses[i] = fit(*args)
            times[i].append(time.perf_counter() - start)
    return [(min(seconds), loss) for seconds, loss in zip(times, losses, strict=True)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="torch device for both loops (default: cpu)")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run: few epochs, 1 repeat")
    parser.add_argument("--repeats", type=int, default=None, help="timed fits per measurement (default 5)")
    parser.add_argument(
        "--batch-sizes", type=int, nargs="+", default=list(EPOCHS), help="batch sizes (default: 32 256 4096)"
    )
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda was asked for, but CUDA is not available here")
    repeats = args.repeats or (1 if args.quick else 5)
    epochs_table = QUICK_EPOCHS if args.quick else EPOCHS

    X, y = make_data()
    print(
        f"{N_ROWS} rows x {N_FEATURES} features, {N_TASKS} binary tasks, "
        f"{np.isnan(y).mean():.0%} of labels missing; hidden={HIDDEN}, alpha={ALPHA}, "
        f"device={device}, torch threads={torch.get_num_threads()}, min of {repeats} fit(s)"
    )

    # warm-up: the first optimizer imports torch._dynamo; first calls allocate and dispatch
    fit_reference(X, y, 256, 1, device)
    fit_estimator(X, y, 256, 1, device)

    header = f"{'batch':>6} {'epochs':>6} {'reference s':>12} {'estimator s':>12} {'ratio':>7} {'target':>7}  ok"
    print(header)
    print("-" * len(header))
    ratios = []
    for batch_size in args.batch_sizes:
        epochs = epochs_table.get(batch_size, max(1, 2 * batch_size // 256))
        (reference, ref_loss), (estimator, est_loss) = best_times(
            [fit_reference, fit_estimator], repeats, X, y, batch_size, epochs, device
        )
        ratio = estimator / reference
        ratios.append(ratio)
        ok = "yes" if ratio <= TARGET else "NO"
        print(
            f"{batch_size:>6} {epochs:>6} {reference:>12.3f} {estimator:>12.3f} {ratio:>7.2f} "
            f"{'<=' + str(TARGET):>7}  {ok}   (last-epoch loss: ref {ref_loss:.4f}, est {est_loss:.4f})"
        )
    return ratios


if __name__ == "__main__":
    main()
