"""PyTorch modules for multi-task learning.

:class:`SharedTrunkNet` is the estimators' network: a shared trunk with all task heads fused in
one layer, optional private towers (:class:`TaskTowers`) and a first layer that reads the
non-zeros of sparse inputs only (:class:`SparseInputLinear`). :class:`MemberEnsembleNet` holds
several such networks (``ensemble_size`` of the estimators), computed together.
"""

from ._members import MemberEnsembleNet
from ._trunk import SeededDropout, SharedTrunkNet, SparseInputLinear, TaskTowers, keep_mask

__all__ = ["MemberEnsembleNet", "SeededDropout", "SharedTrunkNet", "SparseInputLinear", "TaskTowers", "keep_mask"]
