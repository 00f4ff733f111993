"""Synthetic multi-task data with a knob for how related the tasks are and for which labels are missing."""

import numbers

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_multitask_classification", "make_multitask_regression"]

# Each latent direction enters the targets through tanh(_SHARPNESS * u) with u ~ N(0, 1): mildly
# nonlinear, so that a hidden layer pays off, yet smooth enough to be learned from a few hundred rows.
_SHARPNESS = 1.5


def _nonlinearity_std():
    """Standard deviation of tanh(_SHARPNESS * u) for u ~ N(0, 1), by Gauss-Hermite quadrature."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    return np.sqrt(np.sum(weights * np.tanh(_SHARPNESS * nodes) ** 2) / np.sum(weights))


def _feature(projection):
    """The nonlinear response to a unit-variance projection of X, scaled to unit variance."""
    return np.tanh(_SHARPNESS * projection) / _nonlinearity_std()


def _check_int(value, name, minimum):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_fraction(value, name, *, low, high, n_tasks, low_inclusive=True):
    """A float or a per-task sequence of floats in [low, high] (or (low, high]), as an array of n_tasks."""
    values = np.asarray(value, dtype=float)
    if values.ndim == 0:
        values = np.full(n_tasks, float(values))
    if values.shape != (n_tasks,):
        raise ValueError(f"{name} must be a float or have one entry per task ({n_tasks}), got shape {values.shape}.")
    below = values < low if low_inclusive else values <= low
    if np.any(below | (values > high) | ~np.isfinite(values)):
        bracket = "[" if low_inclusive else "("
        raise ValueError(f"every entry of {name} must lie in {bracket}{low}, {high}], got {value!r}.")
    return values


def _task_scores(
    n_samples, n_features, n_tasks, n_informative, n_shared_factors, task_relatedness, noise, mixing_correlation, rng
):
    """X, each task's noisy score (unit variance before noise), both of shape (n_samples, ...), and
    the shared features (n_samples, n_shared_factors).

    The score of task t is ``sqrt(r) * shared_t + sqrt(1 - r) * specific_t`` with ``r`` the task
    relatedness. ``shared_t`` mixes, with task-specific weights, the responses to ``n_shared_factors``
    directions common to all tasks (the shared features); ``specific_t`` is the response to a
    direction of task t's own, orthogonal to the shared ones (and to the other tasks' own directions
    when there is room). Both have unit variance and are independent of each other. The tasks'
    mixing weights are Gaussian with correlation ``mixing_correlation`` between any two tasks.
    """
    n_samples = _check_int(n_samples, "n_samples", 1)
    n_features = _check_int(n_features, "n_features", 1)
    n_tasks = _check_int(n_tasks, "n_tasks", 1)
    n_informative = _check_int(n_informative, "n_informative", 1)
    n_shared_factors = _check_int(n_shared_factors, "n_shared_factors", 1)
    if n_informative > n_features:
        raise ValueError(f"n_informative={n_informative} must not exceed n_features={n_features}.")
    if not isinstance(task_relatedness, numbers.Real) or not 0 <= task_relatedness <= 1:
        raise ValueError(f"task_relatedness must be a float in [0, 1], got {task_relatedness!r}.")
    if not isinstance(noise, numbers.Real) or noise < 0:
        raise ValueError(f"noise must be a non-negative float, got {noise!r}.")
    if not isinstance(mixing_correlation, numbers.Real) or not 0 <= mixing_correlation <= 1:
        raise ValueError(f"mixing_correlation must be a float in [0, 1], got {mixing_correlation!r}.")
    if n_shared_factors >= n_informative and task_relatedness < 1:
        raise ValueError(
            f"n_shared_factors={n_shared_factors} leaves no informative direction for the task-specific part: "
            f"use n_informative > n_shared_factors, or task_relatedness=1."
        )

    # Orthonormal directions in the informative subspace: the shared ones first, then each task's own
    # drawn from the orthogonal complement, so that the two parts are independent.
    shared_directions = np.linalg.qr(rng.normal(size=(n_informative, n_shared_factors)))[0][:, :n_shared_factors]
    complement = np.linalg.svd(np.eye(n_informative) - shared_directions @ shared_directions.T)[0]
    complement = complement[:, : max(n_informative - n_shared_factors, 1)]
    specific_directions = complement @ rng.normal(size=(complement.shape[1], n_tasks))
    if complement.shape[1] >= n_tasks:  # room for unrelated tasks to be exactly uncorrelated
        specific_directions = np.linalg.qr(specific_directions)[0]
    specific_directions /= np.linalg.norm(specific_directions, axis=0)
    mixing = rng.normal(size=(n_shared_factors, n_tasks))
    if mixing_correlation > 0:  # a common mix that every task's weights lean towards
        common = rng.normal(size=(n_shared_factors, 1))
        mixing = np.sqrt(mixing_correlation) * common + np.sqrt(1 - mixing_correlation) * mixing
    mixing /= np.linalg.norm(mixing, axis=0)

    X = rng.normal(size=(n_samples, n_features))
    informative = X[:, :n_informative]
    shared_features = _feature(informative @ shared_directions)
    specific = _feature(informative @ specific_directions)
    scores = np.sqrt(task_relatedness) * shared_features @ mixing + np.sqrt(1 - task_relatedness) * specific
    return X, scores + noise * rng.normal(size=scores.shape), shared_features


def _observed_mask(n_samples, n_tasks, missing_rate, one_label_per_row, label_fraction, rng):
    """Boolean (n_samples, n_tasks): which labels are kept, missing completely at random."""
    if not isinstance(one_label_per_row, bool | np.bool_):
        raise ValueError(f"one_label_per_row must be a bool, got {one_label_per_row!r}.")
    missing_rate = _check_fraction(missing_rate, "missing_rate", low=0, high=1, n_tasks=n_tasks)
    if np.any(missing_rate == 1):
        raise ValueError("missing_rate=1 leaves a task without labels; use a rate below 1.")
    if label_fraction is not None:
        label_fraction = _check_fraction(
            label_fraction, "label_fraction", low=0, high=1, n_tasks=n_tasks, low_inclusive=False
        )
        if np.any(missing_rate > 0):
            raise ValueError("give either missing_rate or label_fraction, not both: both say how many labels are kept.")
    if one_label_per_row:
        if np.any(missing_rate > 0):
            raise ValueError("one_label_per_row=True already decides which labels are missing; leave missing_rate=0.")
        weights = np.ones(n_tasks) if label_fraction is None else label_fraction
        tasks = rng.choice(n_tasks, size=n_samples, p=weights / weights.sum())
        return tasks[:, None] == np.arange(n_tasks)
    if label_fraction is not None:
        observed = np.zeros((n_samples, n_tasks), dtype=bool)
        for task, fraction in enumerate(label_fraction):
            n_labels = max(1, round(fraction * n_samples))
            observed[rng.choice(n_samples, size=n_labels, replace=False), task] = True
        return observed
    return rng.uniform(size=(n_samples, n_tasks)) >= missing_rate


def _returned(X, y, y_complete, shared_features, return_complete, return_shared_features):
    """``(X, y)``, then ``y_complete`` and ``shared_features`` where asked for."""
    return (X, y) + ((y_complete,) if return_complete else ()) + ((shared_features,) if return_shared_features else ())


def make_multitask_classification(
    n_samples=1000,
    n_features=20,
    n_tasks=5,
    *,
    n_informative=10,
    n_shared_factors=2,
    task_relatedness=0.8,
    n_classes=2,
    noise=0.1,
    missing_rate=0.0,
    one_label_per_row=False,
    label_fraction=None,
    mixing_correlation=0.0,
    return_complete=False,
    return_shared_features=False,
    random_state=None,
):
    """Generate a multi-task classification problem whose tasks share part of their signal.

    ``X`` is standard normal. Only the first ``n_informative`` features matter. Each task has a
    score, ``sqrt(r) * shared_t + sqrt(1 - r) * specific_t`` with ``r = task_relatedness``:
    ``shared_t`` is a task-specific mix of smooth nonlinear responses (``tanh``) to
    ``n_shared_factors`` directions of the informative subspace that all tasks have in common, and
    ``specific_t`` is the response to a direction of the task's own, orthogonal to them. Gaussian
    noise is added, and the score is cut at its quantiles into ``n_classes`` balanced, ordered classes.

    With ``task_relatedness`` near 1, every task is a function of the same low-dimensional
    projection of X, which a shared trunk learns from the labels of all tasks at once; near 0,
    the tasks have nothing in common and a shared network has nothing to share.

    Labels are then hidden completely at random, as set by ``missing_rate``, ``label_fraction``
    or ``one_label_per_row``; a missing label is NaN.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_features : int, default=20
        Number of features; those after the first ``n_informative`` are noise.
    n_tasks : int, default=5
        Number of tasks (columns of y).
    n_informative : int, default=10
        Number of features the tasks depend on.
    n_shared_factors : int, default=2
        Number of directions of X shared by all tasks; must be smaller than ``n_informative``
        unless ``task_relatedness=1``.
    task_relatedness : float in [0, 1], default=0.8
        Share of each task's signal variance that comes from the shared directions.
    n_classes : int or list of int, default=2
        Number of classes of every task, or of each task.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to each task's unit-variance score before
        it is cut into classes; it sets the best achievable accuracy.
    missing_rate : float or array-like of shape (n_tasks,), default=0.0
        Probability that a label is missing, independently of everything else (for all tasks,
        or per task).
    one_label_per_row : bool, default=False
        Keep one label per row: each row is labelled for a single task, drawn uniformly (or in
        proportion to ``label_fraction`` when it is given).
    label_fraction : float or array-like of shape (n_tasks,), default=None
        Fraction of the rows labelled for each task, chosen at random (exactly
        ``round(label_fraction * n_samples)`` rows, at least one): gives tasks unequal numbers of
        labels. Cannot be combined with ``missing_rate``.
    mixing_correlation : float in [0, 1], default=0.0
        Correlation between two tasks' weights on the shared features. 0: each task mixes them in
        its own way, so that the tasks share a representation (the features) but not a function; 1:
        every task mixes them alike, so that the tasks share one nonlinear function of the inputs
        and differ by their own part only (weighed by ``1 - task_relatedness``): one model for all
        tasks is then nearly right.
    return_complete : bool, default=False
        Also return the targets without missing labels.
    return_shared_features : bool, default=False
        Also return the shared features, the responses to the ``n_shared_factors`` shared
        directions: what a model that knew the shared structure would start from (a per-task
        model given them is the reference for how much sharing can give).
    random_state : int, RandomState instance or None, default=None
        Seeds the directions, X, the noise and the missing labels.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The features.
    y : ndarray of shape (n_samples, n_tasks)
        Class labels ``0.0, 1.0, ...`` as floats, NaN where a label is missing.
    y_complete : ndarray of shape (n_samples, n_tasks)
        Every label; only when ``return_complete=True``.
    shared_features : ndarray of shape (n_samples, n_shared_factors)
        The shared features (unit variance); only when ``return_shared_features=True``.

    See Also
    --------
    make_multitask_regression : The same signal as regression targets.
    sklearn.datasets.make_multilabel_classification : Multi-label data without missing labels.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.datasets import make_multitask_classification
    >>> X, y = make_multitask_classification(n_samples=200, n_tasks=3, missing_rate=0.3, random_state=0)
    >>> X.shape, y.shape
    ((200, 20), (200, 3))
    >>> np.unique(y[~np.isnan(y)])
    array([0., 1.])
    >>> X, y = make_multitask_classification(n_samples=200, n_tasks=4, one_label_per_row=True, random_state=0)
    >>> (~np.isnan(y)).sum(axis=1).max()
    np.int64(1)

    Tasks that mix the shared features alike, and the shared features themselves (what a per-task
    model would need to know to gain all that sharing can give):

    >>> X, y, shared = make_multitask_classification(
    ...     n_samples=200, n_tasks=4, mixing_correlation=0.9, one_label_per_row=True,
    ...     return_shared_features=True, random_state=0)
    >>> shared.shape
    (200, 2)
    """
    rng = check_random_state(random_state)
    X, scores, shared_features = _task_scores(
        n_samples, n_features, n_tasks, n_informative, n_shared_factors, task_relatedness, noise,
        mixing_correlation, rng,
    )
    classes_per_task = np.asarray(n_classes)
    if classes_per_task.ndim == 0:
        classes_per_task = np.full(n_tasks, classes_per_task)
    if (
        classes_per_task.shape != (n_tasks,)
        or not np.issubdtype(classes_per_task.dtype, np.integer)
        or np.any(classes_per_task < 2)
    ):
        raise ValueError(
            f"n_classes must be an integer >= 2 or one such integer per task ({n_tasks}), got {n_classes!r}."
        )
    y_complete = np.empty_like(scores)
    for task, k in enumerate(classes_per_task):
        thresholds = np.quantile(scores[:, task], np.arange(1, k) / k)
        y_complete[:, task] = np.searchsorted(thresholds, scores[:, task])
    observed = _observed_mask(n_samples, n_tasks, missing_rate, one_label_per_row, label_fraction, rng)
    y = np.where(observed, y_complete, np.nan)
    return _returned(X, y, y_complete, shared_features, return_complete, return_shared_features)


def make_multitask_regression(
    n_samples=1000,
    n_features=20,
    n_tasks=5,
    *,
    n_informative=10,
    n_shared_factors=2,
    task_relatedness=0.8,
    noise=0.1,
    missing_rate=0.0,
    one_label_per_row=False,
    label_fraction=None,
    mixing_correlation=0.0,
    return_complete=False,
    return_shared_features=False,
    random_state=None,
):
    """Generate a multi-task regression problem whose tasks share part of their signal.

    The signal is the one of :func:`make_multitask_classification`: ``X`` is standard normal and
    each task's target is ``sqrt(r) * shared_t + sqrt(1 - r) * specific_t + noise``, where
    ``shared_t`` mixes smooth nonlinear responses to ``n_shared_factors`` directions common to all
    tasks, ``specific_t`` responds to a direction of the task's own, and both have unit variance.
    Labels are then hidden completely at random; a missing label is NaN.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_features : int, default=20
        Number of features; those after the first ``n_informative`` are noise.
    n_tasks : int, default=5
        Number of tasks (columns of y).
    n_informative : int, default=10
        Number of features the tasks depend on.
    n_shared_factors : int, default=2
        Number of directions of X shared by all tasks; must be smaller than ``n_informative``
        unless ``task_relatedness=1``.
    task_relatedness : float in [0, 1], default=0.8
        Share of each task's signal variance that comes from the shared directions.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to each target (the signal has unit variance).
    missing_rate : float or array-like of shape (n_tasks,), default=0.0
        Probability that a label is missing, independently of everything else (for all tasks,
        or per task).
    one_label_per_row : bool, default=False
        Keep one label per row: each row is labelled for a single task, drawn uniformly (or in
        proportion to ``label_fraction`` when it is given).
    label_fraction : float or array-like of shape (n_tasks,), default=None
        Fraction of the rows labelled for each task, chosen at random (exactly
        ``round(label_fraction * n_samples)`` rows, at least one). Cannot be combined with
        ``missing_rate``.
    mixing_correlation : float in [0, 1], default=0.0
        Correlation between two tasks' weights on the shared features. 0: each task mixes them in
        its own way, so that the tasks share a representation (the features) but not a function; 1:
        every task mixes them alike, so that the tasks share one nonlinear function of the inputs
        and differ by their own part only (weighed by ``1 - task_relatedness``): one model for all
        tasks is then nearly right.
    return_complete : bool, default=False
        Also return the targets without missing labels.
    return_shared_features : bool, default=False
        Also return the shared features, the responses to the ``n_shared_factors`` shared
        directions: what a model that knew the shared structure would start from (a per-task
        model given them is the reference for how much sharing can give).
    random_state : int, RandomState instance or None, default=None
        Seeds the directions, X, the noise and the missing labels.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The features.
    y : ndarray of shape (n_samples, n_tasks)
        The targets, NaN where a label is missing.
    y_complete : ndarray of shape (n_samples, n_tasks)
        Every target; only when ``return_complete=True``.
    shared_features : ndarray of shape (n_samples, n_shared_factors)
        The shared features (unit variance); only when ``return_shared_features=True``.

    See Also
    --------
    make_multitask_classification : The same signal cut into classes.
    sklearn.datasets.make_regression : Linear targets without missing labels.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.datasets import make_multitask_regression
    >>> X, y, y_complete = make_multitask_regression(
    ...     n_samples=300, n_tasks=3, label_fraction=[1.0, 0.5, 0.1], return_complete=True, random_state=0)
    >>> (~np.isnan(y)).sum(axis=0)
    array([300, 150,  30])
    >>> bool(np.isnan(y_complete).any())
    False
    """
    rng = check_random_state(random_state)
    X, y_complete, shared_features = _task_scores(
        n_samples, n_features, n_tasks, n_informative, n_shared_factors, task_relatedness, noise,
        mixing_correlation, rng,
    )
    observed = _observed_mask(n_samples, n_tasks, missing_rate, one_label_per_row, label_fraction, rng)
    y = np.where(observed, y_complete, np.nan)
    return _returned(X, y, y_complete, shared_features, return_complete, return_shared_features)
