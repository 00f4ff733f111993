"""What the masked multi-task estimators share: parameters, validation, the net, fit, predict and score."""

import copy
import numbers
import threading
import warnings
from contextlib import contextmanager, nullcontext

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data
from skorch.callbacks import Callback, EarlyStopping

from ._labels import CompactLabels, labels_from_long
from ._losses import LOSS_NORMALIZATIONS, MaskedMultiTaskLoss, OutputLayout
from ._net import (
    BatchIterator,
    CompactMaskedDataset,
    CosineLearningRate,
    MaskedDataset,
    MaskedNet,
    RandomSplit,
    StopOnNonFiniteLoss,
    TaskCheckpoint,
    TaskLossLogger,
    ValidationScore,
    takes_sparse_batches,
)
from ._predictor import NetworkPredictor
from ._sklearn_compat import Interval, StrOptions, _check_sample_weight, _fit_context
from ._targets import as_2d_targets, missing_mask
from ._tasks import (
    check_partial_fit_classes,
    class_weight_multipliers,
    compact_class_weight_multipliers,
    decode_outputs,
    dense_task_labels,
    describe_tasks,
    encode_compact_targets,
    encode_targets,
    split_outputs,
    stack_predictions,
)
from .metrics._masked import _score_tasks, _typed
from .modules import SharedTrunkNet
from .weighting import TASK_WEIGHTINGS, TaskWeighting

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
_AUTO_EPOCHS = (5, 200)
# alpha="auto" is this L2 coefficient on the mean batch loss (alpha = _AUTO_L2 * batch_size in
# MLPClassifier's meaning, without sample weights)
_AUTO_L2 = 3e-3
# dropout="auto" and input_dropout="auto" of classifiers: these on inputs of at least _WIDE_INPUT
# features (fingerprints, word counts), none on narrow tabular inputs. Regressors use none: on the
# fingerprint regression sets dropout cost R^2 (physchem3: 0.69 with it, 0.75 without)
_WIDE_INPUT = 100
_WIDE_DROPOUTS = {"dropout": 0.5, "input_dropout": 0.2}


# The first layer reads the non-zeros of X only (SparseInputLinear) for sparse X, and for dense X of
# at least _WIDE_INPUT columns with at most this fraction of non-zeros. Forward and backward of
# Tox21's first layer (1.5% non-zero) took 0.12 s per epoch this way, 0.75 s as nn.Linear; as the
# former grows with the non-zeros, the two would cost alike near 9% (extrapolated, not measured)
_SPARSE_INPUT_MAX_DENSITY = 0.1
# ... and its weight gets a sparse gradient and SparseAdam (lazy L2 on the rows a batch uses) from
# this many columns; below, the dense gradient of nn.Linear, the same Adam and L2 as a dense X
_SPARSE_GRADIENT_MIN_FEATURES = 10_000

# With a sparse y and at least this many tasks (each head with one output), the heads' weight gets
# a sparse gradient and SparseAdam: a step updates the labelled tasks' head rows only. Below it,
# the heads keep Adam, and a sparse y fits the model of the same labels given dense
_SPARSE_HEADS_MIN_TASKS = 1000


def _epoch_budget(max_iter, n_rows, batch_size):
    """max_iter="auto": enough epochs for about ``_AUTO_STEPS`` optimizer steps, within
    ``_AUTO_EPOCHS`` (fewer epochs for more rows: each epoch takes more steps)."""
    if max_iter != "auto":
        return max_iter
    steps_per_epoch = -(-n_rows // batch_size)
    return int(np.clip(-(-_AUTO_STEPS // steps_per_epoch), *_AUTO_EPOCHS))


def _density(X):
    """The fraction of non-zero entries of a dense X."""
    return np.count_nonzero(X) / max(X.size, 1)


def _auto_batch_size(n_samples):
    """batch_size="auto": about 50 steps per epoch, within [32, 128] rows (all rows if fewer)."""
    return min(n_samples, int(np.clip(n_samples // 50, 32, 128)))


def _auto_dropout(name, value, n_features, tasks):
    """The dropout parameter ``name`` with "auto" resolved (see ``_WIDE_DROPOUTS``): dropout when
    every task is a classification task and the input is wide."""
    if value != "auto":
        return value
    all_classification = all(task.kind == "classification" for task in tasks)
    return _WIDE_DROPOUTS[name] if all_classification and n_features >= _WIDE_INPUT else 0.0


def _auto_head_dropout(dropout, n_features, tasks):
    """``(head_dropout, head_dropout_tasks)`` of the module: with ``dropout="auto"``, a mixed model on a
    wide input puts the classifier's dropout in front of its classification heads only (its
    shared layers get none, which its regression tasks need)."""
    kinds = {task.kind for task in tasks}
    if dropout != "auto" or kinds != {"classification", "regression"} or n_features < _WIDE_INPUT:
        return 0.0, None
    return _WIDE_DROPOUTS["dropout"], [task.kind == "classification" for task in tasks]


def _check_device(device):
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device={device!r} is not a torch device ({error}); use 'cpu' or 'cuda'.") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for but CUDA is not available here; use device='cpu'.")
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} was asked for but MPS is not available here; use device='cpu'.")
    return parsed


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


def _check_fit_sample_weight(sample_weight, X, observed):
    """``(row_weights, count_weights)`` from a 1-D (per row) or 2-D (per label) sample_weight.

    ``count_weights`` is each label's weight, 0 where the label is missing; ``row_weights`` is a
    row's weight. A 2-D sample_weight weighs labels only: every row then weighs 1 (in the
    ``per_sample`` denominator and the L2 penalty), so that a label of weight 0 is exactly a
    missing label.
    """
    if sample_weight is not None and np.asarray(sample_weight).ndim == 2:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != observed.shape:
            raise ValueError(
                f"sample_weight has shape {sample_weight.shape}; a 2-D sample_weight needs one weight "
                f"per label, shape (n_samples, n_tasks) = {observed.shape}."
            )
        if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
            raise ValueError("sample_weight must be finite and non-negative (0 drops a label).")
        return np.ones(len(sample_weight)), np.where(observed, sample_weight, 0.0)
    row_weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    return row_weights, observed * row_weights[:, None]


def _stored_labels(y, missing_label):
    """A dense y as a sparse one that stores exactly its observed labels (explicit zeros included)."""
    y2d, _, _ = as_2d_targets(y)
    rows, tasks = np.nonzero(~missing_mask(y2d, missing_label))
    try:
        values = y2d[rows, tasks].astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "This network trains its heads from labelled pairs (it was fitted on a sparse y): continue with "
            "numeric labels."
        ) from None
    return labels_from_long(rows, tasks, values, shape=y2d.shape)


def _compact_task_balanced_probabilities(labels):
    """:func:`_task_balanced_probabilities` of compact labels."""
    task_totals = np.bincount(labels.tasks, weights=labels.weights, minlength=labels.shape[1])
    shares = labels.weights / task_totals[labels.tasks]
    probabilities = np.bincount(labels.rows, weights=shares, minlength=labels.shape[0])
    return probabilities / probabilities.sum()


def _check_hidden_layer_sizes(hidden_layer_sizes):
    """A tuple of positive ints (an int is one layer, as in MLPClassifier)."""
    sizes = (hidden_layer_sizes,) if isinstance(hidden_layer_sizes, numbers.Integral) else tuple(hidden_layer_sizes)
    if not all(isinstance(size, numbers.Integral) and size > 0 for size in sizes):
        raise ValueError(f"hidden_layer_sizes must be positive integers; got {hidden_layer_sizes!r}.")
    return tuple(int(size) for size in sizes)


def _task_balanced_probabilities(count_weights):
    """Row-drawing probabilities that give every task the same share of its labels per epoch.

    Each task spreads a mass of 1 over its labels in proportion to their weights; a row's
    probability is the sum over its labels. A task with 1% of the labels of another is then drawn
    as often, and rows without labels are never drawn.
    """
    task_totals = count_weights.sum(axis=0)
    shares = np.divide(count_weights, task_totals, out=np.zeros_like(count_weights), where=task_totals > 0)
    probabilities = shares.sum(axis=1)
    return probabilities / probabilities.sum()


class _BaseMaskedMultiTask(BaseEstimator):
    """Shared logic. What each task is lives in the fitted ``tasks_`` (see ``_tasks.py``); the
    subclasses differ only in which kinds of task they accept and in their public methods."""

    #: "classification" or "regression": the kind of every task of the subclass; None lets the
    #: ``task_types`` parameter say (MaskedMultiTaskEstimator)
    _task_kind = None

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "n_shared_layers": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "alpha": [StrOptions({"auto"}), Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "learning_rate_schedule": [StrOptions({"cosine", "constant"})],
        "max_iter": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "scoring": [StrOptions({"auto", "loss"})],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "per_task_stopping": ["boolean"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "dropout": [StrOptions({"auto"}), Interval(numbers.Real, 0, 1, closed="left")],
        "input_dropout": [StrOptions({"auto"}), Interval(numbers.Real, 0, 1, closed="left")],
        "missing_label": [numbers.Real, str, None],
        "loss_normalization": [StrOptions(set(LOSS_NORMALIZATIONS))],
        "task_weights": ["array-like", dict, None],
        "task_weighting": [StrOptions(set(TASK_WEIGHTINGS)), TaskWeighting],
        "sampling": [StrOptions({"uniform", "task_balanced"})],
        "device": [str, torch.device],
        "module": [callable, None],
        "optimizer": [callable, None],
        "callbacks": [list, None],
        "net_params": [dict, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "dtype": [StrOptions({"float32", "float64"})],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(1024,),
        n_shared_layers=None,
        activation="relu",
        alpha="auto",
        batch_size="auto",
        learning_rate_init=4e-3,
        learning_rate_schedule="cosine",
        max_iter="auto",
        early_stopping="auto",
        scoring="auto",
        validation_fraction=0.1,
        n_iter_no_change=20,
        per_task_stopping=False,
        tol=1e-4,
        dropout="auto",
        input_dropout="auto",
        missing_label=np.nan,
        loss_normalization="per_task",
        task_weights=None,
        task_weighting="equal",
        sampling="uniform",
        device="cpu",
        module=None,
        optimizer=None,
        callbacks=None,
        net_params=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        dtype="float32",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.n_shared_layers = n_shared_layers
        self.activation = activation
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.learning_rate_schedule = learning_rate_schedule
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.scoring = scoring
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.per_task_stopping = per_task_stopping
        self.tol = tol
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.missing_label = missing_label
        self.loss_normalization = loss_normalization
        self.task_weights = task_weights
        self.task_weighting = task_weighting
        self.sampling = sampling
        self.device = device
        self.module = module
        self.optimizer = optimizer
        self.callbacks = callbacks
        self.net_params = net_params
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.dtype = dtype

    # -- fit ---------------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network on the observed labels of every task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data. NaN and inf are rejected: impute them first (for example with
            :class:`~sklearn.impute.SimpleImputer` in a pipeline).
        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_tasks)
            Targets, one column per task. A missing label is NaN, None, ``pd.NA`` or equal to
            ``missing_label``; it does not take part in training. In a scipy sparse y (see
            :func:`~sklearn_mtl.labels_from_long`), a stored entry is a label (an explicit 0 too)
            and an entry not stored is missing; the labels then stay in a compact form, so that
            memory follows their number rather than n_samples x n_tasks.
        sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), default=None
            Weight of each row, applied to each of its observed labels; a weight of 2 means the
            same as repeating the row. A 2-D array weighs each label on its own (a weight of 0
            is exactly a missing label).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        continue_training = self.warm_start and hasattr(self, "net_")
        return self._fit(X, y, sample_weight, continue_training=continue_training)

    def _partial_fit(self, X, y, sample_weight, classes=None):
        """One epoch over (X, y); the first call builds the network."""
        continue_training = hasattr(self, "net_")
        return self._fit(X, y, sample_weight, continue_training=continue_training, incremental=True, classes=classes)

    def _fit(self, X, y, sample_weight, *, continue_training, incremental=False, classes=None):
        device = _check_device(self.device)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        X = validate_data(self, X, reset=not continue_training, accept_sparse="csr", dtype=(np.float64, np.float32))
        if continue_training and getattr(self.net_.module_, "sparse_heads", False) and not sp.issparse(y):
            # a network that trains its heads from labelled pairs keeps doing so
            y = _stored_labels(y, self.missing_label)
        if sp.issparse(y):
            labels = self._compact_labels(X, y, sample_weight)
            y2d, was_1d, task_names = labels, False, None
            task_labels = [(labels.values[positions], labels.weights[positions]) for positions in labels.by_task_]
        else:
            y2d, was_1d, task_names = as_2d_targets(y)
            check_consistent_length(X, y2d)
            row_weights, count_weights, observed = self._label_weights(X, y2d, sample_weight)
            task_labels = dense_task_labels(y2d, observed, row_weights, task_names)

        if continue_training:
            self._check_n_tasks(y2d, "continuing training needs the same tasks")
        else:
            if classes is not None:
                classes = check_partial_fit_classes(classes, y2d.shape[1], was_1d)
            tasks = describe_tasks(
                task_labels,
                task_types=self._task_kind if self._task_kind is not None else self.task_types,
                task_names=task_names,
                classes=classes,
                fixed_kind=self._task_kind is not None,
                estimator=type(self).__name__,
            )
            self._set_task_attributes(tasks, was_1d, task_names)
            self._rng = self._make_rng()
        task_weights = self._check_task_weights()
        sparse_batches = self._sparse_batches(X, continue_training)
        if sp.issparse(y):
            dataset = self._make_compact_dataset(X, labels, device, sparse_batches)
        else:
            encoded = encode_targets(self.tasks_, y2d, observed)
            multipliers = class_weight_multipliers(
                self.tasks_, getattr(self, "class_weight", None), encoded, count_weights, self._y_was_1d
            )
            dataset = self._make_dataset(
                X, y2d, encoded, multipliers, count_weights, row_weights, device, sparse_batches
            )
        batch_size = _auto_batch_size(len(dataset)) if self.batch_size == "auto" else self.batch_size
        seed = int(self._rng.randint(np.iinfo(np.int32).max))
        n_epochs_before = len(self.net_.history) if continue_training else 0
        try:
            if continue_training:
                # attributes, not set_params: re-setting criterion or optimizer parameters would
                # make skorch re-initialize them and lose the optimizer's state
                self.net_.criterion_.task_weights.copy_(torch.from_numpy(task_weights))
                self.net_.batch_size = batch_size
            else:
                with _seeded_torch(seed, device):
                    sparse_heads = (
                        sp.issparse(y) and self.n_tasks_ >= _SPARSE_HEADS_MIN_TASKS and self._can_train_heads_sparsely()
                    )
                    self.net_ = self._build_net(
                        task_weights, batch_size, device, sparse_batches, len(dataset), sparse_heads
                    )
                    self._initialize_net()
                # in place: the optimizer keeps the same parameter objects
                self.net_.module_.to(getattr(torch, self.dtype))
                self._check_module_output(dataset)
            self.net_.iterator_train__seed = seed
            validate = not incremental and self._uses_early_stopping(task_labels, self.tasks_)
            self._configure_stopping(validate=validate)
            self._attach_generator(torch.Generator(device=device).manual_seed(seed))
            n_epochs = 1 if incremental else _epoch_budget(self.max_iter, len(dataset), batch_size)
            self._schedule_learning_rate(None if incremental else n_epochs)
            with _seeded_torch(seed, device) if self.module is not None else nullcontext():
                self.net_.partial_fit(dataset, None, epochs=n_epochs)
        except Exception:
            if not continue_training:
                self._forget_fit()  # a failed fit leaves no half-trained model behind
            raise
        finally:
            if hasattr(self, "net_"):
                self._attach_generator(None)
        self.net_.module_.train(False)
        self._record_training(n_epochs_before)
        ran = self.n_iter_ - n_epochs_before
        # the cosine schedule ends at its last epoch by design: that is not a failure to converge
        if not incremental and ran >= n_epochs and self.learning_rate_schedule == "constant":
            warnings.warn(
                f"{type(self).__name__}: maximum iterations ({n_epochs}) reached and the "
                "optimization hasn't converged yet. Raise max_iter or tol.",
                ConvergenceWarning,
                stacklevel=4,  # the caller of fit (through _fit and scikit-learn's _fit_context)
            )
        return self

    def _record_training(self, n_epochs_before):
        """The fitted attributes that the history of the training just done gives."""
        self.history_ = self.net_.history
        self.n_iter_ = len(self.history_)
        self._predictor_ = self._build_predictor()
        self.loss_curve_ = [float(loss) for loss in self.history_[:, "train_loss"]]
        monitor = dict(self.net_.callbacks_)["early_stopping"]
        if monitor.load_best:
            self.validation_scores_ = [float(epoch.get(monitor.monitor, np.nan)) for epoch in self.history_]
            sign = 1 if monitor.lower_is_better else -1
            this_fit = self.validation_scores_[n_epochs_before:]
            self.best_validation_score_ = sign * min(sign * score for score in this_fit)
        else:
            self.validation_scores_ = self.best_validation_score_ = None
        checkpoint = dict(self.net_.callbacks_).get("task_checkpoint")
        self.best_epochs_ = checkpoint.best_epochs_.copy() if checkpoint is not None and monitor.load_best else None
        if checkpoint is not None and not monitor.load_best:
            warnings.warn(
                f"{type(self).__name__}: per_task_stopping has no effect without a validation split; set "
                "early_stopping=True (early_stopping='auto' held none out for this data).",
                UserWarning,
                stacklevel=5,
            )

    def add_tasks(self, X, y, *, sample_weight=None, task_types=None):
        """Append new tasks and train only what they own, on the frozen shared layers.

        The new tasks get heads (and private layers, as the fitted tasks have with
        ``n_shared_layers``) on the output of the shared layers, trained for up to ``max_iter``
        epochs (with early stopping as ``fit`` would decide) on their labels; nothing the fitted
        tasks use changes, so their predictions stay exactly the same. ``tasks_``, ``n_tasks_``,
        ``task_names_`` and ``classes_`` grow (and ``best_epochs_``, with per-task stopping).
        ``history_`` records the new epochs after the fitted ones, so ``n_iter_`` counts both, and
        ``validation_scores_`` and ``best_validation_score_`` describe the new tasks' training
        (in its epochs, the fitted tasks have no validation labels). This is the fine-tuning step
        of transfer learning, kept in the estimator; it is not the same fit as training the new
        tasks alone (other shared layers, another validation split). The optimizer starts afresh
        for later ``fit`` calls with ``warm_start``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows labelled for the new tasks (the same features as in ``fit``).
        y : array-like of shape (n_samples,) or (n_samples, n_new_tasks)
            Labels of the new tasks only, missing ones marked as in ``fit``. A DataFrame (or a
            named Series, for one task) names the new tasks, which must not reuse fitted names; a
            model fitted without task names takes new tasks without names.
        sample_weight : array-like of shape (n_samples,) or (n_samples, n_new_tasks), default=None
        task_types : None, str, list or dict, default=None
            The kind of each new task, as the ``task_types`` parameter of
            :class:`MaskedMultiTaskEstimator`; a classifier's or regressor's new tasks are of its
            kind.

        Returns
        -------
        self : object
        """
        check_is_fitted(self)
        if self.module is not None:
            raise ValueError("add_tasks extends the default network; a custom module cannot be extended.")
        if sp.issparse(y):
            raise ValueError("add_tasks takes a dense y (or a DataFrame) of the new tasks' labels.")
        if self._task_kind is not None and task_types not in (None, self._task_kind):
            raise ValueError(
                f"The new tasks of a {type(self).__name__} are {self._task_kind} tasks; got task_types={task_types!r}."
            )
        if getattr(self, "class_weight", None) not in (None, "balanced"):
            raise ValueError(
                "class_weight gives weights to the fitted tasks only; add tasks with class_weight=None or 'balanced'."
            )
        X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=(np.float64, np.float32))
        y2d, _, names = as_2d_targets(y)
        if names is None and getattr(y, "name", None) is not None and y2d.shape[1] == 1:
            names = np.asarray([str(y.name)], dtype=object)  # a named Series: one named task
        check_consistent_length(X, y2d)
        old_names = getattr(self, "task_names_", None)
        if (names is None) != (old_names is None):
            raise ValueError(
                "The fitted tasks have names (a DataFrame y) and the new ones not, or the other way round: give "
                "the new tasks' labels as " + ("a DataFrame." if names is None else "an array.")
            )
        if names is not None:
            taken = sorted(set(map(str, names)) & set(map(str, old_names)))
            if taken:
                raise ValueError(f"add_tasks: tasks named {taken} exist already; give the new tasks other names.")
        row_weights, count_weights, observed = self._label_weights(X, y2d, sample_weight)
        new_task_labels = dense_task_labels(y2d, observed, row_weights, names)
        new_tasks = describe_tasks(
            new_task_labels,
            task_types=self._task_kind if self._task_kind is not None else task_types,
            task_names=names,
            fixed_kind=self._task_kind is not None,
            estimator=type(self).__name__,
        )
        encoded = encode_targets(new_tasks, y2d, observed)
        class_weight = getattr(self, "class_weight", None)
        multipliers = class_weight_multipliers(new_tasks, class_weight, encoded, count_weights, False)
        # train a copy: a failure leaves this estimator as it was
        candidate = copy.deepcopy(self)
        candidate.net_.estimator_ = candidate
        candidate._train_added_tasks(X, new_tasks, new_task_labels, encoded, multipliers, count_weights, row_weights)
        self.__dict__.update(candidate.__dict__)
        self.net_.estimator_ = self
        return self

    def _train_added_tasks(self, X, new_tasks, new_task_labels, encoded, multipliers, count_weights, row_weights):
        n_old = self.n_tasks_
        for offset, task in enumerate(new_tasks):
            task.index = n_old + offset
        names = None
        if hasattr(self, "task_names_"):
            names = np.concatenate([self.task_names_, [task.name for task in new_tasks]]).astype(object)
        self._set_task_attributes(self.tasks_ + new_tasks, False, names)
        device = _check_device(self.device)
        seed = int(self._rng.randint(np.iinfo(np.int32).max))
        net, module = self.net_, self.net_.module_
        module.requires_grad_(False)
        with _seeded_torch(seed, device):
            block = module.add_tasks([task.head_width for task in new_tasks])
        net.__dict__.pop("_parameter_lists_", None)  # the module's parameters changed
        weighting = self._make_task_weighting()
        net.criterion_ = MaskedMultiTaskLoss(
            OutputLayout.from_tasks(self.tasks_), weighting, self._check_task_weights()
        ).to(device)
        optimizer = torch.optim.Adam if self.optimizer is None else self.optimizer
        net.optimizer_ = optimizer(block.parameters(), lr=self.learning_rate_init)
        callbacks = dict(net.callbacks_)
        callbacks["task_losses"].task_keys = [task.key for task in self.tasks_]
        callbacks["task_losses"].record_tasks = self.n_tasks_ <= _MAX_TASKS_IN_HISTORY
        callbacks["valid_score"].tasks = self.tasks_
        callbacks["valid_score"].record_tasks = self.n_tasks_ <= _MAX_TASKS_IN_HISTORY
        if "task_checkpoint" in callbacks:
            callbacks["task_checkpoint"].n_tasks = self.n_tasks_

        def padded(array):
            return np.hstack([np.zeros((array.shape[0], n_old)), array])

        dataset = self._make_dataset(
            X,
            None,
            padded(encoded),
            None if multipliers is None else padded(multipliers),
            padded(count_weights),
            row_weights,
            device,
            self._sparse_batches(X, continue_training=True),
        )
        self._validation_split = RandomSplit(self.validation_fraction, seed=int(self._rng.randint(2**31 - 1)))
        self._configure_stopping(validate=self._uses_early_stopping(new_task_labels, new_tasks))
        n_epochs_before = len(net.history)
        old_best_epochs = getattr(self, "best_epochs_", None)
        try:
            self._attach_generator(torch.Generator(device=device).manual_seed(seed))
            n_epochs = _epoch_budget(self.max_iter, len(dataset), net.batch_size)
            self._schedule_learning_rate(n_epochs)
            net.partial_fit(dataset, None, epochs=n_epochs)
        finally:
            self._attach_generator(None)
            module.requires_grad_(True)
        net.initialize_optimizer()
        module.train(False)
        self._record_training(n_epochs_before)
        if self.best_epochs_ is not None and old_best_epochs is not None:
            self.best_epochs_[:n_old] = old_best_epochs  # the fitted tasks keep their epochs

    def _schedule_learning_rate(self, n_epochs):
        """Set the cycle of the learning-rate schedule for the next ``n_epochs`` epochs (None: constant)."""
        cosine = self.learning_rate_schedule == "cosine" and n_epochs is not None
        dict(self.net_.callbacks_)["learning_rate"].n_epochs = n_epochs if cosine else None

    def _attach_generator(self, generator):
        """Hand a private generator to the modules that draw random numbers while training (None
        detaches it, so that no generator is stored with the fitted model)."""
        for part in (*self.net_.module_.modules(), self.net_.criterion_.weighting):
            if hasattr(part, "generator"):
                part.generator = generator

    def _initialize_net(self):
        try:
            self.net_.initialize()
        except ValueError as error:
            if self.net_params:  # skorch checks parameter names here: point at where they came from
                raise ValueError(f"net_params {sorted(self.net_params)}: {error}") from None
            raise

    def _forget_fit(self):
        for name in [name for name in vars(self) if name.endswith("_") and not name.startswith("__")]:
            delattr(self, name)

    def _check_module_output(self, dataset):
        """A custom module must map a batch to (n_rows, n_outputs); say so before training."""
        if self.module is None:
            return
        n_outputs = sum(task.head_width for task in self.tasks_)
        inputs, _ = dataset.batch(slice(0, 2))
        module = self.net_.module_
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

    def _make_rng(self):
        if self.random_state is None:
            # fresh entropy, without drawing from numpy's global RNG
            return np.random.RandomState(np.random.SeedSequence().generate_state(1)[0])
        return check_random_state(self.random_state)

    def _set_task_attributes(self, tasks, was_1d, task_names):
        """``tasks_`` and the attributes that present it the way scikit-learn users expect."""
        self.tasks_ = tasks
        self.n_tasks_ = len(tasks)
        self._y_was_1d = was_1d
        if task_names is not None:
            self.task_names_ = task_names
        elif hasattr(self, "task_names_"):
            del self.task_names_
        if self._task_kind != "regression":
            classes = [task.classes for task in tasks]
            self.classes_ = classes[0] if was_1d else classes

    def _check_n_tasks(self, y2d, why=None):
        """y (its 2-D form, or compact labels) must have the fitted tasks (at score time, and to continue
        training)."""
        if y2d.shape[1] != self.n_tasks_:
            why = f"; {why}" if why else ""
            raise ValueError(
                f"y has {y2d.shape[1]} tasks, but this {type(self).__name__} was fitted with {self.n_tasks_}{why}."
            )

    def _check_task_weights(self):
        n_tasks = self.n_tasks_
        if self.task_weights is None:
            return np.ones(n_tasks, dtype=self.dtype)
        if isinstance(self.task_weights, dict):
            names = list(getattr(self, "task_names_", range(n_tasks)))
            unknown = set(self.task_weights) - set(names)
            if unknown:
                raise ValueError(
                    f"task_weights names tasks {sorted(map(str, unknown))} that y does not have; "
                    f"the tasks are {[str(n) for n in names]}."
                )
            weights = np.array([self.task_weights.get(name, 1.0) for name in names], dtype=np.float64)
        else:
            weights = np.asarray(self.task_weights, dtype=np.float64)
            if weights.shape != (n_tasks,):
                raise ValueError(f"task_weights must have one weight per task ({n_tasks}); got shape {weights.shape}.")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("task_weights must be finite and non-negative.")
        return weights.astype(self.dtype)

    def _sparse_batches(self, X, continue_training):
        """Whether the network's first layer takes sparse batches (``SparseInputLinear``, whose cost
        follows the non-zeros of X): for sparse X, and for dense X of at least ``_WIDE_INPUT``
        columns of which at most ``_SPARSE_INPUT_MAX_DENSITY`` are non-zero (fingerprints, one-hot
        or count features), with the default module and a shared first hidden layer, unless the
        task weighting needs the shared layers' gradients as dense tensors (PCGrad, GradNorm). A
        fitted network keeps its kind."""
        if continue_training:
            return takes_sparse_batches(self.net_.module_)
        has_layers = len(_check_hidden_layer_sizes(self.hidden_layer_sizes)) > 0
        first_shared = self.n_shared_layers is None or self.n_shared_layers >= 1
        if self.module is not None or not has_layers or not first_shared or self._weighting_uses_gradients():
            return False
        if sp.issparse(X):
            return True
        return X.shape[1] >= _WIDE_INPUT and _density(X) <= _SPARSE_INPUT_MAX_DENSITY

    def _weighting_uses_gradients(self):
        """Whether ``task_weighting`` works on the shared layers' gradients (PCGrad, GradNorm), which
        must then be dense."""
        weighting = self.task_weighting
        return (TASK_WEIGHTINGS[weighting] if isinstance(weighting, str) else weighting).uses_gradients

    def _label_weights(self, X, y2d, sample_weight):
        """``(row_weights, count_weights, observed)`` of a dense y: a label of weight 0 is a missing
        label (it neither trains nor defines a class or a scale)."""
        row_weights, count_weights = _check_fit_sample_weight(sample_weight, X, ~missing_mask(y2d, self.missing_label))
        return row_weights, count_weights, count_weights > 0

    def _compact_labels(self, X, y, sample_weight):
        """A sparse y's labels in compact form, with each label's weight (``weights``, all > 0) and the
        positions of each task's labels (``by_task_``); ``row_weights`` on the side."""
        labels = CompactLabels.from_sparse(y)
        if labels.shape[0] != X.shape[0]:
            raise ValueError(
                f"Found input variables with inconsistent numbers of samples: [{X.shape[0]}, {labels.shape[0]}]"
            )
        if sample_weight is not None and np.ndim(sample_weight) == 2:
            raise ValueError(
                "A 2-D sample_weight needs a dense y. With a sparse y, weigh rows with a 1-D sample_weight, or "
                "drop the labels that should not count."
            )
        row_weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        weights = row_weights[labels.rows]
        if not np.all(weights > 0):  # a label of weight 0 is a missing label
            labels = labels.select(weights > 0)
            weights = row_weights[labels.rows]
        labels.weights, labels.row_weights, labels.by_task_ = weights, row_weights, labels.by_task()
        return labels

    def _make_compact_dataset(self, X, labels, device, sparse_batches):
        encoded = encode_compact_targets(self.tasks_, labels.values, labels.by_task_)
        multipliers = compact_class_weight_multipliers(
            self.tasks_, getattr(self, "class_weight", None), encoded, labels.weights, labels.by_task_
        )
        X = _to_tensor_input(X, self.dtype, sparse_batches)

        def tensor(array, dtype=None):
            return torch.from_numpy(np.ascontiguousarray(array, dtype=dtype or self.dtype)).to(device)

        count_weights = tensor(labels.weights)
        row_probabilities = None
        if self.sampling == "task_balanced":
            row_probabilities = tensor(_compact_task_balanced_probabilities(labels), np.float64)
        return CompactMaskedDataset(
            X if sp.issparse(X) else X.to(device),
            tensor(labels.row_ptr, np.int64),
            tensor(labels.tasks, np.int64),
            tensor(encoded),
            count_weights if multipliers is None else tensor(labels.weights * multipliers),
            count_weights,
            tensor(labels.row_weights),
            self.n_tasks_,
            self.loss_normalization,
            row_probabilities=row_probabilities,
            sparse_batches=sparse_batches,
        )

    def _make_dataset(self, X, y2d, encoded, multipliers, count_weights, row_weights, device, sparse_batches):
        X = _to_tensor_input(X, self.dtype, sparse_batches)
        values = encoded.astype(self.dtype)
        loss_weights = count_weights if multipliers is None else count_weights * multipliers

        def tensor(array):
            return torch.from_numpy(np.ascontiguousarray(array)).to(device)

        loss_weights_tensor = tensor(loss_weights.astype(self.dtype))
        return MaskedDataset(
            X if sp.issparse(X) else X.to(device),
            tensor(values),
            loss_weights_tensor,
            loss_weights_tensor if multipliers is None else tensor(count_weights.astype(self.dtype)),
            tensor(row_weights.astype(self.dtype)),
            self.loss_normalization,
            row_probabilities=None
            if self.sampling == "uniform"
            else tensor(_task_balanced_probabilities(count_weights)),
            y=y2d,
            sparse_batches=sparse_batches,
        )

    def _make_task_weighting(self):
        weighting = self.task_weighting
        weighting = TASK_WEIGHTINGS[weighting]() if isinstance(weighting, str) else copy.deepcopy(weighting)
        weighting.setup(self.n_tasks_)
        return weighting

    def _can_train_heads_sparsely(self):
        """Whether the default module can give its heads sparse gradients (``sparse_heads``): every head
        has one output and the task weighting does not need the shared layers' gradients per task."""
        one_output = all(task.head_width == 1 for task in self.tasks_)
        return self.module is None and one_output and not self._weighting_uses_gradients()

    def _build_net(self, task_weights, batch_size, device, sparse_input, n_rows, sparse_heads=False):
        layout = OutputLayout.from_tasks(self.tasks_)
        module_params = {"n_features": self.n_features_in_, "n_outputs": layout.n_outputs}
        if self.module is None:
            module_params.update(
                sparse_input=sparse_input,
                sparse_gradient=self.n_features_in_ >= _SPARSE_GRADIENT_MIN_FEATURES,
                sparse_heads=sparse_heads,
                hidden_layer_sizes=_check_hidden_layer_sizes(self.hidden_layer_sizes),
                n_shared_layers=self.n_shared_layers,
                activation=self.activation,
                dropout=_auto_dropout("dropout", self.dropout, self.n_features_in_, self.tasks_),
                input_dropout=_auto_dropout("input_dropout", self.input_dropout, self.n_features_in_, self.tasks_),
                head_widths=layout.head_widths,
            )
            head_dropout, head_dropout_tasks = _auto_head_dropout(self.dropout, self.n_features_in_, self.tasks_)
            if head_dropout:
                module_params.update(head_dropout=head_dropout, head_dropout_tasks=head_dropout_tasks)
        if self.module is not None and self.n_shared_layers is not None:
            raise ValueError(
                f"n_shared_layers={self.n_shared_layers} shapes the default network; a custom module decides its "
                "own sharing. Leave n_shared_layers=None with module."
            )
        if self.optimizer is not None and not (
            isinstance(self.optimizer, type) and issubclass(self.optimizer, torch.optim.Optimizer)
        ):
            raise TypeError(
                f"optimizer must be a torch.optim.Optimizer class such as torch.optim.SGD; got {self.optimizer!r}. "
                "Pass its arguments through net_params, e.g. {'optimizer__momentum': 0.9}."
            )
        for callback in self.callbacks or []:
            instance = callback[1] if isinstance(callback, tuple) and len(callback) == 2 else callback
            if not isinstance(instance, Callback):
                raise TypeError(f"callbacks must hold skorch callbacks (or (name, callback) pairs); got {callback!r}.")
        optimizer_params = {}
        if self.optimizer is None and device.type in ("cpu", "cuda"):
            optimizer_params["optimizer__fused"] = True
        task_keys = [task.key for task in self.tasks_]
        record_tasks = len(task_keys) <= _MAX_TASKS_IN_HISTORY
        per_task_keys = [f"{key}_{task}" for key in ("train_loss", "valid_loss", "valid_score") for task in task_keys]
        callbacks = [
            ("task_losses", TaskLossLogger(task_keys, record_tasks)),
            ("valid_score", ValidationScore(self.tasks_, record_tasks)),
            ("stop_on_non_finite_loss", StopOnNonFiniteLoss()),
            ("learning_rate", CosineLearningRate()),
            ("early_stopping", EarlyStopping(patience=self.n_iter_no_change, threshold=self.tol, threshold_mode="abs")),
            *self._task_checkpoint(),
            *(self.callbacks or []),
        ]
        self._validation_split = RandomSplit(
            self.validation_fraction, seed=int(self._rng.randint(np.iinfo(np.int32).max))
        )
        params = {
            "module": SharedTrunkNet if self.module is None else self.module,
            **{f"module__{key}": value for key, value in module_params.items()},
            "criterion": MaskedMultiTaskLoss,
            "criterion__layout": layout,
            "criterion__weighting": self._make_task_weighting(),
            "criterion__task_weights": task_weights,
            "optimizer": torch.optim.Adam if self.optimizer is None else self.optimizer,
            **optimizer_params,
            "lr": self.learning_rate_init,
            "max_epochs": _epoch_budget(self.max_iter, n_rows, batch_size),
            "batch_size": batch_size,
            "iterator_train": BatchIterator,
            "iterator_train__shuffle": True,
            "iterator_valid": BatchIterator,
            "train_split": None,
            "callbacks": callbacks,
            # verbose=1 prints the totals; verbose>=2 adds one column per task and split
            "callbacks__print_log__keys_ignored": per_task_keys if self.verbose < 2 and record_tasks else None,
            # dict targets cannot be concatenated into a prediction cache; scorers predict anew
            "use_caching": False,
            "verbose": self.verbose,
            "device": device,
            "alpha": 0.0 if self.alpha == "auto" else self.alpha,
            "l2": _AUTO_L2 if self.alpha == "auto" else 0.0,
            "warm_start": True,
        }
        params.update(self.net_params or {})
        net = MaskedNet(**params)
        # skorch's EpochScoring calls scorers with the net; masked scorers follow this back to the
        # estimator, which knows the tasks and how to decode outputs. The trailing underscore keeps
        # it out of the net's get_params and clone
        net.estimator_ = self
        return net

    def _task_checkpoint(self):
        """The per-task stopping callback, when ``per_task_stopping`` asks for it."""
        if not self.per_task_stopping:
            return []
        if self.module is not None and not hasattr(self.module, "private_parameters"):
            raise ValueError(
                "per_task_stopping=True restores each task's own parameters, which a custom module must name with "
                "a private_parameters(task) method (as SharedTrunkNet does)."
            )
        monitor = "loss" if self.scoring == "loss" else "score"
        return [("task_checkpoint", TaskCheckpoint(self.n_tasks_, monitor, self.tol))]

    def _uses_early_stopping(self, task_labels, tasks):
        """Whether ``fit`` holds a validation split out: ``early_stopping``, with "auto" resolved.

        "auto" holds none with the cosine schedule, whose end is where training stops. With a
        constant learning rate it holds one out when the split would hold, for the median task,
        at least ``_AUTO_EARLY_STOPPING_MIN_LABELS`` labels, and for the median classification
        task at least ``_AUTO_EARLY_STOPPING_MIN_RARE`` labels of its rarest class: enough for the
        validation score to tell a better epoch from a luckier one (a validation ROC-AUC over a
        handful of positives jumps by 0.1 from one epoch to the next).
        """
        if self.early_stopping != "auto":
            return bool(self.early_stopping)
        if self.learning_rate_schedule == "cosine":
            return False
        labels = [len(values) for values, _ in task_labels]
        if self.validation_fraction * np.median(labels) < _AUTO_EARLY_STOPPING_MIN_LABELS:
            return False
        rarest = [
            np.unique(values, return_counts=True)[1].min()
            for (values, _), task in zip(task_labels, tasks, strict=True)
            if task.kind == "classification" and len(values)
        ]
        return not rarest or self.validation_fraction * np.median(rarest) >= _AUTO_EARLY_STOPPING_MIN_RARE

    def _configure_stopping(self, validate):
        """Stop on a held-out split's masked score or loss (restoring the best epoch's weights), or
        on the training loss. ``partial_fit`` never holds rows out: its batch is all it has."""
        self.net_.train_split = self._validation_split if validate else None
        early_stopping = dict(self.net_.callbacks_)["early_stopping"]
        if not validate:
            early_stopping.monitor, early_stopping.lower_is_better = "train_loss", True
        elif self.scoring == "loss":
            early_stopping.monitor, early_stopping.lower_is_better = "valid_loss", True
        else:
            early_stopping.monitor, early_stopping.lower_is_better = "valid_score", False
        early_stopping.load_best = validate

    # -- predict -----------------------------------------------------------------------------
    def _forward(self, X):
        """Network outputs for X as a float64 tensor on the CPU.

        Inference runs in float64 so that a row's prediction does not depend on which other
        rows share its batch (float32 matrix products differ in the last bit with batch size).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=(np.float64, np.float32))
        outputs = self._raw_forward(X)
        if not torch.isfinite(outputs).all():
            rows = torch.nonzero(~torch.isfinite(outputs).all(dim=1)).flatten()[:5].tolist()
            raise ValueError(
                f"The network's outputs are not finite for rows {rows}. Either training diverged (refit with a "
                "smaller learning_rate_init, and standardize X) or these rows hold extreme values."
            )
        return outputs

    def _raw_forward(self, X):
        predictor = self.__dict__.get("_predictor_")
        if predictor is None or not predictor.is_current(self.net_.module_):
            # the fitted module was changed in place after fit (or the model assembled by hand)
            predictor = self._predictor_ = self._build_predictor()
        return predictor.forward(X)

    def _build_predictor(self):
        """What predict needs, built once per fit (and on load) rather than once per call."""
        return NetworkPredictor(self.net_.module_, self.net_.criterion_.layout.n_outputs)

    def _predict(self, X):
        """Each task's predictions in its own labels or units; 1-D when y was."""
        outputs = self._forward(X).numpy()
        columns = decode_outputs(self.tasks_, outputs)
        return columns[0] if self._y_was_1d else stack_predictions(columns)

    def _predict_proba(self, X):
        """Each task's class probabilities (None for a regression task); one array when y was 1-D."""
        outputs = self._forward(X).numpy()
        parts = split_outputs(self.tasks_, outputs)
        probabilities = [task.probabilities(part) for task, part in zip(self.tasks_, parts, strict=True)]
        return probabilities[0] if self._y_was_1d else probabilities

    def _score(self, X, y, sample_weight=None):
        """Mean over tasks of each task's default metric (``Task.metric``) on its observed labels."""
        check_is_fitted(self)
        y2d, _, _ = as_2d_targets(y)
        check_consistent_length(X, y2d)
        self._check_n_tasks(y2d)
        self._warn_unseen_labels(y2d)
        predictions = self.predict(X).reshape(y2d.shape)

        def score_task(task, name, truth, pred, weights):
            return self.tasks_[task].score(truth, _typed(pred, name), sample_weight=weights)

        metrics = sorted({task.metric for task in self.tasks_})
        return _score_tasks(
            " and ".join(metrics),
            score_task,
            y2d,
            predictions,
            average="macro",
            sample_weight=sample_weight,
            missing_label=self.missing_label,
        )

    def _warn_unseen_labels(self, y2d):
        """Labels a task never saw in fit can only be predicted wrong: say so, naming the task."""
        observed = ~missing_mask(y2d, self.missing_label)
        for task in self.tasks_:
            if task.kind != "classification":
                continue
            values = y2d[observed[:, task.index], task.index]
            known = set(task.classes.tolist())
            unseen = [value for value in set(values.tolist()) if value not in known]
            if unseen:
                warnings.warn(
                    f"{task.label} has labels {sorted(map(str, unseen))[:5]} in y that it never saw in fit "
                    f"(its classes are {task.classes.tolist()}); they count as errors.",
                    UserWarning,
                    stacklevel=3,
                )

    def __sklearn_is_fitted__(self):
        # what check_is_fitted asks, without scanning every attribute at each predict call
        return "net_" in self.__dict__

    def __getstate__(self):
        # the predictor is a float64 copy of the module: rebuilt on load, not stored twice
        state = super().__getstate__()
        state.pop("_predictor_", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "net_" in state:
            self.net_.estimator_ = self
            self._predictor_ = self._build_predictor()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.input_tags.sparse = True
        return tags
