"""Who may do what: fans, editors and admins (Django auth users and the ``editors`` group).

* fans (any signed-in user) search, and create and edit their own reels;
* editors (members of the ``editors`` group) also relabel, verify or reject clips, edit the action
  taxonomy, publish reels and index videos;
* admins (superusers) may do everything, other people's reels included.

Views and the API both call these functions, so the rules hold in both.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest

from highlights.models import Reel

EDITORS_GROUP = "editors"

User = AbstractBaseUser | AnonymousUser


def is_editor(user: User) -> bool:
    """Editors and admins."""
    if not user.is_authenticated:
        return False
    return bool(user.is_superuser or user.groups.filter(name=EDITORS_GROUP).exists())


def context(request: HttpRequest) -> dict[str, Callable[[], bool]]:
    """Template context processor: ``user_is_editor``, checked only when a template reads it (the editors' nav)."""
    return {"user_is_editor": partial(is_editor, request.user)}


def can_view_reel(user: User, reel: Reel) -> bool:
    """The owner, editors and admins; everyone once it is published (the share link is separate)."""
    return reel.published or reel.owner_id == user.pk or is_editor(user)


def can_publish_reel(user: User) -> bool:
    """Editors and admins publish any reel, or take it off publication (an owner's edit also does)."""
    return is_editor(user)


def can_edit_reel(user: User, reel: Reel) -> bool:
    """Only the owner changes a reel's title, items or renders it; admins may change any reel."""
    return user.is_authenticated and (reel.owner_id == user.pk or bool(user.is_superuser))
