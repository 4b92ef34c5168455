"""The single writer of the FAISS clip index, and checks that it agrees with PostgreSQL.

Every process may read the index (``search.clips.clip_index``), but only one at a time writes it:
writers hold a PostgreSQL advisory lock for the length of a transaction, so workers on any number
of machines sharing the index volume take turns. Each write publishes a new snapshot version;
readers reload when the version changes. PostgreSQL is the source of truth: ``rebuild_clip_index``
regenerates the index from the Clip rows, ``check_clip_index`` compares the two sets of ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.db.models import QuerySet

from highlights.locks import advisory_lock
from highlights.models import Clip
from indexer import runtime
from search.clips import clip_index

INDEX_LOCK_KEY = 0x484C_4958  # PostgreSQL advisory lock serialising FAISS snapshot writers


@dataclass(frozen=True)
class IndexCheck:
    """How the clip index compares with the database.

    ``missing``: clips in the database absent from the index; ``extra``: ids in the index with no
    clip of the current model version. A job between its ``clips`` and ``index`` steps shows as
    missing until its ``index`` step runs.
    """

    ok: bool
    missing: int
    extra: int
    version: int
    vectors: int


@contextmanager
def index_writer_lock() -> Iterator[None]:
    """Open a transaction holding the index writers' advisory lock (released at commit or rollback)."""
    with advisory_lock(INDEX_LOCK_KEY):
        yield


def _current_clips() -> QuerySet[Clip]:
    return Clip.objects.filter(model_version=runtime.model_weights().version).order_by("pk")


def rebuild_clip_index() -> tuple[int, int]:
    """Regenerate the configured model's clip index from the Clip rows, as a new snapshot version.

    Returns:
        ``(version, vectors)``: the snapshot version written and how many vectors it holds.
    """
    index = clip_index()
    with index_writer_lock():
        vectors = {
            pk: np.frombuffer(bytes(embedding), dtype=np.float32)
            for pk, embedding in _current_clips().values_list("pk", "embedding").iterator(chunk_size=2000)
        }
        return index.rebuild(vectors), len(vectors)


def prune_clip_index() -> int:
    """Remove from the clip index the ids of clips no longer in the database (a deleted game's), as a new snapshot.

    Returns:
        How many ids were removed (0 writes no snapshot).
    """
    index = clip_index()
    with index_writer_lock():
        if not index.version():
            return 0
        keep = set(_current_clips().values_list("pk", flat=True))
        if set(index.ids(index.load()).tolist()) <= keep:
            return 0
        return index.sync({}, keep)[1]


def check_clip_index() -> IndexCheck:
    """Compare the ids in the newest clip index snapshot with the Clip primary keys in the database."""
    index = clip_index()
    with index_writer_lock():  # no writer is between reading the rows and publishing a snapshot
        database_ids = set(_current_clips().values_list("pk", flat=True))
        snapshot = index.load()
        index_ids = set(index.ids(snapshot).tolist())
        version = index.version()
    missing, extra = len(database_ids - index_ids), len(index_ids - database_ids)
    ok = not missing and not extra
    return IndexCheck(ok=ok, missing=missing, extra=extra, version=version, vectors=len(index_ids))
