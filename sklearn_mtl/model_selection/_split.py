"""K-fold splits that stratify every task's observed classes at once, missing labels ignored."""

import numbers

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_consistent_length

from .._labels import task_label
from .._targets import _observed_values, as_2d_targets, missing_mask

__all__ = ["MultiTaskStratifiedKFold"]


def _label_indicators(y, missing_label):
    """Boolean matrix (n_samples, n_labels) with one column per (task, class) pair, False where missing."""
    y2d, _, task_names = as_2d_targets(y)
    observed = ~missing_mask(y2d, missing_label)
    columns = []
    for task in range(y2d.shape[1]):
        name = task_label(task, task_names)
        rows = observed[:, task]
        values = _observed_values(y2d[:, task], rows, name)
        if not values.size:
            continue
        target_type = type_of_target(values)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                f"MultiTaskStratifiedKFold stratifies class labels, but {name} is {target_type!r}. "
                "For regression targets use KFold."
            )
        _, codes = np.unique(values, return_inverse=True)
        task_columns = np.zeros((y2d.shape[0], codes.max() + 1), dtype=bool)
        task_columns[np.flatnonzero(rows), codes] = True
        columns.append(task_columns)
    if not columns:
        return np.zeros((y2d.shape[0], 0), dtype=bool)
    return np.hstack(columns)


def _iterative_stratification(labels, n_splits, rng):
    """Fold of each row by iterative stratification (Sechidis, Tsoumakas and Vlahavas, 2011).

    The rarest remaining label is placed first, each of its rows into the fold, among those not yet
    full, that most lacks that label (ties: the fold that most lacks rows, then at random when
    ``rng`` is given, else the first); rows without any label fill the folds that most lack rows.
    No fold grows beyond ``ceil(n_samples / n_splits)`` rows.
    """
    n_samples, n_labels = labels.shape
    desired_rows = np.full(n_splits, n_samples / n_splits)
    desired_labels = np.tile(labels.sum(axis=0) / n_splits, (n_splits, 1))
    folds = np.full(n_samples, -1)
    remaining = labels.copy()
    order = np.arange(n_samples) if rng is None else rng.permutation(n_samples)

    def best_fold(candidates):
        candidates = candidates[desired_rows[candidates] == desired_rows[candidates].max()]
        return candidates[0] if rng is None or len(candidates) == 1 else rng.choice(candidates)

    while remaining.any():
        counts = remaining.sum(axis=0)
        label = np.flatnonzero(counts == counts[counts > 0].min())[0]
        for row in order[remaining[order, label]]:
            # only folds with room: rows carrying several labels would otherwise overfill the folds
            # that lack their rarest label (the remaining rows always leave some fold with room)
            room = np.flatnonzero(desired_rows > 0)
            wanted = desired_labels[room, label]
            fold = best_fold(room[wanted == wanted.max()])
            folds[row] = fold
            desired_labels[fold] -= labels[row]
            desired_rows[fold] -= 1
            remaining[row] = False
    for row in order[folds[order] == -1]:
        fold = best_fold(np.arange(n_splits))
        folds[row] = fold
        desired_rows[fold] -= 1
    return folds


class MultiTaskStratifiedKFold(BaseCrossValidator):
    """K-fold cross-validation stratified on the observed classes of every task.

    Each (task, class) pair is a label; iterative stratification (Sechidis et al., 2011) spreads
    every label's rows over the folds in proportion, so each test fold gets each class of each task
    whenever the task has at least ``n_splits`` labels of that class. Missing labels (NaN, None,
    ``pd.NA`` or ``missing_label``) count for nothing; rows with no label at all balance the fold sizes.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.
    shuffle : bool, default=False
        Whether to visit rows in a random order and break ties at random. Without shuffling the
        split depends only on y.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling; only with ``shuffle=True``.
    missing_label : scalar, default=np.nan
        Value that marks a missing label, in addition to NaN, None and ``pd.NA``. It must match the
        estimator's ``missing_label``.

    See Also
    --------
    sklearn.model_selection.StratifiedKFold : One fully labelled target.
    sklearn.model_selection.KFold : No stratification; also works for regression targets.

    Notes
    -----
    Pass this as ``cv=`` with missing labels: scikit-learn turns an integer ``cv`` into a
    ``StratifiedKFold`` for classifiers, and raises ``ValueError: Input y contains NaN.`` on a float
    y with NaN before the estimator is called. Fold sizes are balanced only approximately: unlike
    ``StratifiedKFold``'s, they may differ by a few rows, because a row's labels come as a whole.

    References
    ----------
    K. Sechidis, G. Tsoumakas and I. Vlahavas, "On the stratification of multi-label data",
    ECML PKDD 2011, pp. 145-158.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.model_selection import MultiTaskStratifiedKFold
    >>> y = np.array([[0, 1], [1, np.nan], [0, 0], [1, 1], [np.nan, 0], [1, 0]])
    >>> cv = MultiTaskStratifiedKFold(n_splits=2)
    >>> for train, test in cv.split(np.zeros((6, 1)), y):
    ...     print(test, y[test].tolist())
    [0 1 5] [[0.0, 1.0], [1.0, nan], [1.0, 0.0]]
    [2 3 4] [[0.0, 0.0], [1.0, 1.0], [nan, 0.0]]
    """

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None, missing_label=np.nan):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state
        self.missing_label = missing_label

    def _check_parameters(self):
        if not isinstance(self.n_splits, numbers.Integral) or isinstance(self.n_splits, bool) or self.n_splits < 2:
            raise ValueError(f"n_splits must be an int of at least 2; got {self.n_splits!r}.")
        if not isinstance(self.shuffle, bool):
            raise TypeError(f"shuffle must be True or False; got {self.shuffle!r}.")
        if not self.shuffle and self.random_state is not None:
            raise ValueError(
                "Setting a random_state has no effect since shuffle is False. Leave random_state as None "
                "or set shuffle=True."
            )

    def split(self, X, y, groups=None):
        """Generate indices to split data into training and test set.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; only its length is used.
        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_tasks)
            Class labels of each task, missing ones marked; a DataFrame or Series works too, and
            so does a scipy sparse y, whose stored entries are the labels.
        groups : None
            Ignored; present for API compatibility.

        Yields
        ------
        train : ndarray
            The training set indices for that split.
        test : ndarray
            The testing set indices for that split.
        """
        return super().split(X, y, groups)

    def _iter_test_indices(self, X, y=None, groups=None):
        self._check_parameters()
        if y is None:
            raise ValueError("MultiTaskStratifiedKFold needs y to stratify on; pass y to split().")
        check_consistent_length(X, y)
        n_samples = y.shape[0] if hasattr(y, "shape") else len(y)
        if self.n_splits > n_samples:
            raise ValueError(
                f"Cannot have number of splits n_splits={self.n_splits} greater than the number of "
                f"samples: n_samples={n_samples}."
            )
        labels = _label_indicators(y, self.missing_label)
        rng = check_random_state(self.random_state) if self.shuffle else None
        folds = _iterative_stratification(labels, self.n_splits, rng)
        for fold in range(self.n_splits):
            yield np.flatnonzero(folds == fold)

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splitting iterations in the cross-validator.

        Parameters
        ----------
        X, y, groups : object
            Ignored; present for API compatibility.

        Returns
        -------
        n_splits : int

        Examples
        --------
        >>> from sklearn_mtl.model_selection import MultiTaskStratifiedKFold
        >>> MultiTaskStratifiedKFold(3).get_n_splits()
        3
        """
        return self.n_splits
