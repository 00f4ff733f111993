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


def load_muv():
    """MUV (MoleculeNet's maximum unbiased validation set): 93,087 molecules, 17 binary tasks with
    24 to 30 positives each among about 14,500 labels: rare positives at scale. X is a scipy CSR
    matrix of 2048 Morgan bits (dense it would take 760 MB): run it with ``--baselines linear``."""
    import scipy.sparse as sp

    with np.load(DATA / "muv_morgan2048.npz", allow_pickle=True) as archive:
        indices, indptr, Y = archive["indices"].astype(np.int64), archive["indptr"], archive["Y"]
        tasks = [str(task) for task in archive["tasks"]]
    X = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(len(Y), 2048))
    return X, Y, ["classification"] * len(tasks), tasks


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


def _descriptor_set(name):
    """RDKit's 2D descriptors of a panel set, as RDKit computes them (no scaling): ``*_rdkit2d.npz``."""
    with np.load(DATA / f"{name}_rdkit2d.npz", allow_pickle=True) as archive:
        return archive["X"], archive["Y"].astype(np.float64), list(archive["kinds"]), [str(t) for t in archive["tasks"]]


def load_parkinsons():
    """Parkinson's telemonitoring, patients as tasks: each row carries its own patient's motor_UPDRS
    only (42 tasks, one label per row). X: age, sex and the 16 voice measures in their own units
    (``test_time`` is left out: the scores were interpolated in time and it gives them away)."""
    table = np.genfromtxt(DATA / "parkinsons_updrs.csv", delimiter=",", skip_header=1)
    patients = table[:, 0].astype(int)
    X = np.column_stack([table[:, 1:3], table[:, 6:]])
    tasks = np.unique(patients)
    Y = np.full((len(table), len(tasks)), np.nan)
    Y[np.arange(len(table)), np.searchsorted(tasks, patients)] = table[:, 4]
    return X, Y, ["regression"] * len(tasks), [f"patient_{task}" for task in tasks]


def parkinsons_time():
    """Each recording's ``(patient, test_time)``, which the time splits of ``load_parkinsons`` follow."""
    table = np.genfromtxt(DATA / "parkinsons_updrs.csv", delimiter=",", skip_header=1)
    return table[:, 0].astype(int), table[:, 3]


def load_sarcos():
    """SARCOS inverse dynamics (the official test file): 21 joint positions, velocities and
    accelerations in their units, 7 torques; every label present."""
    table = np.loadtxt(DATA / "sarcos_test.csv", delimiter=",", skiprows=1)
    return table[:, :21], table[:, 21:], ["regression"] * 7, [f"torque{joint}" for joint in range(1, 8)]


def time_split_indices(name, rows, test_fraction=0.3):
    """The time split of ``rows`` (indices) of a set whose rows are in time (``TIME_SPLITS``): the
    first 70% of each patient's recordings (Parkinson's) or of the rows (SARCOS, whose file is in
    time order) to train, the rest to test. Applied to a training part with ``test_fraction=0.2``,
    it gives that part's validation split."""
    rows = np.asarray(rows)
    if name == "sarcos":
        rows = np.sort(rows)
        n_train = int(round((1 - test_fraction) * len(rows)))
        return rows[:n_train], rows[n_train:]
    patients, times = parkinsons_time()
    train, test = [], []
    for patient in np.unique(patients[rows]):
        own = rows[patients[rows] == patient]
        own = own[np.argsort(times[own], kind="stable")]
        n_train = int(round((1 - test_fraction) * len(own)))
        train.append(own[:n_train])
        test.append(own[n_train:])
    return np.concatenate(train), np.concatenate(test)


LOADERS = {
    "tox21": load_tox21_panel,
    "tox21_rare": load_tox21_panel,
    "sider": lambda: _fingerprint_set("sider"),
    "physchem3": lambda: _fingerprint_set("physchem3"),
    "mixed5": lambda: _fingerprint_set("mixed5"),
    "enb2012": load_enb2012,
    "muv": load_muv,
}

# Sets with their inputs in their own units (``bench_raw_inputs.py``): RDKit descriptors (from 1e-3 to
# beyond 1e30), voice measures (jitter near 1e-5 s, HNR near 20 dB), joint readings (0.1 to 100)
RAW_LOADERS = {
    "physchem3_rdkit2d": lambda: _descriptor_set("physchem3"),
    "sider_rdkit2d": lambda: _descriptor_set("sider"),
    "parkinsons": load_parkinsons,
    "sarcos": load_sarcos,
    "enb2012": load_enb2012,
}
# sets whose rows are in time: split by time, not at random (``time_split_indices``)
TIME_SPLITS = {"parkinsons", "sarcos"}

# what each set is scored by, where it is not ROC-AUC (classification) or R^2 (regression)
METRICS = {"tox21_rare": "PRC-AUC", "muv": "PRC-AUC"}
# sets whose training labels are made from the panel's (the test part keeps its labels)
TRAIN_LABELS = {"tox21_rare": keep_few_positives}

# tabular sets get a StandardScaler in front of every model (a user would); fingerprints are 0/1 bits
TABULAR = {"enb2012"}


def train_test_indices(n_samples, test_fraction=0.1, seed=0):
    """The panel's split: a random permutation from ``RandomState(seed)``; the last 10% is the test part."""
    order = np.random.RandomState(seed).permutation(n_samples)
    n_test = int(round(test_fraction * n_samples))
    return order[: n_samples - n_test], order[n_samples - n_test :]
