"""Labels at the door: every form of y becomes one compact table, and one dataset trains on it.

Properties of the one path: the same labels given in any form (array, DataFrame, object array,
sparse matrix, long table, with a marker) are the same compact labels and fit the same model;
dense blocks and labelled pairs, which the labels' density chooses between, train the same model.
"""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskEstimator, MaskedMultiTaskRegressor, labels_from_long
from sklearn_mtl import _engine as engine
from sklearn_mtl._fit_labels import labels_at_door

SMALL = dict(hidden_layer_sizes=(8,), max_iter=3, learning_rate_init=0.01, random_state=0)
FAST = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])

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


def _forms(y):
    """The same labels (NaN = missing) in each form a user may give them, with its missing_label."""
    rows, tasks = np.nonzero(~np.isnan(y))
    marked = np.where(np.isnan(y), -1, y).astype(int)
    as_objects = np.where(np.isnan(y), None, y).astype(object)
    return {
        "array": (y, np.nan),
        "frame": (pd.DataFrame(y), np.nan),
        "objects": (as_objects, np.nan),
        "marker": (marked, -1),
        "sparse": (sp.csr_matrix((y[rows, tasks], (rows, tasks)), shape=y.shape), np.nan),
        "long table": (labels_from_long(rows, tasks, y[rows, tasks], shape=y.shape), np.nan),
    }


@st.composite
def label_tables(draw):
    seed = draw(st.integers(0, 2**16))
    rng = np.random.RandomState(seed)
    n_rows, n_tasks = draw(st.integers(5, 40)), draw(st.integers(1, 6))
    y = rng.randint(0, 3, size=(n_rows, n_tasks)).astype(float)
    y[rng.rand(n_rows, n_tasks) < draw(st.floats(0.0, 0.97))] = np.nan
    weights = None if draw(st.booleans()) else rng.choice([0.0, 0.5, 1.0, 2.0], size=n_rows)
    return y, weights


@FAST
@given(label_tables())
def test_every_form_of_y_is_the_same_compact_labels(table):
    y, sample_weight = table
    X = np.zeros((len(y), 1))
    keep = ~np.isnan(y) & ((sample_weight if sample_weight is not None else np.ones(len(y))) > 0)[:, None]
    rows, tasks = np.nonzero(keep)
    for form, (given_y, missing_label) in _forms(y).items():
        labels, _, _, _ = labels_at_door(X, given_y, sample_weight, missing_label)
        assert labels.shape == y.shape, form
        np.testing.assert_array_equal(labels.rows, rows, err_msg=form)
        np.testing.assert_array_equal(labels.tasks, tasks, err_msg=form)
        np.testing.assert_array_equal(labels.values.astype(float), y[rows, tasks], err_msg=form)
        expected_weights = np.ones(len(rows)) if sample_weight is None else sample_weight[rows]
        np.testing.assert_array_equal(labels.weights, expected_weights, err_msg=form)
        for task, positions in enumerate(labels.by_task_):
            assert (labels.tasks[positions] == task).all() and len(positions) == keep[:, task].sum()


def test_a_2d_sample_weight_weighs_each_label_and_drops_those_of_weight_0():
    y = np.array([[1.0, np.nan], [0.0, 1.0], [np.nan, 0.0]])
    weights = np.array([[2.0, 5.0], [0.0, 3.0], [1.0, 0.5]])
    labels, _, _, _ = labels_at_door(np.zeros((3, 1)), y, weights, np.nan)
    assert list(zip(labels.rows, labels.tasks, labels.weights, strict=True)) == [(0, 0, 2.0), (1, 1, 3.0), (2, 1, 0.5)]
    assert (labels.row_weights == 1).all()


@pytest.mark.parametrize("density", [0.05, 0.5], ids=["pairs", "dense blocks"])
def test_every_form_of_y_fits_the_same_model(density, monkeypatch):
    X, y = _sparse_labels(n_tasks=6, observed=density)
    forms = _forms(y)
    made = []
    original = engine.make_dataset

    def spy(*args, **kwargs):
        dataset = original(*args, **kwargs)
        made.append(dataset.pairs)
        return dataset

    monkeypatch.setattr(engine, "make_dataset", spy)
    reference = MaskedMultiTaskClassifier(**SMALL).fit(X, y)
    expected = np.hstack(reference.predict_proba(X))
    for form, (given_y, missing_label) in forms.items():
        fitted = MaskedMultiTaskClassifier(**SMALL, missing_label=missing_label).fit(X, given_y)
        np.testing.assert_allclose(np.hstack(fitted.predict_proba(X)), expected, rtol=1e-6, atol=1e-7, err_msg=form)
    # the form follows the labels' density, not the form y came in
    assert set(made) == {density < 0.1}


def test_a_marker_keeps_the_classes_type():
    X, y = _sparse_labels()
    marked = np.where(np.isnan(y), -1, y).astype(int)
    clf = MaskedMultiTaskClassifier(**SMALL, missing_label=-1).fit(X, marked)
    assert clf.classes_[0].dtype.kind == "i" and clf.predict(X).dtype.kind == "i"


@pytest.mark.parametrize("estimator", [MaskedMultiTaskClassifier, MaskedMultiTaskRegressor, MaskedMultiTaskEstimator])
def test_pairs_and_dense_blocks_train_the_same_model(estimator, monkeypatch):
    X, y = _sparse_labels(n_tasks=6, observed=0.3)
    if estimator is not MaskedMultiTaskClassifier:
        y[:, 3:] = X[:, :3] + np.where(np.isnan(y[:, 3:]), np.nan, 0.0)
    if estimator is MaskedMultiTaskRegressor:
        y[:, :3] = X[:, 2:5] + np.where(np.isnan(y[:, :3]), np.nan, 0.0)
    weights = np.random.RandomState(1).uniform(0.5, 2, size=len(X))
    params = dict(SMALL, dtype="float64", sampling="task_balanced")
    blocks = estimator(**params).fit(X, y, sample_weight=weights)
    monkeypatch.setattr(engine, "_DENSE_BLOCK_MIN_DENSITY", 1.0)
    pairs = estimator(**params).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(pairs.loss_curve_, blocks.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(pairs.predict(X), blocks.predict(X), rtol=1e-9, atol=1e-12)


def test_a_mostly_empty_dataframe_keeps_what_the_user_sees():
    X, y = _sparse_labels()
    frame = pd.DataFrame(y, columns=[f"assay {t}" for t in range(y.shape[1])])
    clf = MaskedMultiTaskClassifier(**SMALL).fit(X, frame)
    assert list(clf.task_names_) == list(frame.columns)
    assert clf.predict(X).shape == y.shape and clf.score(X, frame) == clf.score(X, y)


def test_an_infinite_label_in_a_mostly_empty_y_is_named():
    X, y = _sparse_labels()
    rows, tasks = np.nonzero(~np.isnan(y))
    y[rows[0], tasks[0]] = np.inf
    with pytest.raises(ValueError, match=f"infinity .* task {tasks[0]}"):
        MaskedMultiTaskClassifier(**SMALL).fit(X, y)
