"""Invariants, as property tests: what is stored at a masked position never matters, tasks are
interchangeable, probabilities are distributions, and metrics see observed entries only."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskEstimator, MaskedMultiTaskRegressor
from sklearn_mtl.metrics import masked_accuracy_score, masked_r2_score

FAST = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TINY = dict(hidden_layer_sizes=(6,), max_iter=3, batch_size=16, learning_rate_init=0.05, random_state=0)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@st.composite
def masked_problems(draw, max_classes=3):
    seed = draw(st.integers(0, 2**16))
    n_tasks = draw(st.integers(1, 3))
    n_rows = draw(st.integers(12, 30))
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, 3))
    classes = [draw(st.integers(2, max_classes)) for _ in range(n_tasks)]
    y = np.column_stack([rng.randint(k, size=n_rows) for k in classes]).astype(float)
    missing = rng.rand(n_rows, n_tasks) < draw(st.floats(0.0, 0.6))
    missing[0] = False  # every task keeps at least one label
    missing[1] = False
    return X, y, missing


@FAST
@given(problem=masked_problems(), marker=st.sampled_from([-1.0, 99.0, None]), garbage=st.integers(-5, 5))
def test_value_at_a_masked_position_never_changes_the_model(problem, marker, garbage):
    X, y, missing = problem
    with_nan = np.where(missing, np.nan, y)
    reference = MaskedMultiTaskClassifier(**TINY).fit(X, with_nan).predict_proba(X)
    if marker is None:  # None in an object array
        marked = with_nan.astype(object)
        marked[missing] = None
        other = MaskedMultiTaskClassifier(**TINY).fit(X, marked)
    else:
        other = MaskedMultiTaskClassifier(**TINY, missing_label=marker).fit(X, np.where(missing, marker, y))
    # a label of weight 0 is missing too, whatever garbage it holds
    weights = np.where(missing, 0.0, 1.0)
    zero_weighted = MaskedMultiTaskClassifier(**TINY).fit(X, np.where(missing, garbage % 2, y), sample_weight=weights)
    for expected, a, b in zip(reference, other.predict_proba(X), zero_weighted.predict_proba(X), strict=True):
        np.testing.assert_array_equal(expected, a)
        np.testing.assert_array_equal(expected, b)


@FAST
@given(problem=masked_problems(), data=st.data())
def test_permuting_tasks_permutes_the_outputs(problem, data):
    X, y, missing = problem
    y = np.where(missing, np.nan, y)
    order = data.draw(st.permutations(range(y.shape[1])))
    params = {**TINY, "dtype": "float64"}  # float64: sums over tasks in another order round alike
    original = MaskedMultiTaskClassifier(**params).fit(X, y)
    permuted = MaskedMultiTaskClassifier(**params).fit(X, y[:, order])
    np.testing.assert_array_equal(permuted.predict(X), original.predict(X)[:, order])
    for new_task, old_task in enumerate(order):
        np.testing.assert_allclose(permuted.predict_proba(X)[new_task], original.predict_proba(X)[old_task], rtol=1e-9)


@FAST
@given(problem=masked_problems(max_classes=4))
def test_probabilities_are_distributions_and_predict_is_their_argmax(problem):
    X, y, missing = problem
    clf = MaskedMultiTaskClassifier(**TINY).fit(X, np.where(missing, np.nan, y))
    predictions = clf.predict(X)
    for task, probabilities in enumerate(clf.predict_proba(X)):
        assert probabilities.shape == (len(X), len(clf.classes_[task]))
        assert np.all(probabilities >= 0) and np.all(probabilities <= 1)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
        np.testing.assert_array_equal(clf.classes_[task][probabilities.argmax(axis=1)], predictions[:, task])


@FAST
@given(problem=masked_problems(), marker=st.sampled_from([-1.0, 1e6]))
def test_regressor_ignores_what_is_stored_at_masked_positions(problem, marker):
    X, y, missing = problem
    targets = y + X[:, :1]
    a = MaskedMultiTaskRegressor(**TINY).fit(X, np.where(missing, np.nan, targets)).predict(X)
    b = MaskedMultiTaskRegressor(**TINY, missing_label=marker).fit(X, np.where(missing, marker, targets)).predict(X)
    np.testing.assert_array_equal(a, b)


def _mixed(y, X, missing):
    """Odd tasks become regression targets (continuous values), even ones keep their classes."""
    mixed = y.copy()
    mixed[:, 1::2] = y[:, 1::2] + X[:, :1] + 0.5
    return np.where(missing, np.nan, mixed)


@FAST
@given(problem=masked_problems(), marker=st.sampled_from([-1.0, 1e6]))
def test_mixed_model_ignores_what_is_stored_at_masked_positions(problem, marker):
    X, y, missing = problem
    y = _mixed(y, X, missing)
    kinds = ["classification" if task % 2 == 0 else "regression" for task in range(y.shape[1])]
    a = MaskedMultiTaskEstimator(**TINY, task_types=kinds).fit(X, y)
    b = MaskedMultiTaskEstimator(**TINY, task_types=kinds, missing_label=marker).fit(X, np.where(missing, marker, y))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


@FAST
@given(problem=masked_problems(), data=st.data())
def test_permuting_mixed_tasks_permutes_the_outputs(problem, data):
    X, y, missing = problem
    y = _mixed(y, X, missing)
    kinds = np.array(["classification" if task % 2 == 0 else "regression" for task in range(y.shape[1])])
    order = data.draw(st.permutations(range(y.shape[1])))
    params = {**TINY, "dtype": "float64"}
    original = MaskedMultiTaskEstimator(**params, task_types=list(kinds)).fit(X, y)
    permuted = MaskedMultiTaskEstimator(**params, task_types=list(kinds[order])).fit(X, y[:, order])
    np.testing.assert_allclose(permuted.predict(X), original.predict(X)[:, order], rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    garbage=st.sampled_from([np.nan, -1.0, 1e9, 3.0]),
)
def test_metrics_see_only_observed_entries_whatever_the_rest_holds(seed, garbage):
    rng = np.random.RandomState(seed)
    truth = rng.randint(3, size=(25, 3)).astype(float)
    predicted = rng.randint(3, size=(25, 3)).astype(float)
    missing = rng.rand(25, 3) < 0.4
    missing[:2] = False
    y_true = np.where(missing, np.nan, truth)
    other_predictions = np.where(missing, garbage, predicted)
    scores = masked_accuracy_score(y_true, predicted, average=None)
    np.testing.assert_array_equal(scores, masked_accuracy_score(y_true, other_predictions, average=None))
    for task in range(3):
        observed = ~missing[:, task]
        assert scores[task] == accuracy_score(truth[observed, task], predicted[observed, task])
    marker_scores = masked_r2_score(np.where(missing, -1.0, truth), predicted, average=None, missing_label=-1.0)
    for task in range(3):
        observed = ~missing[:, task]
        assert marker_scores[task] == pytest.approx(r2_score(truth[observed, task], predicted[observed, task]))
