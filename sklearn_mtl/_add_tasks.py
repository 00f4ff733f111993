"""Growing a fitted model by tasks: ``add_tasks``, the fine-tuning step of transfer learning.

The new tasks' labels come through the same door as ``fit``'s (``_fit_labels.py``), their heads
are added by the training engine on frozen shared layers, and the engine trains them.
"""

import copy

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _engine as engine
from . import _fit_feedback as fit_feedback
from . import _fit_labels as fit_labels
from ._inputs import network_input
from ._tasks import describe_tasks
from .weighting import _check_task_weights


class _AddTasksMixin:
    """``add_tasks`` of the masked multi-task estimators (mixed into ``_BaseMaskedMultiTask``)."""

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
        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_new_tasks)
            Labels of the new tasks only, missing ones marked as in ``fit`` (a sparse y: every
            stored entry is a label). A DataFrame (or a
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
        if self.ensemble_size > 1:
            raise ValueError(
                f"add_tasks does not yet extend an ensemble (ensemble_size={self.ensemble_size}): refit with the new "
                "tasks' columns in y."
            )
        if self._task_kind is not None and task_types not in (None, self._task_kind):
            raise ValueError(
                f"The new tasks of a {type(self).__name__} are {self._task_kind} tasks; got task_types={task_types!r}."
            )
        if getattr(self, "class_weight", None) not in (None, "balanced"):
            raise ValueError(
                "class_weight gives weights to the fitted tasks only; add tasks with class_weight=None or 'balanced'."
            )
        X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=(np.float64, np.float32))
        labels, _, names, _ = fit_labels.labels_at_door(X, y, sample_weight, self.missing_label)
        if names is None and getattr(y, "name", None) is not None and labels.shape[1] == 1:
            names = np.asarray([str(y.name)], dtype=object)  # a named Series: one named task
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
        new_task_labels = fit_labels.task_labels(labels, names)
        new_tasks = describe_tasks(
            new_task_labels,
            task_types=self._task_kind if self._task_kind is not None else task_types,
            task_names=names,
            fixed_kind=self._task_kind is not None,
            estimator=type(self).__name__,
        )
        # train a copy: a failure leaves this estimator as it was
        candidate = copy.deepcopy(self)
        candidate.net_.estimator_ = candidate
        candidate._train_added_tasks(network_input(self, X), new_tasks, new_task_labels, labels)
        self.__dict__.update(candidate.__dict__)
        self.net_.estimator_ = self
        return self

    def _train_added_tasks(self, X, new_tasks, new_task_labels, labels):
        n_old = self.n_tasks_
        for offset, task in enumerate(new_tasks):
            task.index = n_old + offset
        names = None
        if hasattr(self, "task_names_"):
            names = np.concatenate([self.task_names_, [task.name for task in new_tasks]]).astype(object)
        self._set_task_attributes(self.tasks_ + new_tasks, False, names)
        device = engine.check_device(self.device)
        seed = int(self._rng.randint(np.iinfo(np.int32).max))
        net = engine.add_task_heads(self, self.net_, new_tasks, _check_task_weights(self), seed, device)

        # the new tasks' labels placed after the fitted tasks' (which have none here)
        labels = fit_labels.shifted_labels(labels, n_old, self.n_tasks_)
        dataset = engine.make_dataset(
            self, X, labels, device, engine.sparse_batches(self, X, net), engine.labels_as_pairs(labels, net)
        )
        self._validation_split = engine.validation_split(self)
        n_epochs_before = len(net.history)
        old_best_epochs = getattr(self, "best_epochs_", None)
        try:
            engine.train(
                net,
                dataset,
                n_epochs=engine._epoch_budget(self, len(dataset), net.batch_size),
                seed=seed,
                device=device,
                schedule=self.learning_rate_schedule,
                split=self._validation_split,
                validate=engine.uses_early_stopping(self, new_task_labels, new_tasks),
                scoring=self.scoring,
            )
        finally:
            net.module_.requires_grad_(True)
        net.initialize_optimizer()
        self._record_training(n_epochs_before)
        fit_feedback.warn_if_interrupted(self, stacklevel=4)  # (the caller of add_tasks)
        if self.best_epochs_ is not None and old_best_epochs is not None:
            self.best_epochs_[:n_old] = old_best_epochs  # the fitted tasks keep their epochs
