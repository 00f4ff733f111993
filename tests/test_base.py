"""The estimator contract shared by both estimators: parameters, feature names, cloning, persistence,
warm start, partial_fit and sample weights."""

import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from sklearn_mtl import SKOPS_TRUSTED_TYPES, MaskedMultiTaskClassifier, MaskedMultiTaskRegressor
from sklearn_mtl._first_layer import (
    _SPARSE_GRADIENT_COLUMNS_PER_NONZERO,
    _SPARSE_GRADIENT_MIN_FEATURES,
    _SPARSE_INPUT_MAX_DENSITY,
)
from sklearn_mtl._inputs import _WIDE_INPUT

SMALL = dict(hidden_layer_sizes=(8,), max_iter=10, learning_rate_init=0.01, random_state=0)


# tiny networks and few epochs: max_iter is reached on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n_rows=120, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, 4))
    y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(float)
    y[rng.rand(*y.shape) < 0.3] = np.nan
    return X, y


@pytest.fixture(scope="module")
def fitted_pair():
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier = MaskedMultiTaskClassifier(**SMALL).fit(X, y)
        regressor = MaskedMultiTaskRegressor(**SMALL).fit(X, np.where(np.isnan(y), np.nan, X[:, :2]))
    return classifier, regressor, X


@pytest.mark.parametrize(
    "params, match",
    [
        ({"activation": "swish"}, "'activation' parameter .* must be a str among"),
        ({"alpha": -1.0}, "'alpha' parameter .* must be a str among {'auto'} or a float in the range \\[0"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"max_iter": 0}, "'max_iter' parameter"),
        ({"dropout": 1.0}, "'dropout' parameter"),
        ({"loss_normalization": "mean"}, "'loss_normalization' parameter"),
        ({"validation_fraction": 1.5}, "'validation_fraction' parameter"),
        ({"dtype": "float16"}, "'dtype' parameter"),
        ({"net_params": "lr=1"}, "'net_params' parameter"),
    ],
)
def test_invalid_parameters_are_named_when_fit_starts(params, match):
    X, y = _data(n_rows=20)
    estimator = MaskedMultiTaskClassifier(**{**SMALL, **params})  # __init__ stores, never checks
    with pytest.raises(ValueError, match=match):
        estimator.fit(X, y)


@pytest.mark.parametrize(
    "task_weights, match",
    [([1.0], "one weight per task \\(2\\)"), ([1.0, -1.0], "finite and non-negative"), ({"x": 2.0}, "does not have")],
)
def test_invalid_task_weights_say_what_is_wrong(task_weights, match):
    X, y = _data(n_rows=20)
    with pytest.raises(ValueError, match=match):
        MaskedMultiTaskClassifier(**SMALL, task_weights=task_weights).fit(X, y)


def test_feature_names_are_learned_and_checked():
    X, y = _data(n_rows=40)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = MaskedMultiTaskClassifier(**SMALL).fit(frame, y)
    assert clf.feature_names_in_.tolist() == ["a", "b", "c", "d"] and clf.n_features_in_ == 4
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        clf.predict(X)
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- z"):
        clf.predict(pd.DataFrame(X, columns=["a", "b", "c", "z"]))
    assert not hasattr(MaskedMultiTaskClassifier(**SMALL).fit(X, y), "feature_names_in_")


def test_clone_and_nested_params_through_a_pipeline():
    pipeline = make_pipeline(StandardScaler(), MaskedMultiTaskClassifier(**SMALL, net_params={"optimizer__eps": 1e-6}))
    pipeline.set_params(maskedmultitaskclassifier__alpha=0.5)
    cloned = clone(pipeline)
    params = cloned.get_params()
    assert params["maskedmultitaskclassifier__alpha"] == 0.5
    assert params["maskedmultitaskclassifier__net_params"] == {"optimizer__eps": 1e-6}
    X, y = _data(n_rows=40)
    fitted = cloned.fit(X, y)[-1]
    assert fitted.net_.optimizer_.defaults["eps"] == 1e-6


@pytest.mark.parametrize("which", [0, 1])
def test_pickle_round_trip_predicts_identically(fitted_pair, which):
    estimator, X = fitted_pair[which], fitted_pair[2]
    restored = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(restored.predict(X), estimator.predict(X))
    # the net's link back to its estimator (for skorch's EpochScoring) is not pickled but restored
    assert restored.net_.estimator_ is restored


@pytest.mark.parametrize("which", [0, 1])
def test_skops_round_trip_with_the_listed_trusted_types(fitted_pair, which, tmp_path):
    sio = pytest.importorskip("skops.io")
    estimator, X = fitted_pair[which], fitted_pair[2]
    path = tmp_path / "model.skops"
    sio.dump(estimator, path)
    assert set(sio.get_untrusted_types(file=path)) <= set(SKOPS_TRUSTED_TYPES)
    restored = sio.load(path, trusted=SKOPS_TRUSTED_TYPES)
    np.testing.assert_array_equal(restored.predict(X), estimator.predict(X))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_model_trained_on_gpu_loads_and_predicts_on_a_cpu_only_process(tmp_path):
    X, y = _data()
    estimator = MaskedMultiTaskClassifier(**SMALL, device="cuda").fit(X, y)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(estimator))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "expected.npy", estimator.predict_proba(X)[0])
    script = (
        "import pickle, numpy as np, warnings; warnings.simplefilter('ignore');"
        f"m = pickle.loads(open({str(path)!r}, 'rb').read());"
        f"X = np.load({str(tmp_path / 'X.npy')!r}); expected = np.load({str(tmp_path / 'expected.npy')!r});"
        "np.testing.assert_allclose(m.predict_proba(X)[0], expected, rtol=1e-6); print('ok')"
    )
    # a process that sees no GPU; PYTHONPATH passes through for installs that rely on it
    env = {"CUDA_VISIBLE_DEVICES": "", "PATH": "", **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr


def test_warm_start_continues_and_refit_without_it_restarts():
    X, y = _data()
    warm = MaskedMultiTaskRegressor(**{**SMALL, "max_iter": 4}, warm_start=True, tol=0).fit(X, X[:, :2])
    first = warm.predict(X)
    warm.fit(X, X[:, :2])
    assert warm.n_iter_ == 8 and not np.array_equal(first, warm.predict(X))
    cold = MaskedMultiTaskRegressor(**{**SMALL, "max_iter": 4}, tol=0).fit(X, X[:, :2])
    cold.fit(X, X[:, :2])
    assert cold.n_iter_ == 4
    np.testing.assert_array_equal(cold.predict(X), first)


def test_warm_start_refuses_other_tasks():
    X, y = _data()
    warm = MaskedMultiTaskClassifier(**SMALL, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="y has 1 tasks, but this MaskedMultiTaskClassifier was fitted with 2"):
        warm.fit(X, y[:, :1])


def test_partial_fit_needs_classes_first_then_learns_from_batches_missing_whole_tasks():
    X, y = _data(n_rows=400)
    clf = MaskedMultiTaskClassifier(**SMALL)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    only_task_0 = y.copy()
    only_task_0[:, 1] = np.nan
    only_task_1 = y.copy()
    only_task_1[:, 0] = np.nan
    clf.partial_fit(X[:200], only_task_0[:200], classes=[[0.0, 1.0], [0.0, 1.0]])
    assert clf.n_iter_ == 1
    heads_after_first = clf.net_.module_.heads.weight.detach().clone()
    for _ in range(30):
        clf.partial_fit(X[200:], only_task_1[200:])
        clf.partial_fit(X[:200], only_task_0[:200])
    assert clf.n_iter_ == 61
    assert not torch.equal(heads_after_first, clf.net_.module_.heads.weight)
    assert clf.score(X, y) > 0.8
    with pytest.raises(ValueError, match="expecting 4 features"):
        clf.partial_fit(X[:, :3], y)


def test_partial_fit_declared_classes_may_be_absent_from_a_batch():
    X, y = _data(n_rows=60)
    clf = MaskedMultiTaskClassifier(**SMALL).partial_fit(X, y, classes=[[0.0, 1.0, 2.0], [0.0, 1.0]])
    assert [c.tolist() for c in clf.classes_] == [[0.0, 1.0, 2.0], [0.0, 1.0]]
    assert clf.predict_proba(X)[0].shape == (60, 3)
    with pytest.raises(ValueError, match="task 1 has labels \\[5.0\\]"):
        clf.partial_fit(X[:1], np.array([[1.0, 5.0]]))


def test_regressor_partial_fit_learns_the_scaling_on_the_first_call():
    X, _ = _data(n_rows=200)
    y = np.column_stack([X[:, 0], 50 * X[:, 1]])
    reg = MaskedMultiTaskRegressor(**SMALL)
    for _ in range(40):
        reg.partial_fit(X, y)
    assert reg.score(X, y) > 0.8


@pytest.mark.parametrize("Estimator", [MaskedMultiTaskClassifier, MaskedMultiTaskRegressor])
def test_sample_weight_two_is_repeating_the_row_in_the_float32_default(Estimator):
    X, y = _data(n_rows=30)
    if Estimator is MaskedMultiTaskRegressor:
        y = np.where(np.isnan(y), np.nan, X[:, :2])
    weights = np.random.RandomState(1).randint(0, 3, size=30)
    params = {**SMALL, "batch_size": 100, "max_iter": 20}
    weighted = Estimator(**params).fit(X, y, sample_weight=weights)
    repeated = Estimator(**params).fit(X.repeat(weights, axis=0), y.repeat(weights, axis=0))
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-5, atol=1e-6)


def test_zero_sample_weight_rows_do_not_influence_the_model():
    X, y = _data(n_rows=30)
    garbage = y.copy()
    garbage[:5] = 1 - np.nan_to_num(garbage[:5])
    weights = np.r_[np.zeros(5), np.ones(25)]
    params = {**SMALL, "batch_size": 100, "dtype": "float64"}
    a = MaskedMultiTaskClassifier(**params).fit(X, y, sample_weight=weights)
    b = MaskedMultiTaskClassifier(**params).fit(X, garbage, sample_weight=weights)
    np.testing.assert_allclose(a.predict_proba(X)[1], b.predict_proba(X)[1])


@pytest.mark.parametrize(
    "sample_weight, match",
    [(-np.ones(20), "Negative values in data passed to `sample_weight`"), (np.ones(3), "sample_weight.shape")],
)
def test_bad_sample_weight_is_rejected(sample_weight, match):
    X, y = _data(n_rows=20)
    with pytest.raises(ValueError, match=match):
        MaskedMultiTaskClassifier(**SMALL).fit(X, y, sample_weight=sample_weight)


def _dropouts(estimator):
    from sklearn_mtl.modules import SeededDropout

    return [layer.p for layer in estimator.net_.module_.modules() if isinstance(layer, SeededDropout)]


@pytest.mark.parametrize("n_features, expected", [(4, []), (100, [0.2, 0.5])])
def test_auto_dropout_is_for_classifiers_on_wide_inputs(n_features, expected):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, n_features))
    y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(float)
    params = dict(SMALL, max_iter=1)
    assert _dropouts(MaskedMultiTaskClassifier(**params).fit(X, y)) == expected
    assert _dropouts(MaskedMultiTaskRegressor(**params).fit(X, X[:, :2])) == []
    assert _dropouts(MaskedMultiTaskClassifier(**params, dropout=0.1, input_dropout=0.0).fit(X, y)) == [0.1]


def test_auto_alpha_is_an_l2_coefficient_on_the_mean_batch_loss():
    X, y = _data(n_rows=40)
    clf = MaskedMultiTaskClassifier(**dict(SMALL, max_iter=1)).fit(X, y)
    assert (clf.net_.alpha, clf.net_.l2) == (0.0, 0.003)
    clf = MaskedMultiTaskClassifier(**dict(SMALL, max_iter=1), alpha=0.5).fit(X, y)
    assert (clf.net_.alpha, clf.net_.l2) == (0.5, 0.0)


class _AdamOfTheUsers(torch.optim.Adam):
    """Not the default Adam: the penalty is back-propagated rather than added by the optimizer."""


@pytest.mark.parametrize("weighted", [False, True])
def test_alphas_penalty_added_by_the_optimizer_is_the_one_back_propagated(weighted):
    # with the default Adam, alpha's gradient (alpha / batch weight) * W comes from Adam's
    # weight_decay, set per batch; it must train the model the back-propagated penalty trains
    X, y = _data(n_rows=130)  # batches of 32, 32, 32, 32 and 2 rows: the last one's coefficient differs
    weights = np.random.RandomState(3).uniform(0.0, 3.0, size=len(X)) if weighted else None
    params = dict(SMALL, max_iter=4, batch_size=32, alpha=0.3, early_stopping=False, random_state=0)
    fused = MaskedMultiTaskClassifier(**params).fit(X, y, sample_weight=weights)
    assert any(group.get("l2_penalty") for group in fused.net_.optimizer_.param_groups)
    propagated = MaskedMultiTaskClassifier(**params, optimizer=_AdamOfTheUsers).fit(X, y, sample_weight=weights)
    assert not any(group.get("l2_penalty") for group in propagated.net_.optimizer_.param_groups)
    np.testing.assert_allclose(fused.predict_proba(X)[0], propagated.predict_proba(X)[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fused.loss_curve_, propagated.loss_curve_, rtol=1e-4)


def test_auto_l2_weighs_less_on_more_rows_than_the_panel_chose_it_on():
    # up to 10,000 rows the coefficient of the panel; beyond, times (10,000 / rows) ** 1.5 (MUV's
    # rare positives among 67,000 rows: validation PRC-AUC 0.088 at the panel's, 0.138-0.147 at a
    # tenth to a thirtieth)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40_000, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(float)
    params = dict(hidden_layer_sizes=(2,), max_iter=1, batch_size=4096, random_state=0)
    assert MaskedMultiTaskClassifier(**params).fit(X[:10_000], y[:10_000]).net_.l2 == 0.003
    assert MaskedMultiTaskClassifier(**params).fit(X, y).net_.l2 == pytest.approx(0.003 / 8)
    assert MaskedMultiTaskClassifier(**params, alpha=0.5).fit(X, y).net_.l2 == 0.0


@pytest.mark.parametrize("n_samples, batch_size", [(10, 10), (100, 32), (3416, 68), (7048, 128), (10**6, 128)])
def test_auto_batch_size_gives_about_50_steps_per_epoch(n_samples, batch_size):
    from sklearn_mtl._engine import _auto_batch_size

    assert _auto_batch_size(n_samples) == batch_size


@pytest.mark.parametrize(
    "labels_per_task, positives, schedule, expected",
    [
        (2990, 0.5, "constant", False),
        (3000, 0.5, "constant", True),
        (3000, 0.5, "cosine", False),  # the cosine schedule's end is the stop
        (6000, 0.08, "constant", False),  # 480 positives: 48 in the split, too few to pick an epoch
        (6000, 0.09, "constant", True),
    ],
)
def test_auto_early_stopping_needs_3000_labels_and_500_of_the_rarest_class(
    labels_per_task, positives, schedule, expected
):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(6000, 3))
    y = np.zeros((6000, 3))
    for task in range(3):  # exactly this share of positives among each task's labels
        y[rng.permutation(labels_per_task if task < 2 else 6000)[: int(positives * labels_per_task)], task] = 1.0
    y[labels_per_task:, :2] = np.nan  # two of three tasks: the median task has labels_per_task labels
    params = dict(hidden_layer_sizes=(4,), max_iter=1, random_state=0, learning_rate_schedule=schedule)
    clf = MaskedMultiTaskClassifier(**params).fit(X, y)
    assert (clf.validation_scores_ is not None) == expected
    assert ("valid_score" in clf.history_[-1]) == expected


def test_the_trained_net_is_a_plain_skorch_net_whose_outputs_are_raw(fitted_pair):
    estimator, X = fitted_pair[0], fitted_pair[2]
    net = estimator.net_
    outputs = net.predict_proba(X)
    assert outputs.shape == (len(X), sum(task.head_width for task in estimator.tasks_))
    # the estimator's parameters are not the net's, and cloning the net does not clone the estimator
    assert "random_state" not in net.get_params() and not any("estimator" in key for key in net.get_params())
    assert not hasattr(clone(net), "estimator_")


def _sparse_data(n_rows=300, n_features=400, seed=0):
    """Word-count-like input: a few non-zeros per row; two tasks that read a handful of columns."""
    rng = np.random.RandomState(seed)
    X = sp.random(n_rows, n_features, density=0.03, random_state=rng, format="csr", data_rvs=lambda n: rng.rand(n) + 1)
    X[:, n_features - 1] = 0.0  # a column that no row uses
    X.eliminate_zeros()
    signal = np.asarray(X[:, :40].sum(axis=1)).ravel()
    y = np.column_stack([signal > np.median(signal), np.asarray(X[:, 40:80].sum(axis=1)).ravel() > 1]).astype(float)
    y[rng.rand(*y.shape) < 0.3] = np.nan
    return X, y


def _wide_sparse_data(n_features=_SPARSE_GRADIENT_MIN_FEATURES):
    """``_sparse_data``'s 400 columns (about 12 non-zeros a row) and as many nearly empty ones as make
    ``n_features``: wide, with few non-zeros a batch, where the first layer takes a sparse gradient
    (``_first_layer.py``); the last column no row uses."""
    X, y = _sparse_data()
    rest = sp.random(X.shape[0], n_features - X.shape[1], density=1 / n_features, random_state=1, format="csr")
    X = sp.hstack([X, rest], format="csr")
    X[:, -1] = 0.0
    X.eliminate_zeros()
    return X, y


def test_wide_input_whose_batches_touch_most_columns_keeps_the_dense_gradient():
    # 10,000 columns, 300 non-zeros a row, batches of 32: 9,600 non-zeros a batch, fewer than
    # _SPARSE_GRADIENT_COLUMNS_PER_NONZERO columns each, where SparseAdam's step costs more than Adam's
    X, y = _sparse_data(n_features=_SPARSE_GRADIENT_MIN_FEATURES)
    assert X.nnz / X.shape[0] * 32 * _SPARSE_GRADIENT_COLUMNS_PER_NONZERO > X.shape[1]
    clf = MaskedMultiTaskClassifier(**{**SMALL, "hidden_layer_sizes": (16,), "max_iter": 1}).fit(X, y)
    layer = clf.net_.module_.sparse_layer
    assert layer is not None and not layer.sparse_gradient and not hasattr(clf.net_, "sparse_optimizer_")


def test_wide_sparse_input_trains_a_sparse_first_layer_with_sparse_adam():
    X, y = _wide_sparse_data()
    clf = MaskedMultiTaskClassifier(**{**SMALL, "hidden_layer_sizes": (16,)}).fit(X, y)
    assert clf.net_.module_.sparse_layer is not None
    assert isinstance(clf.net_.sparse_optimizer_, torch.optim.SparseAdam)
    assert all(p.layout == torch.strided for p in clf.net_.optimizer_.param_groups[0]["params"])
    # the same X dense predicts the same; a refit with the same random_state reproduces the model
    np.testing.assert_allclose(clf.predict_proba(X.toarray())[0], clf.predict_proba(X)[0], rtol=1e-12)
    again = MaskedMultiTaskClassifier(**{**SMALL, "hidden_layer_sizes": (16,)}).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X)[1], clf.predict_proba(X)[1])
    assert clf.score(X, y) > 0.7


class _PassCounter(Callback):
    """Counts the module's forward passes in training, and the training steps."""

    def on_train_begin(self, net, **kwargs):
        self.forwards_, self.steps_ = 0, 0

        def count(module, args):
            self.forwards_ += module.training

        net.module_.register_forward_pre_hook(count)

    def on_batch_end(self, net, training=False, **kwargs):
        self.steps_ += training


def test_a_sparse_first_layer_takes_one_forward_and_backward_pass_per_step():
    """With two optimizers (Adam, and SparseAdam for the sparse first layer) skorch ran each step's closure
    once per optimizer: two forward and backward passes per batch."""
    X, y = _wide_sparse_data()
    params = {**SMALL, "hidden_layer_sizes": (16,), "max_iter": 2, "callbacks": [("passes", _PassCounter())]}
    clf = MaskedMultiTaskClassifier(**params).fit(X, y)
    passes = dict(clf.net_.callbacks_)["passes"]
    assert clf.net_.sparse_optimizer_ is not None and passes.steps_ > 0
    assert passes.forwards_ == passes.steps_
    weight = clf.net_.module_.sparse_layer.bag.weight
    assert int(clf.net_.sparse_optimizer_.state[weight]["step"]) == passes.steps_  # each optimizer steps once


def test_narrow_sparse_input_and_the_same_input_dense_fit_the_same_model_with_adam():
    X, y = _sparse_data()
    params = {**SMALL, "hidden_layer_sizes": (16,), "input_dropout": 0.2, "dtype": "float64"}
    sparse_fit = MaskedMultiTaskClassifier(**params).fit(X, y)
    dense_fit = MaskedMultiTaskClassifier(**params).fit(X.toarray(), y)
    for clf in (sparse_fit, dense_fit):
        layer = clf.net_.module_.sparse_layer
        assert layer is not None and not layer.sparse_gradient and not hasattr(clf.net_, "sparse_optimizer_")
        assert any(p is layer.bag.weight for p in clf.net_.optimizer_.param_groups[0]["params"])
    for a, b in zip(sparse_fit.predict_proba(X), dense_fit.predict_proba(X.toarray()), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_dense_input_takes_the_nonzero_layer_below_the_density_rule_only():
    rng = np.random.RandomState(0)
    y = rng.randint(2, size=(120, 2)).astype(float)
    mostly_zero = (rng.rand(120, _WIDE_INPUT) < _SPARSE_INPUT_MAX_DENSITY / 2).astype(float)
    busy = (rng.rand(120, _WIDE_INPUT) < 0.5).astype(float)
    narrow = (rng.rand(120, _WIDE_INPUT - 1) < _SPARSE_INPUT_MAX_DENSITY / 2).astype(float)
    for X, expected in ((mostly_zero, True), (busy, False), (narrow, False)):
        clf = MaskedMultiTaskClassifier(**{**SMALL, "max_iter": 1}).fit(X, y)
        assert (clf.net_.module_.sparse_layer is not None) is expected


def test_a_column_no_row_uses_is_never_updated():
    X, y = _wide_sparse_data()
    clf = MaskedMultiTaskClassifier(**{**SMALL, "hidden_layer_sizes": (16,), "max_iter": 1}).fit(X, y)
    start = clf.net_.module_.sparse_layer.bag.weight.detach().clone()
    clf.set_params(warm_start=True, max_iter=5).fit(X, y)
    weight = clf.net_.module_.sparse_layer.bag.weight.detach()
    assert torch.equal(weight[-1], start[-1]) and not torch.equal(weight[:-1], start[:-1])


def test_sparse_input_with_a_gradient_based_weighting_or_no_hidden_layer_is_densified():
    X, y = _sparse_data(n_rows=100)
    pcgrad = MaskedMultiTaskClassifier(**{**SMALL, "max_iter": 2}, task_weighting="pcgrad").fit(X, y)
    linear = MaskedMultiTaskClassifier(**{**SMALL, "max_iter": 2, "hidden_layer_sizes": ()}).fit(X, y)
    for clf in (pcgrad, linear):
        assert clf.net_.module_.sparse_layer is None and not hasattr(clf.net_, "sparse_optimizer_")
        assert clf.predict(X).shape == y.shape


def test_a_sparse_fitted_model_continues_on_dense_batches_and_survives_pickling():
    X, y = _sparse_data()
    reg = MaskedMultiTaskRegressor(**{**SMALL, "hidden_layer_sizes": (16,)})
    targets = np.where(np.isnan(y), np.nan, np.asarray(X[:, :3].sum(axis=1)))
    reg.partial_fit(X[:150], targets[:150]).partial_fit(X[150:].toarray(), targets[150:])
    assert reg.n_iter_ == 2 and reg.net_.module_.sparse_layer is not None
    restored = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(restored.predict(X), reg.predict(X))


def test_sparse_output_of_pipeline_steps_reaches_the_sparse_first_layer():
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.RandomState(0)
    categories = rng.randint(30, size=(200, 3))
    y = np.column_stack([categories[:, 0] < 15, categories[:, 1] % 2 == 0]).astype(float)
    one_hot = make_pipeline(OneHotEncoder(sparse_output=True), MaskedMultiTaskClassifier(**SMALL)).fit(categories, y)
    assert one_hot[-1].net_.module_.sparse_layer is not None and one_hot.score(categories, y) > 0.8
    words = [" ".join(f"w{w}" for w in row) for row in categories]
    hashed = make_pipeline(HashingVectorizer(n_features=2**12), MaskedMultiTaskClassifier(**SMALL)).fit(words, y)
    assert hashed[-1].net_.module_.sparse_layer is not None and hashed.predict(words).shape == y.shape


def test_the_convergence_warning_points_at_the_call_of_fit():
    X, y = _data()
    with pytest.warns(ConvergenceWarning) as caught:
        MaskedMultiTaskClassifier(**{**SMALL, "max_iter": 1, "learning_rate_schedule": "constant"}).fit(X, y)
    assert caught[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the cosine schedule's budget is its planned end
        MaskedMultiTaskClassifier(**{**SMALL, "max_iter": 1}).fit(X, y)


def test_cosine_schedule_anneals_the_rate_to_near_zero_and_a_new_fit_starts_a_new_cycle():
    X, y = _data()
    clf = MaskedMultiTaskClassifier(**{**SMALL, "max_iter": 4}).fit(X, y)
    rates = [group["lr"] for group in clf.net_.optimizer_.param_groups]
    assert all(0 < rate < 0.01 * SMALL["learning_rate_init"] for rate in rates)
    constant = MaskedMultiTaskClassifier(**{**SMALL, "max_iter": 4, "learning_rate_schedule": "constant"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        constant.fit(X, y)
    assert all(group["lr"] == SMALL["learning_rate_init"] for group in constant.net_.optimizer_.param_groups)
    # partial_fit keeps the rate constant, after a cosine fit too
    clf.partial_fit(X, y)
    assert all(group["lr"] == SMALL["learning_rate_init"] for group in clf.net_.optimizer_.param_groups)


@pytest.mark.parametrize("flush_before", [False, True])
def test_training_flushes_denormals_and_restores_the_threads_mode(flush_before):
    from skorch.callbacks import Callback

    from sklearn_mtl._net import flushing_denormals

    seen = []

    class Record(Callback):
        def on_epoch_begin(self, net, **kwargs):
            seen.append(flushing_denormals())

    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU has no flush-to-zero mode torch can set")
    X, y = _data()
    torch.set_flush_denormal(flush_before)
    try:
        clf = MaskedMultiTaskClassifier(**{**SMALL, "max_iter": 2}, callbacks=[Record()]).fit(X, y)
        assert flushing_denormals() is flush_before
        clf.partial_fit(X, y)
        assert flushing_denormals() is flush_before
    finally:
        torch.set_flush_denormal(False)
    # denormal floats (Adam's decayed moments late in training) cost tens of times a normal one
    assert seen == [True] * 3


@pytest.mark.parametrize(
    "n_rows, n_features, expected",
    [(200, 2048, 200), (1000, 2048, 47), (7049, 2048, 27), (10**6, 2048, 5), (1000, 99, 24), (200, 5, 108)],
)
def test_the_auto_epoch_budget_follows_the_number_of_steps(n_rows, n_features, expected):
    from sklearn_mtl._engine import _auto_batch_size, _epoch_budget

    est = MaskedMultiTaskClassifier()
    est.n_features_in_ = n_features  # 1500 steps on a wide input, 750 on a narrow one
    assert _epoch_budget(est, n_rows, _auto_batch_size(n_rows)) == expected
    assert _epoch_budget(est.set_params(max_iter=12), n_rows, _auto_batch_size(n_rows)) == 12


def test_the_auto_epoch_budget_is_at_least_ten_epochs_for_rare_classes():
    # a million rows: 1500 steps are under one epoch; the floor is 5 epochs, 10 when the median
    # classification task has a few dozen labels of its rarest class (MUV's rare positives)
    from sklearn_mtl._engine import _FEW_POSITIVES, _auto_batch_size, _epoch_budget

    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3))
    rare = np.zeros((400, 3))
    rare[: _FEW_POSITIVES - 1] = 1.0  # each task: one class seen _FEW_POSITIVES - 1 times
    balanced = (X > 0).astype(float)
    expected = []
    for y, epochs in ((rare, 10), (balanced, 5), (np.c_[rare[:, :1], balanced[:, :2]], 5)):
        clf = MaskedMultiTaskClassifier(**{**SMALL, "max_iter": 1}).fit(X, y)
        expected.append(_epoch_budget(clf.set_params(max_iter="auto"), 10**6, _auto_batch_size(10**6)) == epochs)
    assert expected == [True, True, True]


def test_a_narrow_input_fits_half_the_steps_of_a_wide_one():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(320, 120))
    y = (X[:, 0] > 0).astype(float)
    params = dict(hidden_layer_sizes=(4,), n_iter_no_change=500, random_state=0)  # no stop on the loss
    wide = MaskedMultiTaskClassifier(**params).fit(X, y)
    narrow = MaskedMultiTaskClassifier(**params).fit(X[:, :99], y)
    assert (wide.n_iter_, narrow.n_iter_) == (150, 75)  # 32 rows a batch: 10 steps an epoch
