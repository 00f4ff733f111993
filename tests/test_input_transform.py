"""input_transform: each dense column brought to a common scale, fitted on the training rows only."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskRegressor
from sklearn_mtl._engine import sparse_batches
from sklearn_mtl._input_transform import _HEAVY_TAIL, _NORMAL_IQR, ColumnScaling, fit_scaling


def _raw_columns(n_rows, rng):
    """Columns in their own units: a jitter near 1e-5, a count, a weight in the hundreds, a reading in
    the tens of thousands, and a heavy-tailed one (a log-normal of large spread)."""
    return np.column_stack(
        [
            1e-5 * np.exp(0.3 * rng.normal(size=n_rows)),
            rng.poisson(4, size=n_rows),
            300 + 80 * rng.normal(size=n_rows),
            2e4 + 5e3 * rng.normal(size=n_rows),
            np.exp(3 * rng.normal(size=n_rows)),
        ]
    ).astype(float)


def _targets(X, rng):
    z = (X - np.median(X, axis=0)) / np.std(X, axis=0)
    z[:, 4] = np.log(X[:, 4]) / 3
    return np.column_stack([z[:, 0] + z[:, 2] - z[:, 4], np.sin(z[:, 3]) + 0.5 * z[:, 1]]) + 0.1 * rng.normal(
        size=(len(X), 2)
    )


@pytest.fixture(scope="module")
def raw_data():
    rng = np.random.RandomState(0)
    X = _raw_columns(700, rng)
    return X, _targets(X, rng)


def test_each_kind_of_column_gets_its_own_map():
    rng = np.random.RandomState(0)
    n = 400
    X = np.column_stack(
        [
            rng.randint(2, size=n),  # 0/1: as it is
            np.where(rng.rand(n) < 0.5, 3.0, 7.0),  # two values: to 0 and 1
            np.full(n, 1e5),  # constant: to 0
            np.where(rng.rand(n) < 0.8, 0.0, rng.poisson(30, size=n) + 1.0),  # mostly zero: zeros stay zeros
            100 + 10 * rng.normal(size=n),  # continuous: median and IQR
            np.exp(5 * rng.normal(size=n)),  # heavy-tailed: through asinh
        ]
    ).astype(float)
    scaling = fit_scaling(X, "auto")
    np.testing.assert_allclose(scaling.center[[0, 1, 2, 3]], [0, 3, 1e5, 0])
    np.testing.assert_allclose(scaling.scale[[0, 1, 2]], [1, 4, 1])
    # light tails: the mean and standard deviation, as a StandardScaler; heavy ones: median and IQR
    assert scaling.center[4] == pytest.approx(X[:, 4].mean()) and scaling.scale[4] == pytest.approx(X[:, 4].std())
    q1, median, q3 = np.percentile(X[:, 5], [25, 50, 75], method="inverted_cdf")
    assert scaling.center[5] == median and scaling.scale[5] == pytest.approx((q3 - q1) / _NORMAL_IQR)
    assert scaling.compress.tolist() == [False, False, False, False, False, True]
    Z = scaling.transform(X)
    np.testing.assert_array_equal(Z[:, 0], X[:, 0])
    np.testing.assert_array_equal(np.unique(Z[:, 1]), [0, 1])
    np.testing.assert_array_equal(Z[:, 2], 0)
    np.testing.assert_array_equal(Z[:, 3] == 0, X[:, 3] == 0)
    nonzero = np.abs(X[X[:, 3] > 0, 3])
    assert scaling.scale[3] == np.median(nonzero)
    assert np.abs(Z[:, 5]).max() < np.arcsinh(np.abs((X[:, 5] - scaling.center[5]) / scaling.scale[5]).max()) + 1e-9
    assert np.abs(Z[:, [1, 4, 5]]).max() < 30


@pytest.mark.parametrize("weighted", [False, True])
def test_all_columns_at_once_give_each_columns_own_map(weighted):
    # the columns are fitted together (quantiles by partitioning blocks of columns, moments by a
    # product): each must get the map it gets alone, across block boundaries and for every kind
    rng = np.random.RandomState(1)
    n = 301  # odd, so that the inverted-CDF quartiles fall between the textbook ones
    kinds = [
        lambda: rng.normal(size=n) * 50 + 3,
        lambda: np.exp(4 * rng.normal(size=n)),
        lambda: np.where(rng.rand(n) < 0.7, 2.0, rng.poisson(40, size=n) + 3.0),
        lambda: np.where(rng.rand(n) < 0.5, -1.0, 5.0),
        lambda: np.where(rng.rand(n) < 0.6, 0.0, rng.randint(1, 9, size=n)),
        lambda: np.full(n, -4.0),
        lambda: rng.randint(2, size=n),
    ]
    X = np.column_stack([kinds[j % len(kinds)]() for j in range(150)]).astype(float)
    weights = rng.randint(1, 4, size=n).astype(float) if weighted else None
    given = X.copy()
    together = fit_scaling(X, "auto", weights)
    np.testing.assert_array_equal(X, given)  # (the quantiles partition copies, never X itself)
    for j in range(X.shape[1]):
        alone = fit_scaling(X[:, [j]], "auto", weights)
        np.testing.assert_array_equal(X, given)
        expected = (0.0, 1.0, False) if alone is None else (alone.center[0], alone.scale[0], alone.compress[0])
        got = (together.center[j], together.scale[j], together.compress[j])
        assert got == pytest.approx(expected, rel=1e-12), j
    for writeable in (True, False):  # one float64 column: what the map is fitted on is a view of it
        column = X[:, :1].copy()
        column.setflags(write=writeable)
        given = column.copy()
        assert fit_scaling(column, "auto", weights).center[0] == pytest.approx(together.center[0], rel=1e-12)
        np.testing.assert_array_equal(column, given)
    if weighted:  # whole-number weights: the map of the rows repeated
        repeated = fit_scaling(np.repeat(X, weights.astype(int), axis=0), "auto")
        np.testing.assert_allclose(repeated.center, together.center, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(repeated.scale, together.scale, rtol=1e-12)
        np.testing.assert_array_equal(repeated.compress, together.compress)


def test_nothing_to_do_for_0_1_inputs_small_counts_sparse_inputs_and_none():
    rng = np.random.RandomState(0)
    bits = (rng.rand(200, 300) < 0.02).astype(np.float32)
    assert fit_scaling(bits, "auto") is None
    counts = bits * rng.randint(1, 11, size=bits.shape)  # mostly zero, within 10: as they are
    assert fit_scaling(counts, "auto") is None
    assert fit_scaling(np.hstack([counts, 11 * bits[:, :1]]), "auto").scale.tolist() == [1] * 300 + [11]
    assert fit_scaling(sp.csr_matrix(rng.normal(size=(50, 4)) * 1e4), "auto") is None
    assert fit_scaling(rng.normal(size=(50, 4)) * 1e4, "none") is None


def test_a_heavy_tail_is_a_departure_beyond_the_threshold():
    bulk = np.linspace(-1, 1, 999)  # median 0, interquartile range 1: scale 1 / 1.349
    for departure, heavy in [(0.9 * _HEAVY_TAIL, False), (1.1 * _HEAVY_TAIL, True)]:
        column = np.r_[bulk, departure / _NORMAL_IQR][:, None]
        scaling = fit_scaling(column, "auto")
        assert scaling.compress[0] == heavy
        if heavy:
            assert scaling.scale[0] == pytest.approx(1 / _NORMAL_IQR, rel=1e-2)


def test_it_is_fitted_on_the_training_rows_and_applied_alike_in_predict(raw_data):
    X, y = raw_data
    reg = MaskedMultiTaskRegressor(hidden_layer_sizes=(16,), max_iter=3, random_state=0).fit(X[:500], y[:500])
    reference = fit_scaling(X[:500], "auto")
    np.testing.assert_array_equal(reg.input_transform_.center, reference.center)
    np.testing.assert_array_equal(reg.input_transform_.scale, reference.scale)
    np.testing.assert_array_equal(reg.input_transform_.compress, reference.compress)
    # predict reads the stored map: the same rows predict the same, whatever else is in the batch
    np.testing.assert_allclose(reg.predict(X[500:]), reg.predict(X)[500:], rtol=0, atol=1e-12)
    # the network reads the transformed X: the same network fed the transform by hand agrees
    # (the count column's levels get indicators in both, read from its raw or its mapped values)
    hand = MaskedMultiTaskRegressor(hidden_layer_sizes=(16,), max_iter=3, random_state=0, input_transform="none")
    hand.fit(reference.transform(X[:500]), y[:500])
    assert list(reg.input_levels_) == list(hand.input_levels_) == [1]
    np.testing.assert_allclose(reg.predict(X[500:]), hand.predict(reference.transform(X[500:])), atol=1e-10)


def test_raw_inputs_train_as_well_as_standardized_ones_and_a_users_scaler_is_not_undone(raw_data):
    X, y = raw_data
    params = dict(hidden_layer_sizes=(32,), max_iter=60, random_state=0)
    raw = MaskedMultiTaskRegressor(**params).fit(X[:500], y[:500])
    scaled = make_pipeline(StandardScaler(), MaskedMultiTaskRegressor(**params)).fit(X[:500], y[:500])
    untransformed = MaskedMultiTaskRegressor(**params, input_transform="none").fit(X[:500], y[:500])
    # the median and the interquartile range follow any affine map of a column: a scaler in front
    # changes nothing the network reads (to rounding)
    np.testing.assert_allclose(raw.predict(X[500:]), scaled.predict(X[500:]), rtol=1e-4, atol=1e-4)
    assert raw.score(X[500:], y[500:]) > 0.8
    assert untransformed.score(X[500:], y[500:]) < raw.score(X[500:], y[500:]) - 0.3


def test_the_map_is_kept_by_pickle_partial_fit_warm_start_and_add_tasks(raw_data):
    X, y = raw_data
    reg = MaskedMultiTaskRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X[:300], y[:300])
    fitted = reg.input_transform_
    restored = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(restored.predict(X), reg.predict(X))
    reg.partial_fit(X[300:] * 3, y[300:])  # other rows in other units: the first fit's map stays
    reg.set_params(warm_start=True).fit(X[300:] * 3, y[300:])
    assert reg.input_transform_ is fitted
    reg.add_tasks(X[:300], y[:300, 0] + 1)
    np.testing.assert_array_equal(reg.input_transform_.center, fitted.center)
    assert np.isfinite(reg.predict(X)).all()
    # an added task reads the map too: its predictions follow its target
    assert np.corrcoef(reg.predict(X[:300])[:, 2], y[:300, 0])[0, 1] > 0.5


def test_a_classifier_on_raw_inputs_and_the_fingerprint_path_is_unchanged():
    rng = np.random.RandomState(3)
    X = _raw_columns(600, rng)
    y = (np.log(X[:, 4]) + (X[:, 2] - 300) / 80 > 0).astype(int)
    clf = MaskedMultiTaskClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0).fit(X[:400], y[:400])
    assert clf.score(X[400:], y[400:]) > 0.9
    bits = (rng.rand(300, 200) < 0.03).astype(np.float32)
    fingerprints = MaskedMultiTaskClassifier(hidden_layer_sizes=(8,), max_iter=1, random_state=0)
    fingerprints.fit(bits, bits[:, 0] + bits[:, 1] > 0)
    assert fingerprints.input_transform_ is None and sparse_batches(fingerprints, bits)


def test_a_data_parallel_fit_on_own_rows_fits_the_map_of_all_rows():
    rng = np.random.RandomState(0)
    X = _raw_columns(300, rng)
    X[:150, 0] = 0.0  # binary on rank 0's rows alone, not on all of them
    X[:150, 0] += rng.randint(2, size=150)
    parts = [X[:150], X[150:]]

    def gathered_for(rank):
        """Rank ``rank``'s view of the two gathers of ``fit_scaling``: each rank's 0/1 flags, then
        each rank's rows of the columns that are not 0/1 on every rank, in rank order."""
        seen = {}

        def gathered(mine):
            other = parts[1 - rank]
            if isinstance(mine, np.ndarray):  # the 0/1 flags
                theirs = ((other == 0) | (other == 1)).all(axis=0)
                seen["binary"] = mine & theirs
            else:  # the rows of the columns that are not 0/1 on every rank, with their weights
                theirs = (other[:, ~seen["binary"]].astype(np.float64), np.ones(len(other)))
            return [mine, theirs] if rank == 0 else [theirs, mine]

        return gathered

    whole = fit_scaling(X, "auto")
    assert whole.scale[0] != 1  # column 0 is 0/1 on rank 0's rows only: all rows give it a map
    for rank in (0, 1):
        scaling = fit_scaling(parts[rank], "auto", gathered=gathered_for(rank))
        np.testing.assert_array_equal(scaling.center, whole.center)
        np.testing.assert_array_equal(scaling.scale, whole.scale)
        np.testing.assert_array_equal(scaling.compress, whole.compress)


def test_the_ranks_of_a_data_parallel_fit_share_the_columns_and_get_the_whole_map():
    # each of three "ranks" (threads here, with a gather that waits for all of them) fits every
    # third column that is not 0/1; the maps gathered are those one process fits
    import threading

    rng = np.random.RandomState(2)
    X = np.column_stack([rng.randint(2, size=200), np.exp(3 * rng.normal(size=(200, 7))), rng.normal(size=200)])
    world_size, barrier, posted, results = 3, threading.Barrier(3), [None] * 3, [None] * 3

    def run(rank):
        def gather(mine):
            posted[rank] = mine
            barrier.wait()
            return list(posted)

        results[rank] = fit_scaling(X, "auto", split=(rank, world_size, gather))

    threads = [threading.Thread(target=run, args=(rank,)) for rank in range(world_size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    whole = fit_scaling(X, "auto")
    for scaling in results:
        np.testing.assert_allclose(scaling.center, whole.center, rtol=1e-12)
        np.testing.assert_allclose(scaling.scale, whole.scale, rtol=1e-12)
        np.testing.assert_array_equal(scaling.compress, whole.compress)


def test_input_transform_is_checked_by_name_and_inf_is_refused():
    X = np.random.RandomState(0).normal(size=(50, 3))
    with pytest.raises(ValueError, match="input_transform"):
        MaskedMultiTaskRegressor(input_transform="standard").fit(X, X[:, 0])
    X[3, 1] = np.inf
    with pytest.raises(ValueError, match="[Ii]nf"):
        MaskedMultiTaskRegressor(max_iter=1).fit(X, X[:, 0])


def test_column_scaling_refuses_x_of_another_width():
    scaling = ColumnScaling(np.zeros(3), np.ones(3), np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="fitted on 3"):
        scaling.transform(np.zeros((2, 4)))


def test_a_row_of_weight_two_counts_as_the_row_repeated_and_weight_zero_as_left_out():
    rng = np.random.RandomState(4)
    X = _raw_columns(60, rng)
    weights = rng.randint(0, 3, size=60)
    weighted = fit_scaling(X, "auto", weights)
    repeated = fit_scaling(X.repeat(weights, axis=0), "auto")
    np.testing.assert_allclose(weighted.center, repeated.center, rtol=1e-12)
    np.testing.assert_allclose(weighted.scale, repeated.scale, rtol=1e-12)
    np.testing.assert_array_equal(weighted.compress, repeated.compress)


def test_fingerprints_beside_descriptors_keep_their_bits_and_their_sparse_first_layer():
    rng = np.random.RandomState(5)
    bits = (rng.rand(400, 300) < 0.03).astype(np.float64)
    descriptors = _raw_columns(400, rng)  # dense columns in their units, a twentieth of the input
    X = np.hstack([bits, descriptors])
    assert np.count_nonzero(X) / X.size < 0.1
    scaling = fit_scaling(X, "auto")
    np.testing.assert_array_equal(scaling.transform(X)[:, :300], bits)
    assert (scaling.scale[300:] != 1).all()
    y = np.column_stack([np.log(descriptors[:, 4]) > 0, bits[:, :5].sum(axis=1) > 0]).astype(float)
    params = dict(hidden_layer_sizes=(16,), max_iter=30, random_state=0)
    clf = MaskedMultiTaskClassifier(**params).fit(X[:300], y[:300])
    assert sparse_batches(clf, X) and clf.net_.module_.sparse_layer is not None
    raw = MaskedMultiTaskClassifier(**params, input_transform="none").fit(X[:300], y[:300])
    assert clf.score(X[300:], y[300:]) > raw.score(X[300:], y[300:]) + 0.1
