"""Bad input to the uncertainty surfaces (calibration, conformal prediction, an ensemble's std, the
calibration Display) gets a clear error of the package's own, naming the task, as bad input to fit does;
and the Display takes probabilities in scikit-learn's own format (the positive class's column)."""

import matplotlib
import numpy as np
import pytest
from sklearn.calibration import CalibrationDisplay
from sklearn.frozen import FrozenEstimator

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskEstimator, MaskedMultiTaskRegressor
from sklearn_mtl.calibration import MultiTaskCalibratedClassifierCV, MultiTaskCalibrationDisplay
from sklearn_mtl.conformal import MultiTaskConformalClassifier, MultiTaskConformalRegressor

matplotlib.use("Agg")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
SMALL = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    y_reg = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]]) + 0.1 * rng.normal(size=(200, 2))
    y_clf = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(float)
    for y in (y_reg, y_clf):
        y[rng.rand(*y.shape) < 0.2] = np.nan
    return X, y_reg, y_clf


@pytest.fixture(scope="module")
def regressor(data):
    X, y_reg, _ = data
    return MaskedMultiTaskRegressor(**SMALL).fit(X[:100], y_reg[:100])


@pytest.fixture(scope="module")
def ensemble(data):
    X, y_reg, _ = data
    return MaskedMultiTaskRegressor(**SMALL, ensemble_size=2).fit(X[:100], y_reg[:100])


@pytest.fixture(scope="module")
def classifier(data):
    X, _, y_clf = data
    return MaskedMultiTaskClassifier(**SMALL).fit(X[:100], y_clf[:100])


def _with(y, row, task, value):
    y = y.astype(object) if isinstance(value, str) else y.copy()
    y[row, task] = value
    return y


# -- conformal prediction ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_conformalize_rejects_a_non_finite_target(data, regressor, value):
    X, y_reg, _ = data
    with pytest.raises(ValueError, match="infinity .* in task 1"):
        MultiTaskConformalRegressor(regressor).conformalize(X[100:], _with(y_reg[100:], 3, 1, value))


def test_conformalize_rejects_non_numeric_targets(data, regressor):
    X, y_reg, _ = data
    words = y_reg[100:].astype(object)
    words[:, 0] = np.where(np.isnan(y_reg[100:, 0]), None, "high")
    with pytest.raises(ValueError, match="task 0 has non-numeric targets"):
        MultiTaskConformalRegressor(regressor).conformalize(X[100:], words)
    with pytest.raises(TypeError, match="task 0 mixes numbers and strings"):
        MultiTaskConformalRegressor(regressor).conformalize(X[100:], _with(y_reg[100:], 0, 0, "high"))


def test_conformalize_rejects_a_label_outside_the_classes(data, classifier):
    X, _, y_clf = data
    with pytest.raises(ValueError, match="task 1 has labels \\[7.0\\] that are not among its classes"):
        MultiTaskConformalClassifier(classifier).conformalize(X[100:], _with(y_clf[100:], 5, 1, 7.0))
    with pytest.raises(ValueError, match="infinity .* in task 1"):
        MultiTaskConformalClassifier(classifier).conformalize(X[100:], _with(y_clf[100:], 5, 1, np.inf))


@pytest.mark.parametrize(
    "make_X, make_y, match",
    [
        (lambda X: X[:50], lambda y: y, "inconsistent numbers of samples"),
        (lambda X: X[:, :3], lambda y: y, "X has 3 features, but MaskedMultiTaskRegressor is expecting 4"),
        (lambda X: X, lambda y: y[:, :1], "y has 1 tasks, but the model has 2"),
        (lambda X: X, lambda y: y[:, :, None], "y must be 1-D .* or 2-D"),
    ],
    ids=["rows", "features", "tasks", "3-D y"],
)
def test_conformalize_rejects_wrong_shapes(data, regressor, make_X, make_y, match):
    X, y_reg, _ = data
    with pytest.raises(ValueError, match=match):
        MultiTaskConformalRegressor(regressor).conformalize(make_X(X[100:]), make_y(y_reg[100:]))


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(confidence_level=np.nan), "confidence_level must be a float strictly between 0 and 1"),
        (dict(confidence_level=True), "confidence_level must be a float strictly between 0 and 1"),
        (dict(confidence_level="0.9"), "confidence_level must be a float strictly between 0 and 1"),
        (dict(prefit="yes"), "prefit must be True or False; got 'yes'"),
    ],
)
def test_conformal_parameters_are_checked(data, regressor, params, match):
    X, y_reg, _ = data
    with pytest.raises(ValueError, match=match):
        MultiTaskConformalRegressor(regressor, **params).conformalize(X[100:], y_reg[100:])
    with pytest.raises(ValueError, match=match):
        MultiTaskConformalClassifier(regressor, **params).conformalize(X[100:], y_reg[100:])


def test_a_failed_conformalize_keeps_the_earlier_quantiles(data, regressor):
    X, y_reg, _ = data
    conformal = MultiTaskConformalRegressor(regressor).conformalize(X[100:], y_reg[100:])
    quantiles = conformal.conformity_scores_quantile_.copy()
    with pytest.raises(ValueError, match="infinity"):
        conformal.conformalize(X[100:], _with(y_reg[100:], 0, 0, np.inf))
    np.testing.assert_array_equal(conformal.conformity_scores_quantile_, quantiles)


# -- an ensemble's std --------------------------------------------------------------------------


@pytest.mark.parametrize("return_std", ["yes", 1, None])
def test_return_std_must_be_a_bool(data, ensemble, return_std):
    X, _, _ = data
    with pytest.raises(TypeError, match="return_std must be True or False"):
        ensemble.predict(X[:5], return_std=return_std)


def test_return_std_checks_X_as_predict_does(data, ensemble):
    X, _, _ = data
    with pytest.raises(ValueError, match="X has 3 features, but MaskedMultiTaskRegressor is expecting 4"):
        ensemble.predict(X[:5, :3], return_std=True)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        ensemble.predict(np.where(np.eye(5, 4) > 0, np.nan, X[:5]), return_std=True)


# -- calibration --------------------------------------------------------------------------------


def test_calibration_rejects_a_non_finite_label_of_any_task(data):
    X, y_reg, y_clf = data
    mixed = np.column_stack([y_clf[:, 0], y_reg[:, 0]])
    model = MaskedMultiTaskEstimator(**SMALL, task_types=["classification", "regression"]).fit(X[:100], mixed[:100])
    with pytest.raises(ValueError, match="infinity .* in task 1"):  # a regression task's label, as fit would say
        MultiTaskCalibratedClassifierCV(FrozenEstimator(model)).fit(X[100:], _with(mixed[100:], 2, 1, np.inf))


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (np.ones(90), "sample_weight.shape == \\(90,\\), expected \\(100,\\)"),
        (np.ones(120), "sample_weight.shape == \\(120,\\), expected \\(100,\\)"),
        (-np.ones(100), "Negative values in data passed to .?sample_weight"),
        (np.full(100, np.nan), "Input sample_weight contains NaN"),
    ],
)
def test_calibration_checks_sample_weight(data, classifier, sample_weight, match):
    X, _, y_clf = data
    calibrated = MultiTaskCalibratedClassifierCV(FrozenEstimator(classifier))
    with pytest.raises(ValueError, match=match):
        calibrated.fit(X[100:], y_clf[100:], sample_weight=sample_weight)
    calibrated = MultiTaskCalibratedClassifierCV(FrozenEstimator(classifier)).fit(X[100:], y_clf[100:])
    with pytest.raises(ValueError, match=match):
        calibrated.score(X[100:], y_clf[100:], sample_weight=sample_weight)


@pytest.mark.parametrize(
    "cv, error, match",
    [
        (1, ValueError, "cv must be None, an integer of at least 2 or a splitter; got 1"),
        (0, ValueError, "cv must be None, an integer of at least 2 or a splitter; got 0"),
        ("kfold", TypeError, "cv must be None, an integer of at least 2 or a splitter; got 'kfold'"),
    ],
)
def test_calibration_checks_cv(data, cv, error, match):
    X, _, y_clf = data
    with pytest.raises(error, match=match):
        MultiTaskCalibratedClassifierCV(MaskedMultiTaskClassifier(**SMALL), cv=cv).fit(X, y_clf)


def test_calibration_checks_shapes(data, classifier):
    X, _, y_clf = data
    calibrated = MultiTaskCalibratedClassifierCV(FrozenEstimator(classifier))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        calibrated.fit(X[100:], y_clf[100:150])
    with pytest.raises(ValueError, match="X has 3 features, but MaskedMultiTaskClassifier is expecting 4"):
        calibrated.fit(X[100:, :3], y_clf[100:])
    fitted = calibrated.fit(X[100:], y_clf[100:])
    with pytest.raises(ValueError, match="y has 1 tasks, but the model has 2"):
        fitted.score(X[100:], y_clf[100:, :1])


# -- the calibration Display ----------------------------------------------------------------------


def test_the_display_takes_scikit_learns_positive_class_probabilities(data, classifier):
    X, _, y_clf = data
    rows = ~np.isnan(y_clf[100:, 0])
    positive = classifier.predict_proba(X[100:])[0][:, 1]
    ours = MultiTaskCalibrationDisplay.from_predictions(y_clf[100:, 0], positive, n_bins=4)
    theirs = CalibrationDisplay.from_predictions(y_clf[100:, 0][rows], positive[rows], n_bins=4)
    np.testing.assert_allclose(ours.prob_pred[0], theirs.prob_pred)
    np.testing.assert_allclose(ours.prob_true[0], theirs.prob_true)
    columns = [p[:, 1] for p in classifier.predict_proba(X[100:])]  # one positive-class column per task
    both = MultiTaskCalibrationDisplay.from_predictions(y_clf[100:], columns, n_bins=4)
    full = MultiTaskCalibrationDisplay.from_predictions(y_clf[100:], classifier.predict_proba(X[100:]), n_bins=4)
    for ours, full_task in zip(both.prob_pred, full.prob_pred, strict=True):
        np.testing.assert_allclose(ours, full_task)


def test_the_display_of_string_labels_takes_the_positive_class(data):
    X, _, y_clf = data
    words = np.where(np.isnan(y_clf), None, np.where(y_clf == 1, "yes", "no")).astype(object)
    model = MaskedMultiTaskClassifier(**SMALL).fit(X[:100], words[:100])
    display = MultiTaskCalibrationDisplay.from_estimator(model, X[100:], words[100:], n_bins=4)
    numbers = MultiTaskCalibrationDisplay.from_predictions(y_clf[100:], model.predict_proba(X[100:]), n_bins=4)
    np.testing.assert_allclose(display.prob_true[1], numbers.prob_true[1])
    with pytest.raises(ValueError, match="task 0: y_true takes value in .* pos_label"):
        MultiTaskCalibrationDisplay.from_predictions(words[100:], model.predict_proba(X[100:]))
    probabilities = model.predict_proba(X[100:])
    again = MultiTaskCalibrationDisplay.from_predictions(words[100:], probabilities, n_bins=4, pos_label="yes")
    np.testing.assert_allclose(again.prob_true[1], numbers.prob_true[1])


def _probabilities(n_rows, value=None):
    p = np.column_stack([np.full(n_rows, 0.3), np.full(n_rows, 0.7)])
    if value is not None:
        p[0] = value
    return [p, p.copy()]


@pytest.mark.parametrize(
    "y_prob, match",
    [
        (_probabilities(100, [-0.2, 1.2]), "task 0's probabilities must lie in \\[0, 1\\]"),
        (_probabilities(100, [0.5, 0.6]), "task 0's probabilities must sum to 1 over its classes"),
        (_probabilities(100, [np.nan, np.nan]), "task 0's probabilities contain NaN"),
        (_probabilities(90), "y_prob has 90 rows for task 0, but y_true has 100"),
        (_probabilities(100)[:1], "y_prob has 1 tasks, but y_true has 2"),
        ([np.full(100, 1.5), np.full(100, 0.5)], "task 0's probabilities must lie in \\[0, 1\\]"),
        ([np.zeros((100, 2, 1)), None], "task 0's probabilities must be 1-D .* or 2-D"),
        ([None, None], "No binary task"),
    ],
)
def test_the_display_checks_probabilities(data, y_prob, match):
    _, _, y_clf = data
    with pytest.raises(ValueError, match=match):
        MultiTaskCalibrationDisplay.from_predictions(y_clf[100:], y_prob)


@pytest.mark.parametrize(
    "y_true, kwargs, match",
    [
        (lambda y: _with(y, 0, 1, np.inf), {}, "infinity .* in task 1"),
        (lambda y: _with(y, 0, 1, 2.0), {}, "task 1: y_true takes value in \\{0.0, 1.0, 2.0\\}"),
        (lambda y: y, dict(n_bins=0), "n_bins must be an integer of at least 1; got 0"),
        (lambda y: y, dict(strategy="median"), "strategy must be 'uniform' or 'quantile'; got 'median'"),
        (lambda y: y, dict(task_names=["a"]), "task_names has 1 entries, but y_true has 2 tasks"),
        (lambda y: y, dict(pos_label=[1, 1, 1]), "pos_label has 3 entries, but y_true has 2 tasks"),
    ],
)
def test_the_display_checks_labels_and_parameters(data, y_true, kwargs, match):
    _, _, y_clf = data
    with pytest.raises(ValueError, match=match):
        MultiTaskCalibrationDisplay.from_predictions(y_true(y_clf[100:]), _probabilities(100), **kwargs)


def test_the_display_checks_n_cols(data):
    _, _, y_clf = data
    display = MultiTaskCalibrationDisplay.from_predictions(y_clf[100:], _probabilities(100))
    with pytest.raises(ValueError, match="n_cols must be an integer of at least 1; got 0"):
        display.plot(n_cols=0)
