"""Per-task probability calibration of multi-task classifiers, with missing labels."""

from ._calibration import MultiTaskCalibratedClassifierCV

__all__ = ["MultiTaskCalibratedClassifierCV"]
