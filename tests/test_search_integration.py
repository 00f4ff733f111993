"""The masked scorers and splitter used the way users use them: searches, pipelines, skorch callbacks, dask."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV, cross_validate
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskRegressor
from sklearn_mtl.metrics import UndefinedTaskScoreWarning, make_masked_scorer, masked_roc_auc_score, task_scorers
from sklearn_mtl.model_selection import MultiTaskStratifiedKFold

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)

N_TASKS = 3
TINY = {"hidden_layer_sizes": (8,), "max_iter": 5, "learning_rate_init": 0.01, "random_state": 0}


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(90, 4))
    y = (X[:, :N_TASKS] + 0.5 * rng.normal(size=(90, N_TASKS)) > 0).astype(float)
    y[rng.rand(90, N_TASKS) < 0.3] = np.nan
    return X, y


def _pipeline(**params):
    return Pipeline([("scale", StandardScaler()), ("clf", MaskedMultiTaskClassifier(**TINY, **params))])


def _scoring():
    return task_scorers("roc_auc", N_TASKS) | {"mean": make_masked_scorer("roc_auc")}


@pytest.fixture(scope="module")
def grid_search(data):
    X, y = data
    calls = []
    original = MaskedMultiTaskClassifier.predict_proba

    def counting_predict_proba(self, X):
        calls.append(len(X))
        return original(self, X)

    search = GridSearchCV(
        _pipeline(),
        {"clf__alpha": [1e-4, 1e-2]},
        scoring=_scoring(),
        refit="mean",
        cv=KFold(3, shuffle=True, random_state=0),
    )
    MaskedMultiTaskClassifier.predict_proba = counting_predict_proba
    try:
        search.fit(X, y)
    finally:
        MaskedMultiTaskClassifier.predict_proba = original
    return search, calls


def test_grid_search_has_per_task_and_mean_columns_and_refits(grid_search, data):
    X, y = data
    search, _ = grid_search
    for name in ["roc_auc_0", "roc_auc_1", "roc_auc_2", "mean"]:
        scores = search.cv_results_[f"mean_test_{name}"]
        assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    per_task = np.column_stack([search.cv_results_[f"split0_test_roc_auc_{t}"] for t in range(N_TASKS)])
    np.testing.assert_allclose(search.cv_results_["split0_test_mean"], per_task.mean(axis=1))
    assert search.best_params_["clf__alpha"] in (1e-4, 1e-2)
    assert search.best_estimator_[-1].n_iter_ == TINY["max_iter"]
    assert search.score(X, y) == pytest.approx(masked_roc_auc_score(y, search.predict_proba(X)))


def test_multimetric_search_calls_predict_proba_once_per_fold(grid_search):
    _, calls = grid_search
    # 2 candidates x 3 folds, although each fold has 4 scorers reading predict_proba
    assert len(calls) == 6


def test_randomized_search_with_multitask_stratified_kfold(data):
    X, y = data
    search = RandomizedSearchCV(
        _pipeline(),
        {"clf__alpha": [1e-4, 1e-3, 1e-2]},
        n_iter=2,
        scoring=_scoring(),
        refit="mean",
        cv=MultiTaskStratifiedKFold(3, shuffle=True, random_state=0),
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedTaskScoreWarning)  # every fold has both classes of every task
        search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_mean"]).all()
    assert search.best_index_ == np.argmax(search.cv_results_["mean_test_mean"])


def test_cross_validate_default_scores(data):
    X, y = data
    cv = KFold(3, shuffle=True, random_state=0)
    classifier_scores = cross_validate(_pipeline(), X, y, cv=cv)["test_score"]
    assert classifier_scores.shape == (3,) and np.all((classifier_scores >= 0) & (classifier_scores <= 1))
    targets = X[:, :2] @ np.array([[1.0, 2.0], [-1.0, 0.5]])
    targets[::4, 0] = np.nan
    regressor = make_pipeline(StandardScaler(), MaskedMultiTaskRegressor(**TINY))
    regressor_scores = cross_validate(regressor, X, targets, cv=3, scoring=make_masked_scorer("r2"))["test_score"]
    assert np.isfinite(regressor_scores).all()


def test_integer_cv_with_nan_labels_is_the_documented_trap(data):
    X, y = data
    with pytest.raises(ValueError, match="Input y contains NaN"):
        cross_validate(_pipeline(), X, y, cv=3)


def test_column_transformer_in_the_pipeline():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(1)
    frame = pd.DataFrame({"x0": rng.normal(size=60), "x1": rng.normal(size=60), "color": rng.choice(["r", "g"], 60)})
    y = pd.DataFrame({"big": (frame.x0 > 0).astype(float), "red": (frame.color == "r").astype(float)})
    y.iloc[::3, 0] = np.nan
    features = ColumnTransformer([("num", StandardScaler(), ["x0", "x1"]), ("cat", OneHotEncoder(), ["color"])])
    model = make_pipeline(features, MaskedMultiTaskClassifier(**TINY))
    scores = cross_validate(
        model, frame, y, cv=KFold(3), scoring=task_scorers("accuracy", ["big", "red"]) | {"mean": "accuracy"}
    )
    assert set(scores) >= {"test_accuracy_big", "test_accuracy_red", "test_mean"}
    assert model.fit(frame, y)[-1].task_names_.tolist() == ["big", "red"]


def test_text_pipeline_with_sparse_inputs():
    docs = ["good great fine", "bad awful poor", "great fun", "poor bad", "fine good fun", "awful terrible"] * 6
    y = np.array([[1, 0], [0, 1], [1, np.nan], [0, 1], [1, 0], [np.nan, 1]] * 6)
    vectorizer = TfidfVectorizer()
    assert sp.issparse(vectorizer.fit_transform(docs))
    model = make_pipeline(TfidfVectorizer(), MaskedMultiTaskClassifier(**TINY))
    search = GridSearchCV(
        model,
        {"tfidfvectorizer__sublinear_tf": [False, True]},
        scoring=_scoring_two(),
        refit="mean",
        cv=KFold(2, shuffle=True, random_state=0),
    )
    search.fit(docs, y)
    assert [p.shape for p in search.predict_proba(docs[:3])] == [(3, 2), (3, 2)]


def _scoring_two():
    return task_scorers("roc_auc", 2) | {"mean": make_masked_scorer("roc_auc")}


def test_epoch_scoring_records_per_task_validation_scores(data):
    from skorch.callbacks import EpochScoring

    X, y = data
    callbacks = [
        EpochScoring(make_masked_scorer("roc_auc", task=t), name=f"valid_auc_{t}", lower_is_better=False)
        for t in range(N_TASKS)
    ]
    model = MaskedMultiTaskClassifier(**{**TINY, "max_iter": 3}, early_stopping=True, callbacks=callbacks)
    model.fit(X, y)
    for t in range(N_TASKS):
        scores = model.history_[:, f"valid_auc_{t}"]
        assert len(scores) == 3 and all(0 <= s <= 1 for s in scores)


@pytest.mark.dask
def test_grid_search_on_a_dask_local_cluster(data):
    distributed = pytest.importorskip("distributed")
    import joblib

    X, y = data
    # processes=False: the two workers are threads of this process on dask's in-process transport
    # (no sockets, and no "Nanny failed to start" outside a __main__ guard)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster),
    ):
        search = GridSearchCV(
            _pipeline(), {"clf__alpha": [1e-4, 1e-2]}, scoring=_scoring(), refit="mean", cv=KFold(2), n_jobs=2
        )
        with joblib.parallel_backend("dask"):
            search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_mean"]).all()
