"""Which tasks help each other: inter-task affinity measured while training, groups of tasks, and a Display."""

from ._affinity import TaskAffinity, group_tasks, task_affinity
from ._display import TaskAffinityDisplay

__all__ = ["TaskAffinity", "TaskAffinityDisplay", "group_tasks", "task_affinity"]
