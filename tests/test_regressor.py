"""MaskedMultiTaskRegressor: per-task standardization, masking, 1-D y, errors."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score

from sklearn_mtl import MaskedMultiTaskRegressor

SMALL = dict(hidden_layer_sizes=(16,), max_iter=40, learning_rate_init=0.01, random_state=0)


def _data(n_rows=200, missing=0.3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, 3))
    # two tasks in very different units: the scaling must not let one dominate the loss
    y = np.column_stack([X[:, 0] + 0.5 * X[:, 1], 1000.0 * (X[:, 1] - X[:, 2]) + 5000.0])
    y[rng.rand(*y.shape) < missing] = np.nan
    return X, y


@pytest.fixture(autouse=True)
def _no_convergence_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MaskedMultiTaskRegressor(**SMALL).fit(X, y), X, y


def test_predicts_float64_in_original_units_for_every_task(fitted):
    reg, X, y = fitted
    predictions = reg.predict(X)
    assert predictions.shape == (200, 2) and predictions.dtype == np.float64
    for task in range(2):
        observed = ~np.isnan(y[:, task])
        assert r2_score(y[observed, task], predictions[observed, task]) > 0.8
    assert not hasattr(reg, "predict_proba")


def test_targets_are_standardized_on_observed_values_only(fitted):
    reg, _, y = fitted
    assert [task.kind for task in reg.tasks_] == ["regression", "regression"]
    np.testing.assert_allclose([task.mean for task in reg.tasks_], np.nanmean(y, axis=0))
    np.testing.assert_allclose([task.scale for task in reg.tasks_], np.nanstd(y, axis=0))


def test_score_is_mean_of_per_task_r2_on_observed_targets(fitted):
    reg, X, y = fitted
    predictions = reg.predict(X)
    expected = np.mean([r2_score(y[~np.isnan(y[:, t]), t], predictions[~np.isnan(y[:, t]), t]) for t in range(2)])
    assert reg.score(X, y) == pytest.approx(expected)


def test_one_dimensional_y_and_series():
    X, y = _data(n_rows=80, missing=0.0)
    reg = MaskedMultiTaskRegressor(**SMALL).fit(X, pd.Series(y[:, 0], name="heat"))
    assert reg.predict(X).shape == (80,)
    assert not hasattr(reg, "task_names_")


def test_missing_marker_and_garbage_do_not_change_the_model():
    X, y = _data(n_rows=80)
    marked = np.where(np.isnan(y), -999.0, y)
    a = MaskedMultiTaskRegressor(**SMALL, missing_label=-999.0).fit(X, marked).predict(X)
    b = MaskedMultiTaskRegressor(**SMALL).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)


def test_non_numeric_target_names_the_task():
    X, _ = _data(n_rows=20)
    y = pd.DataFrame({"load": np.arange(20.0), "label": ["a"] * 20})
    with pytest.raises(ValueError, match="task 1 \\('label'\\) has non-numeric targets"):
        MaskedMultiTaskRegressor(**SMALL).fit(X, y)


def test_diverging_training_stops_with_an_error_naming_the_epoch():
    X, y = _data(n_rows=60)
    with pytest.raises(
        ValueError, match=r"training loss became (nan|inf) at epoch \d+ in tasks \['task_0', 'task_1'\]\. Try a smaller"
    ):
        MaskedMultiTaskRegressor(
            hidden_layer_sizes=(16,),
            max_iter=15,
            learning_rate_init=1e6,
            batch_size=60,
            random_state=0,
            input_transform="none",  # X in the millions, read as it is
        ).fit(X * 1e6, y)
