"""Concurrent use: predictions from several threads, fits in parallel threads, repeated fits."""

import gc
import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from sklearn_mtl import MaskedMultiTaskClassifier

PARAMS = dict(hidden_layer_sizes=(16,), max_iter=5, dropout=0.3, batch_size=32, random_state=0)


def _data(seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(300, 5))
    y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, np.digitize(X[:, 3], [-0.5, 0.5])]).astype(float)
    y[rng.rand(*y.shape) < 0.3] = np.nan
    return X, y


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def test_predict_from_many_threads_matches_serial():
    X, y = _data()
    clf = MaskedMultiTaskClassifier(**PARAMS).fit(X, y)
    serial = [clf.predict_proba(X[i::8]) for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(lambda i: clf.predict_proba(X[i::8]), range(8)))
    for expected, got in zip(serial, threaded, strict=True):
        for a, b in zip(expected, got, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("task_weighting", ["equal", "pcgrad"])
def test_fits_in_parallel_threads_equal_serial_fits_and_leave_the_global_rng_alone(task_weighting):
    X, y = _data()
    seeds = [0, 1, 2, 3]
    torch.manual_seed(7)
    np.random.seed(7)
    torch_state, numpy_state = torch.random.get_rng_state(), np.random.get_state()

    def fit(seed):
        params = {**PARAMS, "random_state": seed, "task_weighting": task_weighting}
        return MaskedMultiTaskClassifier(**params).fit(X, y).predict_proba(X)

    serial = [fit(seed) for seed in seeds]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(fit, seeds))
    for expected, got in zip(serial, threaded, strict=True):
        for a, b in zip(expected, got, strict=True):
            np.testing.assert_array_equal(a, b)
    assert torch.equal(torch_state, torch.random.get_rng_state())
    assert np.array_equal(numpy_state[1], np.random.get_state()[1])


def _resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads resident memory from Linux's /proc")
def test_repeated_fits_do_not_grow_memory():
    X, y = _data()
    params = {**PARAMS, "max_iter": 2}
    for _ in range(10):  # warm up allocators and caches
        MaskedMultiTaskClassifier(**params).fit(X, y)
    gc.collect()
    before = _resident_bytes()
    for _ in range(60):
        MaskedMultiTaskClassifier(**params).fit(X, y).predict(X)
    gc.collect()
    growth = _resident_bytes() - before
    assert growth < 20 * 2**20, f"60 fits grew resident memory by {growth / 2**20:.1f} MiB"
