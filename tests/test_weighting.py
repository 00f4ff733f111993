"""Task weighting: fixed task weights, class weights, per-label sample weights, the automatic
strategies of :mod:`sklearn_mtl.weighting`, per-task progress in the history and task-balanced
sampling."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from skorch.callbacks import Callback

from sklearn_mtl import MaskedMultiTaskClassifier
from sklearn_mtl.weighting import (
    TASK_WEIGHTINGS,
    DynamicWeightAverage,
    EqualWeighting,
    GradNorm,
    PCGrad,
    TaskWeighting,
    UncertaintyWeighting,
)

SMALL = dict(hidden_layer_sizes=(8,), max_iter=8, learning_rate_init=0.01, random_state=0)
# float64 and one batch: equal models are equal to the last digits, not up to summation order
EXACT = dict(SMALL, dtype="float64", batch_size=150, alpha=0.0)
TASKS = ["a", "b", "c"]
STRATEGIES = ["equal", "uncertainty", "dwa", "gradnorm", "pcgrad"]


@pytest.fixture(autouse=True)
def _no_convergence_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _data(n_rows=150, seed=0, missing=0.3):
    """Three related binary tasks with missing labels; y is a DataFrame (task names a, b, c)."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, 4))
    y = np.column_stack([X[:, 0] > 0, X[:, 0] + X[:, 1] > 0.5, X[:, 2] - X[:, 0] > 0]).astype(float)
    y[rng.rand(*y.shape) < missing] = np.nan
    return X, pd.DataFrame(y, columns=TASKS)


def _positive_probabilities(clf, X):
    return np.column_stack([p[:, 1] for p in clf.predict_proba(X)])


def _assert_same_model(first, second, X, rtol=1e-12):
    np.testing.assert_allclose(_positive_probabilities(first, X), _positive_probabilities(second, X), rtol=rtol)


# -- the math of each strategy, on hand-made task losses and gradients -----------------------------


def test_equal_weighting_is_the_sum_and_fills_the_sum_gradient():
    theta = torch.tensor([1.0, -2.0], requires_grad=True)
    task_losses = torch.stack([theta.sum() ** 2, 3 * theta[0]])
    weighting = EqualWeighting()
    weighting.setup(2)
    loss = weighting.backward(task_losses, None, torch.tensor(0.5), [theta])
    assert loss.item() == pytest.approx(1.0 + 3.0 + 0.5)
    torch.testing.assert_close(theta.grad, torch.tensor([2 * -1.0 + 3.0, 2 * -1.0]))


def test_uncertainty_loss_and_its_derivative_in_the_log_variances():
    weighting = UncertaintyWeighting()
    weighting.setup(3)
    log_variances = torch.tensor([0.3, -0.2, 0.7])
    with torch.no_grad():
        weighting.log_variances.copy_(log_variances)
    task_losses = torch.tensor([0.5, 2.0, 0.0], requires_grad=True)
    present = torch.tensor([True, True, False])
    loss = weighting(task_losses, present)
    loss.backward()
    # sum over present tasks of exp(-s) L + s; d/ds = 1 - exp(-s) L; d/dL = exp(-s)
    expected = sum(np.exp(-s) * L + s for s, L in [(0.3, 0.5), (-0.2, 2.0)])
    assert loss.item() == pytest.approx(expected)
    expected_grad = torch.tensor([1 - np.exp(-0.3) * 0.5, 1 - np.exp(0.2) * 2.0, 0.0], dtype=torch.float32)
    torch.testing.assert_close(weighting.log_variances.grad, expected_grad)
    torch.testing.assert_close(task_losses.grad, torch.tensor([np.exp(-0.3), np.exp(0.2), 0.0], dtype=torch.float32))


def test_uncertainty_minimum_is_at_log_variance_equal_to_log_loss():
    weighting = UncertaintyWeighting()
    weighting.setup(1)
    with torch.no_grad():
        weighting.log_variances.fill_(np.log(0.8))
    weighting(torch.tensor([0.8]), torch.tensor([True])).backward()
    assert abs(weighting.log_variances.grad.item()) < 1e-6


def test_dynamic_weight_average_formula():
    weighting = DynamicWeightAverage(temperature=2.0)
    weighting.setup(3)
    first, second = torch.tensor([1.0, 2.0, 0.5]), torch.tensor([0.5, 1.8, 0.5])
    weighting.end_epoch(first)
    torch.testing.assert_close(weighting.weights, torch.ones(3))  # epochs 1 and 2: equal weights
    weighting.end_epoch(second)
    ratios = second / first
    expected = 3 * torch.exp(ratios / 2.0) / torch.exp(ratios / 2.0).sum()
    torch.testing.assert_close(weighting.weights, expected)
    assert weighting.weights.sum().item() == pytest.approx(3.0)
    assert weighting.weights.argmax() == 2  # the task that stopped improving weighs most
    task_losses = torch.tensor([1.0, 1.0, 1.0])
    torch.testing.assert_close(weighting(task_losses, None), expected.sum())


def test_dynamic_weight_average_task_without_labels_in_an_epoch_keeps_a_ratio_of_one():
    weighting = DynamicWeightAverage(temperature=2.0)
    weighting.setup(2)
    weighting.end_epoch(torch.tensor([1.0, 1.0]))
    weighting.end_epoch(torch.tensor([0.5, 0.0]))  # task 1 had no label: its epoch mean is 0
    ratios = torch.tensor([0.5, 1.0])
    torch.testing.assert_close(weighting.weights, 2 * torch.softmax(ratios / 2.0, dim=0))
    weighting.end_epoch(torch.tensor([0.25, 0.9]))  # and the epoch after it has nothing to compare with
    ratios = torch.tensor([0.5, 1.0])
    torch.testing.assert_close(weighting.weights, 2 * torch.softmax(ratios / 2.0, dim=0))
    assert torch.isfinite(weighting.weights).all()


def _linear_task_losses(theta, gradients):
    """Task losses whose gradients in ``theta`` are the rows of ``gradients``."""
    return torch.stack([torch.dot(torch.as_tensor(g, dtype=theta.dtype), theta) for g in gradients])


def test_pcgrad_projects_two_conflicting_gradients():
    g1, g2 = torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([-1.0, 1.0], dtype=torch.float64)
    assert torch.dot(g1, g2) < 0
    theta = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    PCGrad().backward(_linear_task_losses(theta, [g1, g2]), torch.tensor([True, True]), torch.tensor(0.0), [theta])
    # each is projected on the normal plane of the other: g_i - (g_i . g_j / |g_j|^2) g_j
    g1_projected = g1 - torch.dot(g1, g2) / torch.dot(g2, g2) * g2
    g2_projected = g2 - torch.dot(g2, g1) / torch.dot(g1, g1) * g1
    assert torch.dot(g1_projected, g2) >= 0 and torch.dot(g2_projected, g1) >= 0
    torch.testing.assert_close(theta.grad, g1_projected + g2_projected)
    torch.testing.assert_close(theta.grad, torch.tensor([0.5, 1.5], dtype=torch.float64))


def test_pcgrad_leaves_agreeing_gradients_alone_and_adds_the_penalty_gradient():
    gradients = [[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 2.0]]
    theta = torch.ones(3, dtype=torch.float64, requires_grad=True)
    penalty = (theta**2).sum()
    loss = PCGrad().backward(_linear_task_losses(theta, gradients), torch.tensor([True, True, True]), penalty, [theta])
    torch.testing.assert_close(theta.grad, torch.tensor(gradients, dtype=torch.float64).sum(0) + 2 * theta.detach())
    assert loss.item() == pytest.approx(1.5 + 1.5 + 2.0 + 3.0)


def test_pcgrad_ignores_an_absent_task():
    g1, g2 = [1.0, 0.0], [-1.0, 1.0]
    theta = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    # the absent task's loss is exactly 0 (as the masked loss makes it), with a zero gradient
    task_losses = torch.cat([_linear_task_losses(theta, [g1, g2]), (0 * theta).sum()[None]])
    PCGrad().backward(task_losses, torch.tensor([True, True, False]), torch.tensor(0.0), [theta])
    torch.testing.assert_close(theta.grad, torch.tensor([0.5, 1.5], dtype=torch.float64))
    theta.grad = None
    task_losses = torch.cat([_linear_task_losses(theta, [g1, g2]), (0 * theta).sum()[None]])
    PCGrad().backward(task_losses, torch.tensor([True, False, False]), torch.tensor(0.0), [theta])
    torch.testing.assert_close(theta.grad, torch.tensor(g1, dtype=torch.float64))  # nothing to conflict with


def _two_layer_problem(seed=0):
    """A trunk (4 -> 3) and fused heads (3 -> 3) with one MSE task per head, in float64."""
    generator = torch.Generator().manual_seed(seed)
    trunk = torch.nn.Linear(4, 3).double()
    heads = torch.nn.Linear(3, 3).double()
    with torch.no_grad():
        for parameter in [*trunk.parameters(), *heads.parameters()]:
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=torch.float64))
    X = torch.randn(10, 4, generator=generator, dtype=torch.float64)
    targets = torch.randn(10, 3, generator=generator, dtype=torch.float64) * torch.tensor([1.0, 3.0, 0.3])

    def task_losses():
        return ((heads(torch.tanh(trunk(X))) - targets) ** 2).mean(dim=0)

    return trunk, heads, task_losses


def test_gradnorm_balances_gradient_norms_on_the_last_shared_layer():
    trunk, heads, task_losses_of = _two_layer_problem()
    parameters = [*trunk.parameters(), *heads.parameters()]
    weighting = GradNorm(alpha=1.5)
    weighting.setup(3)
    with torch.no_grad():
        weighting.task_scales.copy_(torch.tensor([3.0, 2.0, 1.0]))
    present = torch.tensor([True, True, True])
    weighting.backward(task_losses_of(), present, torch.zeros(()), list(trunk.parameters()))
    # the weights were renormalized to sum to n_tasks before they were used
    torch.testing.assert_close(weighting.task_scales.detach(), torch.tensor([1.5, 1.0, 0.5]))
    scales = weighting.task_scales.detach().double()
    # the network's gradient is that of the weighted sum
    network_grads = [p.grad.clone() for p in parameters]
    expected_grads = torch.autograd.grad((scales * task_losses_of()).sum(), parameters)
    for grad, expected in zip(network_grads, expected_grads, strict=True):
        torch.testing.assert_close(grad, expected)
    # at the first step every loss ratio is 1, so each target is the mean weighted norm, and the
    # derivative of sum_t |w_t G_t - target| in w_t is sign(w_t G_t - target) G_t, G_t taken on the
    # trunk's weight (the last shared layer), not on the fused heads
    losses = task_losses_of()
    norms = torch.stack([torch.autograd.grad(losses[t], trunk.weight, retain_graph=True)[0].norm() for t in range(3)])
    target = (scales * norms).mean()
    expected_scale_grad = torch.sign(scales * norms - target) * norms
    torch.testing.assert_close(weighting.task_scales.grad.double(), expected_scale_grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(weighting.initial_losses.double(), losses.detach(), rtol=1e-6, atol=0)


def test_gradnorm_later_step_uses_training_rates_and_absent_task_stays_out():
    trunk, heads, task_losses_of = _two_layer_problem(seed=1)
    parameters = [*trunk.parameters(), *heads.parameters()]
    weighting = GradNorm(alpha=1.0)
    weighting.setup(3)
    initial = task_losses_of().detach()
    weighting.backward(task_losses_of(), torch.tensor([True, True, False]), torch.zeros(()), list(trunk.parameters()))
    assert torch.isnan(weighting.initial_losses[2])  # not seen yet
    assert weighting.task_scales.grad[2] == 0
    with torch.no_grad():  # a training step that shrinks the losses unevenly
        heads.bias.add_(torch.tensor([0.1, -0.2, 0.0]))
    for parameter in parameters:
        parameter.grad = None
    losses = task_losses_of()
    # task 2 absent: its loss is 0 in the batch, as the masked loss makes it
    masked = losses * torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64)
    weighting.backward(masked, torch.tensor([True, True, False]), torch.zeros(()), list(trunk.parameters()))
    scales = weighting.task_scales.detach().double()
    losses = task_losses_of()
    norms = torch.stack([torch.autograd.grad(losses[t], trunk.weight, retain_graph=True)[0].norm() for t in range(2)])
    ratios = losses.detach()[:2] / initial[:2]
    targets = (scales[:2] * norms).mean() * ratios / ratios.mean()
    expected = torch.sign(scales[:2] * norms - targets) * norms
    torch.testing.assert_close(weighting.task_scales.grad[:2].double(), expected, rtol=1e-5, atol=1e-6)
    assert weighting.task_scales.grad[2] == 0 and torch.isnan(weighting.initial_losses[2])
    assert all(torch.isfinite(p.grad).all() for p in parameters)
    assert (heads.weight.grad[2] == 0).all()


def test_gradnorm_balances_the_last_shared_weight_matrix_and_nothing_without_one():
    trunk = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 5))
    assert GradNorm._last_shared_layer(list(trunk.parameters())) is trunk[2].weight
    assert GradNorm._last_shared_layer([]) is None


# -- through the estimator -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def data():
    return _data()


@pytest.fixture(scope="module")
def fitted_by_strategy(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return {
            name: MaskedMultiTaskClassifier(**SMALL, batch_size=32, task_weighting=name).fit(X, y)
            for name in STRATEGIES
        }


@pytest.mark.parametrize("name", STRATEGIES)
def test_each_strategy_trains_and_predicts(fitted_by_strategy, data, name):
    X, y = data
    clf = fitted_by_strategy[name]
    assert type(clf.net_.criterion_.weighting) is TASK_WEIGHTINGS[name]
    assert clf.predict(X).shape == y.shape
    assert np.isfinite(_positive_probabilities(clf, X)).all()
    assert np.isfinite(clf.loss_curve_).all()
    assert clf.score(X, y) > 0.6
    for task in TASKS:
        assert np.isfinite(clf.history_[:, f"train_loss_{task}"]).all()


def test_learned_strategy_state_moved_and_stays_normalized(fitted_by_strategy):
    log_variances = fitted_by_strategy["uncertainty"].net_.criterion_.weighting.log_variances
    assert (log_variances != 0).all()  # the estimator's optimizer trains the strategy's parameters
    dwa_weights = fitted_by_strategy["dwa"].net_.criterion_.weighting.weights
    assert not torch.equal(dwa_weights, torch.ones(3))
    assert dwa_weights.sum().item() == pytest.approx(3.0)
    task_scales = fitted_by_strategy["gradnorm"].net_.criterion_.weighting.task_scales
    assert not torch.equal(task_scales.detach(), torch.ones(3))
    assert task_scales.sum().item() == pytest.approx(3.0)


@pytest.mark.parametrize("name", ["uncertainty", "dwa", "gradnorm", "pcgrad"])
def test_batch_without_a_task_gives_no_nan_and_does_not_move_that_task(data, name):
    X, y = data
    X, y = X[:60], y.to_numpy()[:60]
    without_b = y.copy()
    without_b[:, 1] = np.nan
    clf = MaskedMultiTaskClassifier(
        **dict(EXACT, batch_size=60),
        task_weighting=name,
        optimizer=torch.optim.SGD,  # no momentum
    )
    clf.partial_fit(X, y, classes=[[0.0, 1.0]] * 3)
    weighting = clf.net_.criterion_.weighting
    heads_before = clf.net_.module_.heads.weight.detach().clone()
    state_before = {key: value.detach().clone() for key, value in weighting.state_dict().items()}
    clf.partial_fit(X, without_b)
    module = clf.net_.module_
    assert clf.history_[-1, "train_loss_task_1"] == 0
    assert np.isfinite(clf.history_[-1, "train_loss"])
    assert all(torch.isfinite(p.grad).all() for p in module.parameters())
    assert (module.heads.weight.grad[1] == 0).all()
    assert torch.equal(module.heads.weight[1], heads_before[1])
    assert not torch.equal(module.heads.weight[0], heads_before[0])
    if name == "uncertainty":
        assert weighting.log_variances.grad[1] == 0
        assert weighting.log_variances[1] == state_before["log_variances"][1]
        assert weighting.log_variances[0] != state_before["log_variances"][0]
    if name == "gradnorm":
        assert weighting.task_scales.grad[1] == 0
        # an SGD step on the present tasks' weights, then the renormalization to sum to 3: the
        # absent task's weight moves only by that common factor
        stepped = state_before["task_scales"] - SMALL["learning_rate_init"] * weighting.task_scales.grad
        torch.testing.assert_close(weighting.task_scales.detach(), 3 * stepped / stepped.sum())
    if name == "dwa":
        assert torch.isfinite(weighting.weights).all() and weighting.weights.sum().item() == pytest.approx(3.0)
    assert np.isfinite(_positive_probabilities(clf, X)).all()


def test_equal_weighting_reproduces_the_default(data):
    X, y = data
    default = MaskedMultiTaskClassifier(**EXACT).fit(X, y)
    for weighting in ["equal", EqualWeighting(), TaskWeighting()]:
        _assert_same_model(default, MaskedMultiTaskClassifier(**EXACT, task_weighting=weighting).fit(X, y), X)


class FixedWeights(TaskWeighting):
    """A user's strategy, written without touching the estimators: fixed weights, with bookkeeping."""

    uses_presence = True

    def __init__(self, weights):
        super().__init__()
        self.weights = weights

    def setup(self, n_tasks):
        super().setup(n_tasks)
        self.epochs_ended = 0
        self.present_seen = []

    def forward(self, task_losses, present):
        self.present_seen.append(present)
        return (torch.as_tensor(self.weights, dtype=task_losses.dtype) * task_losses).sum()

    def end_epoch(self, epoch_task_losses):
        self.epochs_ended += 1


def test_custom_strategy_instance_works_like_the_builtin_ones(data):
    X, y = data
    strategy = FixedWeights([1.0, 0.0, 2.0])
    clf = MaskedMultiTaskClassifier(**EXACT, task_weighting=strategy).fit(X, y)
    reference = MaskedMultiTaskClassifier(**EXACT, task_weights=[1.0, 0.0, 2.0]).fit(X, y)
    _assert_same_model(clf, reference, X)
    fitted = clf.net_.criterion_.weighting
    assert fitted.epochs_ended == clf.n_iter_
    assert all(p.dtype == torch.bool and p.shape == (3,) for p in fitted.present_seen)
    # the user's instance is a template: it was neither set up nor run
    assert fitted is not strategy and not hasattr(strategy, "epochs_ended")


@pytest.mark.parametrize("strategy", [UncertaintyWeighting(), DynamicWeightAverage(temperature=5.0), GradNorm(0.5)])
def test_strategy_instance_is_copied_per_fit_and_clones(data, strategy):
    X, y = data
    clf = MaskedMultiTaskClassifier(**EXACT, task_weighting=strategy)
    first = _positive_probabilities(clf.fit(X, y), X)
    assert clf.get_params()["task_weighting"] is strategy
    # the user's instance was neither set up nor trained: it has no state
    assert not hasattr(strategy, "n_tasks") and not strategy.state_dict()
    # a second fit starts from a fresh copy: no state carried over from the first
    np.testing.assert_array_equal(_positive_probabilities(clf.fit(X, y), X), first)
    cloned = clone(clf)
    assert type(cloned.task_weighting) is type(strategy) and cloned.task_weighting is not strategy
    np.testing.assert_array_equal(_positive_probabilities(cloned.fit(X, y), X), first)


# -- task weights, class weights, per-label sample weights ------------------------------------------


def test_task_weights_by_name_or_position_multiply_the_task_losses(data):
    X, y = data
    by_name = MaskedMultiTaskClassifier(**EXACT, task_weights={"b": 3.0, "c": 0.5}).fit(X, y)
    by_position = MaskedMultiTaskClassifier(**EXACT, task_weights=[1.0, 3.0, 0.5]).fit(X, y)
    _assert_same_model(by_name, by_position, X)
    history = by_name.history_
    weighted_sum = sum(w * np.array(history[:, f"train_loss_{t}"]) for w, t in zip([1, 3, 0.5], TASKS, strict=True))
    np.testing.assert_allclose(history[:, "train_loss"], weighted_sum, rtol=1e-10)
    unweighted = MaskedMultiTaskClassifier(**EXACT).fit(X, y)
    assert not np.allclose(_positive_probabilities(unweighted, X), _positive_probabilities(by_name, X))


def test_balanced_class_weight_is_computed_per_task_from_observed_labels(data):
    X, y = data
    values = y.to_numpy().copy()
    # a task with few positives, so that "balanced" matters
    values[:, 2] = np.where(np.isnan(values[:, 2]), np.nan, (X[:, 2] > 1.0).astype(float))
    explicit = []
    for task in range(3):
        observed = values[~np.isnan(values[:, task]), task]
        classes = np.unique(observed)
        weights = compute_class_weight("balanced", classes=classes, y=observed)
        explicit.append(dict(zip(classes, weights, strict=True)))
    assert explicit[2][1.0] > 3  # rare positives weigh more
    balanced = MaskedMultiTaskClassifier(**EXACT, class_weight="balanced").fit(X, values)
    by_dicts = MaskedMultiTaskClassifier(**EXACT, class_weight=explicit).fit(X, values)
    _assert_same_model(balanced, by_dicts, X)
    plain = MaskedMultiTaskClassifier(**EXACT).fit(X, values)
    assert _positive_probabilities(balanced, X)[:, 2].mean() > _positive_probabilities(plain, X)[:, 2].mean()


def test_class_weight_multiplies_the_loss_but_denominators_stay_label_counts(data):
    X, y = data
    # the same weight for every class of a task is a task weight, not a no-op
    same_for_all_classes = MaskedMultiTaskClassifier(**EXACT, class_weight=[None, {0.0: 3.0, 1.0: 3.0}, None])
    as_task_weight = MaskedMultiTaskClassifier(**EXACT, task_weights=[1.0, 3.0, 1.0])
    _assert_same_model(same_for_all_classes.fit(X, y), as_task_weight.fit(X, y), X, rtol=1e-10)


@pytest.mark.parametrize("normalization", ["per_task", "per_label", "per_sample"])
def test_zero_label_weight_is_exactly_a_missing_label(normalization):
    X, y = _data(missing=0.0)
    values = y.to_numpy()
    dropped = np.random.RandomState(1).rand(*values.shape) < 0.3
    params = dict(EXACT, alpha=1e-3, loss_normalization=normalization)
    weighted = MaskedMultiTaskClassifier(**params).fit(X, values, sample_weight=np.where(dropped, 0.0, 1.0))
    missing = MaskedMultiTaskClassifier(**params).fit(X, np.where(dropped, np.nan, values))
    _assert_same_model(weighted, missing, X)
    np.testing.assert_array_equal(weighted.loss_curve_, missing.loss_curve_)


def test_label_weights_weigh_each_task_on_its_own(data):
    X, y = data
    twice_on_b = np.ones(y.shape)
    twice_on_b[:, 1] = 2.0  # per_task: scaling all of a task's label weights changes nothing
    _assert_same_model(
        MaskedMultiTaskClassifier(**EXACT).fit(X, y, sample_weight=twice_on_b),
        MaskedMultiTaskClassifier(**EXACT).fit(X, y),
        X,
        rtol=1e-10,
    )


# -- per-task progress ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def early_stopped(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MaskedMultiTaskClassifier(**dict(SMALL, alpha=0.0), batch_size=32, early_stopping=True).fit(X, y)


def test_history_has_per_task_losses_that_add_up_to_the_logged_loss(early_stopped):
    history = early_stopped.history_
    for prefix in ["train", "valid"]:
        per_task = np.array([history[:, f"{prefix}_loss_{task}"] for task in TASKS])
        assert per_task.shape == (3, early_stopped.n_iter_)
        np.testing.assert_allclose(per_task.sum(axis=0), history[:, f"{prefix}_loss"], rtol=1e-5)


def test_skorch_progress_bar_works(data, capsys):
    pytest.importorskip("tqdm")
    from skorch.callbacks import ProgressBar

    X, y = data
    clf = MaskedMultiTaskClassifier(**dict(SMALL, max_iter=2), batch_size=32, callbacks=[ProgressBar()]).fit(X, y)
    assert clf.n_iter_ == 2
    assert "it/s" in capsys.readouterr().err


# -- task-balanced sampling ---------------------------------------------------------------------


class _Recorder(Callback):
    """Rows drawn per task (labels with a non-zero loss weight) in training batches."""

    def __init__(self):
        self.draws = None

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            drawn = (batch[1]["weights"] > 0).sum(dim=0)
            self.draws = drawn if self.draws is None else self.draws + drawn


def _rare_task_data(n_rows=2000, n_rare=20, seed=0):
    """Task 0 labelled on every row but ``n_rare``; task 1 (1% of task 0's labels) on those only."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, 4))
    y = np.full((n_rows, 2), np.nan)
    rare = rng.choice(n_rows, n_rare, replace=False)
    common = np.setdiff1d(np.arange(n_rows), rare)
    y[common, 0] = X[common, 0] > 0
    y[rare, 1] = X[rare, 1] > 0
    return X, y


@pytest.mark.parametrize("sampling", ["uniform", "task_balanced"])
def test_task_balanced_sampling_draws_a_rare_task_as_often_as_a_common_one(sampling):
    X, y = _rare_task_data()
    recorder = _Recorder()
    params = dict(SMALL, max_iter=3, batch_size=200, hidden_layer_sizes=(4,), early_stopping=False)
    clf = MaskedMultiTaskClassifier(**params, sampling=sampling, callbacks=[recorder]).fit(X, y)
    common_draws, rare_draws = recorder.draws.tolist()
    assert common_draws + rare_draws == 3 * len(X)  # every drawn row has exactly one label
    if sampling == "uniform":
        assert rare_draws == 3 * 20
    else:
        assert 0.85 < rare_draws / common_draws < 1.15
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert np.isfinite(_positive_probabilities(clf, X)).all()


def test_pcgrad_projects_the_shared_parameters_only_and_heads_keep_plain_gradients():
    trunk, heads, task_losses_of = _two_layer_problem(seed=2)
    weighting = PCGrad()
    weighting.generator = torch.Generator().manual_seed(0)
    weighting.backward(task_losses_of(), torch.tensor([True, True, True]), torch.zeros(()), list(trunk.parameters()))
    expected = torch.autograd.grad(task_losses_of().sum(), list(heads.parameters()))
    for parameter, grad in zip(heads.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, grad)
    plain = torch.autograd.grad(task_losses_of().sum(), list(trunk.parameters()))
    assert any(not torch.allclose(p.grad, g) for p, g in zip(trunk.parameters(), plain, strict=True))
