"""ONNX export (sklearn_mtl/onnx.py): onnxruntime against predict and predict_proba, for every part
a fitted model can hold, batch sizes 1, 2 and more than one predict chunk."""

import json
import pickle

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskEstimator, MaskedMultiTaskRegressor
from sklearn_mtl._predictor import _PREDICT_CHUNK
from sklearn_mtl.modules import MemberEnsembleNet

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")
sklearn_onnx = pytest.importorskip("sklearn_mtl.onnx")

SMALL = dict(hidden_layer_sizes=(8,), max_iter=3, learning_rate_init=0.01, random_state=0)
N_ROWS = _PREDICT_CHUNK + 3  # more rows than one forward pass of predict takes

# short fits, on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _narrow(n_rows=N_ROWS, seed=0):
    """Dense rows whose column 0 takes 4 levels (an ``input_encoding`` column)."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, 4))
    X[:, 0] = rng.randint(0, 4, n_rows) * 0.5
    return X


def _wide(n_rows=N_ROWS, seed=0):
    """Binary rows of 150 columns, 3% non-zero: the package's sparse first layer."""
    return (np.random.RandomState(seed).rand(n_rows, 150) < 0.03).astype(np.float64)


def _with_missing(y, seed=0):
    y = np.array(y, dtype=object if y.dtype.kind in "OUb" else float)
    y[np.random.RandomState(seed).rand(*y.shape) < 0.2] = np.nan
    return y


def _session(onx):
    onnx.checker.check_model(onx, full_check=True)
    return ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])


def _expected(model, X, options):
    """What the ONNX outputs must equal, by name, from the model's own predict and predict_proba."""
    est = sklearn_onnx._final_estimator(model)
    layout = sklearn_onnx._layout(est, {**sklearn_onnx._DEFAULTS, **options})
    prediction = model.predict(X)
    columns = prediction.reshape(len(X), -1)
    probabilities = model.predict_proba(X) if hasattr(model, "predict_proba") else None
    if est._y_was_1d and probabilities is not None:
        probabilities = [probabilities]
    expected = {}
    for name, kind, tasks in layout:
        indices = [task.index for task in tasks]
        if kind == "label":
            labels = columns[:, indices]
            dtype = sklearn_onnx.label_dtype(tasks)
            if dtype.kind != "O":  # a mixed model's predict stacks its classes with its regression targets
                labels = labels.astype(dtype)
            expected[name] = labels.ravel() if est._y_was_1d else labels
        elif kind == "probabilities":
            expected[name] = [probabilities[index] for index in indices]
        elif kind == "probability":
            expected[name] = probabilities[indices[0]]
        elif kind == "variable":
            expected[name] = columns[:, indices].astype(float)
        else:
            expected[name] = model.predict(X, return_std=True)[1].reshape(len(X), -1)[:, indices]
    return expected


def _assert_exported(model, X, options=None, atol=1e-10, sizes=(1, 2, None)):
    """Export ``model`` for X's dtype and compare onnxruntime with the package at each batch size;
    returns the session."""
    options = options or {}
    onx = sklearn_onnx.to_onnx(model, X[:1], options=options)
    session = _session(onx)
    names = [output.name for output in session.get_outputs()]
    for size in sizes:
        rows = X[:size]
        got = dict(zip(names, session.run(None, {session.get_inputs()[0].name: rows}), strict=True))
        expected = _expected(model, rows.astype(np.float64), options)
        assert sorted(got) == sorted(expected)
        for name, want in expected.items():
            if isinstance(want, list):
                assert len(got[name]) == len(want)
                for got_task, want_task in zip(got[name], want, strict=True):
                    assert got_task.dtype == X.dtype
                    np.testing.assert_allclose(got_task, want_task, rtol=0, atol=atol, err_msg=name)
            elif want.dtype.kind in "Ob":
                assert got[name].dtype == want.dtype or want.dtype == object
                np.testing.assert_array_equal(got[name], want.astype(str) if want.dtype == object else want)
            elif name.startswith(("variable", "probabilities")):
                assert got[name].dtype == X.dtype
                # float32 holds a regression target of 100 to 8e-6: its values get a relative term too
                rtol = 1e-6 if X.dtype == np.float32 and name.startswith("variable") else 0
                np.testing.assert_allclose(got[name], want, rtol=rtol, atol=atol, err_msg=name)
            else:  # labels
                assert got[name].dtype == want.dtype
                np.testing.assert_array_equal(got[name], want, err_msg=name)
    return onx, session


# -- fitted models, once per module ----------------------------------------------------------------
@pytest.fixture(scope="module")
def binary_classifier():
    X = _narrow()
    y = _with_missing(np.column_stack([X[:, 1] > 0, X[:, 2] + X[:, 0] > 0.5, X[:, 3] > 0.3]).astype(float))
    return MaskedMultiTaskClassifier(**SMALL).fit(X, y), X


@pytest.fixture(scope="module")
def fingerprint_classifier():
    X = _wide()
    y = _with_missing((X[:, :12] + X[:, 12:24] > 0).astype(float))
    clf = MaskedMultiTaskClassifier(**SMALL).fit(X, y)
    assert clf.net_.module_.sparse_layer is not None  # the sparse first layer is what this covers
    return clf, X


def test_binary_tasks_with_indicator_levels(binary_classifier):
    clf, X = binary_classifier
    assert clf.input_levels_  # column 0's levels are appended as indicators
    onx, _ = _assert_exported(clf, X)
    assert [output.name for output in onx.graph.output] == ["label", "probabilities"]


@pytest.mark.parametrize("dense_first_layer", [False, True])
def test_sparse_first_layer(fingerprint_classifier, dense_first_layer):
    """Written as the sum of the weight rows of each row's non-zeros, or as a dense product."""
    clf, X = fingerprint_classifier
    X = X.copy()
    X[1] = 0  # a row without non-zeros
    onx, _ = _assert_exported(clf, X, options={"dense_first_layer": dense_first_layer})
    operators = {node.op_type for node in onx.graph.node}
    assert ("ScatterND" in operators) != dense_first_layer


def test_sparse_first_layer_before_opset_16_is_a_dense_product(fingerprint_classifier):
    clf, X = fingerprint_classifier
    onx = sklearn_onnx.to_onnx(clf, X[:1], target_opset=15)
    assert "ScatterND" not in {node.op_type for node in onx.graph.node}
    session = _session(onx)
    probabilities = session.run(None, {session.get_inputs()[0].name: X[:50]})[1]
    np.testing.assert_allclose(np.hstack(probabilities), np.hstack(clf.predict_proba(X[:50])), rtol=0, atol=1e-10)


def test_float32_input_keeps_float32(fingerprint_classifier):
    clf, X = fingerprint_classifier
    _assert_exported(clf, X.astype(np.float32), atol=1e-5)


@pytest.mark.parametrize("kind", ["strings", "bools", "ints"])
def test_class_labels_keep_their_type(kind):
    X = _narrow(300)
    raw = np.column_stack([np.digitize(X[:, 1], [-0.5, 0.5]), X[:, 2] > 0, X[:, 3] > 0])
    if kind == "strings":  # a multiclass task of strings beside a bool and an int task
        y = np.column_stack([np.array(["low", "mid", "high"])[raw[:, 0]], raw[:, 1].astype(bool), raw[:, 2]])
        y = y.astype(object)
        y[:, 1] = raw[:, 1].astype(bool)
        y[:, 2] = raw[:, 2].astype(int)
    elif kind == "bools":
        y = raw[:, 1:].astype(bool)
    else:
        y = raw.astype(np.int64) + 3
    clf = MaskedMultiTaskClassifier(**SMALL).fit(X, y)
    _, session = _assert_exported(clf, X)
    label_type = session.get_outputs()[0].type
    assert label_type == {"strings": "tensor(string)", "bools": "tensor(bool)", "ints": "tensor(int64)"}[kind]


def test_per_task_probabilities_option(binary_classifier):
    clf, X = binary_classifier
    onx, _ = _assert_exported(clf, X[:50], options={"per_task_probabilities": True})
    assert [output.name for output in onx.graph.output] == ["label"] + [f"probabilities_{t}" for t in range(3)]


def test_one_dimensional_y():
    X = _narrow(300)
    clf = MaskedMultiTaskClassifier(**SMALL).fit(X, np.digitize(X[:, 1], [-0.5, 0.5]))
    _, session = _assert_exported(clf, X)
    assert [output.type for output in session.get_outputs()] == ["tensor(int64)", "tensor(double)"]
    reg = MaskedMultiTaskRegressor(**SMALL).fit(X, X[:, 1] * 3)
    _assert_exported(reg, X)


def test_towers_and_multiclass_heads():
    X = _narrow(300)
    y = np.column_stack([np.digitize(X[:, 1], [-0.5, 0.5]), X[:, 2] > 0, np.digitize(X[:, 3], [-1, 0, 1])])
    clf = MaskedMultiTaskClassifier(**{**SMALL, "hidden_layer_sizes": (8, 6, 5)}, n_shared_layers=1)
    _assert_exported(clf.fit(X, _with_missing(y.astype(float))), X)
    no_sharing = MaskedMultiTaskRegressor(**{**SMALL, "hidden_layer_sizes": (6,)}, n_shared_layers=0)
    _assert_exported(no_sharing.fit(X, _with_missing(X[:, 1:] * 2)), X)


@pytest.mark.parametrize("n_shared_layers", [None, 1])
def test_added_tasks(n_shared_layers):
    X = _narrow(300)
    clf = MaskedMultiTaskClassifier(**{**SMALL, "hidden_layer_sizes": (8, 6)}, n_shared_layers=n_shared_layers)
    clf.fit(X, _with_missing((X[:, 1:3] > 0).astype(float)))
    clf.add_tasks(X, np.column_stack([X[:, 3] > 0, np.digitize(X[:, 1] - X[:, 2], [-1, 1])]).astype(float))
    assert len(clf.net_.module_.added) == 1
    _assert_exported(clf, X)


def test_mixed_estimator_with_string_classes():
    X = _narrow()
    y = np.empty((len(X), 3), dtype=object)
    y[:, 0] = np.where(X[:, 1] > 0, "active", "inactive")
    y[:, 1] = X[:, 2] * 10 + 5
    y[:, 2] = np.array(["a", "b", "c"])[np.digitize(X[:, 3], [-0.5, 0.5])]
    y[np.random.RandomState(1).rand(*y.shape) < 0.2] = None
    est = MaskedMultiTaskEstimator(**SMALL).fit(X, y)
    assert [task.kind for task in est.tasks_] == ["classification", "regression", "classification"]
    onx, _ = _assert_exported(est, X, atol=1e-9)
    metadata = {prop.key: json.loads(prop.value) for prop in onx.metadata_props}
    assert metadata["sklearn_mtl.output_tasks"] == {
        "label": ["task_0", "task_2"],
        "probabilities": ["task_0", "task_2"],
        "variable": ["task_1"],
    }


def test_mixed_estimator_with_integer_classes_keeps_them_integers():
    X = _narrow(300)
    y = np.empty((len(X), 2), dtype=object)  # each column keeps its type: integer classes, float targets
    y[:, 0] = np.digitize(X[:, 1], [-0.5, 0.5]) + 1
    y[:, 1] = X[:, 2] * 3
    est = MaskedMultiTaskEstimator(**SMALL, task_types=["classification", "regression"]).fit(X, y)
    assert est.classes_[0].dtype.kind == "i"
    assert est.predict(X[:2]).dtype == np.float64  # predict stacks the classes with the targets
    _, session = _assert_exported(est, X)
    assert [output.type for output in session.get_outputs()][0] == "tensor(int64)"


def test_ensemble_regressor_in_a_pipeline_with_its_std():
    X = _narrow()
    y = _with_missing(np.column_stack([X[:, 1] * 5 + 100, X[:, 2] - X[:, 3]]))
    pipe = make_pipeline(StandardScaler(), MaskedMultiTaskRegressor(**SMALL, ensemble_size=3)).fit(X, y)
    _assert_exported(pipe, X, options={"return_std": True}, atol=1e-9)
    _assert_exported(pipe, X.astype(np.float32), options={"return_std": True}, atol=1e-5)


def test_ensemble_with_a_shared_sparse_first_layer():
    X = _wide(600)
    y = np.column_stack([X[:, :10].sum(axis=1) > 0, np.digitize(X[:, 10:40].sum(axis=1), [0.5, 1.5])])
    clf = MaskedMultiTaskClassifier(**SMALL, ensemble_size=3).fit(X, _with_missing(y.astype(float)))
    assert clf.net_.module_.shared_input_weight
    _assert_exported(clf, X)
    _assert_exported(clf, X[:100], options={"dense_first_layer": True})
    mixed = MaskedMultiTaskEstimator(**SMALL, ensemble_size=3, task_types=["classification", "regression"]).fit(
        X, np.column_stack([y[:, 0].astype(float), X[:, :20].sum(axis=1)])
    )
    _assert_exported(mixed, X, options={"return_std": True})


def test_ensemble_with_own_sparse_first_layers(fingerprint_classifier):
    """Members that each own their first layer's weight and read non-zeros (a module set by hand)."""
    clf, X = fingerprint_classifier
    clf = pickle.loads(pickle.dumps(clf))
    fitted = clf.net_.module_
    members = MemberEnsembleNet(
        n_features=X.shape[1],
        n_outputs=fitted.heads.out_features,
        n_members=3,
        hidden_layer_sizes=(8,),
        losses=[task.loss for task in clf.tasks_],
        sparse_input=True,
    )
    clf.net_.module_ = members.eval()
    _assert_exported(clf, X[:300])


def test_pickled_pipeline(binary_classifier):
    _, X = binary_classifier
    y = _with_missing(np.column_stack([X[:, 1] > 0, X[:, 2] > 0]).astype(float))
    pipe = make_pipeline(StandardScaler(), MaskedMultiTaskClassifier(**SMALL)).fit(X[:1000], y[:1000])
    _assert_exported(pickle.loads(pickle.dumps(pipe)), X)


def test_plain_skl2onnx_call_converts(binary_classifier):
    clf, X = binary_classifier
    onx = skl2onnx.to_onnx(clf, X[:1])
    session = _session(onx)
    label, probabilities = session.run(None, {session.get_inputs()[0].name: X[:5]})
    np.testing.assert_array_equal(label, clf.predict(X[:5]))
    np.testing.assert_allclose(np.hstack(probabilities), np.hstack(clf.predict_proba(X[:5])), rtol=0, atol=1e-10)


def test_input_transform_is_applied_before_the_network():
    X = _narrow()
    X[:, 1] = np.exp(4 * X[:, 1])  # heavy-tailed: read through asinh
    X[:, 2] = 1000 + 300 * X[:, 2]  # in its own units: standardized
    y = _with_missing(np.column_stack([np.log(X[:, 1]) > 0, X[:, 2] + 300 * X[:, 0] > 1150]).astype(float))
    clf = MaskedMultiTaskClassifier(**SMALL).fit(X, y)
    scaling = clf.input_transform_
    assert scaling.compress[1] and not scaling.compress[2] and scaling.scale[2] > 100 and clf.input_levels_
    _assert_exported(clf, X)
    _assert_exported(clf, X.astype(np.float32), atol=1e-5)
    reg = MaskedMultiTaskRegressor(**SMALL).fit(X, np.log(X[:, 1]) + X[:, 2] / 300)
    _assert_exported(reg, X)


def test_refusals(binary_classifier):
    clf, X = binary_classifier
    with pytest.raises(ValueError, match="not fitted"):
        skl2onnx.to_onnx(MaskedMultiTaskClassifier(), X[:1])
    with pytest.raises(ValueError, match="return_std"):
        sklearn_onnx.to_onnx(clf, X[:1], options={"return_std": True})
    with pytest.raises(ValueError, match="target_opset >= 13"):
        skl2onnx.to_onnx(clf, X[:1], target_opset=12)

    class Custom(nn.Module):
        def __init__(self, n_features, n_outputs):
            super().__init__()
            self.linear = nn.Linear(n_features, n_outputs)

        def forward(self, X):
            return self.linear(X)

    custom = MaskedMultiTaskClassifier(module=Custom, max_iter=1, random_state=0)
    custom.fit(X[:100], (X[:100, 1:3] > 0).astype(float))
    with pytest.raises(ValueError, match="custom module"):
        skl2onnx.to_onnx(custom, X[:1])
