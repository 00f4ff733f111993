"""MaskedMultiTaskClassifier: one network, many classification tasks, missing labels masked out."""

import numpy as np
from sklearn.base import ClassifierMixin

from ._base import _BaseMaskedMultiTask
from ._docstrings import fill_docstring
from ._sklearn_compat import StrOptions, _fit_context


@fill_docstring
class MaskedMultiTaskClassifier(ClassifierMixin, _BaseMaskedMultiTask):
    """Multi-task neural network classifier trained on the observed labels only.

    A shared multilayer perceptron (the trunk) feeds one head per task; each task keeps its own
    classes (binary or multiclass, numbers or strings). Missing labels (NaN, None, ``pd.NA`` or
    ``missing_label``) contribute nothing to the loss, whatever value is stored there. Training
    runs through `skorch <https://skorch.readthedocs.io>`_ with Adam, as
    :class:`~sklearn.neural_network.MLPClassifier` does by default.

    Parameters
    ----------
    {{parameters}}

    Attributes
    ----------
    classes_ : list of ndarray, or ndarray
        The classes of each task; a single array when y was 1-D.
    {{attributes}}

    See Also
    --------
    MaskedMultiTaskRegressor : The same for regression targets.
    MaskedMultiTaskEstimator : Classification and regression tasks in one model.
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
        distributed_rows="all",
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            n_shared_layers=n_shared_layers,
            task_sharing=task_sharing,
            ensemble_size=ensemble_size,
            activation=activation,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            learning_rate_schedule=learning_rate_schedule,
            max_iter=max_iter,
            early_stopping=early_stopping,
            scoring=scoring,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            per_task_stopping=per_task_stopping,
            tol=tol,
            dropout=dropout,
            input_dropout=input_dropout,
            input_encoding=input_encoding,
            input_transform=input_transform,
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
            distributed_rows=distributed_rows,
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
        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_tasks)
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
        return self._predict_proba(X)

    def predict(self, X):
        """Most probable class of each task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_tasks), or (n_samples,) when y was 1-D
            Labels in each task's own classes (and dtype: a common one when the tasks' labels are
            all numbers, object when some are strings).
        """
        return self._predict(X)

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of each task's accuracy on its observed labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_tasks)
            True labels, with missing ones marked as in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        return self._score(X, y, sample_weight)
