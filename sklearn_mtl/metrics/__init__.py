"""Masked metrics and scorers: each task scored on its observed labels (never imports torch)."""

from ._masked import UndefinedTaskScoreWarning, masked_accuracy_score, masked_r2_score

__all__ = ["UndefinedTaskScoreWarning", "masked_accuracy_score", "masked_r2_score"]
