"""An ensemble of networks of one shape in one module, trained and predicted together."""

import math
from itertools import accumulate

import torch
from torch import nn
from torch.nn import functional as F

from ._trunk import _ACTIVATIONS, SeededDropout, clean_outputs

__all__ = ["MemberEnsembleNet"]


def _random_signs(*shape):
    return torch.randint(0, 2, shape).to(torch.get_default_dtype()) * 2 - 1


class MemberEnsembleNet(nn.Module):
    """``n_members`` multilayer perceptrons of the same shape, each with its heads, in one module.

    Every layer of every member is computed by one batched product over the members (as
    :class:`TaskTowers` batches tasks), so that an ensemble costs one module's Python overhead per
    step. In training, :meth:`forward` returns every member's outputs, of shape
    (n_members, n_rows, n_outputs): the estimators' loss is the sum of the members' losses, so that
    each member's parameters get the gradient they would get alone. In evaluation mode it returns
    one (n_rows, n_outputs) tensor whose decoding is the members' mean prediction: the mean of
    standardized regression outputs, and logits whose probabilities are the mean of the members'
    probabilities (:meth:`combine`); :meth:`member_outputs` gives the members' own.

    Members differ by their random initialization and dropout masks. With ``shared_input_weight``,
    the first layer's weight is shared and each member owns random-sign scales of its rows and
    columns, ``W * outer(r_m, s_m)`` (BatchEnsemble, Wen et al. 2020): on wide inputs, whose first
    layer holds most of the parameters, an ensemble then costs a fraction of ``n_members``
    independent networks (the optimizer's step and the weight's gradient are one layer's).

    Parameters
    ----------
    n_features, n_outputs : int
        As for :class:`SharedTrunkNet`.
    n_members : int, default=5
    hidden_layer_sizes : tuple of int, default=(100,)
        Width of each member's hidden layers (at least one: linear members would all converge to
        the same model).
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
    dropout, input_dropout : float, default=0.0
        As for :class:`SharedTrunkNet`; each member draws its own masks.
    head_widths : list of int, default=None
        Outputs of each task's head (they sum to ``n_outputs``); None: one per output. Within a
        member, every task's head starts from the same random rows.
    losses : list of {"squared_error", "binary_cross_entropy", "cross_entropy"}, default=None
        Each task's loss, which says how :meth:`combine` averages its outputs; None: regression.
    sparse_input : bool, default=False
        The first layer reads the non-zeros of sparse CSR batches only (an ``nn.EmbeddingBag``,
        as :class:`SparseInputLinear` with a dense gradient).
    shared_input_weight : bool, default=False
        Share the first layer's weight among members, each scaling it by its own random signs.
    dropout_tasks : list of bool, default=None
        As for :class:`SharedTrunkNet`: which tasks read the members with their dropout; the
        others read a second pass without it while training.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.modules import MemberEnsembleNet
    >>> net = MemberEnsembleNet(n_features=4, n_outputs=2, n_members=3, hidden_layer_sizes=(8,))
    >>> net.member_outputs(torch.zeros(5, 4)).shape
    torch.Size([3, 5, 2])
    >>> net.eval()(torch.zeros(5, 4)).shape
    torch.Size([5, 2])
    """

    def __init__(
        self,
        n_features,
        n_outputs,
        n_members=5,
        hidden_layer_sizes=(100,),
        activation="relu",
        dropout=0.0,
        input_dropout=0.0,
        head_widths=None,
        losses=None,
        sparse_input=False,
        shared_input_weight=False,
        dropout_tasks=None,
    ):
        super().__init__()
        hidden_layer_sizes = tuple(hidden_layer_sizes)
        if not hidden_layer_sizes:
            raise ValueError(
                "An ensemble needs at least one hidden layer (hidden_layer_sizes=()): linear members trained on "
                "the same data converge to the same model."
            )
        widths = [1] * n_outputs if head_widths is None else [int(width) for width in head_widths]
        losses = ["squared_error"] * len(widths) if losses is None else list(losses)
        if sum(widths) != n_outputs or len(losses) != len(widths):
            raise ValueError(f"head_widths {widths} and losses {losses} do not describe {n_outputs} outputs.")
        self.n_members, self.n_features = int(n_members), int(n_features)
        self.shared_input_weight = bool(shared_input_weight)
        members, first = self.n_members, hidden_layer_sizes[0]
        n_weights = 1 if self.shared_input_weight else members
        bound = 1 / math.sqrt(n_features)
        if sparse_input:
            self.sparse_layer = nn.EmbeddingBag(n_weights * n_features, first, mode="sum", include_last_offset=True)
            self.input_weight = None
        else:
            self.sparse_layer = None
            self.input_weight = nn.Parameter(torch.empty(n_weights, n_features, first))
        with torch.no_grad():
            self._input_weight().uniform_(-bound, bound)
        self.input_bias = nn.Parameter(torch.empty(members, first).uniform_(-bound, bound))
        if self.shared_input_weight:
            self.input_scale = nn.Parameter(_random_signs(members, n_features))
            self.output_scale = nn.Parameter(_random_signs(members, first))
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        width = first
        for size in hidden_layer_sizes[1:]:
            bound = 1 / math.sqrt(width)
            self.weights.append(nn.Parameter(torch.empty(members, width, size).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(members, size).uniform_(-bound, bound)))
            width = size
        bound = 1 / math.sqrt(width)
        prototype_weight = torch.empty(members, width, max(widths)).uniform_(-bound, bound)
        prototype_bias = torch.empty(members, max(widths)).uniform_(-bound, bound)
        rows = torch.cat([torch.arange(w) for w in widths])
        self.head_weight = nn.Parameter(prototype_weight[:, :, rows].clone())
        self.head_bias = nn.Parameter(prototype_bias[:, rows].clone())
        self.activation = _ACTIVATIONS[activation]()
        self.input_dropout = SeededDropout(input_dropout) if input_dropout > 0 else None
        self.dropout = SeededDropout(dropout) if dropout > 0 else None
        clean = clean_outputs(dropout_tasks, widths)
        has_dropout = self.input_dropout is not None or self.dropout is not None
        self.register_buffer("clean_columns", clean[1] if clean is not None and has_dropout else None)
        binary = [loss == "binary_cross_entropy" for loss, w in zip(losses, widths, strict=True) for _ in range(w)]
        self.register_buffer("binary_columns", torch.tensor(binary, dtype=torch.bool))
        starts = [0, *accumulate(widths[:-1])]
        self.softmax_spans = [
            (start, start + width)
            for start, width, loss in zip(starts, widths, losses, strict=True)
            if loss == "cross_entropy"
        ]

    def _input_weight(self):
        """The first layer's weight, (n_weights, n_features, width): a view of the sparse layer's table."""
        if self.sparse_layer is not None:
            return self.sparse_layer.weight.view(-1, self.n_features, self.sparse_layer.weight.shape[1])
        return self.input_weight

    def penalized_parameters(self):
        """``(parameter, factor)`` pairs of the weight matrices the L2 penalty applies to (biases and
        sign scales are not penalized). A first-layer weight that every member shares gets the
        penalty ``n_members`` times: its gradient is the sum of the members', so that each member's
        part of it is as regularized as one network's weight."""
        first = self.sparse_layer.weight if self.sparse_layer is not None else self.input_weight
        shared = float(self.n_members) if self.shared_input_weight else 1.0
        return [(first, shared), *((weight, 1.0) for weight in self.weights), (self.head_weight, 1.0)]

    def _first_layer(self, X, dropout=True):
        members = self.n_members
        if X.layout == torch.sparse_csr and self.sparse_layer is not None:
            crow, columns, values = X.crow_indices(), X.col_indices(), X.values()
            n_values = len(columns)
            values = values.expand(members, n_values)
            if self.input_dropout is not None and dropout:
                values = self.input_dropout(values)
            shifts = torch.arange(members, dtype=columns.dtype, device=columns.device).unsqueeze(1)
            if self.shared_input_weight:
                values = values * self.input_scale[:, columns]
                indices = columns.repeat(members)
            else:
                indices = (columns.unsqueeze(0) + shifts * self.n_features).flatten()
            offsets = torch.cat(
                [(crow[:-1].unsqueeze(0) + shifts * n_values).flatten(), crow.new_full((1,), members * n_values)]
            )
            outputs = self.sparse_layer(indices, offsets, per_sample_weights=values.reshape(-1))
            outputs = outputs.view(members, len(crow) - 1, -1)
        else:
            if X.layout == torch.sparse_csr:
                X = X.to_dense()
            inputs = X.unsqueeze(0)
            if self.input_dropout is not None and dropout:
                inputs = self.input_dropout(inputs.expand(members, -1, -1))
            if self.shared_input_weight:
                outputs = (inputs * self.input_scale.unsqueeze(1)) @ self._input_weight()[0]
            else:
                outputs = torch.matmul(inputs, self._input_weight())
        if self.shared_input_weight:
            outputs = outputs * self.output_scale.unsqueeze(1)
        return outputs + self.input_bias.unsqueeze(1)

    def _hidden(self, X, dropout=True):
        """Every member's last hidden layer (n_members, n_rows, width), with or without dropout."""
        hidden = self.activation(self._first_layer(X, dropout))
        if self.dropout is not None and dropout:
            hidden = self.dropout(hidden)
        for weight, bias in zip(self.weights, self.biases, strict=True):
            hidden = self.activation(torch.baddbmm(bias.unsqueeze(1), hidden, weight))
            if self.dropout is not None and dropout:
                hidden = self.dropout(hidden)
        return hidden

    def member_outputs(self, X):
        """Every member's outputs for X: a (n_members, n_rows, n_outputs) tensor."""
        outputs = torch.baddbmm(self.head_bias.unsqueeze(1), self._hidden(X), self.head_weight)
        # a module pickled before dropout_tasks existed has no clean_columns
        if self.training and getattr(self, "clean_columns", None) is not None:
            clean = torch.baddbmm(self.head_bias.unsqueeze(1), self._hidden(X, dropout=False), self.head_weight)
            outputs = torch.where(self.clean_columns, clean, outputs)
        return outputs

    def combine(self, outputs):
        """Members' outputs (n_members, n_rows, n_outputs) -> one (n_rows, n_outputs) tensor that decodes
        to the members' mean prediction.

        Regression outputs are averaged. A binary logit becomes ``log(sum p_m) - log(sum (1 - p_m))``
        and a multiclass task's logits ``log(mean softmax_m)``, computed from log-probabilities (no
        probability of 0 or 1 becomes an infinite logit): their sigmoid or softmax is the mean of
        the members' probabilities.
        """
        combined = outputs.mean(dim=0)
        if bool(self.binary_columns.any()):
            pooled = torch.logsumexp(F.logsigmoid(outputs), 0) - torch.logsumexp(F.logsigmoid(-outputs), 0)
            combined = torch.where(self.binary_columns, pooled, combined)
        if self.softmax_spans:
            combined = combined.clone()
            for start, stop in self.softmax_spans:
                log_probs = F.log_softmax(outputs[:, :, start:stop], dim=-1)
                combined[:, start:stop] = torch.logsumexp(log_probs, 0) - math.log(self.n_members)
        return combined

    def forward(self, X):
        """Every member's outputs in training (for the sum of their losses); their combination otherwise."""
        outputs = self.member_outputs(X)
        return outputs if self.training else self.combine(outputs)
