"""Narrow tabular inputs: the package's defaults against changed parameters and gradient boosting.

The panel (``real_data_panel.py``) has one narrow tabular set, enb2012 (8 columns, a noiseless
simulation). A rule for narrow inputs chosen there alone would follow one data set, so this script
runs the real narrow sets that ship with scikit-learn (nothing is downloaded): diabetes
(regression, 10 columns), breast cancer (binary, 30), wine (3 classes, 13) and digits (10 classes,
64), each one task. As the panel, each set is split 90/10 by ``RandomState(seed).permutation``; the
models are scored on the inner 80/20 validation split of the training part (the test parts are
not looked at: rules are chosen here). Every network gets a ``StandardScaler`` in front::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_narrow_inputs.py --seeds 0 1 2 \\
        --config 'alpha0={"alpha": 0.0}'

It prints the mean validation R^2 (regression), ROC-AUC (binary) or accuracy (multiclass) over the
splits of per-task ``HistGradientBoosting*``, the defaults and each ``--config``.
"""

import argparse
import json
import warnings

import numpy as np
import torch
from bench_real_data import inner_split
from real_data_panel import train_test_indices
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskRegressor

SETS = {
    "diabetes": (load_diabetes, "regression"),
    "breast_cancer": (load_breast_cancer, "binary"),
    "wine": (load_wine, "multiclass"),
    "digits": (load_digits, "multiclass"),
}
METRICS = {"regression": "R^2", "binary": "ROC-AUC", "multiclass": "accuracy"}


def validation_score(model, kind, X, y, fit_rows, valid_rows):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X[fit_rows], y[fit_rows])
    if kind == "regression":
        return r2_score(y[valid_rows], np.ravel(model.predict(X[valid_rows])))
    if kind == "binary":
        proba = model.predict_proba(X[valid_rows])
        proba = proba[0] if isinstance(proba, list) else proba
        return roc_auc_score(y[valid_rows], proba[:, 1])
    return accuracy_score(y[valid_rows], np.ravel(model.predict(X[valid_rows])))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--config", action="append", default=[], help="name=JSON of estimator parameters")
    parser.add_argument("--quick", action="store_true", help="3 epochs: a smoke test, not a measurement")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    configs = {"defaults": {}}
    for config in args.config:
        label, _, params = config.partition("=")
        configs[label] = json.loads(params)
    results = {}
    print(f"{'set':<14} {'metric':<9} " + " ".join(f"{name:>12}" for name in ["boosting", *configs]))
    for name in args.data:
        load, kind = SETS[name]
        X, y = load(return_X_y=True)
        X = X.astype(np.float32)
        boosting = HistGradientBoostingRegressor if kind == "regression" else HistGradientBoostingClassifier
        estimator = MaskedMultiTaskRegressor if kind == "regression" else MaskedMultiTaskClassifier
        scores = {}
        for seed in args.seeds:
            train, _ = train_test_indices(len(X), seed=seed)
            fit_rows, valid_rows = inner_split(len(train))
            fit_rows, valid_rows = train[fit_rows], train[valid_rows]
            models = {"boosting": boosting(max_iter=10 if args.quick else 100, random_state=0)}
            for label, params in configs.items():
                params = {**params, "max_iter": 3} if args.quick else params
                models[label] = make_pipeline(StandardScaler(), estimator(random_state=0, **params))
            for label, model in models.items():
                scores.setdefault(label, []).append(validation_score(model, kind, X, y, fit_rows, valid_rows))
        results[name] = {label: float(np.mean(values)) for label, values in scores.items()}
        print(f"{name:<14} {METRICS[kind]:<9} " + " ".join(f"{value:>12.4f}" for value in results[name].values()))
    return results


if __name__ == "__main__":
    main()
