"""Inter-task affinity by lookahead (Fifty et al., 2021) and the grouping of tasks it suggests."""

import math
import numbers

import numpy as np
import torch
from sklearn.base import clone
from skorch.callbacks import Callback
from torch.func import functional_call

__all__ = ["TaskAffinity", "group_tasks", "task_affinity"]

# How task_affinity trains the clone it measures, whatever the estimator's own training recipe.
# The lookahead affinity is informative while the shared layers are still learning: near a
# stationary point of the summed loss the task gradients cancel (their sum is zero), so related
# tasks, whose gradients are the largest on the same weights, look as if they conflicted. A
# decaying or large rate gets there within a few epochs (measured: six tasks in two hidden groups,
# 4,000 rows, 15 epochs, the defaults' 4e-3 cosine rate and alpha="auto" gave a within-group
# affinity below the between-group one from the third epoch on); a small constant rate, no
# dropout (the lookahead itself runs without it) and a light L2 keep the run in its learning phase.
_LOOKAHEAD_TRAINING = {
    "learning_rate_init": 5e-4,
    "learning_rate_schedule": "constant",
    "alpha": 1e-4,
    "dropout": 0.0,
    "input_dropout": 0.0,
    "early_stopping": False,
}


class TaskAffinity(Callback):
    """A skorch callback that measures inter-task affinity during training, by lookahead.

    Every ``every``-th training step, before the step, for each task ``i`` labelled in the batch:
    take the step the optimizer would take on the shared parameters with task ``i``'s loss alone,
    and see how the loss of every task ``j`` labelled in the batch changes:

    .. math:: Z_{i \\to j} = 1 - \\frac{L_j(\\theta_s - \\eta \\nabla_{\\theta_s} L_i, \\theta_j)}
              {L_j(\\theta_s, \\theta_j)}

    Positive: a step for ``i`` lowers ``j``'s loss (``i`` helps ``j``); negative: it raises it.
    The affinity is the mean of :math:`Z_{i \\to j}` over the measured steps where both tasks had
    labels; NaN for a pair that never shared a batch. Losses are the masked, normalized task
    losses of the estimator, computed without dropout.

    The step :math:`\\eta \\nabla L_i` is Adam's: each parameter's gradient divided by the square
    root of the optimizer's running mean of squared gradients (its ``exp_avg_sq``, updated with
    this gradient as Adam's next step would, and bias-corrected), times the learning rate, without
    momentum; a plain gradient step for an optimizer without
    that state. Steps before the optimizer has any state are not measured. Adam's scaling makes
    the step as large as a training step, whatever the loss's scale (a plain gradient step of
    Adam's learning rate barely moves the losses).

    Parameters
    ----------
    every : int, default=1
        Measure every ``every``-th training step.
    lookahead_lr : float or None, default=None
        Learning rate of the lookahead step; None takes the optimizer's.

    Attributes
    ----------
    affinity_ : ndarray of shape (n_tasks, n_tasks)
        ``affinity_[i, j]`` is the mean :math:`Z_{i \\to j}`.
    n_steps_ : ndarray of shape (n_tasks, n_tasks)
        The number of measured steps behind each entry.
    """

    def __init__(self, every=1, lookahead_lr=None):
        self.every = every
        self.lookahead_lr = lookahead_lr

    def on_train_begin(self, net, **kwargs):
        n_tasks = len(net.criterion_.layout.losses)
        self.sums_ = np.zeros((n_tasks, n_tasks))
        self.n_steps_ = np.zeros((n_tasks, n_tasks), dtype=int)
        self.step_ = 0

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if not training:
            return
        self.step_ += 1
        if (self.step_ - 1) % self.every:
            return
        module = net.module_
        shared_ids = {id(p) for p in getattr(module, "shared_parameters", module.parameters)()}
        names = [name for name, p in module.named_parameters() if id(p) in shared_ids and p.requires_grad]
        if not names:
            return
        parameters = dict(module.named_parameters())
        shared = [parameters[name] for name in names]
        X, targets = batch
        lr = self.lookahead_lr if self.lookahead_lr is not None else net.optimizer_.param_groups[0]["lr"]
        states = self._adam_states(net, shared)
        if states is None:
            return
        was_training = module.training
        module.train(False)
        try:
            losses, _ = net.criterion_.task_losses(module(X), targets)
            present = self._present(targets, len(losses))
            tasks = torch.nonzero(present).flatten().tolist()
            for i in tasks:
                gradients = torch.autograd.grad(losses[i], shared, retain_graph=True, allow_unused=True)
                stepped = {
                    name: p if g is None else p - lr * _adam_direction(_dense(g), state)
                    for name, p, g, state in zip(names, shared, gradients, states, strict=True)
                }
                with torch.no_grad():
                    after, _ = net.criterion_.task_losses(functional_call(module, stepped, (X,)), targets)
                ratio = (after[tasks] / losses[tasks].detach()).cpu().double().numpy()
                self.sums_[i, tasks] += 1 - ratio
                self.n_steps_[i, tasks] += 1
        finally:
            module.train(was_training)

    @staticmethod
    def _adam_states(net, parameters):
        """Per parameter, Adam's ``(exp_avg_sq, step, beta2, eps)`` (None without Adam's state);
        None before the optimizer has taken a step."""
        states = {}
        for name in net._optimizers:
            optimizer = getattr(net, name + "_")
            beta2 = optimizer.param_groups[0].get("betas", (0.9, 0.999))[1]
            eps = optimizer.param_groups[0].get("eps", 1e-8)
            for group in optimizer.param_groups:
                for p in group["params"]:
                    states[id(p)] = (optimizer.state.get(p, {}), beta2, eps)
        adam = []
        for p in parameters:
            state, beta2, eps = states.get(id(p), ({}, 0.999, 1e-8))
            if "exp_avg_sq" not in state:
                if any("exp_avg_sq" in states[key][0] for key in states):
                    return None  # Adam, before its first step
                adam.append(None)
                continue
            adam.append((_dense(state["exp_avg_sq"]), float(state["step"]), beta2, eps))
        return adam

    @staticmethod
    def _present(targets, n_tasks):
        if "tasks" in targets:
            return torch.bincount(targets["tasks"], minlength=n_tasks) > 0
        return (targets["weights"] > 0).any(dim=0)

    def on_train_end(self, net, **kwargs):
        with np.errstate(invalid="ignore", divide="ignore"):
            self.affinity_ = np.where(self.n_steps_ > 0, self.sums_ / np.maximum(self.n_steps_, 1), np.nan)
        self.sums_ = None


def _adam_direction(gradient, state):
    """The step Adam would take, per unit of learning rate, on this gradient alone and without
    momentum: the gradient over the root of the running mean of squared gradients updated with it
    (bias-corrected), which bounds each coordinate's step as Adam's own update is bounded. (Dividing
    by the mean of past gradients only made a step of thousands of times the learning rate on a
    weight whose past gradients were all near zero.) A plain gradient without Adam's state."""
    if state is None:
        return gradient
    exp_avg_sq, step, beta2, eps = state
    squares = (beta2 * exp_avg_sq + (1 - beta2) * gradient * gradient) / (1 - beta2 ** (step + 1))
    return gradient / (squares.sqrt() + eps)


def _dense(tensor):
    return tensor.to_dense() if tensor.is_sparse else tensor


def task_affinity(estimator, X, y, *, sample_weight=None, every=1, lookahead_lr=None, training_params=None):
    """Inter-task affinity measured by lookahead while training a clone of the estimator.

    The clone keeps the estimator's network, losses, batch size and number of epochs, but trains
    with the affinity's own settings (``training_params``): a small constant learning rate, no
    dropout, a light L2 penalty and no validation split. The measure is informative while the
    shared layers are still learning; near the end of a fit the task gradients cancel each other
    (their sum is close to zero), and related tasks then look as if they conflicted. A decaying or
    large learning rate, as the estimators' defaults have, reaches that point within a few epochs.

    Parameters
    ----------
    estimator : MaskedMultiTaskClassifier, MaskedMultiTaskRegressor or MaskedMultiTaskEstimator
        Its parameters set the network and the training; it is cloned, not changed.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    y : {array-like, sparse matrix} of shape (n_samples, n_tasks)
        Labels, missing ones marked as for ``fit``; tasks of both kinds for the mixed estimator.
    sample_weight : array-like, default=None
        As for ``fit``.
    every : int, default=1
        Measure every ``every``-th training step: each measured step costs one backward pass and
        one forward pass per task labelled in its batch (on top of the step itself), so
        ``every=10`` keeps the cost near that of a plain fit.
    lookahead_lr : float or None, default=None
        Learning rate of the lookahead step (taken as Adam would, see :class:`TaskAffinity`);
        None takes the training's (``learning_rate_init`` of ``training_params``).
    training_params : dict or None, default=None
        Parameters set on the clone for the measured training. None takes the affinity's own:
        ``learning_rate_init=5e-4``,
        ``learning_rate_schedule="constant"``, ``alpha=1e-4``, ``dropout=0``,
        ``input_dropout=0``, ``early_stopping=False``. ``{}`` trains the clone as the estimator
        would; a dict of your own replaces these settings (for example with more epochs,
        ``max_iter``, on a larger set).

    Returns
    -------
    affinity : ndarray of shape (n_tasks, n_tasks)
        ``affinity[i, j]``: the mean over measured steps of :math:`1 - L_j(\\text{after a step on
        task } i) / L_j(\\text{before})` (see :class:`TaskAffinity`); positive when training ``i``
        helps ``j``. A task absent from a batch contributes nothing to that step. Only shared
        parameters take the lookahead step: with ``n_shared_layers=0`` nothing is shared, and the
        affinity is NaN.

    See Also
    --------
    group_tasks : Groups of tasks with high affinity within.
    TaskAffinityDisplay : The affinity as a heatmap.

    Notes
    -----
    Fifty, Amid, Zhao, Yu, Anil and Finn, "Efficiently Identifying Task Groupings for Multi-Task
    Learning", NeurIPS 2021. The loss of each task is the estimator's masked one, so labels that
    are missing never count.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl import MaskedMultiTaskClassifier
    >>> from sklearn_mtl.inspection import task_affinity
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 4))
    >>> y = np.column_stack([X[:, 0] > 0, X[:, 0] > 0.1, X[:, 1] > 0]).astype(float)
    >>> clf = MaskedMultiTaskClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    >>> task_affinity(clf, X, y, every=2).shape
    (3, 3)
    """
    if not isinstance(every, numbers.Integral) or isinstance(every, bool) or every < 1:
        raise ValueError(f"every must be an integer of at least 1; got {every!r}.")
    if lookahead_lr is not None and (not isinstance(lookahead_lr, numbers.Real) or not lookahead_lr > 0):
        raise ValueError(f"lookahead_lr must be None or a positive float; got {lookahead_lr!r}.")
    if training_params is not None and not isinstance(training_params, dict):
        raise TypeError(f"training_params must be a dict or None; got {type(training_params).__name__}.")
    model = clone(estimator)
    params = dict(_LOOKAHEAD_TRAINING if training_params is None else training_params)
    unknown = sorted(set(params) - set(model.get_params(deep=False)))
    if unknown:
        raise ValueError(f"training_params has parameters that {type(model).__name__} does not take: {unknown}.")
    callbacks = list(model.callbacks or []) + [("task_affinity", TaskAffinity(every, lookahead_lr))]
    model.set_params(**params, callbacks=callbacks).fit(X, y, sample_weight=sample_weight)
    return dict(model.net_.callbacks_)["task_affinity"].affinity_


def _group_score(affinity, groups):
    return sum(affinity[np.ix_(group, group)].sum() - np.trace(affinity[np.ix_(group, group)]) for group in groups)


def _partitions(n_items, n_groups):
    """Every partition of range(n_items) into exactly n_groups non-empty groups (restricted growth)."""

    def grow(item, labels, n_used):
        if item == n_items:
            if n_used == n_groups:
                yield labels
            return
        for label in range(min(n_used + 1, n_groups)):
            if n_items - item - 1 >= n_groups - max(n_used, label + 1):
                yield from grow(item + 1, labels + [label], max(n_used, label + 1))

    yield from grow(0, [], 0)


def _stirling2(n, k):
    return sum((-1) ** i * math.comb(k, i) * (k - i) ** n for i in range(k + 1)) // math.factorial(k)


def group_tasks(affinity, n_groups, *, max_exact=200_000, random_state=0):
    """Split the tasks into groups that maximize the total affinity within groups.

    The objective is the sum of ``affinity[i, j]`` over ordered pairs ``i != j`` in the same group
    (NaN counts as 0). With up to ``max_exact`` partitions of the tasks into ``n_groups`` groups,
    every partition is tried (exact); beyond, a heuristic: each task in turn is moved to the group
    where it adds the most, from several random starts, until no move improves.

    Parameters
    ----------
    affinity : array-like of shape (n_tasks, n_tasks)
        As :func:`task_affinity` returns it.
    n_groups : int
        Number of non-empty groups.
    max_exact : int, default=200_000
        The largest number of partitions searched exhaustively.
    random_state : int, default=0
        Seeds the heuristic's starts.

    Returns
    -------
    list of list of int
        The groups (task indices, ascending), ordered by their first task.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.inspection import group_tasks
    >>> affinity = np.array([[0, .5, -.2, -.1], [.4, 0, -.1, 0], [-.3, -.2, 0, .6], [0, -.1, .3, 0]])
    >>> group_tasks(affinity, 2)
    [[0, 1], [2, 3]]
    """
    affinity = np.nan_to_num(np.asarray(affinity, dtype=np.float64))
    n_tasks = affinity.shape[0]
    if affinity.shape != (n_tasks, n_tasks):
        raise ValueError(f"affinity must be a square (n_tasks, n_tasks) matrix; got shape {affinity.shape}.")
    if not 1 <= n_groups <= n_tasks:
        raise ValueError(f"n_groups must be between 1 and the number of tasks ({n_tasks}); got {n_groups}.")
    if _stirling2(n_tasks, n_groups) <= max_exact:
        best = max(
            _partitions(n_tasks, n_groups),
            key=lambda labels: _group_score(affinity, _groups_of(labels, n_groups)),
        )
        return _groups_of(best, n_groups)
    rng = np.random.RandomState(random_state)
    symmetric = affinity + affinity.T
    np.fill_diagonal(symmetric, 0)
    best_labels, best_score = None, -np.inf
    for _ in range(10):
        labels = np.concatenate([np.arange(n_groups), rng.randint(n_groups, size=n_tasks - n_groups)])
        rng.shuffle(labels)
        improved = True
        while improved:
            improved = False
            for task in range(n_tasks):
                if np.sum(labels == labels[task]) == 1:
                    continue  # moving it would empty its group
                # the affinity a task has with each group's other members, both ways
                others = np.arange(n_tasks) != task
                gains = [symmetric[task, (labels == group) & others].sum() for group in range(n_groups)]
                target = int(np.argmax(gains))
                if gains[target] > gains[labels[task]] + 1e-12:
                    labels[task], improved = target, True
        score = _group_score(affinity, _groups_of(labels, n_groups))
        if score > best_score:
            best_labels, best_score = labels.copy(), score
    return _groups_of(best_labels, n_groups)


def _groups_of(labels, n_groups):
    groups = [[task for task, label in enumerate(labels) if label == group] for group in range(n_groups)]
    return sorted((group for group in groups if group), key=lambda group: group[0])

