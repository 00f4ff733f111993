"""Per-task probability calibration of multi-task classifiers, with missing labels, and its display."""

from ._calibration import MultiTaskCalibratedClassifierCV
from ._display import MultiTaskCalibrationDisplay

__all__ = ["MultiTaskCalibratedClassifierCV", "MultiTaskCalibrationDisplay"]
