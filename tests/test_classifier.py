"""MaskedMultiTaskClassifier: fit/predict contract, label types, masking, reproducibility, errors."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from sklearn_mtl import MaskedMultiTaskClassifier

SMALL = dict(hidden_layer_sizes=(16,), max_iter=15, learning_rate_init=0.01, random_state=0)


def _data(n_rows=240, missing=0.4, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, 4))
    y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, np.digitize(X[:, 2] + X[:, 3], [-0.7, 0.7])]).astype(float)
    y[rng.rand(*y.shape) < missing] = np.nan
    return X, y


# tiny networks and few epochs: max_iter is reached on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MaskedMultiTaskClassifier(**{**SMALL, "max_iter": 60}).fit(X, y)
    return clf, X, y


def test_fit_sets_attributes_and_predicts_each_task_in_its_classes(fitted):
    clf, X, y = fitted
    assert clf.n_tasks_ == 3 and clf.n_features_in_ == 4
    assert [c.tolist() for c in clf.classes_] == [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0, 2.0]]
    predictions = clf.predict(X)
    assert predictions.shape == (240, 3) and predictions.dtype == np.float64
    for task, classes in enumerate(clf.classes_):
        assert set(np.unique(predictions[:, task])) <= set(classes)
    probabilities = clf.predict_proba(X)
    assert [p.shape for p in probabilities] == [(240, 2), (240, 2), (240, 3)]
    for task, p in enumerate(probabilities):
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        np.testing.assert_array_equal(clf.classes_[task][p.argmax(axis=1)], predictions[:, task])
    assert clf.n_iter_ == len(clf.history_) == len(clf.loss_curve_)


def test_it_learns_the_tasks(fitted):
    clf, X, y = fitted
    assert clf.score(X, y) > 0.85


def test_string_labels_and_mixed_task_types_come_back_in_original_labels():
    X, y = _data(n_rows=120)
    y_object = np.empty(y.shape, dtype=object)
    y_object[:, 0] = np.where(y[:, 0] == 1, "spam", "ham")
    y_object[:, 1] = y[:, 1]
    y_object[:, 2] = np.where(np.isnan(y[:, 2]), None, y[:, 2])
    y_object[np.isnan(y[:, 0]), 0] = None
    clf = MaskedMultiTaskClassifier(**SMALL).fit(X, y_object)
    assert clf.classes_[0].tolist() == ["ham", "spam"]
    predictions = clf.predict(X)
    assert predictions.dtype == object
    assert set(predictions[:, 0]) <= {"ham", "spam"}


def test_pandas_y_with_nullable_dtypes_gives_task_names():
    X, y = _data(n_rows=120)
    frame = pd.DataFrame(
        {
            "toxic": pd.array([None if np.isnan(v) else int(v) for v in y[:, 0]], dtype="Int64"),
            "active": pd.array([None if np.isnan(v) else bool(v) for v in y[:, 1]], dtype="boolean"),
        }
    )
    clf = MaskedMultiTaskClassifier(**SMALL).fit(pd.DataFrame(X, columns=list("abcd")), frame)
    assert clf.task_names_.tolist() == ["toxic", "active"]
    assert clf.feature_names_in_.tolist() == list("abcd")
    assert clf.classes_[1].tolist() == [False, True]
    assert clf.predict(pd.DataFrame(X, columns=list("abcd"))).shape == (120, 2)


def test_one_dimensional_y_predicts_one_dimensional():
    X, y = _data(n_rows=120)
    observed = ~np.isnan(y[:, 2])
    clf = MaskedMultiTaskClassifier(**SMALL).fit(X[observed], y[observed, 2].astype(int))
    assert clf.classes_.tolist() == [0, 1, 2]
    assert clf.predict(X).shape == (120,)
    assert clf.predict_proba(X).shape == (120, 3)


def test_garbage_at_masked_positions_does_not_change_the_model():
    X, y = _data(n_rows=120)
    marked = np.where(np.isnan(y), -1, y)
    garbage = marked.copy()
    garbage[np.isnan(y)] = -1
    reference = MaskedMultiTaskClassifier(**SMALL, missing_label=-1).fit(X, marked)
    nan_model = MaskedMultiTaskClassifier(**SMALL).fit(X, y)
    for a, b in zip(reference.predict_proba(X), nan_model.predict_proba(X), strict=True):
        np.testing.assert_array_equal(a, b)


def test_same_random_state_same_predictions_and_global_rng_untouched():
    X, y = _data(n_rows=120)
    torch.manual_seed(123)
    np.random.seed(123)
    torch_state, numpy_state = torch.random.get_rng_state(), np.random.get_state()
    first = MaskedMultiTaskClassifier(**SMALL, dropout=0.2).fit(X, y).predict_proba(X)
    second = MaskedMultiTaskClassifier(**SMALL, dropout=0.2).fit(X, y).predict_proba(X)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert torch.equal(torch_state, torch.random.get_rng_state())
    assert np.array_equal(numpy_state[1], np.random.get_state()[1])
    other = MaskedMultiTaskClassifier(**{**SMALL, "random_state": 1}, dropout=0.2).fit(X, y).predict_proba(X)
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("scoring, key, best", [("auto", "valid_score", np.argmax), ("loss", "valid_loss", np.argmin)])
def test_early_stopping_uses_a_random_split_and_restores_the_best_epoch(scoring, key, best):
    X, y = _data(n_rows=200)
    params = dict(
        hidden_layer_sizes=(16,),
        early_stopping=True,
        scoring=scoring,
        learning_rate_init=0.05,
        learning_rate_schedule="constant",  # a shorter cosine cycle would be another training
        random_state=0,
    )
    clf = MaskedMultiTaskClassifier(**params, max_iter=200, n_iter_no_change=3).fit(X, y)
    monitored = clf.history_[:, key]
    assert clf.n_iter_ < 200
    best_epoch = int(best(monitored)) + 1
    assert best_epoch == clf.n_iter_ - 3
    assert clf.validation_scores_ == pytest.approx(monitored)
    assert clf.best_validation_score_ == pytest.approx(monitored[best_epoch - 1])
    # the same training stopped at the best epoch (same seeds, same split) has the restored weights
    at_best = MaskedMultiTaskClassifier(**params, max_iter=best_epoch, n_iter_no_change=1000).fit(X, y)
    for a, b in zip(clf.predict_proba(X), at_best.predict_proba(X), strict=True):
        np.testing.assert_allclose(a, b)


def test_warm_start_continues_training():
    X, y = _data(n_rows=120)
    clf = MaskedMultiTaskClassifier(**{**SMALL, "max_iter": 5}, warm_start=True, tol=0)
    clf.fit(X, y)
    first_losses = list(clf.loss_curve_)
    clf.fit(X, y)
    assert clf.n_iter_ == 10
    assert clf.loss_curve_[:5] == first_losses
    assert clf.loss_curve_[-1] < first_losses[-1]


def test_logged_loss_is_the_minimized_loss_over_the_epoch():
    X, y = _data(n_rows=100)
    for normalization in ["per_task", "per_label", "per_sample"]:
        # learning rate 0: the weights do not move, so each epoch's loss is the whole-data loss
        clf = MaskedMultiTaskClassifier(
            hidden_layer_sizes=(8,),
            max_iter=1,
            batch_size=16,
            learning_rate_init=1e-12,
            alpha=0,
            loss_normalization=normalization,
            random_state=0,
        ).fit(X, y)
        full = MaskedMultiTaskClassifier(
            hidden_layer_sizes=(8,),
            max_iter=1,
            batch_size=100,
            learning_rate_init=1e-12,
            alpha=0,
            loss_normalization=normalization,
            random_state=0,
        ).fit(X, y)
        np.testing.assert_allclose(clf.loss_curve_[0], full.loss_curve_[0], rtol=1e-5)


@pytest.mark.parametrize(
    "y_change, error, match",
    [
        (lambda y: np.where(np.arange(y.size).reshape(y.shape) == 4, np.inf, y), ValueError, "infinity"),
        (lambda y: np.column_stack([y, np.full(len(y), np.nan)]), ValueError, "task 3 has no observed label"),
        (lambda y: y[:-1], ValueError, "inconsistent numbers of samples"),
        (lambda y: y[:, :, None], ValueError, "1-D .* or 2-D"),
        (lambda y: None, ValueError, "requires y to be passed"),
    ],
)
def test_bad_y_gets_a_clear_error(y_change, error, match):
    X, y = _data(n_rows=40)
    with pytest.raises(error, match=match):
        MaskedMultiTaskClassifier(**SMALL).fit(X, y_change(y))


def test_nan_in_X_is_rejected_with_sklearn_message():
    X, y = _data(n_rows=40)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MaskedMultiTaskClassifier(**SMALL).fit(X, y)


def test_wrong_number_of_features_or_tasks_at_predict_and_score(fitted):
    clf, X, y = fitted
    with pytest.raises(ValueError, match="expecting 4 features"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="y has 2 tasks, but this MaskedMultiTaskClassifier was fitted with 3"):
        clf.score(X, y[:, :2])


def test_unavailable_device_is_a_clear_error():
    X, y = _data(n_rows=40)
    with pytest.raises(ValueError, match="device="):
        MaskedMultiTaskClassifier(**SMALL, device="not-a-device").fit(X, y)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            MaskedMultiTaskClassifier(**SMALL, device="cuda").fit(X, y)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fit_on_gpu_predicts_like_the_cpu():
    X, y = _data(n_rows=120)
    gpu = MaskedMultiTaskClassifier(**SMALL, device="cuda").fit(X, y)
    assert gpu.score(X, y) > 0.6
    assert next(gpu.net_.module_.parameters()).is_cuda
