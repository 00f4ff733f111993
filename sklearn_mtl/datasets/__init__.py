"""Synthetic multi-task data generators and the bundled Tox21 data set."""

from ._generators import make_multitask_classification, make_multitask_regression
from ._tox21 import load_tox21

__all__ = ["load_tox21", "make_multitask_classification", "make_multitask_regression"]
