"""MolecularFeatures: SMILES in any common container to Morgan bits and RDKit descriptors."""

import pickle

import numpy as np
import pytest
from joblib.externals.loky import get_reusable_executor
from sklearn.pipeline import make_pipeline

pytest.importorskip("skfp")
pd = pytest.importorskip("pandas")

from sklearn_mtl import MaskedMultiTaskClassifier  # noqa: E402
from sklearn_mtl.chem import MolecularFeatures  # noqa: E402

SMILES = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC", "O=C(O)c1ccccc1", "C1CCCCC1", "CCCCCCCC", "c1ccncc1"]


@pytest.fixture(scope="module")
def fitted():
    return MolecularFeatures().fit(SMILES)


def test_bits_then_descriptors_with_names_matching_the_columns(fitted):
    features = fitted.transform(SMILES)
    names = fitted.get_feature_names_out()
    assert features.shape == (len(SMILES), fitted.n_features_out_) == (len(SMILES), len(names))
    assert fitted.n_features_out_ == 2048 + len(fitted.descriptor_names_) > 2048
    assert features.dtype == np.float64 and np.isfinite(features).all()
    assert set(np.unique(features[:, :2048])) == {0.0, 1.0}
    weights = features[:, 2048 + fitted.descriptor_names_.index("MolWt")]
    assert weights[0] == pytest.approx(46.07, abs=0.01)  # ethanol
    assert names[0] == "ecfp_0" and names[2048] == fitted.descriptor_names_[0]


def test_bits_only_and_descriptors_only():
    bits = MolecularFeatures(descriptors=False, fp_size=64, radius=1).fit_transform(SMILES)
    assert bits.shape == (len(SMILES), 64) and bits.dtype == np.uint8
    descriptors = MolecularFeatures(fp_size=None)
    assert descriptors.fit_transform(SMILES).shape == (len(SMILES), len(descriptors.descriptor_names_))
    with pytest.raises(ValueError, match="no features"):
        MolecularFeatures(fp_size=None, descriptors=False).fit(SMILES)


def test_descriptors_equal_rdkits_calc_mol_descriptors(fitted):
    from rdkit import Chem
    from rdkit.Chem import Descriptors

    # RDKit's own function, one molecule at a time (the E-state indices computed anew for each of the four)
    descriptors = [Descriptors.CalcMolDescriptors(Chem.MolFromSmiles(text)) for text in SMILES]
    assert fitted.descriptor_names_ == list(descriptors[0])
    expected = np.array([list(values.values()) for values in descriptors], dtype=np.float64)
    np.testing.assert_array_equal(fitted.transform(SMILES)[:, 2048:], expected)


def test_each_smiles_is_parsed_once(monkeypatch):
    from rdkit import Chem

    parsed = []
    parse = Chem.MolFromSmiles

    def counting_parse(text, *args, **kwargs):
        parsed.append(text)
        return parse(text, *args, **kwargs)

    monkeypatch.setattr(Chem, "MolFromSmiles", counting_parse)
    monkeypatch.setattr("skfp.utils.validators.MolFromSmiles", counting_parse)  # where the fingerprint parses
    MolecularFeatures().fit_transform(SMILES)
    assert sorted(parsed) == sorted(SMILES)


def test_list_array_series_and_one_column_frame_give_the_same_features(fitted):
    expected = fitted.transform(SMILES)
    frame = pd.DataFrame({"smiles": SMILES})
    for X in [np.array(SMILES, dtype=object), np.array(SMILES), frame["smiles"], frame, np.array(SMILES)[:, None]]:
        np.testing.assert_array_equal(fitted.transform(X), expected)
    named = MolecularFeatures(descriptors=False, fp_size=8).fit(frame)
    assert list(named.feature_names_in_) == ["smiles"]
    assert len(named.get_feature_names_out(["smiles"])) == 8
    with pytest.raises(ValueError, match="input_features"):
        named.get_feature_names_out(["other"])
    assert not hasattr(MolecularFeatures(descriptors=False, fp_size=8).fit(SMILES), "feature_names_in_")


def test_fit_transform_equals_fit_then_transform(fitted):
    np.testing.assert_array_equal(MolecularFeatures().fit_transform(SMILES), fitted.transform(SMILES))


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (["CCO", "not a molecule", "CC"], ValueError, r"row 1: 'not a molecule'"),
        (["CCO", "C1CC"], ValueError, r"row 1: 'C1CC'"),  # an unclosed ring
        (["CCO", None], TypeError, "row 1"),
        ("CCO", TypeError, "not one string"),
        ([], ValueError, "no SMILES"),
        (np.array([["CCO", "CC"]]), ValueError, "1-D"),
    ],
)
def test_bad_input_gets_an_error_naming_the_row(fitted, X, error, match):
    with pytest.raises(error, match=match):
        fitted.transform(X)
    with pytest.raises(error, match=match):
        MolecularFeatures(descriptors=False).fit(X)


def test_two_column_frame_is_refused(fitted):
    with pytest.raises(ValueError, match="one column"):
        fitted.transform(pd.DataFrame({"smiles": SMILES, "other": SMILES}))


def test_non_finite_descriptors_become_the_training_median(fitted, monkeypatch):
    column = fitted.descriptor_names_.index("MolWt")
    weights = fitted.transform(SMILES)[:, 2048 + column]
    from sklearn_mtl import chem

    original = chem._descriptor_rows

    def with_holes(molecules):
        values = original(molecules)
        values[0, column], values[1, column] = np.nan, np.inf
        return values

    monkeypatch.setattr(chem, "_descriptor_rows", with_holes)
    features = fitted.transform(SMILES[:3])
    assert np.isfinite(features).all()
    assert features[0, 2048 + column] == features[1, 2048 + column] == fitted.medians_[column]
    assert fitted.medians_[column] == pytest.approx(np.median(weights))


def test_in_a_pipeline_with_the_classifier_and_pickled():
    y = np.array([[0, 1], [1, np.nan], [0, 0], [1, 1], [np.nan, 0], [0, 1], [1, 0], [0, np.nan]])
    model = make_pipeline(
        MolecularFeatures(fp_size=256),
        MaskedMultiTaskClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0),
    )
    model.fit(SMILES, y)
    assert model.predict(SMILES).shape == y.shape
    assert model[-1].n_features_in_ == model[0].n_features_out_
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(SMILES[:3])[0], model.predict_proba(SMILES[:3])[0])


def test_set_output_pandas_uses_the_feature_names():
    features = MolecularFeatures(descriptors=False, fp_size=16).set_output(transform="pandas")
    table = features.fit_transform(pd.Series(SMILES, name="smiles"))
    assert list(table.columns) == [f"ecfp_{bit}" for bit in range(16)]


def test_bad_parameters_are_refused_by_name():
    with pytest.raises(ValueError, match="fp_size"):
        MolecularFeatures(fp_size=0).fit(SMILES)
    with pytest.raises(ValueError, match="radius"):
        MolecularFeatures(radius=-1).fit(SMILES)


def test_missing_extra_names_the_install_command(monkeypatch):
    import builtins

    from sklearn_mtl import chem

    real_import = builtins.__import__

    def no_skfp(name, *args, **kwargs):
        if name.startswith("skfp"):
            raise ImportError("No module named 'skfp'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_skfp)
    with pytest.raises(ImportError, match=r'pip install "sklearn-mtl\[chem\]"'):
        chem.MolecularFeatures().fit(SMILES)


NON_NUMERIC_CHECKS = [
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
]


@pytest.mark.parametrize("check", NON_NUMERIC_CHECKS)
def test_scikit_learn_checks_that_do_not_need_numeric_input(check):
    from sklearn.utils import estimator_checks

    getattr(estimator_checks, check)("MolecularFeatures", MolecularFeatures())


def test_parallel_features_equal_serial_ones(fitted):
    try:
        parallel = MolecularFeatures(n_jobs=2).fit(SMILES).transform(SMILES)
    finally:
        # joblib keeps its worker processes for later Parallel calls, with this moment's sys.path: a
        # later test that puts a folder on sys.path (test_demo's examples/) would get workers that
        # cannot import from it
        get_reusable_executor().shutdown(wait=True)
    np.testing.assert_array_equal(parallel, fitted.transform(SMILES))
