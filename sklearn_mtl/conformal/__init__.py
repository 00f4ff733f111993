"""Split conformal prediction per task, with missing labels: intervals and prediction sets."""

from ._conformal import MultiTaskConformalClassifier, MultiTaskConformalRegressor, conformal_quantile

__all__ = ["MultiTaskConformalClassifier", "MultiTaskConformalRegressor", "conformal_quantile"]
