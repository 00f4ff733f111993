"""PyTorch modules for multi-task learning: a shared trunk with all task heads fused in one layer."""

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["SharedTrunkNet", "SeededDropout", "SparseInputLinear", "TaskTowers", "keep_mask"]

_ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
}


def keep_mask(shape, p, generator=None, device=None):
    """A boolean mask of ``shape`` that is False with probability ``p`` (to 1/65536), drawn from ``generator``.

    Each element reads 16 random bits of an int64 tensor filled by one ``random_`` call, which
    costs a fraction of ``bernoulli_`` (about a ninth of it for a 128 x 1024 batch on one CPU thread):
    dropout masks were 11% of a Tox21 epoch. The probability of dropping an element is
    ``round(p * 65536) / 65536``, which is ``p`` exactly for 0.5, 0.25 or 0.125.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.modules import keep_mask
    >>> mask = keep_mask((1000, 100), 0.2, torch.Generator().manual_seed(0))
    >>> round(1 - mask.float().mean().item(), 2)
    0.2
    """
    n_elements = math.prod(shape)
    words = torch.empty(-(-n_elements // 4), dtype=torch.int64, device=device)
    words.random_(torch.iinfo(torch.int64).min, None, generator=generator)
    bits = words.view(torch.int16)[:n_elements].view(shape)
    return bits >= round(p * 65536) - 32768


def clean_outputs(dropout_tasks, head_widths):
    """``(tasks, columns)``: boolean tensors of which tasks, and which of their output columns, read
    the network without dropout (those ``dropout_tasks`` leaves out; one entry per task), or None
    when ``dropout_tasks`` is None or names every task."""
    if dropout_tasks is None:
        return None
    if len(dropout_tasks) != len(head_widths):
        raise ValueError(f"dropout_tasks has {len(dropout_tasks)} entries for {len(head_widths)} tasks.")
    if all(dropout_tasks):
        return None
    clean = ~torch.tensor([bool(task) for task in dropout_tasks], dtype=torch.bool)
    return clean, torch.repeat_interleave(clean, torch.tensor(head_widths))


class SeededDropout(nn.Module):
    """Dropout that draws its masks from ``generator`` when one is set, else from torch's global RNG.

    The estimators set a private generator for the duration of ``fit``, so that training never
    touches torch's global random state. Masks come from :func:`keep_mask`.

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
    >>> dropout(torch.ones(2, 4)).shape
    torch.Size([2, 4])
    """

    def __init__(self, p):
        super().__init__()
        self.p = p
        self.generator = None

    def forward(self, X):
        if not self.training or self.p == 0:
            return X
        keep = keep_mask(X.shape, self.p, self.generator, X.device)
        kept = 1.0 - round(self.p * 65536) / 65536
        return X * keep * (1.0 / kept)


class SparseInputLinear(nn.Module):
    """A linear layer whose forward and backward cost O(non-zeros) on sparse inputs.

    The weight is the table of an ``nn.EmbeddingBag(mode="sum")``: a row of the input selects the
    weight rows of its non-zero columns and sums them, scaled by the values. This is the product
    ``X @ weight`` computed from X's non-zeros only: on 2048-bit fingerprints (1.5% non-zero) its
    forward and backward take a sixth of ``nn.Linear``'s. Dense inputs are multiplied by the same
    weight, so a model fitted on sparse inputs predicts dense ones alike.

    With ``sparse_gradient=True`` the weight's gradient is sparse (only the rows of columns present
    in the batch), which ``torch.optim.SparseAdam`` updates without touching the others: an update
    that costs O(rows used), for tens of thousands of columns. With ``sparse_gradient=False`` the
    gradient is the dense one ``nn.Linear`` would get (zero rows for absent columns), so the same
    optimizer and L2 penalty apply and the layer trains exactly as ``nn.Linear`` would.

    Parameters
    ----------
    in_features, out_features : int
        As for ``nn.Linear``; the initialization is ``nn.Linear``'s distribution (uniform in
        ``±1/sqrt(in_features)``).
    sparse_gradient : bool, default=True
        Give the weight a sparse gradient (train it with ``SparseAdam``).

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.modules import SparseInputLinear
    >>> layer = SparseInputLinear(5, 3)
    >>> dense = torch.tensor([[0.0, 2.0, 0.0, 0.0, 1.0]])
    >>> torch.allclose(layer(dense.to_sparse_csr()), layer(dense))
    True
    """

    def __init__(self, in_features, out_features, sparse_gradient=True):
        super().__init__()
        self.sparse_gradient = sparse_gradient
        self.bag = nn.EmbeddingBag(
            in_features, out_features, mode="sum", sparse=sparse_gradient, include_last_offset=True
        )
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

    def forward_stacked(self, X, values):
        """``X @ weight + bias`` for X with each of ``values`` (tensors of X's stored values) in turn,
        in one call: a (len(values) * n_rows, out_features) tensor, the products one after the
        other. Its backward builds one gradient for all of them."""
        crow, n_values = X.crow_indices(), X.values().shape[0]
        offsets = torch.cat([crow[:-1] + copy * n_values for copy in range(len(values))] + [crow[-1:] * len(values)])
        indices = X.col_indices().repeat(len(values))
        return self.bag(indices, offsets, per_sample_weights=torch.cat(values)) + self.bias

    def squared_norm(self, X):
        """The squared norm of the weight rows of the columns present in the sparse batch ``X``: the L2
        penalty applied lazily, to the rows a batch uses, with a sparse gradient."""
        columns = torch.unique(X.col_indices())
        return F.embedding(columns, self.bag.weight, sparse=True).pow(2).sum()


class TaskTowers(nn.Module):
    """Private hidden layers: one tower per task, all computed together, one batched product per layer.

    Layer ``l`` holds a weight of shape (n_tasks, in, out) and a bias of shape (n_tasks, out);
    ``torch.baddbmm`` computes every task's layer at once, so a hundred towers cost one batched
    matrix product per layer, not a Python loop. Every tower starts from the same random weights
    (``nn.Linear``'s distribution), so that no task's starting point depends on where it sits.

    Parameters
    ----------
    n_tasks : int
    in_features : int
    hidden_layer_sizes : tuple of int
        Width of each private layer (the same for every task).
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
    dropout : float, default=0.0

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.modules import TaskTowers
    >>> towers = TaskTowers(n_tasks=3, in_features=4, hidden_layer_sizes=(8,))
    >>> towers(torch.zeros(5, 4)).shape
    torch.Size([3, 5, 8])
    """

    def __init__(self, n_tasks, in_features, hidden_layer_sizes, activation="relu", dropout=0.0):
        super().__init__()
        self.n_tasks = n_tasks
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        width = in_features
        for size in hidden_layer_sizes:
            bound = 1 / math.sqrt(width)
            weight = torch.empty(width, size).uniform_(-bound, bound)
            bias = torch.empty(size).uniform_(-bound, bound)
            self.weights.append(nn.Parameter(weight.expand(n_tasks, width, size).clone()))
            self.biases.append(nn.Parameter(bias.expand(n_tasks, size).clone()))
            width = size
        self.activation = _ACTIVATIONS[activation]()
        self.dropout = SeededDropout(dropout) if dropout > 0 else None

    def forward(self, X, clean_tasks=None):
        """Shared features (n_rows, in), or each task's own (n_tasks, n_rows, in) -> every task's
        tower output (n_tasks, n_rows, out). The towers of ``clean_tasks`` (a boolean tensor, one
        entry per task) get no dropout."""
        hidden = X.unsqueeze(0).expand(self.n_tasks, -1, -1) if X.dim() == 2 else X
        for weight, bias in zip(self.weights, self.biases, strict=True):
            hidden = self.activation(torch.baddbmm(bias.unsqueeze(1), hidden, weight))
            if self.dropout is not None:
                dropped = self.dropout(hidden)
                hidden = dropped if clean_tasks is None else torch.where(clean_tasks.view(-1, 1, 1), hidden, dropped)
        return hidden


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
        at a cost that follows their non-zeros. Input dropout then draws masks for the stored
        values only (zeroing a zero changes nothing).
    sparse_gradient : bool, default=True
        With ``sparse_input``, give the first layer's weight a sparse gradient (train it with
        ``torch.optim.SparseAdam``: see :meth:`sparse_parameters`); False gives it the dense
        gradient of ``nn.Linear``, trained by the optimizer of the other parameters.
    n_shared_layers : int, default=None
        How many of the hidden layers are shared; the others are private to each task
        (:class:`TaskTowers`, one tower per task, of the same sizes). None shares every hidden
        layer; 0 shares none: one independent network per task. Needs ``head_widths``.
    dropout_tasks : list of bool, default=None
        Which tasks read the network with its dropout (``input_dropout``, ``dropout``), one entry
        per task of ``head_widths``; None: every task. While training, the other tasks read a
        second pass through the same weights without dropout, which costs one more forward and
        backward pass per step: in a mixed model, the classification tasks get the classifier's
        dropout, which helps them, and the regression tasks none, which they need.
    sparse_heads : bool, default=False
        Give the heads' weight a sparse gradient in :meth:`pair_forward` (train it with
        ``SparseAdam``): with thousands of tasks and a label or two per row, a step then updates
        the head rows of the labelled tasks only, not rows x tasks. Training must then go through
        :meth:`pair_forward`.
    task_sharing : float, default=0.0
        How strongly the tasks' heads are pulled together. 0: every task has its own head (the rows of
        ``heads``). A positive value gives each task's head a shared part, ``shared_head`` (one row per
        output column of a task: a task's k-th column reads its k-th row), plus the task's own
        deviation (its rows of ``heads``, which start at zero), and the L2 penalty on the deviations is
        ``task_sharing`` times that on the other weights (:meth:`penalized_parameters`): the regularized
        multi-task learning of Evgeniou and Pontil (2004). ``math.inf``: no deviations, one head's weights for
        all tasks (each task keeps its own bias). Needs ``head_widths``.

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
        n_shared_layers=None,
        sparse_input=False,
        sparse_heads=False,
        sparse_gradient=True,
        dropout_tasks=None,
        task_sharing=0.0,
    ):
        super().__init__()
        self.sparse_heads = sparse_heads
        if not task_sharing >= 0:  # also catches NaN
            raise ValueError(f"task_sharing must be a float >= 0 (or math.inf), got {task_sharing!r}.")
        if task_sharing and head_widths is None:
            raise ValueError("task_sharing needs head_widths (which output columns belong to which task).")
        self.task_sharing = float(task_sharing)
        hidden_layer_sizes = tuple(hidden_layer_sizes)
        n_shared = len(hidden_layer_sizes) if n_shared_layers is None else n_shared_layers
        if not 0 <= n_shared <= len(hidden_layer_sizes):
            raise ValueError(
                f"n_shared_layers={n_shared_layers} is larger than the number of hidden layers "
                f"({len(hidden_layer_sizes)}, hidden_layer_sizes={hidden_layer_sizes})."
            )
        if n_shared < len(hidden_layer_sizes) and head_widths is None:
            raise ValueError("Private layers (n_shared_layers below the number of hidden layers) need head_widths.")
        if sparse_input and n_shared == 0:
            raise ValueError("A sparse input layer is a shared layer: sparse_input needs n_shared_layers >= 1.")
        layers = [SeededDropout(input_dropout)] if input_dropout > 0 and not sparse_input else []
        width = n_features
        self.sparse_layer = None
        for layer, size in enumerate(hidden_layer_sizes[:n_shared]):
            if layer == 0 and sparse_input:
                self.sparse_layer = SparseInputLinear(width, size, sparse_gradient)
                self.sparse_input_dropout = SeededDropout(input_dropout)
                layers.append(_ACTIVATIONS[activation]())
            else:
                layers += [nn.Linear(width, size), _ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(SeededDropout(dropout))
            width = size
        self.trunk = nn.Sequential(*layers)
        # what tasks added later (add_tasks) are built with: their private layers and heads
        self._block_settings = dict(
            n_features=width, hidden_layer_sizes=hidden_layer_sizes[n_shared:], activation=activation, dropout=dropout
        )
        self.added = nn.ModuleList()
        self.towers = None
        if head_widths is not None:
            # the task of each output column: its head reads that task's tower
            self.register_buffer(
                "column_task", torch.repeat_interleave(torch.arange(len(head_widths)), torch.tensor(head_widths))
            )
        if n_shared < len(hidden_layer_sizes):
            private = hidden_layer_sizes[n_shared:]
            self.towers = TaskTowers(len(head_widths), width, private, activation, dropout)
            width = private[-1]
        prototype = None
        if self.towers is not None:
            # one head drawn before the fused layer, whose draws depend on the number of outputs:
            # with private layers, a task's whole network then starts alike however many tasks
            # there are (a task trained alone starts where it starts among others)
            bound = 1 / math.sqrt(width)
            prototype = (
                torch.empty(max(head_widths), width).uniform_(-bound, bound),
                torch.empty(max(head_widths)).uniform_(-bound, bound),
            )
        self.heads = nn.Linear(width, n_outputs)
        if head_widths is not None:
            self._start_heads_alike(head_widths, prototype)
        self.shared_head = None
        if self.task_sharing:
            self._share_heads(head_widths)
        clean = clean_outputs(dropout_tasks, [1] * n_outputs if head_widths is None else head_widths)
        if not (dropout > 0 or input_dropout > 0):
            clean = None
        self.register_buffer("clean_tasks", None if clean is None else clean[0])
        self.register_buffer("clean_columns", None if clean is None else clean[1])
        if clean is not None:
            # tasks added later read the pass without dropout, and so get none in their own layers
            self._block_settings["dropout"] = 0.0

    def _two_passes(self):
        """Whether this training step reads the network twice: with dropout for ``dropout_tasks``,
        without for the others."""
        return self.training and getattr(self, "clean_columns", None) is not None

    def _start_heads_alike(self, head_widths, prototype=None):
        """Start every task's head from the same random rows (its first ``width`` of them): those
        of ``prototype`` (weight, bias) when given, else the fused layer's first rows.

        Then no task's starting point depends on where it sits among the others, and permuting
        the tasks permutes the fitted model's outputs.
        """
        if sum(head_widths) != self.heads.out_features:
            raise ValueError(f"head_widths sum to {sum(head_widths)}, not n_outputs={self.heads.out_features}.")
        with torch.no_grad():
            weight, bias = self.heads.weight, self.heads.bias
            if prototype is None:
                prototype = weight[: max(head_widths)].clone(), bias[: max(head_widths)].clone()
            shared_weight, shared_bias = prototype
            start = 0
            for width in head_widths:
                weight[start : start + width] = shared_weight[:width]
                bias[start : start + width] = shared_bias[:width]
                start += width

    def _share_heads(self, head_widths):
        """Split the heads into a shared head, which starts where every task's head started, and
        per-task deviations from it, which start at zero (and stay there with an infinite
        ``task_sharing``)."""
        starts = torch.cumsum(torch.tensor([0, *head_widths[:-1]]), 0)
        # the k-th output column of a task reads the shared head's k-th row
        slots = torch.arange(sum(head_widths)) - torch.repeat_interleave(starts, torch.tensor(head_widths))
        self.register_buffer("column_slot", slots)
        starts = starts.tolist()
        with torch.no_grad():
            first = starts[int(torch.argmax(torch.tensor(head_widths)))]
            self.shared_head = nn.Parameter(self.heads.weight[first : first + max(head_widths)].clone())
            self.heads.weight.zero_()
        self.heads.weight.requires_grad_(math.isfinite(self.task_sharing))

    def _shares_heads(self):
        # a module pickled before task_sharing existed has no shared head
        return getattr(self, "shared_head", None) is not None

    def head_weight(self):
        """The heads' weight as the outputs use it: each task's own rows, plus the shared head's
        rows with ``task_sharing``."""
        if not self._shares_heads():
            return self.heads.weight
        return self.heads.weight + self.shared_head[self.column_slot]

    def penalized_parameters(self):
        """``(parameter, factor)`` pairs of the weight matrices the L2 penalty applies to: every
        parameter of more than one dimension with factor 1, but the heads' per-task deviations
        with factor ``task_sharing`` when the heads share a part."""
        deviations = self.heads.weight if self._shares_heads() else None
        pairs = [(p, self.task_sharing if p is deviations else 1.0) for p in self.parameters() if p.ndim > 1]
        # infinitely penalized deviations are fixed at zero: nothing to penalize (and inf * 0 is NaN)
        return [(p, factor) for p, factor in pairs if math.isfinite(factor)]

    def shared_parameters(self):
        """The trunk's parameters, which every task depends on (gradient-based task weightings
        such as PCGrad and GradNorm work on these; each task owns its rows of ``heads``)."""
        sparse = [] if self.sparse_layer is None else list(self.sparse_layer.parameters())
        return [*sparse, *self.trunk.parameters()]

    def private_parameters(self, task):
        """``(parameter, index)`` pairs of what belongs to ``task`` alone: its tower slices and its
        head rows (``parameter[index]``), for per-task stopping."""
        n_own = self.n_own_tasks()
        if task >= n_own:
            for block in self.added:
                if task - n_own < block.n_own_tasks():
                    return block.private_parameters(task - n_own)
                n_own += block.n_own_tasks()
            raise IndexError(f"task {task} is not one of the network's tasks.")
        column_task = getattr(self, "column_task", torch.arange(self.heads.out_features))
        columns = torch.nonzero(column_task == task).flatten()
        parts = [(self.heads.weight, columns), (self.heads.bias, columns)]
        if self.towers is not None:
            parts += [(parameter, task) for parameter in (*self.towers.weights, *self.towers.biases)]
        return parts

    def n_own_tasks(self):
        """The number of tasks of this network's own heads (those of ``add_tasks`` blocks aside)."""
        column_task = getattr(self, "column_task", None)
        return self.heads.out_features if column_task is None else int(column_task.max()) + 1

    def add_tasks(self, head_widths):
        """Append heads (and private layers, as the network's own tasks have) for new tasks.

        They read the shared layers' output and are concatenated after the existing outputs, which
        are computed as before: the existing tasks' predictions do not change. Returns the new
        block, whose parameters are all that the new tasks own.
        """
        block = SharedTrunkNet(
            **self._block_settings,
            n_outputs=sum(head_widths),
            head_widths=list(head_widths),
            n_shared_layers=0 if self._block_settings["hidden_layer_sizes"] else None,
        )
        self.added.append(block.to(self.heads.weight.device, self.heads.weight.dtype))
        return block

    def sparse_parameters(self):
        """The parameters whose gradients are sparse, for ``SparseAdam``: the sparse first layer's
        weight, and the heads' weight with ``sparse_heads``."""
        sparse_layer = self.sparse_layer is not None and self.sparse_layer.sparse_gradient
        sparse = [self.sparse_layer.bag.weight] if sparse_layer else []
        return sparse + ([self.heads.weight] if self.sparse_heads else [])

    def sparse_squared_norm(self, X, columns=None):
        """The L2 penalty's squared norm of the sparse weight rows that a batch uses: the first layer's
        rows of the columns present in a sparse ``X``, and the head rows of the output ``columns``
        it trains (with ``sparse_heads``). 0 when there are none."""
        squares = 0.0
        sparse_layer = self.sparse_layer is not None and self.sparse_layer.sparse_gradient
        if sparse_layer and X.layout == torch.sparse_csr:
            squares = self.sparse_layer.squared_norm(X)
        factor = self.task_sharing if self._shares_heads() else 1.0
        if self.sparse_heads and columns is not None and math.isfinite(factor):  # inf: deviations fixed at 0
            squares = squares + factor * F.embedding(torch.unique(columns), self.heads.weight, sparse=True).pow(2).sum()
        return squares

    def shared_features(self, X, dropout=True):
        """The output of the shared layers (read without dropout with ``dropout=False``)."""
        if self.sparse_layer is not None:
            values = None
            if X.layout == torch.sparse_csr:
                values = self.sparse_input_dropout(X.values()) if dropout else X.values()
            X = self.sparse_layer(X, values)
        return self._trunk_layers(X, dropout)

    def _trunk_layers(self, X, dropout=True):
        """The trunk's layers after the sparse first layer (all of them without one), with or without dropout."""
        for layer in self.trunk:
            if dropout or not isinstance(layer, SeededDropout):
                X = layer(X)
        return X

    def _passes(self, X):
        """The shared layers' output, and in a step of two passes (see ``dropout_tasks``) their
        output without dropout (else None)."""
        if not self._two_passes():
            return self.shared_features(X), None
        if self.sparse_layer is None or X.layout != torch.sparse_csr:
            return self.shared_features(X), self.shared_features(X, dropout=False)
        # the sparse first layer computes both passes in one call, whose backward then builds one
        # dense gradient instead of two (a mixed5 fit took 8% less time)
        values = X.values()
        dropped, clean = self.sparse_layer.forward_stacked(X, [self.sparse_input_dropout(values), values]).chunk(2)
        return self._trunk_layers(dropped), self._trunk_layers(clean, dropout=False)

    def _head_inputs(self, shared, clean=None):
        """What the heads read: (n_rows, width) features, or the pair (with dropout, without) of
        them in a step of two passes; with private layers, the towers' (n_tasks, n_rows, width)
        output, each tower reading its task's pass."""
        if self.towers is None:
            return shared if clean is None else (shared, clean)
        if clean is None:
            return self.towers(shared)
        inputs = torch.where(self.clean_tasks.view(-1, 1, 1), clean.unsqueeze(0), shared.unsqueeze(0))
        return self.towers(inputs, self.clean_tasks)

    def features(self, X):
        """The last hidden layer's output (the input of the heads): (n_rows, width), or
        (n_tasks, n_rows, width) with private layers; in a training step of two passes without
        private layers, the pair (with dropout, without)."""
        return self._head_inputs(*self._passes(X))

    def pair_forward(self, X, rows, columns):
        """The outputs ``forward(X)[rows, columns]`` of the labelled pairs only: a (n_pairs,) tensor.

        The head rows are gathered with a sparse gradient when ``sparse_heads`` is set.
        """
        if len(self.added):
            return self.forward(X)[rows, columns]
        hidden = self.features(X)
        weight = F.embedding(columns, self.heads.weight, sparse=self.sparse_heads)
        if self._shares_heads():
            weight = weight + self.shared_head[self.column_slot[columns]]
        if isinstance(hidden, tuple):
            dropped, clean = hidden
            hidden = torch.where(self.clean_columns[columns].unsqueeze(1), clean[rows], dropped[rows])
        else:
            hidden = hidden[rows] if self.towers is None else hidden[self.column_task[columns], rows]
        return (hidden * weight).sum(dim=1) + self.heads.bias[columns]

    def forward(self, X):
        shared, clean = self._passes(X)
        outputs = self._own_outputs(shared, clean)
        if not len(self.added):
            return outputs
        # tasks added later read the shared layers as the tasks without dropout do, where there are any
        shared = shared if clean is None else clean
        return torch.cat([outputs, *(block._own_outputs(shared) for block in self.added)], dim=1)

    def _own_outputs(self, shared, clean=None):
        hidden = self._head_inputs(shared, clean)
        if isinstance(hidden, tuple):
            dropped, clean = hidden
            weight = self.head_weight()
            return torch.where(
                self.clean_columns, F.linear(clean, weight, self.heads.bias), F.linear(dropped, weight, self.heads.bias)
            )
        if self.towers is None:
            return F.linear(hidden, self.head_weight(), self.heads.bias)
        if len(self.column_task) > hidden.shape[0]:  # tasks with several outputs read their tower for each
            hidden = hidden[self.column_task]
        return torch.baddbmm(self.heads.bias.view(-1, 1, 1), hidden, self.head_weight().unsqueeze(2)).squeeze(2).T
