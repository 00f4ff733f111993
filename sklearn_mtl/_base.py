"""What the masked multi-task estimators share: parameters, fit orchestration, predict and score.

``fit`` validates X, takes y in at the door (``_fit_labels.py``), describes the tasks
(``_tasks.py``: the fitted ``tasks_``), hands the training to the engine (``_engine.py``) and sets
the fitted attributes; predict reads the predictor built at its end (``_predictor.py``).
"""

import numbers
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data

from . import _distributed as distributed
from . import _engine as engine
from . import _fit_feedback as fit_feedback
from . import _fit_labels as fit_labels
from . import _inputs as inputs
from . import _sharing as sharing
from ._add_tasks import _AddTasksMixin
from ._first_layer import nonzeros_per_row
from ._losses import LOSS_NORMALIZATIONS
from ._predictor import NetworkPredictor, validated_rows
from ._sklearn_compat import CallbackSupportMixin, Interval, StrOptions, _fit_context
from ._targets import as_2d_targets, missing_mask
from ._tasks import (
    check_partial_fit_classes,
    decode_predictions,
    describe_tasks,
    task_probabilities,
    task_stds,
)
from .metrics._masked import _score_tasks, _typed
from .weighting import TASK_WEIGHTINGS, TaskWeighting, _check_task_weights

# scikit-learn's parameter validation (``_fit_context``) checks these before every fit
_PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
    "n_shared_layers": [Interval(numbers.Integral, 0, None, closed="left"), None],
    "task_sharing": [StrOptions({"auto"}), Interval(numbers.Real, 0, None, closed="both")],  # inf: one head
    "ensemble_size": [Interval(numbers.Integral, 1, None, closed="left")],
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
    "input_encoding": [StrOptions(set(inputs.ENCODINGS))],
    "input_transform": [StrOptions(set(inputs.TRANSFORMS))],
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
    "distributed_rows": [StrOptions(set(distributed.ROWS))],
}


def _make_rng(random_state):
    """The fit's numpy generator: from ``random_state``, or fresh entropy for None (without drawing
    from numpy's global RNG)."""
    if random_state is None:
        return np.random.RandomState(np.random.SeedSequence().generate_state(1)[0])
    return check_random_state(random_state)


class _BaseMaskedMultiTask(_AddTasksMixin, CallbackSupportMixin, BaseEstimator):
    """Shared logic. What each task is lives in the fitted ``tasks_`` (see ``_tasks.py``); the
    subclasses differ only in which kinds of task they accept and in their public methods."""

    #: "classification" or "regression": the kind of every task of the subclass; None lets the
    #: ``task_types`` parameter say (MaskedMultiTaskEstimator)
    _task_kind = None

    _parameter_constraints = _PARAMETER_CONSTRAINTS

    def __init__(
        self,
        *,
        hidden_layer_sizes=(1024,),
        n_shared_layers=None,
        task_sharing="auto",
        ensemble_size=1,
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
        input_encoding="auto",
        input_transform="auto",
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
        distributed_rows="all",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.n_shared_layers = n_shared_layers
        self.task_sharing = task_sharing
        self.ensemble_size = ensemble_size
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
        self.input_encoding = input_encoding
        self.input_transform = input_transform
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
        self.distributed_rows = distributed_rows

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
        device = engine.check_device(self.device)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        group = distributed.process_group()  # a data-parallel fit under torchrun (None: one process)
        with distributed.checked_together(group):  # a failure on one rank stops every rank here
            X = validate_data(self, X, reset=not continue_training, accept_sparse="csr", dtype=(np.float64, np.float32))
            distributed.check_supported(self, group, continue_training, incremental)
            # every y, in whatever form, becomes one compact table of its labels here
            labels, was_1d, task_names, y2d = fit_labels.labels_at_door(X, y, sample_weight, self.missing_label)
            task_labels = fit_labels.task_labels(labels, task_names)
        X_fit = X  # as validated: what scikit-learn's callbacks are handed, and predict takes
        own_rows = group is not None and self.distributed_rows == "own"
        if own_rows:  # each rank holds its own rows: describe the tasks from all of them
            task_labels = distributed.gathered_task_labels(task_labels)
        if continue_training:
            self._check_n_tasks(labels, "continuing training needs the same tasks")
        else:
            gathered, split = own_rows and distributed.gathered, group and (*group, distributed.gathered)
            self.input_levels_, self.input_transform_ = inputs.fitted_maps(self, X, labels, gathered, split)
            if classes is not None:
                classes = check_partial_fit_classes(classes, labels.shape[1], was_1d)
            tasks = describe_tasks(
                task_labels,
                task_types=self._task_kind if self._task_kind is not None else self.task_types,
                task_names=task_names,
                classes=classes,
                fixed_kind=self._task_kind is not None,
                estimator=type(self).__name__,
            )
            self._set_task_attributes(tasks, was_1d, task_names)
            self._rng = _make_rng(self.random_state)
            if group is not None:  # every rank initializes and permutes alike: rank 0's random state
                self._rng.set_state(distributed.gathered(self._rng.get_state())[0])
        task_weights = _check_task_weights(self)
        if not continue_training:  # the heads' sharing, the L2 coefficient and the pace (_sharing.py)
            sharing_input = (self, X, y, sample_weight, task_labels, group, incremental)
            self.task_sharing_, self._sharing_l2, self._sharing_pace, self.sharing_scores_ = sharing.resolve(
                *sharing_input
            )
        X_given, X = X, inputs.network_input(self, X)
        reads = engine.sparse_batches(self, X, self.net_ if continue_training else None), nonzeros_per_row(X)
        if own_rows:  # the first layer is rank 0's choice (the ranks' rows may differ in density)
            reads = distributed.gathered(reads)[0]
        sparse_batches, nonzeros = reads
        pairs = engine.labels_as_pairs(labels, self.net_ if continue_training else None)
        sparse_heads = (
            not continue_training
            and pairs
            and self.n_tasks_ >= engine._SPARSE_HEADS_MIN_TASKS
            and engine.can_train_heads_sparsely(self)
        )
        dataset = engine.make_dataset(self, X, labels, device, sparse_batches, pairs, y=y2d, X_given=X_given)
        # a data-parallel fit: the rows of each batch this rank computes (own rows: all ranks' denominators)
        share = None if group is None else distributed.share_rows(dataset, self.distributed_rows)
        n_rows = len(dataset) if share is None else share.n_samples(dataset)
        batch_size = engine._auto_batch_size(n_rows) if self.batch_size == "auto" else self.batch_size
        validate = not incremental and engine.uses_early_stopping(self, task_labels, self.tasks_)
        self._few_positives = engine.few_positives(task_labels, self.tasks_)  # for max_iter="auto"
        seed = int(self._rng.randint(np.iinfo(np.int32).max))
        n_epochs_before = len(self.net_.history) if continue_training else 0
        try:
            if own_rows and validate:
                raise ValueError(
                    "Data-parallel fit with distributed_rows='own' does not yet hold a validation split out: set "
                    "early_stopping=False, or pass every row on every rank (distributed_rows='all')."
                )
            if continue_training:
                # attributes, not set_params: re-setting criterion or optimizer parameters would
                # make skorch re-initialize them and lose the optimizer's state
                self.net_.criterion_.task_weights.copy_(torch.from_numpy(task_weights))
                self.net_.batch_size = batch_size
            else:
                with engine._seeded_torch(seed, device):
                    self.net_ = engine.build_net(
                        self, task_weights, batch_size, device, sparse_batches, n_rows, sparse_heads, nonzeros
                    )
                    self._validation_split = engine.validation_split(self)
                    engine.initialize_net(self.net_, self.net_params)
                # in place: the optimizer keeps the same parameter objects
                self.net_.module_.to(getattr(torch, self.dtype))
                if self.module is not None:
                    engine.check_module_output(self.net_, self.tasks_, dataset)
            # a model fitted before the pace existed has none: 1
            pace = self.__dict__.get("_sharing_pace", 1)
            n_epochs = 1 if incremental else engine._epoch_budget(self, n_rows, batch_size) * pace
            fit_feedback.begin(self, X_fit, y, sample_weight, n_epochs)
            engine.train(
                self.net_,
                dataset,
                n_epochs=n_epochs,
                seed=seed,
                device=device,
                schedule=None if incremental else self.learning_rate_schedule,
                split=self._validation_split,
                validate=validate,
                scoring=self.scoring,
                global_rng=self.module is not None,
                share=share,
            )
        except BaseException:  # (KeyboardInterrupt too: a second Ctrl-C discards the fit)
            if not continue_training:
                self._forget_fit()  # a failed fit leaves no half-trained model behind
            raise
        self._record_training(n_epochs_before)
        fit_feedback.end(self, X_fit, y, sample_weight, n_epochs, n_epochs_before, incremental)
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

    def _forget_fit(self):
        for name in [name for name in vars(self) if name.endswith("_") and not name.startswith("__")]:
            delattr(self, name)

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
        """y (2-D, or compact labels) must have the fitted tasks (to score, and to continue training)."""
        if y2d.shape[1] != self.n_tasks_:
            why = f"; {why}" if why else ""
            raise ValueError(
                f"y has {y2d.shape[1]} tasks, but this {type(self).__name__} was fitted with {self.n_tasks_}{why}."
            )

    # -- predict -----------------------------------------------------------------------------
    def _forward(self, X, members=False):
        """Network outputs for X as a float64 tensor on the CPU (with ``members``, an ensemble's
        members' own, (n_members, n_samples, n_outputs)).

        Inference runs in float64 so that a row's prediction does not depend on which other
        rows share its batch (float32 matrix products differ in the last bit with batch size).
        """
        check_is_fitted(self)
        X = validated_rows(self, X)
        outputs = self._raw_forward(inputs.network_input(self, X), members)
        if not np.isfinite(outputs.numpy()).all():  # numpy's check costs a tenth of torch's on a row
            by_row = outputs.transpose(0, 1).reshape(outputs.shape[1], -1) if members else outputs
            rows = torch.nonzero(~torch.isfinite(by_row).all(dim=1)).flatten()[:5].tolist()
            raise ValueError(
                f"The network's outputs are not finite for rows {rows}. Either training diverged (refit with a "
                "smaller learning_rate_init, and standardize X) or these rows hold extreme values."
            )
        return outputs

    def _raw_forward(self, X, members=False):
        predictor = self.__dict__.get("_predictor_")
        if predictor is None or not predictor.is_current(self.net_.module_):
            # the fitted module was changed in place after fit (or the model assembled by hand)
            predictor = self._predictor_ = self._build_predictor()
        return predictor.forward(X, members)

    def _build_predictor(self):
        """What predict needs, built once per fit (and on load) rather than once per call."""
        return NetworkPredictor(self.net_.module_, self.net_.criterion_.layout.n_outputs)

    def _predict(self, X, return_std=False):
        """Each task's predictions in its own labels or units; 1-D when y was. With ``return_std``,
        also the standard deviation of an ensemble's members' predictions of each regression task
        (NaN for a classification task)."""
        _check_bool("return_std", return_std)
        if not return_std:
            outputs = self._forward(X).numpy()
        else:
            check_is_fitted(self)
            n_members = getattr(self.net_.module_, "n_members", 1)
            if n_members < 2:
                raise ValueError(
                    f"return_std=True needs an ensemble: the std is the spread of its members' predictions, and this "
                    f"{type(self).__name__} was fitted with ensemble_size={n_members}. Refit with "
                    "ensemble_size=5, for example."
                )
            members = self._forward(X, members=True)
            outputs = self._predictor_.module.combine(members).numpy()
            std = task_stds(self.tasks_, members.numpy())
        prediction = decode_predictions(self.tasks_, outputs, self._y_was_1d)
        if not return_std:
            return prediction
        return prediction, std[:, 0] if self._y_was_1d else std

    def _predict_proba(self, X):
        """Each task's class probabilities (None for a regression task); one array when y was 1-D."""
        outputs = self._forward(X).numpy()
        probabilities = task_probabilities(self.tasks_, outputs)
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


def _check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}.")
