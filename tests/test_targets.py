"""y as a 2-D array and its missing labels: markers, DataFrames, 1-D y."""

import numpy as np
import pandas as pd

from sklearn_mtl._targets import as_2d_targets, missing_mask


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


def test_one_dimensional_y_is_one_task():
    y2d, was_1d, names = as_2d_targets(pd.Series([1, 2, 3], name="target"))
    assert y2d.shape == (3, 1) and was_1d and names is None
