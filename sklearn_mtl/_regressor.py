"""MaskedMultiTaskRegressor: one network, many regression targets, missing targets masked out."""

from sklearn.base import RegressorMixin

from ._base import _BaseMaskedMultiTask
from ._docstrings import fill_docstring
from ._sklearn_compat import _fit_context


@fill_docstring
class MaskedMultiTaskRegressor(RegressorMixin, _BaseMaskedMultiTask):
    """Multi-task neural network regressor trained on the observed targets only.

    A shared multilayer perceptron (the trunk) feeds one output per task. Each task's target is
    standardized on its observed values inside ``fit`` (so tasks in different units weigh alike in
    the loss) and predictions are transformed back. Missing targets (NaN, None, ``pd.NA`` or
    ``missing_label``) contribute nothing to the loss.

    Parameters
    ----------
    {{parameters}}

    Attributes
    ----------
    {{attributes}}

    See Also
    --------
    MaskedMultiTaskClassifier : The same for class labels.
    MaskedMultiTaskEstimator : Classification and regression tasks in one model.
    sklearn.neural_network.MLPRegressor : Multi-output network without missing targets.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl import MaskedMultiTaskRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = np.column_stack([X[:, 0] + X[:, 1], 100 * X[:, 2]])
    >>> y[rng.rand(100, 2) < 0.3] = np.nan
    >>> reg = MaskedMultiTaskRegressor(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    >>> reg.fit(X, y).predict(X[:3]).shape
    (3, 2)
    """

    _task_kind = "regression"

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch on (X, y), building the network on the first call.

        Each task's target standardization is learned on the first call, so every task needs at
        least one observed target there; later calls may lack any task. ``early_stopping`` has no
        effect here: no rows are held out of a ``partial_fit`` batch.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_tasks)
            Targets, missing ones marked as in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._partial_fit(X, y, sample_weight)

    def predict(self, X, return_std=False):
        """Predicted targets of every task, in their original units.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        return_std : bool, default=False
            Also return the standard deviation of the ensemble's members' predictions of each
            task (needs ``ensemble_size >= 2``), as :class:`~sklearn.linear_model.BayesianRidge`
            and :class:`~sklearn.gaussian_process.GaussianProcessRegressor` do.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_tasks), or (n_samples,) when y was 1-D
            The members' mean prediction with ``ensemble_size >= 2``.
        y_std : ndarray of the same shape
            Only with ``return_std=True``: the members' standard deviation (``ddof=0``).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_mtl import MaskedMultiTaskRegressor
        >>> rng = np.random.RandomState(0)
        >>> X = rng.normal(size=(200, 3))
        >>> y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])
        >>> y[rng.rand(200, 2) < 0.3] = np.nan
        >>> reg = MaskedMultiTaskRegressor(hidden_layer_sizes=(16,), ensemble_size=3, max_iter=20, random_state=0)
        >>> mean, std = reg.fit(X, y).predict(X[:4], return_std=True)
        >>> mean.shape, std.shape, bool((std > 0).all())
        ((4, 2), (4, 2), True)
        """
        return self._predict(X, return_std)

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of each task's R^2 on its observed targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_tasks)
            True targets, with missing ones marked as in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        return self._score(X, y, sample_weight)
