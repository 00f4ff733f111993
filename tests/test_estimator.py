"""MaskedMultiTaskEstimator: classification and regression tasks in one model, on the classes' machinery."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import skops.io
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import (
    SKOPS_TRUSTED_TYPES,
    MaskedMultiTaskClassifier,
    MaskedMultiTaskEstimator,
    MaskedMultiTaskRegressor,
)
from sklearn_mtl.metrics import make_masked_scorer, task_scorers
from sklearn_mtl.modules import SeededDropout

SMALL = dict(hidden_layer_sizes=(32,), max_iter=40, learning_rate_init=0.01, random_state=0)


# tiny networks and few epochs: max_iter is reached on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _age_gender(n_rows=400, seed=0):
    """Each row labelled for age (years) or gender (a string), never both; both depend on X."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, 4))
    age = 45 + 12 * X[:, 0] - 6 * X[:, 1] + rng.normal(size=n_rows)
    gender = np.where(X[:, 1] + 0.5 * X[:, 2] > 0, "f", "m").astype(object)
    has_age = rng.rand(n_rows) < 0.5
    y = pd.DataFrame({"age": np.where(has_age, age, np.nan), "gender": np.where(has_age, None, gender)})
    return X, y, age, gender


@pytest.fixture(scope="module")
def fitted():
    X, y, age, gender = _age_gender()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MaskedMultiTaskEstimator(**SMALL).fit(X, y), X, y, age, gender


def test_fits_a_float_and_a_string_column_with_missing_labels(fitted):
    est, X, y, age, gender = fitted
    assert [task.kind for task in est.tasks_] == ["regression", "classification"]
    assert est.task_names_.tolist() == ["age", "gender"] and est.n_tasks_ == 2
    assert est.classes_[0] is None and est.classes_[1].tolist() == ["f", "m"]
    predictions = est.predict(X)
    assert predictions.shape == (len(X), 2) and predictions.dtype == object
    assert r2_score(age, predictions[:, 0].astype(float)) > 0.8
    assert np.mean(predictions[:, 1] == gender) > 0.85
    probabilities = est.predict_proba(X)
    assert probabilities[0] is None and probabilities[1].shape == (len(X), 2)
    assert roc_auc_score(gender == "m", probabilities[1][:, 1]) > 0.9
    expected = np.mean([r2_score(age, predictions[:, 0].astype(float)), np.mean(predictions[:, 1] == gender)])
    assert est.score(X, pd.DataFrame({"age": age, "gender": gender})) == pytest.approx(expected)


def test_numeric_labels_give_float_predictions(fitted):
    est, X, y, _, gender = fitted
    numeric = y.assign(gender=y["gender"].map({"f": 0.0, "m": 1.0}))
    predictions = clone(est).fit(X, numeric).predict(X)
    assert predictions.dtype == np.float64


def test_one_kind_of_task_is_the_classifier_or_the_regressor():
    X, _, age, gender = _age_gender()
    params = dict(SMALL, max_iter=5)
    labels = np.column_stack([gender == "f", X[:, 0] > 0]).astype(float)
    classifier = MaskedMultiTaskClassifier(**params).fit(X, labels)
    mixed = MaskedMultiTaskEstimator(**params).fit(X, labels)
    for a, b in zip(classifier.predict_proba(X), mixed.predict_proba(X), strict=True):
        np.testing.assert_array_equal(a, b)
    targets = np.column_stack([age, X[:, 1]])
    regressor = MaskedMultiTaskRegressor(**params).fit(X, targets)
    np.testing.assert_array_equal(regressor.predict(X), MaskedMultiTaskEstimator(**params).fit(X, targets).predict(X))
    assert not hasattr(MaskedMultiTaskEstimator(**params).fit(X, targets), "predict_proba")


def test_the_unit_of_a_regression_target_needs_no_loss_weight():
    """Years or milliyears: standardization makes the same model, so nothing is tuned by hand."""
    X, y, _, _ = _age_gender()
    params = dict(SMALL, max_iter=10, dtype="float64")
    years = MaskedMultiTaskEstimator(**params).fit(X, y)
    milli = MaskedMultiTaskEstimator(**params).fit(X, y.assign(age=1000 * y["age"]))
    np.testing.assert_allclose(milli.predict_proba(X)[1], years.predict_proba(X)[1], rtol=1e-10)
    np.testing.assert_allclose(
        milli.predict(X)[:, 0].astype(float), 1000 * years.predict(X)[:, 0].astype(float), rtol=1e-8
    )


def test_early_stopping_follows_each_kinds_validation_metric():
    X, y, _, _ = _age_gender(n_rows=600)
    est = MaskedMultiTaskEstimator(**dict(SMALL, max_iter=8), early_stopping=True).fit(X, y)
    last = est.history_[-1]
    assert np.isfinite(last["valid_score_age"]) and np.isfinite(last["valid_score_gender"])
    assert last["valid_score"] == pytest.approx(np.mean([last["valid_score_age"], last["valid_score_gender"]]))
    assert est.best_validation_score_ == max(est.validation_scores_)


def test_partial_fit_takes_classes_for_classification_tasks_only():
    X, y, _, _ = _age_gender()
    est = MaskedMultiTaskEstimator(**SMALL)
    est.partial_fit(X[:200], y[:200], classes=[None, ["f", "m", "x"]])
    assert est.tasks_[1].classes.tolist() == ["f", "m", "x"] and est.tasks_[0].kind == "regression"
    est.partial_fit(X[200:], y[200:])
    assert est.n_iter_ == 2


def test_warm_start_continues_training(fitted):
    est, X, y, _, _ = fitted
    warm = clone(est).set_params(warm_start=True, max_iter=3).fit(X, y)
    assert warm.fit(X, y).n_iter_ == 6


def test_class_weight_balanced_weighs_classification_tasks_and_rejects_weights_for_regression():
    X, y, _, _ = _age_gender()
    est = MaskedMultiTaskEstimator(**dict(SMALL, max_iter=2), class_weight="balanced").fit(X, y)
    assert est.n_iter_ == 2
    with pytest.raises(ValueError, match="class_weight gives task 0 \\('age'\\) class weights, but it is a regr"):
        MaskedMultiTaskEstimator(**SMALL, class_weight=[{1: 2.0}, None]).fit(X, y)


def test_two_dimensional_sample_weight_of_zero_is_a_missing_label(fitted):
    est, X, y, _, _ = fitted
    params = dict(SMALL, max_iter=5)
    weights = np.ones(y.shape)
    weights[:50, 0] = 0.0
    dropped = y.copy()
    dropped.iloc[:50, 0] = np.nan
    a = MaskedMultiTaskEstimator(**params).fit(X, y, sample_weight=weights).predict(X)
    b = MaskedMultiTaskEstimator(**params).fit(X, dropped).predict(X)
    np.testing.assert_array_equal(a, b)


def test_task_weights_by_name():
    X, y, _, _ = _age_gender()
    est = MaskedMultiTaskEstimator(**dict(SMALL, max_iter=2), task_weights={"age": 0.0}).fit(X, y)
    assert est.net_.criterion_.task_weights.tolist() == [0.0, 1.0]


def test_pickle_and_skops_round_trips_predict_identically(fitted, tmp_path):
    est, X, _, _, _ = fitted
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))
    path = tmp_path / "mixed.skops"
    skops.io.dump(est, path)
    loaded = skops.io.load(path, trusted=SKOPS_TRUSTED_TYPES)
    np.testing.assert_array_equal(loaded.predict_proba(X)[1], est.predict_proba(X)[1])


def test_search_in_a_pipeline_with_a_metric_per_task():
    X, y, _, _ = _age_gender(n_rows=300)
    pipeline = make_pipeline(StandardScaler(), MaskedMultiTaskEstimator(**dict(SMALL, max_iter=5)))
    scoring = task_scorers({"gender": "roc_auc", "age": "r2"}) | {
        "mean": make_masked_scorer({"gender": "roc_auc", "age": "r2"})
    }
    search = GridSearchCV(
        pipeline,
        {"maskedmultitaskestimator__alpha": [0.0, 1e-3]},
        scoring=scoring,
        refit="mean",
        cv=KFold(3, shuffle=True, random_state=0),
    ).fit(X, y)
    results = search.cv_results_
    expected = (results["mean_test_roc_auc_gender"] + results["mean_test_r2_age"]) / 2
    np.testing.assert_allclose(results["mean_test_mean"], expected)
    assert search.best_estimator_.predict(X).shape == (300, 2)


def test_a_metric_of_the_wrong_kind_names_the_task(fitted):
    est, X, y, _, _ = fitted
    with pytest.raises(ValueError, match="scores classification tasks, but task 0 \\('age'\\) is a regression task"):
        make_masked_scorer("roc_auc")(est, X, y)
    with pytest.raises(ValueError, match="scores regression tasks, but task 1 \\('gender'\\) is a classification"):
        make_masked_scorer("r2", task="gender")(est, X, y)
    assert make_masked_scorer("roc_auc", task="gender")(est, X, y) > 0.9


def test_one_dimensional_y_keeps_one_dimensional_outputs():
    X, _, age, gender = _age_gender(n_rows=100)
    regression = MaskedMultiTaskEstimator(**dict(SMALL, max_iter=2)).fit(X, age)
    assert regression.predict(X).shape == (100,) and regression.classes_ is None
    classification = MaskedMultiTaskEstimator(**dict(SMALL, max_iter=2)).fit(X, gender)
    assert classification.predict_proba(X).shape == (100, 2) and classification.classes_.tolist() == ["f", "m"]


@pytest.mark.parametrize(
    "task_types, y_change, error, match",
    [
        (None, {"age": pd.Series([pd.Timestamp("2020-01-01")] * 400, dtype=object)}, ValueError, "kind of task 0"),
        ({"age": "classification"}, {}, ValueError, "Unknown label type: continuous in task 0 \\('age'\\)"),
        ({"gender": "regression"}, {}, ValueError, "task 1 \\('gender'\\) has non-numeric targets"),
        (["regression"], {}, ValueError, "task_types has 1 entries but y has 2 tasks"),
        ({"height": "regression"}, {}, ValueError, "task_types names a task 'height'"),
        ("ordinal", {}, ValueError, "task_types"),
    ],
)
def test_bad_task_kinds_get_a_clear_error_and_leave_nothing_fitted(task_types, y_change, error, match):
    X, y, _, _ = _age_gender()
    est = MaskedMultiTaskEstimator(**SMALL, task_types=task_types)
    with pytest.raises(error, match=match):
        est.fit(X, y.assign(**y_change))
    assert not hasattr(est, "tasks_") and not hasattr(est, "net_")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_mixed_tasks_train_on_gpu_and_predict_like_the_cpu(fitted):
    est, X, y, age, gender = fitted
    gpu = clone(est).set_params(device="cuda").fit(X, y)
    assert next(gpu.net_.module_.parameters()).is_cuda
    assert r2_score(age, gpu.predict(X)[:, 0].astype(float)) > 0.8
    assert np.mean(gpu.predict(X)[:, 1] == gender) > 0.85
    np.testing.assert_array_equal(gpu.net_.predict_proba(X).shape, (len(X), 2))


def _dropouts(estimator):
    return [part.p for part in estimator.net_.module_.modules() if isinstance(part, SeededDropout) and part.p > 0]


def test_auto_dropout_of_a_wide_mixed_model_is_for_its_classification_tasks():
    rng = np.random.RandomState(0)
    X = (rng.rand(200, 150) < 0.1).astype(float)
    y = np.column_stack([X[:, 0] > 0, X[:, 1:6].sum(axis=1) + rng.rand(200), X[:, 7] > 0]).astype(float)
    mixed = MaskedMultiTaskEstimator(**{**SMALL, "max_iter": 2}).fit(X, y)
    module = mixed.net_.module_
    assert module.clean_tasks.tolist() == [False, True, False]
    assert _dropouts(mixed) == [0.2, 0.5]  # the classifier's, for the classification tasks
    explicit = MaskedMultiTaskEstimator(**{**SMALL, "max_iter": 2, "dropout": 0.1}).fit(X, y)
    assert explicit.net_.module_.clean_tasks is None and _dropouts(explicit) == [0.1]
    ensemble = MaskedMultiTaskEstimator(**{**SMALL, "max_iter": 2, "ensemble_size": 2}).fit(X, y)
    assert ensemble.net_.module_.clean_columns.tolist() == [False, True, False]


