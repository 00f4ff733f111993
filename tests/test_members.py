"""Ensembles (``ensemble_size``): members trained together in one MemberEnsembleNet, their mean
prediction, their standard deviation, and what they do not combine with."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskEstimator, MaskedMultiTaskRegressor
from sklearn_mtl._batches import csr_rows
from sklearn_mtl._losses import MaskedMultiTaskLoss, OutputLayout
from sklearn_mtl.modules import MemberEnsembleNet, SeededDropout
from sklearn_mtl.weighting import EqualWeighting

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL = dict(hidden_layer_sizes=(16,), max_iter=15, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5))
    y = np.column_stack([X[:, 0] + X[:, 1], 10 * X[:, 2] * X[:, 3], (X[:, 4] > 0).astype(float)])
    y[rng.rand(*y.shape) < 0.3] = np.nan
    return X, y


@pytest.fixture(scope="module")
def regressor(data):
    X, y = data
    return MaskedMultiTaskRegressor(ensemble_size=4, **SMALL).fit(X, y[:, :2])


def _member_predictions(estimator, X):
    members = estimator._forward(X, members=True).numpy()
    return np.stack([[task.decode(m[:, [task.index]]) for task in estimator.tasks_] for m in members]).transpose(
        0, 2, 1
    )


def test_combined_outputs_decode_to_the_members_mean():
    net = MemberEnsembleNet(
        6, 5, 3, (8,), head_widths=[1, 1, 3], losses=["squared_error", "binary_cross_entropy", "cross_entropy"]
    ).double()
    net.eval()
    X = torch.randn(7, 6, dtype=torch.float64) * 50  # saturated probabilities stay finite
    members, combined = net.member_outputs(X), net(X)
    assert torch.isfinite(combined).all()
    torch.testing.assert_close(combined[:, 0], members[:, :, 0].mean(0))
    torch.testing.assert_close(torch.sigmoid(combined[:, 1]), torch.sigmoid(members[:, :, 1]).mean(0))
    torch.testing.assert_close(torch.softmax(combined[:, 2:], -1), torch.softmax(members[:, :, 2:], -1).mean(0))


@pytest.mark.parametrize("shared", [False, True])
def test_sparse_and_dense_inputs_give_the_same_outputs(shared):
    rng = np.random.RandomState(0)
    dense = rng.rand(6, 30) * (rng.rand(6, 30) < 0.2)
    dense[2] = 0.0  # a row without non-zeros
    net = MemberEnsembleNet(30, 2, 3, (8, 4), sparse_input=True, shared_input_weight=shared).double().eval()
    sparse = csr_rows(sp.csr_matrix(dense), slice(None), sparse=True, device="cpu")
    torch.testing.assert_close(net(sparse), net(torch.tensor(dense)))


@pytest.mark.parametrize("pairs", [False, True])
def test_the_loss_is_the_sum_of_the_members_losses(pairs):
    layout = OutputLayout(["squared_error", "binary_cross_entropy"], [1, 1])
    loss = MaskedMultiTaskLoss(layout, EqualWeighting(), torch.ones(2, dtype=torch.float64))
    outputs = torch.randn(3, 4, 2, dtype=torch.float64)
    values = torch.tensor([[0.5, 1.0], [1.0, 0.0], [-2.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    weights = torch.tensor([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 2.0]], dtype=torch.float64)
    targets = {"values": values, "weights": weights, "denominators": torch.tensor([3.0, 4.0], dtype=torch.float64)}
    if pairs:
        rows, tasks = torch.nonzero(weights, as_tuple=True)
        targets = {
            **targets,
            "rows": rows,
            "tasks": tasks,
            "values": values[rows, tasks],
            "weights": weights[rows, tasks],
        }
    summed, _ = loss.task_losses(outputs, targets)
    alone = sum(loss.task_losses(member, targets)[0] for member in outputs)
    torch.testing.assert_close(summed, alone)
    # each member's weights of the rows (its reweighting of the data) multiply its labels' weights
    member_weights = torch.rand(3, 4, dtype=torch.float64)
    weighted, _ = loss.task_losses(outputs, {**targets, "member_weights": member_weights})
    row_of = targets["rows"] if pairs else slice(None)
    alone = sum(
        loss.task_losses(member, {**targets, "weights": targets["weights"] * (w[row_of] if pairs else w[:, None])})[0]
        for member, w in zip(outputs, member_weights, strict=True)
    )
    torch.testing.assert_close(weighted, alone)


def test_regressor_predicts_the_members_mean_and_their_std(data, regressor):
    X, _ = data
    members = _member_predictions(regressor, X)
    mean, std = regressor.predict(X, return_std=True)
    np.testing.assert_allclose(mean, members.mean(0), atol=1e-10)
    np.testing.assert_allclose(std, members.std(0), atol=1e-10)
    np.testing.assert_allclose(regressor.predict(X), mean)
    assert (std > 0).all()  # the members differ


def test_classifier_probabilities_are_the_members_mean(data):
    X, y = data
    clf = MaskedMultiTaskClassifier(ensemble_size=3, **SMALL).fit(X, y[:, 2])
    members = torch.sigmoid(clf._forward(X, members=True)[:, :, 0]).numpy()
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], members.mean(0), atol=1e-10)
    assert clf.score(X, y[:, 2]) > 0.8


def test_mixed_estimator_std_is_nan_for_classification_tasks(data):
    X, y = data
    est = MaskedMultiTaskEstimator(ensemble_size=3, **SMALL).fit(X, y)
    prediction, std = est.predict(X, return_std=True)
    assert prediction.shape == std.shape == (len(X), 3)
    assert np.isnan(std[:, 2]).all() and (std[:, :2] > 0).all()


def test_one_dimensional_and_sparse_y(data):
    X, y = data
    observed = ~np.isnan(y[:, 0])
    reg = MaskedMultiTaskRegressor(ensemble_size=2, **SMALL).fit(X[observed], y[observed, 0])
    mean, std = reg.predict(X[:5], return_std=True)
    assert mean.shape == std.shape == (5,)
    sparse_y = sp.csr_matrix(np.nan_to_num(y[:, :2], nan=0.0) * ~np.isnan(y[:, :2]))
    sparse_y.eliminate_zeros()
    fitted = MaskedMultiTaskRegressor(ensemble_size=2, **SMALL).fit(X, sparse_y)
    assert fitted.predict(X, return_std=True)[1].shape == (len(X), 2)


def test_sparse_wide_input_shares_the_first_layer(data):
    rng = np.random.RandomState(0)
    X = sp.random(150, 300, density=0.03, random_state=0, format="csr")
    y = np.column_stack([X[:, :20].sum(axis=1).A1, rng.normal(size=150)])
    reg = MaskedMultiTaskRegressor(ensemble_size=3, **SMALL).fit(X, y)
    module = reg.net_.module_
    assert module.sparse_layer is not None and module.shared_input_weight
    np.testing.assert_allclose(reg.predict(X), reg.predict(X.toarray()), atol=1e-10)


def test_biases_and_sign_scales_are_not_penalized(regressor):
    decayed = [group for group in regressor.net_.optimizer_.param_groups if group.get("l2_penalty")]
    module = regressor.net_.module_
    assert {id(p) for group in decayed for p in group["params"]} == {id(p) for p, _ in module.penalized_parameters()}
    assert id(module.input_bias) not in {id(p) for group in decayed for p in group["params"]}


def test_a_shared_first_layer_weight_is_penalized_once_per_member():
    rng = np.random.RandomState(0)
    X = sp.random(150, 300, density=0.03, random_state=0, format="csr")
    y = np.column_stack([X[:, :20].sum(axis=1).A1, rng.normal(size=150)])
    reg = MaskedMultiTaskRegressor(ensemble_size=3, **SMALL).fit(X, y)
    module, groups = reg.net_.module_, reg.net_.optimizer_.param_groups
    decay = {id(p): group["weight_decay"] for group in groups if group.get("l2_penalty") for p in group["params"]}
    assert decay[id(module.sparse_layer.weight)] == pytest.approx(3 * decay[id(module.head_weight)])


def test_reproducible_and_picklable(data, regressor):
    X, y = data
    again = MaskedMultiTaskRegressor(ensemble_size=4, **SMALL).fit(X, y[:, :2])
    np.testing.assert_array_equal(again.predict(X, return_std=True)[1], regressor.predict(X, return_std=True)[1])
    loaded = pickle.loads(pickle.dumps(regressor))
    np.testing.assert_array_equal(loaded.predict(X, return_std=True)[1], regressor.predict(X, return_std=True)[1])


def test_return_std_needs_an_ensemble(data):
    X, y = data
    reg = MaskedMultiTaskRegressor(**SMALL).fit(X, y[:, :2])
    with pytest.raises(ValueError, match="return_std=True needs an ensemble.*ensemble_size=1"):
        reg.predict(X, return_std=True)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(hidden_layer_sizes=(8, 8), n_shared_layers=1), "private layers"),
        (dict(per_task_stopping=True), "per_task_stopping"),
        (dict(task_weighting="pcgrad"), "pcgrad"),
        (dict(hidden_layer_sizes=()), "at least one hidden layer"),
    ],
)
def test_what_ensembles_do_not_combine_with_is_a_clear_error(data, params, message):
    X, y = data
    reg = MaskedMultiTaskRegressor(**{**SMALL, **params, "ensemble_size": 2})
    with pytest.raises(ValueError, match=message):
        reg.fit(X, y[:, :2])
    assert not hasattr(reg, "net_")


def test_add_tasks_to_an_ensemble_is_a_clear_error(data, regressor):
    X, y = data
    with pytest.raises(ValueError, match="add_tasks does not yet extend an ensemble"):
        regressor.add_tasks(X, y[:, 2])


def test_warm_start_continues_the_members(data, regressor):
    X, y = data
    reg = MaskedMultiTaskRegressor(ensemble_size=2, warm_start=True, **SMALL).fit(X, y[:, :2])
    module = reg.net_.module_
    reg.fit(X, y[:, :2])
    assert reg.net_.module_ is module and reg.n_iter_ == 2 * SMALL["max_iter"]


def test_an_ensemble_is_calibrated_and_conformalized_as_one_network(data):
    from sklearn.frozen import FrozenEstimator

    from sklearn_mtl.calibration import MultiTaskCalibratedClassifierCV
    from sklearn_mtl.conformal import MultiTaskConformalClassifier

    X, y = data
    clf = MaskedMultiTaskClassifier(ensemble_size=3, **SMALL).fit(X[:100], y[:100, 2])
    for method in ("sigmoid", "temperature", "isotonic"):
        calibrated = MultiTaskCalibratedClassifierCV(FrozenEstimator(clf), method=method).fit(X[100:], y[100:, 2])
        probabilities = calibrated.predict_proba(X[:7])
        assert probabilities.shape == (7, 2) and np.allclose(probabilities.sum(axis=1), 1)
    _, sets = MultiTaskConformalClassifier(clf).conformalize(X[100:], y[100:, 2]).predict_set(X[:7])
    assert sets[0].shape == (7, 2)


def test_early_stopping_scores_the_ensembles_mean(data):
    X, y = data
    reg = MaskedMultiTaskRegressor(
        ensemble_size=3, early_stopping=True, learning_rate_schedule="constant", n_iter_no_change=3, **SMALL
    ).fit(X, y[:, :2])
    assert np.isfinite(reg.validation_scores_).all() and reg.best_validation_score_ == max(reg.validation_scores_)


def test_members_read_a_pass_without_dropout_for_the_other_tasks():
    torch.manual_seed(0)
    net = MemberEnsembleNet(
        n_features=6, n_outputs=3, n_members=3, hidden_layer_sizes=(16,), dropout=0.5, input_dropout=0.2,
        dropout_tasks=[True, False, True],
    ).double()
    for part in net.modules():
        if isinstance(part, SeededDropout):
            part.generator = torch.Generator().manual_seed(0)
    X = torch.randn(20, 6, dtype=torch.float64)
    whole = net.eval().member_outputs(X)
    trained = net.train().member_outputs(X)
    torch.testing.assert_close(trained[..., 1], whole[..., 1])
    assert not torch.allclose(trained[..., 0], whole[..., 0]) and not torch.allclose(trained[..., 2], whole[..., 2])
