"""The learning package's error: one readable line, shown to editors as a message and by commands on stderr."""

from __future__ import annotations


class LearningError(ValueError):
    """A model cannot be trained, applied or evaluated as asked (too few clips, unknown label); one readable line."""
