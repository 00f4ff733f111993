"""Task-weighting strategies: how the vector of per-task losses becomes the loss to minimize.

One strategy per class, behind one small interface (:class:`TaskWeighting`): a vector of task
losses in, a scalar out, plus whatever state the strategy learns. The estimators take a strategy
through their ``task_weighting`` parameter, by name or as an instance; adding a strategy does not
touch them.

A task absent from a batch has a loss of exactly 0 and must neither pull its learned weight nor
distort the others. Strategies that need to know which tasks are present set ``uses_presence``
and receive ``present``, a boolean vector (the others receive None, which saves work per batch).
"""

import numpy as np
import torch
from torch import nn

__all__ = [
    "TaskWeighting",
    "EqualWeighting",
    "UncertaintyWeighting",
    "DynamicWeightAverage",
    "GradNorm",
    "PCGrad",
    "TASK_WEIGHTINGS",
]


class TaskWeighting(nn.Module):
    """Base class: the fixed-weight sum of the task losses.

    Subclasses override :meth:`forward` (and, for gradient-based strategies, :meth:`backward`).
    Learnable state is ``nn.Parameter`` s of the strategy: the estimator's optimizer trains them
    with the network. :meth:`end_epoch` receives each epoch's mean training loss per task.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.weighting import EqualWeighting
    >>> EqualWeighting()(torch.tensor([0.5, 0.25]), None)
    tensor(0.7500)
    """

    #: Cost per training step, for the docs: the number of backward passes.
    backward_passes = "1"
    #: Whether :meth:`forward` and :meth:`backward` need ``present`` (else they get None).
    uses_presence = False
    #: Whether :meth:`backward` works on the shared parameters' gradients (which must then be dense:
    #: sparse inputs are densified per batch for such a strategy).
    uses_gradients = False

    def setup(self, n_tasks):
        """Create the state for ``n_tasks`` tasks; called once when the network is built."""
        self.n_tasks = n_tasks

    def forward(self, task_losses, present):
        """The scalar to minimize, from the (already task-weighted) vector of task losses."""
        return task_losses.sum()

    def backward(self, task_losses, present, extra_loss, shared_parameters):
        """Fill the gradients of one training step; returns the loss that was minimized.

        ``extra_loss`` (the L2 penalty) is added to the strategy's loss. ``shared_parameters`` is
        the list of the parameters every task depends on, in module order (the estimators pass
        ``module.shared_parameters()``, the trunk, when the module declares them, else all its
        parameters): gradient-based strategies shape their gradients from the task losses, and
        fill the other parameters' gradients with an ordinary backward pass.
        """
        loss = self(task_losses, present) + extra_loss
        loss.backward()
        return loss

    def end_epoch(self, epoch_task_losses):
        """Update epoch-level state from the epoch's mean training loss per task."""


class EqualWeighting(TaskWeighting):
    """Every task's loss counts once (times its fixed ``task_weights``): the default.

    Cost: one backward pass.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.weighting import EqualWeighting
    >>> EqualWeighting()(torch.tensor([1.0, 2.0]), None)
    tensor(3.)
    """


class UncertaintyWeighting(TaskWeighting):
    """Homoscedastic uncertainty weighting (Kendall, Gal and Cipolla, CVPR 2018).

    Each task learns a log-variance :math:`s_t`; the loss is
    :math:`\\sum_t e^{-s_t} L_t + s_t` over the tasks present in the batch (the form most
    implementations use; the paper has factors 1/2 for regression). Noisy or hard tasks learn a
    large :math:`s_t` and weigh less. Cost: one backward pass, ``n_tasks`` extra parameters.

    Reference: A. Kendall, Y. Gal, R. Cipolla, "Multi-Task Learning Using Uncertainty to Weigh
    Losses for Scene Geometry and Semantics", CVPR 2018.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.weighting import UncertaintyWeighting
    >>> weighting = UncertaintyWeighting()
    >>> weighting.setup(2)
    >>> weighting(torch.tensor([1.0, 2.0]), torch.tensor([True, False]))
    tensor(1., grad_fn=<SumBackward0>)
    """

    uses_presence = True

    def setup(self, n_tasks):
        super().setup(n_tasks)
        self.log_variances = nn.Parameter(torch.zeros(n_tasks))

    def forward(self, task_losses, present):
        log_variances = self.log_variances.to(task_losses.dtype)
        terms = torch.exp(-log_variances) * task_losses + log_variances
        return torch.where(present, terms, torch.zeros_like(terms)).sum()


class DynamicWeightAverage(TaskWeighting):
    """Dynamic weight average (Liu, Johns and Davison, CVPR 2019).

    A task whose loss fell slowly over the last epoch gets more weight in the next one:
    :math:`\\lambda_t = T \\, \\mathrm{softmax}(r / \\tau)_t` with
    :math:`r_t = L_t^{(e-1)} / L_t^{(e-2)}`, from the epoch-mean training losses. The first two
    epochs use equal weights; a task without labels in an epoch keeps a ratio of 1. Cost: one
    backward pass.

    Parameters
    ----------
    temperature : float, default=2.0
        :math:`\\tau`; larger is closer to equal weights.

    Reference: S. Liu, E. Johns, A. J. Davison, "End-to-End Multi-Task Learning with Attention",
    CVPR 2019.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.weighting import DynamicWeightAverage
    >>> weighting = DynamicWeightAverage()
    >>> weighting.setup(2)
    >>> weighting.end_epoch(torch.tensor([1.0, 1.0]))
    >>> weighting.end_epoch(torch.tensor([0.5, 1.0]))  # task 1 stopped improving
    >>> weighting.weights
    tensor([0.8756, 1.1244])
    """

    def __init__(self, temperature=2.0):
        super().__init__()
        self.temperature = temperature

    def setup(self, n_tasks):
        super().setup(n_tasks)
        self.register_buffer("weights", torch.ones(n_tasks))
        self.register_buffer("previous_losses", torch.full((n_tasks,), float("nan")))

    def forward(self, task_losses, present):
        return (self.weights.to(task_losses.dtype) * task_losses).sum()

    def end_epoch(self, epoch_task_losses):
        losses = epoch_task_losses.to(self.previous_losses)
        if not torch.isnan(self.previous_losses).all():
            ratios = losses / self.previous_losses
            # a task without labels in either epoch has a mean loss of exactly 0: no evidence of
            # progress, so a ratio of 1 (not 0, which would drop its weight, nor inf)
            measured = torch.isfinite(ratios) & (self.previous_losses > 0) & (losses > 0)
            ratios = torch.where(measured, ratios, torch.ones_like(ratios))
            self.weights = self.n_tasks * torch.softmax(ratios / self.temperature, dim=0)
        self.previous_losses = losses


def _present_task_gradients(task_losses, present, parameters, create_graph=False):
    """One flattened gradient per present task (one backward pass each)."""
    gradients = {}
    for task in torch.nonzero(present).flatten().tolist():
        grads = torch.autograd.grad(
            task_losses[task], parameters, retain_graph=True, create_graph=create_graph, allow_unused=True
        )
        gradients[task] = torch.cat(
            [(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, parameters, strict=True)]
        )
    return gradients


class PCGrad(TaskWeighting):
    """Projecting conflicting gradients (Yu et al., NeurIPS 2020).

    Each task's gradient is computed separately; where two tasks' gradients conflict (negative
    dot product), the projection of one onto the other's normal plane replaces it, tasks taken in
    random order. The projected gradients are summed. The projection is over the shared
    parameters only (the trunk; a custom module declares them with ``shared_parameters()``, else
    all its parameters count as shared); each task's head keeps its plain gradient. Tasks absent
    from the batch have no gradient and take no part. Cost: one backward pass per present task
    plus one, and memory for one shared gradient per task.

    Reference: T. Yu, S. Kumar, A. Gupta, S. Levine, K. Hausman, C. Finn, "Gradient Surgery for
    Multi-Task Learning", NeurIPS 2020.

    Examples
    --------
    >>> from sklearn_mtl.weighting import PCGrad
    >>> PCGrad().backward_passes
    'one per task plus one'
    """

    backward_passes = "one per task plus one"
    uses_gradients = True
    uses_presence = True

    def __init__(self):
        super().__init__()
        self.generator = None  # set by the estimator while it trains: tasks are shuffled with it

    def backward(self, task_losses, present, extra_loss, shared_parameters):
        shared = [p for p in shared_parameters if p.requires_grad]
        gradients = _present_task_gradients(task_losses, present, shared) if shared else {}
        device = None if self.generator is None else self.generator.device
        tasks = list(gradients)
        projected = []
        for task in tasks:
            gradient = gradients[task].clone()
            for other in torch.randperm(len(tasks), generator=self.generator, device=device).tolist():
                other_gradient = gradients[tasks[other]]
                if tasks[other] == task:
                    continue
                dot = torch.dot(gradient, other_gradient)
                squared_norm = torch.dot(other_gradient, other_gradient)
                if dot < 0 and squared_norm > 0:
                    gradient = gradient - dot / squared_norm * other_gradient
            projected.append(gradient)
        extra_grads = None
        if shared and extra_loss.requires_grad:
            extra_grads = torch.autograd.grad(extra_loss, shared, retain_graph=True, allow_unused=True)
        loss = self(task_losses, present) + extra_loss
        loss.backward()  # the task heads keep these plain gradients; the shared ones are replaced
        total = torch.stack(projected).sum(dim=0) if projected else None
        offset = 0
        for index, parameter in enumerate(shared):
            size = parameter.numel()
            grad = torch.zeros_like(parameter) if total is None else total[offset : offset + size].view_as(parameter)
            if extra_grads is not None and extra_grads[index] is not None:
                grad = grad + extra_grads[index]
            parameter.grad = grad
            offset += size
        return loss.detach()


class GradNorm(TaskWeighting):
    """Gradient normalization (Chen et al., ICML 2018).

    Learns task weights :math:`w_t` so that each task's weighted gradient norm on the last shared
    layer approaches the mean norm times :math:`(\\tilde r_t)^\\alpha`, where :math:`\\tilde r_t`
    is the task's loss relative to its first loss, divided by the mean of those ratios: tasks
    that train slower get larger gradients. The weights are renormalized to sum to the number of
    tasks (before each step and at the end of each epoch). Absent tasks are left out of the mean
    and of the weight update. Cost: one backward pass per present task on the last shared layer
    (with a second-order term), plus the usual one.

    The last shared layer is the last weight matrix among the module's shared parameters (the
    trunk's last ``Linear`` in :class:`~sklearn_mtl.modules.SharedTrunkNet`; a custom module
    declares its shared parameters with a ``shared_parameters()`` method, else all its parameters
    count as shared). A network without hidden layers shares nothing: its weights stay equal.

    Parameters
    ----------
    alpha : float, default=1.5
        Strength of the pull towards equal training rates.

    Reference: Z. Chen, V. Badrinarayanan, C.-Y. Lee, A. Rabinovich, "GradNorm: Gradient
    Normalization for Adaptive Loss Balancing in Deep Multitask Networks", ICML 2018.

    Examples
    --------
    >>> from sklearn_mtl.weighting import GradNorm
    >>> GradNorm(alpha=1.0).alpha
    1.0
    """

    backward_passes = "one per task (on the last shared layer) plus one"
    uses_gradients = True
    uses_presence = True

    def __init__(self, alpha=1.5):
        super().__init__()
        self.alpha = alpha

    def setup(self, n_tasks):
        super().setup(n_tasks)
        self.task_scales = nn.Parameter(torch.ones(n_tasks))
        self.register_buffer("initial_losses", torch.full((n_tasks,), float("nan")))

    def forward(self, task_losses, present):
        return (self.task_scales.to(task_losses.dtype) * task_losses).sum()

    @staticmethod
    def _last_shared_layer(parameters):
        """The weight matrix whose gradient norms are balanced, or None when nothing is shared."""
        matrices = [p for p in parameters if p.ndim >= 2 and p.requires_grad]
        return matrices[-1] if matrices else None

    def _renormalize(self):
        with torch.no_grad():
            self.task_scales.clamp_(min=1e-4)
            self.task_scales.mul_(self.n_tasks / self.task_scales.sum())

    def backward(self, task_losses, present, extra_loss, shared_parameters):
        self._renormalize()  # what the optimizer's last step left
        with torch.no_grad():
            first_seen = present & torch.isnan(self.initial_losses)
            self.initial_losses[first_seen] = task_losses.detach()[first_seen].to(self.initial_losses)
        loss = self(task_losses, present) + extra_loss
        last_shared = self._last_shared_layer(shared_parameters)
        scales = self.task_scales.to(task_losses.dtype)
        norms = {}
        for task in torch.nonzero(present).flatten().tolist() if last_shared is not None else []:
            (grad,) = torch.autograd.grad(
                scales[task] * task_losses[task], last_shared, retain_graph=True, create_graph=True
            )
            norms[task] = grad.norm()
        scale_grad = torch.zeros_like(self.task_scales)
        if len(norms) >= 2:
            tasks = list(norms)
            norm_vector = torch.stack([norms[t] for t in tasks])
            initial = self.initial_losses[tasks].to(task_losses.dtype).clamp(min=1e-12)
            ratios = task_losses.detach()[tasks] / initial
            targets = (norm_vector.mean() * (ratios / ratios.mean()) ** self.alpha).detach()
            balance_loss = (norm_vector - targets).abs().sum()
            (scale_grad,) = torch.autograd.grad(balance_loss, self.task_scales, retain_graph=True)
        loss.backward()
        # the weights learn from the balance loss only, not from the loss they scale
        self.task_scales.grad = scale_grad
        return loss

    def end_epoch(self, epoch_task_losses):
        # the fitted weights sum to n_tasks too, not only those of the next step
        self._renormalize()


#: The strategies the estimators' ``task_weighting`` parameter accepts by name.
TASK_WEIGHTINGS = {
    "equal": EqualWeighting,
    "uncertainty": UncertaintyWeighting,
    "dwa": DynamicWeightAverage,
    "gradnorm": GradNorm,
    "pcgrad": PCGrad,
}


def _check_task_weights(est):
    """The estimator's ``task_weights`` as one multiplier per task (ones for None), named tasks placed by
    ``task_names_``; a clear error for unknown names, a wrong length, or a negative or infinite weight."""
    n_tasks = est.n_tasks_
    if est.task_weights is None:
        return np.ones(n_tasks, dtype=est.dtype)
    if isinstance(est.task_weights, dict):
        names = list(getattr(est, "task_names_", range(n_tasks)))
        unknown = set(est.task_weights) - set(names)
        if unknown:
            raise ValueError(
                f"task_weights names tasks {sorted(map(str, unknown))} that y does not have; "
                f"the tasks are {[str(n) for n in names]}."
            )
        weights = np.array([est.task_weights.get(name, 1.0) for name in names], dtype=np.float64)
    else:
        weights = np.asarray(est.task_weights, dtype=np.float64)
        if weights.shape != (n_tasks,):
            raise ValueError(f"task_weights must have one weight per task ({n_tasks}); got shape {weights.shape}.")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("task_weights must be finite and non-negative.")
    return weights.astype(est.dtype)
