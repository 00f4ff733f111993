"""The data pipeline the net iterates over: datasets of inputs and encoded labels, their batches,
the batch iterator and the validation split.

A dataset's ``batch(indices)`` returns ``(inputs, targets)``, ``targets`` being the dict the loss
reads: a dense masked block of the batch's rows x tasks, or the batch's labelled pairs
(:class:`LabelDataset`).
"""

import warnings

import numpy as np
import scipy.sparse as sp
import torch

from ._losses import task_denominators
from ._tasks import validation_scores


def csr_rows(X, rows, sparse, device):
    """Rows of a scipy CSR matrix as a torch sparse CSR tensor (``sparse``) or a dense tensor, on ``device``.

    A sparse batch costs O(its non-zeros); a dense one O(rows x columns).
    """
    part = X[rows]
    if not sparse:
        return torch.from_numpy(part.toarray()).to(device)
    return _csr_tensor(part.indptr.astype(np.int64), part.indices.astype(np.int64), part.data, part.shape, device)


def dense_csr_rows(X):
    """The non-zeros of a dense 2-D array as a float64 torch sparse CSR tensor (on the CPU).

    What ``csr_rows(scipy.sparse.csr_matrix(X, dtype=np.float64), ...)`` gives, in a quarter of its
    time for a row or a few: scipy's constructor and row slicing cost more than a one-row
    prediction's network (``benchmarks/bench_predict.py``).
    """
    rows, columns = np.nonzero(X)
    indptr = np.zeros(X.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=X.shape[0]), out=indptr[1:])
    return _csr_tensor(indptr, columns.astype(np.int64), X[rows, columns].astype(np.float64), X.shape, "cpu")


def _csr_tensor(indptr, indices, data, shape, device):
    with warnings.catch_warnings():
        # torch says once per process that its sparse CSR tensors are "in beta", and (some versions,
        # when one is copied to a GPU) that their invariant checks are off; the layer uses only
        # their indices and values, and a scipy CSR matrix is a valid one
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta", category=UserWarning)
        warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly", category=UserWarning)
        batch = torch.sparse_csr_tensor(
            torch.from_numpy(indptr),
            torch.from_numpy(indices),
            torch.from_numpy(data),
            size=shape,
            check_invariants=False,
        )
        return batch.to(device)


def takes_sparse_batches(module):
    """Whether ``module``'s first layer takes sparse CSR batches (a ``SparseInputLinear``)."""
    return getattr(module, "sparse_layer", None) is not None


def take_inputs(X, indices, sparse_batches):
    """The rows ``indices`` (a slice or an index tensor) of X: a tensor, or a scipy CSR matrix's rows
    as a sparse CSR tensor (``sparse_batches``) or densified, on the device of ``indices``' data."""
    if sp.issparse(X):
        rows = indices if isinstance(indices, slice) else indices.cpu().numpy()
        device = "cpu" if isinstance(indices, slice) else indices.device
        return csr_rows(X, rows, sparse_batches, device)
    return X[indices] if isinstance(indices, slice) else X.index_select(0, indices.to(X.device))


class LabelDataset(torch.utils.data.Dataset):
    """Inputs and encoded labels, converted to tensors once, served in batches by index: the one
    dataset of every fit, whatever form y came in.

    The labels are kept as (row, task) pairs sorted by row, so memory follows their number. A
    batch hands the loss what fits it: with ``pairs=False`` a dense masked block of the batch's
    rows x tasks (encoded labels, 0 and weight 0 where missing), built once for the data set,
    which costs the loss a few whole-tensor operations; with ``pairs=True`` the batch's labelled
    pairs only, whose loss reads only the labelled outputs (``_engine.labels_as_pairs`` chooses,
    by the labels' density).

    Parameters
    ----------
    X : tensor of shape (n_samples, n_features) or scipy CSR matrix
        Dense inputs are one tensor; sparse inputs stay CSR, served per batch as sparse CSR tensors
        (``sparse_batches``) or densified.
    row_ptr : tensor of int64, shape (n_samples + 1,)
        The labels of row ``i`` are ``row_ptr[i]:row_ptr[i + 1]``.
    label_tasks : tensor of int64, shape (n_labels,)
    values : tensor of shape (n_labels,)
        Encoded labels: class indices, or standardized targets.
    loss_weights : tensor of shape (n_labels,)
        Multiplier of each label's loss: its weight times its class weight.
    count_weights : tensor of shape (n_labels,)
        How much each label counts in the denominators: its weight.
    row_weights : tensor of shape (n_samples,)
        Weight of each row.
    n_tasks : int
    normalization : str
        The loss normalization, which decides the per-task denominators of this data set.
    row_probabilities : tensor of shape (n_samples,), default=None
        Probability of drawing each row in training (task-balanced sampling); None is uniform.
    y : ndarray of shape (n_samples, n_tasks), default=None
        The labels as the user gave them (a dense y), for scorers that skorch's ``EpochScoring``
        calls with this data set (they score original labels, not encoded ones).
    sparse_batches : bool, default=False
        Serve batches of a CSR ``X`` as torch sparse CSR tensors (for a module with a sparse input
        layer) instead of densifying them.
    pairs : bool, default=False
        Serve the labels as pairs rather than as dense blocks.
    member_weights : tensor of shape (n_members, n_samples), default=None
        An ensemble's weight of each row in each member's loss (``_engine.member_weights``).
    """

    def __init__(
        self,
        X,
        row_ptr,
        label_tasks,
        values,
        loss_weights,
        count_weights,
        row_weights,
        n_tasks,
        normalization,
        row_probabilities=None,
        y=None,
        sparse_batches=False,
        pairs=False,
        member_weights=None,
    ):
        self.X = X
        self.member_weights = member_weights
        self.row_ptr = row_ptr
        self.label_tasks = label_tasks
        self.values = values
        self.loss_weights = loss_weights
        self.count_weights = count_weights
        self.row_weights = row_weights
        self.n_tasks = n_tasks
        self.normalization = normalization
        self.y = y
        self.sparse_batches = sparse_batches
        self.pairs = pairs
        self.label_rows = torch.repeat_interleave(torch.arange(len(row_ptr) - 1, device=row_ptr.device), row_ptr.diff())
        # without sample weights a batch's weight is its row count: no gather and sum per batch
        self._unit_rows = bool((row_weights == 1).all())
        if not pairs:
            shape = (len(self), n_tasks)
            self._value_block = values.new_zeros(shape).index_put_((self.label_rows, label_tasks), values)
            self._weight_block = loss_weights.new_zeros(shape).index_put_((self.label_rows, label_tasks), loss_weights)
        self.set_row_probabilities(row_probabilities)
        # the rows of all ranks in a data-parallel fit of their own rows (None: this data set's)
        self.n_global_rows = None

    def __len__(self):
        return len(self.row_ptr) - 1

    def __getitem__(self, index):
        return self.batch(torch.as_tensor([index]))

    @property
    def device(self):
        return self.values.device

    def set_row_probabilities(self, row_probabilities):
        """Draw rows with these probabilities in training; the denominators follow."""
        self.row_probabilities = row_probabilities
        self.denominators = task_denominators(
            self.label_rows,
            self.label_tasks,
            self.count_weights,
            self.row_weights,
            self.n_tasks,
            self.normalization,
            row_probabilities,
        )

    def _positions(self, indices):
        """``(label positions, their rows' positions in indices)`` of the rows ``indices``."""
        if isinstance(indices, slice):
            start, stop, _ = indices.indices(len(self))
            positions = torch.arange(int(self.row_ptr[start]), int(self.row_ptr[stop]), device=self.device)
            return positions, self.label_rows[positions] - start
        indices = indices.to(self.device)
        starts = self.row_ptr[indices]
        counts = self.row_ptr[indices + 1] - starts
        local_rows = torch.repeat_interleave(torch.arange(len(indices), device=self.device), counts)
        first = torch.cumsum(counts, 0) - counts  # where each row's labels start in the batch
        positions = starts[local_rows] + torch.arange(len(local_rows), device=self.device) - first[local_rows]
        return positions, local_rows

    def subset(self, indices):
        """The rows ``indices`` as a data set of their own (uniformly sampled), with its own denominators."""
        positions, local_rows = self._positions(indices)
        counts = torch.bincount(local_rows, minlength=len(indices))
        loss_weights = self.loss_weights[positions]
        # without class weights the two are one tensor, and stay one
        count_weights = loss_weights if self.count_weights is self.loss_weights else self.count_weights[positions]
        return LabelDataset(
            self.X[indices.numpy()] if sp.issparse(self.X) else self.X[indices],
            torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)]),
            self.label_tasks[positions],
            self.values[positions],
            loss_weights,
            count_weights,
            self.row_weights[indices.to(self.row_weights.device)],
            self.n_tasks,
            self.normalization,
            y=None if self.y is None else self.y[indices.numpy()],
            sparse_batches=self.sparse_batches,
            pairs=self.pairs,
            member_weights=None if self.member_weights is None else self.member_weights[:, indices],
        )

    def batch(self, indices, n_whole=None, row_weight_sum=None):
        """``(X_batch, targets)`` for a slice or an index tensor, as the net's ``get_loss`` expects.

        ``targets`` holds ``values`` and ``weights`` as a (n_rows, n_tasks) block, or as the
        batch's labelled pairs with their ``rows`` (within the batch) and ``tasks``. A batch's
        denominators are the data set's, scaled by the fraction of rows in the batch: each batch
        loss then estimates the data-set loss without the noise of in-batch counts, and the
        batch-size-weighted mean of the batch losses over an epoch is exactly the data-set loss
        of the chosen normalization.

        In a data-parallel fit, ``indices`` are one rank's share of a global batch of ``n_whole``
        rows whose row weight is ``row_weight_sum``: the denominators are the whole batch's, so
        that the shares' losses sum to its loss (``_distributed.py``).
        """
        X = take_inputs(self.X, indices, self.sparse_batches)
        if X.device != self.device:
            X = X.to(self.device)
        n_rows = X.shape[0] if n_whole is None else n_whole
        if row_weight_sum is None and self._unit_rows:
            row_weight_sum = float(n_rows)
        elif row_weight_sum is None:
            rows = indices if isinstance(indices, slice) else indices.to(self.row_weights.device)
            row_weight_sum = self.row_weights[rows].sum()
        n_samples = self.n_global_rows or len(self)
        targets = {"denominators": self.denominators * (n_rows / n_samples), "row_weight_sum": row_weight_sum}
        if n_whole is not None:
            targets["batch_rows"] = n_whole
        if self.member_weights is not None:
            rows = indices if isinstance(indices, slice) else indices.to(self.member_weights.device)
            targets["member_weights"] = self.member_weights[:, rows]
        if not self.pairs:
            if isinstance(indices, slice):
                targets.update(values=self._value_block[indices], weights=self._weight_block[indices])
            else:
                indices = indices.to(self.device)
                targets.update(
                    values=self._value_block.index_select(0, indices),
                    weights=self._weight_block.index_select(0, indices),
                )
            return X, targets
        positions, local_rows = self._positions(indices)
        targets.update(
            rows=local_rows,
            tasks=self.label_tasks[positions],
            values=self.values[positions],
            weights=self.loss_weights[positions],
        )
        return X, targets

    def validation_scores(self, tasks, outputs):
        """Each task's validation metric on this data set's labels, from the module's outputs."""
        return validation_scores(
            tasks,
            outputs,
            self.label_rows.cpu().numpy(),
            self.label_tasks.cpu().numpy(),
            self.values.cpu().double().numpy(),
            self.count_weights.cpu().double().numpy(),
        )


class InputDataset(torch.utils.data.Dataset):
    """Inputs without targets, served in batches like a :class:`LabelDataset` (for the net's
    ``predict`` and ``forward`` on plain arrays).

    Parameters
    ----------
    X : tensor of shape (n_samples, n_features) or scipy CSR matrix
    device : torch.device, default="cpu"
        Where batches of a CSR matrix go.
    sparse_batches : bool, default=False
        Serve batches of a CSR ``X`` as sparse CSR tensors instead of densifying them.
    """

    def __init__(self, X, device="cpu", sparse_batches=False):
        self.X = X
        self.device = device
        self.sparse_batches = sparse_batches

    def __len__(self):
        return self.X.shape[0]

    def batch(self, indices):
        rows = indices if isinstance(indices, slice) else indices.numpy()
        if sp.issparse(self.X):
            return csr_rows(self.X, rows, self.sparse_batches, self.device), None
        return self.X[rows], None


class BatchIterator:
    """Mini-batches of a :class:`LabelDataset` by tensor slicing.

    skorch's default ``DataLoader`` collates one row at a time, which costs several times the
    training step of a small network. Slicing tensors that were converted once does not.

    Parameters
    ----------
    dataset : LabelDataset
    batch_size : int
    shuffle : bool, default=False
        Visit the rows in a new random order each epoch. With the dataset's
        ``row_probabilities`` set, draw ``len(dataset)`` rows with replacement from them instead.
    seed : int or None, default=None
        Seed of a private ``torch.Generator``; the global RNG is not touched.
    """

    def __init__(self, dataset, batch_size, shuffle=False, seed=None, share=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.share = share
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(int(seed))

    def __len__(self):
        n_samples = len(self.dataset) if self.share is None else self.share.n_samples(self.dataset)
        return -(-n_samples // self.batch_size)

    def __iter__(self):
        if self.share is not None:
            yield from self._shared_batches(self.share.bind(self.dataset))
            return
        n_samples = len(self.dataset)
        if not self.shuffle:
            for start in range(0, n_samples, self.batch_size):
                yield self.dataset.batch(slice(start, start + self.batch_size))
            return
        probabilities = self.dataset.row_probabilities
        if probabilities is None:
            order = torch.randperm(n_samples, generator=self.generator)
        else:
            # the generator is a CPU one (seeded alike on every device): draw on the CPU
            order = torch.multinomial(probabilities.cpu(), n_samples, replacement=True, generator=self.generator)
        device = self.dataset.device
        if order.device != device:
            order = order.to(device)
        for start in range(0, n_samples, self.batch_size):
            yield self.dataset.batch(order[start : start + self.batch_size])

    def _shared_batches(self, share):
        """A data-parallel fit's batches (``share``: a ``_distributed.Share``): one permutation of
        all ranks' rows, drawn alike on every rank, of which each rank serves its share."""
        n_samples = share.n_samples(self.dataset)
        order = torch.randperm(n_samples, generator=self.generator) if self.shuffle else torch.arange(n_samples)
        for start in range(0, n_samples, self.batch_size):
            whole = order[start : start + self.batch_size]
            local = share.local(whole)
            weight = share.row_weight_sum(self.dataset, whole, local)
            yield self.dataset.batch(local.to(self.dataset.device), n_whole=len(whole), row_weight_sum=weight)


class RandomSplit:
    """A non-stratified random train/validation split of a :class:`LabelDataset`.

    skorch's default split stratifies on y, which fails with missing labels.

    Parameters
    ----------
    validation_fraction : float
    seed : int
    """

    def __init__(self, validation_fraction, seed):
        self.validation_fraction = validation_fraction
        self.seed = seed

    def __call__(self, dataset, y=None, **fit_params):
        n_samples = len(dataset)
        n_valid = int(round(self.validation_fraction * n_samples))
        if n_valid < 1 or n_valid >= n_samples:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves {n_valid} of {n_samples} "
                "rows for validation; early stopping needs at least one row on each side. Give "
                "more rows, change validation_fraction, or set early_stopping=False."
            )
        order = torch.randperm(n_samples, generator=torch.Generator().manual_seed(int(self.seed)))
        train, valid = dataset.subset(order[n_valid:]), dataset.subset(order[:n_valid])
        if dataset.row_probabilities is not None:
            probabilities = dataset.row_probabilities[order[n_valid:].to(dataset.row_probabilities.device)]
            train.set_row_probabilities(probabilities / probabilities.sum())
        return train, valid
