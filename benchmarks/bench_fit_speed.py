"""Where the defaults' fit time went: the speed levers one at a time, on Tox21.

One training epoch of the default network (2048 fingerprint bits -> 1024 units -> 12 heads,
dropout 0.5 and input dropout 0.2, the L2 penalty of ``alpha="auto"``, Adam, batches of 128 rows)
is timed in a plain PyTorch loop over the package's own modules, with the levers added one by one:

1. the previous step: ``nn.Linear`` first layer on dense batches, ``bernoulli_`` dropout masks, the
   L2 penalty back-propagated through ``0.5 * l2 * ||W||^2``;
2. + the O(non-zeros) first layer (``SparseInputLinear(sparse_gradient=False)`` on CSR batches:
   the same function and the same dense gradient), input dropout drawn for the non-zeros only;
3. + dropout masks from 16 random bits per element (``keep_mask``);
4. + the L2 gradient added by Adam's fused ``weight_decay`` (the same gradient).

Each row prints seconds per epoch and its ratio to row 1, measured in the same run. The other
lever, fewer epochs (a cosine schedule over about 1500 steps instead of a constant rate and early
stopping), shows in ``bench_real_data.py --config previous``'s epochs and fit seconds. Run with
one thread, as CI::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_fit_speed.py
"""

import argparse
import time

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from sklearn_mtl._batches import csr_rows
from sklearn_mtl.datasets import load_tox21
from sklearn_mtl.modules import SeededDropout, SharedTrunkNet

L2 = 3e-3  # alpha="auto"


class BernoulliDropout(SeededDropout):
    """The previous dropout: a mask drawn with ``bernoulli_``."""

    def forward(self, X):
        if not self.training or self.p == 0:
            return X
        keep = torch.empty_like(X).bernoulli_(1 - self.p, generator=self.generator)
        return X * keep / (1 - self.p)


def build(n_features, n_tasks, sparse_input, cheap_masks):
    torch.manual_seed(0)
    module = SharedTrunkNet(
        n_features,
        n_tasks,
        hidden_layer_sizes=(1024,),
        dropout=0.5,
        input_dropout=0.2,
        head_widths=[1] * n_tasks,
        sparse_input=sparse_input,
        sparse_gradient=False,
    )
    if not cheap_masks:
        for parent in module.modules():
            for name, child in list(parent.named_children()):
                if type(child) is SeededDropout:
                    setattr(parent, name, BernoulliDropout(child.p))
    generator = torch.Generator().manual_seed(0)
    for part in module.modules():
        if hasattr(part, "generator"):
            part.generator = generator
    return module


def epoch_seconds(X, Y, sparse_input, cheap_masks, decay_in_adam, batch_size, n_epochs):
    module = build(X.shape[1], Y.shape[1], sparse_input, cheap_masks).train()
    matrices = [p for p in module.parameters() if p.ndim > 1]
    others = [p for p in module.parameters() if p.ndim <= 1]
    if decay_in_adam:
        groups = [{"params": matrices, "weight_decay": L2}, {"params": others}]
    else:
        groups = [{"params": matrices + others}]
    optimizer = torch.optim.Adam(groups, lr=2e-3, fused=True)
    X_csr = sp.csr_matrix(X)
    X_dense = torch.from_numpy(X)
    observed = torch.from_numpy(~np.isnan(Y))
    targets = torch.from_numpy(np.nan_to_num(Y)).float()
    order_generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(n_epochs):
        order = torch.randperm(len(X), generator=order_generator)
        for begin in range(0, len(X), batch_size):
            rows = order[begin : begin + batch_size]
            inputs = csr_rows(X_csr, rows.numpy(), True, "cpu") if sparse_input else X_dense[rows]
            outputs = module(inputs)
            mask = observed[rows]
            losses = nn.functional.binary_cross_entropy_with_logits(outputs, targets[rows], reduction="none")
            loss = (losses * mask).sum(dim=0).div(mask.sum(dim=0).clamp(min=1)).sum()
            if not decay_in_adam:
                loss = loss + 0.5 * L2 * sum((p**2).sum() for p in matrices)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return (time.perf_counter() - start) / n_epochs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="500 rows, 1 epoch: a smoke test")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    X, Y = load_tox21(return_X_y=True)
    X = X.astype(np.float32)
    if args.quick:
        X, Y = X[:500], Y[:500]
    epochs = 1 if args.quick else args.epochs
    levers = {
        "previous step": (False, False, False),
        "+ O(non-zeros) first layer": (True, False, False),
        "+ cheap dropout masks": (True, True, False),
        "+ L2 in Adam's weight decay": (True, True, True),
    }
    print(f"Tox21, {len(X)} rows, {X.shape[1]} features ({np.count_nonzero(X) / X.size:.1%} non-zero), batch 128")
    print(f"{'levers':<30} {'s / epoch':>10} {'vs previous':>12}")
    results = {}
    for name, lever in levers.items():
        results[name] = epoch_seconds(X, Y, *lever, batch_size=128, n_epochs=epochs)
        ratio = results["previous step"] / results[name]
        print(f"{name:<30} {results[name]:>10.3f} {ratio:>11.1f}x")
    return results


if __name__ == "__main__":
    main()
