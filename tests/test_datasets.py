"""Tests of sklearn_mtl.datasets: the synthetic generators and the bundled Tox21 data."""

import numpy as np
import pytest

from sklearn_mtl.datasets import load_tox21, make_multitask_classification, make_multitask_regression

GENERATORS = [make_multitask_classification, make_multitask_regression]


@pytest.fixture(scope="module")
def tox21():
    return load_tox21()


@pytest.mark.parametrize("make", GENERATORS)
def test_shapes_and_complete_targets(make):
    X, y, y_complete = make(n_samples=50, n_features=7, n_tasks=3, n_informative=4, return_complete=True)
    assert X.shape == (50, 7)
    assert y.shape == y_complete.shape == (50, 3)
    assert not np.isnan(y).any()
    np.testing.assert_array_equal(y, y_complete)


@pytest.mark.parametrize("make", GENERATORS)
def test_random_state_makes_it_reproducible(make):
    first = make(n_samples=40, missing_rate=0.3, random_state=0)
    second = make(n_samples=40, missing_rate=0.3, random_state=0)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", GENERATORS)
def test_missing_rate_per_task_hides_labels_at_random(make):
    rates = np.array([0.0, 0.5, 0.9])
    _, y, y_complete = make(n_samples=4000, n_tasks=3, missing_rate=rates, return_complete=True, random_state=0)
    missing = np.isnan(y)
    np.testing.assert_allclose(missing.mean(axis=0), rates, atol=0.03)
    np.testing.assert_array_equal(y[~missing], y_complete[~missing])


@pytest.mark.parametrize("make", GENERATORS)
def test_label_fraction_gives_exact_counts(make):
    _, y = make(n_samples=200, n_tasks=3, label_fraction=[1.0, 0.25, 0.001], random_state=0)
    np.testing.assert_array_equal((~np.isnan(y)).sum(axis=0), [200, 50, 1])


@pytest.mark.parametrize("make", GENERATORS)
def test_one_label_per_row(make):
    _, y = make(n_samples=3000, n_tasks=3, one_label_per_row=True, label_fraction=[0.6, 0.3, 0.1], random_state=0)
    observed = ~np.isnan(y)
    np.testing.assert_array_equal(observed.sum(axis=1), 1)
    np.testing.assert_allclose(observed.mean(axis=0), [0.6, 0.3, 0.1], atol=0.03)


def test_classification_classes_are_balanced_per_task():
    _, y = make_multitask_classification(n_samples=600, n_tasks=3, n_classes=[2, 3, 4], random_state=0)
    for task, k in enumerate([2, 3, 4]):
        values, counts = np.unique(y[:, task], return_counts=True)
        np.testing.assert_array_equal(values, np.arange(k))
        np.testing.assert_array_equal(counts, 600 // k)


def _task_correlations(task_relatedness):
    _, y = make_multitask_regression(
        n_samples=5000, n_tasks=6, task_relatedness=task_relatedness, noise=0.0, random_state=0
    )
    correlations = np.corrcoef(y.T)
    return np.abs(correlations[np.triu_indices(6, k=1)]).mean()


def test_task_relatedness_controls_how_much_tasks_share():
    unrelated, related = _task_correlations(0.0), _task_correlations(1.0)
    assert unrelated < 0.1
    assert related > 3 * unrelated


@pytest.mark.parametrize("make", GENERATORS)
def test_default_mixing_keeps_the_earlier_draws(make):
    # mixing_correlation=0 draws nothing more: data sets made before the option are made again
    X, y, shared = make(n_samples=30, missing_rate=0.2, return_shared_features=True, random_state=0)
    X0, y0 = make(n_samples=30, missing_rate=0.2, mixing_correlation=0.0, random_state=0)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    assert shared.shape == (30, 2)


def test_shared_features_explain_the_shared_part():
    # with no task-specific part and no noise, each task is a linear mix of the shared features
    _, y, shared = make_multitask_regression(
        n_samples=500, n_tasks=4, task_relatedness=1.0, noise=0.0, return_shared_features=True, random_state=0
    )
    mixing, *_ = np.linalg.lstsq(shared, y, rcond=None)
    np.testing.assert_allclose(shared @ mixing, y, atol=1e-10)


def test_mixing_correlation_makes_the_tasks_alike():
    def mean_task_correlation(mixing_correlation):
        _, y = make_multitask_regression(
            n_samples=3000, n_tasks=8, n_shared_factors=4, task_relatedness=1.0, noise=0.0,
            mixing_correlation=mixing_correlation, random_state=0,
        )
        correlations = np.corrcoef(y.T)
        return correlations[np.triu_indices(8, 1)].mean()

    assert mean_task_correlation(1.0) > 0.999
    assert mean_task_correlation(0.0) < 0.5


def test_one_label_per_row_with_shared_structure():
    # the synthetic regime: 30 tasks, 150 labels each, one label per row, 8 shared features
    X, y, shared = make_multitask_classification(
        n_samples=4500, n_features=40, n_tasks=30, n_informative=20, n_shared_factors=8,
        one_label_per_row=True, return_shared_features=True, random_state=0,
    )
    assert X.shape == (4500, 40) and shared.shape == (4500, 8)
    np.testing.assert_array_equal((~np.isnan(y)).sum(axis=1), 1)
    assert 110 < (~np.isnan(y)).sum(axis=0).min() and (~np.isnan(y)).sum(axis=0).max() < 190


def test_only_informative_features_matter():
    X, y = make_multitask_regression(n_samples=3000, n_features=8, n_informative=3, noise=0.0, random_state=0)
    correlations = np.abs(np.corrcoef(X.T, y.T)[:8, 8:])
    assert correlations[3:].max() < 0.1


def test_regression_targets_have_unit_variance_signal():
    _, y = make_multitask_regression(n_samples=20000, n_tasks=4, noise=0.0, random_state=0)
    np.testing.assert_allclose(y.std(axis=0), 1.0, atol=0.05)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"missing_rate": 1.5}, "missing_rate"),
        ({"missing_rate": 1.0}, "without labels"),
        ({"missing_rate": [0.1, 0.2]}, "one entry per task"),
        ({"label_fraction": 0.0}, "label_fraction"),
        ({"label_fraction": 0.5, "missing_rate": 0.2}, "not both"),
        ({"one_label_per_row": True, "missing_rate": 0.2}, "one_label_per_row"),
        ({"task_relatedness": 1.5}, "task_relatedness"),
        ({"n_informative": 30}, "n_informative"),
        ({"n_informative": 2, "n_shared_factors": 2}, "n_shared_factors"),
        ({"n_samples": 0}, "n_samples"),
        ({"noise": -1.0}, "noise"),
        ({"mixing_correlation": 1.5}, "mixing_correlation"),
        ({"mixing_correlation": -0.1}, "mixing_correlation"),
    ],
)
@pytest.mark.parametrize("make", GENERATORS)
def test_bad_parameters_are_named(make, params, message):
    with pytest.raises(ValueError, match=message):
        make(**params)


def test_bad_n_classes_is_named():
    with pytest.raises(ValueError, match="n_classes"):
        make_multitask_classification(n_tasks=2, n_classes=[2, 1])


def test_tox21_shapes_and_names(tox21):
    assert tox21.data.shape == (7831, 2048)
    assert tox21.data.dtype == np.uint8
    assert set(np.unique(tox21.data)) == {0, 1}
    assert tox21.target.shape == (7831, 12)
    assert tox21.target.dtype == np.float64
    assert tox21.target_names == [
        "NR-AR",
        "NR-AR-LBD",
        "NR-AhR",
        "NR-Aromatase",
        "NR-ER",
        "NR-ER-LBD",
        "NR-PPAR-gamma",
        "SR-ARE",
        "SR-ATAD5",
        "SR-HSE",
        "SR-MMP",
        "SR-p53",
    ]
    assert len(tox21.feature_names) == 2048
    assert tox21.smiles.shape == (7831,)
    assert tox21.smiles[0] == "CCOc1ccc2nc(S(N)(=O)=O)sc2c1"
    assert "Tox21" in tox21.DESCR and "sanitize=False" in tox21.DESCR


def test_tox21_labels(tox21):
    missing = np.isnan(tox21.target)
    assert 0.16 < missing.mean() < 0.18
    assert np.all((missing.mean(axis=0) > 0.06) & (missing.mean(axis=0) < 0.27))
    assert set(np.unique(tox21.target[~missing])) == {0.0, 1.0}
    positive_rate = np.nanmean(tox21.target, axis=0)
    assert np.all((positive_rate > 0.025) & (positive_rate < 0.165))


def test_tox21_fingerprints_look_like_morgan(tox21):
    bits_per_molecule = tox21.data.sum(axis=1)
    assert 20 < bits_per_molecule.mean() < 40
    assert bits_per_molecule.min() > 0
    assert len(np.unique(np.packbits(tox21.data, axis=1), axis=0)) > 7000


def test_tox21_return_X_y(tox21):
    X, y = load_tox21(return_X_y=True)
    np.testing.assert_array_equal(X, tox21.data)
    np.testing.assert_array_equal(y, tox21.target)


def test_tox21_as_frame(tox21):
    pd = pytest.importorskip("pandas")
    bunch = load_tox21(as_frame=True)
    assert isinstance(bunch.data, pd.DataFrame) and isinstance(bunch.target, pd.DataFrame)
    assert list(bunch.target.columns) == tox21.target_names
    assert list(bunch.data.columns) == tox21.feature_names
    assert bunch.frame.shape == (7831, 1 + 12 + 2048)
    assert bunch.target.isna().to_numpy().sum() == np.isnan(tox21.target).sum()
    X, y = load_tox21(as_frame=True, return_X_y=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.DataFrame)
