"""
Serving a multi-task model with ONNX
====================================

A fitted pipeline goes to a service without Python through ONNX: :mod:`sklearn_mtl.onnx`
registers converters for the package's estimators with `skl2onnx
<https://onnx.ai/sklearn-onnx/>`_, so that ``skl2onnx.to_onnx(pipeline, X[:1])`` writes the
whole pipeline, scaler and network, as one graph that onnxruntime runs. The graph is written from
the fitted weights: any batch size goes through it, and double input gives double output. Here a
pipeline with three classification tasks, some labels missing, is exported and its onnxruntime
probabilities are checked against ``predict_proba``; then an ensemble regressor is exported with
the standard deviation of its members. Needs the ``onnx`` extra: ``pip install
"sklearn-mtl[onnx]"``.
"""

# %%
# A pipeline with missing labels
# ------------------------------

import json

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskRegressor
from sklearn_mtl.datasets import make_multitask_classification, make_multitask_regression
from sklearn_mtl.onnx import to_onnx

torch.set_num_threads(1)

X, y = make_multitask_classification(n_samples=600, n_features=10, n_tasks=3, missing_rate=0.3, random_state=0)
pipe = make_pipeline(StandardScaler(), MaskedMultiTaskClassifier(hidden_layer_sizes=(32,), max_iter=30, random_state=0))
pipe.fit(X[:500], y[:500])

# %%
# Export and run
# --------------
#
# :func:`sklearn_mtl.onnx.to_onnx` is ``skl2onnx.to_onnx`` that also writes which task each
# output column is into the model's metadata. The outputs are laid out as skl2onnx lays out a
# ``MultiOutputClassifier``: ``label``, one column per task, and ``probabilities``, a sequence
# with one (n_samples, n_classes) tensor per task.

onx = to_onnx(pipe, X[:1])
session = onnxruntime.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
print([output.name for output in session.get_outputs()])
print(json.loads(session.get_modelmeta().custom_metadata_map["sklearn_mtl.output_tasks"]))

X_new = X[500:]
label, probabilities = session.run(None, {session.get_inputs()[0].name: X_new})
expected = pipe.predict_proba(X_new)
gap = max(np.abs(got - want).max() for got, want in zip(probabilities, expected, strict=True))
print(f"labels equal: {np.array_equal(label, pipe.predict(X_new))}; largest probability gap: {gap:.1e}")

# %%
# The same probabilities, task by task (float64 input: equal to rounding).

fig, ax = plt.subplots(figsize=(4.5, 4))
for task, (got, want) in enumerate(zip(probabilities, expected, strict=True)):
    ax.scatter(want[:, 1], got[:, 1], s=8, label=f"task {task}")
ax.set(xlabel="predict_proba", ylabel="onnxruntime", title="P(class 1) for 100 new rows")
ax.legend()
plt.tight_layout()

# %%
# An ensemble and its uncertainty
# -------------------------------
#
# With ``ensemble_size > 1`` the graph computes every member and their mean, as ``predict``
# does; the option ``return_std`` adds the members' standard deviation, as
# ``predict(X, return_std=True)`` gives it.

X, y = make_multitask_regression(n_samples=400, n_features=10, n_tasks=2, random_state=0)
reg = MaskedMultiTaskRegressor(hidden_layer_sizes=(32,), ensemble_size=3, max_iter=30, random_state=0).fit(X, y)
session = onnxruntime.InferenceSession(
    to_onnx(reg, X[:1], options={"return_std": True}).SerializeToString(), providers=["CPUExecutionProvider"]
)
mean, std = session.run(None, {session.get_inputs()[0].name: X[:5]})
want_mean, want_std = reg.predict(X[:5], return_std=True)
print(f"mean gap {np.abs(mean - want_mean).max():.1e}, std gap {np.abs(std - want_std).max():.1e}")
