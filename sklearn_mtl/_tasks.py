"""The fitted description of the tasks: the one place that knows what each task is.

:func:`describe_tasks` builds it once from y in ``fit``: for each task its kind, name, classes or
scaling, head width, loss and metrics (a :class:`Task`). Everything downstream reads it: the module
builder (head widths), the loss (each head's loss), encoding y (once, here), predict (decoding)
and ``score`` and the validation score (each task's metric). numpy and scikit-learn only.
"""

import numbers
import warnings

import numpy as np
from scipy.special import expit, softmax
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import type_of_target

from ._labels import positions_by_task, task_label
from ._targets import _check_finite, typed_values

KINDS = ("classification", "regression")

# a task inferred as classification from numbers with more distinct values than this share of its
# labels (and at least 20 labels) is more likely a regression target with integer values
_MANY_CLASSES_SHARE = 0.5


class Task:
    """What one task is, as learned from its labels in ``fit``.

    The estimators keep one per task in their fitted ``tasks_`` attribute. A classification task
    knows its classes; a regression task the mean and scale that standardize its targets.

    Parameters
    ----------
    index : int
        Position of the task (its column in y).
    kind : {"classification", "regression"}
    name : str or None, default=None
        The task's column name, when y was a DataFrame.
    classes : ndarray, default=None
        The sorted classes of a classification task.
    mean, scale : float, default=None
        The (weighted) mean and standard deviation of a regression task's observed targets; the
        network learns ``(y - mean) / scale``, so that tasks in any units weigh alike in the loss.

    Attributes
    ----------
    head_width : int
        Number of network outputs of the task: K for a task with K > 2 classes, else 1.
    loss : {"binary_cross_entropy", "cross_entropy", "squared_error"}
        The per-label loss of the task's head.
    metric : {"accuracy", "r2"}
        The metric of the estimators' default ``score``.
    validation_metric : {"roc_auc", "r2"}
        The metric of the validation score that ``scoring="auto"`` early stopping follows.
    label : str
        How messages name the task: ``"task 2 ('age')"``, or ``"task 2"`` without a name.
    key : str
        How ``history_`` keys name the task: its name, or ``"task_2"``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl import MaskedMultiTaskEstimator
    >>> X = np.arange(8.0).reshape(4, 2)
    >>> y = np.array([[0, 21.5], [1, np.nan], [np.nan, 43.5], [1, 30.5]], dtype=object)
    >>> est = MaskedMultiTaskEstimator(hidden_layer_sizes=(4,), max_iter=1, random_state=0).fit(X, y)
    >>> est.tasks_
    [Task(0, 'classification', classes=[0, 1]), Task(1, 'regression', mean=31.8333, scale=9.03081)]
    >>> est.tasks_[1].decode(np.array([[0.0], [1.0]]))
    array([31.83333333, 40.86414...])
    """

    def __init__(self, index, kind, name=None, classes=None, mean=None, scale=None):
        self.index = index
        self.kind = kind
        self.name = name
        self.classes = classes
        self.mean = mean
        self.scale = scale

    def __repr__(self):
        name = "" if self.name is None else f", name={self.name!r}"
        if self.kind == "classification":
            return f"Task({self.index}, 'classification'{name}, classes={self.classes.tolist()})"
        return f"Task({self.index}, 'regression'{name}, mean={self.mean:.6g}, scale={self.scale:.6g})"

    @property
    def head_width(self):
        return len(self.classes) if self.kind == "classification" and len(self.classes) > 2 else 1

    @property
    def loss(self):
        if self.kind == "regression":
            return "squared_error"
        return "cross_entropy" if self.head_width > 1 else "binary_cross_entropy"

    @property
    def metric(self):
        return "accuracy" if self.kind == "classification" else "r2"

    @property
    def validation_metric(self):
        return "roc_auc" if self.kind == "classification" else "r2"

    @property
    def label(self):
        return task_label(self.index, None if self.name is None else {self.index: self.name})

    @property
    def key(self):
        return f"task_{self.index}" if self.name is None else str(self.name)

    # -- labels in, outputs out ---------------------------------------------------------------
    def encode_labels(self, values):
        """The encoded form of observed labels (class indices, or standardized targets) as float64."""
        values = self.checked_labels(values)
        if not values.size:
            return np.zeros(0)
        if self.kind == "classification":
            unseen = np.setdiff1d(values, self.classes)
            if unseen.size:
                raise ValueError(
                    f"{self.label} has labels {unseen[:5].tolist()} that are not among its classes "
                    f"{self.classes.tolist()}."
                )
            return np.searchsorted(self.classes, values).astype(np.float64)
        return (values - self.mean) / self.scale

    def checked_labels(self, values, hint=None):
        """Observed labels of the task, checked for its kind (numbers for regression, finite)."""
        if self.kind == "regression":
            try:
                values = values.astype(np.float64)
            except (TypeError, ValueError):
                hint = hint or "a regression task needs numbers"
                raise ValueError(
                    f"{self.label} has non-numeric targets (for example {values[:3].tolist()}); {hint}."
                ) from None
        _check_finite(values, self.label)
        return values

    def probabilities(self, outputs):
        """Class probabilities ``(n_samples, n_classes)`` from the task's outputs; None for regression."""
        if self.kind == "regression":
            return None
        if len(self.classes) == 1:
            return np.ones((len(outputs), 1))
        if len(self.classes) == 2:
            probabilities = np.empty((len(outputs), 2))
            expit(outputs[:, 0], out=probabilities[:, 1])
            np.subtract(1.0, probabilities[:, 1], out=probabilities[:, 0])
            return probabilities
        return softmax(outputs, axis=1)

    def decode(self, outputs):
        """Predictions in the task's own labels or units, from its ``(n_samples, head_width)`` outputs."""
        if self.kind == "regression":
            return outputs[:, 0] * self.scale + self.mean
        if len(self.classes) == 2:
            return self.classes[(outputs[:, 0] > 0).astype(np.intp)]
        return self.classes[np.argmax(outputs, axis=1)] if len(self.classes) > 2 else self.classes[[0] * len(outputs)]

    def validation_score(self, outputs, encoded, weights):
        """The task's ROC-AUC or R^2 on encoded labels (NaN where undefined: one class, one target)."""
        rows = weights > 0
        truth, weights = encoded[rows], weights[rows]
        if self.kind == "regression":
            return r2_score(truth, outputs[rows, 0], sample_weight=weights) if rows.sum() >= 2 else np.nan
        k = len(self.classes)
        if k < 2 or len(np.unique(truth)) < k:
            return np.nan
        probabilities = self.probabilities(outputs[rows])
        score = probabilities[:, 1] if k == 2 else probabilities
        return roc_auc_score(truth, score, sample_weight=weights, multi_class="ovr", labels=np.arange(k))

    def score(self, truth, predictions, sample_weight=None):
        """The task's default metric (accuracy or R^2) on its observed labels and their predictions."""
        if self.kind == "regression":
            return r2_score(truth, predictions, sample_weight=sample_weight)
        return accuracy_score(truth, predictions, sample_weight=sample_weight)


def _infer_kind(values, label):
    """A task's kind from its observed labels, with scikit-learn's ``type_of_target``."""
    try:
        target_type = type_of_target(values)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{label}: {error}") from None
    if target_type == "continuous":
        return "regression"
    if target_type in ("binary", "multiclass"):
        n_classes = len(np.unique(values))
        if values.dtype.kind in "biuf" and len(values) >= 20 and n_classes > _MANY_CLASSES_SHARE * len(values):
            warnings.warn(
                f"{label} has {n_classes} distinct integer values among {len(values)} labels: it is treated as "
                "classification, but looks like a regression target. Say which it is with task_types "
                "(for example task_types={...: 'regression'}), which also silences this warning.",
                UserWarning,
                stacklevel=4,
            )
        return "classification"
    raise ValueError(
        f"The kind of {label} cannot be inferred from its labels (scikit-learn's type_of_target says "
        f"{target_type!r}); give it in task_types as 'classification' or 'regression'."
    )


def _requested_kinds(task_types, n_tasks, task_names):
    """``task_types`` as one entry per task: a kind, or None to infer it."""
    if task_types is None or isinstance(task_types, str):
        kinds = [task_types] * n_tasks
    elif isinstance(task_types, dict):
        names = [str(name) for name in task_names] if task_names is not None else []
        kinds = [None] * n_tasks
        for key, kind in task_types.items():
            if isinstance(key, numbers.Integral) and not isinstance(key, bool) and 0 <= key < n_tasks:
                kinds[int(key)] = kind
            elif str(key) in names:
                kinds[names.index(str(key))] = kind
            else:
                raise ValueError(
                    f"task_types names a task {key!r} that y does not have; the tasks are "
                    f"{names or list(range(n_tasks))}."
                )
    else:
        kinds = list(task_types)
        if len(kinds) != n_tasks:
            raise ValueError(f"task_types has {len(kinds)} entries but y has {n_tasks} tasks; give one per task.")
    for task, kind in enumerate(kinds):
        if kind is not None and kind not in KINDS:
            raise ValueError(
                f"task_types gives {task_label(task, task_names)} the kind {kind!r}; use 'classification' or "
                "'regression' (or leave it out to infer it from the labels)."
            )
    return kinds


def describe_tasks(
    task_labels, *, task_types, task_names=None, classes=None, fixed_kind=False, estimator=None
):
    """One :class:`Task` per task, learned from its observed labels.

    Parameters
    ----------
    task_labels : list of (ndarray, ndarray)
        For each task, its observed labels (typed) and the weights of their rows (for the mean and
        scale of regression targets), as ``_fit_labels.task_labels`` reads them from the labels.
    task_types : None, str, list or dict
        The kind of every task (a str), of each task (a list), of some tasks by name or index (a
        dict); None, or a task left out of the dict, is inferred from its labels.
    task_names : array of str, default=None
    classes : list, default=None
        The classes of each classification task (None for regression tasks), when given rather
        than learned (``partial_fit``): a task then needs no label.
    fixed_kind : bool, default=False
        Whether the kind comes from the estimator's class rather than from the user's task_types:
        it changes the advice that errors give.
    estimator : str, default=None
        The estimator's name, for messages.

    Returns
    -------
    list of Task
    """
    n_tasks = len(task_labels)
    kinds = _requested_kinds(task_types, n_tasks, task_names)
    tasks = []
    for index, kind in enumerate(kinds):
        name = None if task_names is None else str(task_names[index])
        values, weights = task_labels[index]
        task_classes = None if classes is None or kind == "regression" else classes[index]
        label = task_label(index, task_names)
        if (task_classes is None or kind == "regression") and not len(values):
            raise ValueError(
                f"{label} has no observed label: every entry is missing. Drop that task's column or give it at "
                "least one label."
            )
        if kind is None:
            _check_finite(values, label)
            kind = "classification" if task_classes is not None else _infer_kind(values, label)
        task = Task(index, kind, name=name)
        if kind == "classification":
            _check_finite(values, label)
            task.classes = task_classes if task_classes is not None else _learn_classes(values, label, fixed_kind)
            if len(task.classes) == 1:
                warnings.warn(
                    f"{label} has only one class ({task.classes[0]!r}) among its observed labels; it will always "
                    "predict it.",
                    UserWarning,
                    stacklevel=3,
                )
        else:
            hint = (
                f"{estimator} needs numbers. Use MaskedMultiTaskClassifier for class labels"
                if fixed_kind
                else "task_types makes it a regression task, which needs numbers"
            )
            values = task.checked_labels(values, hint)
            scaler = StandardScaler().fit(values[:, None], sample_weight=weights)
            task.mean, task.scale = float(scaler.mean_[0]), float(scaler.scale_[0])
        tasks.append(task)
    return tasks


def _learn_classes(values, label, fixed_kind):
    target_type = type_of_target(values)
    if target_type not in ("binary", "multiclass"):
        advice = (
            "for continuous targets use MaskedMultiTaskRegressor"
            if fixed_kind
            else "task_types makes it a classification task; give it 'regression' for continuous targets"
        )
        raise ValueError(
            f"Unknown label type: {target_type} in {label}. A classifier needs discrete classes; {advice}."
        )
    return np.unique(values)


def check_partial_fit_classes(classes, n_tasks, y_was_1d):
    """``classes`` of a first ``partial_fit`` as one sorted array per task (None where not given)."""
    per_task = [classes] if y_was_1d else list(classes)
    if len(per_task) != n_tasks:
        raise ValueError(f"classes has {len(per_task)} entries but y has {n_tasks} tasks; give one array per task.")
    return [None if task_classes is None else np.unique(np.asarray(task_classes)) for task_classes in per_task]


def decode_outputs(tasks, outputs):
    """Per-task predictions from the network's fused outputs: a list of 1-D arrays."""
    return [task.decode(part) for task, part in zip(tasks, split_outputs(tasks, outputs), strict=True)]


def decode_predictions(tasks, outputs, y_was_1d=False):
    """``predict``'s array from the network's fused outputs: (n_samples, n_tasks) in each task's
    labels or units (a common dtype, or object when labels are strings), 1-D with ``y_was_1d``.

    When every task is binary with classes of one dtype (12 Tox21 assays, say), all are decoded in
    one lookup, ``classes[task, logit > 0]``: one call per task, then stacking the columns, cost
    more than the network's forward pass on a single row.
    """
    binary = all(task.kind == "classification" and len(task.classes) == 2 for task in tasks)
    if binary and not y_was_1d and len({task.classes.dtype for task in tasks}) == 1:
        table = np.stack([task.classes for task in tasks])
        return table[np.arange(len(tasks)), (outputs > 0).astype(np.intp)]
    columns = decode_outputs(tasks, outputs)
    return columns[0] if y_was_1d else stack_predictions(columns)


def task_stds(tasks, member_outputs):
    """The standard deviation over an ensemble's members of each regression task's prediction, in the
    task's units: a (n_samples, n_tasks) array, NaN for a classification task.

    ``member_outputs`` is (n_members, n_samples, n_outputs); a regression task's prediction is its
    output times its ``scale`` plus its ``mean``, so its std is the outputs' std times the scale.
    """
    starts = np.cumsum([0] + [task.head_width for task in tasks])[:-1]
    spread = member_outputs[:, :, starts].std(axis=0)
    scales = np.array([task.scale if task.kind == "regression" else np.nan for task in tasks])
    return spread * scales


def task_probabilities(tasks, outputs):
    """Each task's class probabilities from the network's fused outputs (None for a regression task).

    The binary tasks' are computed in one pass (a sigmoid over their columns), as one block of
    which each task gets its own contiguous ``(n_samples, 2)`` part: with a dozen tasks, one call
    per task cost more than the network's forward pass on a single row. The others ask their
    task (:meth:`Task.probabilities`).
    """
    binary = [i for i, task in enumerate(tasks) if task.kind == "classification" and len(task.classes) == 2]
    probabilities = {}
    if binary:
        starts = np.cumsum([0] + [task.head_width for task in tasks])[binary]
        block = np.empty((len(binary), len(outputs), 2))
        expit(outputs[:, starts].T, out=block[:, :, 1])
        np.subtract(1.0, block[:, :, 1], out=block[:, :, 0])
        probabilities = {position: block[k] for k, position in enumerate(binary)}
    parts = split_outputs(tasks, outputs) if len(binary) < len(tasks) else None
    return [
        probabilities[position] if position in probabilities else task.probabilities(parts[position])
        for position, task in enumerate(tasks)
    ]


def split_outputs(tasks, outputs):
    """The network's fused ``(n_samples, n_outputs)`` outputs as one block per task."""
    bounds = np.cumsum([0] + [task.head_width for task in tasks])
    return [outputs[:, start:stop] for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]


def stack_predictions(columns):
    """Per-task predictions as one 2-D array: a common dtype, or object when labels are strings."""
    dtypes = {column.dtype for column in columns}
    if len(dtypes) == 1:
        dtype = dtypes.pop()
    elif all(dtype.kind in "biuf" for dtype in dtypes):
        dtype = np.result_type(*dtypes)
    else:
        dtype = object
    return np.column_stack([column.astype(dtype) for column in columns])


def validation_scores(tasks, outputs, label_rows, label_tasks, encoded, weights):
    """Each task's validation score (ROC-AUC or R^2) on its labels, NaN where undefined.

    ``outputs`` are the module's ``(n_rows, n_outputs)`` outputs, or the labelled pairs' own
    outputs in label order (1-D: every head one output); ``label_rows``, ``label_tasks``,
    ``encoded`` and ``weights`` are each label's row, task, encoded value and count weight.
    """
    if outputs.ndim == 1:
        parts, label_rows = [outputs[:, None]] * len(tasks), np.arange(len(outputs))
    else:
        parts = split_outputs(tasks, outputs)
    scores = np.full(len(tasks), np.nan)
    for task, mine in zip(tasks, positions_by_task(label_tasks, len(tasks)), strict=True):
        if len(mine):
            outputs_of_mine = parts[task.index][label_rows[mine]]
            scores[task.index] = task.validation_score(outputs_of_mine, encoded[mine], weights[mine])
    return scores


def _class_weight_per_task(tasks, class_weight, y_was_1d):
    """``class_weight`` as one entry per task (None, "balanced" or a dict), checked against the kinds."""
    per_task = class_weight
    if isinstance(per_task, dict) or per_task == "balanced":
        if isinstance(per_task, dict) and not y_was_1d:
            raise ValueError(
                "class_weight is one dict, but y has several tasks; give a list with one dict per task (or 'balanced')."
            )
        per_task = [None if task.kind == "regression" else per_task for task in tasks]
    if len(per_task) != len(tasks):
        raise ValueError(f"class_weight has {len(per_task)} entries but y has {len(tasks)} tasks.")
    for task, weights in zip(tasks, per_task, strict=True):
        if weights is not None and task.kind == "regression":
            raise ValueError(f"class_weight gives {task.label} class weights, but it is a regression task; give None.")
    return per_task


def _task_class_multipliers(task, weights, indices, count_weights):
    """Each label's class weight, from the task's encoded labels (class indices) and their count weights."""
    indices = indices.astype(np.intp)
    if weights == "balanced" and not len(indices):
        return np.ones(0)
    try:
        class_weights = compute_class_weight(
            weights, classes=task.classes, y=task.classes[indices], sample_weight=count_weights
        )
    except ValueError as error:
        raise ValueError(f"class_weight for {task.label}: {error}") from None
    return class_weights[indices]


def class_weight_multipliers(tasks, class_weight, encoded, count_weights, by_task, y_was_1d):
    """Each label's loss multiplier from ``class_weight`` (None when it is None).

    ``class_weight`` is "balanced", a dict (1-D y), or a list with one entry (dict, "balanced" or
    None) per task; a regression task's entry must be None, and "balanced" applies to the
    classification tasks only. ``encoded`` and ``count_weights`` are the labels' (one per label),
    ``by_task`` the positions of each task's labels.
    """
    if class_weight is None:
        return None
    multipliers = np.ones(len(encoded))
    for task, weights in zip(tasks, _class_weight_per_task(tasks, class_weight, y_was_1d), strict=True):
        positions = by_task[task.index]
        if weights is not None:
            multipliers[positions] = _task_class_multipliers(
                task, weights, encoded[positions], count_weights[positions]
            )
    return multipliers


def encode_labels(tasks, values, by_task):
    """Labels as the network learns them, one float64 per label: class indices, or standardized
    targets. ``values`` are the labels as given (``CompactLabels.values``), each task's typed on
    its own, so that a DataFrame's object column of strings meets its classes as strings."""
    encoded = np.zeros(len(values))
    for task, positions in zip(tasks, by_task, strict=True):
        encoded[positions] = task.encode_labels(typed_values(values[positions], task.label))
    return encoded
