"""Cross-validation splitters for multi-task targets with missing labels (never imports torch)."""

from ._split import MultiTaskStratifiedKFold

__all__ = ["MultiTaskStratifiedKFold"]
