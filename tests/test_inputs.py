"""input_encoding: which columns get indicator columns of their levels, and what the network reads."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskRegressor
from sklearn_mtl._inputs import _WIDE_INPUT, encode, fitted_levels


def _columns(n_rows, rng):
    """A continuous column, a binary one, one of 5 levels and one of 17 (too many to encode)."""
    return np.column_stack(
        [
            rng.normal(size=n_rows),
            rng.randint(2, size=n_rows),
            rng.randint(5, size=n_rows),
            rng.randint(17, size=n_rows),
        ]
    ).astype(float)


def test_levels_are_the_columns_of_3_to_16_values_on_narrow_dense_input():
    X = _columns(400, np.random.RandomState(0))
    levels = fitted_levels(X, "auto")
    assert list(levels) == [2]
    np.testing.assert_array_equal(levels[2], [0, 1, 2, 3, 4])
    assert fitted_levels(X, "none") == {}
    assert fitted_levels(sp.csr_matrix(X), "auto") == {}
    wide = np.hstack([X, np.zeros((400, _WIDE_INPUT))])
    assert fitted_levels(wide, "auto") == {}


def test_a_column_whose_values_are_on_few_rows_each_is_not_a_level():
    # 5 values on 60 rows: 12 rows per value, fewer than the 20 a level needs on average
    X = _columns(60, np.random.RandomState(0))
    assert fitted_levels(X, "auto") == {}
    assert list(fitted_levels(X[np.arange(100) % 60], "auto")) == [2]


def test_encode_appends_one_indicator_per_level_and_none_for_an_unseen_value():
    levels = {1: np.array([-1.0, 0.5, 2.0])}
    X = np.array([[7.0, 0.5], [8.0, -1.0], [9.0, 3.0]])
    np.testing.assert_array_equal(encode(X, levels), [[7.0, 0.5, 0, 1, 0], [8.0, -1.0, 1, 0, 0], [9.0, 3.0, 0, 0, 0]])
    assert encode(X, {}) is X


def test_a_level_computed_in_float32_matches_its_float64_value():
    values = (np.arange(5) - 2.1) / 0.37
    levels = {0: values}
    X = values[::-1, None].astype(np.float32)
    np.testing.assert_array_equal(encode(X, levels)[:, 1:], np.eye(5)[::-1])


def test_levels_of_a_data_parallel_fit_are_those_of_all_ranks_rows():
    rng = np.random.RandomState(0)
    rank_0, rank_1 = _columns(100, rng), _columns(100, rng)
    rank_1[:, 2] = rng.randint(2, 8, size=100)  # levels 2..7 here, 0..4 on rank 0: 8 values in all
    parts = [(len(rank_0), [np.unique(c) if len(np.unique(c)) <= 16 else None for c in rank_0.T])]

    def gathered(mine):  # rank 1's view: rank 0's part, then its own
        return [*parts, mine]

    levels = fitted_levels(rank_1, "auto", gathered)
    assert list(levels) == [2]
    np.testing.assert_array_equal(levels[2], np.arange(8))
    # rank 1 alone: 6 values on 100 rows, fewer than 20 rows per value; 200 rows carry 8
    assert fitted_levels(rank_1, "auto") == {}


def test_the_network_reads_the_indicators_and_fits_a_level_effect_a_linear_layer_cannot():
    rng = np.random.RandomState(0)
    X = _columns(600, rng)
    effects = np.array([0.0, 3.0, -2.0, 1.0, -1.0])  # not monotone in the level
    y = effects[X[:, 2].astype(int)] + 0.1 * rng.normal(size=600)
    params = dict(hidden_layer_sizes=(), max_iter=60, learning_rate_init=0.05, random_state=0)
    encoded = MaskedMultiTaskRegressor(**params).fit(X, y)
    plain = MaskedMultiTaskRegressor(**params, input_encoding="none").fit(X, y)
    assert encoded.n_features_in_ == 4 and list(encoded.input_levels_) == [2]
    assert encoded.net_.module_.heads.in_features == 4 + 5
    assert plain.input_levels_ == {} and plain.net_.module_.heads.in_features == 4
    assert encoded.score(X, y) > 0.99
    assert plain.score(X, y) < 0.5


def test_encoded_model_predicts_alike_after_pickle_partial_fit_and_add_tasks():
    rng = np.random.RandomState(1)
    X = _columns(300, rng)
    y = (X[:, 2] % 2 == 0).astype(float)
    params = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    clf = MaskedMultiTaskClassifier(**params).fit(X, y)
    assert list(clf.input_levels_) == [2]
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    clf.add_tasks(X, X[:, 0] > 0)
    assert clf.n_tasks_ == 2 and clf.predict(X).shape == (300, 2)
    # partial_fit keeps the levels of its first call (here 3 of the 5 values)
    incremental = MaskedMultiTaskClassifier(**params)
    first = X[X[:, 2] < 3][:100]
    incremental.partial_fit(first, first[:, 2] == 0, classes=[False, True])
    incremental.partial_fit(X, X[:, 2] == 0)
    np.testing.assert_array_equal(incremental.input_levels_[2], [0, 1, 2])


def test_a_model_fitted_before_input_encoding_reads_x_as_it_is_and_continues():
    X = _columns(300, np.random.RandomState(2))
    reg = MaskedMultiTaskRegressor(hidden_layer_sizes=(8,), max_iter=3, input_encoding="none", random_state=0)
    reg.fit(X, X[:, 0])
    del reg.input_levels_  # as a model pickled before the parameter was added
    before = reg.predict(X)
    reg.set_params(warm_start=True, max_iter=2).fit(X, X[:, 0])
    reg.partial_fit(X, X[:, 0])
    assert not hasattr(reg, "input_levels_")
    assert reg.predict(X).shape == before.shape and not np.allclose(reg.predict(X), before)


@pytest.mark.parametrize("encoding", ["auto", "none"])
def test_input_encoding_is_checked_by_name(encoding):
    X = _columns(100, np.random.RandomState(0))
    MaskedMultiTaskRegressor(hidden_layer_sizes=(4,), max_iter=1, input_encoding=encoding).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="input_encoding"):
        MaskedMultiTaskRegressor(input_encoding="onehot").fit(X, X[:, 0])
