"""MultiTaskCalibrationDisplay: each task's reliability curve, in scikit-learn's Display convention."""

import numbers

import numpy as np
from sklearn.calibration import calibration_curve

from .._labels import task_label
from .._responses import (
    checked_probabilities,
    final_estimator,
    missing_label_of,
    observed_labels,
    per_task_probabilities,
    task_kinds,
    task_names,
)
from .._targets import as_2d_targets

__all__ = ["MultiTaskCalibrationDisplay"]


class MultiTaskCalibrationDisplay:
    """Reliability curves of the binary tasks of a multi-task model, one panel per task.

    The multi-task counterpart of scikit-learn's :class:`~sklearn.calibration.CalibrationDisplay`:
    each binary task's curve is computed on its own observed labels
    (:func:`~sklearn.calibration.calibration_curve`). Build it with :meth:`from_estimator` or
    :meth:`from_predictions`, which plot it; or create it and call :meth:`plot`.

    Parameters
    ----------
    prob_true, prob_pred : list of ndarray
        For each binary task, the fraction of positives and the mean predicted probability of
        each bin.
    task_names : list of str
    estimator_name : str, default=None
        The legend's name of the curves.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : ndarray of matplotlib Axes
        One panel per task (the grid's unused panels are hidden).
    lines_ : list of matplotlib Line2D
        Each task's curve.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_mtl.calibration import MultiTaskCalibrationDisplay
    >>> rng = np.random.RandomState(0)
    >>> y = (rng.rand(200, 2) < 0.3).astype(float)
    >>> y[rng.rand(200, 2) < 0.2] = np.nan
    >>> probabilities = [np.column_stack([1 - p, p]) for p in rng.rand(2, 200)]
    >>> display = MultiTaskCalibrationDisplay.from_predictions(y, probabilities, n_bins=5)
    >>> len(display.lines_), display.ax_.shape
    (2, (1, 2))
    """

    def __init__(self, prob_true, prob_pred, task_names, *, estimator_name=None):
        self.prob_true = prob_true
        self.prob_pred = prob_pred
        self.task_names = task_names
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, name=None, n_cols=4, ref_line=True, **kwargs):
        """Draw one reliability curve per task.

        Parameters
        ----------
        ax : ndarray of matplotlib Axes, default=None
            At least one panel per task; None makes a new figure of ``n_cols`` columns.
        name : str, default=None
            The legend's name; None takes ``estimator_name``.
        n_cols : int, default=4
        ref_line : bool, default=True
            Draw the diagonal of perfect calibration in each panel.
        **kwargs : dict
            Passed to matplotlib's ``plot`` for each curve.

        Returns
        -------
        display : MultiTaskCalibrationDisplay
        """
        import matplotlib.pyplot as plt

        _check_count("n_cols", n_cols)
        n_tasks = len(self.prob_true)
        if ax is None:
            n_cols = min(n_cols, n_tasks)
            n_rows = -(-n_tasks // n_cols)
            figure, ax = plt.subplots(
                n_rows, n_cols, figsize=(3.2 * n_cols, 3.0 * n_rows), sharex=True, sharey=True, squeeze=False
            )
        else:
            ax = np.asarray(ax)
            figure = ax.ravel()[0].figure
            if ax.size < n_tasks:
                raise ValueError(f"ax has {ax.size} panels for {n_tasks} tasks; give at least one panel per task.")
        name = self.estimator_name if name is None else name
        self.lines_ = []
        panels = ax.ravel()
        curves = zip(self.prob_true, self.prob_pred, self.task_names, strict=True)
        for panel, (truth, predicted, label) in zip(panels, curves, strict=False):
            if ref_line:
                panel.plot([0, 1], [0, 1], "k:", linewidth=1)
            (line,) = panel.plot(predicted, truth, "s-", label=name, **kwargs)
            self.lines_.append(line)
            panel.set_title(label, fontsize=10)
            panel.set_xlim(0, 1)
            panel.set_ylim(0, 1)
        for panel in panels[n_tasks:]:
            panel.set_visible(False)
        if name is not None:
            panels[0].legend(loc="upper left", fontsize=8)
        figure.supxlabel("mean predicted probability")
        figure.supylabel("fraction of positives")
        self.figure_, self.ax_ = figure, ax
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_prob,
        *,
        n_bins=5,
        strategy="uniform",
        pos_label=None,
        task_names=None,
        missing_label=np.nan,
        name=None,
        ax=None,
    ):
        """Plot each binary task's reliability curve from its labels and probabilities.

        Parameters
        ----------
        y_true : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_tasks)
            Labels, missing ones marked by NaN (or ``missing_label``).
        y_prob : ndarray, or list of (ndarray or None)
            Each task's probabilities: a multi-task model's ``predict_proba`` (one
            ``(n_samples, n_classes_t)`` array per task, None for a regression task), or, for a
            binary task, the positive class's probabilities alone, of shape ``(n_samples,)`` (the
            format of scikit-learn's ``CalibrationDisplay.from_predictions``). One array is one
            task's. Each value must lie in [0, 1] and each row of a 2-D array sum to 1. Tasks
            that are not binary (None, or more columns) are left out.
        n_bins : int, default=5
        strategy : {"uniform", "quantile"}, default="uniform"
            As :func:`~sklearn.calibration.calibration_curve`.
        pos_label : int, float, bool, str, list or None, default=None
            The positive class (the class of the probabilities' last column), one for every task
            or a list of one per task. None: as scikit-learn, 1 for labels in {0, 1} or {-1, 1};
            other labels (strings, for example) need it.
        task_names : list of str, default=None
        missing_label : float or str, default=np.nan
        name : str, default=None
        ax : ndarray of matplotlib Axes, default=None

        Returns
        -------
        display : MultiTaskCalibrationDisplay
        """
        _check_count("n_bins", n_bins)
        if strategy not in ("uniform", "quantile"):
            raise ValueError(f"strategy must be 'uniform' or 'quantile'; got {strategy!r}.")
        y2d, _, frame_names = as_2d_targets(y_true)
        n_samples, n_tasks = y2d.shape
        task_names = frame_names if task_names is None else list(task_names)
        y_prob = [y_prob] if isinstance(y_prob, np.ndarray) else list(y_prob)
        if len(y_prob) != n_tasks:
            raise ValueError(f"y_prob has {len(y_prob)} tasks, but y_true has {n_tasks}; give one entry per task.")
        for parameter, values in (("task_names", task_names), ("pos_label", pos_label)):
            if isinstance(values, (list, tuple, np.ndarray)) and len(values) != n_tasks:
                raise ValueError(f"{parameter} has {len(values)} entries, but y_true has {n_tasks} tasks.")
        positives = list(pos_label) if isinstance(pos_label, (list, tuple, np.ndarray)) else [pos_label] * n_tasks
        labels = observed_labels(y2d, n_samples, n_tasks, missing_label, task_names)
        prob_true, prob_pred, names = [], [], []
        for task, (p, (rows, values)) in enumerate(zip(y_prob, labels, strict=True)):
            label = task_label(task, task_names)
            p = None if p is None else checked_probabilities(p, n_samples, label)
            if p is None or p.shape[1] != 2 or not len(rows):
                continue
            try:
                truth, predicted = calibration_curve(
                    values, p[rows, 1], n_bins=n_bins, strategy=strategy, pos_label=positives[task]
                )
            except ValueError as error:  # scikit-learn's word on the labels, naming the task
                raise ValueError(f"{label}: {error}") from None
            prob_true.append(truth)
            prob_pred.append(predicted)
            names.append(task_label(task) if task_names is None else str(task_names[task]))
        if not prob_true:
            raise ValueError("No binary task with observed labels to draw.")
        return cls(prob_true, prob_pred, names, estimator_name=name).plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, n_bins=5, strategy="uniform", name=None, ax=None):
        """Plot each binary task's reliability curve of a fitted multi-task model on (X, y).

        Parameters
        ----------
        estimator : estimator
            A fitted multi-task classifier, mixed estimator, pipeline, or
            :class:`MultiTaskCalibratedClassifierCV`.
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : {array-like, sparse matrix} of shape (n_samples, n_tasks)
            Labels, missing ones marked as the model's ``missing_label`` does.
        n_bins : int, default=5
        strategy : {"uniform", "quantile"}, default="uniform"
        name : str, default=None
            None takes the estimator's class name.
        ax : ndarray of matplotlib Axes, default=None

        Returns
        -------
        display : MultiTaskCalibrationDisplay
        """
        if "classification" not in task_kinds(estimator):
            raise ValueError("The model has no classification task: no reliability curve to draw.")
        names = task_names(estimator)
        # each binary task's positive class is its second class, whatever its labels' type
        tasks = final_estimator(estimator).tasks_
        positives = [task.classes[-1] if task.kind == "classification" else None for task in tasks]
        return cls.from_predictions(
            y,
            per_task_probabilities(estimator, X),
            n_bins=n_bins,
            strategy=strategy,
            pos_label=positives,
            task_names=names,
            missing_label=missing_label_of(estimator),
            name=type(estimator).__name__ if name is None else name,
            ax=ax,
        )


def _check_count(parameter, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)) or value < 1:
        raise ValueError(f"{parameter} must be an integer of at least 1; got {value!r}.")
