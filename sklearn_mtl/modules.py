"""PyTorch modules for multi-task learning: a shared trunk with all task heads fused in one layer."""

import torch
from torch import nn

__all__ = ["SharedTrunkNet", "SeededDropout"]

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
    ):
        super().__init__()
        layers = [SeededDropout(input_dropout)] if input_dropout > 0 else []
        width = n_features
        for size in hidden_layer_sizes:
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
        return self.trunk.parameters()

    def forward(self, X):
        return self.heads(self.trunk(X))
