"""Precompute the Morgan fingerprints shipped with ``sklearn_mtl.datasets.load_tox21``.

Run once, from the repository root, after ``pip install rdkit`` (RDKit is needed here only, not by
the package)::

    python scripts/make_tox21_fingerprints.py

It reads ``sklearn_mtl/datasets/data/tox21.csv`` and writes
``sklearn_mtl/datasets/data/tox21_morgan2_2048.npz``: the 2048-bit Morgan fingerprints (radius 2,
ECFP4-like) of the 7831 molecules, in the CSV's row order, packed 8 bits per byte with
:func:`numpy.packbits`. Eight aluminium-salt SMILES fail RDKit's sanitization; they are parsed with
``sanitize=False`` (then only their property cache and ring information are computed), so that
every row keeps its fingerprint. The script prints their row numbers and SMILES.
"""

import csv
from pathlib import Path

import numpy as np
import rdkit
from rdkit import Chem, RDLogger
from rdkit.Chem import rdFingerprintGenerator

DATA_DIR = Path(__file__).resolve().parents[1] / "sklearn_mtl" / "datasets" / "data"
RADIUS, N_BITS = 2, 2048


def parse(smiles):
    """The molecule and whether RDKit's full sanitization accepted it."""
    molecule = Chem.MolFromSmiles(smiles)
    if molecule is not None:
        return molecule, True
    molecule = Chem.MolFromSmiles(smiles, sanitize=False)
    if molecule is None:
        raise ValueError(f"RDKit cannot parse {smiles!r} even without sanitization")
    molecule.UpdatePropertyCache(strict=False)
    Chem.FastFindRings(molecule)
    return molecule, False


def main():
    RDLogger.DisableLog("rdApp.*")
    with open(DATA_DIR / "tox21.csv", newline="") as file:
        smiles = [row["smiles"] for row in csv.DictReader(file)]
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=RADIUS, fpSize=N_BITS)
    fingerprints = np.zeros((len(smiles), N_BITS), dtype=np.uint8)
    unsanitized = []
    for row, text in enumerate(smiles):
        molecule, sanitized = parse(text)
        if not sanitized:
            unsanitized.append(row)
        fingerprints[row] = generator.GetFingerprintAsNumPy(molecule)
    np.savez_compressed(
        DATA_DIR / "tox21_morgan2_2048.npz",
        packed_bits=np.packbits(fingerprints, axis=1),
        n_bits=N_BITS,
        radius=RADIUS,
        unsanitized_rows=np.array(unsanitized),
        rdkit_version=rdkit.__version__,
    )
    print(f"{len(smiles)} molecules, {N_BITS}-bit Morgan fingerprints (radius {RADIUS}), RDKit {rdkit.__version__}")
    print(f"mean bits set per molecule: {fingerprints.sum(axis=1).mean():.1f}")
    print(f"{len(unsanitized)} SMILES parsed with sanitize=False:")
    for row in unsanitized:
        print(f"  row {row}: {smiles[row]}")


if __name__ == "__main__":
    main()
