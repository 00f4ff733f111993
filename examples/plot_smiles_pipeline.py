"""
From SMILES to a multi-task model in one pipeline
=================================================

A chemist's data is a column of SMILES strings and a table of measurements, most of them missing.
:class:`~sklearn_mtl.chem.MolecularFeatures` turns the SMILES into 2048 Morgan (ECFP4) bits and
RDKit's 2D descriptors in their own units; the estimator's ``input_transform="auto"`` leaves the
bits as they are and brings each descriptor to a common scale, so the whole recipe is::

    make_pipeline(MolecularFeatures(), MaskedMultiTaskClassifier())

It needs the optional extra ``chem`` (scikit-fingerprints, which brings RDKit):
``pip install "sklearn-mtl[chem]"``.

Descriptors take about 5 ms a molecule on one core, the network's fit some seconds: to keep this
example near a minute on one thread, it trains on 1500 molecules of each set (600 to test) and uses a first
layer of 256 units. ``benchmarks/bench_chemprop.py`` fits the full defaults on all the training
molecules (user guide, "From SMILES").
"""

# %%
# Tox21: twelve toxicity assays
# -----------------------------
#
# The bundled Tox21 keeps its SMILES (``load_tox21().smiles``). Eight of them are aluminium salts
# that RDKit cannot sanitize; :class:`~sklearn_mtl.chem.MolecularFeatures` would stop at the first
# with an error naming its row, so they are filtered out first.

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from rdkit import Chem
from rdkit.rdBase import BlockLogs
from sklearn.pipeline import make_pipeline

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskRegressor
from sklearn_mtl.chem import MolecularFeatures
from sklearn_mtl.datasets import load_tox21
from sklearn_mtl.metrics import masked_r2_score, masked_roc_auc_score

torch.set_num_threads(1)  # small networks are fastest, and most predictable, on one thread


def readable(smiles):
    """Which SMILES RDKit can parse."""
    with BlockLogs():
        return np.array([Chem.MolFromSmiles(text) is not None for text in smiles])


def split(n_samples, n_train=1500, n_test=600, seed=0):
    order = np.random.RandomState(seed).permutation(n_samples)
    return order[:n_train], order[n_samples - n_test :]


tox21 = load_tox21(as_frame=True)
keep = readable(tox21.smiles)
print(f"{(~keep).sum()} SMILES RDKit cannot read: {list(tox21.smiles[~keep][:2])} ...")
smiles, Y = tox21.smiles[keep].reset_index(drop=True), tox21.target[keep].reset_index(drop=True)
train, test = split(len(smiles))

classifier = make_pipeline(
    MolecularFeatures(), MaskedMultiTaskClassifier(hidden_layer_sizes=(256,), random_state=0)
).fit(smiles[train], Y.iloc[train])
features = classifier.named_steps["molecularfeatures"]
print(f"{features.n_features_out_} features: {features.get_feature_names_out()[[0, 2048, -1]]}")

# %%
# The test molecules go in as SMILES too; the masked metric scores each assay on its observed
# labels.

scores = masked_roc_auc_score(Y.iloc[test], classifier.predict_proba(smiles[test]), average=None)
print(pd.Series(scores, index=Y.columns).round(3).to_string())
print(f"mean ROC-AUC over the assays: {np.mean(scores):.3f}")

# %%
# physchem3: three physico-chemical endpoints in their own units
# --------------------------------------------------------------
#
# Solubility (ESOL), hydration free energy (FreeSolv) and lipophilicity (logD) measured on
# different molecules: almost every molecule has one of the three labels. The SMILES and labels come
# with the repository in ``benchmarks/data`` (made from the chemprop repository's copies of the
# MoleculeNet sets, MIT licence; ``benchmarks/data/README.md`` gives the provenance); they are not
# part of the installed package. The regressor standardizes each target on its observed values.

# benchmarks/data of the repository, seen from its root or from examples/ (where the docs build runs this)
DATA = next(path for path in [Path("benchmarks/data"), Path("../benchmarks/data")] if path.is_dir())
with np.load(DATA / "physchem3_morgan2048.npz", allow_pickle=True) as archive:
    smiles, Y, tasks = archive["smiles"], archive["Y"], archive["tasks"].astype(str)
train, test = split(len(smiles))

regressor = make_pipeline(
    MolecularFeatures(), MaskedMultiTaskRegressor(hidden_layer_sizes=(256,), random_state=0)
).fit(smiles[train], Y[train])
scores = masked_r2_score(Y[test], regressor.predict(smiles[test]), average=None)
print(pd.Series(scores, index=tasks).round(3).to_string())

# %%
# The descriptors carry what the bits say little about. The same pipeline with the bits alone
# (``descriptors=False``) on the same molecules:

bits_only = make_pipeline(
    MolecularFeatures(descriptors=False), MaskedMultiTaskRegressor(hidden_layer_sizes=(256,), random_state=0)
).fit(smiles[train], Y[train])
bits_scores = masked_r2_score(Y[test], bits_only.predict(smiles[test]), average=None)
print(pd.DataFrame({"bits and descriptors": scores, "bits only": bits_scores}, index=tasks).round(3))
