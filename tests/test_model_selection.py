"""MultiTaskStratifiedKFold: folds partition the rows and carry every task's classes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import KFold

from sklearn_mtl.model_selection import MultiTaskStratifiedKFold


def _sparse_labels(seed, n_samples=60, n_tasks=4, positive_rate=0.1, missing_rate=0.5):
    rng = np.random.RandomState(seed)
    y = (rng.rand(n_samples, n_tasks) < positive_rate).astype(float)
    y[rng.rand(n_samples, n_tasks) < missing_rate] = np.nan
    return y


def _classes_per_fold(cv, y):
    """For each fold, whether every (task, class) with at least n_splits labels is in its test set."""
    covered = []
    for _, test in cv.split(np.zeros((len(y), 1)), y):
        fold_ok = True
        for task in range(y.shape[1]):
            values, counts = np.unique(y[~np.isnan(y[:, task]), task], return_counts=True)
            present = set(y[test, task][~np.isnan(y[test, task])])
            fold_ok &= all(v in present for v, c in zip(values, counts, strict=True) if c >= cv.get_n_splits())
        covered.append(fold_ok)
    return covered


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_splits=st.integers(2, 5), shuffle=st.booleans())
def test_folds_partition_the_rows_with_balanced_sizes(seed, n_splits, shuffle):
    y = _sparse_labels(seed)
    cv = MultiTaskStratifiedKFold(n_splits, shuffle=shuffle, random_state=seed if shuffle else None)
    tests = [test for _, test in cv.split(np.zeros((60, 2)), y)]
    assert len(tests) == n_splits
    np.testing.assert_array_equal(np.sort(np.concatenate(tests)), np.arange(60))
    for train, test in cv.split(np.zeros((60, 2)), y):
        assert not np.intersect1d(train, test).size and len(train) + len(test) == 60
    # no fold grows beyond its share, rounded up
    assert max(len(test) for test in tests) <= -(-60 // n_splits)


def test_every_fold_gets_the_rare_classes_that_kfold_misses():
    y = _sparse_labels(0, n_samples=100, n_tasks=5, positive_rate=0.08)
    y = y[np.argsort(np.nansum(y, axis=1), kind="stable")]  # labelled positives last, as in sorted data
    assert all(_classes_per_fold(MultiTaskStratifiedKFold(5), y))
    assert all(_classes_per_fold(MultiTaskStratifiedKFold(5, shuffle=True, random_state=0), y))
    assert not all(_classes_per_fold(KFold(5), y))


def test_rows_without_any_label_are_spread_and_deterministic():
    y = np.full((12, 2), np.nan)
    y[:6] = [[0, 1], [1, 0], [0, 0], [1, 1], [0, 1], [1, 0]]
    cv = MultiTaskStratifiedKFold(3)
    first = [test.tolist() for _, test in cv.split(y, y)]
    assert first == [test.tolist() for _, test in cv.split(y, y)]
    assert [len(test) for test in first] == [4, 4, 4]
    shuffled = MultiTaskStratifiedKFold(3, shuffle=True, random_state=1)
    assert [t.tolist() for _, t in shuffled.split(y, y)] == [t.tolist() for _, t in shuffled.split(y, y)]


def test_one_dimensional_strings_markers_and_pandas():
    pd = pytest.importorskip("pandas")
    y_strings = np.array(["a", "b", None, "a", "b", "a", "b", None, "a", "b"], dtype=object)
    for _, test in MultiTaskStratifiedKFold(2).split(np.zeros((10, 1)), y_strings):
        assert set(y_strings[test]) >= {"a", "b"}
    y_marker = np.array([[0, 1], [1, -1], [0, 0], [1, 1], [-1, 0], [1, 0]])
    marker_folds = [t.tolist() for _, t in MultiTaskStratifiedKFold(2, missing_label=-1).split(y_marker, y_marker)]
    nan_folds = [
        t.tolist() for _, t in MultiTaskStratifiedKFold(2).split(y_marker, np.where(y_marker < 0, np.nan, y_marker))
    ]
    assert marker_folds == nan_folds
    frame = pd.DataFrame({"t0": pd.array([0, 1, None, 1, 0, 1], dtype="Int64"), "t1": ["x", "y", "x", None, "y", "x"]})
    assert len(list(MultiTaskStratifiedKFold(2).split(frame, frame))) == 2


def test_parameter_and_target_errors():
    X, y = np.zeros((6, 1)), np.array([0, 1, 0, 1, 0, 1])
    with pytest.raises(ValueError, match="n_splits must be"):
        list(MultiTaskStratifiedKFold(1).split(X, y))
    with pytest.raises(ValueError, match="random_state has no effect"):
        list(MultiTaskStratifiedKFold(2, random_state=0).split(X, y))
    with pytest.raises(ValueError, match="needs y"):
        list(MultiTaskStratifiedKFold(2).split(X, None))
    with pytest.raises(ValueError, match="greater than the number of samples"):
        list(MultiTaskStratifiedKFold(7).split(X, y))
    with pytest.raises(ValueError, match=r"task 0 is 'continuous'.*KFold"):
        list(MultiTaskStratifiedKFold(2).split(X, np.linspace(0, 1, 6)))
    assert MultiTaskStratifiedKFold(4).get_n_splits(X, y) == 4
    assert repr(MultiTaskStratifiedKFold(3)).startswith("MultiTaskStratifiedKFold(")
