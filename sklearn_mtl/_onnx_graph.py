"""The ONNX graph of a fitted estimator's network and decoding, written for :mod:`sklearn_mtl.onnx`.

Nodes and constants go into skl2onnx's container; the weights are the fitted module's, read layer
by layer as the module computes them in evaluation mode (dropout is the identity there).
"""

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
from torch import nn

from ._inputs import _MATCH_GAP_FRACTION, levels_of, scaling_of
from .modules import MemberEnsembleNet

_ACTIVATIONS = {nn.ReLU: "Relu", nn.Tanh: "Tanh", nn.Sigmoid: "Sigmoid", nn.Identity: None}
# Squeeze, Unsqueeze and ReduceMean read their axes from an input from these opsets on
_AXES_INPUT_OPSET = {"Squeeze": 13, "Unsqueeze": 13, "ReduceMean": 18, "ReduceLogSumExp": 18}
# ScatterND adds its updates (reduction="add") from this opset on
_SCATTER_ADD_OPSET = 16


def label_dtype(tasks):
    """The one numpy dtype that the ``label`` output can hold all classification tasks' classes in,
    as ``predict`` stacks them (str when any task's classes are not numbers or bools)."""
    dtypes = [np.asarray(task.classes.tolist()).dtype for task in tasks]
    if all(dtype.kind == "b" for dtype in dtypes):
        return np.dtype(bool)
    if all(dtype.kind in "biu" for dtype in dtypes):
        return np.dtype(np.int64)
    if all(dtype.kind in "biuf" for dtype in dtypes):
        return np.dtype(np.float64)
    return np.dtype(object)


def write_graph(scope, container, model, source, outputs, layout, dense_first_layer=False):
    """Write the graph of ``model``'s fitted network and its decoding into skl2onnx's ``container``.

    ``source`` is the operator's input variable, ``outputs`` its output variables, and ``layout``
    what each of them holds (``sklearn_mtl.onnx._layout``).
    """
    double = isinstance(source.type, DoubleTensorType)
    graph = _Graph(scope, container, np.float64 if double else np.float32)
    X = source.full_name
    if not isinstance(source.type, (DoubleTensorType, FloatTensorType)):
        X = graph.node("Cast", X, to=TensorProto.FLOAT)
    module = model.net_.module_
    features = _network_input(graph, model, X)
    # a first layer that reads non-zeros only is written so, where the opset allows
    nonzeros = not dense_first_layer and graph.opset >= _SCATTER_ADD_OPSET and module.sparse_layer is not None
    if isinstance(module, MemberEnsembleNet):
        members = _ensemble_outputs(graph, module, features, nonzeros)
        parts = _Parts.of_members(graph, model.tasks_, members, module.n_members)
    else:
        parts = _Parts.of_outputs(graph, model.tasks_, _trunk_outputs(graph, module, features, nonzeros))
    for variable, (_, kind, tasks) in zip(outputs, layout, strict=True):
        name = variable.full_name
        if kind == "label":
            _labels(graph, parts, tasks, model._y_was_1d, name)
        elif kind == "probabilities":
            graph.node("SequenceConstruct", *[parts.probabilities(task) for task in tasks], output=name)
        elif kind == "probability":
            graph.node("Identity", parts.probabilities(tasks[0]), output=name)
        elif kind == "variable":
            scales = np.array([task.scale for task in tasks])
            means = np.array([task.mean for task in tasks])
            graph.node(
                "Add", graph.node("Mul", parts.regression(), graph.const(scales)), graph.const(means), output=name
            )
        else:
            scales = np.array([task.scale for task in tasks])
            graph.node("Mul", parts.regression_std(), graph.const(scales), output=name)


class _Graph:
    """Nodes and constants added to skl2onnx's container under unique names; constants of floats
    take the graph's float type."""

    def __init__(self, scope, container, dtype):
        self.scope, self.container, self.dtype = scope, container, np.dtype(dtype)
        self.opset = container.target_opset

    def const(self, array, name="constant", keep_dtype=False):
        array = np.asarray(array)
        if array.dtype.kind == "f" and not keep_dtype:
            array = array.astype(self.dtype)
        unique = self.scope.get_unique_variable_name(name)
        if array.dtype.kind in "OU":
            values = [str(value).encode("utf-8") for value in array.ravel()]
            self.container.add_initializer(unique, TensorProto.STRING, list(array.shape), values)
        else:
            self.container.add_initializer(unique, None, None, numpy_helper.from_array(array, unique))
        return unique

    def node(self, op_type, *inputs, output=None, **attributes):
        output = output or self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(
            op_type, list(inputs), output, name=self.scope.get_unique_operator_name(op_type), **attributes
        )
        return output

    def with_axes(self, op_type, data, axes, **attributes):
        """An op whose axes are an attribute in older opsets and an input in newer ones."""
        if self.opset >= _AXES_INPUT_OPSET[op_type]:
            return self.node(op_type, data, self.const(np.array(axes, dtype=np.int64), "axes"), **attributes)
        return self.node(op_type, data, axes=list(axes), **attributes)

    def linear(self, inputs, weight, bias):
        """``inputs @ weight + bias`` (numpy broadcasting, as MatMul has it)."""
        return self.node("Add", self.node("MatMul", inputs, self.const(weight, "weight")), self.const(bias, "bias"))

    def activation(self, inputs, module):
        op_type = _ACTIVATIONS[type(module)]
        return inputs if op_type is None else self.node(op_type, inputs)

    def columns(self, inputs, columns, axis):
        return self.node("Gather", inputs, self.const(np.asarray(columns, dtype=np.int64), "columns"), axis=axis)


def _numpy(tensor):
    return tensor.detach().cpu().double().numpy()


def _asinh(graph, z):
    """``asinh(z)`` from ops that onnxruntime runs in double too (its Asinh is float only):
    ``sign(z) log(|z| + hypot(|z|, 1))``, the hypot scaled so that no square overflows."""
    size = graph.node("Abs", z)
    one = graph.const(np.ones(1))
    high, low = graph.node("Max", size, one), graph.node("Min", size, one)
    ratio = graph.node("Div", low, high)
    hypot = graph.node("Mul", high, graph.node("Sqrt", graph.node("Add", one, graph.node("Mul", ratio, ratio))))
    return graph.node("Mul", graph.node("Sign", z), graph.node("Log", graph.node("Add", size, hypot)))


def _network_input(graph, model, X):
    """What the network reads: X's own columns (through the fitted ``input_transform_``, where
    there is one) and the indicator columns of the ``input_encoding`` levels, from the raw X."""
    own = X
    transform = scaling_of(model)
    if transform is not None:
        own = graph.node("Div", graph.node("Sub", X, graph.const(transform.center)), graph.const(transform.scale))
        compress = np.asarray(transform.compress, dtype=bool)
        if compress.any():
            own = graph.node("Where", graph.const(compress, "compress"), _asinh(graph, own), own)
    levels = levels_of(model)
    if not levels:
        return own
    items = sorted(levels.items())
    columns = np.concatenate([np.full(len(values), column) for column, values in items])
    values = np.concatenate([values for _, values in items])
    tolerances = np.concatenate(
        [np.full(len(values), _MATCH_GAP_FRACTION * np.diff(values).min()) for _, values in items]
    )
    gaps = graph.node("Abs", graph.node("Sub", graph.columns(X, columns, axis=1), graph.const(values, "levels")))
    matches = graph.node("LessOrEqual", gaps, graph.const(tolerances, "tolerances"))
    indicators = graph.node("Cast", matches, to=onnx.helper.np_dtype_to_tensor_dtype(graph.dtype))
    return graph.node("Concat", own, indicators, axis=1)


def _nonzeros(graph, X):
    """X's non-zeros, row after row: their rows (nnz, 1), columns (nnz,) and values (nnz,)."""
    where = graph.node("NonZero", graph.node("Not", graph.node("Equal", X, graph.const(np.zeros(1)))))  # (2, nnz)
    positions = graph.node("Transpose", where, perm=[1, 0])
    values = graph.node("GatherND", X, positions)
    one = graph.const(np.array([1], np.int64))
    rows = graph.node("Slice", positions, graph.const(np.array([0], np.int64)), one, one)
    columns = graph.node("Gather", where, graph.const(np.array(1, np.int64)), axis=0)
    return rows, columns, values


def _scatter_rows(graph, X, rows, contributions, shape):
    """The sum of ``contributions`` (nnz, *shape) by row of X: (n_samples, *shape), as the
    package's ``EmbeddingBag`` sums them (in the order of the non-zeros, from zero)."""
    n_rows = graph.node(
        "Slice",
        graph.node("Shape", X),
        graph.const(np.array([0], np.int64)),
        graph.const(np.array([1], np.int64)),
    )
    size = graph.node("Concat", n_rows, graph.const(np.array(shape, np.int64)), axis=0)
    zeros = graph.node("ConstantOfShape", size, value=numpy_helper.from_array(np.zeros(1, dtype=graph.dtype)))
    return graph.node("ScatterND", zeros, rows, contributions, reduction="add")


def _trunk_outputs(graph, module, features, nonzeros):
    """A :class:`SharedTrunkNet`'s (n_samples, n_outputs) outputs in evaluation mode."""
    hidden = features
    if module.sparse_layer is not None:
        weight, bias = _numpy(module.sparse_layer.bag.weight), _numpy(module.sparse_layer.bias)
        if nonzeros:  # the weight rows of each row's non-zero columns, scaled and summed
            rows, columns, values = _nonzeros(graph, hidden)
            picked = graph.node("Gather", graph.const(weight, "weight"), columns, axis=0)
            contributions = graph.node("Mul", picked, graph.with_axes("Unsqueeze", values, [1]))
            hidden = graph.node(
                "Add", _scatter_rows(graph, hidden, rows, contributions, [weight.shape[1]]), graph.const(bias, "bias")
            )
        else:  # a dense product of the same weight
            hidden = graph.linear(hidden, weight, bias)
    for layer in module.trunk:
        if isinstance(layer, nn.Linear):
            hidden = graph.linear(hidden, _numpy(layer.weight).T, _numpy(layer.bias))
        elif type(layer) in _ACTIVATIONS:
            hidden = graph.activation(hidden, layer)
    outputs = [_own_outputs(graph, module, hidden)]
    outputs += [_own_outputs(graph, block, hidden) for block in module.added]  # add_tasks' blocks
    return outputs[0] if len(outputs) == 1 else graph.node("Concat", *outputs, axis=1)


def _own_outputs(graph, module, shared):
    """The outputs of a network's own heads (and towers) from the shared layers' output."""
    heads_weight, heads_bias = _numpy(module.heads.weight), _numpy(module.heads.bias)
    if module.towers is None:
        return graph.linear(shared, heads_weight.T, heads_bias)
    hidden = shared  # (n, width) @ (n_tasks, width, size) broadcasts to (n_tasks, n, size)
    for weight, bias in zip(module.towers.weights, module.towers.biases, strict=True):
        hidden = graph.activation(
            graph.linear(hidden, _numpy(weight), _numpy(bias)[:, None, :]), module.towers.activation
        )
    column_task = module.column_task.cpu().numpy()
    if len(column_task) > module.towers.n_tasks:  # a task with several outputs reads its tower for each
        hidden = graph.columns(hidden, column_task, axis=0)
    products = graph.node("MatMul", hidden, graph.const(heads_weight[:, :, None], "weight"))  # (n_outputs, n, 1)
    by_row = graph.node("Transpose", graph.with_axes("Squeeze", products, [2]), perm=[1, 0])
    return graph.node("Add", by_row, graph.const(heads_bias, "bias"))


def _ensemble_outputs(graph, module, features, nonzeros):
    """A :class:`MemberEnsembleNet`'s members' outputs, (n_members, n_samples, n_outputs)."""
    weight = _numpy(module._input_weight())
    if nonzeros:
        hidden = _ensemble_first_layer_of_nonzeros(graph, module, features, weight)
    elif module.shared_input_weight:
        scaled = graph.node("Mul", features, graph.const(_numpy(module.input_scale)[:, None, :], "input_scale"))
        hidden = graph.node("MatMul", scaled, graph.const(weight[0], "weight"))
        hidden = graph.node("Mul", hidden, graph.const(_numpy(module.output_scale)[:, None, :], "output_scale"))
    else:
        hidden = graph.node("MatMul", features, graph.const(weight, "weight"))
    hidden = graph.node("Add", hidden, graph.const(_numpy(module.input_bias)[:, None, :], "bias"))
    hidden = graph.activation(hidden, module.activation)
    for weight, bias in zip(module.weights, module.biases, strict=True):
        hidden = graph.activation(graph.linear(hidden, _numpy(weight), _numpy(bias)[:, None, :]), module.activation)
    return graph.linear(hidden, _numpy(module.head_weight), _numpy(module.head_bias)[:, None, :])


def _ensemble_first_layer_of_nonzeros(graph, module, X, weight):
    """Every member's first layer before its bias from X's non-zeros only, (n_members, n, width)."""
    rows, columns, values = _nonzeros(graph, X)
    n_members, width = module.n_members, weight.shape[2]
    if module.shared_input_weight:  # each member scales the values by its signs, then the outputs
        scales = graph.node("Gather", graph.const(_numpy(module.input_scale).T, "input_scale"), columns, axis=0)
        scaled = graph.node("Mul", graph.with_axes("Unsqueeze", values, [1]), scales)  # (nnz, n_members)
        picked = graph.with_axes(
            "Unsqueeze", graph.node("Gather", graph.const(weight[0], "weight"), columns, axis=0), [1]
        )
        contributions = graph.node("Mul", picked, graph.with_axes("Unsqueeze", scaled, [2]))
    else:
        picked = graph.node("Gather", graph.const(weight, "weight"), columns, axis=1)  # (n_members, nnz, width)
        picked = graph.node("Transpose", picked, perm=[1, 0, 2])
        contributions = graph.node("Mul", picked, graph.with_axes("Unsqueeze", values, [1, 2]))
    summed = _scatter_rows(graph, X, rows, contributions, [n_members, width])
    hidden = graph.node("Transpose", summed, perm=[1, 0, 2])
    if module.shared_input_weight:
        hidden = graph.node("Mul", hidden, graph.const(_numpy(module.output_scale)[:, None, :], "output_scale"))
    return hidden


class _Parts:
    """The network's outputs by kind of task, as the decoding reads them: the regression tasks'
    standardized values, the binary tasks' logits, each multiclass task's logits; an ensemble's
    combined as :meth:`MemberEnsembleNet.combine` combines them, so that they decode to its
    members' mean prediction."""

    def __init__(self, graph, tasks, outputs, members=None, n_members=1):
        self.graph, self.tasks = graph, tasks
        self.outputs, self.members, self.n_members = outputs, members, n_members
        self.starts = np.cumsum([0] + [task.head_width for task in tasks])[:-1]
        self.binary = [task for task in tasks if task.kind == "classification" and len(task.classes) == 2]
        self._cache = {}

    @classmethod
    def of_outputs(cls, graph, tasks, outputs):
        return cls(graph, tasks, outputs)

    @classmethod
    def of_members(cls, graph, tasks, members, n_members):
        return cls(graph, tasks, None, members, n_members)

    def _cached(self, key, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def _columns(self, tasks):
        """The first output column of each of ``tasks``: of the outputs, or of every member's."""
        columns = self.starts[[task.index for task in tasks]]
        if self.members is None:
            return self.graph.columns(self.outputs, columns, axis=1)
        return self.graph.columns(self.members, columns, axis=2)

    def _span(self, task):
        start = self.starts[task.index]
        columns = np.arange(start, start + task.head_width)
        if self.members is None:
            return self.graph.columns(self.outputs, columns, axis=1)
        return self.graph.columns(self.members, columns, axis=2)

    def regression(self):
        """(n, n_regression_tasks) standardized predictions."""

        def build():
            values = self._columns([task for task in self.tasks if task.kind == "regression"])
            return values if self.members is None else self.graph.with_axes("ReduceMean", values, [0], keepdims=0)

        return self._cached("regression", build)

    def regression_std(self):
        """(n, n_regression_tasks) std over the members of the standardized predictions (ddof=0)."""
        graph = self.graph
        values = self._columns([task for task in self.tasks if task.kind == "regression"])
        deviations = graph.node("Sub", values, self.regression())
        variance = graph.with_axes("ReduceMean", graph.node("Mul", deviations, deviations), [0], keepdims=0)
        return graph.node("Sqrt", variance)

    def binary_logits(self):
        """(n, n_binary_tasks) logits; an ensemble's ``log(sum p_m) - log(sum (1 - p_m))``."""

        def build():
            logits = self._columns(self.binary)
            if self.members is None:
                return logits
            graph = self.graph
            positive = graph.with_axes("ReduceLogSumExp", _log_sigmoid(graph, logits), [0], keepdims=0)
            negative = graph.with_axes(
                "ReduceLogSumExp", _log_sigmoid(graph, graph.node("Neg", logits)), [0], keepdims=0
            )
            return graph.node("Sub", positive, negative)

        return self._cached("binary", build)

    def multiclass_logits(self, task):
        """(n, n_classes) logits of a task with more than two classes; an ensemble's
        ``log(mean softmax_m)``."""

        def build():
            logits = self._span(task)
            if self.members is None:
                return logits
            graph = self.graph
            log_probabilities = graph.node("LogSoftmax", logits, axis=-1)
            pooled = graph.with_axes("ReduceLogSumExp", log_probabilities, [0], keepdims=0)
            return graph.node("Sub", pooled, graph.const(np.array([np.log(self.n_members)])))

        return self._cached(("multiclass", task.index), build)

    def binary_positive(self):
        return self._cached("positive", lambda: self.graph.node("Sigmoid", self.binary_logits()))

    def probabilities(self, task):
        """(n, n_classes) probabilities of one classification task, in ``classes`` order."""
        graph = self.graph
        if len(task.classes) > 2:
            return graph.node("Softmax", self.multiclass_logits(task), axis=1)
        if len(task.classes) == 1:
            return graph.node("ConstantOfShape", _rows_by(graph, self._columns([task]), 1), value=_one(graph.dtype))
        if len(self.binary) == 1:
            positive = self.binary_positive()
        else:
            positive = graph.columns(self.binary_positive(), [self.binary.index(task)], axis=1)
        negative = graph.node("Sub", graph.const(np.ones(1)), positive)
        return graph.node("Concat", negative, positive, axis=1)

    def class_indices(self, tasks):
        """(n, len(tasks)) int64: the index of each task's predicted class among its classes."""
        graph = self.graph
        pieces, order = [], []
        if self.binary:
            pieces.append(
                graph.node(
                    "Cast", graph.node("Greater", self.binary_logits(), graph.const(np.zeros(1))), to=TensorProto.INT64
                )
            )
            order += [task.index for task in self.binary]
        for task in tasks:
            if len(task.classes) > 2:
                pieces.append(graph.node("ArgMax", self.multiclass_logits(task), axis=1, keepdims=1))
                order.append(task.index)
            elif len(task.classes) == 1:
                zeros = graph.node("ConstantOfShape", _rows_by(graph, self._columns([task]), 1))
                pieces.append(graph.node("Cast", zeros, to=TensorProto.INT64))
                order.append(task.index)
        indices = pieces[0] if len(pieces) == 1 else graph.node("Concat", *pieces, axis=1)
        wanted = [task.index for task in tasks]
        if order != wanted:
            indices = graph.columns(indices, [order.index(index) for index in wanted], axis=1)
        return indices


def _log_sigmoid(graph, logits):
    """``log(sigmoid(x)) = min(x, 0) - log(1 + exp(-|x|))``, finite for any finite x."""
    softplus = graph.node(
        "Log",
        graph.node("Add", graph.const(np.ones(1)), graph.node("Exp", graph.node("Neg", graph.node("Abs", logits)))),
    )
    return graph.node("Sub", graph.node("Min", logits, graph.const(np.zeros(1))), softplus)


def _rows_by(graph, tensor, width):
    """The int64 shape (n_rows, width), n_rows read from the last-but-one axis of ``tensor``."""
    n_rows = graph.node(
        "Slice",
        graph.node("Shape", tensor),
        graph.const(np.array([-2], np.int64)),
        graph.const(np.array([-1], np.int64)),
    )
    return graph.node("Concat", n_rows, graph.const(np.array([width], np.int64)), axis=0)


def _one(dtype):
    return numpy_helper.from_array(np.ones(1, dtype=dtype))


def _labels(graph, parts, tasks, y_was_1d, name):
    """The ``label`` output: each task's class, looked up in one flat table of all their classes."""
    dtype = label_dtype(tasks)
    table = np.concatenate([np.asarray(task.classes.tolist(), dtype=dtype) for task in tasks])
    offsets = np.cumsum([0] + [len(task.classes) for task in tasks])[:-1]
    indices = graph.node("Add", parts.class_indices(tasks), graph.const(offsets.astype(np.int64), "offsets"))
    if y_was_1d:
        indices = graph.node("Reshape", indices, graph.const(np.array([-1], np.int64), "shape"))
    if dtype.kind == "O":
        table = np.array([str(value) for value in table], dtype=object)
    graph.node("Gather", graph.const(table, "classes", keep_dtype=True), indices, axis=0, output=name)
