"""Write side of the product: actions that change data and dispatch work (on commit)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from highlights import selectors
from highlights.models import ActionLabel, Backfill, Clip, Game, IndexJob, PlayShot, Reel, ReelItem, ReviewStatus
from highlights.rendering import OutputFormat, RenderError, Segment, render_video
from indexer.artifacts import PIPELINE_VERSION
from indexer.pipeline import canvas
from search.query import parse_query

logger = logging.getLogger(__name__)


# Redis priority of a job's first step (0 is served first). A started job's later steps carry no
# priority, i.e. 0, so workers finish started jobs before they start new files.
BROKER_PRIORITY = {IndexJob.Priority.HIGH: 1, IndexJob.Priority.NORMAL: 4, IndexJob.Priority.LOW: 8}


def request_indexing(
    path: Path,
    *,
    sport: str = "",
    title: str = "",
    home_team: str = "",
    away_team: str = "",
    date: str = "",
    priority: str = IndexJob.Priority.NORMAL,
    sha256: str = "",
    backfill: Backfill | None = None,
) -> IndexJob:
    """Create an IndexJob for a video file and dispatch its pipeline once the transaction commits.

    The file is probed and hashed by the pipeline's first step, which attaches the job to the
    Game with the same sha256 (one Game per file content, however often it is indexed).
    In local mode (no broker) the pipeline runs in-process before this returns.

    Args:
        path: the video file.
        sport, title, home_team, away_team, date: game facts to record (date as ``YYYY-MM-DD``).
        priority: an ``IndexJob.Priority``; decides which queued file a worker starts next.
        sha256: the file's content hash when the caller already computed it (backfills).
        backfill: the backfill run the job belongs to.

    Returns:
        The job row; read it again for status, progress and error.
    """
    fields = {"sport": sport, "title": title, "home_team": home_team, "away_team": away_team, "date": date}
    with transaction.atomic():
        job = IndexJob.objects.create(
            source_path=str(Path(path).resolve()),
            pipeline_version=PIPELINE_VERSION,
            game_fields={k: v for k, v in fields.items() if v},
            priority=priority,
            sha256=sha256,
            backfill=backfill,
        )
        transaction.on_commit(partial(canvas(job.pk).apply_async, priority=BROKER_PRIORITY[priority]))
    return job


class IngestError(ValueError):
    """A file editors asked to index is not inside ``HL_ARCHIVE_ROOTS`` or does not exist."""


def ingest_path(path: str | Path) -> Path:
    """The resolved path of a video editors may index: an existing file inside one of ``HL_ARCHIVE_ROOTS``.

    Raises:
        IngestError: the file is missing or lies outside the archive roots.
    """
    from highlights.backfill import in_archive  # backfill imports this module

    resolved = Path(path).resolve()
    if not in_archive(resolved):
        roots = ", ".join(map(str, settings.HL_ARCHIVE_ROOTS))
        raise IngestError(f"{path} is outside the archive roots ({roots})")
    if not resolved.is_file():
        raise IngestError(f"no such file: {path}")
    return resolved


# --- clip review (editors) ---------------------------------------------------------------------


def review_clip(
    clip: Clip, user: AbstractBaseUser, *, status: str | None = None, action: ActionLabel | None = None
) -> Clip:
    """Record an editor's verdict and/or new action label on a clip.

    Args:
        clip: the clip to change.
        user: the editor (permission is checked by the caller, ``roles.is_editor``).
        status: a ``ReviewStatus`` value, or None to keep it.
        action: the new taxonomy label, or None to keep it; a relabelled clip counts as verified
            unless ``status`` says otherwise.

    Raises:
        ValueError: ``status`` is not a ``ReviewStatus`` value, or ``action`` belongs to another sport.
    """
    if status is not None and status not in ReviewStatus.values:
        raise ValueError(f"unknown review status {status!r}")
    if action is not None:
        if clip.game.sport not in (action.sport, "other"):
            raise ValueError(f"{action} is not a {clip.game.sport} action")
        clip.action = action
        status = status or ReviewStatus.VERIFIED
    if status is not None:
        clip.review_status = status
    clip.reviewed_by = user
    clip.reviewed_at = timezone.now()
    clip.save(update_fields=["action", "review_status", "reviewed_by", "reviewed_at"])
    return clip


# --- reels -------------------------------------------------------------------------------------


class ReelError(ValueError):
    """A reel edit that cannot be applied (unknown clip, trim outside the video); one readable line."""


@dataclass(frozen=True)
class ItemSpec:
    """One wanted reel item: a clip and its trim points in game time (ms); None means the clip's bounds."""

    clip_id: int
    trim_in_ms: int | None = None
    trim_out_ms: int | None = None


def create_reel(
    owner: AbstractBaseUser,
    title: str,
    items: Sequence[ItemSpec] = (),
    *,
    kind: str = Reel.Kind.MANUAL,
    query: str = "",
) -> Reel:
    """Create a reel owned by ``owner`` with ``items`` in order.

    Raises:
        ReelError: an item names an unknown clip or has unusable trim points.
    """
    with transaction.atomic():
        reel = Reel.objects.create(owner=owner, title=title.strip() or "Untitled reel", kind=kind, query=query)
        if items:
            _write_items(reel, items)
    return reel


def _write_items(reel: Reel, items: Sequence[ItemSpec]) -> None:
    clips = Clip.objects.select_related("game").in_bulk({i.clip_id for i in items})
    rows = []
    for position, spec in enumerate(items):
        clip = clips.get(spec.clip_id)
        if clip is None:
            raise ReelError(f"no clip {spec.clip_id}")
        trim_in = clip.start_ms if spec.trim_in_ms is None else spec.trim_in_ms
        trim_out = clip.end_ms if spec.trim_out_ms is None else spec.trim_out_ms
        video_ms = int((clip.game.duration_s or clip.end_ms / 1000) * 1000)
        if not 0 <= trim_in < trim_out <= max(video_ms, clip.end_ms):
            raise ReelError(f"clip {clip.pk}: trim {trim_in}-{trim_out} ms lies outside its video (0-{video_ms} ms)")
        rows.append(ReelItem(reel=reel, clip=clip, position=position, trim_in_ms=trim_in, trim_out_ms=trim_out))
    reel.items.all().delete()
    ReelItem.objects.bulk_create(rows)


def update_reel(
    reel: Reel, *, title: str | None = None, items: Sequence[ItemSpec] | None = None, published: bool | None = None
) -> Reel:
    """Change a reel's title, items (replaced as a whole, in the given order) or publication.

    A change of title or items makes a new version: the rendered video no longer matches and the
    reel goes back to draft until it is rendered again.

    Raises:
        ReelError: an item names an unknown clip or has unusable trim points.
    """
    with transaction.atomic():
        reel = Reel.objects.select_for_update().get(pk=reel.pk)
        changed = False
        if title is not None and title.strip() and title.strip() != reel.title:
            reel.title, changed = title.strip(), True
        if items is not None:
            _write_items(reel, items)
            changed = True
        if published is not None:
            reel.published = published
        if changed:
            reel.version += 1
            reel.status, reel.progress, reel.error = Reel.Status.DRAFT, 0, ""
        reel.save()
    return reel


def request_render(reel: Reel) -> Reel:
    """Queue a render of the reel's current version on the ``render`` queue, dispatched on commit.

    Idempotent: a reel whose current version is rendered, queued or rendering is returned as it is.
    A failed render is retried. In local mode (no broker) the render runs before this returns.

    Raises:
        ReelError: the reel has no items.
    """
    from highlights import tasks

    with transaction.atomic():
        reel = Reel.objects.select_for_update().get(pk=reel.pk)
        if reel.is_rendered or reel.status in (Reel.Status.QUEUED, Reel.Status.RENDERING):
            return reel
        if not reel.items.exists():
            raise ReelError("add at least one clip before rendering")
        reel.status, reel.progress, reel.error = Reel.Status.QUEUED, 0, ""
        reel.save(update_fields=["status", "progress", "error", "updated_at"])
        transaction.on_commit(partial(tasks.render_reel.delay, reel.pk))
    return reel


def output_format() -> OutputFormat:
    """The reel output format from the ``HL_REEL_*`` settings."""
    return OutputFormat(
        width=settings.HL_REEL_WIDTH,
        height=settings.HL_REEL_HEIGHT,
        fps=settings.HL_REEL_FPS,
        preset=settings.HL_REEL_PRESET,
        crf=settings.HL_REEL_CRF,
        threads=settings.HL_REEL_THREADS,
    )


def render_reel(reel_id: int) -> None:
    """Render the reel's current version to ``MEDIA_ROOT/reels/reel-<id>-v<version>.mp4`` (the task's body).

    Progress (0-100) is written to the row as ffmpeg reports it. Writes are guarded by the version
    rendered, so an edit made during the render leaves the stale result unused. A render error
    marks the reel failed with ffmpeg's message (retry with :func:`request_render`).
    """
    reel = Reel.objects.get(pk=reel_id)
    version = reel.version
    if reel.is_rendered:
        return
    this_version = Reel.objects.filter(pk=reel_id, version=version)
    items = list(reel.items.select_related("clip__game"))
    segments = [
        Segment(Path(i.clip.game.source_path), i.trim_in_ms / 1000, i.trim_out_ms / 1000, i.clip.game.has_audio)
        for i in items
    ]
    name = f"reels/reel-{reel_id}-v{version}.mp4"
    this_version.update(status=Reel.Status.RENDERING, progress=0, error="")
    started = time.perf_counter()
    try:
        duration_s = render_video(
            segments,
            Path(settings.MEDIA_ROOT) / name,
            output_format(),
            on_progress=lambda done: this_version.update(progress=min(int(done * 100), 99)),
        )
    except RenderError as exc:
        logger.warning("reel %s v%s failed to render: %s", reel_id, version, exc)
        this_version.update(status=Reel.Status.FAILED, error=str(exc))
        return
    updated = this_version.update(
        status=Reel.Status.READY,
        progress=100,
        video=name,
        rendered_version=version,
        duration_ms=round(duration_s * 1000),
        render_s=round(time.perf_counter() - started, 3),
    )
    if not updated:
        (Path(settings.MEDIA_ROOT) / name).unlink(missing_ok=True)


# --- auto reels --------------------------------------------------------------------------------

CONDENSED_GAP_MS = 1000  # action segments closer than this are joined into one cut


def create_condensed_reel(owner: AbstractBaseUser, game: Game) -> Reel:
    """A reel of every action segment of a game in game order, dead time cut.

    Action segments are the game's clips whose label maps to the sport's action taxonomy, not
    rejected, with a highlight score of at least ``HL_CONDENSED_MIN_SCORE``; segments closer than
    ``CONDENSED_GAP_MS`` are joined into one cut.

    Raises:
        ReelError: the game has no action segments.
    """
    clips = list(
        game.clips.filter(action__isnull=False, highlight_score__gte=settings.HL_CONDENSED_MIN_SCORE)
        .exclude(review_status=ReviewStatus.REJECTED)
        .order_by("start_ms")
    )
    if not clips:
        raise ReelError(f"{game} has no action segments")
    video_ms = int(game.duration_s * 1000) if game.duration_s else clips[-1].end_ms
    cuts: list[ItemSpec] = []
    for clip in clips:
        end = min(clip.end_ms, video_ms)  # the last window may run past the end of the video
        last = cuts[-1] if cuts else None
        if last is not None and last.trim_out_ms is not None and clip.start_ms - last.trim_out_ms < CONDENSED_GAP_MS:
            cuts[-1] = ItemSpec(last.clip_id, last.trim_in_ms, max(last.trim_out_ms, end))
        else:
            cuts.append(ItemSpec(clip.pk, clip.start_ms, end))
    return create_reel(owner, f"{game}: condensed game", cuts, kind=Reel.Kind.CONDENSED)


DEFAULT_QUERY_REEL_CLIPS = 10


def create_query_reel(owner: AbstractBaseUser, text: str, *, replays: bool = True) -> Reel:
    """A reel of a search's results in their ranked order ("top 5 dunks", "Ortiz's last ten home runs").

    The query's own ``top N``/``last N`` sets the number of clips (``DEFAULT_QUERY_REEL_CLIPS`` otherwise).
    For an event query each result is the clip of a play; with ``replays`` the play's first replay (the
    best clip of its first replay shot) follows it.

    Raises:
        search.query.QueryError: the query does not parse.
        ReelError: the search finds nothing.
    """
    query = parse_query(text)
    clips = list(selectors.clip_queryset(query)[: query.limit or DEFAULT_QUERY_REEL_CLIPS])
    if not clips:
        raise ReelError(f"no clips match {text!r}")
    items: list[ItemSpec] = []
    for clip in clips:
        items.append(ItemSpec(clip.pk))
        play_id = getattr(clip, "matched_play", None)
        replay = _replay_clip(play_id, exclude=clip.pk) if replays and play_id else None
        if replay is not None:
            items.append(ItemSpec(replay.pk))
    return create_reel(owner, text.strip(), items, kind=Reel.Kind.QUERY, query=text)


def _replay_clip(play_id: int, *, exclude: int) -> Clip | None:
    """The best clip of a play's first replay shot (None when the play has no replay with a clip)."""
    replay = (
        PlayShot.objects.filter(play=play_id, role=PlayShot.Role.REPLAY, shot__clips__isnull=False)
        .order_by("shot__start_ms")
        .first()
    )
    if replay is None:
        return None
    return Clip.objects.filter(shot=replay.shot_id).exclude(pk=exclude).order_by("-highlight_score", "pk").first()
