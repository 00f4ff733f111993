"""Fit feedback (``_fit_feedback.py``): the verbose log, scikit-learn's callbacks (``set_callbacks``)
and Ctrl-C during fit."""

import io
import pickle
import signal
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskEstimator, MaskedMultiTaskRegressor
from sklearn_mtl import _fit_feedback as fit_feedback
from sklearn_mtl._sklearn_compat import HAS_CALLBACK_API
from sklearn_mtl.metrics import make_masked_scorer

SMALL = dict(hidden_layer_sizes=(8,), max_iter=6, learning_rate_init=0.01, random_state=0)
ESTIMATORS = [MaskedMultiTaskClassifier, MaskedMultiTaskRegressor, MaskedMultiTaskEstimator]
needs_callback_api = pytest.mark.skipif(not HAS_CALLBACK_API, reason="scikit-learn < 1.9 has no sklearn.callback")


# tiny networks and few epochs: max_iter is reached on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5))
    y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 2] + X[:, 3] > 0]).astype(float)
    y[rng.rand(*y.shape) < 0.3] = np.nan
    return X, y


def targets_for(Estimator, X, y):
    """y as ``Estimator`` takes it: regression targets for the regressor, a mixed y for the estimator."""
    if Estimator is MaskedMultiTaskRegressor:
        return np.where(np.isnan(y), np.nan, X[:, :3] + y)
    if Estimator is MaskedMultiTaskEstimator:
        return np.column_stack([y[:, :2], np.where(np.isnan(y[:, 2]), np.nan, X[:, 2])])
    return y


# -- verbose ------------------------------------------------------------------------------------------
def test_verbose_one_prints_the_resolved_settings_one_line_per_epoch_and_a_summary(data, capsys):
    X, y = data
    clf = MaskedMultiTaskClassifier(**SMALL, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    first = lines[0]
    assert first.startswith("MaskedMultiTaskClassifier: 200 rows; 3 tasks (3 classification)")
    assert "first layer dense on 5 features" in first and "6 epochs" in first
    assert "no validation split" in first and "device cpu" in first
    transform = "none" if clf.input_transform_ is None else repr(clf.input_transform_)
    assert f"; input transform {transform};" in first
    assert lines[1].split() == ["epoch", "train_loss", "sec", "eta"]
    epochs = lines[2:-1]
    assert [line.split()[0] for line in epochs] == [f"{k}/6" for k in range(1, 7)]
    assert [float(line.split()[1]) for line in epochs] == pytest.approx(clf.loss_curve_, rel=1e-3)
    assert epochs[-1].split()[-1] == "0.00s"  # nothing left at the last epoch
    assert lines[-1].startswith("done: 6 epochs of 6 in ")
    assert "\x1b" not in "".join(lines)  # no terminal escape codes in a captured (non-terminal) stream


def test_verbose_with_a_validation_split_reports_scores_and_early_stopping(data, capsys):
    X, y = data
    params = dict(SMALL, max_iter=40, early_stopping=True, n_iter_no_change=2, learning_rate_schedule="constant")
    clf = MaskedMultiTaskClassifier(**params, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert "validation split of 0.1 (early stopping)" in lines[0]
    assert lines[1].split() == ["epoch", "train_loss", "valid_loss", "valid_score", "sec", "eta"]
    assert len(lines) == 2 + clf.n_iter_ + 1
    last = lines[-2].split()
    assert float(last[3]) == pytest.approx(clf.history_[-1, "valid_score"], rel=1e-3)
    assert clf.n_iter_ < 40
    assert "early stopping: valid_score did not improve for 2 epochs" in lines[-1]
    assert f"kept epoch {dict(clf.net_.callbacks_)['early_stopping'].best_epoch_}" in lines[-1]


def test_verbose_two_adds_at_most_ten_task_columns(capsys):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 4))
    y = (X @ rng.normal(size=(4, 12)) > 0).astype(float)
    MaskedMultiTaskClassifier(**dict(SMALL, max_iter=2), verbose=2).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    header = lines[1].split("(")[0].split()
    assert header == ["epoch", "train_loss", *[f"task_{t}" for t in range(10)], "sec", "eta"]
    assert "(the first 10 of 12 tasks; all in history_)" in lines[1]
    assert len(lines[2].split()) == len(header)
    MaskedMultiTaskClassifier(**dict(SMALL, max_iter=2), early_stopping=True, verbose=2).fit(X[:, :4], y[:, :3])
    header = capsys.readouterr().out.splitlines()[1].split()
    assert header[-5:] == ["task_0", "task_1", "task_2", "sec", "eta"]  # validation scores per task
    MaskedMultiTaskClassifier(**dict(SMALL, max_iter=2)).fit(X, y)
    assert capsys.readouterr().out == ""


def test_verbose_partial_fit_prints_one_line_per_call_after_the_first(data, capsys):
    X, y = data
    clf = MaskedMultiTaskClassifier(**SMALL, verbose=1)
    for _ in range(3):
        clf.partial_fit(X, y, classes=[[0.0, 1.0]] * 3)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("MaskedMultiTaskClassifier: 200 rows") and "1 epoch;" in lines[0]
    assert [line.split()[0] for line in lines[2:]] == ["1/1", "done:", "2", "3"]


def test_verbose_names_a_sparse_first_layer(data, capsys):
    X, y = data
    MaskedMultiTaskClassifier(**dict(SMALL, max_iter=1), verbose=1).fit(sp.csr_matrix(X), y)
    assert "first layer sparse (reads the non-zeros of X) on 5 features" in capsys.readouterr().out


def test_a_reader_that_goes_away_stops_the_lines_not_the_fit(data, monkeypatch):
    # ``python fit.py | head -3``: printing then raises BrokenPipeError, which failed the fit
    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    X, y = data
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    clf = MaskedMultiTaskClassifier(hidden_layer_sizes=(8,), max_iter=3, verbose=1, random_state=0).fit(X, y)
    assert clf.n_iter_ == 3


def test_only_rank_zero_of_a_process_group_prints(monkeypatch):
    assert fit_feedback._rank_zero()
    monkeypatch.setattr(fit_feedback.distributed, "process_group", lambda: (1, 2))
    assert not fit_feedback._rank_zero()
    monkeypatch.setattr(fit_feedback.distributed, "process_group", lambda: (0, 2))
    assert fit_feedback._rank_zero()


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.421, "0.42s"), (12.4, "12s"), (185, "3m05s"), (3725, "1h02m")]
)
def test_durations_read_as_people_write_them(seconds, text):
    assert fit_feedback._seconds(seconds) == text


# -- scikit-learn's callbacks -------------------------------------------------------------------------
class Recorder:
    """A scikit-learn fit callback that records its hooks' contexts, and asks to stop at an epoch."""

    def __init__(self, stop_at=None):
        self.stop_at = stop_at
        self.begun, self.ended, self.predictions = [], [], []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None, metadata=None, fitted_estimator=None):
        self.begun.append(context)

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, metadata=None, fitted_estimator=None):
        self.ended.append(context)
        if context.task_name == "epoch":
            self.predictions.append(fitted_estimator.predict(X[:5]))
            return self.stop_at is not None and context.task_id + 1 == self.stop_at
        return False


@needs_callback_api
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_set_callbacks_sees_one_subtask_per_epoch(Estimator, data):
    X, y = data
    recorder = Recorder()
    est = Estimator(**SMALL).set_callbacks(recorder)
    est.fit(X, targets_for(Estimator, X, y))
    root, *epochs = recorder.begun
    assert (root.task_name, root.max_subtasks) == ("fit", 6)
    assert [(c.task_name, c.task_id, c.parent) for c in epochs] == [("epoch", k, root) for k in range(6)]
    assert recorder.ended == [*epochs, root]
    # each epoch's fitted_estimator predicts with that epoch's network
    assert len(recorder.predictions) == 6 and recorder.predictions[0].shape == est.predict(X[:5]).shape
    np.testing.assert_array_equal(recorder.predictions[-1], est.predict(X[:5]))
    assert "context_" not in vars(dict(est.net_.callbacks_)["fit_feedback"])
    pickle.dumps(est.net_)  # nothing of the callback contexts stays with the fitted net


@needs_callback_api
def test_a_callback_that_asks_to_stop_stops_the_fit(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = MaskedMultiTaskClassifier(**SMALL).set_callbacks(Recorder(stop_at=3)).fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3
    assert clf.history_[-1]["stopped_by_callback"] is True
    assert "interrupted" not in clf.history_[-1]


@needs_callback_api
def test_progress_bar_shows_the_epochs_alone_and_under_a_search_and_cross_validation(data, capsys, monkeypatch):
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar

    monkeypatch.setenv("COLUMNS", "200")  # rich's width off a terminal: room for the nested bars' names

    X, y = data
    MaskedMultiTaskClassifier(**SMALL).set_callbacks(ProgressBar()).fit(X, y)
    out = capsys.readouterr().out
    assert "MaskedMultiTaskClassifier - fit" in out and "100%" in out

    search = GridSearchCV(
        MaskedMultiTaskRegressor(**dict(SMALL, max_iter=2)),
        {"alpha": [1e-4, 1e-3]},
        cv=KFold(2),
    )
    search.set_callbacks(ProgressBar(max_propagation_depth=None)).fit(X, targets_for(MaskedMultiTaskRegressor, X, y))
    out = capsys.readouterr().out
    assert "GridSearchCV - fit" in out
    assert "candidate-split-evaluation | MaskedMultiTaskRegressor - fit" in out
    assert "refit-with-best-params | MaskedMultiTaskRegressor - fit" in out

    est = MaskedMultiTaskEstimator(**dict(SMALL, max_iter=2)).set_callbacks(ProgressBar())
    cross_validate(est, X, targets_for(MaskedMultiTaskEstimator, X, y), cv=KFold(2))
    assert capsys.readouterr().out.count("MaskedMultiTaskEstimator - fit") >= 2


def test_without_sklearn_callback_api_there_is_no_set_callbacks_and_fit_works():
    # scikit-learn < 1.9, simulated: its callback module lacks the names the package imports
    script = """
import sklearn.callback, sklearn.linear_model, sklearn.model_selection, sklearn.pipeline, sklearn.preprocessing
del sklearn.callback.CallbackSupportMixin  # (after scikit-learn's own modules have imported it)
import numpy as np
from sklearn_mtl import MaskedMultiTaskClassifier
from sklearn_mtl._sklearn_compat import HAS_CALLBACK_API
assert not HAS_CALLBACK_API
clf = MaskedMultiTaskClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0, verbose=1)
assert not hasattr(clf, "set_callbacks")
X = np.random.RandomState(0).normal(size=(40, 3))
print(clf.fit(X, (X[:, 0] > 0).astype(float)).n_iter_)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "2" and "done: 2 epochs" in done.stdout


# -- Ctrl-C --------------------------------------------------------------------------------------------
class CtrlC(Callback):
    """Press Ctrl-C (send this process SIGINT) ``times`` times at the end of epoch ``epoch``, or
    after the first batch of that epoch (``mid_epoch``)."""

    def __init__(self, epoch=3, times=1, mid_epoch=False):
        self.epoch, self.times, self.mid_epoch = epoch, times, mid_epoch

    def on_train_begin(self, net, **kwargs):
        self.pressed_ = 0

    def _press(self, net):
        if len(net.history) == self.epoch and not self.pressed_:
            for _ in range(self.times):
                self.pressed_ += 1
                signal.raise_signal(signal.SIGINT)

    def on_batch_end(self, net, training=False, **kwargs):
        if self.mid_epoch and training:
            self._press(net)

    def on_epoch_end(self, net, **kwargs):
        if not self.mid_epoch:
            self._press(net)


class SkorchStop(Callback):
    """skorch's own way for a callback to end training: raise KeyboardInterrupt (as EarlyStopping)."""

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 3:
            raise KeyboardInterrupt


def test_ctrl_c_warns_and_keeps_the_model_at_the_last_finished_epoch(data, capsys):
    X, y = data
    handler = signal.getsignal(signal.SIGINT)
    clf = MaskedMultiTaskClassifier(**dict(SMALL, max_iter=8), callbacks=[CtrlC(epoch=3)], verbose=1)
    with pytest.warns(UserWarning, match="Training interrupted by user") as caught:
        clf.fit(X, y)
    assert caught[0].filename == __file__  # the warning points at the line that called fit
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3
    assert clf.history_[-1]["interrupted"] is True
    assert not any("interrupted" in epoch for epoch in clf.history_[:-1])
    assert clf.predict(X).shape == y.shape
    assert "interrupted by user (Ctrl-C) after epoch 3" in capsys.readouterr().out.splitlines()[-1]
    assert signal.getsignal(signal.SIGINT) is handler


def test_ctrl_c_within_an_epoch_lets_that_epoch_finish(data, capsys):
    X, y = data
    clf = MaskedMultiTaskClassifier(**dict(SMALL, max_iter=8), callbacks=[CtrlC(epoch=2, mid_epoch=True)])
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        clf.fit(X, y)
    assert clf.n_iter_ == 2
    assert all("train_loss" in epoch for epoch in clf.history_)  # no unfinished epoch in the history
    assert "training stops at the end of epoch 2" in capsys.readouterr().err


def test_a_second_ctrl_c_stops_at_once_and_discards_the_fit(data):
    X, y = data
    handler = signal.getsignal(signal.SIGINT)
    clf = MaskedMultiTaskClassifier(**dict(SMALL, max_iter=8), callbacks=[CtrlC(epoch=2, times=2, mid_epoch=True)])
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert not hasattr(clf, "net_") and not hasattr(clf, "n_iter_")
    assert signal.getsignal(signal.SIGINT) is handler


def test_a_callback_raising_keyboard_interrupt_stops_as_in_skorch_without_a_warning(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = MaskedMultiTaskClassifier(**dict(SMALL, max_iter=8), callbacks=[SkorchStop()]).fit(X, y)
    assert clf.n_iter_ == 3 and "interrupted" not in clf.history_[-1]


def test_ctrl_c_stops_a_search_and_a_cross_validation_but_not_a_pipeline(data):
    X, y = data
    clf = MaskedMultiTaskClassifier(**dict(SMALL, max_iter=4), callbacks=[CtrlC(epoch=2)])
    search = GridSearchCV(clf, {"alpha": [1e-4, 1e-3]}, cv=KFold(2), scoring=make_masked_scorer("accuracy"))
    with pytest.warns(UserWarning, match="Training interrupted by user"), pytest.raises(KeyboardInterrupt):
        search.fit(X, y)
    assert not hasattr(search, "cv_results_")
    with pytest.warns(UserWarning, match="Training interrupted by user"), pytest.raises(KeyboardInterrupt):
        cross_validate(clf, X, y, cv=KFold(2), scoring=make_masked_scorer("accuracy"))
    pipeline = make_pipeline(StandardScaler(), clf)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        pipeline.fit(X, y)
    assert pipeline[-1].n_iter_ == 2


def test_ctrl_c_during_add_tasks_warns_too(data):
    X, y = data
    clf = MaskedMultiTaskClassifier(**dict(SMALL, max_iter=3), callbacks=[CtrlC(epoch=5)]).fit(X, y[:, :2])
    with pytest.warns(UserWarning, match="Training interrupted by user") as caught:
        clf.add_tasks(X, y[:, 2:])
    assert caught[0].filename == __file__
    assert clf.n_iter_ == 5 and clf.history_[-1]["interrupted"] is True and clf.n_tasks_ == 3


def test_ctrl_c_in_the_epoch_that_early_stopping_ends_is_reported(data, capsys):
    X, y = data
    # tol=10: no epoch improves on the first, so early stopping ends epoch 2, before FitFeedback's turn
    params = dict(SMALL, early_stopping=True, learning_rate_schedule="constant", n_iter_no_change=1, tol=10.0)
    clf = MaskedMultiTaskClassifier(**params, callbacks=[CtrlC(epoch=2, mid_epoch=True)], verbose=1)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        clf.fit(X, y)
    assert clf.n_iter_ == 2 and clf.history_[-1]["interrupted"] is True
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].split()[0] == "2/6"  # the epoch that early stopping ended is logged too
    assert "interrupted by user (Ctrl-C) after epoch 2" in lines[-1]
