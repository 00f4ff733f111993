"""The fitted task description: kinds, classes, scaling, encoding, decoding, scores, errors naming the task."""

import datetime
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score, roc_auc_score

from sklearn_mtl._fit_labels import labels_at_door, task_labels
from sklearn_mtl._tasks import (
    Task,
    class_weight_multipliers,
    decode_outputs,
    decode_predictions,
    describe_tasks,
    encode_labels,
    split_outputs,
    stack_predictions,
    task_probabilities,
    validation_scores,
)


def _describe(y, task_types=None, **options):
    """The tasks of y, and its labels as fit's door takes them in."""
    labels, _, names, _ = labels_at_door(np.zeros((len(y), 1)), y, None, np.nan)
    tasks = describe_tasks(task_labels(labels, names), task_types=task_types, task_names=names, **options)
    return tasks, labels


def _encoded(tasks, labels):
    """The labels encoded by the tasks, as a dense block (0 where missing)."""
    block = np.zeros(labels.shape)
    block[labels.rows, labels.tasks] = encode_labels(tasks, labels.values, labels.by_task_)
    return block


def test_dataframe_with_nullable_dtypes_gives_classes_and_encoding():
    frame = pd.DataFrame(
        {
            "ints": pd.array([1, None, 0], dtype="Int64"),
            "flags": pd.array([True, False, None], dtype="boolean"),
            "words": pd.array(["x", "y", None], dtype="string"),
        }
    )
    tasks, labels = _describe(frame, "classification")
    assert [t.classes.tolist() for t in tasks] == [[0, 1], [False, True], ["x", "y"]]
    assert [t.name for t in tasks] == ["ints", "flags", "words"]
    encoded = _encoded(tasks, labels)
    assert encoded.tolist() == [[1, 1, 0], [0, 0, 1], [0, 0, 0]]


def test_classes_are_per_task_and_keep_their_dtype():
    y = np.array([["a", 3], ["b", 1], [None, 2]], dtype=object)
    tasks, _ = _describe(y, "classification")
    assert tasks[0].classes.dtype.kind == "U" and tasks[0].classes.tolist() == ["a", "b"]
    assert tasks[1].classes.dtype.kind == "i" and tasks[1].classes.tolist() == [1, 2, 3]


def test_kinds_are_inferred_with_type_of_target():
    y = pd.DataFrame(
        {
            "age": [31.5, np.nan, 47.25, 22.0],
            "gender": ["f", "m", None, "f"],
            "grade": [1, 2, 3, np.nan],
            "flag": [True, False, None, True],
        }
    )
    tasks, _ = _describe(y)
    assert [t.kind for t in tasks] == ["regression", "classification", "classification", "classification"]
    assert [t.loss for t in tasks] == ["squared_error", "binary_cross_entropy", "cross_entropy", "binary_cross_entropy"]
    assert [t.head_width for t in tasks] == [1, 1, 3, 1]
    assert [t.metric for t in tasks] == ["regression" == t.kind and "r2" or "accuracy" for t in tasks]
    assert tasks[0].label == "task 0 ('age')" and tasks[0].key == "age"


def test_task_types_override_inference_by_name_index_or_list():
    y = pd.DataFrame({"age": [20, 30, 40, 50], "grade": [1, 2, 1, 2]})
    assert [t.kind for t in _describe(y)[0]] == ["classification", "classification"]
    assert [t.kind for t in _describe(y, {"age": "regression"})[0]] == ["regression", "classification"]
    assert [t.kind for t in _describe(y, {0: "regression"})[0]] == ["regression", "classification"]
    assert [t.kind for t in _describe(y, ["regression", "regression"])[0]] == ["regression", "regression"]


def test_many_integer_values_warn_unless_the_kind_is_given():
    y = pd.DataFrame({"age": np.arange(18, 48)})
    with pytest.warns(UserWarning, match="task 0 \\('age'\\) has 30 distinct integer values .* task_types"):
        tasks, _ = _describe(y)
    assert tasks[0].kind == "classification"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _describe(y, {"age": "regression"})[0][0].kind == "regression"


@pytest.mark.parametrize(
    "y, task_types, match",
    [
        (np.array([[1.0, np.inf], [0.0, 1.0]]), "classification", r"infinity .* task 1"),
        (np.array([[1.0, np.nan], [0.0, np.nan]]), None, "task 1 has no observed label"),
        (np.array([[0.5, 1.0], [0.25, 0.0]]), "classification", "Unknown label type: continuous in task 0"),
        (np.array([[1, 0], ["a", 1]], dtype=object), None, "task 0 mixes numbers and strings"),
        (pd.DataFrame({"p": [1.0, 2.0], "colour": ["red", "blue"]}), "regression", "task 1 \\('colour'\\) has non-"),
        (np.array([[0.5], [1.5]]), ["classification", "regression"], "task_types has 2 entries but y has 1 task"),
        (np.array([[0.5], [1.5]]), {"price": "regression"}, "task_types names a task 'price' that y does not have"),
        (np.array([[0.5], [1.5]]), ["text"], "task_types gives task 0 the kind 'text'"),
        (np.array([[0.5], [1.5]]), {0: "classification"}, "Unknown label type: continuous in task 0.*give it"),
    ],
)
def test_bad_targets_name_the_task(y, task_types, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _describe(y, task_types)


def test_a_task_whose_kind_cannot_be_inferred_says_so():
    y = pd.DataFrame({"when": [datetime.date(2020, 1, 1), datetime.date(2021, 1, 1)]}, dtype=object)
    with pytest.raises(ValueError, match="The kind of task 0 \\('when'\\) cannot be inferred .* 'unknown'.*task_types"):
        _describe(y)
    with pytest.raises(TypeError, match="task 0 \\('bytes'\\): Support for labels represented as bytes"):
        _describe(pd.DataFrame({"bytes": [b"x", b"y"]}, dtype=object))


def test_unseen_label_at_encoding_names_the_task():
    tasks, _ = _describe(np.array([[0.0], [1.0]]), "classification")
    with pytest.raises(ValueError, match="task 0 has labels \\[2.0\\]"):
        encode_labels(tasks, np.array([2.0]), [np.array([0])])


def test_regression_targets_are_standardized_per_task_on_observed_values():
    y = np.array([[1.0, 100.0], [3.0, np.nan], [np.nan, 300.0], [5.0, 200.0]])
    tasks, labels = _describe(y, "regression")
    np.testing.assert_allclose([t.mean for t in tasks], [3.0, 200.0])
    np.testing.assert_allclose([t.scale for t in tasks], np.nanstd(y, axis=0))
    encoded = _encoded(tasks, labels)
    assert encoded[1, 1] == 0 and encoded[2, 0] == 0
    np.testing.assert_allclose(encoded[~np.isnan(y[:, 0]), 0].mean(), 0, atol=1e-12)
    np.testing.assert_allclose(decode_outputs(tasks, encoded)[0][[0, 3]], [1.0, 5.0])


def test_regression_scale_follows_row_weights():
    y = np.array([[1.0], [3.0]])
    tasks = describe_tasks([(y[:, 0], np.array([1.0, 3.0]))], task_types="regression")
    assert tasks[0].mean == pytest.approx(2.5)


def test_probabilities_are_distributions_and_decode_picks_the_most_probable_class():
    tasks = [Task(0, "classification", classes=np.array(["a", "b"])), Task(1, "classification", classes=np.arange(4))]
    tasks.append(Task(2, "regression", mean=10.0, scale=2.0))
    outputs = np.random.RandomState(0).normal(size=(6, 6))
    parts = split_outputs(tasks, outputs)
    assert [p.shape[1] for p in parts] == [1, 4, 1]
    probabilities = [task.probabilities(part) for task, part in zip(tasks, parts, strict=True)]
    for p in probabilities[:2]:
        np.testing.assert_allclose(p.sum(axis=1), 1)
    assert probabilities[2] is None
    decoded = decode_outputs(tasks, outputs)
    assert decoded[0].tolist() == np.array(["a", "b"])[probabilities[0].argmax(axis=1)].tolist()
    assert decoded[1].tolist() == probabilities[1].argmax(axis=1).tolist()
    np.testing.assert_allclose(decoded[2], outputs[:, 5] * 2 + 10)
    assert stack_predictions(decoded).dtype == object
    assert stack_predictions(decoded[1:]).dtype == np.float64


def test_one_class_task_always_predicts_its_class():
    with pytest.warns(UserWarning, match="task 0 has only one class"):
        tasks, _ = _describe(np.array([[1.0], [1.0]]), "classification")
    assert tasks[0].head_width == 1
    assert decode_outputs(tasks, np.array([[5.0], [-5.0]]))[0].tolist() == [1.0, 1.0]
    assert tasks[0].probabilities(np.zeros((2, 1))).tolist() == [[1.0], [1.0]]


def _pairs(dense_weights):
    """Each label's row and task where a (rows x tasks) weight is > 0."""
    return np.nonzero(dense_weights > 0)


def test_validation_scores_are_roc_auc_and_r2_on_observed_labels():
    rng = np.random.RandomState(3)
    tasks = [Task(0, "classification", classes=np.arange(3)), Task(1, "regression", mean=0.0, scale=1.0)]
    outputs = rng.normal(size=(200, 4))
    encoded = np.column_stack([rng.randint(3, size=200), rng.normal(size=200)])
    weights = (rng.rand(200, 2) < 0.6) * rng.uniform(0.5, 2, size=(200, 2))
    rows, label_tasks = _pairs(weights)
    scores = validation_scores(
        tasks, outputs, rows, label_tasks, encoded[rows, label_tasks], weights[rows, label_tasks]
    )
    rows = weights[:, 0] > 0
    probabilities = tasks[0].probabilities(outputs[rows, :3])
    expected = roc_auc_score(encoded[rows, 0], probabilities, sample_weight=weights[rows, 0], multi_class="ovr")
    assert scores[0] == pytest.approx(expected)
    rows = weights[:, 1] > 0
    assert scores[1] == pytest.approx(r2_score(encoded[rows, 1], outputs[rows, 3], sample_weight=weights[rows, 1]))


def test_validation_scores_are_nan_where_undefined():
    tasks = [Task(0, "classification", classes=np.arange(2)), Task(1, "regression", mean=0.0, scale=1.0)]
    encoded = np.array([[0, 1.0], [0, 2.0], [0, 3.0]])
    weights = np.array([[1.0, 1.0], [1.0, 0.0], [1.0, 0.0]])  # task 0: one class; task 1: one target
    rows, label_tasks = _pairs(weights)
    scores = validation_scores(tasks, np.zeros((3, 2)), rows, label_tasks, encoded[rows, label_tasks], np.ones(4))
    assert np.isnan(scores).all()


def test_class_weights_apply_to_classification_tasks_only():
    tasks, labels = _describe(pd.DataFrame({"c": [0, 0, 0, 1], "r": [0.5, 1.5, 2.5, 3.5]}))
    encoded = encode_labels(tasks, labels.values, labels.by_task_)
    multipliers = class_weight_multipliers(tasks, "balanced", encoded, labels.weights, labels.by_task_, False)
    np.testing.assert_allclose(multipliers[labels.by_task_[0]], [4 / 6, 4 / 6, 4 / 6, 2.0])
    np.testing.assert_allclose(multipliers[labels.by_task_[1]], 1.0)
    with pytest.raises(ValueError, match="class_weight gives task 1 \\('r'\\) class weights, but it is a regression"):
        class_weight_multipliers(tasks, [None, {0: 1.0}], encoded, labels.weights, labels.by_task_, False)


def test_task_probabilities_of_every_kind_equal_each_tasks_own():
    y = np.array([[0, 0, 1.5, 1], [1, 1, 2.5, 0], [0, 2, 0.5, 1], [1, 0, 1.0, 0]], dtype=float)
    tasks, _ = _describe(y, task_types=["classification", "classification", "regression", "classification"])
    outputs = np.random.RandomState(0).normal(size=(5, sum(task.head_width for task in tasks)))
    together = task_probabilities(tasks, outputs)
    alone = [task.probabilities(part) for task, part in zip(tasks, split_outputs(tasks, outputs), strict=True)]
    assert together[2] is None and alone[2] is None
    for fast, slow in zip(together, alone, strict=True):
        if slow is not None:
            np.testing.assert_allclose(fast, slow, rtol=1e-15)
            assert fast.flags.c_contiguous and fast.shape == slow.shape


@pytest.mark.parametrize(
    "y",
    [
        np.array([[0, 3], [1, 4], [0, 4], [1, 3]]),  # ints: one lookup for every task
        np.array([["a", "x"], ["b", "y"], ["a", "y"], ["b", "x"]], dtype=object),  # strings: one lookup
        np.array([[True, False], [False, True], [True, True], [False, False]]),  # bools: one lookup
        np.array([[0, 1.5], [1, 2.5], [0, 0.5], [1, 1.0]]),  # a regression task: task by task
        pd.DataFrame({"i": [0, 1, 0, 1], "s": ["a", "b", "b", "a"]}),  # two dtypes: task by task
    ],
)
def test_decoded_predictions_equal_each_tasks_own_stacked(y):
    kinds = ["classification", "regression"] if np.asarray(y).dtype == float else "classification"
    tasks, _ = _describe(y, task_types=kinds)
    outputs = np.random.RandomState(0).normal(size=(6, sum(task.head_width for task in tasks)))
    together = decode_predictions(tasks, outputs)
    alone = stack_predictions(decode_outputs(tasks, outputs))
    assert together.dtype == alone.dtype and together.shape == (6, 2)
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(decode_predictions(tasks[:1], outputs[:, :1], y_was_1d=True), alone[:, 0])
