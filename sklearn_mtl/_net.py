"""The skorch net that trains on masked multi-task targets, and the data pipeline it iterates over.

Only documented skorch seams are used: a Dataset passed as X, ``iterator_train`` /
``iterator_valid``, ``train_split`` and ``get_loss``.
"""

import numpy as np
import scipy.sparse as sp
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback

from ._losses import task_denominators


class MaskedDataset(torch.utils.data.Dataset):
    """Inputs and encoded targets converted to tensors once, served in batches by index.

    Parameters
    ----------
    X : tensor of shape (n_samples, n_features) or scipy CSR matrix
        Dense inputs are one float32 tensor; sparse inputs stay CSR and are densified per batch.
    values : tensor of shape (n_samples, n_tasks)
        Encoded targets, 0 at missing positions.
    weights : tensor of shape (n_samples, n_tasks)
        Weight of each label, 0 where it is missing.
    row_weights : tensor of shape (n_samples,)
        Weight of each row.
    normalization : str
        The loss normalization, which decides the per-task denominators of this data set.
    """

    def __init__(self, X, values, weights, row_weights, normalization):
        self.X = X
        self.values = values
        self.weights = weights
        self.row_weights = row_weights
        self.normalization = normalization
        self.denominators = task_denominators(weights, row_weights, normalization)

    def __len__(self):
        return self.values.shape[0]

    def __getitem__(self, index):
        return self.batch(torch.as_tensor([index]))

    def subset(self, indices):
        """The rows ``indices`` as a data set of their own, with their own denominators."""
        X = self.X[indices.numpy()] if sp.issparse(self.X) else self.X[indices]
        return MaskedDataset(
            X, self.values[indices], self.weights[indices], self.row_weights[indices], self.normalization
        )

    def batch(self, indices):
        """``(X_batch, targets)`` for a slice or an index tensor, as the net's ``get_loss`` expects.

        A batch's denominators are the data set's, scaled by the fraction of rows in the batch:
        each batch loss then estimates the data-set loss without the noise of in-batch counts,
        and the batch-size-weighted mean of the batch losses over an epoch is exactly the
        data-set loss of the chosen normalization.
        """
        if sp.issparse(self.X):
            rows = indices if isinstance(indices, slice) else indices.numpy()
            X = torch.from_numpy(self.X[rows].toarray())
        else:
            X = self.X[indices]
        values = self.values[indices]
        fraction = values.shape[0] / len(self)
        targets = {
            "values": values,
            "weights": self.weights[indices],
            "denominators": self.denominators * fraction,
            "row_weight_sum": self.row_weights[indices].sum(),
        }
        return X, targets


class BatchIterator:
    """Mini-batches of a :class:`MaskedDataset` by tensor slicing.

    skorch's default ``DataLoader`` collates one row at a time, which costs several times the
    training step of a small network. Slicing tensors that were converted once does not.

    Parameters
    ----------
    dataset : MaskedDataset
    batch_size : int
    shuffle : bool, default=False
    seed : int or None, default=None
        Seed of a private ``torch.Generator`` used for shuffling; the global RNG is not touched.
    """

    def __init__(self, dataset, batch_size, shuffle=False, seed=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(int(seed))

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        n_samples = len(self.dataset)
        if self.shuffle:
            order = torch.randperm(n_samples, generator=self.generator)
            for start in range(0, n_samples, self.batch_size):
                yield self.dataset.batch(order[start : start + self.batch_size])
        else:
            for start in range(0, n_samples, self.batch_size):
                yield self.dataset.batch(slice(start, start + self.batch_size))


class RandomSplit:
    """A non-stratified random train/validation split of a :class:`MaskedDataset`.

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
        return dataset.subset(order[n_valid:]), dataset.subset(order[:n_valid])


class StopOnNonFiniteLoss(Callback):
    """Stop with a clear error as soon as the training loss stops being finite."""

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1, "train_loss"]
        if not np.isfinite(loss):
            raise ValueError(
                f"The training loss became {loss} at epoch {len(net.history)}. Try a smaller "
                "learning_rate_init, standardize X (for example with StandardScaler), or check X "
                "for extreme values."
            )


class MaskedNet(NeuralNet):
    """A skorch ``NeuralNet`` whose targets are the dicts made by :meth:`MaskedDataset.batch`.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`skorch.NeuralNet`.
    alpha : float, default=0.0
        L2 penalty on the weight matrices (not the biases), added to each training batch's loss as
        ``0.5 * alpha * ||W||^2 / batch_weight``, the meaning it has in scikit-learn's MLP.
    """

    def __init__(self, *args, alpha=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.alpha = alpha

    def get_loss(self, y_pred, y_true, X=None, training=False):
        device = y_pred.device
        loss, task_losses = self.criterion_(
            y_pred,
            y_true["values"].to(device),
            y_true["weights"].to(device),
            y_true["denominators"].to(device),
        )
        if training and self.alpha:
            squares = sum((p**2).sum() for p in self.module_.parameters() if p.ndim > 1)
            batch_weight = y_true["row_weight_sum"].to(device)
            # a batch whose rows all weigh 0 adds nothing, not alpha / 0
            scale = torch.where(batch_weight > 0, 0.5 * self.alpha / batch_weight, 0.0)
            loss = loss + scale * squares
        return loss
