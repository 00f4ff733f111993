"""
Hyperparameter search with missing labels
=========================================

:class:`~sklearn.model_selection.GridSearchCV` works with
:class:`~sklearn_mtl.MaskedMultiTaskClassifier` as with any scikit-learn classifier, with two
things to get right when labels are missing:

1. **the splitter**: pass one explicitly. With an integer ``cv``, scikit-learn inspects ``y``
   for a classifier before the estimator sees it, and a ``y`` holding NaN fails with
   ``Input y contains NaN``. :class:`~sklearn_mtl.model_selection.MultiTaskStratifiedKFold`
   stratifies on the observed labels of every task at once;
2. **the scorers**: scikit-learn's scorers reject NaN in ``y``.
   :func:`~sklearn_mtl.metrics.task_scorers` gives one masked scorer per task (each task scored on
   its observed rows) and :func:`~sklearn_mtl.metrics.make_masked_scorer` their mean, which
   ``refit`` can then optimize.
"""

# %%
# Data with missing labels
# ------------------------
#
# Four related binary tasks; each label is missing with probability 0.4.

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MaskedMultiTaskClassifier
from sklearn_mtl.datasets import make_multitask_classification
from sklearn_mtl.metrics import make_masked_scorer, masked_roc_auc_score, task_scorers
from sklearn_mtl.model_selection import MultiTaskStratifiedKFold

torch.set_num_threads(1)  # small networks are fastest, and most predictable, on one thread
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = make_multitask_classification(
    n_samples=1000, n_features=20, n_tasks=4, task_relatedness=0.8, noise=1.0, missing_rate=0.4, random_state=0
)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
print(f"observed labels per task in training: {(~np.isnan(y_train)).sum(axis=0)}")

# %%
# The search
# ----------
#
# Two regularization strengths times two widths, three folds. The dictionary of scorers has one
# entry per task plus the mean; ``refit="mean"`` refits the best mean on all training rows.

pipeline = make_pipeline(
    StandardScaler(),
    MaskedMultiTaskClassifier(max_iter=40, batch_size=64, learning_rate_init=3e-3, random_state=0),
)
n_tasks = y.shape[1]
scoring = task_scorers("roc_auc", n_tasks) | {"mean": make_masked_scorer("roc_auc")}
search = GridSearchCV(
    pipeline,
    {
        "maskedmultitaskclassifier__alpha": [1e-4, 1.0],
        "maskedmultitaskclassifier__hidden_layer_sizes": [(16,), (64,)],
    },
    scoring=scoring,
    refit="mean",
    cv=MultiTaskStratifiedKFold(n_splits=3, shuffle=True, random_state=0),
)
search.fit(X_train, y_train)

results = pd.DataFrame(search.cv_results_)
table = pd.DataFrame(
    {
        "alpha": results["param_maskedmultitaskclassifier__alpha"],
        "hidden": results["param_maskedmultitaskclassifier__hidden_layer_sizes"].astype(str),
        **{f"auc task {task}": results[f"mean_test_roc_auc_{task}"].round(3) for task in range(n_tasks)},
        "mean": results["mean_test_mean"].round(3),
        "rank": results["rank_test_mean"],
    }
)
print(table.to_string(index=False))
print("best:", search.best_params_)

# %%
# Per-task scores of each candidate
# ---------------------------------
#
# The mean hides how each task fares: the bars show the cross-validated ROC-AUC of every task for
# every candidate.

fig, ax = plt.subplots(figsize=(7, 3.5))
width = 0.8 / len(results)
for row, (_, candidate) in enumerate(results.iterrows()):
    label = (
        f"alpha={candidate['param_maskedmultitaskclassifier__alpha']}, "
        f"hidden={candidate['param_maskedmultitaskclassifier__hidden_layer_sizes']}"
    )
    scores = [candidate[f"mean_test_roc_auc_{task}"] for task in range(n_tasks)]
    ax.bar(np.arange(n_tasks) + row * width, scores, width, label=label)
ax.set_xticks(np.arange(n_tasks) + 0.4 - width / 2, [f"task {task}" for task in range(n_tasks)])
ax.set_ylim(0.5, 1.0)
ax.set_ylabel("cross-validated ROC-AUC")
ax.legend(fontsize=7, loc="lower right")
fig.tight_layout()

# %%
# The refitted model on held-out data
# -----------------------------------
#
# The masked metrics score each task on its observed test labels.

per_task = masked_roc_auc_score(y_test, search.predict_proba(X_test), average=None)
print("test ROC-AUC per task:", np.round(per_task, 3), "mean:", round(float(per_task.mean()), 3))
