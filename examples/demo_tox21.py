"""The job the package exists for, on real data: Tox21's 12 toxicity assays, 17% of labels missing.

``make demo`` runs this script (about 40 s on a 2-core machine). It trains on 90% of the molecules
(the benchmark panel's split: ``np.random.RandomState(0).permutation``, the last 10% held out) and
scores every model by the mean over tasks of the test ROC-AUC on each task's observed labels:

- ``MaskedMultiTaskClassifier`` with its defaults: one network, every row, observed labels only;
- the same network trained with the missing labels filled with 0 ("not toxic"), the usual
  work-around of a multi-label network that cannot skip a label;
- the same network trained on the complete rows only (every assay observed);
- one model per task on its labelled rows: ``LogisticRegression(C=0.1)`` (the strength the data's
  README quotes, fixed before any test score was seen). ``benchmarks/bench_real_data.py`` adds
  per-task forests and gradient boosting, tuned linear models and three splits (they take minutes).

Nothing is chosen on the held-out part: it is scored once per model. The last line is a summary.
The three networks are fitted in two worker processes (one thread each), so that the two cores of
a small machine run the demo in about 40 s. ``--quick`` runs a small subset with a
few epochs (a smoke test, not a measurement).
"""

import argparse
import time
import warnings

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from sklearn_mtl import MaskedMultiTaskClassifier
from sklearn_mtl.datasets import load_tox21


def mean_test_auc(Y_test, probabilities):
    """Mean over tasks of the ROC-AUC on each task's observed test labels."""
    scores = []
    for task, positive in enumerate(probabilities):
        observed = ~np.isnan(Y_test[:, task])
        if len(np.unique(Y_test[observed, task])) == 2:
            scores.append(roc_auc_score(Y_test[observed, task], positive[observed]))
    return float(np.mean(scores))


def fit_network(params, X, Y, X_test):
    """The default network fitted on (X, Y): its positive-class probabilities on X_test, and fit seconds."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # quick mode: tasks with one class in a subset
        model = MaskedMultiTaskClassifier(**params).fit(X, Y)
    seconds = time.perf_counter() - start
    return [proba[:, 1] for proba in model.predict_proba(X_test)], seconds


def per_task_probabilities(make_model, X_train, Y_train, X_test):
    columns = []
    for task in range(Y_train.shape[1]):
        observed = ~np.isnan(Y_train[:, task])
        model = make_model().fit(X_train[observed], Y_train[observed, task])
        columns.append(model.predict_proba(X_test)[:, 1])
    return columns


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small subset and 3 epochs: a smoke test")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # see the README: one thread is fastest for networks of this size
    X, Y = load_tox21(return_X_y=True)
    X = X.astype(np.float32)
    order = np.random.RandomState(0).permutation(len(X))
    if args.quick:
        order = order[:2500]
    n_test = int(round(0.1 * len(order)))
    train, test = order[: len(order) - n_test], order[len(order) - n_test :]
    X_train, Y_train, X_test, Y_test = X[train], Y[train], X[test], Y[test]
    complete = ~np.isnan(Y_train).any(axis=1)
    print(
        f"Tox21: {len(train)} molecules to train on ({complete.sum()} with all {Y.shape[1]} labels), "
        f"{len(test)} held out; {np.isnan(Y_train).mean():.0%} of training labels missing\n"
    )
    network = dict(random_state=0, max_iter=3) if args.quick else dict(random_state=0)
    fits = {
        "sklearn_mtl (masked loss)": (X_train, Y_train),
        "same network, missing = 0": (X_train, np.nan_to_num(Y_train, nan=0.0)),
        "same network, complete rows": (X_train[complete], Y_train[complete]),
    }
    # the three networks in two worker processes (one torch thread each, see the README): the
    # machine's two cores fit them in about two fits' time
    outcomes = Parallel(n_jobs=2)(delayed(fit_network)(network, X, Y, X_test) for X, Y in fits.values())
    results = dict(zip(fits, outcomes, strict=True))
    start = time.perf_counter()
    linear = per_task_probabilities(lambda: LogisticRegression(C=0.1, max_iter=2000), X_train, Y_train, X_test)
    results["per-task logistic regression"] = (linear, time.perf_counter() - start)
    print(f"{'model':<32} {'test ROC-AUC':>12} {'fit s':>7}")
    scores = {}
    for name, (probabilities, seconds) in results.items():
        scores[name] = mean_test_auc(Y_test, probabilities)
        print(f"{name:<32} {scores[name]:>12.4f} {seconds:>7.1f}")
    ours = scores.pop("sklearn_mtl (masked loss)")
    best = max(scores, key=scores.get)
    print(
        f"\nsummary: sklearn_mtl {ours:.4f}, best other {scores[best]:.4f} ({best}) "
        f"(mean ROC-AUC over 12 tasks on Tox21, 90/10 split seed 0, held-out 10%)"
    )
    return ours, scores


if __name__ == "__main__":
    main()
