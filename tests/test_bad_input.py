"""Every public entry point against malformed input: a ValueError/TypeError (or a warning) whose
message names the argument or the task, never a torch stack trace."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskRegressor
from sklearn_mtl.metrics import make_masked_scorer, masked_accuracy_score, masked_roc_auc_score

SMALL = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
RNG = np.random.RandomState(0)
X = RNG.normal(size=(40, 3))
Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(float)
Y[RNG.rand(*Y.shape) < 0.3] = np.nan
Y_REG = np.where(np.isnan(Y), np.nan, X[:, :2])


def _with(array, row, column, value):
    array = np.array(array, dtype=object if isinstance(value, str) else None)
    array[row, column] = value
    return array


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


# (id, estimator parameters, X, y, fit keyword arguments, error type, message pattern)
FIT_CASES = [
    # X: type, shape, values, size
    ("X strings", {}, np.array([["a"] * 3] * 40), Y, {}, ValueError, "could not convert string to float"),
    ("X 1-D", {}, X[:, 0], Y, {}, ValueError, "Expected 2D array, got 1D array"),
    ("X 3-D", {}, X[:, :, None], Y, {}, ValueError, "Found array with dim 3"),
    ("X empty", {}, X[:0], Y[:0], {}, ValueError, "0 sample"),
    ("X no features", {}, X[:, :0], Y, {}, ValueError, "0 feature"),
    ("X NaN", {}, _with(X, 3, 1, np.nan), Y, {}, ValueError, "Input X contains NaN"),
    ("X inf", {}, _with(X, 3, 1, np.inf), Y, {}, ValueError, "Input X contains infinity"),
    ("X complex", {}, X.astype(complex), Y, {}, ValueError, "[Cc]omplex"),
    # y: presence, shape, length, values, types
    ("y None", {}, X, None, {}, ValueError, "requires y to be passed"),
    ("y too short", {}, X, Y[:-2], {}, ValueError, "inconsistent numbers of samples"),
    ("y 3-D", {}, X, Y[:, :, None], {}, ValueError, "1-D \\(one task\\) or 2-D"),
    ("y no task", {}, X, Y[:, :0], {}, ValueError, "no task. Give at least one column"),
    ("y inf", {}, X, _with(Y, 0, 1, np.inf), {}, ValueError, "infinity .*task 1"),
    (
        "y task without labels",
        {},
        X,
        np.column_stack([Y, np.full(40, np.nan)]),
        {},
        ValueError,
        "task 2 has no observed label",
    ),
    ("y continuous for a classifier", {}, X, X[:, :2], {}, ValueError, "Unknown label type: continuous in task 0"),
    (
        "y numbers and strings in one task",
        {},
        X,
        _with(Y, 0, 0, "spam"),
        {},
        TypeError,
        "task 0 mixes numbers and strings",
    ),
    ("y complex", {}, X, Y.astype(complex), {}, ValueError, "complex"),
    # sample weights
    ("sample_weight negative", {}, X, Y, {"sample_weight": -np.ones(40)}, ValueError, "Negative values"),
    (
        "sample_weight NaN",
        {},
        X,
        Y,
        {"sample_weight": _with(np.ones((40, 1)), 0, 0, np.nan)[:, 0]},
        ValueError,
        "sample_weight",
    ),
    ("sample_weight wrong length", {}, X, Y, {"sample_weight": np.ones(5)}, ValueError, "sample_weight.shape"),
    (
        "sample_weight wrong 2-D shape",
        {},
        X,
        Y,
        {"sample_weight": np.ones((40, 3))},
        ValueError,
        "one weight per label",
    ),
    ("sample_weight 2-D negative", {}, X, Y, {"sample_weight": -np.ones((40, 2))}, ValueError, "non-negative"),
    # parameters
    ("activation", {"activation": "swish"}, X, Y, {}, ValueError, "'activation' parameter"),
    ("alpha", {"alpha": -1}, X, Y, {}, ValueError, "'alpha' parameter"),
    (
        "hidden_layer_sizes zero",
        {"hidden_layer_sizes": (0,)},
        X,
        Y,
        {},
        ValueError,
        "hidden_layer_sizes must be positive",
    ),
    (
        "hidden_layer_sizes text",
        {"hidden_layer_sizes": ("a",)},
        X,
        Y,
        {},
        ValueError,
        "hidden_layer_sizes must be positive",
    ),
    ("batch_size", {"batch_size": 0}, X, Y, {}, ValueError, "'batch_size' parameter"),
    ("learning_rate_init", {"learning_rate_init": 0}, X, Y, {}, ValueError, "'learning_rate_init' parameter"),
    ("max_iter", {"max_iter": 0}, X, Y, {}, ValueError, "'max_iter' parameter"),
    ("validation_fraction", {"validation_fraction": 1.0}, X, Y, {}, ValueError, "'validation_fraction' parameter"),
    (
        "too few rows to validate",
        {"early_stopping": True, "validation_fraction": 0.01},
        X,
        Y,
        {},
        ValueError,
        "validation_fraction=0.01 leaves 0 of 40 rows",
    ),
    ("n_iter_no_change", {"n_iter_no_change": 0}, X, Y, {}, ValueError, "'n_iter_no_change' parameter"),
    ("tol", {"tol": -1}, X, Y, {}, ValueError, "'tol' parameter"),
    ("dropout", {"dropout": 1.5}, X, Y, {}, ValueError, "'dropout' parameter"),
    ("missing_label list", {"missing_label": [1, 2]}, X, Y, {}, ValueError, "'missing_label' parameter"),
    ("loss_normalization", {"loss_normalization": "mean"}, X, Y, {}, ValueError, "'loss_normalization' parameter"),
    ("task_weights length", {"task_weights": [1.0]}, X, Y, {}, ValueError, "one weight per task \\(2\\)"),
    ("task_weights negative", {"task_weights": [1.0, -1.0]}, X, Y, {}, ValueError, "finite and non-negative"),
    ("task_weights NaN", {"task_weights": [1.0, np.nan]}, X, Y, {}, ValueError, "finite and non-negative"),
    ("task_weights unknown name", {"task_weights": {"nope": 1.0}}, X, Y, {}, ValueError, "does not have"),
    ("task_weighting", {"task_weighting": "magic"}, X, Y, {}, ValueError, "'task_weighting' parameter"),
    ("sampling", {"sampling": "stratified"}, X, Y, {}, ValueError, "'sampling' parameter"),
    (
        "class_weight one dict for two tasks",
        {"class_weight": {0.0: 1.0, 1.0: 2.0}},
        X,
        Y,
        {},
        ValueError,
        "one dict per task",
    ),
    (
        "class_weight unknown class",
        {"class_weight": [{0.0: 1.0, 5.0: 2.0}, None]},
        X,
        Y,
        {},
        ValueError,
        "class_weight for task 0",
    ),
    ("class_weight length", {"class_weight": [None]}, X, Y, {}, ValueError, "class_weight has 1 entries"),
    ("device unknown", {"device": "quantum"}, X, Y, {}, ValueError, "device='quantum' is not a torch device"),
    ("dtype", {"dtype": "float16"}, X, Y, {}, ValueError, "'dtype' parameter"),
    ("optimizer not an optimizer", {"optimizer": print}, X, Y, {}, TypeError, "optimizer must be a torch.optim"),
    ("callbacks not callbacks", {"callbacks": [1]}, X, Y, {}, TypeError, "callbacks must hold skorch callbacks"),
    (
        "net_params unknown key",
        {"net_params": {"foo": 1}},
        X,
        Y,
        {},
        ValueError,
        "net_params \\['foo'\\]: .*unexpected argument\\(s\\) foo",
    ),
    (
        "module not a module",
        {"module": lambda n_features, n_outputs: 3},
        X,
        Y,
        {},
        TypeError,
        "module must build a torch.nn.Module",
    ),
    (
        "module wrong output width",
        {"module": lambda n_features, n_outputs: torch.nn.Linear(n_features, 7)},
        X,
        Y,
        {},
        ValueError,
        "module returned \\(2, 7\\) for 2 rows; it must return a tensor of shape \\(n_rows, 2\\)",
    ),
]


@pytest.mark.parametrize(
    "params, X_fit, y_fit, fit_kwargs, error, match", [case[1:] for case in FIT_CASES], ids=[c[0] for c in FIT_CASES]
)
def test_fit_rejects_bad_input_with_a_clear_message(params, X_fit, y_fit, fit_kwargs, error, match):
    estimator = MaskedMultiTaskClassifier(**{**SMALL, **params})
    with pytest.raises(error, match=match):
        estimator.fit(X_fit, y_fit, **fit_kwargs)
    assert not hasattr(estimator, "net_"), "a failed fit must not leave a model behind"


REGRESSOR_CASES = [
    ("number and text in a task", _with(Y_REG, 0, 1, "tall"), TypeError, "task 1 mixes numbers and strings"),
    (
        "text targets",
        np.column_stack([Y_REG[:, 0].astype(object), np.full(40, "tall", dtype=object)]),
        ValueError,
        "task 1 has non-numeric targets",
    ),
    (
        "the text 'nan'",
        np.column_stack([Y_REG[:, 0], ["1.5"] * 39 + ["nan"]]),
        ValueError,
        "has observed values that become NaN as numbers",
    ),
    ("inf target", _with(Y_REG, 0, 1, -np.inf), ValueError, "infinity .*task 1"),
    ("task without targets", np.column_stack([Y_REG, np.full(40, np.nan)]), ValueError, "task 2 has no observed label"),
]


@pytest.mark.parametrize("y_fit, error, match", [c[1:] for c in REGRESSOR_CASES], ids=[c[0] for c in REGRESSOR_CASES])
def test_regressor_rejects_bad_targets(y_fit, error, match):
    with pytest.raises(error, match=match):
        MaskedMultiTaskRegressor(**SMALL).fit(X, y_fit)


def test_regressor_has_no_class_weight_or_predict_proba():
    with pytest.raises(TypeError, match="class_weight"):
        MaskedMultiTaskRegressor(class_weight="balanced")
    assert not hasattr(MaskedMultiTaskRegressor(), "predict_proba")


@pytest.fixture(scope="module")
def fitted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MaskedMultiTaskClassifier(**SMALL).fit(X, Y)


@pytest.mark.parametrize(
    "method, args, error, match",
    [
        ("predict", (X[:, :2],), ValueError, "X has 2 features, but MaskedMultiTaskClassifier is expecting 3"),
        ("predict_proba", (_with(X, 0, 0, np.nan),), ValueError, "Input X contains NaN"),
        ("predict", (X[:0],), ValueError, "0 sample"),
        ("score", (X, Y[:, :1]), ValueError, "y has 1 tasks, but this MaskedMultiTaskClassifier was fitted with 2"),
        ("score", (X, Y[:10]), ValueError, "inconsistent numbers of samples: \\[40, 10\\]"),
        ("partial_fit", (X, Y[:, :1]), ValueError, "y has 1 tasks"),
    ],
)
def test_fitted_estimator_rejects_bad_input(fitted, method, args, error, match):
    with pytest.raises(error, match=match):
        getattr(fitted, method)(*args)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
def test_unfitted_estimator_says_so(method):
    with pytest.raises(NotFittedError):
        getattr(MaskedMultiTaskClassifier(), method)(*((X, Y) if method == "score" else (X,)))


def test_partial_fit_first_call_needs_classes_per_task():
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MaskedMultiTaskClassifier(**SMALL).partial_fit(X, Y)
    with pytest.raises(ValueError, match="classes has 1 entries but y has 2 tasks"):
        MaskedMultiTaskClassifier(**SMALL).partial_fit(X, Y, classes=[[0.0, 1.0]])


def test_one_class_task_warns_and_predicts_its_class():
    y = Y.copy()
    y[~np.isnan(y[:, 1]), 1] = 1.0
    with pytest.warns(
        UserWarning, match="task 1 has only one class \\(np.float64\\(1.0\\)\\|1.0\\)|task 1 has only one"
    ):
        clf = MaskedMultiTaskClassifier(**SMALL).fit(X, y)
    assert set(clf.predict(X)[:, 1]) == {1.0}
    np.testing.assert_array_equal(clf.predict_proba(X)[1], np.ones((40, 1)))


def test_labels_unseen_in_fit_warn_at_score_time_naming_the_task(fitted):
    y = Y.copy()
    y[0, 1] = 7.0
    with pytest.warns(UserWarning, match="task 1 has labels \\['7.0'\\] in y that it never saw in fit"):
        fitted.score(X, y)


def test_sparse_input_with_nan_is_rejected():
    X_sparse = sp.csr_matrix(_with(X, 2, 2, np.nan))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MaskedMultiTaskClassifier(**SMALL).fit(X_sparse, Y)


def test_a_model_whose_training_diverged_refuses_to_predict():
    regressor = MaskedMultiTaskRegressor(hidden_layer_sizes=(8,), max_iter=2, random_state=0, warm_start=True)
    regressor.fit(X, Y_REG)
    with torch.no_grad():
        regressor.net_.module_.heads.weight.fill_(float("nan"))  # what a diverged warm-start continuation leaves
    with pytest.raises(ValueError, match="outputs are not finite for rows \\[0, 1, 2, 3, 4\\]"):
        regressor.predict(X)


METRIC_CASES = [
    ("y_pred wrong width", masked_accuracy_score, (Y, np.zeros((40, 3))), "y_pred has shape \\(40, 3\\)"),
    ("y_pred wrong rows", masked_accuracy_score, (Y, np.zeros((10, 2))), "rows"),
    ("probabilities for too few tasks", masked_roc_auc_score, (Y, [np.ones((40, 2))]), "1 tasks"),
    ("sample_weight wrong shape", masked_accuracy_score, (Y, np.zeros((40, 2))), "sample_weight"),
]


@pytest.mark.parametrize("metric, args, match", [c[1:] for c in METRIC_CASES], ids=[c[0] for c in METRIC_CASES])
def test_metrics_reject_bad_input(metric, args, match):
    kwargs = {"sample_weight": np.ones((40, 5))} if "sample_weight" in match else {}
    with pytest.raises(ValueError, match=match):
        metric(*args, **kwargs)


def test_scorer_rejects_an_unknown_metric_or_task(fitted):
    with pytest.raises(ValueError):
        make_masked_scorer("no_such_metric")
    with pytest.raises(ValueError):
        make_masked_scorer("accuracy", task=9)(fitted, X, Y)
