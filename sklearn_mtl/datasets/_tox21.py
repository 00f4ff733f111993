"""The Tox21 data set shipped with the package: 12 toxicity assays, Morgan fingerprints, missing labels."""

import csv
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_tox21"]

_CSV = "tox21.csv"
_FINGERPRINTS = "tox21_morgan2_2048.npz"


def _data_file(name):
    return resources.files("sklearn_mtl.datasets").joinpath("data", name)


def _read_csv():
    """SMILES (object array), task names and float targets with NaN where a cell is empty."""
    with _data_file(_CSV).open("r", newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        header = next(reader)
        rows = list(reader)
    smiles = np.array([row[0] for row in rows], dtype=object)
    target = np.array([[float(cell) if cell else np.nan for cell in row[1:]] for row in rows])
    return smiles, header[1:], target


def _read_fingerprints():
    with _data_file(_FINGERPRINTS).open("rb") as file, np.load(file) as archive:
        return np.unpackbits(archive["packed_bits"], axis=1, count=int(archive["n_bits"]))


def load_tox21(*, as_frame=False, return_X_y=False):
    """Load the Tox21 data set: 7831 molecules, 12 binary toxicity tasks, 17% of labels missing.

    The features are 2048-bit Morgan fingerprints (radius 2, ECFP4-like) computed once with RDKit
    and shipped with the package, so neither RDKit nor a download is needed. A missing label is NaN.
    See the data set description (``DESCR``) for provenance, licence and reference scores.

    ================= ==============================
    Molecules (rows)  7831
    Features          2048 bits, 0 or 1
    Tasks             12 binary assays
    Missing labels    17% (7% to 26% per task)
    Positive labels   3% to 16% per task
    ================= ==============================

    Parameters
    ----------
    as_frame : bool, default=False
        Return ``data`` and ``target`` as pandas DataFrames (``smiles`` as a Series and ``frame``
        with all columns); requires pandas. The targets are then float columns with NaN.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : ndarray of shape (7831, 2048) and dtype uint8, or DataFrame
            The fingerprint bits.
        target : ndarray of shape (7831, 12) and dtype float64, or DataFrame
            1.0 (active), 0.0 (inactive) or NaN (not measured).
        target_names : list of str
            The 12 task names, ``"NR-AR"`` to ``"SR-p53"``.
        feature_names : list of str
            ``"morgan_0"`` to ``"morgan_2047"``.
        smiles : ndarray of shape (7831,) and dtype object, or Series
            The molecules as SMILES strings.
        frame : DataFrame
            ``smiles``, the targets and the features in one frame; only when ``as_frame=True``.
        DESCR : str
            The description of the data set.

    (data, target) : tuple
        When ``return_X_y=True``.

    Notes
    -----
    Eight aluminium-salt SMILES fail RDKit's sanitization; their fingerprints were computed with
    ``sanitize=False`` and the rows are kept (``DESCR`` lists them). The fingerprints are made by
    ``scripts/make_tox21_fingerprints.py`` in the source repository.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.datasets import load_tox21
    >>> tox21 = load_tox21()
    >>> tox21.data.shape, tox21.target.shape
    ((7831, 2048), (7831, 12))
    >>> tox21.target_names[:3]
    ['NR-AR', 'NR-AR-LBD', 'NR-AhR']
    >>> round(float(np.isnan(tox21.target).mean()), 2)
    0.17
    """
    smiles, target_names, target = _read_csv()
    data = _read_fingerprints()
    feature_names = [f"morgan_{bit}" for bit in range(data.shape[1])]
    frame = None
    if as_frame:
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError("load_tox21(as_frame=True) requires pandas: pip install pandas.") from error
        data = pd.DataFrame(data, columns=feature_names)
        target = pd.DataFrame(target, columns=target_names)
        smiles = pd.Series(smiles, name="smiles", dtype=object)
        frame = pd.concat([smiles, target, data], axis=1)
    if return_X_y:
        return data, target
    descr = resources.files("sklearn_mtl.datasets").joinpath("descr", "tox21.rst").read_text(encoding="utf-8")
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        target_names=target_names,
        feature_names=feature_names,
        smiles=smiles,
        DESCR=descr,
    )
