"""Split conformal prediction per task, with missing labels: coverage, the finite-sample quantile, errors."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskEstimator, MaskedMultiTaskRegressor
from sklearn_mtl.conformal import MultiTaskConformalClassifier, MultiTaskConformalRegressor, conformal_quantile

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
SMALL = dict(hidden_layer_sizes=(16,), max_iter=30, random_state=0)


def _regression(n_rows=3000, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, 4))
    noise = rng.normal(size=(n_rows, 3)) * [0.2, 1.0, 0.5]
    y = np.column_stack([X[:, 0], X[:, 1] * X[:, 2], np.sin(X[:, 3])]) + noise
    y[rng.rand(*y.shape) < [0.2, 0.5, 0.8]] = np.nan  # each task its own share of missing labels
    return X, y


def _classification(n_rows=3000, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, 4))
    noise = rng.normal(size=(n_rows, 2))
    y = np.column_stack([X[:, 0] + noise[:, 0] > 0, np.digitize(X[:, 1] + 0.5 * noise[:, 1], [-0.5, 0.5])]).astype(
        float
    )
    y[rng.rand(*y.shape) < [0.3, 0.6]] = np.nan
    return X, y


@pytest.fixture(scope="module")
def regressor():
    X, y = _regression()
    return X, y, MaskedMultiTaskRegressor(**SMALL).fit(X[:1000], y[:1000])


def test_the_quantile_is_the_finite_sample_one():
    scores = np.arange(1.0, 20.0)  # n = 19: level 0.9 takes the ceil(20 * 0.9) = 18th smallest
    assert conformal_quantile(scores, 0.9) == 18.0
    assert conformal_quantile(np.random.RandomState(0).permutation(scores), 0.9) == 18.0
    assert np.isinf(conformal_quantile(scores[:8], 0.9))  # ceil(9 * 0.9) = 9 > 8


@pytest.mark.parametrize("level", [0.8, 0.9])
def test_each_regression_tasks_intervals_cover_its_held_out_targets(regressor, level):
    X, y, reg = regressor
    conformal = MultiTaskConformalRegressor(reg, confidence_level=level).conformalize(X[1000:2000], y[1000:2000])
    y_pred, intervals = conformal.predict_interval(X[2000:])
    assert y_pred.shape == (1000, 3) and intervals.shape == (1000, 3, 2)
    np.testing.assert_allclose(y_pred, reg.predict(X[2000:]))
    for task in range(3):
        rows = ~np.isnan(y[2000:, task])
        covered = (intervals[rows, task, 0] <= y[2000:][rows, task]) & (
            y[2000:][rows, task] <= intervals[rows, task, 1]
        )
        # marginal coverage >= level; with a few hundred test labels, within 3 standard errors below
        assert covered.mean() >= level - 3 * np.sqrt(level * (1 - level) / rows.sum()), task
    # each task's half-width is its own: the noisiest task gets the widest intervals
    assert np.argmax(conformal.conformity_scores_quantile_) == 1
    assert list(conformal.n_conformalize_) == list((~np.isnan(y[1000:2000])).sum(axis=0))


def test_normalized_intervals_cover_and_widen_where_the_members_disagree():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(3000, 2))
    # the noise grows with |x0|: a good uncertainty follows it
    y = np.column_stack([X[:, 0] + 0.1 * (1 + 3 * np.abs(X[:, 0])) * rng.normal(size=3000), X[:, 1]])
    y[rng.rand(*y.shape) < 0.3] = np.nan
    reg = MaskedMultiTaskRegressor(ensemble_size=5, **SMALL).fit(X[:1000], y[:1000])
    conformal = MultiTaskConformalRegressor(reg, conformity_score="normalized")
    y_pred, intervals = conformal.conformalize(X[1000:2000], y[1000:2000]).predict_interval(X[2000:])
    np.testing.assert_allclose(y_pred, reg.predict(X[2000:]))
    _, std = reg.predict(X[2000:], return_std=True)
    np.testing.assert_allclose(intervals[:, :, 1] - y_pred, conformal.conformity_scores_quantile_ * std)
    for task in range(2):
        rows = ~np.isnan(y[2000:, task])
        truth = y[2000:][rows, task]
        covered = (intervals[rows, task, 0] <= truth) & (truth <= intervals[rows, task, 1])
        assert covered.mean() >= 0.9 - 3 * np.sqrt(0.09 / rows.sum()), task
    widths = intervals[:, 0, 1] - intervals[:, 0, 0]
    assert len(np.unique(widths)) > 100  # one width per row, not one per task


def test_a_task_with_too_few_labels_gets_infinite_intervals_and_a_warning(regressor):
    X, y, reg = regressor
    few = y[1000:2000].copy()
    few[20:, 2] = np.nan
    with pytest.warns(UserWarning, match="task 2 has .* observed labels .* needs at least 9"):
        conformal = MultiTaskConformalRegressor(reg).conformalize(X[1000:2000], few)
    _, intervals = conformal.predict_interval(X[:3])
    assert np.isinf(intervals[:, 2]).all() and np.isfinite(intervals[:, :2]).all()


def test_each_classification_tasks_sets_cover_its_held_out_labels():
    X, y = _classification()
    clf = MaskedMultiTaskClassifier(**SMALL).fit(X[:1000], y[:1000])
    conformal = MultiTaskConformalClassifier(clf, confidence_level=0.9).conformalize(X[1000:2000], y[1000:2000])
    y_pred, sets = conformal.predict_set(X[2000:])
    assert y_pred.shape == (1000, 2) and [s.shape for s in sets] == [(1000, 2), (1000, 3)]
    for task, task_sets in enumerate(sets):
        rows = ~np.isnan(y[2000:, task])
        truth = y[2000:][rows, task].astype(int)
        covered = task_sets[rows][np.arange(rows.sum()), truth]
        assert covered.mean() >= 0.9 - 3 * np.sqrt(0.09 / rows.sum()), task
        assert task_sets.sum(axis=1).mean() < task_sets.shape[1]  # the sets say something


def test_prefit_false_fits_a_clone_and_the_mixed_estimator_gives_each_wrapper_its_tasks():
    X, y = _regression(n_rows=900)
    mixed = y.astype(object)
    mixed[:, 0] = np.where(np.isnan(y[:, 0]), None, np.where(y[:, 0] > 0, "up", "down"))
    est = MaskedMultiTaskEstimator(**SMALL)
    regression = MultiTaskConformalRegressor(est, prefit=False).fit(X[:300], mixed[:300])
    assert regression.estimator_ is not est and not hasattr(est, "tasks_")
    regression.conformalize(X[300:600], mixed[300:600])
    _, intervals = regression.predict_interval(X[600:])
    assert np.isnan(intervals[:, 0]).all() and np.isfinite(intervals[:, 1:]).all()
    classification = MultiTaskConformalClassifier(regression.estimator_).conformalize(X[300:600], mixed[300:600])
    y_pred, sets = classification.predict_set(X[600:])
    assert sets[1] is None and sets[2] is None and sets[0].shape == (300, 2)
    assert set(y_pred[:, 0]) <= {"up", "down"}


def test_bad_use_is_a_clear_error(regressor):
    X, y, reg = regressor
    with pytest.raises(NotFittedError, match="prefit=True takes a fitted estimator"):
        MultiTaskConformalRegressor(MaskedMultiTaskRegressor()).conformalize(X[:10], y[:10])
    with pytest.raises(ValueError, match="skip fit and call conformalize"):
        MultiTaskConformalRegressor(reg).fit(X[:10], y[:10])
    with pytest.raises(NotFittedError):
        MultiTaskConformalRegressor(reg).predict_interval(X[:3])
    with pytest.raises(ValueError, match="confidence_level must be a float strictly between 0 and 1"):
        MultiTaskConformalRegressor(reg, confidence_level=90).conformalize(X[:10], y[:10])
    with pytest.raises(ValueError, match="conformity_score must be 'absolute' or 'normalized'; got 'gamma'"):
        MultiTaskConformalRegressor(reg, conformity_score="gamma").conformalize(X[:10], y[:10])
    with pytest.raises(ValueError, match="'normalized' scales each error by the model's std.*ensemble_size=5"):
        MultiTaskConformalRegressor(reg, conformity_score="normalized").conformalize(X[:10], y[:10])
    with pytest.raises(ValueError, match="needs classification tasks; the model has none"):
        MultiTaskConformalClassifier(reg).conformalize(X[:10], y[:10])
    with pytest.raises(ValueError, match="y has 2 tasks, but the model has 3"):
        MultiTaskConformalRegressor(reg).conformalize(X[:10], y[:10, :2])
