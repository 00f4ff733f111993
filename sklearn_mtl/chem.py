"""From SMILES strings to the features the estimators read: Morgan (ECFP) bits and RDKit's 2D descriptors.

:class:`MolecularFeatures` is a scikit-learn transformer, so that
``make_pipeline(MolecularFeatures(), MaskedMultiTaskRegressor())`` goes from a column of SMILES to a
fitted multi-task model. scikit-fingerprints (``skfp``, which brings RDKit) is the optional extra
``chem``: ``pip install "sklearn-mtl[chem]"``; it is imported when the transformer is first used.
"""

import numbers
from functools import partial

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._sklearn_compat import Interval, _fit_context

__all__ = ["MolecularFeatures"]

_INSTALL_HINT = 'MolecularFeatures needs scikit-fingerprints (and RDKit): pip install "sklearn-mtl[chem]"'


def _import_chem():
    """skfp's ECFP transformer and RDKit's ``Chem``, with the install hint when missing."""
    try:
        from rdkit import Chem
        from skfp.fingerprints import ECFPFingerprint
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error
    return ECFPFingerprint, Chem


def _smiles_column(X):
    """The SMILES of a list, a 1-D array, a pandas Series or a one-column table, as a 1-D object array."""
    if hasattr(X, "columns"):  # a DataFrame: one column of SMILES
        if X.shape[1] != 1:
            raise ValueError(
                f"MolecularFeatures takes one column of SMILES; X has {X.shape[1]} columns. "
                "Select the SMILES column (for example X['smiles'] or X[['smiles']])."
            )
        X = X.iloc[:, 0]
    if isinstance(X, str):
        raise TypeError("MolecularFeatures takes a sequence of SMILES strings, not one string: wrap it in a list.")
    smiles = np.asarray(X, dtype=object)
    if smiles.ndim == 2 and smiles.shape[1] == 1:
        smiles = smiles[:, 0]
    if smiles.ndim != 1:
        raise ValueError(f"MolecularFeatures takes a 1-D sequence of SMILES; X has shape {smiles.shape}.")
    if len(smiles) == 0:
        raise ValueError("MolecularFeatures got no SMILES (0 rows).")
    for row, value in enumerate(smiles):
        if not isinstance(value, str):
            raise TypeError(f"SMILES at row {row} is {value!r} of type {type(value).__name__}, not a string.")
    return smiles


# RDKit computes the E-state indices anew for each of these four (force=1) and keeps them on the
# molecule; force=0 lets the last three read what the first computed: the same values. With the
# descriptors called in a plain loop (CalcMolDescriptors builds a dict per molecule), the 217 took
# 6-24% less CPU than CalcMolDescriptors (four timings on physchem3 and Tox21 molecules, RDKit 2026.03)
_ESTATE_DESCRIPTORS = frozenset({"MaxAbsEStateIndex", "MaxEStateIndex", "MinAbsEStateIndex", "MinEStateIndex"})


def _descriptor_rows(molecules):
    """RDKit's 2D descriptors of each molecule, float64, NaN where RDKit fails on one."""
    from rdkit.Chem import Descriptors
    from rdkit.rdBase import BlockLogs

    functions = [
        partial(function, force=0) if name in _ESTATE_DESCRIPTORS else function
        for name, function in Descriptors.descList
    ]
    rows = np.full((len(molecules), len(functions)), np.nan)
    with BlockLogs():  # RDKit's warnings on odd atoms, one line per molecule, would flood a fit's output
        for row, molecule in zip(rows, molecules, strict=True):
            for column, function in enumerate(functions):
                try:
                    row[column] = function(molecule)
                except Exception:  # as CalcMolDescriptors: a descriptor RDKit cannot compute is missing
                    continue
    return rows


class MolecularFeatures(TransformerMixin, BaseEstimator):
    """Morgan (ECFP) fingerprint bits and RDKit's 2D descriptors of SMILES strings.

    The first step of ``make_pipeline(MolecularFeatures(), MaskedMultiTaskClassifier())``: it reads
    one SMILES per row (a list, a 1-D array, a pandas Series or a one-column DataFrame) and returns
    ``fp_size`` Morgan bits (scikit-fingerprints' ``ECFPFingerprint``) followed by RDKit's 2D
    descriptors (``rdkit.Chem.Descriptors.descList``, 217 with RDKit 2026.03) in their own units:
    the estimators' ``input_transform="auto"`` leaves the bits as they are and brings each
    descriptor to a common scale, so nothing else goes in between. The descriptors are RDKit's own
    functions, in float64, rather than scikit-fingerprints' ``RDKit2DDescriptorsFingerprint``, which
    returns float32, where ``Ipc`` (up to 1e199) overflows to infinity.

    The default, bits and all of RDKit's descriptors, was chosen on validation splits of Tox21 and
    physchem3 (user guide, "From SMILES"): descriptors carry what bits say little about
    (solubility, lipophilicity), at about 5 to 7 ms of CPU a molecule, where the bits take 0.05 ms;
    leaving out the slowest ones (``qed``, ``BCUT2D_*``, ``BertzCT``, ``SPS``, ``Ipc``,
    ``AvgIpc``) scored lower there. Each SMILES is parsed once, for the bits and the descriptors.

    Parameters
    ----------
    descriptors : bool, default=True
        Append RDKit's 2D descriptors to the bits (the values of ``Descriptors.CalcMolDescriptors``).
        A descriptor that RDKit cannot compute for a molecule, or that is not finite, is replaced by
        that descriptor's median over the molecules given to ``fit`` (``medians_``), so the
        estimator never reads NaN or infinity.
    fp_size : int or None, default=2048
        Number of Morgan fingerprint bits; ``None`` for descriptors only.
    radius : int, default=2
        Radius of the Morgan fingerprint (2: ECFP4).
    n_jobs : int or None, default=None
        Processes computing the features (joblib's meaning: ``None`` is 1, ``-1`` all cores).

    Attributes
    ----------
    n_features_in_ : int
        1, the SMILES column.
    feature_names_in_ : ndarray of shape (1,)
        The name of the SMILES column, when ``fit`` was given a DataFrame.
    n_features_out_ : int
        Number of output features.
    descriptor_names_ : list of str
        Names of the descriptor columns (empty without descriptors).
    medians_ : ndarray of shape (n_descriptors,)
        Each descriptor's median over the finite values seen by ``fit`` (0 where it had none): what
        replaces a value that is NaN or infinite.

    See Also
    --------
    sklearn_mtl.MaskedMultiTaskClassifier, sklearn_mtl.MaskedMultiTaskRegressor : the estimators
        that read these features.

    Notes
    -----
    A SMILES that RDKit cannot parse (or sanitize) raises a ``ValueError`` naming its row and the
    string; filter such rows out first, for example
    ``[Chem.MolFromSmiles(s) is not None for s in smiles]`` with ``from rdkit import Chem``
    (Tox21 has eight aluminium salts that fail RDKit's sanitization).

    The output is uint8 with bits only, float64 otherwise.

    Examples
    --------
    >>> from sklearn_mtl.chem import MolecularFeatures
    >>> features = MolecularFeatures().fit(["CCO", "c1ccccc1O"])
    >>> features.transform(["CCN"]).shape
    (1, 2265)
    >>> features.get_feature_names_out()[[0, 2048]]
    array(['ecfp_0', 'MaxAbsEStateIndex'], dtype=object)
    """

    _parameter_constraints = {
        "descriptors": ["boolean"],
        "fp_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "radius": [Interval(numbers.Integral, 0, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(self, *, descriptors=True, fp_size=2048, radius=2, n_jobs=None):
        self.descriptors = descriptors
        self.fp_size = fp_size
        self.radius = radius
        self.n_jobs = n_jobs

    def _molecules(self, smiles, Chem):
        molecules = []
        for row, text in enumerate(smiles):
            molecule = Chem.MolFromSmiles(text)
            if molecule is None:
                raise ValueError(
                    f"RDKit cannot parse the SMILES at row {row}: {text!r}. Remove the rows RDKit cannot read "
                    "before MolecularFeatures (rdkit.Chem.MolFromSmiles returns None for them)."
                )
            molecules.append(molecule)
        return molecules

    def _features(self, X):
        """The molecules' bits and raw descriptors (NaN where RDKit failed), and the descriptor names."""
        ECFPFingerprint, Chem = _import_chem()
        from rdkit.Chem import Descriptors
        from rdkit.rdBase import BlockLogs

        smiles = _smiles_column(X)
        with BlockLogs():  # RDKit's own parse messages would duplicate the error below
            molecules = self._molecules(smiles, Chem)
        blocks = []
        if self.fp_size is not None:
            fingerprint = ECFPFingerprint(fp_size=self.fp_size, radius=self.radius, n_jobs=self.n_jobs)
            blocks.append(fingerprint.transform(molecules))
        names = []
        if self.descriptors:
            names = [name for name, _ in Descriptors.descList]
            n_chunks = max(1, min(len(molecules), effective_n_jobs(self.n_jobs)))
            chunks = np.array_split(np.arange(len(molecules)), n_chunks)
            parts = Parallel(n_jobs=self.n_jobs)(
                delayed(_descriptor_rows)([molecules[i] for i in chunk]) for chunk in chunks
            )
            blocks.append(np.vstack(parts))
        return blocks, names

    def _record_input_name(self, X):
        columns = getattr(X, "columns", None)
        if columns is not None and len(columns) == 1 and isinstance(columns[0], str):
            self.feature_names_in_ = np.asarray(columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _assemble(self, blocks):
        if not self.descriptors:
            return blocks[0]
        descriptors = blocks[-1]
        not_finite = ~np.isfinite(descriptors)
        if not_finite.any():
            descriptors = np.where(not_finite, self.medians_, descriptors)
        return np.hstack([block.astype(np.float64, copy=False) for block in blocks[:-1]] + [descriptors])

    def _fit_blocks(self, X):
        if self.fp_size is None and not self.descriptors:
            raise ValueError("MolecularFeatures with fp_size=None and descriptors=False has no features to give.")
        self._record_input_name(X)
        blocks, names = self._features(X)
        self.n_features_in_ = 1
        self.descriptor_names_ = names
        self.medians_ = np.zeros(len(names))
        if self.descriptors:
            finite = np.where(np.isfinite(blocks[-1]), blocks[-1], np.nan)
            has_finite = np.isfinite(finite).any(axis=0)
            self.medians_[has_finite] = np.nanmedian(finite[:, has_finite], axis=0)
        self.n_features_out_ = (self.fp_size or 0) + len(names)
        return blocks

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check that RDKit reads every SMILES and learn the descriptors' medians.

        Parameters
        ----------
        X : list, ndarray of shape (n_samples,), Series or DataFrame with one column
            SMILES strings.
        y : None
            Ignored.

        Returns
        -------
        self : MolecularFeatures
        """
        self._fit_blocks(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit and return the features of X, computing them once.

        Parameters
        ----------
        X : list, ndarray of shape (n_samples,), Series or DataFrame with one column
            SMILES strings.
        y : None
            Ignored.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out)
        """
        return self._assemble(self._fit_blocks(X))

    def transform(self, X):
        """The features of X.

        Parameters
        ----------
        X : list, ndarray of shape (n_samples,), Series or DataFrame with one column
            SMILES strings.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out)
            uint8 bits only, float64 with descriptors.
        """
        check_is_fitted(self, "n_features_out_")
        blocks, _ = self._features(X)
        return self._assemble(blocks)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features: ``ecfp_<bit>``, then the descriptors' names.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored except for validation: one name, that of the SMILES column when ``fit`` saw one.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self, "n_features_out_")
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            if len(input_features) != 1:
                raise ValueError(f"input_features should have length 1 (the SMILES column), got {len(input_features)}")
            if hasattr(self, "feature_names_in_") and input_features[0] != self.feature_names_in_[0]:
                raise ValueError(
                    f"input_features is not equal to feature_names_in_: {input_features!r} != "
                    f"{self.feature_names_in_!r}"
                )
        bits = [f"ecfp_{bit}" for bit in range(self.fp_size or 0)]
        return np.asarray(bits + list(self.descriptor_names_), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        return tags
