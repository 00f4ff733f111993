"""Masked metrics and scorers: each task scored on its observed labels (never imports torch)."""

from ._classification import (
    masked_accuracy_score,
    masked_average_precision_score,
    masked_balanced_accuracy_score,
    masked_f1_score,
    masked_log_loss,
    masked_roc_auc_score,
)
from ._masked import UndefinedTaskScoreWarning, observed_pairs, reduce_task_scores
from ._regression import masked_mean_absolute_error, masked_mean_squared_error, masked_r2_score
from ._scorer import make_masked_scorer, task_scorers

__all__ = [
    "UndefinedTaskScoreWarning",
    "make_masked_scorer",
    "masked_accuracy_score",
    "masked_average_precision_score",
    "masked_balanced_accuracy_score",
    "masked_f1_score",
    "masked_log_loss",
    "masked_mean_absolute_error",
    "masked_mean_squared_error",
    "masked_r2_score",
    "masked_roc_auc_score",
    "observed_pairs",
    "reduce_task_scores",
    "task_scorers",
]
