"""Videos editors upload to index: stored once per content, probed before they are kept, never overwritten.

An upload is streamed into a temporary file in ``HL_UPLOAD_DIR/.incoming`` while its sha256 is
computed, probed with ffprobe (``indexer.stages.probe``), and only then linked into place as
``HL_UPLOAD_DIR/<first 16 hex digits of the sha256>/<safe file name>``. Two uploads named
``game.mp4`` thus land in two folders; a link never replaces an existing file. Content that is
already indexed, queued or running (under this or any other name, uploaded or backfilled) is not
stored again: its latest IndexJob is returned instead. ``HL_UPLOAD_DIR`` is an archive root
(``highlights.services.archive_roots``), so uploaded files are indexed like archive files.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest
from django.utils.text import get_valid_filename

from highlights.backfill import already_handled, content_jobs
from highlights.locks import LockKey, advisory_lock
from highlights.models import IndexJob
from highlights.services import create_index_job
from indexer.errors import CorruptVideoError
from indexer.stages.probe import probe_video
from ml.weights import sha256_file

PREFIX_DIGITS = 16  # 64 bits of the sha256 name the folder: two different contents never share one
MAX_NAME_BYTES = 255  # the longest file name Linux file systems store
_OVER_LIMIT = "hl_upload_over_limit"  # request attribute set by UploadLimitHandler


class UploadError(ValueError):
    """An upload that is refused: one readable line naming the file (never a server path); HTTP ``status``."""

    status = 400


class UploadTooLargeError(UploadError):
    """The upload is larger than ``HL_UPLOAD_MAX_BYTES``."""

    status = 413


@dataclass(frozen=True)
class IndexedUpload:
    """The job indexing an upload's content, and whether it was an existing one (content seen before)."""

    job: IndexJob
    reused: bool


class UploadLimitHandler(FileUploadHandler):
    """The first of ``FILE_UPLOAD_HANDLERS``: stops reading an uploaded file once it passes ``HL_UPLOAD_MAX_BYTES``.

    The rest of the request body is read and dropped, never written to disk, and the request is
    marked so that the view answers 413 (:func:`refuse_if_over_limit`); the other handlers' partial
    files are closed (and deleted) by Django.
    """

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > settings.HL_UPLOAD_MAX_BYTES:
            setattr(self.request, _OVER_LIMIT, True)
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler (memory or temporary file) makes the file


def refuse_if_over_limit(request: HttpRequest) -> None:
    """Raises :class:`UploadTooLargeError` when :class:`UploadLimitHandler` stopped reading the request's upload."""
    if getattr(request, _OVER_LIMIT, False):
        raise UploadTooLargeError(f"the upload is larger than the upload limit ({settings.HL_UPLOAD_MAX_BYTES} bytes)")


def safe_name(name: str) -> str:
    """The upload's file name without folders, reduced to letters, digits, ``-``, ``_`` and ``.``.

    Raises:
        UploadError: nothing usable is left, or the name is longer than 255 bytes (UTF-8).
    """
    try:
        cleaned = get_valid_filename(Path(name).name)
    except SuspiciousFileOperation as exc:
        raise UploadError(f"{name!r} is not a usable file name") from exc
    if len(cleaned.encode()) > MAX_NAME_BYTES:
        raise UploadError(f"the file name is longer than {MAX_NAME_BYTES} bytes")
    return cleaned


def index_upload(upload: UploadedFile, **game_fields: str) -> IndexedUpload:
    """Store an uploaded video under its content's folder with a new IndexJob, or return the job that already did.

    Args:
        upload: the uploaded file (Django's in-memory or temporary upload).
        game_fields: ``sport``, ``title``, ``home_team``, ``away_team`` as for
            :func:`highlights.services.create_index_job`.

    Returns:
        The new IndexJob (``reused`` false: the caller sends it with ``highlights.dispatch.index_job``),
        or the latest job of the same content.

    Raises:
        UploadTooLargeError: more than ``HL_UPLOAD_MAX_BYTES`` bytes (HTTP 413; a request through the
            web app is already stopped by :class:`UploadLimitHandler`).
        UploadError: an empty file, a file ffprobe cannot read as a video, or an unusable name
            (HTTP 400). Nothing is left on disk.
    """
    name = safe_name(upload.name or "")
    limit = settings.HL_UPLOAD_MAX_BYTES
    incoming = Path(settings.HL_UPLOAD_DIR) / ".incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(suffix=Path(name).suffix, dir=incoming)
    tmp = Path(tmp_name)
    try:
        digest = _copy_hashing(upload, fd, name, limit)
        try:
            probe_video(tmp)
        except CorruptVideoError as exc:
            raise UploadError(f"{name} is not a readable video") from exc
        with advisory_lock(LockKey.ENQUEUE, digest):
            latest = content_jobs(digest).first()
            if latest is not None and already_handled(digest, retry_failed=True):
                return IndexedUpload(latest, reused=True)
            path = _keep(tmp, digest, name)
            job = create_index_job(path, sha256=digest, **game_fields)
        return IndexedUpload(job, reused=False)
    finally:
        tmp.unlink(missing_ok=True)


def _copy_hashing(upload: UploadedFile, fd: int, name: str, limit: int) -> str:
    """Write the upload's chunks to ``fd`` (closed after), returning their sha256; enforces size and non-emptiness."""
    digest, size = hashlib.sha256(), 0
    with os.fdopen(fd, "wb") as out:
        for chunk in upload.chunks():
            size += len(chunk)
            if size > limit:
                raise UploadTooLargeError(f"{name} is larger than the upload limit ({limit} bytes)")
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise UploadError(f"{name} is empty (0 bytes)")
    return digest.hexdigest()


def _keep(tmp: Path, digest: str, name: str) -> Path:
    """Link the probed temporary file to its final name (never replacing a file); the path kept."""
    folder = Path(settings.HL_UPLOAD_DIR) / digest[:PREFIX_DIGITS]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    try:
        os.link(tmp, path)
    except FileExistsError:
        if sha256_file(path) != digest:  # the same 64-bit prefix and name for another content: refuse
            raise UploadError(f"{name}: another file is stored under this name; rename it and upload again") from None
    return path
