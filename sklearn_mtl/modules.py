"""PyTorch modules for multi-task learning: a shared trunk with all task heads fused in one layer."""

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["SharedTrunkNet", "SeededDropout", "SparseInputLinear"]

_ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
}


class SeededDropout(nn.Module):
    """Dropout that draws its masks from ``generator`` when one is set, else from torch's global RNG.

    The estimators set a private generator for the duration of ``fit``, so that training never
    touches torch's global random state.

    Parameters
    ----------
    p : float
        Probability of zeroing an element.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.modules import SeededDropout
    >>> dropout = SeededDropout(0.5)
    >>> dropout.generator = torch.Generator().manual_seed(0)
    >>> dropout(torch.ones(1, 4))
    tensor([[0., 0., 2., 0.]])
    """

    def __init__(self, p):
        super().__init__()
        self.p = p
        self.generator = None

    def forward(self, X):
        if not self.training or self.p == 0:
            return X
        keep = torch.empty_like(X).bernoulli_(1 - self.p, generator=self.generator)
        return X * keep / (1 - self.p)


class SparseInputLinear(nn.Module):
    """A linear layer whose forward, backward and update cost O(non-zeros) on sparse inputs.

    The weight is the table of an ``nn.EmbeddingBag(mode="sum", sparse=True)``: a row of the input
    selects the weight rows of its non-zero columns and sums them, scaled by the values. Its
    gradient is sparse (only the rows of columns present in the batch), which
    ``torch.optim.SparseAdam`` updates without touching the others. Dense inputs are multiplied
    by the same weight, so a model fitted on sparse inputs predicts dense ones alike.

    Parameters
    ----------
    in_features, out_features : int
        As for ``nn.Linear``; the initialization is ``nn.Linear``'s distribution (uniform in
        ``±1/sqrt(in_features)``).

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.modules import SparseInputLinear
    >>> layer = SparseInputLinear(5, 3)
    >>> dense = torch.tensor([[0.0, 2.0, 0.0, 0.0, 1.0]])
    >>> torch.allclose(layer(dense.to_sparse_csr()), layer(dense))
    True
    """

    def __init__(self, in_features, out_features):
        super().__init__()
        self.bag = nn.EmbeddingBag(in_features, out_features, mode="sum", sparse=True, include_last_offset=True)
        self.bias = nn.Parameter(torch.empty(out_features))
        bound = 1 / math.sqrt(in_features)
        with torch.no_grad():
            self.bag.weight.uniform_(-bound, bound)
            self.bias.uniform_(-bound, bound)

    def forward(self, X, values=None):
        """``X @ weight + bias`` for a sparse CSR tensor (with ``values`` replacing its values) or a dense one."""
        if X.layout == torch.sparse_csr:
            values = X.values() if values is None else values
            return self.bag(X.col_indices(), X.crow_indices(), per_sample_weights=values) + self.bias
        return X @ self.bag.weight + self.bias

    def squared_norm(self, X):
        """The squared norm of the weight rows of the columns present in the sparse batch ``X``: the L2
        penalty applied lazily, to the rows a batch uses, with a sparse gradient."""
        columns = torch.unique(X.col_indices())
        return F.embedding(columns, self.bag.weight, sparse=True).pow(2).sum()


class SharedTrunkNet(nn.Module):
    """A multilayer perceptron shared by all tasks, followed by one fused linear head.

    The trunk is an optional input ``Dropout``, then ``Linear -> activation -> Dropout`` per
    hidden layer. The heads of all tasks are the rows of one ``Linear(hidden_layer_sizes[-1],
    n_outputs)``: one matrix product serves every task, which is much faster than a Python loop over
    per-task heads when there are many tasks.
    With ``head_widths``, every task's head starts from the same random rows, so that no task
    depends on where it sits among the others: permuting the tasks permutes the fitted model.

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_outputs : int
        Total number of outputs of all heads (the estimators compute it from the tasks: one per
        regression or binary task, K per task with K > 2 classes).
    hidden_layer_sizes : tuple of int, default=(100,)
        Width of each shared hidden layer; ``()`` gives a linear model per task.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation after each hidden layer, named as in :class:`~sklearn.neural_network.MLPClassifier`.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    input_dropout : float, default=0.0
        Dropout probability on the inputs (each feature of each row is zeroed with it while
        training): it keeps the first layer from leaning on a few features, which matters most
        for wide, sparse inputs such as fingerprints or word counts.
    head_widths : list of int, default=None
        Number of outputs of each task's head, in order (they sum to ``n_outputs``). When given,
        all heads start alike; None initializes the fused head as one ``nn.Linear``.
    sparse_input : bool, default=False
        Make the first hidden layer a :class:`SparseInputLinear`, which takes sparse CSR tensors
        at a cost that follows their non-zeros (its weight's gradient is sparse: train it with
        ``torch.optim.SparseAdam``). Input dropout then zeroes stored values only.
    sparse_heads : bool, default=False
        Give the heads' weight a sparse gradient in :meth:`pair_forward` (train it with
        ``SparseAdam``): with thousands of tasks and a label or two per row, a step then updates
        the head rows of the labelled tasks only, not rows x tasks. Training must then go through
        :meth:`pair_forward`.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.modules import SharedTrunkNet
    >>> net = SharedTrunkNet(n_features=4, n_outputs=3, hidden_layer_sizes=(8,))
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 3])
    """

    def __init__(
        self,
        n_features,
        n_outputs,
        hidden_layer_sizes=(100,),
        activation="relu",
        dropout=0.0,
        input_dropout=0.0,
        head_widths=None,
        sparse_input=False,
        sparse_heads=False,
    ):
        super().__init__()
        self.sparse_heads = sparse_heads
        layers = [SeededDropout(input_dropout)] if input_dropout > 0 and not sparse_input else []
        width = n_features
        self.sparse_layer = None
        for layer, size in enumerate(hidden_layer_sizes):
            if layer == 0 and sparse_input:
                self.sparse_layer = SparseInputLinear(width, size)
                self.sparse_input_dropout = SeededDropout(input_dropout)
                layers.append(_ACTIVATIONS[activation]())
            else:
                layers += [nn.Linear(width, size), _ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(SeededDropout(dropout))
            width = size
        self.trunk = nn.Sequential(*layers)
        self.heads = nn.Linear(width, n_outputs)
        if head_widths is not None:
            self._start_heads_alike(head_widths)

    def _start_heads_alike(self, head_widths):
        """Start every task's head from the same random rows (its first ``width`` of them).

        Then no task's starting point depends on where it sits among the others, and permuting
        the tasks permutes the fitted model's outputs.
        """
        if sum(head_widths) != self.heads.out_features:
            raise ValueError(f"head_widths sum to {sum(head_widths)}, not n_outputs={self.heads.out_features}.")
        with torch.no_grad():
            weight, bias = self.heads.weight, self.heads.bias
            shared_weight, shared_bias = weight[: max(head_widths)].clone(), bias[: max(head_widths)].clone()
            start = 0
            for width in head_widths:
                weight[start : start + width] = shared_weight[:width]
                bias[start : start + width] = shared_bias[:width]
                start += width

    def shared_parameters(self):
        """The trunk's parameters, which every task depends on (gradient-based task weightings
        such as PCGrad and GradNorm work on these; each task owns its rows of ``heads``)."""
        sparse = [] if self.sparse_layer is None else list(self.sparse_layer.parameters())
        return [*sparse, *self.trunk.parameters()]

    def sparse_parameters(self):
        """The parameters whose gradients are sparse, for ``SparseAdam``: the sparse first layer's
        weight, and the heads' weight with ``sparse_heads``."""
        sparse = [] if self.sparse_layer is None else [self.sparse_layer.bag.weight]
        return sparse + ([self.heads.weight] if self.sparse_heads else [])

    def sparse_squared_norm(self, X, columns=None):
        """The L2 penalty's squared norm of the sparse weight rows that a batch uses: the first layer's
        rows of the columns present in a sparse ``X``, and the head rows of the output ``columns``
        it trains (with ``sparse_heads``). 0 when there are none."""
        squares = 0.0
        if self.sparse_layer is not None and X.layout == torch.sparse_csr:
            squares = self.sparse_layer.squared_norm(X)
        if self.sparse_heads and columns is not None:
            squares = squares + F.embedding(torch.unique(columns), self.heads.weight, sparse=True).pow(2).sum()
        return squares

    def features(self, X):
        """The last hidden layer's output (the input of the heads)."""
        if self.sparse_layer is not None:
            values = self.sparse_input_dropout(X.values()) if X.layout == torch.sparse_csr else None
            X = self.sparse_layer(X, values)
        return self.trunk(X)

    def pair_forward(self, X, rows, columns):
        """The outputs ``forward(X)[rows, columns]`` of the labelled pairs only: a (n_pairs,) tensor.

        The head rows are gathered with a sparse gradient when ``sparse_heads`` is set.
        """
        hidden = self.features(X)
        weight = F.embedding(columns, self.heads.weight, sparse=self.sparse_heads)
        return (hidden[rows] * weight).sum(dim=1) + self.heads.bias[columns]

    def forward(self, X):
        return self.heads(self.features(X))
