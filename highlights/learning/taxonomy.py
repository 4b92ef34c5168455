"""Editors' labels: the registry key of an action set, the negative class, new taxonomy entries."""

from __future__ import annotations

from collections.abc import Iterable

from highlights.learning.errors import LearningError
from highlights.models import Action, Sport

#: The negative class: verified clips that carry none of the wanted labels.
BACKGROUND = "(other)"


def action_set_key(labels: Iterable[str]) -> str:
    """The registry key of an action set: the distinct names, stripped, sorted, comma-joined.

    Raises:
        LearningError: no label, or a name that is empty, contains a comma or is the negative class.
    """
    names = sorted({name.strip() for name in labels})
    if not names or any(not n or "," in n or n == BACKGROUND for n in names):
        raise LearningError(f"labels must be non-empty names without commas, got {names}")
    return ",".join(names)


def define_action(sport: str, name: str) -> Action:
    """Add an editor's new label to the taxonomy (no model classes: only verified clips and learned models give it).

    Raises:
        LearningError: an unknown sport, a name that cannot be a label (see :func:`action_set_key`), or a
            label of that name already in the sport.
    """
    if sport not in Sport.values:
        raise LearningError(f"unknown sport {sport!r}: use {', '.join(Sport.values)}")
    name = action_set_key([name])
    if len(name) > Action._meta.get_field("name").max_length:
        raise LearningError(f"label {name[:20]!r}... is too long")
    label, created = Action.objects.get_or_create(sport=sport, name=name)
    if not created:
        raise LearningError(f"{label} already exists")
    return label
