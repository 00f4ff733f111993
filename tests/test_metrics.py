"""Masked metrics equal scikit-learn's metric on each task's observed rows; scorers behave like sklearn's."""

import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    matthews_corrcoef,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_mtl.metrics import (
    UndefinedTaskScoreWarning,
    make_masked_scorer,
    masked_accuracy_score,
    masked_average_precision_score,
    masked_balanced_accuracy_score,
    masked_f1_score,
    masked_log_loss,
    masked_mean_absolute_error,
    masked_mean_squared_error,
    masked_r2_score,
    masked_roc_auc_score,
    task_scorers,
)

N_TASKS = 3

LABEL_METRICS = [
    (masked_accuracy_score, accuracy_score),
    (masked_balanced_accuracy_score, balanced_accuracy_score),
    (masked_f1_score, f1_score),
]
REGRESSION_METRICS = [
    (masked_r2_score, r2_score),
    (masked_mean_squared_error, mean_squared_error),
    (masked_mean_absolute_error, mean_absolute_error),
]
PROBABILITY_METRICS = [
    (masked_roc_auc_score, lambda truth, proba, **kw: roc_auc_score(truth, proba[:, 1], **kw)),
    (masked_average_precision_score, lambda truth, proba, **kw: average_precision_score(truth, proba[:, 1], **kw)),
    (masked_log_loss, lambda truth, proba, **kw: log_loss(truth, proba, labels=[0, 1], **kw)),
]


def _random_problem(seed, n_samples=30, missing_rate=0.3):
    rng = np.random.RandomState(seed)
    labels = rng.randint(0, 2, size=(n_samples, N_TASKS)).astype(float)
    observed = rng.rand(n_samples, N_TASKS) > missing_rate
    observed[:4] = True  # both classes can still be absent; such draws are filtered below
    y_true = np.where(observed, labels, np.nan)
    y_pred = rng.randint(0, 2, size=(n_samples, N_TASKS)).astype(float)
    positive = rng.rand(n_samples, N_TASKS)
    proba = [np.column_stack([1 - positive[:, t], positive[:, t]]) for t in range(N_TASKS)]
    weights = rng.uniform(0.5, 2.0, size=(n_samples, N_TASKS))
    return y_true, observed, y_pred, proba, weights


def _well_defined(y_true, observed):
    return all(len(np.unique(y_true[observed[:, t], t])) == 2 for t in range(N_TASKS))


def _by_hand(metric, y_true, observed, per_task_pred, weights):
    return np.array(
        [
            metric(
                y_true[observed[:, t], t],
                per_task_pred[t][observed[:, t]],
                **({} if weights is None else {"sample_weight": weights[observed[:, t], t]}),
            )
            for t in range(N_TASKS)
        ]
    )


weight_kinds = st.sampled_from([None, "rows", "entries"])


def _weights(kind, weights):
    return {None: None, "rows": weights[:, 0], "entries": weights}[kind]


def _hand_weights(kind, weights):
    return {None: None, "rows": np.repeat(weights[:, :1], N_TASKS, axis=1), "entries": weights}[kind]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), kind=weight_kinds)
def test_label_and_regression_metrics_equal_sklearn_on_observed_rows(seed, kind):
    y_true, observed, y_pred, _, weights = _random_problem(seed)
    if not _well_defined(y_true, observed):
        return
    for masked, plain in LABEL_METRICS + REGRESSION_METRICS:
        expected = _by_hand(plain, y_true, observed, y_pred.T, _hand_weights(kind, weights))
        got = masked(y_true, y_pred, average=None, sample_weight=_weights(kind, weights))
        np.testing.assert_allclose(got, expected, err_msg=masked.__name__)
        assert masked(y_true, y_pred, sample_weight=_weights(kind, weights)) == pytest.approx(expected.mean())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), kind=weight_kinds)
def test_probability_metrics_equal_sklearn_on_observed_rows(seed, kind):
    y_true, observed, _, proba, weights = _random_problem(seed)
    if not _well_defined(y_true, observed):
        return
    for masked, plain in PROBABILITY_METRICS:
        expected = _by_hand(plain, y_true, observed, proba, _hand_weights(kind, weights))
        got = masked(y_true, proba, average=None, sample_weight=_weights(kind, weights))
        np.testing.assert_allclose(got, expected, err_msg=masked.__name__)


def test_multiclass_tasks_use_sklearn_one_vs_rest_and_labels():
    rng = np.random.RandomState(0)
    y_true = rng.randint(0, 3, size=(40, 1)).astype(float)
    y_true[::5] = np.nan
    proba = rng.dirichlet([1, 1, 1], size=40)
    rows = ~np.isnan(y_true[:, 0])
    truth = y_true[rows, 0]
    assert masked_roc_auc_score(y_true, [proba]) == pytest.approx(
        roc_auc_score(truth, proba[rows], multi_class="ovr", labels=[0, 1, 2])
    )
    assert masked_log_loss(y_true, [proba]) == pytest.approx(log_loss(truth, proba[rows], labels=[0, 1, 2]))
    predicted = proba.argmax(axis=1).astype(float)[:, None]
    assert masked_f1_score(y_true, predicted) == pytest.approx(f1_score(truth, predicted[rows, 0], average="macro"))


def test_string_labels_missing_markers_and_classes_order():
    y_true = np.array([["yes", "b"], ["no", None], ["?", "a"], ["yes", "a"], ["no", "b"]], dtype=object)
    proba = [np.array([[0.2, 0.8], [0.7, 0.3], [0.5, 0.5], [0.4, 0.6], [0.9, 0.1]]), np.full((5, 2), 0.5)]
    scores = masked_roc_auc_score(y_true, proba, missing_label="?", average=None)
    np.testing.assert_allclose(scores, [1.0, 0.5])
    # the columns follow the classes given: reversing them flips the ranking
    flipped = masked_roc_auc_score(y_true, proba, missing_label="?", classes=[["yes", "no"], ["a", "b"]], average=None)
    np.testing.assert_allclose(flipped, [0.0, 0.5])


def test_marker_and_pandas_missing_labels():
    pd = pytest.importorskip("pandas")
    y_marker = np.array([[0, 1], [1, -1], [1, 0], [0, 0]])
    y_pred = np.array([[0, 1], [1, 1], [0, 0], [0, 1]])
    np.testing.assert_allclose(masked_accuracy_score(y_marker, y_pred, missing_label=-1, average=None), [0.75, 2 / 3])
    y_frame = pd.DataFrame({"a": pd.array([0, 1, 1, 0], dtype="Int64"), "b": pd.array([1, None, 0, 0], dtype="Int64")})
    np.testing.assert_allclose(masked_accuracy_score(y_frame, y_pred, average=None), [0.75, 2 / 3])


def test_one_dimensional_y_takes_a_single_probability_array():
    y_true = np.array([0, 1, np.nan, 1, 0])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.3, 0.7], [0.6, 0.4]])
    assert masked_roc_auc_score(y_true, proba) == 1.0
    assert masked_accuracy_score(y_true, proba.argmax(axis=1)) == 1.0


def test_undefined_tasks_are_nan_with_one_warning_and_left_out_of_the_mean():
    y_true = np.array([[0, 1, np.nan], [1, 1, np.nan], [0, 1, np.nan], [1, 1, np.nan]])
    proba = [np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]])] + [np.full((4, 2), 0.5)] * 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        per_task = masked_roc_auc_score(y_true, proba, classes=[[0, 1]] * 3, average=None)
        mean = masked_roc_auc_score(y_true, proba, classes=[[0, 1]] * 3)
    assert per_task[0] == 1.0 and np.isnan(per_task[1:]).all()
    assert mean == 1.0
    ours = [w for w in caught if issubclass(w.category, UndefinedTaskScoreWarning)]
    assert len(ours) == 2 and len(caught) == 2  # one per call, and no sklearn warning besides
    message = str(ours[0].message)
    assert "task 1 has only one class (1.0)" in message and "task 2 has no observed label" in message


def test_all_tasks_undefined_gives_nan_not_zero():
    with pytest.warns(UndefinedTaskScoreWarning):
        assert np.isnan(masked_accuracy_score(np.full((3, 2), np.nan), np.zeros((3, 2))))
    with pytest.warns(UndefinedTaskScoreWarning, match="undefined score"):
        assert np.isnan(masked_f1_score(np.zeros((3, 1)), np.zeros((3, 1)), classes=[[0, 1]]))


def test_metric_errors_name_the_problem():
    y_true = np.array([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="one .* array per task"):
        masked_roc_auc_score(y_true, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="pass classes="):
        masked_roc_auc_score(y_true[:, :1], [np.full((2, 3), 1 / 3)])
    with pytest.raises(ValueError, match="not among its classes"):
        masked_log_loss(np.array([0, 2]), np.full((2, 2), 0.5), classes=[[0, 1]])
    with pytest.raises(ValueError, match="average must be"):
        masked_accuracy_score(y_true, y_true, average="micro")
    with pytest.raises(ValueError, match="sample_weight has shape"):
        masked_accuracy_score(y_true, y_true, sample_weight=np.ones((2, 3)))


def test_importing_metrics_and_model_selection_code_never_imports_torch():
    # the subpackages are loaded under a bare parent package, so sklearn_mtl/__init__.py (which
    # imports the estimators) does not run
    package = Path(__file__).resolve().parents[1] / "sklearn_mtl"
    code = (
        "import sys, types\n"
        f"parent = types.ModuleType('sklearn_mtl'); parent.__path__ = [{str(package)!r}]\n"
        "sys.modules['sklearn_mtl'] = parent\n"
        "import sklearn_mtl.metrics, sklearn_mtl.model_selection\n"
        "assert 'torch' not in sys.modules and 'skorch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_sklearn_mtl_metrics_does_not_import_torch():
    code = "import sys, sklearn_mtl.metrics; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


class CountingMultiTaskClassifier(ClassifierMixin, BaseEstimator):
    """A numpy-only stand-in: task t predicts from feature t; counts response calls."""

    def __init__(self, missing_label=np.nan):
        self.missing_label = missing_label

    def fit(self, X, y):
        self.n_tasks_ = y.shape[1]
        self.classes_ = [np.array([0.0, 1.0])] * self.n_tasks_
        if hasattr(y, "columns"):
            self.task_names_ = np.asarray(y.columns, dtype=object)
        self.calls_ = {"predict": 0, "predict_proba": 0}
        return self

    def predict_proba(self, X):
        self.calls_["predict_proba"] += 1
        positive = 1 / (1 + np.exp(-np.asarray(X)[:, : self.n_tasks_]))
        return [np.column_stack([1 - positive[:, t], positive[:, t]]) for t in range(self.n_tasks_)]

    def predict(self, X):
        self.calls_["predict"] += 1
        return (np.asarray(X)[:, : self.n_tasks_] > 0).astype(float)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, N_TASKS))
    y = (X + rng.normal(size=X.shape) > 0).astype(float)
    y[rng.rand(*y.shape) < 0.3] = np.nan
    return X, y


def test_scorer_values_signs_and_task_selection(problem):
    X, y = problem
    model = CountingMultiTaskClassifier().fit(X, y)
    proba = model.predict_proba(X)
    assert make_masked_scorer("roc_auc")(model, X, y) == pytest.approx(masked_roc_auc_score(y, proba))
    assert make_masked_scorer("roc_auc", task=1)(model, X, y) == pytest.approx(
        masked_roc_auc_score(y, proba, average=None)[1]
    )
    assert make_masked_scorer("neg_log_loss", task=-1)(model, X, y) == pytest.approx(
        -masked_log_loss(y, proba, average=None)[-1]
    )
    assert make_masked_scorer("accuracy")(model, X, y) == pytest.approx(masked_accuracy_score(y, model.predict(X)))
    mcc = make_masked_scorer(matthews_corrcoef, task=2)(model, X, y)
    rows = ~np.isnan(y[:, 2])
    assert mcc == pytest.approx(matthews_corrcoef(y[rows, 2], model.predict(X)[rows, 2]))
    weighted = make_masked_scorer("accuracy", task=0)(model, X, y, sample_weight=np.arange(60.0))
    assert weighted == pytest.approx(
        accuracy_score(
            y[~np.isnan(y[:, 0]), 0],
            model.predict(X)[~np.isnan(y[:, 0]), 0],
            sample_weight=np.arange(60.0)[~np.isnan(y[:, 0])],
        )
    )


def test_scorer_task_names_and_missing_label_from_estimator(problem):
    pd = pytest.importorskip("pandas")
    X, y = problem
    frame = pd.DataFrame(np.where(np.isnan(y), -1, y), columns=["a", "b", "c"])
    model = CountingMultiTaskClassifier(missing_label=-1).fit(X, frame)
    by_name = make_masked_scorer("roc_auc", task="b")(model, X, frame)
    assert by_name == pytest.approx(make_masked_scorer("roc_auc", task=1)(model, X, y))
    with pytest.raises(ValueError, match="not one of the estimator's tasks"):
        make_masked_scorer("roc_auc", task="zz")(model, X, frame)
    with pytest.raises(ValueError, match="out of range"):
        make_masked_scorer("roc_auc", task=5)(model, X, frame)
    assert set(task_scorers("roc_auc", ["a", "b", "c"])) == {"roc_auc_a", "roc_auc_b", "roc_auc_c"}


def test_scorer_repr_pickle_and_argument_errors():
    scorer = make_masked_scorer("roc_auc", task=2)
    assert repr(scorer) == "make_masked_scorer('roc_auc', task=2)"
    assert repr(pickle.loads(pickle.dumps(scorer))) == repr(scorer)
    assert repr(make_masked_scorer(masked_log_loss)) == (
        "make_masked_scorer(masked_log_loss, greater_is_better=False, response_method='predict_proba')"
    )
    assert repr(make_masked_scorer("f1_macro")) == "make_masked_scorer('f1_macro', class_average='macro')"
    with pytest.raises(ValueError, match="not a masked scorer name"):
        make_masked_scorer("roc_auc_ovo")
    with pytest.raises(ValueError, match="already decides"):
        make_masked_scorer("roc_auc", greater_is_better=False)
    with pytest.raises(TypeError, match="task must be"):
        make_masked_scorer("roc_auc", task=1.5)
    with pytest.raises(TypeError, match="tasks must be"):
        task_scorers("roc_auc", "abc")


def test_multimetric_search_predicts_once_per_fold_and_response_method(problem):
    X, y = problem
    scoring = (
        task_scorers("roc_auc", N_TASKS)
        | task_scorers("neg_log_loss", N_TASKS)
        | {"mean": make_masked_scorer("roc_auc"), "accuracy": make_masked_scorer("accuracy")}
        | task_scorers("accuracy", N_TASKS)
    )
    search = GridSearchCV(
        CountingMultiTaskClassifier(), {"missing_label": [np.nan]}, scoring=scoring, refit=False, cv=KFold(3)
    )
    calls = []

    def count(self, X):
        calls.append(id(self))
        return original(self, X)

    original = CountingMultiTaskClassifier.predict_proba
    CountingMultiTaskClassifier.predict_proba = count
    try:
        search.fit(X, y)
    finally:
        CountingMultiTaskClassifier.predict_proba = original
    # 7 probability scorers and 4 label scorers per fold: one predict_proba call per fold
    assert len(calls) == 3
    for name in ("roc_auc_0", "neg_log_loss_2", "mean", "accuracy_1"):
        assert np.isfinite(search.cv_results_[f"mean_test_{name}"]).all()
