"""Labels in compact form: sparse y (a stored entry is a label), the long-table helper, and fits on them."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.exceptions import ConvergenceWarning

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskEstimator, MaskedMultiTaskRegressor, labels_from_long
from sklearn_mtl._labels import CompactLabels
from sklearn_mtl.metrics import masked_r2_score, masked_roc_auc_score
from sklearn_mtl.model_selection import MultiTaskStratifiedKFold

SMALL = dict(hidden_layer_sizes=(16,), max_iter=15, learning_rate_init=0.01, random_state=0, dtype="float64")


@pytest.fixture(autouse=True)
def _no_convergence_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _problem(n_rows=240, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, 5))
    y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] > 0.5]).astype(float)
    y[rng.rand(*y.shape) < 0.6] = np.nan
    return X, y


def _as_sparse(y):
    rows, tasks = np.nonzero(~np.isnan(y))
    return labels_from_long(rows, tasks, y[rows, tasks], shape=y.shape)


def test_long_table_becomes_a_sparse_y_that_stores_explicit_zeros():
    y = labels_from_long([0, 2, 2], [1, 0, 1], [1.0, 0.0, 3.5])
    assert sp.issparse(y) and y.shape == (3, 2) and y.nnz == 3
    assert CompactLabels.from_sparse(y).to_dense().tolist()[2] == [0.0, 3.5]
    assert np.isnan(CompactLabels.from_sparse(y).to_dense()[1]).all()


@pytest.mark.parametrize(
    "rows, tasks, labels, match",
    [
        ([0, -1], [0, 0], [1.0, 0.0], "rows has a negative index \\(-1\\) at position 1"),
        ([0, 0], [1, 1], [1.0, 0.0], "task 1 has two labels for row 0"),
        ([0, 1], [0, 2], [1.0, np.nan], "task 2 has a stored nan at row 1"),
        ([0, 1], [0], [1.0, 2.0], "one entry per label"),
        ([0.5], [0], [1.0], "rows must hold integer indices"),
    ],
)
def test_bad_long_tables_are_clear_errors(rows, tasks, labels, match):
    with pytest.raises(ValueError, match=match):
        labels_from_long(rows, tasks, labels)


def test_a_sparse_y_with_duplicates_or_stored_nan_names_the_task():
    duplicated = sp.csr_matrix((np.array([1.0, 0.0]), np.array([1, 1]), np.array([0, 2, 2])), shape=(2, 2))
    with pytest.raises(ValueError, match="task 1 has two labels for row 0"):
        MaskedMultiTaskClassifier(**SMALL).fit(np.zeros((2, 3)), duplicated)
    stored_nan = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0]]))
    stored_nan.data[1] = np.nan
    with pytest.raises(ValueError, match="task 1 has a stored nan at row 1.*leave missing labels unstored"):
        MaskedMultiTaskClassifier(**SMALL).fit(np.zeros((2, 3)), stored_nan)


@pytest.mark.parametrize(
    "params",
    [{}, {"class_weight": "balanced", "sampling": "task_balanced"}, {"early_stopping": True}],
    ids=["defaults", "class_weight_task_balanced", "early_stopping"],
)
def test_sparse_y_fits_the_model_of_the_same_labels_dense(params):
    X, y = _problem()
    dense = MaskedMultiTaskClassifier(**SMALL, **params).fit(X, y)
    sparse = MaskedMultiTaskClassifier(**SMALL, **params).fit(X, _as_sparse(y))
    for a, b in zip(dense.predict_proba(X), sparse.predict_proba(X), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert dense.loss_curve_ == pytest.approx(sparse.loss_curve_, rel=1e-10)


def test_mixed_tasks_and_sample_weights_fit_alike_from_sparse_y():
    X, y = _problem()
    y[:, 2] = np.where(np.isnan(y[:, 2]), np.nan, X[:, 3] * 10 + 3)
    weights = np.random.RandomState(1).uniform(0, 2, size=len(X))
    weights[:10] = 0.0
    params = dict(SMALL, task_types=["classification", "classification", "regression"])
    dense = MaskedMultiTaskEstimator(**params).fit(X, y, sample_weight=weights)
    sparse = MaskedMultiTaskEstimator(**params).fit(X, _as_sparse(y), sample_weight=weights)
    np.testing.assert_allclose(dense.predict(X), sparse.predict(X), rtol=1e-10)
    assert [task.mean for task in dense.tasks_] == pytest.approx([task.mean for task in sparse.tasks_])


def test_score_metrics_and_splitter_read_a_sparse_y():
    X, y = _problem()
    sparse_y = _as_sparse(y)
    clf = MaskedMultiTaskClassifier(**SMALL).fit(X, sparse_y)
    assert clf.score(X, sparse_y) == clf.score(X, y)
    assert masked_roc_auc_score(sparse_y, clf.predict_proba(X)) == masked_roc_auc_score(y, clf.predict_proba(X))
    assert masked_r2_score(sparse_y, clf.predict(X)) == masked_r2_score(y, clf.predict(X))
    splitter = MultiTaskStratifiedKFold(3, shuffle=True, random_state=0)
    for (a, b), (c, d) in zip(splitter.split(X, sparse_y), splitter.split(X, y), strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_partial_fit_takes_sparse_y_batches():
    X, y = _problem()
    reg = MaskedMultiTaskRegressor(**SMALL)
    targets = np.where(np.isnan(y), np.nan, X[:, :3])
    reg.partial_fit(X[:120], _as_sparse(targets[:120])).partial_fit(X[120:], _as_sparse(targets[120:]))
    assert reg.n_iter_ == 2 and reg.predict(X).shape == (240, 3)


def test_bad_sparse_y_is_a_clear_error_and_leaves_nothing_fitted():
    X, y = _problem()
    continuous = _as_sparse(np.where(np.isnan(y), np.nan, X[:, :3] + 0.5))
    clf = MaskedMultiTaskClassifier(**SMALL)
    with pytest.raises(ValueError, match="Unknown label type: continuous in task 0"):
        clf.fit(X, continuous)
    assert not hasattr(clf, "tasks_") and not hasattr(clf, "net_")
    with pytest.raises(ValueError, match="A 2-D sample_weight needs a dense y"):
        clf.fit(X, _as_sparse(y), sample_weight=np.ones(y.shape))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X[:10], _as_sparse(y))
    empty_task = _as_sparse(np.column_stack([y[:, :2], np.full(len(y), np.nan)]))
    with pytest.raises(ValueError, match="task 2 has no observed label"):
        clf.fit(X, empty_task)


def test_thousands_of_tasks_with_one_label_per_row_train_their_heads_sparsely():
    rng = np.random.RandomState(0)
    n_rows, n_tasks = 3000, 1200
    X = rng.normal(size=(n_rows, 6))
    tasks = np.arange(n_rows) % (n_tasks - 1)  # two or three labels per task; the last one is set apart
    rows = np.concatenate([np.arange(n_rows), [0, 1]])
    tasks = np.concatenate([tasks, [n_tasks - 1] * 2])
    y = labels_from_long(rows, tasks, (X[rows, 0] > 0).astype(float), shape=(n_rows, n_tasks))
    clf = MaskedMultiTaskClassifier(**{**SMALL, "max_iter": 3, "dtype": "float32"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tasks with one class among their few labels
        clf.fit(X, y)
    module = clf.net_.module_
    sparse_parameters = clf.net_.sparse_optimizer_.param_groups[0]["params"]
    assert module.sparse_heads and any(p is module.heads.weight for p in sparse_parameters)
    assert "train_loss" in clf.history_[-1] and not any(key.startswith("train_loss_task_") for key in clf.history_[-1])
    assert clf.predict_proba(X[:5])[0].shape == (5, clf.tasks_[0].classes.size)
    # a batch updates the head rows of its labelled tasks only: a task with no label keeps its head
    before = module.heads.weight.detach().clone()
    first_task = np.full(100, clf.tasks_[0].classes[0])
    other = labels_from_long(np.arange(100), np.zeros(100, dtype=int), first_task, shape=(100, n_tasks))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        clf.partial_fit(X[:100], other)
    after = module.heads.weight.detach()
    assert not torch.equal(after[0], before[0]) and torch.equal(after[1:], before[1:])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_sparse_x_and_sparse_y_train_on_gpu_like_on_cpu():
    X, y = _problem(n_rows=300)
    X_sparse = sp.csr_matrix(np.where(np.abs(X) > 1, X, 0.0))
    params = dict(SMALL, early_stopping=True, sampling="task_balanced")
    cpu = MaskedMultiTaskClassifier(**params).fit(X_sparse, _as_sparse(y))
    gpu = MaskedMultiTaskClassifier(**params, device="cuda").fit(X_sparse, _as_sparse(y))
    assert gpu.net_.module_.sparse_layer.bag.weight.is_cuda
    for a, b in zip(cpu.predict_proba(X_sparse), gpu.predict_proba(X_sparse), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
