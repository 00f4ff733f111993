"""How much the tasks share: ``task_sharing="auto"`` resolved from the labels, on a held-out part of them.

With many labels per task, or rows that carry several labels, the tasks keep today's independent
heads and penalty, exactly. With few labels per task and one label per row, ``fit`` first trains
the same network four ways on 80% of the training rows, scores each on the other 20% (each
task's validation metric: ROC-AUC or R^2, averaged over tasks) and refits the best on every row:

- independent heads under the default penalty (today's model);
- independent heads under a penalty raised to ``_SUM_PENALTY / median labels per task``: the loss is
  a sum of per-task means, so a fixed coefficient regularizes a task of 150 labels thirty times less,
  per label, than one of 4,500;
- the same raised further, to ``_SLOW_SUM_PENALTY / median labels per task``, and trained
  ``_SLOW_PACE`` times as many epochs at a rate ``_SLOW_PACE`` times lower (the "slower" candidate);
- heads that share a part (:class:`~sklearn_mtl.modules.SharedTrunkNet`'s ``task_sharing``, the
  deviations penalized ``_SHARING_FACTOR`` times as strongly as the other weights).

No label-count rule did well on every development set (user guide, "How much the tasks share"):
the raised penalty gained 0.013-0.019 ROC-AUC on the synthetic regime and cost SARCOS 0.027 R^2;
shared heads helped tasks of 40 labels and cost tasks that mix the shared features differently.
The held-out choice keeps each set's better model.
"""

import copy
import math
import warnings
from typing import NamedTuple

import numpy as np
from sklearn.base import clone

from ._engine import _AUTO_L2
from ._fit_labels import labels_at_door
from ._sklearn_compat import _safe_indexing
from ._tasks import encode_labels, validation_scores

# median labels per task from which the tasks keep independent heads and the default penalty, with
# no held-out choice: the regime of few labels is tens to a few hundred per task, and the median
# task of every fingerprint set of the panel has 800 or more in any training part (physchem3's ESOL)
_CHOICE_MAX_LABELS = 500
# ... and labels per row (mean) above which they keep them too: rows labelled for most tasks
# already tie the tasks together through the shared layers
_CHOICE_MAX_LABELS_PER_ROW = 1.5
# a task needs this many labels for the choice to be made (each part of the split needs some), and
# all tasks together this many: a held-out fifth of fewer than 100 labels scores the settings by
# chance (with 400 labels over 10 tasks the choice missed the better setting on one seed of three)
_CHOICE_MIN_LABELS = 10
_CHOICE_MIN_TOTAL_LABELS = 500
_HOLDOUT_FRACTION = 0.2
# the raised penalty's coefficient on the sum over a task's labels (the default, 3e-3 on the mean,
# is 13.5 on the sum for a task of 4,500 labels). At 150 labels per task the synthetic classification
# regime did best with 0.09 on the mean (= 13.5 / 150) among 0.02, 0.03, 0.045, 0.09 and 0.2; its
# regression form wanted 0.3, SARCOS the default
_SUM_PENALTY = 13.5
# the slower candidate: twice the epochs at half the rate, with the penalty's sum coefficient 18 (0.12
# on the mean at 150 labels per task: better than 0.09 at this pace, and best among 0.06, 0.09, 0.12,
# 0.15 and 0.2 at twice the epochs and a quarter of the rate, which did no better). On the synthetic
# regime's validation draws (0-2, 2 random states) it scored 0.8616 ROC-AUC against the raised
# penalty's 0.8585, better on each of the six, and 0.8349 against 0.8332 with 30 alike tasks of 40
# labels; with 10 tasks of 150 labels on 20 inputs it lost 0.0015, hence a fourth candidate rather than
# a replacement. Twice the epochs at the default rate (0.8576), half the rate at the default epochs
# (0.8563), averaging three seeds (0.8588) or the candidates (0.8512) did not help
_SLOW_SUM_PENALTY = 18.0
_SLOW_PACE = 2
# shared heads' deviation penalty factor (1, 3, 10, 30 and 100 tried: 10 best with 40 labels per task)
_SHARING_FACTOR = 10.0


class Setting(NamedTuple):
    """A setting the held-out choice compares: the heads' sharing, the L2 coefficient on the mean
    batch loss, and the pace: the fit trains ``pace`` times the epochs at 1 / ``pace`` times the rate."""

    task_sharing: float
    l2: float
    pace: int = 1


def resolve(est, X, y, sample_weight, task_labels, group, incremental):
    """``(task_sharing, l2, pace, scores)``: the heads' sharing, the L2 coefficient and the pace (see
    :class:`Setting`) ``fit`` builds and trains the network with, and the held-out scores of the
    settings compared (None when none were)."""
    if needs_choice(est, task_labels, X.shape[0], group) and not incremental:
        settings = candidates(task_labels, _AUTO_L2)
        # drawn from a copy of the fit's generator: the final fit's own draws stay those of a fit
        # without the choice, so that choosing "independent" gives exactly the model of task_sharing=0
        seed = int(copy.deepcopy(est._rng).randint(np.iinfo(np.int32).max))
        best, scores = choose(est, X, y, sample_weight, settings, seed=seed)
        return (*settings[best], scores)
    task_sharing = 0.0 if est.task_sharing == "auto" else float(est.task_sharing)
    if task_sharing and (est.module is not None or est.ensemble_size > 1):
        raise ValueError(
            f"task_sharing={est.task_sharing} shapes the heads of the default single network (module=None, "
            "ensemble_size=1); leave task_sharing='auto' or 0 with a custom module or an ensemble."
        )
    # a held-out choice's candidate is fitted with the penalty and pace it tries
    candidate = est.__dict__.get("_candidate", Setting(task_sharing, _AUTO_L2))
    return task_sharing, candidate.l2, candidate.pace, None


def needs_choice(est, task_labels, n_rows, group):
    """Whether ``fit`` chooses the sharing on held-out labels (``task_sharing="auto"`` in the regime
    of few labels per task and one label per row, with the default network and penalty)."""
    if est.task_sharing != "auto" or est.module is not None or est.ensemble_size != 1 or group is not None:
        return False
    if est.alpha != "auto" or len(task_labels) < 2:
        return False
    counts = np.array([len(values) for values, _ in task_labels])
    return (
        np.median(counts) < _CHOICE_MAX_LABELS
        and counts.sum() <= _CHOICE_MAX_LABELS_PER_ROW * n_rows
        and counts.min() >= _CHOICE_MIN_LABELS
        and counts.sum() >= _CHOICE_MIN_TOTAL_LABELS
    )


def candidates(task_labels, base_l2):
    """``{name: Setting}``: the settings the held-out choice compares."""
    median = float(np.median([len(values) for values, _ in task_labels]))
    return {
        "independent": Setting(0.0, base_l2),
        "independent, raised penalty": Setting(0.0, max(base_l2, _SUM_PENALTY / median)),
        "independent, raised penalty, slower": Setting(0.0, max(base_l2, _SLOW_SUM_PENALTY / median), _SLOW_PACE),
        "shared heads": Setting(_SHARING_FACTOR, base_l2),
    }


def choose(est, X, y, sample_weight, settings, seed):
    """The name of the best of ``settings`` on a held-out part of the rows, and every setting's score.

    Each is fitted, as ``est`` with ``task_sharing``, the penalty and the pace set, on the other rows
    (seeded alike); the score is the mean over tasks of each task's validation metric on the held-out labels.
    """
    n_rows = X.shape[0]
    rng = np.random.RandomState(seed)
    held_out = np.zeros(n_rows, dtype=bool)
    held_out[rng.permutation(n_rows)[: max(1, round(_HOLDOUT_FRACTION * n_rows))]] = True
    train_rows, held_rows = np.flatnonzero(~held_out), np.flatnonzero(held_out)
    X_train, X_held = _safe_indexing(X, train_rows), _safe_indexing(X, held_rows)
    y_train, y_held = _safe_indexing(y, train_rows), _safe_indexing(y, held_rows)
    weight_train = None if sample_weight is None else _safe_indexing(sample_weight, train_rows)
    weight_held = None if sample_weight is None else _safe_indexing(sample_weight, held_rows)
    scores = {}
    for name, setting in settings.items():
        candidate = clone(est).set_params(
            task_sharing=setting.task_sharing, random_state=seed, verbose=0, warm_start=False
        )
        candidate._candidate = setting
        with warnings.catch_warnings():
            # the fit on every row that follows warns of what matters (one class, no convergence)
            # once, at the user's call; the candidates would repeat it four times, pointing here
            warnings.simplefilter("ignore")
            candidate.fit(X_train, y_train, sample_weight=weight_train)
        scores[name] = _held_out_score(candidate, X_held, y_held, weight_held)
    finite = {name: score for name, score in scores.items() if math.isfinite(score)}
    best = max(finite, key=finite.get) if finite else "independent"
    return best, scores


def _held_out_score(candidate, X, y, sample_weight):
    """The mean over tasks of each task's validation metric (ROC-AUC or R^2) on the labels of (X, y);
    NaN when no task's is defined (a class the candidate never saw counts as undefined)."""
    labels, *_ = labels_at_door(X, y, sample_weight, candidate.missing_label)
    try:
        encoded = encode_labels(candidate.tasks_, labels.values, labels.by_task())
    except ValueError:
        return math.nan
    outputs = candidate._forward(X).numpy()
    weights = labels.weights
    scores = validation_scores(candidate.tasks_, outputs, labels.rows, labels.tasks, encoded, weights)
    return float(np.nanmean(scores)) if np.isfinite(scores).any() else math.nan
