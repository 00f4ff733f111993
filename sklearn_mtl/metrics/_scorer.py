"""Scorers ``(estimator, X, y)`` built on the masked metrics, for ``scoring=`` and skorch's ``EpochScoring``.

The scorers subclass scikit-learn's private ``_BaseScorer`` (through ``sklearn_mtl._sklearn_compat``), so that
``_MultimetricScorer`` hands them the response cache it keeps for one scoring pass: a multi-metric search
with one scorer per task then predicts once per fold and response method.
"""

import numbers
from functools import partial

import numpy as np

from .._sklearn_compat import _BaseScorer, _cached_call
from ._classification import (
    masked_accuracy_score,
    masked_average_precision_score,
    masked_balanced_accuracy_score,
    masked_f1_score,
    masked_log_loss,
    masked_roc_auc_score,
)
from ._masked import _per_task_metric, reduce_task_scores
from ._regression import masked_mean_absolute_error, masked_mean_squared_error, masked_r2_score

__all__ = ["make_masked_scorer", "task_scorers"]

# The masked metrics that know how to read the estimator's responses: response method, sign, and
# whether the metric takes the tasks' classes.
_MASKED_METRICS = {
    masked_accuracy_score: ("predict", 1, False),
    masked_balanced_accuracy_score: ("predict", 1, False),
    masked_f1_score: ("predict", 1, True),
    masked_roc_auc_score: ("predict_proba", 1, True),
    masked_average_precision_score: ("predict_proba", 1, True),
    masked_log_loss: ("predict_proba", -1, True),
    masked_r2_score: ("predict", 1, False),
    masked_mean_squared_error: ("predict", -1, False),
    masked_mean_absolute_error: ("predict", -1, False),
}

# The kind of task each masked metric scores: a scorer meeting a task of the other kind says so
_METRIC_KINDS = {
    **{metric: "classification" for metric in _MASKED_METRICS},
    masked_r2_score: "regression",
    masked_mean_squared_error: "regression",
    masked_mean_absolute_error: "regression",
}

# scikit-learn scorer names -> (masked metric, fixed keyword arguments)
_SCORER_NAMES = {
    "accuracy": (masked_accuracy_score, {}),
    "balanced_accuracy": (masked_balanced_accuracy_score, {}),
    "f1": (masked_f1_score, {}),
    "f1_micro": (masked_f1_score, {"class_average": "micro"}),
    "f1_macro": (masked_f1_score, {"class_average": "macro"}),
    "f1_weighted": (masked_f1_score, {"class_average": "weighted"}),
    "roc_auc": (masked_roc_auc_score, {}),
    "average_precision": (masked_average_precision_score, {}),
    "neg_log_loss": (masked_log_loss, {}),
    "r2": (masked_r2_score, {}),
    "neg_mean_squared_error": (masked_mean_squared_error, {}),
    "neg_mean_absolute_error": (masked_mean_absolute_error, {}),
}


def _final_estimator(estimator):
    """The estimator at the end of (possibly nested) pipelines: it holds classes_, task_names_..."""
    while hasattr(estimator, "_final_estimator"):
        estimator = estimator._final_estimator
    return estimator


def _shared_response_cache(method_caller):
    """The dict that scikit-learn's ``_MultimetricScorer`` shares between its scorers for one call, if any.

    ``method_caller`` is ``partial(_cached_call, cache)``; ``cache`` is None when only one scorer uses a
    response method. The responses are stored under keys of our own, because sklearn's entries hold
    responses it post-processed for single-output classifiers.
    """
    if isinstance(method_caller, partial) and method_caller.func is _cached_call and method_caller.args:
        cache = method_caller.args[0]
        if isinstance(cache, dict):
            return cache
    return None


def _task_index(task, model):
    """The column index of ``task`` (an int, or a name in ``model.task_names_``)."""
    n_tasks = getattr(model, "n_tasks_", None)
    if isinstance(task, numbers.Integral) and not isinstance(task, bool):
        if n_tasks is not None and not -n_tasks <= task < n_tasks:
            raise ValueError(f"task={task} is out of range: the estimator has {n_tasks} tasks.")
        return int(task) % n_tasks if n_tasks else int(task)
    names = getattr(model, "task_names_", None)
    if names is None:
        raise ValueError(
            f"task={task!r} names a task, but the estimator has no task_names_ (fit it with a DataFrame y "
            "to name the tasks), so select the task by its index."
        )
    matches = np.flatnonzero(np.asarray(names) == str(task))
    if not matches.size:
        raise ValueError(f"task={task!r} is not one of the estimator's tasks {list(names)}.")
    return int(matches[0])


def _model_classes(model):
    """The classes of each task (None for a regression task), from the fitted task description."""
    tasks = getattr(model, "tasks_", None)
    if tasks is not None:
        return [task.classes for task in tasks]
    classes = getattr(model, "classes_", None)
    return classes if classes is None or isinstance(classes, list) else [classes]


def _select_task(task, y_true, y_pred, classes, sample_weight, per_task_outputs):
    """Keep only column ``task`` of everything a masked metric receives (as a one-task problem)."""
    y_true = np.asarray(y_true.to_numpy() if hasattr(y_true, "to_numpy") else y_true)
    if y_true.ndim == 1:
        if task != 0:
            raise ValueError(f"task={task} was asked for, but y is 1-D (a single task).")
        return y_true, y_pred, classes, sample_weight
    if per_task_outputs:
        y_pred = y_pred[task]
    else:
        y_pred = np.asarray(y_pred)[:, task]
    if classes is not None:
        classes = [classes[task]]
    if sample_weight is not None and np.ndim(sample_weight) == 2:
        sample_weight = np.asarray(sample_weight)[:, task]
    return y_true[:, task], y_pred, classes, sample_weight


class _MaskedScorer(_BaseScorer):
    """A scorer ``(estimator, X, y)`` that evaluates a masked metric on the estimator's responses.

    Built by :func:`make_masked_scorer`; see there for the parameters.
    """

    def __init__(self, score_func, sign, kwargs, response_method, *, task, missing_label, takes_classes, name):
        super().__init__(score_func, sign, kwargs, response_method)
        self._task = task
        self._missing_label = missing_label
        self._takes_classes = takes_classes
        self._name = name

    def __repr__(self):
        metric = repr(self._name) if isinstance(self._name, str) else self._score_func.__name__
        options = [metric]
        if self._task is not None:
            options.append(f"task={self._task!r}")
        if self._name is None or not isinstance(self._name, str):
            if self._sign < 0:
                options.append("greater_is_better=False")
            options.append(f"response_method={self._response_method!r}")
        if self._missing_label is not None:
            options.append(f"missing_label={self._missing_label!r}")
        options.extend(f"{key}={value!r}" for key, value in self._kwargs.items())
        return f"make_masked_scorer({', '.join(options)})"

    def _score(self, method_caller, estimator, X, y_true, **kwargs):
        # skorch's EpochScoring calls the scorer with the estimator's skorch net (a net with a module_),
        # which points back to it as estimator_, and, without caching, with the validation data set
        # instead of (X, y)
        if hasattr(estimator, "module_") and hasattr(estimator, "estimator_"):
            estimator = estimator.estimator_
        if y_true is None and hasattr(X, "X") and getattr(X, "y", None) is not None:
            X, y_true = X.X, X.y
        if y_true is None:
            raise ValueError(
                f"{self!r} got y=None, but it scores labels. Under skorch's EpochScoring this means that the "
                "validation data set carries no y, or that EpochScoring cached the targets (use_caching=False)."
            )
        model = _final_estimator(estimator)
        task = None if self._task is None else _task_index(self._task, model)
        self._check_task_kinds(model, task)
        response = self._response(method_caller, estimator, X)
        per_task_outputs = self._response_method == "predict_proba"
        missing_label = getattr(model, "missing_label", np.nan) if self._missing_label is None else self._missing_label
        classes = None
        if self._takes_classes or per_task_outputs:
            classes = _model_classes(model)
        sample_weight = kwargs.pop("sample_weight", None)
        if task is not None:
            y_true, response, classes, sample_weight = _select_task(
                task, y_true, response, classes, sample_weight, per_task_outputs
            )
        if self._score_func in _MASKED_METRICS:
            if self._takes_classes:
                kwargs["classes"] = classes
            score = self._score_func(
                y_true, response, sample_weight=sample_weight, missing_label=missing_label, **self._kwargs, **kwargs
            )
        else:
            score = _per_task_metric(
                self._score_func,
                getattr(self._score_func, "__name__", repr(self._score_func)),
                y_true,
                response,
                sample_weight=sample_weight,
                missing_label=missing_label,
                average="macro",
                per_task_outputs=per_task_outputs,
                **self._kwargs,
                **kwargs,
            )
        return self._sign * score

    def _check_task_kinds(self, model, task):
        """A metric of one kind of task (ROC-AUC, R^2...) must not meet a task of the other kind."""
        kind = _METRIC_KINDS.get(self._score_func)
        tasks = getattr(model, "tasks_", None)
        if kind is None or tasks is None:
            return
        wrong = [t for t in (tasks if task is None else [tasks[task]]) if t.kind != kind]
        if wrong:
            names = ", ".join(t.label for t in wrong)
            raise ValueError(
                f"{self!r} scores {kind} tasks, but {names} {'is a' if len(wrong) == 1 else 'are'} "
                f"{wrong[0].kind} task{'' if len(wrong) == 1 else 's'}. Select tasks of one kind with task=..., or "
                "give each task its metric with a dict, e.g. make_masked_scorer({'gender': 'roc_auc', 'age': 'r2'})."
            )

    def _response(self, method_caller, estimator, X):
        """``estimator.<response_method>(X)``, computed once per multi-metric scoring pass."""
        if not hasattr(estimator, self._response_method):
            raise AttributeError(
                f"{self!r} needs {type(estimator).__name__}.{self._response_method}, which it does not have."
            )
        cache = _shared_response_cache(method_caller)
        key = ("sklearn_mtl", self._response_method)
        if cache is not None and key in cache:
            return cache[key]
        response = getattr(estimator, self._response_method)(X)
        if cache is not None:
            cache[key] = response
        return response


class _TaskMetricsScorer(_BaseScorer):
    """Each task scored with its own masked metric, averaged over the tasks (``make_masked_scorer(dict)``).

    The responses the task metrics share (``predict``, ``predict_proba``) are computed once per call.
    """

    def __init__(self, scorers):
        super().__init__(_mean_of_task_metrics, 1, {}, "predict")
        self._scorers = scorers

    def __repr__(self):
        items = ", ".join(f"{task!r}: {_metric_repr(scorer)}" for task, scorer in self._scorers.items())
        return f"make_masked_scorer({{{items}}})"

    def _score(self, method_caller, estimator, X, y_true, **kwargs):
        if _shared_response_cache(method_caller) is None:
            method_caller = partial(_cached_call, {})
        scores = [scorer._score(method_caller, estimator, X, y_true, **kwargs) for scorer in self._scorers.values()]
        return reduce_task_scores(scores, "macro")


def _mean_of_task_metrics(y_true, y_pred, sample_weight=None):
    """Stands for the per-task metrics of a :class:`_TaskMetricsScorer`, which never calls it."""
    raise NotImplementedError


def _metric_repr(scorer):
    return repr(scorer._name) if isinstance(scorer._name, str) else scorer._score_func.__name__


def make_masked_scorer(
    metric, *, task=None, greater_is_better=None, response_method=None, missing_label=None, **kwargs
):
    """Make a scorer that scores each task on its observed labels only.

    Parameters
    ----------
    metric : str, callable or dict
        A scikit-learn scorer name: ``"accuracy"``, ``"balanced_accuracy"``, ``"f1"`` (and
        ``"f1_micro"``, ``"f1_macro"``, ``"f1_weighted"``), ``"roc_auc"``, ``"average_precision"``,
        ``"neg_log_loss"``, ``"r2"``, ``"neg_mean_squared_error"``, ``"neg_mean_absolute_error"``.
        Or one of the ``masked_*`` metrics of this module, or any metric function
        ``metric(y_true, y_pred, **kwargs)`` in scikit-learn's style, which is then applied to each
        task's observed rows (its ``y_pred`` is a column of ``predict``, or the task's
        ``predict_proba`` array with ``response_method="predict_proba"``).
        Or a dict that gives tasks (by index or name) their own metric, such as
        ``{"gender": "roc_auc", "age": "r2"}`` for a :class:`~sklearn_mtl.MaskedMultiTaskEstimator`:
        the scorer averages those tasks' scores (each greater-is-better) and ignores the others.
    task : int or str, default=None
        None scores every task and averages over the tasks that have a score (macro). An int
        selects one task by index; a str by name, one of the estimator's ``task_names_``.
    greater_is_better : bool, default=None
        Whether a higher metric is better; when False the scorer returns the negated metric. None
        takes it from the name or masked metric (``"neg_*"`` names and the losses are negated), and
        means True for other functions. Only for functions: a name already says it.
    response_method : {"predict", "predict_proba"}, default=None
        The estimator method whose output the metric reads. None takes it from the name or masked
        metric (``predict_proba`` for ROC-AUC, average precision and log loss), and means
        ``"predict"`` for other functions. Only for functions.
    missing_label : scalar, default=None
        The marker of a missing label in y besides NaN, None and ``pd.NA``. None uses the
        estimator's ``missing_label`` (the last step's, in a pipeline).
    **kwargs
        Passed to the metric, for example ``class_average="macro"`` for :func:`masked_f1_score`.

    Returns
    -------
    scorer : callable
        A picklable ``scorer(estimator, X, y, sample_weight=None)`` returning a float, greater is
        better. A task whose score is undefined in a fold (no observed label, or one class for
        ROC-AUC and average precision) is NaN with one :class:`UndefinedTaskScoreWarning`.

    See Also
    --------
    task_scorers : One scorer per task, for multi-metric ``scoring=``.
    sklearn.metrics.make_scorer : The scikit-learn counterpart for fully labelled y.

    Notes
    -----
    The classes of each task, which say which ``predict_proba`` column is which label, come from
    the estimator's ``classes_``. In a multi-metric search, scikit-learn shares one call of each
    response method among all the scorers of a fold; these scorers take part in that sharing, so
    ``scoring=task_scorers("roc_auc", 10)`` calls ``predict_proba`` once per fold, not ten times.

    Examples
    --------
    >>> from sklearn_mtl.metrics import make_masked_scorer
    >>> make_masked_scorer("roc_auc")
    make_masked_scorer('roc_auc')
    >>> make_masked_scorer("neg_log_loss", task="toxic")
    make_masked_scorer('neg_log_loss', task='toxic')
    >>> from sklearn.metrics import matthews_corrcoef
    >>> make_masked_scorer(matthews_corrcoef, task=0)
    make_masked_scorer(matthews_corrcoef, task=0, response_method='predict')
    >>> make_masked_scorer({"gender": "roc_auc", "age": "r2"})
    make_masked_scorer({'gender': 'roc_auc', 'age': 'r2'})
    """
    if isinstance(metric, dict):
        if task is not None or greater_is_better is not None or response_method is not None or kwargs:
            raise ValueError(
                "metric is a dict of task to metric, which already says which tasks to score and how; to set a "
                "metric's options, build one scorer per task with make_masked_scorer(metric, task=..., ...)."
            )
        if not metric:
            raise ValueError("metric is an empty dict; give at least one task and its metric.")
        return _TaskMetricsScorer(
            {key: make_masked_scorer(value, task=key, missing_label=missing_label) for key, value in metric.items()}
        )
    if task is not None and not isinstance(task, (numbers.Integral, str)):
        raise TypeError(f"task must be None, an int or a task name; got {task!r}.")
    if isinstance(metric, str):
        if metric not in _SCORER_NAMES:
            raise ValueError(f"metric={metric!r} is not a masked scorer name; use one of {sorted(_SCORER_NAMES)}.")
        if greater_is_better is not None or response_method is not None:
            raise ValueError(
                f"metric={metric!r} already decides greater_is_better and response_method; pass a metric "
                "function to choose them."
            )
        score_func, fixed_kwargs = _SCORER_NAMES[metric]
        response_method, sign, takes_classes = _MASKED_METRICS[score_func]
        kwargs = {**fixed_kwargs, **kwargs}
        name = metric
    elif callable(metric):
        default_method, sign, takes_classes = _MASKED_METRICS.get(metric, ("predict", 1, False))
        if greater_is_better is not None:
            sign = 1 if greater_is_better else -1
        response_method = default_method if response_method is None else response_method
        score_func, name = metric, None
    else:
        raise TypeError(f"metric must be a scorer name or a metric function; got {metric!r}.")
    if response_method not in ("predict", "predict_proba"):
        raise ValueError(f"response_method must be 'predict' or 'predict_proba'; got {response_method!r}.")
    return _MaskedScorer(
        score_func,
        sign,
        kwargs,
        response_method,
        task=task,
        missing_label=missing_label,
        takes_classes=takes_classes,
        name=name,
    )


def task_scorers(metric, tasks=None, **kwargs):
    """One masked scorer per task, keyed ``f"{metric}_{task name}"``, for multi-metric ``scoring=``.

    Parameters
    ----------
    metric : str, callable or dict
        As for :func:`make_masked_scorer`. A function's ``__name__`` is used in the keys. A dict
        gives each task its own metric, ``{"gender": "roc_auc", "age": "r2"}``: keys
        ``"roc_auc_gender"`` and ``"r2_age"`` (``tasks`` is then not given).
    tasks : int or list of str, default=None
        The number of tasks (keys and selection by index: ``"roc_auc_0"``, ``"roc_auc_1"``...), or
        the task names, as in the estimator's ``task_names_`` (the columns of a DataFrame y): keys
        ``"roc_auc_toxic"``... and selection by name. Required unless ``metric`` is a dict.
    **kwargs
        Passed to :func:`make_masked_scorer` (``missing_label``, ``greater_is_better``...).

    Returns
    -------
    dict of str to scorer
        Prefixing the metric keeps keys apart when several metrics are combined with ``|``, and
        makes ``cv_results_`` columns such as ``"mean_test_roc_auc_toxic"``.

    See Also
    --------
    make_masked_scorer : One scorer, for one task or the macro average.

    Examples
    --------
    >>> from sklearn_mtl.metrics import make_masked_scorer, task_scorers
    >>> scoring = task_scorers("roc_auc", 2) | {"mean": make_masked_scorer("roc_auc")}
    >>> scoring
    {'roc_auc_0': make_masked_scorer('roc_auc', task=0), 'roc_auc_1': make_masked_scorer('roc_auc', task=1), \
'mean': make_masked_scorer('roc_auc')}
    >>> list(task_scorers("neg_log_loss", ["toxic", "obscene"]))
    ['neg_log_loss_toxic', 'neg_log_loss_obscene']
    >>> list(task_scorers({"gender": "roc_auc", "age": "r2"}))
    ['roc_auc_gender', 'r2_age']
    """
    if isinstance(metric, dict):
        if tasks is not None:
            raise ValueError("metric is a dict of task to metric, which names the tasks: do not pass tasks too.")
        return {
            f"{value if isinstance(value, str) else value.__name__}_{task}": make_masked_scorer(
                value, task=task, **kwargs
            )
            for task, value in metric.items()
        }
    if tasks is None:
        raise TypeError("task_scorers needs tasks (a number of tasks or their names) unless metric is a dict.")
    if isinstance(tasks, numbers.Integral) and not isinstance(tasks, bool):
        if tasks < 1:
            raise ValueError(f"tasks must be a positive number of tasks or a list of names; got {tasks}.")
        selections = list(range(tasks))
    elif isinstance(tasks, str) or not hasattr(tasks, "__iter__"):
        raise TypeError(f"tasks must be a number of tasks or a list of task names; got {tasks!r}.")
    else:
        selections = [str(name) for name in tasks]
        if len(set(selections)) != len(selections):
            raise ValueError(f"tasks has repeated names: {selections}.")
    prefix = metric if isinstance(metric, str) else metric.__name__
    return {f"{prefix}_{task}": make_masked_scorer(metric, task=task, **kwargs) for task in selections}
