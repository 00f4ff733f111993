"""Labels at the door: a mostly-empty dense y is taken in as its labels only."""

import numpy as np
import pandas as pd
import pytest

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskRegressor, labels_from_long
from sklearn_mtl import _engine as engine
from sklearn_mtl import _fit_labels as fit_labels

SMALL = dict(hidden_layer_sizes=(8,), max_iter=3, learning_rate_init=0.01, random_state=0)

# short fits, on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _sparse_labels(n_rows=400, n_tasks=30, observed=0.05, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, 5))
    rows, tasks = np.nonzero(rng.rand(n_rows, n_tasks) < observed)
    values = (X[rows, tasks % 5] + rng.normal(size=len(rows)) > 0).astype(float)
    y = np.full((n_rows, n_tasks), np.nan)
    y[rows, tasks] = values
    return X, y


@pytest.fixture
def dataset_kinds(monkeypatch):
    made = []
    for name in ("make_dataset", "make_compact_dataset"):
        original = getattr(engine, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            made.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(engine, name, spy)
    return made


def test_a_mostly_empty_dense_y_fits_the_model_of_its_labels_given_sparse(dataset_kinds):
    X, y = _sparse_labels()
    frame = pd.DataFrame(y, columns=[f"assay {t}" for t in range(y.shape[1])])
    dense = MaskedMultiTaskClassifier(**SMALL).fit(X, frame)
    assert dataset_kinds == ["make_compact_dataset"]
    rows, tasks = np.nonzero(~np.isnan(y))
    sparse = MaskedMultiTaskClassifier(**SMALL).fit(X, labels_from_long(rows, tasks, y[rows, tasks], shape=y.shape))
    np.testing.assert_array_equal(np.hstack(dense.predict_proba(X)), np.hstack(sparse.predict_proba(X)))
    # what the user sees follows the y given: task names, the 2-D predictions of a DataFrame y
    assert list(dense.task_names_) == list(frame.columns)
    assert dense.predict(X).shape == y.shape and dense.score(X, frame) == sparse.score(X, y)


def test_the_compact_door_and_the_dense_one_fit_the_same_model(monkeypatch):
    X, y = _sparse_labels(n_tasks=6, observed=0.08)
    y = np.column_stack([y[:, :3], X[:, :3] + np.where(np.isnan(y[:, 3:]), np.nan, 0.0)])
    compact = MaskedMultiTaskRegressor(**SMALL).fit(X, y).predict(X)
    monkeypatch.setattr(fit_labels, "_COMPACT_MAX_OBSERVED", 0.0)
    dense = MaskedMultiTaskRegressor(**SMALL).fit(X, y).predict(X)
    np.testing.assert_allclose(compact, dense, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "case",
    ["mostly labelled", "integer labels with a marker", "2-D sample_weight", "1-D y"],
)
def test_other_ys_keep_the_dense_door(case, dataset_kinds):
    X, y = _sparse_labels()
    kwargs, fit_kwargs = {}, {}
    if case == "mostly labelled":
        y = np.where(np.isnan(y), 0.0, y)
    elif case == "integer labels with a marker":
        y = np.where(np.isnan(y), -1, y).astype(int)
        kwargs["missing_label"] = -1
    elif case == "2-D sample_weight":
        fit_kwargs["sample_weight"] = np.ones(y.shape)
    else:
        y = y[:, 0]
    clf = MaskedMultiTaskClassifier(**SMALL, **kwargs).fit(X, y, **fit_kwargs)
    assert dataset_kinds == ["make_dataset"]
    if case == "integer labels with a marker":
        assert clf.classes_[0].dtype.kind == "i" and clf.predict(X).dtype.kind == "i"


def test_an_infinite_label_in_a_mostly_empty_y_is_still_named():
    X, y = _sparse_labels()
    rows, tasks = np.nonzero(~np.isnan(y))
    y[rows[0], tasks[0]] = np.inf
    with pytest.raises(ValueError, match=f"task {tasks[0]}"):
        MaskedMultiTaskClassifier(**SMALL).fit(X, y)
    finite = np.where(np.isinf(y), 1.0, y)
    assert fit_labels.compact_if_mostly_missing(X, finite, False, None, np.nan) is not None
