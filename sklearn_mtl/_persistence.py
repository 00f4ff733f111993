"""Safe persistence: the types a skops file of a fitted estimator holds, to pass as ``trusted``."""

#: Types found in a :mod:`skops.io` file of an estimator fitted with the default module, optimizer
#: and callbacks. Pass them as ``trusted`` to :func:`skops.io.load`; custom modules, optimizers or
#: callbacks add their own types, which :func:`skops.io.get_untrusted_types` lists for review.
SKOPS_TRUSTED_TYPES = [
    "builtins.print",
    "functools.partial",
    "sklearn_mtl._classifier.MaskedMultiTaskClassifier",
    "sklearn_mtl._estimator.MaskedMultiTaskEstimator",
    "sklearn_mtl._regressor.MaskedMultiTaskRegressor",
    "sklearn_mtl._tasks.Task",
    "sklearn_mtl._input_transform.ColumnScaling",
    "sklearn_mtl._losses.MaskedMultiTaskLoss",
    "sklearn_mtl._batches.BatchIterator",
    "sklearn_mtl._batches.RandomSplit",
    "sklearn_mtl._callbacks.CosineLearningRate",
    "sklearn_mtl._callbacks.StopOnNonFiniteLoss",
    "sklearn_mtl._callbacks.TaskLossLogger",
    "sklearn_mtl._callbacks.ValidationScore",
    "sklearn_mtl._fit_feedback.FitFeedback",
    "sklearn_mtl._net.MaskedNet",
    "sklearn_mtl.modules._trunk.SharedTrunkNet",
    "sklearn_mtl.modules._members.MemberEnsembleNet",
    # where SharedTrunkNet lived before sklearn_mtl.modules became a package (files saved then)
    "sklearn_mtl.modules.SharedTrunkNet",
    # the same classes under the module that held them before _batches.py and _callbacks.py (files
    # saved by earlier versions name them so; _net re-exports them)
    "sklearn_mtl._net.BatchIterator",
    "sklearn_mtl._net.CosineLearningRate",
    "sklearn_mtl._net.RandomSplit",
    "sklearn_mtl._net.StopOnNonFiniteLoss",
    "sklearn_mtl._net.TaskLossLogger",
    "sklearn_mtl._net.ValidationScore",
    "skorch.callbacks.logging.EpochTimer",
    "skorch.callbacks.logging.PrintLog",
    "skorch.callbacks.scoring.PassthroughScoring",
    "skorch.callbacks.training.EarlyStopping",
    "skorch.dataset.Dataset",
    "skorch.history.History",
    "skorch.setter.optimizer_setter",
    "torch.device",
    "torch.optim.adam.Adam",
]
