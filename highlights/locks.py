"""PostgreSQL advisory locks that serialise writers across processes (web, workers, commands).

Every lock class the project takes is one member of :class:`LockKey`, so no two writers share a
key by accident and ``pg_locks`` (``classid``) tells which kind of writer holds a lock.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import InterfaceError, OperationalError, connection, transaction

_INT4 = 2**31 - 1


class LockKey(enum.IntEnum):
    """The 32-bit advisory lock classes ("HL" followed by two letters, in ASCII)."""

    JOB = 0x484C_4A42
    """Session lock on one IndexJob's id while a step of it runs (``indexer.pipeline.run_step``)."""
    CLIP_INDEX = 0x484C_4958
    """Writers of the FAISS clip index snapshots (``indexer.index_writer``)."""
    PEOPLE = 0x484C_4641
    """Writers of the face indexes and of people (``highlights.people``, ``highlights.graphics``)."""
    ENQUEUE = 0x484C_4246
    """With ``hashtext(sha256)``: one enqueuer per file content (``highlights.backfill``)."""
    MODEL_REGISTRY = 0x484C_524D
    """With ``hashtext(action set)``: one registrar numbers the versions of an action set (``learning.registry``)."""
    GAME_EVENTS = 0x484C_4745
    """With a game's id: one writer of its events refreshes its ``GameEvents`` row at a time (taken in SQL by the
    event table's triggers, migration ``0018_game_events``)."""


@contextmanager
def advisory_lock(key: LockKey, name: str | None = None) -> Iterator[None]:
    """Open a transaction holding a transaction-level advisory lock, released at commit or rollback.

    Args:
        key: the lock class (one per kind of writer).
        name: optional object within the class (e.g. a file's sha256), hashed with ``hashtext``.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            if name is None:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
            else:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [key, name])
        yield


@contextmanager
def session_lock(key: LockKey, pk: int) -> Iterator[bool]:
    """Try to take a session-level advisory lock on one row's id without waiting; yield whether it was taken.

    The lock lives as long as this process's database session: it is released on exit, and by
    PostgreSQL itself when the process dies, so a held lock means a live process is working on the row.
    Ids are taken modulo 2**31 - 1 (the lock's second key is a 32-bit integer).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [key, pk % _INT4])
        taken = bool(cursor.fetchone()[0])
    try:
        yield taken
    finally:
        if taken:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [key, pk % _INT4])
            except (InterfaceError, OperationalError):
                pass  # the session is gone, and its locks with it


def session_lock_is_free(key: LockKey, pk: int) -> bool:
    """Whether no session holds :func:`session_lock` ``(key, pk)``; call inside a transaction.

    Takes the lock at transaction level when it is free, so no process can start on the row before
    the caller's transaction ends.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [key, pk % _INT4])
        return bool(cursor.fetchone()[0])
