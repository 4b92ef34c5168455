"""PostgreSQL advisory locks that serialise writers across processes (web, workers, commands)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def advisory_lock(key: int, name: str | None = None) -> Iterator[None]:
    """Open a transaction holding a transaction-level advisory lock, released at commit or rollback.

    Args:
        key: the lock's 32-bit class (one per kind of writer).
        name: optional object within the class (e.g. a file's sha256), hashed with ``hashtext``.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            if name is None:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
            else:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [key, name])
        yield
