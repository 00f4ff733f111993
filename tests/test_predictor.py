"""The predictor built once per fit: what predict reads, and when it is rebuilt."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskRegressor
from sklearn_mtl._inputs import network_input
from sklearn_mtl._predictor import NetworkPredictor

SMALL = dict(hidden_layer_sizes=(8,), max_iter=3, learning_rate_init=0.01, random_state=0)

# short fits, on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n_rows=120, n_features=4, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, n_features))
    y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(float)
    y[rng.rand(*y.shape) < 0.3] = np.nan
    return X, y


def test_predict_reads_a_float64_copy_built_once_per_fit():
    X, y = _data()
    clf = MaskedMultiTaskClassifier(**SMALL).fit(X, y)
    predictor = clf._predictor_
    assert next(predictor.module.parameters()).dtype == torch.float64
    assert not predictor.module.training
    assert all(not p.requires_grad for p in predictor.module.parameters())
    # the fitted module keeps its training dtype, and predict calls reuse the same copy
    assert next(clf.net_.module_.parameters()).dtype == torch.float32
    first = clf.predict_proba(X)
    assert clf._predictor_ is predictor
    np.testing.assert_array_equal(np.hstack(clf.predict_proba(X)), np.hstack(first))


@pytest.mark.parametrize("how", ["partial_fit", "warm_start", "add_tasks"])
def test_further_training_rebuilds_the_predictor(how):
    X, y = _data()
    clf = MaskedMultiTaskClassifier(**SMALL).fit(X, y)
    before, predictor = clf.predict_proba(X), clf._predictor_
    if how == "partial_fit":
        clf.partial_fit(X, y)
    elif how == "warm_start":
        clf.set_params(warm_start=True).fit(X, y)
    else:
        clf.add_tasks(X, (X[:, 3] > 0).astype(float)[:, None])
    assert clf._predictor_ is not predictor
    after = clf.predict_proba(X)
    if how == "add_tasks":  # a new task to predict; the fitted tasks' layers were frozen
        assert len(after) == 3
        np.testing.assert_allclose(np.hstack(after[:2]), np.hstack(before), rtol=1e-12)
    else:
        assert not np.allclose(np.hstack(after), np.hstack(before))
    # what predict gives is what the trained module computes
    with torch.no_grad():
        raw = clf.net_.module_.to(torch.float64)(torch.from_numpy(network_input(clf, X))).numpy()
    clf.net_.module_.to(torch.float32)
    np.testing.assert_allclose(np.column_stack([p[:, 1] for p in after]), 1 / (1 + np.exp(-raw)), rtol=1e-12)


def test_a_loaded_model_rebuilds_its_predictor_and_the_pickle_does_not_store_it():
    X, y = _data()
    reg = MaskedMultiTaskRegressor(**SMALL).fit(X, np.nan_to_num(y))
    blob = pickle.dumps(reg)
    assert b"NetworkPredictor" not in blob
    loaded = pickle.loads(blob)
    assert isinstance(loaded._predictor_, NetworkPredictor)
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


def test_a_failed_fit_leaves_no_predictor():
    X, y = _data()
    clf = MaskedMultiTaskClassifier(**SMALL)
    with pytest.raises(ValueError):
        clf.fit(X, np.full_like(y, np.nan))
    assert not hasattr(clf, "_predictor_")


def test_a_dense_mostly_zero_X_is_read_through_its_non_zeros_with_the_same_predictions():
    rng = np.random.RandomState(0)
    X = (rng.rand(150, 300) < 0.02).astype(float)
    y = (X[:, :2].sum(axis=1, keepdims=True) + rng.rand(150, 2) > 0.6).astype(float)
    clf = MaskedMultiTaskClassifier(**SMALL).fit(X, y)
    assert clf._predictor_.sparse_batches
    dense, sparse = clf.predict_proba(X), clf.predict_proba(sp.csr_matrix(X))
    np.testing.assert_allclose(np.hstack(dense), np.hstack(sparse), rtol=0, atol=1e-12)
    # a row's prediction does not depend on the rows predicted with it
    np.testing.assert_array_equal(clf.predict_proba(X[3:4])[0], dense[0][3:4])


def test_a_module_changed_in_place_after_fit_is_not_predicted_with_stale_weights():
    X, y = _data()
    clf = MaskedMultiTaskClassifier(**SMALL).fit(X, y)
    predictor = clf._predictor_
    assert predictor.is_current(clf.net_.module_)
    with torch.no_grad():
        clf.net_.module_.heads.bias.fill_(5.0)
    assert not predictor.is_current(clf.net_.module_)
    probabilities = clf.predict_proba(X)
    assert clf._predictor_ is not predictor and all(p[:, 1].min() > 0.9 for p in probabilities)
