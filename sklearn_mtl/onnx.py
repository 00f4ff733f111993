"""ONNX export of the fitted estimators through skl2onnx; importing this module registers them.

After ``import sklearn_mtl.onnx``, ``skl2onnx.to_onnx(model, X[:1])`` converts a fitted
:class:`~sklearn_mtl.MaskedMultiTaskClassifier`, :class:`~sklearn_mtl.MaskedMultiTaskRegressor`
or :class:`~sklearn_mtl.MaskedMultiTaskEstimator`, alone or as the last step of a scikit-learn
``Pipeline``. The graph is built from the fitted weights, as skl2onnx's own ``MLPClassifier``
converter builds it (a ``MatMul`` and an ``Add`` per layer, the activation, the heads, the
decoding), not traced through ``torch.onnx.export``: the batch size is free, and the input's
float type is kept (double in, double out; float in, float out).

Outputs, laid out as skl2onnx lays out ``MultiOutputClassifier`` and ``MultiOutputRegressor``:

- ``label``: (n_samples, n_classification_tasks), each task's class in its own labels (numbers
  stay numbers, bools stay bools; when one task's classes are strings, every column is strings);
  (n_samples,) when the model was fitted on a 1-D y;
- ``probabilities``: a sequence with one (n_samples, n_classes_t) tensor per classification task,
  columns in ``classes_`` order (one tensor when y was 1-D); with the option
  ``{"per_task_probabilities": True}``, one output ``probabilities_<t>`` per task instead, for
  runtimes that handle sequences badly;
- ``variable``: (n_samples, n_regression_tasks), in each task's units;
- ``variable_std``: with the option ``{"return_std": True}`` for an ensemble (``ensemble_size >
  1``), the standard deviation of its members' predictions of each regression task, as
  ``predict(X, return_std=True)`` gives it.

A mostly-zero first layer (the package's sparse first layer, on fingerprints or counts) is
written as the package computes it, the sum of the weight rows of each row's non-zero columns
(``NonZero``, ``Gather``, ``ScatterND`` with ``reduction="add"``, opset 16 or later), whose cost
follows the non-zeros; the option ``{"dense_first_layer": True}``, or an older ``target_opset``,
writes a dense ``MatMul`` of the same weight instead.

A mixed estimator's outputs hold its classification and its regression tasks in task order; which
task each column is, :func:`output_tasks` says, and :func:`to_onnx` writes it into the model's
metadata (skl2onnx gives converters no way to write model metadata).

skl2onnx, onnx and onnxruntime are the optional extra ``onnx``: ``pip install "sklearn-mtl[onnx]"``.
"""

import json

try:
    import onnx
    from skl2onnx import to_onnx as _skl2onnx_to_onnx
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        SequenceType,
        StringTensorType,
    )
except ImportError as error:  # pragma: no cover - depends on what is installed
    raise ImportError(
        "sklearn_mtl.onnx needs skl2onnx and onnx (and onnxruntime to run the graphs): install the extra with "
        '`pip install "sklearn-mtl[onnx]"`.'
    ) from error

from ._classifier import MaskedMultiTaskClassifier
from ._estimator import MaskedMultiTaskEstimator
from ._onnx_graph import label_dtype, write_graph
from ._regressor import MaskedMultiTaskRegressor
from .modules import MemberEnsembleNet, SharedTrunkNet

__all__ = ["output_tasks", "to_onnx"]

#: the options every converter of this module takes (``options={id(model): {...}}`` in skl2onnx);
#: "zipmap" is accepted and ignored, as skl2onnx's ``MultiOutputClassifier`` ignores it: skl2onnx's
#: pipeline parser gives every classifier step ``zipmap=True``, and multi-task outputs have no
#: ZipMap form
OPTIONS = {
    "per_task_probabilities": [False, True],
    "return_std": [False, True],
    "dense_first_layer": [False, True],
    "zipmap": [True, False],
}
_DEFAULTS = {"per_task_probabilities": False, "return_std": False, "dense_first_layer": False}
_ALIASES = {
    MaskedMultiTaskClassifier: "SklearnMtlMaskedMultiTaskClassifier",
    MaskedMultiTaskRegressor: "SklearnMtlMaskedMultiTaskRegressor",
    MaskedMultiTaskEstimator: "SklearnMtlMaskedMultiTaskEstimator",
}
_METADATA_KEY = "sklearn_mtl.output_tasks"
_MIN_OPSET = 13


# -- what the model is, and what it outputs ----------------------------------------------------
def _check_exportable(model):
    """A fitted estimator with the package's own network, or a clear error."""
    if "net_" not in model.__dict__:
        raise ValueError(f"This {type(model).__name__} is not fitted: fit it before converting it to ONNX.")
    if model.module is not None or not isinstance(model.net_.module_, (SharedTrunkNet, MemberEnsembleNet)):
        raise ValueError(
            f"This {type(model).__name__} was fitted with a custom module ({type(model.net_.module_).__name__}): "
            "its graph cannot be written from the package's own layers. Export a model fitted with module=None, "
            "or export your module with torch.onnx.export."
        )


_LABEL_TYPES = {"b": BooleanTensorType, "i": Int64TensorType, "f": DoubleTensorType, "O": StringTensorType}


def _layout(model, options):
    """``[(output name, kind, tasks)]``: the outputs of ``model`` and the tasks of their columns.

    Kinds: "label", "probabilities" (a sequence), "probability" (one tensor), "variable", "std".
    """
    tasks = model.tasks_
    classification = [task for task in tasks if task.kind == "classification"]
    regression = [task for task in tasks if task.kind == "regression"]
    if options["return_std"]:
        n_members = getattr(model.net_.module_, "n_members", 1)
        if n_members < 2 or not regression:
            raise ValueError(
                "The option return_std adds the std of an ensemble's members' predictions of its regression tasks; "
                f"this {type(model).__name__} has {n_members} member(s) and {len(regression)} regression task(s)."
            )
    outputs = []
    if classification:
        outputs.append(("label", "label", classification))
        if model._y_was_1d:
            outputs.append(("probabilities", "probability", classification))
        elif options["per_task_probabilities"]:
            outputs += [(f"probabilities_{task.index}", "probability", [task]) for task in classification]
        else:
            outputs.append(("probabilities", "probabilities", classification))
    if regression:
        outputs.append(("variable", "variable", regression))
        if options["return_std"]:
            outputs.append(("variable_std", "std", regression))
    return outputs


def output_tasks(model, options=None):
    """Which task each column of each ONNX output of ``model`` is.

    Parameters
    ----------
    model : MaskedMultiTaskClassifier, MaskedMultiTaskRegressor or MaskedMultiTaskEstimator
        A fitted estimator (or a ``Pipeline`` ending in one).
    options : dict, default=None
        The converter's options, as given to skl2onnx for this model.

    Returns
    -------
    dict
        ``{output name: [task key of each column]}`` (a task's key is its name, or ``"task_<i>"``);
        a sequence output lists one task per tensor.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl import MaskedMultiTaskEstimator
    >>> from sklearn_mtl.onnx import output_tasks
    >>> X = np.arange(16.0).reshape(8, 2)
    >>> y = np.column_stack([np.arange(8) % 2, np.arange(8.0), np.arange(8) % 3 == 0]).astype(object)
    >>> est = MaskedMultiTaskEstimator(hidden_layer_sizes=(4,), max_iter=1, random_state=0)
    >>> est.set_params(task_types=["classification", "regression", "classification"]).fit(X, y)
    MaskedMultiTaskEstimator(...)
    >>> output_tasks(est)
    {'label': ['task_0', 'task_2'], 'probabilities': ['task_0', 'task_2'], 'variable': ['task_1']}
    """
    model = _final_estimator(model)
    _check_exportable(model)
    return {name: [task.key for task in tasks] for name, _, tasks in _layout(model, {**_DEFAULTS, **(options or {})})}


def _final_estimator(model):
    while hasattr(model, "steps"):
        model = model.steps[-1][1]
    return model


# -- skl2onnx's three functions ------------------------------------------------------------------
def _parse(scope, model, inputs, custom_parsers=None):
    """Declare the operator of ``model`` and its outputs (their types follow the input's dtype)."""
    _check_exportable(model)
    options = scope.get_options(model, dict(_DEFAULTS))
    operator = scope.declare_local_operator(_ALIASES[type(model)], model)
    operator.inputs = inputs
    float_type = DoubleTensorType if isinstance(inputs[0].type, DoubleTensorType) else FloatTensorType
    for name, kind, tasks in _layout(model, options):
        if kind == "label":
            variable_type = _LABEL_TYPES[label_dtype(tasks).kind]()
        elif kind == "probabilities":
            variable_type = SequenceType(float_type())
        else:
            variable_type = float_type()
        operator.outputs.append(scope.declare_local_variable(name, variable_type))
    return operator.outputs


def _shapes(operator):
    """Every output's shape: the input's number of rows (free), by the number of its columns."""
    model = operator.raw_operator
    options = {**_DEFAULTS, **operator.scope_inst.get_options(model, dict(_DEFAULTS))}
    n_rows = operator.inputs[0].get_first_dimension()
    for variable, (_, kind, tasks) in zip(operator.outputs, _layout(model, options), strict=True):
        if kind == "label":
            variable.type.shape = [n_rows] if model._y_was_1d else [n_rows, len(tasks)]
        elif kind == "probability":
            variable.type.shape = [n_rows, len(tasks[0].classes)]
        elif kind != "probabilities":
            variable.type.shape = [n_rows, len(tasks)]


def _convert(scope, operator, container):
    """Write the graph of the fitted network and its decoding."""
    model = operator.raw_operator
    if container.target_opset < _MIN_OPSET:
        raise ValueError(f"Exporting {type(model).__name__} needs target_opset >= {_MIN_OPSET}.")
    options = {**_DEFAULTS, **scope.get_options(model, dict(_DEFAULTS))}
    layout = _layout(model, options)
    write_graph(scope, container, model, operator.inputs[0], operator.outputs, layout, options["dense_first_layer"])



# -- registration and the exporting function -----------------------------------------------------
for _model, _alias in _ALIASES.items():
    update_registered_converter(_model, _alias, _shapes, _convert, parser=_parse, options=OPTIONS)


def to_onnx(model, X, *, options=None, target_opset=None, **kwargs):
    """``skl2onnx.to_onnx`` with the task of every output column in the model's metadata.

    Parameters
    ----------
    model : estimator or Pipeline
        A fitted estimator of this package, or a ``Pipeline`` ending in one.
    X : ndarray
        A row or more of input, whose dtype and width the graph takes (``X[:1]``).
    options : dict, default=None
        The converter's options for the estimator of this package, ``{"per_task_probabilities":
        bool, "return_std": bool}``.
    target_opset : int, default=None
        The ONNX opset (13 or later); None: skl2onnx's newest.
    **kwargs
        Passed to ``skl2onnx.to_onnx``.

    Returns
    -------
    onnx.ModelProto
        Its metadata ``"sklearn_mtl.output_tasks"`` holds :func:`output_tasks` as JSON.

    Examples
    --------
    >>> import json
    >>> import numpy as np
    >>> from sklearn_mtl import MaskedMultiTaskRegressor
    >>> from sklearn_mtl.onnx import to_onnx
    >>> X = np.arange(20.0).reshape(10, 2)
    >>> reg = MaskedMultiTaskRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    >>> onx = to_onnx(reg.fit(X, X * 2), X[:1])
    >>> json.loads(onx.metadata_props[0].value)
    {'variable': ['task_0', 'task_1']}
    """
    estimator = _final_estimator(model)
    by_id = {id(estimator): options} if options else None
    onx = _skl2onnx_to_onnx(model, X, options=by_id, target_opset=target_opset, **kwargs)
    onnx.helper.set_model_props(onx, {_METADATA_KEY: json.dumps(output_tasks(estimator, options))})
    return onx
