"""MaskedMultiTaskEstimator: one network for classification and regression tasks, missing labels masked out."""

import numpy as np
from sklearn.utils import ClassifierTags
from sklearn.utils.metaestimators import available_if

from ._base import _BaseMaskedMultiTask
from ._docstrings import fill_docstring
from ._sklearn_compat import StrOptions, _fit_context


def _has_classification_task(estimator):
    """``predict_proba`` exists before fit, and after it when some task is a classification task."""
    if hasattr(estimator, "tasks_") and not any(task.kind == "classification" for task in estimator.tasks_):
        raise AttributeError(f"{type(estimator).__name__} has no predict_proba: all of its tasks are regression tasks.")
    return True


@fill_docstring
class MaskedMultiTaskEstimator(_BaseMaskedMultiTask):
    """Multi-task neural network for classification and regression tasks together.

    One shared multilayer perceptron feeds one head per task, whatever its kind: a
    classification task (binary or multiclass, numbers or strings) trains with cross-entropy, a
    regression task with the squared error of its target standardized on its observed values.
    Standardizing makes a target in years weigh like one in metres or a cross-entropy, so no
    loss weight has to be tuned by hand to mix them (``task_weights`` still can). Each row may
    carry labels of any subset of the tasks; missing labels (NaN, None, ``pd.NA`` or
    ``missing_label``) contribute nothing to the loss. The kind of each task comes from
    ``task_types`` or is inferred from its labels; the fitted ``tasks_`` says what was decided.

    With tasks of one kind it is the same model as :class:`MaskedMultiTaskClassifier` or
    :class:`MaskedMultiTaskRegressor`.

    Parameters
    ----------
    {{parameters}}

    Attributes
    ----------
    classes_ : list of (ndarray or None), or ndarray or None
        The classes of each classification task, None for a regression task; a single entry when
        y was 1-D.
    {{attributes}}

    See Also
    --------
    MaskedMultiTaskClassifier : Classification tasks only (a classifier for scikit-learn).
    MaskedMultiTaskRegressor : Regression tasks only (a regressor for scikit-learn).

    Notes
    -----
    The loss is the one of :class:`MaskedMultiTaskClassifier` (see its Notes), with the squared
    error on standardized targets as the per-label loss of regression tasks. The default
    ``score`` averages accuracy and R^2 over the tasks, which are not on the same scale: for
    model selection prefer one scorer per task, or a dict of task to metric
    (:func:`sklearn_mtl.metrics.make_masked_scorer`).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn_mtl import MaskedMultiTaskEstimator
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = pd.DataFrame({"age": 40 + 10 * X[:, 0], "gender": np.where(X[:, 1] > 0, "f", "m")})
    >>> y.loc[rng.rand(200) < 0.5, "age"] = np.nan
    >>> y.loc[y["age"].notna(), "gender"] = None
    >>> est = MaskedMultiTaskEstimator(hidden_layer_sizes=(16,), max_iter=30, random_state=0).fit(X, y)
    >>> [task.kind for task in est.tasks_]
    ['regression', 'classification']
    >>> est.predict(X[:2]).shape
    (2, 2)
    >>> [None if p is None else p.shape for p in est.predict_proba(X[:2])]
    [None, (2, 2)]
    """

    _parameter_constraints = {
        **_BaseMaskedMultiTask._parameter_constraints,
        "task_types": [StrOptions({"classification", "regression"}), list, dict, None],
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
        task_types=None,
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
        self.task_types = task_types
        self.class_weight = class_weight

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # neither a classifier nor a regressor for scikit-learn (its tasks may be either), but its
        # predict_proba serves classification tasks of any number of classes: say so, for the
        # checks and tools that read the classifier tags of whatever has a predict_proba
        tags.classifier_tags = ClassifierTags(multi_class=True)
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on (X, y), building the network on the first call.

        The first call decides what each task is: its kind (``task_types``, or inferred from the
        batch), the classes of a classification task (``classes``, or the batch's labels) and the
        standardization of a regression task (the batch's targets, so each regression task needs
        at least one there). Later calls may lack any task. ``early_stopping`` has no effect here.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_tasks)
            Labels and targets, missing ones marked as in ``fit``.
        classes : list of (array-like or None), or array-like, default=None
            The classes of each classification task (None for a regression task, or to learn
            them from the first batch); a single array-like when y is 1-D. Used on the first
            call only.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._partial_fit(X, y, sample_weight, classes=classes)

    @available_if(_has_classification_task)
    def predict_proba(self, X):
        """Class probabilities of each classification task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        list of (ndarray of shape (n_samples, n_classes_t) or None), or ndarray
            One entry per task: for a classification task its probabilities, columns in the order
            of its ``classes_``; None for a regression task (its prediction is ``predict``'s). A
            single array when y was 1-D.
        """
        return self._predict_proba(X)

    def predict(self, X, return_std=False):
        """Each task's prediction: its most probable class, or its target in its own units.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        return_std : bool, default=False
            Also return the standard deviation of the ensemble's members' predictions of each
            regression task (needs ``ensemble_size >= 2``; NaN for the classification tasks,
            whose uncertainty is in ``predict_proba``).

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_tasks), or (n_samples,) when y was 1-D
            float64 when every task's labels are numbers (class labels as numbers), object when
            some task's labels are strings.
        y_std : ndarray of shape (n_samples, n_tasks), or (n_samples,) when y was 1-D
            Only with ``return_std=True``.
        """
        return self._predict(X, return_std)

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of each task's accuracy (classification) or R^2 (regression).

        Each task is scored on its observed labels only.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_tasks)
            True labels and targets, with missing ones marked as in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        return self._score(X, y, sample_weight)
