"""Archive backfills: turn a folder or a CSV manifest of video files into IndexJobs, once per file content.

A backfill walks a folder (optionally filtered by a glob) or reads a manifest with the columns
``path, sport, title, date, home, away``; hashes every file (sha256); and enqueues one IndexJob per
new content through :func:`highlights.services.create_index_job`, handing each to the caller's
``send`` (``highlights.dispatch.index_job``: the backfill itself sends nothing). It is resumable: re-running it
skips content that is already indexed, queued, running or (unless asked) failed, and content seen
twice in the same run. Paths outside ``HL_ARCHIVE_ROOTS`` are refused. Enqueueing one content is
guarded by a PostgreSQL advisory lock on its hash, so two backfills over the same files never
enqueue it twice.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from highlights.locks import LockKey, advisory_lock
from highlights.models import Backfill, Game, IndexJob, Sport
from highlights.services import archive_roots, create_index_job, in_archive
from indexer.stages.probe import is_video_file
from ml.weights import sha256_file

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".ts", ".mts", ".mpg", ".mpeg", ".webm", ".gif"})
"""Suffixes taken as video without probing (the fast path of folder walks)."""
NOT_VIDEO_SUFFIXES = frozenset(
    {".csv", ".json", ".txt", ".md", ".xml", ".nfo", ".srt", ".vtt", ".jpg", ".jpeg", ".png", ".webp", ".bmp"}
    | {".wav", ".mp3", ".aac", ".flac", ".pdf", ".zip", ".gz", ".tar", ".part", ".tmp"}
)
"""Suffixes skipped without probing (sidecars, stills, audio, archives, partial downloads)."""
MANIFEST_COLUMNS = ("path", "sport", "title", "date", "home", "away")
_THROUGHPUT_WINDOW_S = 900.0


class BackfillError(Exception):
    """The backfill cannot start: a source outside the archive roots, or an unreadable manifest."""


@dataclass(frozen=True)
class ArchiveFile:
    """One file to index with the game facts a manifest gave (empty when walking a folder)."""

    path: Path
    sport: str = ""
    title: str = ""
    date: str = ""
    home: str = ""
    away: str = ""


@dataclass
class BackfillReport:
    """What a backfill run did (or, in a dry run, would do); paths as strings."""

    backfill_id: int | None
    enqueued: list[str] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason → paths
    refused: dict[str, str] = field(default_factory=dict)  # path → reason

    def skip(self, reason: str, path: Path) -> None:
        self.skipped.setdefault(reason, []).append(str(path))


@dataclass(frozen=True)
class BackfillStatus:
    """Counts of backfill jobs by status, recent throughput and the time left at that pace."""

    total: int
    done: int
    failed: int
    running: int
    queued: int
    files_per_min: float
    eta_s: float | None


def archive_files(source: Path, pattern: str = "") -> list[ArchiveFile]:
    """The files a backfill of ``source`` covers, sorted by path.

    Args:
        source: a folder (walked recursively) or a ``.csv`` manifest (relative paths are taken
            from the manifest's folder).
        pattern: a glob matched against paths relative to a folder, e.g. ``"2019/**/*.mp4"``;
            empty: every file ffprobe reads as video (files with a known video suffix are taken as such
            without probing; known sidecar, image and audio suffixes are skipped; any other file is
            probed, see :func:`indexer.stages.probe.is_video_file`).

    Raises:
        BackfillError: ``source`` is missing or outside the archive roots, or the manifest is malformed.
    """
    if not source.exists():
        raise BackfillError(f"{source}: no such file or folder")
    if not in_archive(source):
        raise BackfillError(f"{source}: outside the archive roots ({', '.join(map(str, archive_roots()))})")
    if source.is_dir():
        if pattern:
            return [ArchiveFile(p) for p in sorted(source.glob(pattern)) if p.is_file()]
        return [ArchiveFile(p) for p in sorted(source.rglob("*")) if p.is_file() and _is_video(p)]
    return list(_read_manifest(source))


def _is_video(path: Path) -> bool:
    """A video suffix, or (for a suffix neither known as video nor as something else) what ffprobe says."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return True
    return suffix not in NOT_VIDEO_SUFFIXES and is_video_file(path)


def _read_manifest(manifest: Path) -> Iterator[ArchiveFile]:
    with manifest.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "path" not in reader.fieldnames:
            raise BackfillError(f"{manifest}: a manifest needs a header with the columns {', '.join(MANIFEST_COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            values = {name: (row.get(name) or "").strip() for name in MANIFEST_COLUMNS}
            if values["sport"] and values["sport"] not in Sport.values:
                raise BackfillError(f"{manifest}:{line}: unknown sport {values['sport']!r}")
            if values["date"]:
                try:
                    datetime.date.fromisoformat(values["date"])
                except ValueError as exc:
                    raise BackfillError(f"{manifest}:{line}: date {values['date']!r} is not YYYY-MM-DD") from exc
            path = Path(values.pop("path"))
            yield ArchiveFile(path if path.is_absolute() else manifest.parent / path, **values)


def run_backfill(
    source: Path,
    *,
    send: Callable[[IndexJob], None],
    pattern: str = "",
    priority: str = IndexJob.Priority.LOW,
    dry_run: bool = False,
    retry_failed: bool = False,
    progress: Callable[[int, int, Path], None] | None = None,
) -> BackfillReport:
    """Hash the files of ``source`` and enqueue an IndexJob for each content not yet indexed or queued.

    Args:
        source: a folder or CSV manifest inside the archive roots (see :func:`archive_files`).
        send: called with each new job inside its enqueue lock's transaction
            (``highlights.dispatch.index_job``, which sends it once that commits).
        pattern: glob for a folder.
        priority: an ``IndexJob.Priority`` for the new jobs.
        dry_run: hash and decide, but create nothing.
        retry_failed: enqueue content whose last job failed (skipped by default: permanent errors).
        progress: called as ``progress(done, total, path)`` after each file.

    Returns:
        The report: enqueued paths, skipped paths by reason, refused paths with the reason.

    Raises:
        BackfillError: see :func:`archive_files`.
    """
    files = archive_files(source, pattern)
    backfill = None
    if not dry_run:
        backfill = Backfill.objects.create(source=str(source.resolve()), pattern=pattern, priority=priority)
    report = BackfillReport(backfill_id=backfill.pk if backfill else None)
    seen: set[str] = set()
    for done, item in enumerate(files, start=1):
        _plan_one(item, report, seen, backfill, send, priority=priority, dry_run=dry_run, retry_failed=retry_failed)
        if progress:
            progress(done, len(files), item.path)
    if backfill:
        skipped = sum(len(paths) for paths in report.skipped.values())
        Backfill.objects.filter(pk=backfill.pk).update(files_seen=len(files), files_skipped=skipped)
    return report


def _plan_one(
    item: ArchiveFile,
    report: BackfillReport,
    seen: set[str],
    backfill: Backfill | None,
    send: Callable[[IndexJob], None],
    *,
    priority: str,
    dry_run: bool,
    retry_failed: bool,
) -> None:
    path = item.path
    if not path.is_file():
        report.refused[str(path)] = "no such file"
        return
    if not in_archive(path):
        report.refused[str(path)] = "outside the archive roots"
        return
    digest = sha256_file(path)
    if digest in seen:
        report.skip("duplicate", path)
        return
    seen.add(digest)
    with advisory_lock(LockKey.ENQUEUE, digest):
        reason = already_handled(digest, retry_failed=retry_failed)
        if reason:
            report.skip(reason, path)
            return
        report.enqueued.append(str(path))
        if not dry_run:
            job = create_index_job(
                path,
                sport=item.sport,
                title=item.title,
                home_team=item.home,
                away_team=item.away,
                date=item.date,
                priority=priority,
                sha256=digest,
                backfill=backfill,
            )
            send(job)


def content_jobs(digest: str) -> QuerySet[IndexJob]:
    """The IndexJobs of one file content (sha256 known at request, or found by the probe step), newest first."""
    return IndexJob.objects.filter(Q(sha256=digest) | Q(game__sha256=digest)).order_by("-created_at")


def already_handled(digest: str, *, retry_failed: bool) -> str:
    """Why content ``digest`` needs no new job (``"indexed"``, ``"queued"``, ...), or ``""``; call under
    ``LockKey.ENQUEUE`` on the digest."""
    if Game.objects.filter(sha256=digest, status=Game.Status.INDEXED).exists():
        return "indexed"
    latest = content_jobs(digest).values_list("status", flat=True).first()
    if latest is None or (latest == IndexJob.Status.FAILED and retry_failed):
        return ""
    return {IndexJob.Status.SUCCEEDED: "indexed"}.get(latest, str(latest))


def backfill_status(backfill_id: int | None = None) -> BackfillStatus:
    """Counts of backfill jobs (one backfill's, or every backfill's), throughput and ETA.

    Throughput is measured over the last 15 minutes (or since the first job started, if later);
    the ETA is the queued and running jobs divided by it, or None while nothing has finished.
    """
    jobs = IndexJob.objects.filter(backfill__isnull=False)
    if backfill_id is not None:
        jobs = jobs.filter(backfill_id=backfill_id)
    counts = dict(jobs.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    now = timezone.now()
    first_start = jobs.aggregate(first=Min("started_at"))["first"]
    window_start = max(now - datetime.timedelta(seconds=_THROUGHPUT_WINDOW_S), first_start or now)
    elapsed_s = (now - window_start).total_seconds()
    finished = jobs.filter(finished_at__gte=window_start).count()
    per_s = finished / elapsed_s if elapsed_s > 0 else 0.0
    queued, running = counts.get(IndexJob.Status.QUEUED, 0), counts.get(IndexJob.Status.RUNNING, 0)
    return BackfillStatus(
        total=sum(counts.values()),
        done=counts.get(IndexJob.Status.SUCCEEDED, 0),
        failed=counts.get(IndexJob.Status.FAILED, 0),
        running=running,
        queued=queued,
        files_per_min=round(per_s * 60.0, 3),
        eta_s=round((queued + running) / per_s, 1) if per_s > 0 else (0.0 if not queued + running else None),
    )
