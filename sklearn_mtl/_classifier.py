"""MaskedMultiTaskClassifier: one network, many classification tasks, missing labels masked out."""

import warnings

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_class_weight

from ._base import _BaseMaskedMultiTask
from ._losses import ClassificationOutputLayout
from ._sklearn_compat import StrOptions, _fit_context
from ._targets import encode_classification_targets, learn_classes, missing_mask, task_label
from .metrics import masked_accuracy_score


def _check_classes(classes, n_tasks, y_was_1d):
    """The ``classes`` argument of ``partial_fit`` as a sorted array per task."""
    per_task = [classes] if y_was_1d else list(classes)
    if len(per_task) != n_tasks:
        raise ValueError(f"classes has {len(per_task)} entries but y has {n_tasks} tasks; give one array per task.")
    return [np.unique(np.asarray(task_classes)) for task_classes in per_task]


class MaskedMultiTaskClassifier(ClassifierMixin, _BaseMaskedMultiTask):
    """Multi-task neural network classifier trained on the observed labels only.

    A shared multilayer perceptron (the trunk) feeds one head per task; each task keeps its own
    classes (binary or multiclass, numbers or strings). Missing labels (NaN, None, ``pd.NA`` or
    ``missing_label``) contribute nothing to the loss, whatever value is stored there. Training
    runs through `skorch <https://skorch.readthedocs.io>`_ with Adam, as
    :class:`~sklearn.neural_network.MLPClassifier` does by default.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(1024,)
        Width of each shared hidden layer, as in MLPClassifier (whose default is ``(100,)``; a wide layer,
        strongly regularized, did better on real data: see the user guide's "Defaults"). ``()``
        gives one linear model per task.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation of the hidden layers.
    alpha : "auto" or float, default="auto"
        Strength of the L2 penalty on the weight matrices, added to each training batch's loss as
        ``0.5 * alpha * ||W||^2 / batch_size`` (MLPClassifier's meaning, whose default is 1e-4).
        ``"auto"`` adds ``0.5 * 0.003 * ||W||^2`` to every batch's loss, i.e. ``alpha = 0.003 *
        batch_size``: a penalty relative to the mean loss, whatever the batch size.
    batch_size : int or "auto", default="auto"
        Rows per mini-batch. ``"auto"`` gives about 50 steps per epoch: ``n_samples // 50``
        clipped to [32, 128] (all rows when there are fewer than 32).
    learning_rate_init : float, default=1e-3
        Adam's learning rate.
    max_iter : int, default=200
        Maximum number of epochs.
    early_stopping : "auto" or bool, default="auto"
        Hold out ``validation_fraction`` of the rows (a random, non-stratified split: stratifying
        on labels that may be missing is not possible), follow the validation score of each
        epoch (see ``scoring``), stop when it has not improved by ``tol`` for ``n_iter_no_change``
        epochs, and restore the weights of the best epoch. ``"auto"`` does so when the split
        would hold at least 300 labels of the median task (3000 labels per task at the default
        ``validation_fraction``); on smaller data the best epoch of a small split is more luck
        than signal. Without a split, training stops the same way on the training loss (or at
        ``max_iter``).
    scoring : {"auto", "loss"}, default="auto"
        What early stopping follows on the validation split. ``"auto"``: the mean over tasks of
        each task's ROC-AUC on its observed labels (one-vs-rest macro average for a task with
        more than two classes), over the tasks where it is defined (``valid_score`` in
        ``history_``). It keeps improving for epochs after the validation loss has turned up
        from over-confidence. ``"loss"``: the masked validation loss, as weighted.
    validation_fraction : float, default=0.1
        Fraction of rows held out for early stopping.
    n_iter_no_change : int, default=20
        Epochs without an improvement of at least ``tol`` before training stops.
    tol : float, default=1e-4
        Minimum improvement of the monitored score or loss.
    dropout : "auto" or float, default="auto"
        Dropout probability after each hidden layer. ``"auto"`` is 0.5 on wide inputs (at least
        100 features, such as fingerprints or word counts) and 0 on narrower ones.
    input_dropout : "auto" or float, default="auto"
        Dropout probability of the inputs: while training, each feature of each row is zeroed
        with this probability (and the others scaled up), which keeps the first layer from leaning
        on a few features. ``"auto"`` is 0.2 on wide inputs (at least 100 features) and 0 on
        narrower ones, where each feature matters.
    missing_label : scalar, default=np.nan
        Value that marks a missing label, in addition to NaN, None and ``pd.NA`` (which are always
        missing). For example -1 or ``"?"``.
    loss_normalization : {"per_task", "per_label", "per_sample"}, default="per_task"
        How the summed loss of observed labels is normalized; see Notes.
    task_weights : array-like of shape (n_tasks,) or dict, default=None
        Multiplies each task's loss; a dict is keyed by task name (DataFrame column) or index.
        None weighs every task 1.
    task_weighting : {"equal", "uncertainty", "dwa", "gradnorm", "pcgrad"} or TaskWeighting, default="equal"
        How the task losses become one loss: a fixed sum (``"equal"``) or an automatic strategy
        from :mod:`sklearn_mtl.weighting` (uncertainty weighting, dynamic weight average,
        GradNorm, PCGrad; the gradient-based ones cost one backward pass per task).
    class_weight : "balanced", dict, list of dict or None, default=None
        Weights of the classes of each task, multiplying each observed label's loss before the
        normalization (the denominators stay label counts). ``"balanced"`` computes, per task from
        its observed labels only, ``n_observed / (n_classes * count(class))``. A list has one dict
        (or None, or "balanced") per task; a single dict is for 1-D y.
    sampling : {"uniform", "task_balanced"}, default="uniform"
        ``"task_balanced"`` draws each epoch's rows with replacement so that every task's labels
        are drawn equally often: rows of a task with 1% of another's labels are seen as often.
    device : str or torch.device, default="cpu"
        Where to train, for example ``"cuda"``.
    module : callable, default=None
        Escape hatch: a ``torch.nn.Module`` class (or factory) called as
        ``module(n_features=..., n_outputs=...)`` that replaces the default
        :class:`~sklearn_mtl.modules.SharedTrunkNet`. Its output must have ``n_outputs`` columns:
        one per binary task, K per task with K > 2 classes, in task order.
    optimizer : torch optimizer class, default=None
        None uses ``torch.optim.Adam`` (fused on CPU).
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks, for example ``EpochScoring`` or ``ProgressBar``.
    net_params : dict, default=None
        Extra parameters for the underlying :class:`skorch.NeuralNet`, such as
        ``{"optimizer__betas": (0.9, 0.99)}``; they override the estimator's own settings.
    random_state : int, RandomState instance or None, default=None
        Seeds initialization, shuffling, dropout and the validation split. ``fit`` does not change
        torch's or numpy's global random state.
    verbose : int, default=0
        Print a table of losses per epoch when positive.
    warm_start : bool, default=False
        When True, ``fit`` continues training the existing network for ``max_iter`` more epochs.
    dtype : {"float32", "float64"}, default="float32"
        Precision of training. float32 is what PyTorch is fast at; float64 is slower but makes
        results independent of summation order (for example, weighting a row by 2 then gives the
        same model as repeating it, to the last digits). Inference always runs in float64.

    Attributes
    ----------
    classes_ : list of ndarray, or ndarray
        The classes of each task; a single array when y was 1-D.
    n_tasks_ : int
        Number of tasks (columns of y).
    task_names_ : ndarray of str
        Task names, when y was a DataFrame.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Feature names, when X was a DataFrame with string column names.
    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` is the torch module.
    history_ : skorch.History
        Per-epoch record (``train_loss``, ``valid_loss``, ``dur``...).
    n_iter_ : int
        Number of epochs run.
    validation_scores_ : list of float or None
        The validation score (or loss, with ``scoring="loss"``) of each epoch; None when no
        validation split was held out.
    best_validation_score_ : float or None
        The best of them, whose epoch's weights were restored; None without a split.
    loss_curve_ : list of float
        Training loss per epoch, the quantity the optimizer minimized.

    See Also
    --------
    MaskedMultiTaskRegressor : The same for regression targets.
    sklearn.neural_network.MLPClassifier : Single- or multi-label network without missing labels.

    Notes
    -----
    For each task :math:`t`, let :math:`\\ell_{it}` be the cross-entropy of row :math:`i`,
    :math:`m_{it} \\in \\{0, 1\\}` whether its label is observed, :math:`s_i` the sample weight and
    :math:`w_t` the task weight. The loss is :math:`\\sum_t w_t L_t` with
    :math:`L_t = \\sum_i s_i m_{it} \\ell_{it} / D_t`, where

    - ``"per_task"``: :math:`D_t = \\sum_i s_i m_{it}`, each task's mean loss over its own
      labels. Every task counts equally, whatever its number of labels: the default.
    - ``"per_label"``: :math:`D_t = \\sum_{i,u} s_i m_{iu}`, the mean over all observed labels.
      Well-labelled tasks dominate; pick it when labels, not tasks, are the unit that matters.
    - ``"per_sample"``: :math:`D_t = \\sum_i s_i`, the classic :math:`\\frac{1}{m}\\sum_i \\sum_t`
      formula: a row with more labels weighs more.

    On a mini-batch, :math:`D_t` is the data set's value times the batch's share of the rows, so
    a task with one label in a batch does not get that label's loss at full weight. The epoch's
    ``train_loss`` (the batch-size-weighted mean of batch losses) is then exactly the loss above.

    **Cross-validation with missing labels.** Pass a splitter as ``cv``, for example
    ``cv=MultiTaskStratifiedKFold(5, shuffle=True, random_state=0)`` (from
    :mod:`sklearn_mtl.model_selection`) or ``cv=KFold(5, shuffle=True, random_state=0)``. With an
    integer ``cv`` (or ``cv=None``), scikit-learn's ``check_cv`` inspects y before this estimator
    is called: a y marking missing labels with NaN or ``pd.NA`` fails with
    ``ValueError: Input y contains NaN.``, one using None with ``TypeError: '<' not supported``.
    This affects ``cross_validate``, ``cross_val_score``, ``cross_val_predict``, ``GridSearchCV``,
    ``RandomizedSearchCV``, ``learning_curve`` and ``validation_curve``; nothing in this estimator
    can intercept it. Score with :func:`sklearn_mtl.metrics.make_masked_scorer` and
    :func:`sklearn_mtl.metrics.task_scorers`: scikit-learn's own scorers reject NaN in y.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl import MaskedMultiTaskClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(float)
    >>> y[rng.rand(100, 2) < 0.3] = np.nan
    >>> clf = MaskedMultiTaskClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    >>> clf.fit(X, y).predict(X[:2]).shape
    (2, 2)
    >>> [p.shape for p in clf.predict_proba(X[:2])]
    [(2, 2), (2, 2)]
    """

    _task_kind = "classification"

    _parameter_constraints = {
        **_BaseMaskedMultiTask._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, list, None],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(1024,),
        activation="relu",
        alpha="auto",
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=200,
        early_stopping="auto",
        scoring="auto",
        validation_fraction=0.1,
        n_iter_no_change=20,
        tol=1e-4,
        dropout="auto",
        input_dropout="auto",
        missing_label=np.nan,
        loss_normalization="per_task",
        task_weights=None,
        task_weighting="equal",
        class_weight=None,
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
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            early_stopping=early_stopping,
            scoring=scoring,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            dropout=dropout,
            input_dropout=input_dropout,
            missing_label=missing_label,
            loss_normalization=loss_normalization,
            task_weights=task_weights,
            task_weighting=task_weighting,
            sampling=sampling,
            device=device,
            module=module,
            optimizer=optimizer,
            callbacks=callbacks,
            net_params=net_params,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            dtype=dtype,
        )
        self.class_weight = class_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on (X, y), building the network on the first call.

        A batch may have no label at all for some tasks: they simply do not move. ``early_stopping``
        has no effect here: no rows are held out of a ``partial_fit`` batch.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Labels, missing ones marked as in ``fit``.
        classes : list of array-like, or array-like, default=None
            The classes of each task (one array-like per task; a single one when y is 1-D).
            Required on the first call, ignored after it.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        if not hasattr(self, "net_") and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: one array of classes per "
                "task, since a batch may not show every class of every task."
            )
        return self._partial_fit(X, y, sample_weight, classes=classes)

    def _learn_targets(self, y2d, observed, row_weights, classes=None):
        task_names = getattr(self, "task_names_", None)
        if classes is None:
            self._task_classes = learn_classes(y2d, observed, task_names)
        else:
            self._task_classes = _check_classes(classes, y2d.shape[1], self._y_was_1d)
        for task, classes in enumerate(self._task_classes):
            if len(classes) == 1:
                warnings.warn(
                    f"{task_label(task, task_names)} has only one class "
                    f"({classes[0]!r}) among its observed labels; it will always predict it.",
                    UserWarning,
                    stacklevel=2,
                )
        self.classes_ = self._task_classes[0] if self._y_was_1d else list(self._task_classes)

    def _loss_multipliers(self, targets, count_weights):
        """Per-entry class weights, from ``class_weight``; None when it is None."""
        if self.class_weight is None:
            return None
        task_names = getattr(self, "task_names_", None)
        per_task = self.class_weight
        if isinstance(per_task, dict) or per_task == "balanced":
            if isinstance(per_task, dict) and not self._y_was_1d:
                raise ValueError(
                    "class_weight is one dict, but y has several tasks; give a list with one dict per task "
                    "(or 'balanced')."
                )
            per_task = [per_task] * self.n_tasks_
        if len(per_task) != self.n_tasks_:
            raise ValueError(f"class_weight has {len(per_task)} entries but y has {self.n_tasks_} tasks.")
        multipliers = np.ones(targets.values.shape)
        for task, (weights, classes) in enumerate(zip(per_task, self._task_classes, strict=True)):
            if weights is None:
                continue
            rows = targets.observed[:, task]
            labels = classes[targets.values[rows, task]]
            if weights == "balanced" and not rows.any():
                continue
            try:
                class_weights = compute_class_weight(
                    weights, classes=classes, y=labels, sample_weight=count_weights[rows, task]
                )
            except ValueError as error:
                raise ValueError(f"class_weight for {task_label(task, task_names)}: {error}") from None
            multipliers[:, task] = class_weights[targets.values[:, task]]
        return multipliers

    def _encode_targets(self, y2d, observed):
        return encode_classification_targets(y2d, observed, self._task_classes, getattr(self, "task_names_", None))

    def _output_layout(self):
        return ClassificationOutputLayout([len(classes) for classes in self._task_classes])

    def predict_proba(self, X):
        """Class probabilities of each task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        list of ndarray of shape (n_samples, n_classes_t), or ndarray
            One array per task, columns in the order of that task's ``classes_``; a single array
            when y was 1-D.
        """
        outputs = self._forward(X)
        probabilities = [p.numpy() for p in self.net_.criterion_.layout.probabilities(outputs)]
        return probabilities[0] if self._y_was_1d else probabilities

    def predict(self, X):
        """Most probable class of each task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_tasks), or (n_samples,) when y was 1-D
            Labels in each task's own classes (and dtype; object when the tasks' dtypes differ).
        """
        outputs = self._forward(X)
        probabilities = self.net_.criterion_.layout.probabilities(outputs)
        labels = [
            classes[p.argmax(dim=1).numpy()] for classes, p in zip(self._task_classes, probabilities, strict=False)
        ]
        if self._y_was_1d:
            return labels[0]
        dtypes = {label.dtype for label in labels}
        dtype = dtypes.pop() if len(dtypes) == 1 else object
        return np.column_stack([label.astype(dtype) for label in labels])

    def _warn_unseen_labels(self, y2d):
        """Labels a task never saw in fit can only be predicted wrong: say so, naming the task."""
        observed = ~missing_mask(y2d, self.missing_label)
        task_names = getattr(self, "task_names_", None)
        for task, classes in enumerate(self._task_classes):
            values = y2d[observed[:, task], task]
            unseen = [value for value in set(values.tolist()) if value not in set(classes.tolist())]
            if unseen:
                warnings.warn(
                    f"{task_label(task, task_names)} has labels {sorted(map(str, unseen))[:5]} in y that it never "
                    f"saw in fit (its classes are {classes.tolist()}); they count as errors.",
                    UserWarning,
                    stacklevel=3,
                )

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of each task's accuracy on its observed labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True labels, with missing ones marked as in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        y2d = self._prediction_target(X, y)
        self._warn_unseen_labels(y2d)
        predictions = self.predict(X).reshape(y2d.shape)
        return masked_accuracy_score(y2d, predictions, sample_weight=sample_weight, missing_label=self.missing_label)
