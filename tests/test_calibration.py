"""Per-task calibration with missing labels: each task on its own observed labels, in scikit-learn's idiom."""

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import log_loss
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskEstimator, MaskedMultiTaskRegressor
from sklearn_mtl.calibration import MultiTaskCalibratedClassifierCV

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
SMALL = dict(hidden_layer_sizes=(16,), max_iter=20, random_state=0)


def _problem(n_rows=900, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, 6))
    noise = rng.normal(size=(n_rows, 3))
    y = np.column_stack(
        [
            X[:, 0] + 0.7 * noise[:, 0] > 0,
            X[:, 1] + X[:, 2] + 0.5 * noise[:, 1] > 0,
            np.digitize(X[:, 3] + 0.5 * noise[:, 2], [-0.5, 0.5]),
        ]
    ).astype(float)
    y[rng.rand(*y.shape) < 0.3] = np.nan
    return X, y


@pytest.fixture(scope="module")
def overconfident():
    """A model trained to overfit 300 rows (no penalty, many epochs): its probabilities are too sure."""
    X, y = _problem()
    params = dict(hidden_layer_sizes=(64,), max_iter=150, alpha=0.0, learning_rate_schedule="constant")
    clf = MaskedMultiTaskClassifier(**params, early_stopping=False, random_state=0).fit(X[:300], y[:300])
    return X, y, clf


def _log_losses(model, X, y):
    losses = []
    for task, p in enumerate(model.predict_proba(X)):
        rows = ~np.isnan(y[:, task])
        losses.append(log_loss(y[rows, task], p[rows], labels=np.arange(p.shape[1])))
    return np.array(losses)


@pytest.mark.parametrize("method", ["sigmoid", "temperature"])
def test_calibration_on_held_out_labels_lowers_every_tasks_log_loss(overconfident, method):
    X, y, clf = overconfident
    calibrated = MultiTaskCalibratedClassifierCV(FrozenEstimator(clf), method=method).fit(X[300:600], y[300:600])
    before, after = _log_losses(clf, X[600:], y[600:]), _log_losses(calibrated, X[600:], y[600:])
    assert (after < before).all(), (before, after)
    for p in calibrated.predict_proba(X[600:]):
        np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_each_task_is_calibrated_on_its_own_observed_labels_only(overconfident):
    X, y, clf = overconfident
    calibrated = MultiTaskCalibratedClassifierCV(FrozenEstimator(clf)).fit(X[300:600], y[300:600])
    # fewer labels of one task change that task's calibration only
    fewer = y[300:600].copy()
    fewer[::2, 1] = np.nan
    again = MultiTaskCalibratedClassifierCV(FrozenEstimator(clf)).fit(X[300:600], fewer)
    first, second = calibrated.predict_proba(X[600:]), again.predict_proba(X[600:])
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[2], second[2])
    assert not np.allclose(first[1], second[1])


def test_isotonic_of_a_one_task_model_is_scikit_learns(overconfident):
    X, y, _ = overconfident
    rows = ~np.isnan(y[:, 0])
    X1, y1 = X[rows], y[rows, 0]
    clf = MaskedMultiTaskClassifier(**SMALL).fit(X1[:200], y1[:200])
    ours = MultiTaskCalibratedClassifierCV(FrozenEstimator(clf), method="isotonic").fit(X1[200:400], y1[200:400])
    theirs = CalibratedClassifierCV(FrozenEstimator(clf), method="isotonic").fit(X1[200:400], y1[200:400])
    assert ours.predict_proba(X1[400:]).shape == (len(X1) - 400, 2)  # a 1-D y keeps its format
    np.testing.assert_allclose(ours.predict_proba(X1[400:]), theirs.predict_proba(X1[400:]), atol=1e-12)
    np.testing.assert_array_equal(ours.predict(X1[400:]), theirs.predict(X1[400:]))


def test_temperature_keeps_each_tasks_predictions(overconfident):
    X, y, clf = overconfident
    calibrated = MultiTaskCalibratedClassifierCV(FrozenEstimator(clf), method="temperature").fit(X[300:600], y[300:600])
    np.testing.assert_array_equal(calibrated.predict(X[600:]), clf.predict(X[600:]))


@pytest.mark.parametrize("ensemble", [True, False])
def test_an_unfitted_estimator_is_cross_fitted(ensemble):
    X, y = _problem(n_rows=450)
    calibrated = MultiTaskCalibratedClassifierCV(MaskedMultiTaskClassifier(**SMALL), cv=3, ensemble=ensemble)
    calibrated.fit(X[:300], y[:300])
    assert len(calibrated.calibrated_classifiers_) == (3 if ensemble else 1)
    assert [c.tolist() for c in calibrated.classes_] == [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0, 2.0]]
    assert calibrated.predict(X[300:]).shape == (150, 3)
    assert 0.5 < calibrated.score(X[300:], y[300:]) <= 1.0
    # any splitter with split(X, y) serves, and a pipeline ending in the estimator too
    pipeline = make_pipeline(StandardScaler(), MaskedMultiTaskClassifier(**SMALL))
    MultiTaskCalibratedClassifierCV(pipeline, cv=KFold(3)).fit(X[:300], y[:300]).predict_proba(X[:2])


def test_the_mixed_estimators_regression_tasks_pass_through():
    X, y = _problem(n_rows=450)
    mixed = y.astype(object)
    mixed[:, 1] = np.where(np.isnan(y[:, 1]), None, X[:, 1] * 3.0)
    est = MaskedMultiTaskEstimator(**SMALL).fit(X[:200], mixed[:200])
    calibrated = MultiTaskCalibratedClassifierCV(FrozenEstimator(est)).fit(X[200:400], mixed[200:400])
    probabilities = calibrated.predict_proba(X[400:])
    assert probabilities[1] is None and probabilities[0].shape == (50, 2) and probabilities[2].shape == (50, 3)
    regression = calibrated.predict(X[400:])[:, 1].astype(float)
    np.testing.assert_allclose(regression, est.predict(X[400:])[:, 1].astype(float))


def test_bad_input_is_a_clear_error():
    X, y = _problem(n_rows=300)
    clf = MaskedMultiTaskClassifier(**SMALL).fit(X[:200], y[:200])
    empty = y[200:].copy()
    empty[:, 2] = np.nan
    with pytest.raises(ValueError, match="task 2 has 0 observed labels .* give calibration data with labels"):
        MultiTaskCalibratedClassifierCV(FrozenEstimator(clf)).fit(X[200:], empty)
    with pytest.raises(ValueError, match="method must be one of"):
        MultiTaskCalibratedClassifierCV(FrozenEstimator(clf), method="beta").fit(X[200:], y[200:])
    with pytest.raises(ValueError, match="y has 2 tasks, but the model has 3"):
        MultiTaskCalibratedClassifierCV(FrozenEstimator(clf)).fit(X[200:], y[200:, :2])
    unseen = y[200:].copy()
    unseen[0, 0] = 7.0
    with pytest.raises(ValueError, match="task 0 has labels \\[7.0\\] that are not among its classes"):
        MultiTaskCalibratedClassifierCV(FrozenEstimator(clf)).fit(X[200:], unseen)
    reg = MaskedMultiTaskRegressor(**SMALL).fit(X[:200], np.nan_to_num(y[:200]))
    with pytest.raises(ValueError, match="no classification task"):
        MultiTaskCalibratedClassifierCV(FrozenEstimator(reg)).fit(X[200:], y[200:])


def test_the_display_draws_each_binary_tasks_curve_on_its_observed_labels(overconfident):
    import matplotlib

    matplotlib.use("Agg")
    from sklearn.calibration import calibration_curve

    from sklearn_mtl.calibration import MultiTaskCalibrationDisplay

    X, y, clf = overconfident
    display = MultiTaskCalibrationDisplay.from_estimator(clf, X[600:], y[600:], n_bins=4)
    assert len(display.lines_) == 2 and display.task_names == ["task 0", "task 1"]  # task 2 has 3 classes
    rows = ~np.isnan(y[600:, 1])
    truth, predicted = calibration_curve(y[600:][rows, 1], clf.predict_proba(X[600:])[1][rows, 1], n_bins=4)
    np.testing.assert_allclose(display.lines_[1].get_xdata(), predicted)
    np.testing.assert_allclose(display.lines_[1].get_ydata(), truth)
    calibrated = MultiTaskCalibratedClassifierCV(FrozenEstimator(clf)).fit(X[300:600], y[300:600])
    again = MultiTaskCalibrationDisplay.from_estimator(calibrated, X[600:], y[600:], name="sigmoid", ax=display.ax_)
    assert again.figure_ is display.figure_
    with pytest.raises(ValueError, match="at least one panel per task"):
        MultiTaskCalibrationDisplay.from_estimator(clf, X[600:], y[600:], ax=display.ax_.ravel()[:1])
    reg = MaskedMultiTaskRegressor(**SMALL).fit(X[:200], np.nan_to_num(y[:200]))
    with pytest.raises(ValueError, match="no classification task"):
        MultiTaskCalibrationDisplay.from_estimator(reg, X[:50], y[:50])
