"""y -> encoded values and observed mask: missing markers, per-task classes, errors naming the task."""

import numpy as np
import pandas as pd
import pytest

from sklearn_mtl._targets import (
    as_2d_targets,
    encode_classification_targets,
    encode_regression_targets,
    fit_target_scaler,
    learn_classes,
    missing_mask,
    regression_values,
)


def test_missing_mask_knows_nan_none_pd_na_and_a_marker():
    y = np.array([[1.0, np.nan], [-1.0, 0.0]])
    assert missing_mask(y).tolist() == [[False, True], [False, False]]
    assert missing_mask(y, missing_label=-1).tolist() == [[False, True], [True, False]]
    y_object = np.array([["a", None], [pd.NA, "?"]], dtype=object)
    assert missing_mask(y_object, missing_label="?").tolist() == [[False, True], [True, True]]


def test_a_string_marker_never_matches_numbers():
    assert not missing_mask(np.array([1, 2]), missing_label="?").any()


def test_dataframe_with_nullable_dtypes_gives_task_names_and_mask():
    frame = pd.DataFrame(
        {
            "ints": pd.array([1, None, 0], dtype="Int64"),
            "flags": pd.array([True, False, None], dtype="boolean"),
            "words": pd.array(["x", "y", None], dtype="string"),
        }
    )
    y2d, was_1d, names = as_2d_targets(frame)
    assert not was_1d and names.tolist() == ["ints", "flags", "words"]
    observed = ~missing_mask(y2d)
    assert observed.tolist() == [[True, True, True], [False, True, True], [True, False, False]]
    classes = learn_classes(y2d, observed, names)
    assert [c.tolist() for c in classes] == [[0, 1], [False, True], ["x", "y"]]
    encoded = encode_classification_targets(y2d, observed, classes, names)
    assert encoded.values.tolist() == [[1, 1, 0], [0, 0, 1], [0, 0, 0]]


def test_one_dimensional_y_is_one_task():
    y2d, was_1d, names = as_2d_targets(pd.Series([1, 2, 3], name="target"))
    assert y2d.shape == (3, 1) and was_1d and names is None


def test_classes_are_per_task_and_keep_their_dtype():
    y = np.array([["a", 3], ["b", 1], [None, 2]], dtype=object)
    observed = ~missing_mask(y)
    classes = learn_classes(y, observed)
    assert classes[0].dtype.kind == "U" and classes[0].tolist() == ["a", "b"]
    assert classes[1].dtype.kind == "i" and classes[1].tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    "y, match",
    [
        (np.array([[1.0, np.inf], [0.0, 1.0]]), r"infinity .* task 1"),
        (np.array([[1.0, np.nan], [0.0, np.nan]]), "task 1 has no observed label"),
        (np.array([[0.5, 1.0], [0.25, 0.0]]), "Unknown label type: continuous in task 0"),
        (np.array([[1, 0], ["a", 1]], dtype=object), "task 0 mixes numbers and strings"),
    ],
)
def test_bad_classification_targets_name_the_task(y, match):
    with pytest.raises((ValueError, TypeError), match=match):
        learn_classes(y, ~missing_mask(y))


def test_unseen_label_at_encoding_names_the_task():
    y = np.array([[0.0], [1.0]])
    with pytest.raises(ValueError, match="task 0 has labels \\[2.0\\]"):
        encode_classification_targets(np.array([[2.0]]), np.array([[True]]), learn_classes(y, ~missing_mask(y)))


def test_regression_targets_are_standardized_per_task_on_observed_values():
    y = np.array([[1.0, 100.0], [3.0, np.nan], [np.nan, 300.0], [5.0, 200.0]])
    values = regression_values(y, ~missing_mask(y))
    scaler = fit_target_scaler(values)
    np.testing.assert_allclose(scaler.mean_, [3.0, 200.0])
    encoded = encode_regression_targets(values, scaler)
    assert encoded.values[1, 1] == 0 and encoded.values[2, 0] == 0
    np.testing.assert_allclose(encoded.values[encoded.observed[:, 0], 0].mean(), 0, atol=1e-12)


def test_non_numeric_regression_target_names_the_task():
    y = pd.DataFrame({"price": [1.0, 2.0], "colour": ["red", "blue"]})
    y2d, _, names = as_2d_targets(y)
    with pytest.raises(ValueError, match="task 1 \\('colour'\\) has non-numeric targets"):
        regression_values(y2d, ~missing_mask(y2d), names)
