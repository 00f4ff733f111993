"""TaskAffinityDisplay: the inter-task affinity as a heatmap, in scikit-learn's Display convention."""

import numpy as np

from ._affinity import group_tasks, task_affinity

__all__ = ["TaskAffinityDisplay"]


class TaskAffinityDisplay:
    """Heatmap of inter-task affinity, tasks ordered by group.

    Build it with :meth:`from_estimator` (which measures the affinity while training a clone of
    the estimator) or :meth:`from_affinity`, then it plots itself; or create it directly and call
    :meth:`plot`.

    Parameters
    ----------
    affinity : ndarray of shape (n_tasks, n_tasks)
        ``affinity[i, j]``: how much a step on task ``i`` lowers task ``j``'s loss (see
        :func:`~sklearn_mtl.inspection.task_affinity`).
    task_names : list of str, default=None
        None names the tasks by index.
    groups : list of list of int, default=None
        Groups of tasks (:func:`~sklearn_mtl.inspection.group_tasks`); the heatmap shows the tasks
        group after group, with lines between groups. None keeps the tasks' order.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    im_ : matplotlib AxesImage
    order_ : ndarray of int
        The tasks in the order shown.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_mtl.inspection import TaskAffinityDisplay
    >>> affinity = np.array([[0.2, -0.1, 0.3], [-0.1, 0.2, -0.2], [0.4, -0.1, 0.1]])
    >>> display = TaskAffinityDisplay.from_affinity(affinity, task_names=["a", "b", "c"], n_groups=2)
    >>> display.groups, [label.get_text() for label in display.ax_.get_xticklabels()]
    ([[0, 2], [1]], ['a', 'c', 'b'])
    """

    def __init__(self, affinity, *, task_names=None, groups=None):
        self.affinity = np.asarray(affinity, dtype=np.float64)
        self.task_names = task_names
        self.groups = groups

    def plot(self, ax=None, *, cmap="RdBu", colorbar=True):
        """Draw the heatmap.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            None makes a new figure.
        cmap : str or Colormap, default="RdBu"
            Diverging, centred on 0 (helps: one side; hurts: the other).
        colorbar : bool, default=True

        Returns
        -------
        display : TaskAffinityDisplay
        """
        import matplotlib.pyplot as plt

        n_tasks = self.affinity.shape[0]
        names = list(map(str, range(n_tasks) if self.task_names is None else self.task_names))
        if len(names) != n_tasks:
            raise ValueError(f"task_names has {len(names)} names but the affinity has {n_tasks} tasks.")
        self.order_ = np.concatenate(self.groups) if self.groups else np.arange(n_tasks)
        if sorted(self.order_.tolist()) != list(range(n_tasks)):
            raise ValueError("groups must hold every task exactly once.")
        if ax is None:
            _, ax = plt.subplots(figsize=(1.5 + 0.45 * n_tasks, 1 + 0.45 * n_tasks))
        shown = self.affinity[np.ix_(self.order_, self.order_)]
        limit = np.nanmax(np.abs(shown)) if np.isfinite(shown).any() else 1.0
        self.im_ = ax.imshow(shown, cmap=cmap, vmin=-limit, vmax=limit)
        ax.set_xticks(range(n_tasks), [names[t] for t in self.order_], rotation=90)
        ax.set_yticks(range(n_tasks), [names[t] for t in self.order_])
        ax.set_xlabel("task j (loss measured)")
        ax.set_ylabel("task i (step taken)")
        if self.groups:
            for edge in np.cumsum([len(group) for group in self.groups])[:-1]:
                ax.axhline(edge - 0.5, color="k", linewidth=1)
                ax.axvline(edge - 0.5, color="k", linewidth=1)
        if colorbar:
            ax.figure.colorbar(self.im_, ax=ax, label="affinity of i to j")
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_affinity(cls, affinity, *, task_names=None, n_groups=None, ax=None, cmap="RdBu", colorbar=True):
        """Plot a given affinity matrix, grouped into ``n_groups`` groups when given.

        Parameters
        ----------
        affinity : array-like of shape (n_tasks, n_tasks)
        task_names : list of str, default=None
        n_groups : int, default=None
            Order the tasks by :func:`~sklearn_mtl.inspection.group_tasks` groups; None keeps
            their order.
        ax : matplotlib Axes, default=None
        cmap : str or Colormap, default="RdBu"
        colorbar : bool, default=True

        Returns
        -------
        display : TaskAffinityDisplay
        """
        groups = None if n_groups is None else group_tasks(affinity, n_groups)
        return cls(affinity, task_names=task_names, groups=groups).plot(ax=ax, cmap=cmap, colorbar=colorbar)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        task_names=None,
        n_groups=None,
        every=1,
        lookahead_lr=None,
        training_params=None,
        ax=None,
        cmap="RdBu",
        colorbar=True,
    ):
        """Measure the affinity while training a clone of ``estimator`` on (X, y), then plot it.

        Parameters
        ----------
        estimator : MaskedMultiTaskClassifier, MaskedMultiTaskRegressor or MaskedMultiTaskEstimator
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples, n_tasks)
            A DataFrame's columns name the tasks.
        task_names : list of str, default=None
            Names of the tasks; None takes a DataFrame y's columns, else the tasks' indices.
        n_groups : int, default=None
        every, lookahead_lr, training_params
            As for :func:`~sklearn_mtl.inspection.task_affinity`.
        ax : matplotlib Axes, default=None
        cmap : str or Colormap, default="RdBu"
        colorbar : bool, default=True

        Returns
        -------
        display : TaskAffinityDisplay
        """
        affinity = task_affinity(
            estimator, X, y, every=every, lookahead_lr=lookahead_lr, training_params=training_params
        )
        if task_names is None and hasattr(y, "columns"):
            task_names = list(y.columns)
        return cls.from_affinity(
            affinity, task_names=task_names, n_groups=n_groups, ax=ax, cmap=cmap, colorbar=colorbar
        )
