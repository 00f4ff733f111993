"""The panel of real data sets with naturally missing labels that ``bench_real_data.py`` runs on.

Each loader returns ``(X, Y, kinds, task_names)``: X as float32 (0/1 fingerprints, or the raw
columns of a tabular set), Y as float64 with NaN for a missing label, and one kind per task
("classification" or "regression"). The files live in ``benchmarks/data/`` (see its README for
provenance and licences); Tox21 ships with the package.
"""

from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data"


def _fingerprint_set(name):
    with np.load(DATA / f"{name}_morgan2048.npz", allow_pickle=True) as archive:
        X = np.unpackbits(archive["X"], axis=1).astype(np.float32)
        return X, archive["Y"].astype(np.float64), list(archive["kinds"]), [str(t) for t in archive["tasks"]]


def load_tox21_panel():
    from sklearn_mtl.datasets import load_tox21

    data = load_tox21()
    return data.data.astype(np.float32), data.target, ["classification"] * data.target.shape[1], list(data.target_names)


def load_enb2012():
    table = np.loadtxt(DATA / "enb2012.csv", delimiter=",", skiprows=1)
    return table[:, :8].astype(np.float32), table[:, 8:], ["regression", "regression"], ["heating_load", "cooling_load"]


def keep_few_positives(Y, n_positives=25, seed=0):
    """Y with all but ``n_positives`` positives of each binary task made missing (drawn at random):
    the training labels of the rare-positive set ``tox21_rare``."""
    Y = Y.copy()
    rng = np.random.RandomState(seed)
    for task in range(Y.shape[1]):
        positives = np.flatnonzero(Y[:, task] == 1)
        if len(positives) > n_positives:
            Y[rng.permutation(positives)[n_positives:], task] = np.nan
    return Y


LOADERS = {
    "tox21": load_tox21_panel,
    "tox21_rare": load_tox21_panel,
    "sider": lambda: _fingerprint_set("sider"),
    "physchem3": lambda: _fingerprint_set("physchem3"),
    "mixed5": lambda: _fingerprint_set("mixed5"),
    "enb2012": load_enb2012,
}

# what each set is scored by, where it is not ROC-AUC (classification) or R^2 (regression)
METRICS = {"tox21_rare": "PRC-AUC"}
# sets whose training labels are made from the panel's (the test part keeps its labels)
TRAIN_LABELS = {"tox21_rare": keep_few_positives}

# tabular sets get a StandardScaler in front of every model (a user would); fingerprints are 0/1 bits
TABULAR = {"enb2012"}


def train_test_indices(n_samples, test_fraction=0.1, seed=0):
    """The panel's split: a random permutation from ``RandomState(seed)``; the last 10% is the test part."""
    order = np.random.RandomState(seed).permutation(n_samples)
    n_test = int(round(test_fraction * n_samples))
    return order[: n_samples - n_test], order[n_samples - n_test :]
