"""From SMILES: the package's pipeline beside chemprop's defaults, on the same splits, one thread each.

The package's side is ``make_pipeline(MolecularFeatures(...), MaskedMultiTask*(random_state=seed))``
fitted on the SMILES of the training part: its fit time includes the featurization. Sets: Tox21
(classification, ROC-AUC; the eight aluminium salts RDKit cannot sanitize are dropped first, for
both sides) and physchem3 (regression, R^2; ``benchmarks/data/physchem3_morgan2048.npz`` holds its
SMILES). Splits: ``RandomState(seed).permutation`` of the rows, the last 10% the test part (as
``real_data_panel.train_test_indices``); ``--split valid`` scores on the inner 80/20 validation
split of the training part instead (``bench_real_data.inner_split``): choose features there.

``--features`` names the package's variants: ``ecfp`` (2048 Morgan bits), ``descriptors`` (RDKit's
2D descriptors), ``both`` (the default of ``MolecularFeatures``). With ``--split valid`` the features of
all molecules are computed once per set and sliced (the fit time is then the estimator's only,
and the featurization time is printed per set); with ``--split test`` every fit runs the whole
pipeline.

``--chemprop PATH`` (the ``chemprop`` command of its own virtual environment: ``pip install
torch==2.13.0``, then ``pip install chemprop==2.3.1``) also runs ``chemprop train`` with its defaults
on each training part (its own 90/10 validation split of it, 50 epochs) and ``chemprop predict`` on
the test part, with ``OMP_NUM_THREADS=1``. Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_chemprop.py --seeds 0 1 2
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_chemprop.py --split valid --features ecfp descriptors both

``--quick`` subsamples 400 training rows and runs 3 epochs (a smoke test, not a measurement).
Each fit prints its wall seconds and its CPU seconds (the package's process, or chemprop's train
command as a child process): on a machine shared with other jobs the wall seconds are rough, the
CPU seconds of one-thread fits are the steadier comparison.
"""

import argparse
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from bench_real_data import inner_split, scorable, task_score
from real_data_panel import DATA, train_test_indices
from sklearn.pipeline import make_pipeline

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskRegressor
from sklearn_mtl.chem import MolecularFeatures

FEATURES = {
    "ecfp": {"descriptors": False},
    "descriptors": {"fp_size": None},
    "both": {},
}


def load_set(name):
    """``(smiles, Y, kind, task_names)``, molecules RDKit cannot read left out."""
    from rdkit import Chem
    from rdkit.rdBase import BlockLogs

    if name == "tox21":
        from sklearn_mtl.datasets import load_tox21

        data = load_tox21()
        smiles, Y, kind, tasks = data.smiles, data.target, "classification", list(data.target_names)
    else:
        with np.load(DATA / f"{name}_morgan2048.npz", allow_pickle=True) as archive:
            smiles, Y, tasks = archive["smiles"], archive["Y"].astype(np.float64), [str(t) for t in archive["tasks"]]
        kind = "regression"
    with BlockLogs():
        readable = np.array([Chem.MolFromSmiles(text) is not None for text in smiles])
    return np.asarray(smiles, dtype=object)[readable], Y[readable], kind, tasks


def split_rows(n_samples, split, seed):
    train, test = train_test_indices(n_samples, seed=seed)
    if split == "valid":
        fit_rows, valid_rows = inner_split(len(train))
        train, test = train[fit_rows], train[valid_rows]
    return train, test


def mean_score(kind, Y, outputs):
    scores = []
    for task in range(Y.shape[1]):
        observed = ~np.isnan(Y[:, task])
        if scorable(kind, Y[observed, task]):
            scores.append(task_score(kind, Y[observed, task], outputs[observed, task]))
    return float(np.mean(scores))


def model_outputs(model, kind, X):
    if kind == "classification":
        return np.column_stack([proba[:, 1] for proba in model.predict_proba(X)])
    return model.predict(X)


def estimator(kind, seed, quick):
    params = {"random_state": seed, **({"max_iter": 3} if quick else {})}
    return MaskedMultiTaskClassifier(**params) if kind == "classification" else MaskedMultiTaskRegressor(**params)


def run_package(kind, variant, smiles, Y, train, test, seed, quick, cached=None):
    """Score, fit seconds and fit CPU seconds of the pipeline; with ``cached`` (features of all rows), the
    estimator alone."""
    if cached is None:
        model, X = make_pipeline(MolecularFeatures(**FEATURES[variant]), estimator(kind, seed, quick)), smiles
    else:
        model, X = estimator(kind, seed, quick), cached
    start, start_cpu = time.perf_counter(), time.process_time()
    model.fit(X[train], Y[train])
    fit_s, cpu_s = time.perf_counter() - start, time.process_time() - start_cpu
    return mean_score(kind, Y[test], model_outputs(model, kind, X[test])), fit_s, cpu_s


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def write_csv(path, smiles, Y, tasks):
    import pandas as pd

    table = pd.DataFrame(Y, columns=tasks)
    table.insert(0, "smiles", smiles)
    table.to_csv(path, index=False)


def run_chemprop(command, kind, smiles, Y, tasks, train, test, seed):
    """Score, fit seconds and fit CPU seconds of ``chemprop train`` with its defaults, predicting the test part."""
    import pandas as pd

    environment = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        write_csv(folder / "train.csv", smiles[train], Y[train], tasks)
        write_csv(folder / "test.csv", smiles[test], np.full((len(test), len(tasks)), np.nan), tasks)
        train_command = [command, "train", "-i", folder / "train.csv", "-s", "smiles", "--task-type", kind,
                         "--split-sizes", "0.9", "0.1", "0.0", "--data-seed", str(seed), "--pytorch-seed", str(seed),
                         "--num-workers", "0", "-o", folder / "model"]  # fmt: skip
        start, start_cpu = time.perf_counter(), children_cpu_seconds()
        subprocess.run([str(part) for part in train_command], check=True, env=environment, capture_output=True)
        fit_s, cpu_s = time.perf_counter() - start, children_cpu_seconds() - start_cpu
        # best.pt after training; a checkpoint of the best epoch where a version writes none
        saved = sorted((folder / "model").rglob("best.pt")) + sorted((folder / "model").rglob("best*.ckpt"))
        model_file = saved[0]
        predict_command = [command, "predict", "-i", folder / "test.csv", "-s", "smiles", "--model-paths", model_file,
                           "-o", folder / "predictions.csv", "--num-workers", "0"]  # fmt: skip
        subprocess.run([str(part) for part in predict_command], check=True, env=environment, capture_output=True)
        predictions = pd.read_csv(folder / "predictions.csv")[tasks].to_numpy(dtype=np.float64)
    return mean_score(kind, Y[test], predictions), fit_s, cpu_s


def benchmark(name, args):
    smiles, Y, kind, tasks = load_set(name)
    metric = "ROC-AUC" if kind == "classification" else "R^2"
    print(f"\n{name}: {len(smiles)} molecules, {len(tasks)} {kind} tasks, {args.split} split, {metric}", flush=True)
    cached = {}
    if args.split == "valid":
        start = time.perf_counter()
        everything = MolecularFeatures().fit_transform(smiles)
        featurize_s = time.perf_counter() - start
        print(f"  featurizing all {len(smiles)} molecules (bits and descriptors): {featurize_s:.1f} s", flush=True)
        n_bits = 2048
        cached = {"ecfp": everything[:, :n_bits].astype(np.float32), "descriptors": everything[:, n_bits:],
                  "both": everything}  # fmt: skip
    results = {}
    for seed in args.seeds:
        train, test = split_rows(len(smiles), args.split, seed)
        if args.quick:
            train = np.random.RandomState(0).permutation(train)[:400]
        runs = {}
        for variant in args.features:
            runs[f"sklearn_mtl {variant}"] = run_package(
                kind, variant, smiles, Y, train, test, seed, args.quick, cached.get(variant)
            )
        if args.chemprop:
            runs["chemprop defaults"] = run_chemprop(args.chemprop, kind, smiles, Y, tasks, train, test, seed)
        for label, (score, fit_s, cpu_s) in runs.items():
            results.setdefault(label, []).append((score, fit_s, cpu_s))
            timing = f"fit {fit_s:7.1f} s ({cpu_s:.1f} s CPU)"
            print(f"  seed {seed}  {label:<26} {metric} {score:.4f}  {timing}", flush=True)
    print(f"  {'means over ' + str(len(args.seeds)) + ' splits':<34} {metric:>7}  fit s  CPU s")
    for label, rows in results.items():
        scores, times, cpu = np.array(rows).T
        print(
            f"  {label:<34} {scores.mean():.4f}  {times.mean():7.1f}  {cpu.mean():5.1f}  "
            f"({' / '.join(f'{s:.3f}' for s in scores)})"
        )
    return {label: np.array(rows) for label, rows in results.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["tox21", "physchem3"], choices=["tox21", "physchem3"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--split", choices=["test", "valid"], default="test")
    parser.add_argument("--features", nargs="+", default=["both"], choices=list(FEATURES))
    parser.add_argument("--chemprop", help="path to a chemprop 2.x command (its own virtual environment)")
    parser.add_argument("--quick", action="store_true", help="400 training rows, 3 epochs: a smoke test")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    return {name: benchmark(name, args) for name in args.data}


if __name__ == "__main__":
    main()
