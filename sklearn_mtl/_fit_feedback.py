"""Feedback while a network trains: the ``verbose`` log, scikit-learn's callbacks (``set_callbacks``,
one subtask per epoch) and Ctrl-C, which ends the fit at the end of the epoch in progress.

One skorch callback, :class:`FitFeedback`, last in the net's list, sees every epoch end; the
estimator's ``fit`` opens and closes the scikit-learn callback context around the training
(:func:`begin`, :func:`end`), and the net's training loop runs under :func:`deferred_interrupts`.
"""

import math
import signal
import sys
import threading
import time
import warnings
from contextlib import contextmanager

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback

from . import _distributed as distributed
from ._batches import takes_sparse_batches
from ._sklearn_compat import fit_callback_context, fitted_by_model_selection, open_callback_context

#: what a fit ended by Ctrl-C warns, in MLPClassifier's words
INTERRUPTED = "Training interrupted by user."

# verbose=2 prints per-task columns for at most this many tasks; the others are in history_
_MAX_TASK_COLUMNS = 10


def _seconds(seconds):
    """A duration as people read it: 0.42s, 12s, 3m05s, 1h02m."""
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, seconds = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _short(obj):
    """An object's repr where it is short (ColumnScaling's says what it maps), else its class's name."""
    text = repr(obj)
    return text if len(text) <= 80 and "\n" not in text else type(obj).__name__


def _epochs(count):
    return f"{count} epoch" if count == 1 else f"{count} epochs"


def _number(value):
    """A history value in a column: 4 significant digits, or '-' where there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4g}"


def _rank_zero():
    """Whether this process prints: the only one, or rank 0 of a data-parallel fit (``torchrun``)."""
    group = distributed.process_group()
    return group is None or group[0] == 0


class FitFeedback(Callback):
    """Report each epoch: the ``verbose`` log, scikit-learn's callbacks, and the stop they or Ctrl-C ask for.

    It is the net's last callback, so that at an epoch's end it sees what every other callback
    recorded. With the owning estimator's ``verbose >= 1`` it prints (on rank 0 only under
    ``torchrun``, plain text, no terminal escape codes):

    - a first line with what the fit resolved its "auto" settings to (rows, tasks, first layer,
      hidden layers and dropouts, L2 penalty, input transform where the estimator has one, batch
      size, epoch budget, validation split, device);
    - one line per epoch: training and validation loss, validation score where there is a split,
      the epoch's seconds and an estimate of the time left (to the epoch budget: with early
      stopping, at most that); ``verbose >= 2`` adds a column per task (the first ten tasks'
      validation scores, or training losses without a split; all of them are in ``history_``);
    - a summary line: epochs run, time, and why training stopped.

    Per epoch it also calls scikit-learn's callbacks (:func:`begin` opened their context): one
    subtask per epoch, whose end may ask training to stop. A stop, asked by them or by Ctrl-C
    (:func:`deferred_interrupts`), ends training at this epoch's end; the history's last epoch
    records it (``stopped_by_callback`` or ``interrupted``).

    Parameters
    ----------
    sink : callable, default=None
        Where lines go; None prints them to ``sys.stdout``.
    """

    def __init__(self, sink=None):
        self.sink = sink

    # what one training holds (the callback context, the fit's X and y): never pickled
    _TRANSIENT = ("pending_", "context_", "fit_inputs_", "n_epochs_", "epoch_context_", "estimator_")

    def __getstate__(self):
        state = super().__getstate__()
        for name in self._TRANSIENT:
            state.pop(name, None)
        return state

    def prepare(self, context, X, y, metadata, n_epochs):
        """Set before a fit's training (:func:`begin`), for the next training only: scikit-learn's
        callback context of the fit (None without), the fit's inputs for its hooks, and the epoch
        budget."""
        self.pending_ = context, (X, y, metadata), n_epochs

    # -- skorch's events ----------------------------------------------------------------------------
    def on_train_begin(self, net, X=None, **kwargs):
        # what prepare() set for this training; a training without it (add_tasks) has none, and
        # nothing of an earlier training that failed is left over
        self.context_, self.fit_inputs_, self.n_epochs_ = self.__dict__.pop("pending_", (None, None, None))
        self.estimator_ = getattr(net, "estimator_", None)
        self.first_epoch_ = len(net.history)  # (after a warm start, the earlier epochs are there)
        self.logged_ = self.first_epoch_
        self.start_ = time.perf_counter()
        self.stop_reason_ = None
        self.interrupt_requested_ = self.aborted_ = False
        self.epoch_context_ = None
        self.verbose_ = getattr(self.estimator_, "verbose", 0) if _rank_zero() else 0
        # one more epoch of a fitted model (each partial_fit call after the first): its line only
        self.one_more_ = self.n_epochs_ == 1 and self.first_epoch_ > 0
        if self.verbose_ and not self.one_more_:
            self._print(self._describe(net, X))
            self._print(self._header(net))

    def on_epoch_begin(self, net, **kwargs):
        if self.context_ is not None:
            self.epoch_context_ = self.context_.subcontext(task_name="epoch")
            X, y, metadata = self.fit_inputs_
            self.epoch_context_.call_on_fit_task_begin(estimator=self.estimator_, X=X, y=y, metadata=metadata)

    def on_epoch_end(self, net, **kwargs):
        stop = self._finish_epoch(net)
        if self.interrupt_requested_:
            self.stop_reason_ = "interrupted"
            net.history.record("interrupted", True)
        elif stop:
            self.stop_reason_ = "callback"
            net.history.record("stopped_by_callback", True)
        if self.stop_reason_ is not None:
            raise KeyboardInterrupt  # skorch's way to end training after this epoch

    def on_train_end(self, net, **kwargs):
        # an epoch that ended in early stopping (it raises before this callback's turn) is reported
        # here; an epoch cut short by a second Ctrl-C is closed without results
        if len(net.history) > self.logged_ and "train_loss" in net.history[-1]:
            self._finish_epoch(net)
        elif self.epoch_context_ is not None:
            self.epoch_context_.call_on_fit_task_end(estimator=self.estimator_)
        if self.interrupt_requested_ and self.stop_reason_ is None and not self.aborted_:
            # Ctrl-C after the last epoch's report: the fit is whole, and reported as interrupted
            self.stop_reason_ = "interrupted"
            net.history.record("interrupted", True)
        if self.verbose_ and not (self.one_more_ and self.stop_reason_ is None and not self.aborted_):
            self._print(self._summary(net))
        for name in self._TRANSIENT:
            self.__dict__.pop(name, None)
        if self.aborted_:  # (skorch swallowed the KeyboardInterrupt of the second Ctrl-C)
            raise KeyboardInterrupt("a second Ctrl-C stopped training at once; the fit is discarded")

    # -- one epoch ----------------------------------------------------------------------------------
    def _finish_epoch(self, net):
        """Log the epoch just finished and end its scikit-learn subtask; whether a callback asked to stop."""
        self.logged_ = len(net.history)
        if self.verbose_:
            self._print(self._row(net))
        context, self.epoch_context_ = self.epoch_context_, None
        if context is None:
            return False
        X, y, metadata = self.fit_inputs_
        estimator = self.estimator_
        return context.call_on_fit_task_end(
            estimator=estimator,
            X=X,
            y=y,
            metadata=metadata,
            # a copy of the estimator that predicts as this epoch left the network (built only
            # for the callbacks that ask for it: ``fitted_estimator``)
            reconstruction_attributes=lambda: {
                "history_": net.history,
                "n_iter_": len(net.history),
                "_predictor_": estimator._build_predictor(),
            },
        )

    # -- the lines ----------------------------------------------------------------------------------
    def _print(self, line):
        if self.sink is not None:
            self.sink(line)
            return
        try:
            print(line, file=sys.stdout, flush=True)
        except BrokenPipeError:  # the reader went away (``| head``): the fit goes on, silently
            self.verbose_ = 0

    def _describe(self, net, dataset):
        """The first line: what the fit resolved its settings to."""
        est = self.estimator_
        n_rows = getattr(dataset, "n_global_rows", None) or len(dataset)
        kinds = {}
        for task in getattr(est, "tasks_", []):
            kinds[task.kind] = kinds.get(task.kind, 0) + 1
        kinds = ", ".join(f"{count} {kind}" for kind, count in kinds.items())
        parts = [f"{n_rows} rows", f"{len(getattr(est, 'tasks_', []))} tasks ({kinds})"]
        module = net.module_
        if getattr(est, "module", None) is not None:
            parts.append(f"module {type(module).__name__}")
        else:
            n_features = getattr(net, "module__n_features", "?")
            layer = "sparse (reads the non-zeros of X)" if takes_sparse_batches(module) else "dense"
            parts.append(f"first layer {layer} on {n_features} features")
            hidden = getattr(net, "module__hidden_layer_sizes", ())
            dropouts = getattr(net, "module__dropout", 0.0), getattr(net, "module__input_dropout", 0.0)
            parts.append(f"hidden {tuple(hidden)}, dropout {dropouts[0]:g}, input dropout {dropouts[1]:g}")
        parts.append(f"L2 {net.l2:g} on the mean batch loss" if getattr(net, "l2", 0) else f"alpha {net.alpha:g}")
        if est is not None and hasattr(est, "input_transform_"):
            transform = est.input_transform_
            parts.append(f"input transform {'none' if transform is None else _short(transform)}")
        budget = self.n_epochs_
        parts.append(f"batch {net.batch_size}, " + ("epochs ?" if budget is None else _epochs(budget)))
        if net.train_split is not None:
            fraction = getattr(est, "validation_fraction", None)
            held = "" if fraction is None else f" of {fraction:g}"
            parts.append(f"validation split{held} (early stopping)")
        else:
            parts.append("no validation split")
        parts.append(f"device {net.device}")
        return f"{type(est).__name__ if est is not None else type(net).__name__}: " + "; ".join(parts)

    def _task_columns(self, net):
        """``(history key, column title)`` of the per-task columns (``verbose >= 2``)."""
        est = self.estimator_
        if self.verbose_ < 2 or est is None or not hasattr(est, "tasks_"):
            return []
        prefix = "valid_score" if net.train_split is not None else "train_loss"
        return [(f"{prefix}_{task.key}", str(task.key)[:12]) for task in est.tasks_[:_MAX_TASK_COLUMNS]]

    def _columns(self, net):
        validating = net.train_split is not None
        columns = [("train_loss", "train_loss")]
        if validating:
            columns += [("valid_loss", "valid_loss"), ("valid_score", "valid_score")]
        return columns + self._task_columns(net)

    def _header(self, net):
        titles = [f" {title:>11}" for _, title in self._columns(net)]
        more = ""
        est = self.estimator_
        if self._task_columns(net) and est.n_tasks_ > _MAX_TASK_COLUMNS:
            more = f"  (the first {_MAX_TASK_COLUMNS} of {est.n_tasks_} tasks; all in history_)"
        return f"{'epoch':>9}" + "".join(titles) + f"{'sec':>8}{'eta':>8}" + more

    def _row(self, net):
        epoch = net.history[-1]
        number = len(net.history)
        budget = self.n_epochs_
        done = number - self.first_epoch_
        counted = budget is not None and not self.one_more_
        label = f"{number}/{self.first_epoch_ + budget}" if counted else f"{number}"
        values = "".join(f" {_number(epoch.get(key)):>11}" for key, _ in self._columns(net))
        durations = net.history[self.first_epoch_ :, "dur"]
        eta = _seconds(float(np.mean(durations)) * max(budget - done, 0)) if counted else "-"
        return f"{label:>9}{values}{_seconds(epoch.get('dur', 0.0)):>8}{eta:>8}"

    def _summary(self, net):
        ran = len(net.history) - self.first_epoch_
        elapsed = _seconds(time.perf_counter() - self.start_)
        budget = self.n_epochs_
        of = "" if budget is None else f" of {budget}"
        why = {
            "interrupted": f"interrupted by user (Ctrl-C) after epoch {len(net.history)}",
            "callback": f"a callback asked to stop after epoch {len(net.history)}",
        }.get(self.stop_reason_)
        early = dict(net.callbacks_).get("early_stopping")
        if why is None and early is not None and net.train_split is not None and early.misses_ >= early.patience:
            why = f"early stopping: {early.monitor} did not improve for {_epochs(early.patience)}"
        if self.aborted_:
            why = "aborted by a second Ctrl-C: the fit is discarded"
        line = f"done: {_epochs(ran)}{of} in {elapsed}" + (f"; {why}" if why else "")
        if early is not None and early.load_best and net.train_split is not None and early.best_epoch_:
            line += f"; kept epoch {early.best_epoch_} (best {early.monitor} {_number(self._best(net, early))})"
        elif ran:
            line += f"; train_loss {_number(net.history[-1].get('train_loss'))}"
        return line

    @staticmethod
    def _best(net, early):
        return net.history[early.best_epoch_ - 1].get(early.monitor)


# -- around a fit ---------------------------------------------------------------------------------
def _feedback(net):
    return dict(getattr(net, "callbacks_", [])).get("fit_feedback")


def begin(est, X, y, sample_weight, n_epochs):
    """Open scikit-learn's callback context of ``est``'s fit (a task of ``n_epochs`` subtasks, one per
    epoch; with scikit-learn >= 1.9) and ready ``est.net_``'s :class:`FitFeedback` for the training."""
    metadata = None if sample_weight is None else {"sample_weight": sample_weight}
    context = open_callback_context(est, n_epochs)
    if context is not None:
        context.call_on_fit_task_begin(estimator=est, X=X, y=y, metadata=metadata)
    feedback = _feedback(est.net_)
    if feedback is not None:  # (a net pickled before FitFeedback existed has none)
        feedback.prepare(context, X, y, metadata, n_epochs)


def end(est, X, y, sample_weight, n_epochs, n_epochs_before, incremental):
    """Close the fit's callback context and say how training ended: a ConvergenceWarning when a
    constant learning rate ran all ``n_epochs`` epochs; after Ctrl-C, a warning, and a search or
    cross-validation that runs this fit is stopped too (the fitted model is kept)."""
    context = fit_callback_context(est)
    if context is not None:
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        context.call_on_fit_task_end(estimator=est, X=X, y=y, metadata=metadata, reconstruction_attributes={})
    ran = est.n_iter_ - n_epochs_before
    # stacklevel 5: the caller of fit (through _fit and scikit-learn's _fit_context)
    # the cosine schedule ends at its last epoch by design: that is not a failure to converge
    if not incremental and ran >= n_epochs and est.learning_rate_schedule == "constant":
        warnings.warn(
            f"{type(est).__name__}: maximum iterations ({n_epochs}) reached and the "
            "optimization hasn't converged yet. Raise max_iter or tol.",
            ConvergenceWarning,
            stacklevel=5,
        )
    if warn_if_interrupted(est, stacklevel=6) and fitted_by_model_selection():
        raise KeyboardInterrupt


def warn_if_interrupted(est, stacklevel):
    """Warn, as MLPClassifier does, if Ctrl-C ended the training just done; whether it did."""
    feedback = _feedback(est.net_)
    interrupted = feedback is not None and feedback.stop_reason_ == "interrupted"
    if interrupted:
        warnings.warn(INTERRUPTED, UserWarning, stacklevel=stacklevel)
    return interrupted


@contextmanager
def deferred_interrupts(net):
    """While ``net`` trains, the first Ctrl-C asks training to stop at the end of the epoch in
    progress, so that the model is that epoch's; a second stops it at once (KeyboardInterrupt, and
    the fit is discarded).

    Only where Ctrl-C arrives as Python's KeyboardInterrupt (the main thread, a Python-level SIGINT
    handler) and not in a data-parallel fit, whose ranks must stop at the same epoch; elsewhere
    nothing changes.
    """
    feedback = _feedback(net)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main else None
    if feedback is None or not callable(previous) or distributed.process_group() is not None:
        yield
        return

    def on_interrupt(signum, frame):
        if not feedback.interrupt_requested_:
            feedback.interrupt_requested_ = True
            try:
                sys.stderr.write(
                    f"\nCtrl-C: training stops at the end of epoch {len(net.history)}; press Ctrl-C again to "
                    "stop at once and discard the fit.\n"
                )
            except RuntimeError:  # the main thread was writing to stderr itself: skip the notice
                pass
            return
        try:
            previous(signum, frame)
        except KeyboardInterrupt:
            feedback.aborted_ = True
            raise

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
