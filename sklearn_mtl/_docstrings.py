"""The parameter and attribute docs the estimators share, written once and put into their docstrings.

A class docstring holds the line ``{{parameters}}``, which :func:`fill_docstring` replaces with the
docs of the class's own parameters in signature order (``tests/test_docstrings.py`` checks the
result against the signatures), and ``{{attributes}}`` for the fitted attributes all of them have.
"""

import inspect
import textwrap

_PARAMETERS = {
    "hidden_layer_sizes": """\
hidden_layer_sizes : array-like of int, default=(1024,)
    Width of each shared hidden layer, as in scikit-learn's MLP (whose default is ``(100,)``; a
    wide layer, strongly regularized, did better on real data: see the user guide's "Defaults").
    ``()`` gives one linear model per task.""",
    "n_shared_layers": """\
n_shared_layers : int, default=None
    How many of the hidden layers all tasks share; the remaining ones are private to each task (a
    tower per task, of the same sizes, all computed with one batched product per layer). None
    shares every hidden layer; 0 shares none: one independent network per task, trained in one
    model, whose fit for a task does not depend on the other tasks' labels. Search over it to put
    "one model per task" and "one model for all" side by side.""",
    "task_sharing": """\
task_sharing : "auto" or float, default="auto"
    How strongly the tasks' output heads are pulled together. 0: each task has its own head (the
    model before this option existed). A positive value splits each head into a part all tasks
    share plus the task's own deviation, whose L2 penalty is ``task_sharing`` times that on the
    other weights (regularized multi-task learning, Evgeniou and Pontil 2004); ``float("inf")``
    gives all tasks one head's weights (each keeps its own bias). "auto": 0 (and the default
    penalty) when the median task has 500 labels or more, rows carry more than 1.5 labels on
    average, or all tasks together have fewer than 500; with fewer labels per task and one label per
    row, ``fit`` compares on 20% of the rows (held out, then refitted on all) independent heads,
    independent heads under a penalty raised for the few labels, the same raised further and trained
    twice the epochs at half the rate, and shared heads (``task_sharing=10``), and keeps the best
    (``task_sharing_``, ``sharing_scores_``; see the user guide's "How much the tasks share"). The
    comparison costs about five fits of the network, six when the slower setting wins.""",
    "ensemble_size": """\
ensemble_size : int, default=1
    Number of networks trained together as an ensemble (:class:`~sklearn_mtl.modules.MemberEnsembleNet`:
    every layer of every member is one batched product, and each member gets the gradients it
    would get alone). Predictions are the members' mean (of targets, or of probabilities), and
    a regressor's ``predict(X, return_std=True)`` also returns their standard deviation per task,
    an uncertainty whose rank follows the error (see the user guide's "Ensembles"). Members
    differ by their initialization and dropout masks; on wide sparse inputs (fingerprints) they
    share the first layer's weight, each scaling it by its own random signs (BatchEnsemble), so
    that an ensemble of 5 costs about twice one network instead of five times.""",
    "activation": """\
activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
    Activation of the hidden layers.""",
    "alpha": """\
alpha : "auto" or float, default="auto"
    Strength of the L2 penalty on the weight matrices, added to each training batch's loss as
    ``0.5 * alpha * ||W||^2 / batch_size`` (the meaning it has in scikit-learn's MLP, whose
    default is 1e-4). ``"auto"`` adds ``0.5 * 0.003 * ||W||^2`` to every batch's loss, i.e.
    ``alpha = 0.003 * batch_size``: a penalty relative to the mean loss, whatever the batch size.""",
    "batch_size": """\
batch_size : int or "auto", default="auto"
    Rows per mini-batch. ``"auto"`` gives about 50 steps per epoch: ``n_samples // 50``
    clipped to [32, 128] (all rows when there are fewer than 32).""",
    "learning_rate_init": """\
learning_rate_init : float, default=4e-3
    Adam's learning rate (its peak, with ``learning_rate_schedule="cosine"``).""",
    "learning_rate_schedule": """\
learning_rate_schedule : {"cosine", "constant"}, default="cosine"
    How the learning rate moves during ``fit``. ``"cosine"`` anneals it at every step from
    ``learning_rate_init`` to 0 along a half cosine over the ``max_iter`` epochs (the schedule of
    SGDR, Loshchilov and Hutter 2017, without restarts): the last epochs take small steps, which
    averages out the noise of the mini-batches, so that a short fit ends where a long one with
    early stopping would. A fit that early stopping ends sooner keeps the rate it had reached. Each
    call of ``fit`` (``warm_start`` included) starts a new cycle. ``"constant"`` keeps
    ``learning_rate_init`` (Adam's own adaptation aside), as ``partial_fit`` always does.""",
    "max_iter": """\
max_iter : int or "auto", default="auto"
    Number of epochs (at most, with early stopping). ``"auto"`` gives about 1500 optimizer steps
    on an input of at least 100 features and 750 on a narrower one: ``ceil(steps /
    steps_per_epoch)`` epochs within [5, 200], where ``steps_per_epoch`` is ``ceil(n_samples /
    batch_size)`` (27 epochs for Tox21's 7,000 rows of 2048 bits at the default batch size, fewer
    for larger data). With the cosine schedule, training runs to the end of the
    budget (no ``ConvergenceWarning``: the annealed end is the planned stop), unless the loss
    it follows (the training loss, without a validation split) has not improved by ``tol`` for
    ``n_iter_no_change`` epochs: a fit that has converged stops there.""",
    "early_stopping": """\
early_stopping : "auto" or bool, default="auto"
    Hold out ``validation_fraction`` of the rows (a random, non-stratified split: stratifying
    on labels that may be missing is not possible), follow the validation score of each
    epoch (see ``scoring``), stop when it has not improved by ``tol`` for ``n_iter_no_change``
    epochs, and restore the weights of the best epoch. ``"auto"`` holds no split with the
    cosine schedule (``learning_rate_schedule``), whose annealed end is the stop: every row
    trains, and no noisy validation score picks the epoch. With a constant learning rate it
    holds one when the split would hold at least 300 labels of the median task (3000 labels
    per task at the default ``validation_fraction``) and at least 50 labels of the rarest
    class of the median classification task; on smaller data, or with a few dozen positives
    per task, the best epoch of a small split is more luck than signal. Without a split,
    training stops the same way on the training loss (or at ``max_iter``).""",
    "scoring": """\
scoring : {"auto", "loss"}, default="auto"
    What early stopping follows on the validation split. ``"auto"``: the mean over tasks of
    each task's validation metric on its observed labels, over the tasks where it is defined
    (``valid_score`` in ``history_``): ROC-AUC for a classification task (one-vs-rest macro
    average with more than two classes), which keeps improving for epochs after the validation
    loss has turned up from over-confidence, and R^2 for a regression task. ``"loss"``: the
    masked validation loss, as weighted.""",
    "validation_fraction": """\
validation_fraction : float, default=0.1
    Fraction of rows held out for early stopping.""",
    "n_iter_no_change": """\
n_iter_no_change : int, default=20
    Epochs without an improvement of at least ``tol`` before training stops.""",
    "per_task_stopping": """\
per_task_stopping : bool, default=False
    With a validation split (``early_stopping``), keep each task at its own best epoch: its head
    and its private layers (``n_shared_layers``) are restored to the epoch where its validation
    score (its loss, with ``scoring="loss"``) was best, while the shared layers keep the best epoch
    of the mean score. ``best_epochs_`` records each task's epoch. Prefer it when tasks converge at
    different speeds (``history_``'s ``valid_score_<task>`` curves peak at different epochs); with
    ``n_shared_layers=0`` it is early stopping of each task's own network.""",
    "tol": """\
tol : float, default=1e-4
    Minimum improvement of the monitored score or loss.""",
    "dropout": """\
dropout : "auto" or float, default="auto"
    Dropout probability after each hidden layer. ``"auto"`` is 0.5 on wide inputs (at least
    100 features, such as fingerprints or word counts) when every task is a classification
    task, and 0 otherwise: on the regression sets of the user guide's "Defaults", dropout cost
    R^2 that the L2 penalty (``alpha``) did not. With tasks of both kinds on a wide input and
    both dropouts ``"auto"``, the classification tasks get the classifier's dropout and input
    dropout and the regression tasks none: while training, these read a second pass through the
    same weights without dropout (the module's ``dropout_tasks``; about 1.3 times the fit time).
    In a mixed model, ``"auto"`` beside an explicit ``input_dropout`` is 0.""",
    "input_dropout": """\
input_dropout : "auto" or float, default="auto"
    Dropout probability of the inputs: while training, each feature of each row is zeroed
    with this probability (and the others scaled up), which keeps the first layer from leaning
    on a few features. ``"auto"`` is 0.2 where ``dropout="auto"`` is 0.5 (in a mixed model, for
    its classification tasks only), else 0.""",
    "input_encoding": """\
input_encoding : {"auto", "none"}, default="auto"
    How the network reads X's columns. "auto": on a dense X of fewer than 100 columns, each
    column that takes 3 to 16 distinct values in fit (and at least 20 rows per value on
    average: a level, an orientation, a rating) gets one indicator column per value after X's
    own columns, so that the first layer can give each value its own effect, as a tree does;
    a value not seen in fit sets none of its column's indicators. ``input_levels_`` lists the
    columns and values. "none": X as given. See the user guide's "Defaults".""",
    "input_transform": """\
input_transform : {"auto", "none"}, default="auto"
    How the network reads the scale of a dense X's columns. "auto": one map per column, fitted
    on the training rows (weighed by ``sample_weight``) and applied alike in predict. 0/1
    columns, mostly-zero columns of values within 10 (counts, word weights) and a scipy sparse X
    are read as they are; a two-valued column maps to 0 and 1, a constant one to 0; a
    light-tailed column is standardized (mean and standard deviation); a heavy-tailed one (its
    values reaching beyond 10 interquartile ranges over 1.349 from its median, as RDKit
    descriptors do) is centred on its median, divided by that range and read through ``asinh``;
    a column mostly of one value keeps it at 0. Inputs in their own units then train as
    standardized ones do, with no scaler in front, and a scaler of your own changes nothing.
    ``input_transform_`` holds the fitted map. "none": X as given. See the user guide's "What
    the estimator does with your inputs".""",
    "missing_label": """\
missing_label : scalar, default=np.nan
    Value that marks a missing label, in addition to NaN, None and ``pd.NA`` (which are always
    missing). For example -1 or ``"?"``.""",
    "task_types": """\
task_types : None, str, list or dict, default=None
    The kind of each task, ``"classification"`` or ``"regression"``: one str for every task, a
    list with one entry per task, or a dict keyed by task name (DataFrame column) or index.
    A task that it leaves out (or every task, with None) gets the kind scikit-learn's
    ``type_of_target`` gives its observed labels: ``"continuous"`` is regression, ``"binary"``
    and ``"multiclass"`` are classification. Integer targets therefore count as classes; a task
    with more distinct integer values than half its labels is inferred as classification with a
    warning, which giving its kind here silences.""",
    "loss_normalization": """\
loss_normalization : {"per_task", "per_label", "per_sample"}, default="per_task"
    How the summed loss of observed labels is normalized; see
    :class:`MaskedMultiTaskClassifier` for the formulas.""",
    "task_weights": """\
task_weights : array-like of shape (n_tasks,) or dict, default=None
    Multiplies each task's loss; a dict is keyed by task name (DataFrame column) or index.
    None weighs every task 1.""",
    "task_weighting": """\
task_weighting : {"equal", "uncertainty", "dwa", "gradnorm", "pcgrad"} or TaskWeighting, default="equal"
    How the task losses become one loss: a fixed sum (``"equal"``) or an automatic strategy
    from :mod:`sklearn_mtl.weighting` (uncertainty weighting, dynamic weight average,
    GradNorm, PCGrad; the gradient-based ones cost one backward pass per task).""",
    "class_weight": """\
class_weight : "balanced", dict, list of dict or None, default=None
    Weights of the classes of each classification task, multiplying each observed label's loss
    before the normalization (the denominators stay label counts). ``"balanced"`` computes, per
    task from its observed labels only, ``n_observed / (n_classes * count(class))``. A list has
    one dict (or None, or "balanced") per task, None for a regression task; a single dict is for
    1-D y.""",
    "sampling": """\
sampling : {"uniform", "task_balanced"}, default="uniform"
    ``"task_balanced"`` draws each epoch's rows with replacement so that every task's labels
    are drawn equally often: rows of a task with 1% of another's labels are seen as often.""",
    "device": """\
device : str or torch.device, default="cpu"
    Where to train, for example ``"cuda"``.""",
    "module": """\
module : callable, default=None
    Escape hatch: a ``torch.nn.Module`` class (or factory) called as
    ``module(n_features=..., n_outputs=...)`` that replaces the default
    :class:`~sklearn_mtl.modules.SharedTrunkNet`. Its output must have ``n_outputs`` columns,
    each task's ``head_width`` of them (see ``tasks_``) in task order: one per regression or
    binary task, K per task with K > 2 classes.""",
    "optimizer": """\
optimizer : torch optimizer class, default=None
    None uses ``torch.optim.Adam`` (fused on CPU).""",
    "callbacks": """\
callbacks : list of skorch callbacks, default=None
    Extra skorch callbacks, for example ``EpochScoring`` or ``ProgressBar``.""",
    "net_params": """\
net_params : dict, default=None
    Extra parameters for the underlying :class:`skorch.NeuralNet`, such as
    ``{"optimizer__betas": (0.9, 0.99)}``; they override the estimator's own settings.""",
    "random_state": """\
random_state : int, RandomState instance or None, default=None
    Seeds initialization, shuffling, dropout and the validation split. ``fit`` does not change
    torch's or numpy's global random state.""",
    "verbose": """\
verbose : int, default=0
    1 prints, to standard output, a first line with what the "auto" settings resolved to, then
    one line per epoch (losses, validation score where a split is held out, the epoch's seconds,
    an estimate of the time left) and a summary line; 2 adds a column per task for the first ten
    tasks (all are in ``history_``). Plain text, no terminal codes; under ``torchrun``, rank 0
    only. Progress bars: ``set_callbacks(ProgressBar())`` (scikit-learn >= 1.9). Ctrl-C stops
    training at the end of the epoch in progress, with a warning (see the user guide's
    "Watching and interrupting a fit").""",
    "warm_start": """\
warm_start : bool, default=False
    When True, ``fit`` continues training the existing network for ``max_iter`` more epochs.""",
    "dtype": """\
dtype : {"float32", "float64"}, default="float32"
    Precision of training. float32 is what PyTorch is fast at; float64 is slower but makes
    results independent of summation order (for example, weighting a row by 2 then gives the
    same model as repeating it, to the last digits). Inference always runs in float64.""",
    "distributed_rows": """\
distributed_rows : {"all", "own"}, default="all"
    What each process passes to ``fit`` in a data-parallel fit (when the script has initialized a
    ``torch.distributed`` process group of more than one process, as under ``torchrun``; see the
    user guide's "Training on several processes"). "all": every rank passes every row, and
    computes its share of each batch. "own": each rank passes its own rows; the model is the one
    fitted on all ranks' rows concatenated in rank order. Ignored in one process.""",
}

_ATTRIBUTES = """\
tasks_ : list of Task
    The fitted description of each task: its ``kind``, ``name``, ``classes`` (classification)
    or ``mean`` and ``scale`` (regression, whose targets the network learns standardized),
    ``head_width``, ``loss`` and ``metric``. Everything else about the tasks derives from it.
n_tasks_ : int
    Number of tasks (columns of y).
task_names_ : ndarray of str
    Task names, when y was a DataFrame.
n_features_in_ : int
    Number of features seen during fit.
input_levels_ : dict of int to ndarray
    The columns of X that ``input_encoding`` gives indicator columns, each with its values
    (empty when none).
input_transform_ : ColumnScaling or None
    The fitted input transform (``input_transform``): per-column ``center``, ``scale`` and
    ``compress`` (asinh) arrays; None when no column is changed (sparse X, 0/1 columns only, or
    ``input_transform="none"``).
feature_names_in_ : ndarray of str
    Feature names, when X was a DataFrame with string column names.
net_ : skorch.NeuralNet
    The trained skorch net; ``net_.module_`` is the torch module. Its own ``predict_proba``
    returns the module's raw outputs (logits, standardized targets); the estimator's methods
    decode them.
history_ : skorch.History
    Per-epoch record: ``train_loss``, ``valid_loss``, ``valid_score``, ``dur``, and the same
    per task (``train_loss_<task>``...) for up to 1,000 tasks. The last epoch of a fit stopped by
    Ctrl-C holds ``interrupted=True``; of one stopped by a scikit-learn callback,
    ``stopped_by_callback=True``.
n_iter_ : int
    Number of epochs run (finished epochs: Ctrl-C lets the epoch in progress finish).
task_sharing_ : float
    The heads' sharing the network was built with (``task_sharing`` with "auto" resolved).
sharing_scores_ : dict or None
    With ``task_sharing="auto"`` in the regime of few labels per task, each compared setting's
    held-out score (mean over tasks of ROC-AUC or R^2); None when no comparison was made.
best_epochs_ : ndarray of int or None
    With ``per_task_stopping``, each task's best validation epoch (1-based, as in ``history_``;
    0 for a task whose score was never defined); None without it or without a validation split.
validation_scores_ : list of float or None
    The validation score (or loss, with ``scoring="loss"``) of each epoch; None when no
    validation split was held out.
best_validation_score_ : float or None
    The best of them, whose epoch's weights were restored; None without a split.
loss_curve_ : list of float
    Training loss per epoch, the quantity the optimizer minimized (with the L2 penalty)."""


def _indent(text):
    return textwrap.indent(text, "    ").lstrip()


def fill_docstring(cls):
    """Class decorator: put the shared parameter and attribute docs into ``cls.__doc__``."""
    names = list(inspect.signature(cls).parameters)
    parameters = "\n".join(_PARAMETERS[name] for name in names)
    cls.__doc__ = cls.__doc__.replace("{{parameters}}", _indent(parameters)).replace(
        "{{attributes}}", _indent(_ATTRIBUTES)
    )
    return cls
