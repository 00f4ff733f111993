"""MaskedMultiTaskRegressor: one network, many regression targets, missing targets masked out."""

from sklearn.base import RegressorMixin

from ._base import _BaseMaskedMultiTask
from ._losses import RegressionOutputLayout
from ._sklearn_compat import _fit_context
from ._targets import encode_regression_targets, fit_target_scaler, regression_values
from .metrics import masked_r2_score


class MaskedMultiTaskRegressor(RegressorMixin, _BaseMaskedMultiTask):
    """Multi-task neural network regressor trained on the observed targets only.

    A shared multilayer perceptron (the trunk) feeds one output per task. Each task's target is
    standardized on its observed values inside ``fit`` (so tasks in different units weigh alike in
    the loss) and predictions are transformed back. Missing targets (NaN, None, ``pd.NA`` or
    ``missing_label``) contribute nothing to the loss.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(1024,)
        Width of each shared hidden layer, as in MLPRegressor (whose default is ``(100,)``; a wide layer,
        strongly regularized, did better on real data: see the user guide's "Defaults"). ``()``
        gives one linear model per task.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation of the hidden layers.
    alpha : "auto" or float, default="auto"
        Strength of the L2 penalty on the weight matrices, added to each training batch's loss as
        ``0.5 * alpha * ||W||^2 / batch_size`` (MLPRegressor's meaning, whose default is 1e-4).
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
        each task's R^2 on its observed targets, over the tasks where it is defined
        (``valid_score`` in ``history_``). ``"loss"``: the masked validation loss, as weighted.
    validation_fraction : float, default=0.1
        Fraction of rows held out for early stopping.
    n_iter_no_change : int, default=20
        Epochs without an improvement of at least ``tol`` before training stops.
    tol : float, default=1e-4
        Minimum improvement of the monitored score or loss.
    dropout : "auto" or float, default="auto"
        Dropout probability after each hidden layer. ``"auto"`` is 0 for regression: on the
        real data sets of the user guide's "Defaults", dropout cost R^2 that the L2 penalty
        (``alpha``) did not.
    input_dropout : "auto" or float, default="auto"
        Dropout probability of the inputs: while training, each feature of each row is zeroed
        with this probability (and the others scaled up). ``"auto"`` is 0 for regression.
    missing_label : scalar, default=np.nan
        Value that marks a missing target, in addition to NaN, None and ``pd.NA``.
    loss_normalization : {"per_task", "per_label", "per_sample"}, default="per_task"
        How the summed squared error of observed targets is normalized; see
        :class:`MaskedMultiTaskClassifier` for the formulas.
    task_weights : array-like of shape (n_tasks,) or dict, default=None
        Multiplies each task's loss; a dict is keyed by task name or index.
    task_weighting : {"equal", "uncertainty", "dwa", "gradnorm", "pcgrad"} or TaskWeighting, default="equal"
        How the task losses become one loss: a fixed sum (``"equal"``) or an automatic strategy
        from :mod:`sklearn_mtl.weighting` (the gradient-based ones cost one backward pass per task).
    sampling : {"uniform", "task_balanced"}, default="uniform"
        ``"task_balanced"`` draws each epoch's rows with replacement so that every task's targets
        are drawn equally often.
    device : str or torch.device, default="cpu"
        Where to train, for example ``"cuda"``.
    module : callable, default=None
        A ``torch.nn.Module`` class (or factory) called as ``module(n_features=..., n_outputs=...)``
        that replaces the default :class:`~sklearn_mtl.modules.SharedTrunkNet`.
    optimizer : torch optimizer class, default=None
        None uses ``torch.optim.Adam`` (fused on CPU).
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks.
    net_params : dict, default=None
        Extra parameters for the underlying :class:`skorch.NeuralNet`.
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
    n_tasks_ : int
        Number of tasks (columns of y).
    task_names_ : ndarray of str
        Task names, when y was a DataFrame.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Feature names, when X was a DataFrame with string column names.
    net_ : skorch.NeuralNet
        The trained skorch net.
    history_ : skorch.History
        Per-epoch record.
    n_iter_ : int
        Number of epochs run.
    validation_scores_ : list of float or None
        The validation score (or loss, with ``scoring="loss"``) of each epoch; None when no
        validation split was held out.
    best_validation_score_ : float or None
        The best of them, whose epoch's weights were restored; None without a split.
    loss_curve_ : list of float
        Training loss per epoch (squared error on standardized targets, plus the L2 penalty).

    See Also
    --------
    MaskedMultiTaskClassifier : The same for class labels.
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

    def _learn_targets(self, y2d, observed, row_weights, classes=None):
        values = regression_values(y2d, observed, getattr(self, "task_names_", None))
        self._target_scaler = fit_target_scaler(values, getattr(self, "task_names_", None), row_weights)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch on (X, y), building the network on the first call.

        Each task's target standardization is learned on the first call, so every task needs at
        least one observed target there; later calls may lack any task. ``early_stopping`` has no
        effect here: no rows are held out of a ``partial_fit`` batch.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Targets, missing ones marked as in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._partial_fit(X, y, sample_weight)

    def _encode_targets(self, y2d, observed):
        values = regression_values(y2d, observed, getattr(self, "task_names_", None))
        return encode_regression_targets(values, self._target_scaler)

    def _output_layout(self):
        return RegressionOutputLayout(self.n_tasks_)

    def predict(self, X):
        """Predicted targets of every task, in their original units.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_tasks), or (n_samples,) when y was 1-D
        """
        outputs = self._forward(X).numpy()
        predictions = self._target_scaler.inverse_transform(outputs)
        return predictions.ravel() if self._y_was_1d else predictions

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of each task's R^2 on its observed targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True targets, with missing ones marked as in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        y2d = self._prediction_target(X, y)
        predictions = self.predict(X).reshape(y2d.shape)
        return masked_r2_score(y2d, predictions, sample_weight=sample_weight, missing_label=self.missing_label)
