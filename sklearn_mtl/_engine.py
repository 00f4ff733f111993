"""The training engine: from the fitted task description and encoded labels to a trained network.

The estimators (``_base.py``) validate the input, describe the tasks (``tasks_``), set the fitted
attributes and answer predict and score; what happens in between lives here, as functions of the
estimator's *parameters* (read, never written): which first layer the data takes, the dataset the
net iterates over, the skorch net with its module, criterion, optimizer and callbacks, the
stopping rule and the learning-rate schedule, and the training run itself, for ``fit``,
``partial_fit`` and ``add_tasks`` alike. Each function returns what it builds; none sets an
attribute of the estimator. The resolved "auto" recipe (its constants, chosen on validation
splits of the benchmarks' training parts; see the user guide's "Defaults") is here too.
"""

import copy
import numbers
import threading
from contextlib import contextmanager, nullcontext

import numpy as np
import scipy.sparse as sp
import torch
from scipy.stats import gamma
from skorch.callbacks import Callback, EarlyStopping

from . import _distributed as distributed
from . import _first_layer as first_layer
from ._batches import BatchIterator, LabelDataset, RandomSplit, takes_sparse_batches
from ._callbacks import CosineLearningRate, StopOnNonFiniteLoss, TaskCheckpoint, TaskLossLogger, ValidationScore
from ._fit_feedback import FitFeedback
from ._inputs import _WIDE_INPUT, n_encoded_features
from ._losses import MaskedMultiTaskLoss, OutputLayout
from ._net import MaskedNet
from ._tasks import class_weight_multipliers, encode_labels
from .modules import MemberEnsembleNet, SharedTrunkNet
from .weighting import TASK_WEIGHTINGS

# history_ records each task's losses and validation score for up to this many tasks; beyond, the
# totals only (30,000 keys per epoch at 10,000 tasks help no one read a history)
_MAX_TASKS_IN_HISTORY = 1000

# The "auto" training recipe, chosen on validation splits of the training parts of the real data
# sets in benchmarks/ (see the "Defaults" section of the user guide for the measurements).
# early_stopping="auto" holds a validation split out when it would hold this many labels of the
# median task (3000 labels per task at the default validation_fraction of 0.1); on smaller data the
# noise of a small split's best epoch cost more than stopping saved (sider, mixed5, physchem3)
_AUTO_EARLY_STOPPING_MIN_LABELS = 300
# ... and for the median classification task this many labels of its rarest class (with a few
# dozen positives per task, a split's per-task ROC-AUC jumps by 0.1 between epochs)
_AUTO_EARLY_STOPPING_MIN_RARE = 50
# max_iter="auto": about this many optimizer steps (27 epochs of Tox21, 30 of physchem3, 37 of
# sider at batch_size="auto"), in at least and at most these many epochs. With the cosine schedule
# a fit of this length did as well as the constant rate's 35-200 epochs (within 0.003, or better)
# on the validation splits of the panel (user guide, "Defaults")
_AUTO_STEPS = 1500
# ... and this many on an input narrower than _WIDE_INPUT: as good on narrow sets, worse on wide ones
_AUTO_STEPS_NARROW = 750
_AUTO_EPOCHS = (5, 200)
# ... at least this many where the median classification task has under _FEW_POSITIVES of its rarest class
# (MUV, 67,000 rows, ~22 positives a task: validation PRC-AUC 0.137 in 5 epochs, 0.160 in 10, 0.148 in
# 15; 40,000 synthetic rows of balanced classes lost 0.002 ROC-AUC in 10, so for rare classes only)
_FEW_POSITIVES_MIN_EPOCHS, _FEW_POSITIVES = 10, 50
# alpha="auto" is this L2 coefficient on the mean batch loss (alpha = _AUTO_L2 * batch_size in
# MLPClassifier's meaning, without sample weights), chosen on the panel's fits of up to 8,700 rows; on
# more than _AUTO_L2_ROWS it is times (_AUTO_L2_ROWS / rows)^1.5, a prior weighing less against more rows
# (MUV's 67,000 rows, 24-30 positives a task, validation PRC-AUC 0.088 at 3e-3, 0.138-0.147 at 0.1-0.034x)
_AUTO_L2 = 3e-3
_AUTO_L2_ROWS = 10_000
# dropout="auto" and input_dropout="auto" of classifiers: these on inputs of at least _WIDE_INPUT
# features (fingerprints, word counts), none on narrow inputs. Regressors use none (physchem3: R^2 0.69
# with it, 0.75 without). A mixed model gives them to its classification tasks only, its regression
# tasks reading a pass without (mixed5 validation ROC-AUC 0.9053, the classifier's 0.9044)
_WIDE_DROPOUTS = {"dropout": 0.5, "input_dropout": 0.2}


# Batches hand the loss dense blocks of rows x tasks when more than this fraction of the labels' cells
# hold a label, else the labelled pairs (labels_as_pairs): below 10% a block's cells cost more than ten
# times the labels (a 100,000 x 1,000 y with 0.1% labelled added 3.2 times its 763 MiB to fit's peak as
# blocks; benchmarks/bench_label_memory.py). The panel's sets (21% to 100% labelled) take blocks
_DENSE_BLOCK_MIN_DENSITY = 0.1

# With labels as pairs and at least this many tasks (each head with one output), the heads' weight gets a
# sparse gradient and SparseAdam (a step updates the labelled tasks' rows only); below, Adam
_SPARSE_HEADS_MIN_TASKS = 1000


# ensemble_size > 1: each member weighs each row by a Gamma(16, 1/16) draw (mean 1, sd 0.25). On validation
# splits, members differing by initialization only ranked enb2012's errors poorly (Spearman of std with
# |error| 0.03-0.14; 0.23-0.35 with these weights; physchem3 0.248 -> 0.264) at no cost to the mean;
# Exp(1) weights (the Bayesian bootstrap) and shape 4 cost R^2 (enb2012 0.9887 -> 0.9843, 0.9879)
_MEMBER_WEIGHT_SHAPE = 16


def _epoch_budget(est, n_rows, batch_size):
    """``est.max_iter``; for "auto", epochs for about ``_AUTO_STEPS`` steps (``_AUTO_STEPS_NARROW``
    on a narrow input) within ``_AUTO_EPOCHS``: fewer for more rows, whose epochs take more steps."""
    if est.max_iter != "auto":
        return est.max_iter
    steps = _AUTO_STEPS if est.n_features_in_ >= _WIDE_INPUT else _AUTO_STEPS_NARROW
    steps_per_epoch = -(-n_rows // batch_size)
    low, high = _AUTO_EPOCHS
    if est.__dict__.get("_few_positives"):  # set by fit (few_positives)
        low = max(low, _FEW_POSITIVES_MIN_EPOCHS)
    return int(np.clip(-(-steps // steps_per_epoch), low, high))


def _rarest_counts(task_labels, tasks):
    """Each classification task's count of labels of its rarest class."""
    pairs = zip(task_labels, tasks, strict=True)
    return [np.unique(v, return_counts=True)[1].min() for (v, _), t in pairs if t.kind == "classification" and len(v)]


def few_positives(task_labels, tasks):
    """Whether the median classification task has under ``_FEW_POSITIVES`` labels of its rarest class."""
    rarest = _rarest_counts(task_labels, tasks)
    return bool(rarest) and bool(np.median(rarest) < _FEW_POSITIVES)


def _auto_batch_size(n_samples):
    """batch_size="auto": about 50 steps per epoch, within [32, 128] rows (all rows if fewer)."""
    return min(n_samples, int(np.clip(n_samples // 50, 32, 128)))


def _auto_dropouts(est):
    """``(dropout, input_dropout, dropout_tasks)`` of the module, "auto" resolved (see
    ``_WIDE_DROPOUTS``): the classifier's dropouts on a wide input, none on a narrow one or for
    regression tasks. A mixed model with both "auto" gives them to its classification tasks only
    (``dropout_tasks``: its regression tasks read the network without); beside an explicit value,
    "auto" is 0 in a mixed model."""
    kinds = {task.kind for task in est.tasks_}
    wide = est.n_features_in_ >= _WIDE_INPUT
    values = {"dropout": est.dropout, "input_dropout": est.input_dropout}
    split_by_kind = wide and kinds == {"classification", "regression"} and all(v == "auto" for v in values.values())
    for name, value in values.items():
        if value == "auto":
            values[name] = _WIDE_DROPOUTS[name] if wide and (kinds == {"classification"} or split_by_kind) else 0.0
    dropout_tasks = [task.kind == "classification" for task in est.tasks_] if split_by_kind else None
    return values["dropout"], values["input_dropout"], dropout_tasks


def _to_tensor_input(X, dtype, sparse_batches=False):
    """X as the training loop wants it: a tensor of ``dtype``, or a CSR matrix of it if sparse (or if
    the module takes sparse batches)."""
    if sp.issparse(X) or sparse_batches:
        return sp.csr_matrix(X, dtype=dtype)
    return torch.from_numpy(np.ascontiguousarray(X, dtype=dtype))


# torch's global RNG is one per process: fits in several threads take turns while they use it
_GLOBAL_RNG_LOCK = threading.Lock()


@contextmanager
def _seeded_torch(seed, device):
    """Seed torch's global RNG; the caller's RNG state is restored after.

    Initialization draws from the global RNG (``nn.Linear`` does), so it runs here, under a lock.
    Training does not: shuffling, dropout and PCGrad use private generators (see
    ``_BaseMaskedMultiTask._attach_generator``), so fits in parallel threads neither disturb nor
    wait for each other. A custom ``module`` may draw from the global RNG while training; its
    whole fit runs here.
    """
    devices = [device] if device.type == "cuda" else []
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=devices):
        torch.random.default_generator.manual_seed(seed)
        if devices:
            torch.cuda.manual_seed(seed)
        yield


def _check_hidden_layer_sizes(hidden_layer_sizes):
    """A tuple of positive ints (an int is one layer, as in MLPClassifier)."""
    sizes = (hidden_layer_sizes,) if isinstance(hidden_layer_sizes, numbers.Integral) else tuple(hidden_layer_sizes)
    if not all(isinstance(size, numbers.Integral) and size > 0 for size in sizes):
        raise ValueError(f"hidden_layer_sizes must be positive integers; got {hidden_layer_sizes!r}.")
    return tuple(int(size) for size in sizes)


def _task_balanced_probabilities(labels):
    """Row-drawing probabilities that give every task the same share of its labels per epoch.

    Each task spreads a mass of 1 over its labels in proportion to their weights; a row's
    probability is the sum over its labels. A task with 1% of the labels of another is then drawn
    as often, and rows without labels are never drawn.
    """
    task_totals = np.bincount(labels.tasks, weights=labels.weights, minlength=labels.shape[1])
    shares = labels.weights / task_totals[labels.tasks]
    probabilities = np.bincount(labels.rows, weights=shares, minlength=labels.shape[0])
    return probabilities / probabilities.sum()


def check_device(device):
    """``device`` as a ``torch.device``, refused with a clear message where it is not available."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device={device!r} is not a torch device ({error}); use 'cpu' or 'cuda'.") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for but CUDA is not available here; use device='cpu'.")
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} was asked for but MPS is not available here; use device='cpu'.")
    return parsed


# -- which network and which batches --------------------------------------------------------------
def weighting_uses_gradients(task_weighting):
    """Whether ``task_weighting`` works on the shared layers' gradients (PCGrad, GradNorm), which
    must then be dense."""
    weighting = TASK_WEIGHTINGS[task_weighting] if isinstance(task_weighting, str) else task_weighting
    return weighting.uses_gradients


def sparse_batches(est, X, net=None):
    """Whether the network's first layer takes sparse batches (``SparseInputLinear``, whose cost
    follows the non-zeros of X) where X's shape calls for it (``_first_layer.py``: sparse X,
    mostly-zero wide dense X), with the default module and a shared first hidden layer, unless
    the task weighting needs the shared layers' gradients as dense tensors (PCGrad, GradNorm). A
    fitted network (``net``) keeps its kind."""
    if net is not None:
        return takes_sparse_batches(net.module_)
    has_layers = len(_check_hidden_layer_sizes(est.hidden_layer_sizes)) > 0
    first_shared = est.n_shared_layers is None or est.n_shared_layers >= 1
    if est.module is not None or not has_layers or not first_shared or weighting_uses_gradients(est.task_weighting):
        return False
    return first_layer.reads_nonzeros(X)


def can_train_heads_sparsely(est):
    """Whether the default module can give its heads sparse gradients (``sparse_heads``): every head
    has one output and the task weighting does not need the shared layers' gradients per task."""
    one_output = all(task.head_width == 1 for task in est.tasks_)
    plain = est.module is None and est.ensemble_size == 1
    return plain and one_output and not weighting_uses_gradients(est.task_weighting)


# -- datasets --------------------------------------------------------------------------------------
def labels_as_pairs(labels, net=None):
    """Whether batches hand the loss labelled pairs rather than dense blocks of rows x tasks.

    Pairs when at most ``_DENSE_BLOCK_MIN_DENSITY`` of the labels' cells hold a label (a block
    would cost more than ten times the labels, and the loss would read outputs for nothing), and
    always for a fitted ``net`` whose heads train from pairs (``sparse_heads``, which only pairs
    choose); dense blocks otherwise. The form follows the labels' shape and density, not the form
    y was given in: a DataFrame of mostly NaN and a sparse matrix of the same labels train alike.
    """
    if net is not None and getattr(net.module_, "sparse_heads", False):
        return True
    return len(labels) <= _DENSE_BLOCK_MIN_DENSITY * labels.shape[0] * labels.shape[1]


def make_dataset(est, X, labels, device, sparse_batches, pairs, y=None, X_given=None):
    """The dataset of compact labels, encoded once by ``est.tasks_``, with their class weights, as
    dense blocks or pairs (``pairs``); an ensemble's row weights hash ``X_given``'s rows (X's default)."""
    encoded = encode_labels(est.tasks_, labels.values, labels.by_task_)
    multipliers = class_weight_multipliers(
        est.tasks_, getattr(est, "class_weight", None), encoded, labels.weights, labels.by_task_, est._y_was_1d
    )
    X_rows = X if X_given is None else X_given
    X = _to_tensor_input(X, est.dtype, sparse_batches)

    def tensor(array, dtype=None):
        return torch.from_numpy(np.ascontiguousarray(array, dtype=dtype or est.dtype)).to(device)

    count_weights = tensor(labels.weights)
    row_probabilities = None
    if est.sampling == "task_balanced":
        row_probabilities = tensor(_task_balanced_probabilities(labels), np.float64)
    return LabelDataset(
        X if sp.issparse(X) else X.to(device),
        tensor(labels.row_ptr, np.int64),
        tensor(labels.tasks, np.int64),
        tensor(encoded),
        count_weights if multipliers is None else tensor(labels.weights * multipliers),
        count_weights,
        tensor(labels.row_weights),
        labels.shape[1],
        est.loss_normalization,
        row_probabilities=row_probabilities,
        y=y,
        sparse_batches=sparse_batches,
        pairs=pairs,
        member_weights=member_weights(est, X_rows, device),
    )


def member_weights(est, X, device):
    """An ensemble's weight of each row of X in each member's loss, drawn once per fit from a gamma
    law of mean 1 and standard deviation 1/4 (``_MEMBER_WEIGHT_SHAPE``): every member fits its own
    reweighting of the data, as bagging fits its own resample, so that the members disagree where
    the data leave the answer open; None for one network.

    A row's draw is a function of the row itself (a hash of a fixed random projection of it, mixed
    with the fit's seed), so that a repeated row weighs in each member as the row given a sample
    weight of 2 does, and a row of weight 0 changes no other row's draw.
    """
    if est.ensemble_size == 1:
        return None
    seed = np.uint64(est._rng.randint(np.iinfo(np.int32).max))
    projection = np.random.RandomState(0).normal(size=X.shape[1])
    keys = np.ascontiguousarray(np.asarray(X @ projection, dtype=np.float64).ravel()).view(np.uint64)
    members = np.arange(1, est.ensemble_size + 1, dtype=np.uint64)[:, None]
    uniform = (_mix64(keys[None, :] ^ _mix64(seed * members)) >> np.uint64(11)) * 2.0**-53
    uniform = np.clip(uniform, 2.0**-54, 1 - 2.0**-54)
    draws = gamma.ppf(uniform, _MEMBER_WEIGHT_SHAPE, scale=1.0 / _MEMBER_WEIGHT_SHAPE)
    return torch.from_numpy(draws.astype(est.dtype)).to(device)


def _mix64(z):
    """splitmix64's finalizer: uint64 values to well-mixed uint64 values (wrapping arithmetic)."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


# -- the net ---------------------------------------------------------------------------------------
def make_task_weighting(est):
    """A fresh task-weighting strategy for ``est.n_tasks_`` tasks."""
    weighting = est.task_weighting
    weighting = TASK_WEIGHTINGS[weighting]() if isinstance(weighting, str) else copy.deepcopy(weighting)
    weighting.setup(est.n_tasks_)
    return weighting


def build_net(est, task_weights, batch_size, device, sparse_input, n_rows, sparse_heads=False, nonzeros=0.0):
    """The skorch net of ``est``'s parameters for its ``tasks_``, not yet initialized (``nonzeros``:
    X's mean non-zeros per row, for the first layer's gradient, ``_first_layer.py``)."""
    layout = OutputLayout.from_tasks(est.tasks_)
    module_params = {"n_features": n_encoded_features(est), "n_outputs": layout.n_outputs}
    check_ensemble(est)
    if est.module is None:
        dropout, input_dropout, dropout_tasks = _auto_dropouts(est)
        module_params.update(
            sparse_input=sparse_input,
            hidden_layer_sizes=_check_hidden_layer_sizes(est.hidden_layer_sizes),
            activation=est.activation,
            dropout=dropout,
            input_dropout=input_dropout,
            head_widths=layout.head_widths,
        )
        if dropout_tasks is not None:
            module_params.update(dropout_tasks=dropout_tasks)
        if est.ensemble_size > 1:
            # wide sparse inputs share the first layer's weight (its size and its optimizer step
            # dominate the cost there); narrow dense ones give each member its own
            module_params.update(
                n_members=est.ensemble_size, losses=layout.losses, shared_input_weight=sparse_input
            )
        else:
            module_params.update(
                sparse_gradient=first_layer.sparse_gradient(est.n_features_in_, nonzeros, min(batch_size, n_rows)),
                sparse_heads=sparse_heads,
                n_shared_layers=est.n_shared_layers, task_sharing=est.task_sharing_,
            )
    if est.module is not None and est.n_shared_layers is not None:
        raise ValueError(
            f"n_shared_layers={est.n_shared_layers} shapes the default network; a custom module decides its "
            "own sharing. Leave n_shared_layers=None with module."
        )
    if est.optimizer is not None and not (
        isinstance(est.optimizer, type) and issubclass(est.optimizer, torch.optim.Optimizer)
    ):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer class such as torch.optim.SGD; got {est.optimizer!r}. "
            "Pass its arguments through net_params, e.g. {'optimizer__momentum': 0.9}."
        )
    for callback in est.callbacks or []:
        instance = callback[1] if isinstance(callback, tuple) and len(callback) == 2 else callback
        if not isinstance(instance, Callback):
            raise TypeError(f"callbacks must hold skorch callbacks (or (name, callback) pairs); got {callback!r}.")
    optimizer_params = {}
    if est.optimizer is None and device.type in ("cpu", "cuda"):
        optimizer_params["optimizer__fused"] = True
    task_keys = [task.key for task in est.tasks_]
    record_tasks = len(task_keys) <= _MAX_TASKS_IN_HISTORY
    callbacks = [
        ("task_losses", TaskLossLogger(task_keys, record_tasks)),
        ("valid_score", ValidationScore(est.tasks_, record_tasks)),
        ("stop_on_non_finite_loss", StopOnNonFiniteLoss()),
        ("learning_rate", CosineLearningRate()),
        ("early_stopping", EarlyStopping(patience=est.n_iter_no_change, threshold=est.tol, threshold_mode="abs")),
        *task_checkpoint(est),
        *(est.callbacks or []),
        ("fit_feedback", FitFeedback()),  # last: it reports each epoch as the others left it
    ]
    params = {
        "module": est.module or (SharedTrunkNet if est.ensemble_size == 1 else MemberEnsembleNet),
        **{f"module__{key}": value for key, value in module_params.items()},
        "criterion": MaskedMultiTaskLoss,
        "criterion__layout": layout,
        "criterion__weighting": make_task_weighting(est),
        "criterion__task_weights": task_weights,
        "optimizer": torch.optim.Adam if est.optimizer is None else est.optimizer,
        **optimizer_params,
        "lr": est.learning_rate_init / est._sharing_pace,  # 1 unless slowed (_sharing.py), as the epochs
        "max_epochs": _epoch_budget(est, n_rows, batch_size) * est._sharing_pace,
        "batch_size": batch_size,
        "iterator_train": BatchIterator,
        "iterator_train__shuffle": True,
        "iterator_valid": BatchIterator,
        "train_split": None,
        "callbacks": callbacks,
        "callbacks__print_log": None,  # FitFeedback prints what est.verbose asks for
        # dict targets cannot be concatenated into a prediction cache; scorers predict anew
        "use_caching": False,
        "verbose": 0,
        "device": device,
        "alpha": 0.0 if est.alpha == "auto" else est.alpha,
        # _AUTO_L2 unless raised (_sharing.py), less on many rows
        "l2": est._sharing_l2 * min(1.0, _AUTO_L2_ROWS / n_rows) ** 1.5 if est.alpha == "auto" else 0.0,
        "warm_start": True,
    }
    params.update(est.net_params or {})
    net = MaskedNet(**params)
    # skorch's EpochScoring calls scorers with the net; masked scorers follow this back to the
    # estimator, which knows the tasks and how to decode outputs. The trailing underscore keeps
    # it out of the net's get_params and clone
    net.estimator_ = est
    return net


def check_ensemble(est):
    """``ensemble_size > 1`` trains the members of a :class:`MemberEnsembleNet` together; say which
    parameters it does not combine with yet, rather than ignore them."""
    if est.ensemble_size == 1:
        return
    conflicts = []
    if est.module is not None:
        conflicts.append("a custom module (it builds one network; ensemble several yourself)")
    n_layers = len(_check_hidden_layer_sizes(est.hidden_layer_sizes))
    if est.n_shared_layers is not None and est.n_shared_layers < n_layers:
        conflicts.append(f"private layers (n_shared_layers={est.n_shared_layers})")
    if est.per_task_stopping:
        conflicts.append("per_task_stopping=True")
    if weighting_uses_gradients(est.task_weighting):
        conflicts.append(f"task_weighting={est.task_weighting!r} (it shapes one network's shared gradients)")
    if conflicts:
        raise ValueError(f"ensemble_size={est.ensemble_size} does not yet combine with {'; '.join(conflicts)}.")


def validation_split(est):
    """The split that early stopping holds out, seeded from the estimator's random state."""
    return RandomSplit(est.validation_fraction, seed=int(est._rng.randint(np.iinfo(np.int32).max)))


def initialize_net(net, net_params):
    """Initialize the net (module, criterion, optimizer), naming ``net_params`` when skorch refuses them."""
    try:
        net.initialize()
    except ValueError as error:
        if net_params:  # skorch checks parameter names here: point at where they came from
            raise ValueError(f"net_params {sorted(net_params)}: {error}") from None
        raise


def check_module_output(net, tasks, dataset):
    """A custom module must map a batch to (n_rows, n_outputs); say so before training."""
    n_outputs = sum(task.head_width for task in tasks)
    inputs, _ = dataset.batch(slice(0, 2))
    module = net.module_
    module.train(False)
    with torch.no_grad():
        outputs = module(inputs)
    if not isinstance(outputs, torch.Tensor) or tuple(outputs.shape) != (len(inputs), n_outputs):
        shape = tuple(outputs.shape) if isinstance(outputs, torch.Tensor) else type(outputs).__name__
        raise ValueError(
            f"module returned {shape} for {len(inputs)} rows; it must return a tensor of shape "
            f"(n_rows, {n_outputs}): one column per binary or regression task and K per task with "
            "K > 2 classes, in task order."
        )


def task_checkpoint(est):
    """The per-task stopping callback, when ``per_task_stopping`` asks for it."""
    if not est.per_task_stopping:
        return []
    if est.module is not None and not hasattr(est.module, "private_parameters"):
        raise ValueError(
            "per_task_stopping=True restores each task's own parameters, which a custom module must name with "
            "a private_parameters(task) method (as SharedTrunkNet does)."
        )
    monitor = "loss" if est.scoring == "loss" else "score"
    return [("task_checkpoint", TaskCheckpoint(est.n_tasks_, monitor, est.tol))]


# -- stopping and the training run -----------------------------------------------------------------
def uses_early_stopping(est, task_labels, tasks):
    """Whether ``fit`` holds a validation split out: ``early_stopping``, with "auto" resolved.

    "auto" holds none with the cosine schedule, whose end is where training stops. With a
    constant learning rate it holds one out when the split would hold, for the median task,
    at least ``_AUTO_EARLY_STOPPING_MIN_LABELS`` labels, and for the median classification
    task at least ``_AUTO_EARLY_STOPPING_MIN_RARE`` labels of its rarest class: enough for the
    validation score to tell a better epoch from a luckier one (a validation ROC-AUC over a
    handful of positives jumps by 0.1 from one epoch to the next).
    """
    if est.early_stopping != "auto":
        return bool(est.early_stopping)
    if est.learning_rate_schedule == "cosine":
        return False
    labels = [len(values) for values, _ in task_labels]
    if est.validation_fraction * np.median(labels) < _AUTO_EARLY_STOPPING_MIN_LABELS:
        return False
    rarest = _rarest_counts(task_labels, tasks)
    return not rarest or est.validation_fraction * np.median(rarest) >= _AUTO_EARLY_STOPPING_MIN_RARE


def configure_stopping(net, split, validate, scoring):
    """Stop on a held-out split's masked score or loss (restoring the best epoch's weights), or
    on the training loss. ``partial_fit`` never holds rows out: its batch is all it has."""
    net.train_split = split if validate else None
    early_stopping = dict(net.callbacks_)["early_stopping"]
    if not validate:
        early_stopping.monitor, early_stopping.lower_is_better = "train_loss", True
    elif scoring == "loss":
        early_stopping.monitor, early_stopping.lower_is_better = "valid_loss", True
    else:
        early_stopping.monitor, early_stopping.lower_is_better = "valid_score", False
    early_stopping.load_best = validate


def attach_generator(net, generator):
    """Hand a private generator to the modules that draw random numbers while training (None
    detaches it, so that no generator is stored with the fitted model)."""
    for part in (*net.module_.modules(), net.criterion_.weighting):
        if hasattr(part, "generator"):
            part.generator = generator


def train(
    net,
    dataset,
    *,
    n_epochs,
    seed,
    device,
    schedule,
    split=None,
    validate=False,
    scoring="auto",
    global_rng=False,
    share=None,
):
    """Train ``net`` on ``dataset`` for up to ``n_epochs`` epochs (early stopping may end it sooner).

    ``schedule`` is the learning-rate schedule ("cosine" anneals over these ``n_epochs``;
    "constant", or None for one ``partial_fit`` epoch, keeps the rate). Shuffling, dropout and
    PCGrad draw from a private generator seeded with ``seed``; ``global_rng`` also seeds torch's
    global RNG for the run (a custom module may draw from it). The module is left in eval mode.

    With ``share`` (a ``_distributed.Share``: a process group is initialized), the training is
    data-parallel (``_distributed.py``): this rank computes its share of each batch, the
    gradients are summed over the ranks, and rank 0's parameters end on every rank.
    """
    net.iterator_train__seed = seed
    configure_stopping(net, split, validate, scoring)
    dict(net.callbacks_)["learning_rate"].n_epochs = n_epochs if schedule == "cosine" else None
    attach_generator(net, torch.Generator(device=device).manual_seed(seed))
    if share is not None:
        distributed.check_sparse_gradients(net)
        # (with a validation split, the share binds to the rows trained on; validation is whole)
        net.iterator_train__share = share
        net.world_size_ = share.world_size
    try:
        with _seeded_torch(seed, device) if global_rng else nullcontext():
            net.partial_fit(dataset, None, epochs=n_epochs)
    finally:
        attach_generator(net, None)
        if share is not None:
            net.iterator_train__share = None
            del net.world_size_
    if share is not None:
        distributed.broadcast_parameters(net.module_, share)
    net.module_.train(False)
    return net


def add_task_heads(est, net, new_tasks, task_weights, seed, device):
    """Give ``net`` heads for ``new_tasks`` (``est.tasks_`` already lists them) on frozen shared
    layers: a new criterion for all the tasks, an optimizer of the new parameters only, and the
    callbacks told of the new tasks. The module's parameters stay frozen: unfreeze them
    (``requires_grad_(True)``) after training."""
    module = net.module_
    module.requires_grad_(False)
    with _seeded_torch(seed, device):
        block = module.add_tasks([task.head_width for task in new_tasks])
    net.__dict__.pop("_parameter_lists_", None)  # the module's parameters changed
    net.criterion_ = MaskedMultiTaskLoss(
        OutputLayout.from_tasks(est.tasks_), make_task_weighting(est), task_weights
    ).to(device)
    optimizer = torch.optim.Adam if est.optimizer is None else est.optimizer
    net.optimizer_ = optimizer(block.parameters(), lr=est.learning_rate_init)
    callbacks = dict(net.callbacks_)
    record_tasks = est.n_tasks_ <= _MAX_TASKS_IN_HISTORY
    callbacks["task_losses"].task_keys = [task.key for task in est.tasks_]
    callbacks["task_losses"].record_tasks = record_tasks
    callbacks["valid_score"].tasks = est.tasks_
    callbacks["valid_score"].record_tasks = record_tasks
    if "task_checkpoint" in callbacks:
        callbacks["task_checkpoint"].n_tasks = est.n_tasks_
    return net
