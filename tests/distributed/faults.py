"""Run under ``torchrun --nproc_per_node 2`` by tests/test_distributed.py: a fault on one rank only must end
the fit on every rank at once, with the original error on the failing rank and a clear one, naming it, on
the others; the process group stays usable, and the next fit succeeds. Rank 0 writes, for each fault, each
rank's error and the seconds its fit took, as JSON to the file named by the first argument."""

import json
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
from skorch.callbacks import Callback

from sklearn_mtl import MaskedMultiTaskClassifier


class FailOnRank(Callback):
    """Raises on one rank only, in ``event`` (``on_epoch_end`` or ``on_batch_end``) of the ``at``-th call."""

    def __init__(self, rank, event, at):
        self.rank, self.event, self.at = rank, event, at

    def initialize(self):
        self.calls_ = 0
        return self

    def _maybe_fail(self, event):
        if event != self.event or dist.get_rank() != self.rank:
            return
        self.calls_ += 1
        if self.calls_ == self.at:
            raise RuntimeError(f"{event} failed on rank {self.rank}")

    def on_epoch_end(self, net, **kwargs):
        self._maybe_fail("on_epoch_end")

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self._maybe_fail("on_batch_end")


class FailingStep(torch.nn.Module):
    """A network whose third training forward pass raises on rank 1 only."""

    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, n_outputs)
        self.training_calls = 0

    def forward(self, X):
        if self.training and dist.get_rank() == 1:
            self.training_calls += 1
            if self.training_calls == 3:
                raise RuntimeError("the step failed on rank 1")
        return self.linear(X)


def faults():
    """``{name: (estimator parameters, rank whose X gets a NaN, rank whose y gets an inf)}``."""
    own = dict(distributed_rows="own")
    return {
        "bad_row": (own, 1, None),
        "bad_label": (own, None, 0),
        "epoch_callback": ({**own, "callbacks": [("fail", FailOnRank(1, "on_epoch_end", 2))]}, None, None),
        "batch_callback": ({"callbacks": [("fail", FailOnRank(0, "on_batch_end", 3))]}, None, None),
        "last_epoch_callback": ({**own, "callbacks": [("fail", FailOnRank(1, "on_epoch_end", 4))]}, None, None),
        "step": ({"module": FailingStep}, None, None),
        "no_fault": (own, None, None),
    }


def main(path):
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    probe = np.random.RandomState(99).normal(size=(5, 6))  # the same rows on every rank
    results = {}
    for name, (params, bad_x_rank, bad_y_rank) in faults().items():
        rng = np.random.RandomState(rank)
        X = rng.normal(size=(200, 6))
        y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(float)
        if rank == bad_x_rank:
            X[7, 2] = np.nan
        if rank == bad_y_rank:
            y[3, 1] = np.inf
        estimator = MaskedMultiTaskClassifier(hidden_layer_sizes=(8,), batch_size=50, max_iter=4, random_state=0)
        start = time.perf_counter()
        try:
            estimator.set_params(**params).fit(X, y)
            outcome = {"error": None, "outputs": estimator._forward(probe).numpy().tolist()}
        except Exception as error:
            outcome = {"error": f"{type(error).__name__}: {error}", "fitted": hasattr(estimator, "net_")}
        outcome["seconds"] = time.perf_counter() - start
        results[name] = [None] * dist.get_world_size()
        dist.all_gather_object(results[name], outcome)
    if rank == 0:
        with open(path, "w") as file:
            json.dump(results, file)
    dist.barrier()  # every rank leaves together (see examples/distributed_fit.py)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
