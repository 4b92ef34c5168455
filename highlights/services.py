"""Write side of the product: actions that change data.

No function here sends work to Celery: one that queues work (an indexing job, a render) says so,
and its caller hands the row to ``highlights.dispatch``, which sends it once the transaction commits.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.text import Truncator

from highlights import selectors
from highlights.models import Action, Backfill, Clip, Game, IndexJob, PlayShot, Reel, ReelItem, ReviewStatus
from highlights.rendering import OutputFormat, RenderError, Segment, render_video
from indexer.artifacts import PIPELINE_VERSION, game_media_dirs, game_work_dir

logger = logging.getLogger(__name__)


def create_index_job(
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
    """Create a queued IndexJob for a video file; the caller sends it with ``highlights.dispatch.index_job``.

    The file is probed and hashed by the pipeline's first step, which attaches the job to the
    Game with the same sha256 (one Game per file content, however often it is indexed).

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
    return IndexJob.objects.create(
        source_path=str(Path(path).resolve()),
        pipeline_version=PIPELINE_VERSION,
        game_fields={k: v for k, v in fields.items() if v},
        priority=priority,
        sha256=sha256,
        backfill=backfill,
    )


def archive_roots() -> list[Path]:
    """The folders files may be indexed from: ``HL_ARCHIVE_ROOTS`` and the uploads folder ``HL_UPLOAD_DIR``."""
    return [*map(Path, settings.HL_ARCHIVE_ROOTS), Path(settings.HL_UPLOAD_DIR)]


def in_archive(path: Path) -> bool:
    """Whether ``path`` (links resolved) lies inside one of the :func:`archive_roots`."""
    resolved = path.resolve()
    return any(resolved.is_relative_to(root.resolve()) for root in archive_roots())


class IngestError(ValueError):
    """A file editors asked to index is not inside ``HL_ARCHIVE_ROOTS`` or does not exist."""


def ingest_path(path: str | Path) -> Path:
    """The resolved path of a video editors may index: an existing file inside the archive roots or uploads.

    Raises:
        IngestError: the file is missing or lies outside the archive roots.
    """
    resolved = Path(path).resolve()
    if not in_archive(resolved):
        roots = ", ".join(map(str, archive_roots()))
        raise IngestError(f"{path} is outside the archive roots ({roots})")
    if not resolved.is_file():
        raise IngestError(f"no such file: {path}")
    return resolved


# --- clip review (editors) ---------------------------------------------------------------------


def review_clip(clip: Clip, user: AbstractBaseUser, *, status: str | None = None, action: Action | None = None) -> Clip:
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
    by_editor: bool = False,
) -> Reel:
    """Create a reel owned by ``owner`` with ``items`` in order.

    Args:
        by_editor: the owner is an editor, who may also use clips editors rejected.

    Raises:
        ReelError: an item names an unknown (or, for fans, rejected) clip or has unusable trim points,
            there are more than ``HL_REEL_MAX_ITEMS`` items, or the title is longer than its column.
    """
    with transaction.atomic():
        reel = Reel.objects.create(owner=owner, title=_title(title) or "Untitled reel", kind=kind, query=query)
        if items:
            _write_items(reel, items, include_rejected=by_editor)
    return reel


def _title(title: str) -> str:
    title = title.strip()
    if len(title) > (longest := Reel._meta.get_field("title").max_length):
        raise ReelError(f"a reel title has at most {longest} characters")
    return title


def _write_items(reel: Reel, items: Sequence[ItemSpec], *, include_rejected: bool) -> None:
    """Replace the reel's items; a rejected clip is refused unless allowed or already in the reel."""
    if len(items) > settings.HL_REEL_MAX_ITEMS:
        raise ReelError(f"a reel holds at most {settings.HL_REEL_MAX_ITEMS} clips")
    already = set(reel.items.values_list("clip_id", flat=True))
    clips = {
        pk: clip
        for pk, clip in Clip.objects.select_related("game").in_bulk({i.clip_id for i in items}).items()
        if include_rejected or pk in already or clip.review_status != ReviewStatus.REJECTED
    }
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
    reel: Reel,
    *,
    title: str | None = None,
    items: Sequence[ItemSpec] | None = None,
    published: bool | None = None,
    by_editor: bool = False,
) -> Reel:
    """Change a reel's title, items (replaced as a whole, in the given order) or publication.

    A change of title or items makes a new version: the rendered video no longer matches and the
    reel goes back to draft until it is rendered again. Such a change also takes a published reel
    off publication unless an editor makes it: publication approves one content, and only editors
    approve (the caller checks that only they change ``published``).

    Args:
        by_editor: the change is an editor's (keeps publication; rejected clips may be added).

    Raises:
        ReelError: an item names an unknown (or, for fans, newly added rejected) clip or has unusable
            trim points, there are more than ``HL_REEL_MAX_ITEMS`` items, or the title is longer than its column.
    """
    with transaction.atomic():
        reel = Reel.objects.select_for_update().get(pk=reel.pk)
        changed = False
        if title is not None and _title(title) and _title(title) != reel.title:
            reel.title, changed = _title(title), True
        if items is not None:
            _write_items(reel, items, include_rejected=by_editor)
            changed = True
        if published is not None:
            reel.published = published
        if changed and not by_editor:
            reel.published = False
        if changed:
            reel.edited()
        reel.save()
    return reel


def request_render(reel: Reel) -> tuple[Reel, bool]:
    """Queue a render of the reel's current version.

    Idempotent: a reel whose current version is rendered, queued or rendering is returned as it is.
    A failed render is retried, and so is a stale one: "rendering" with no heartbeat for
    ``HL_RENDER_STALL_S`` seconds (its worker died).

    Returns:
        The reel, and whether the caller must send its render (``highlights.dispatch.render_reel``).

    Raises:
        ReelError: the reel has no items.
    """
    with transaction.atomic():
        reel = Reel.objects.select_for_update().get(pk=reel.pk)
        stale_before = timezone.now() - timedelta(seconds=settings.HL_RENDER_STALL_S)
        beating = reel.heartbeat_at is not None and reel.heartbeat_at > stale_before
        live = reel.status == Reel.Status.RENDERING and beating
        if reel.is_rendered or reel.status == Reel.Status.QUEUED or live:
            return reel, False
        if not reel.items.exists():
            raise ReelError("add at least one clip before rendering")
        reel.queue_render()
    return reel, True


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

    Progress (0-100) and the heartbeat are written to the row as ffmpeg reports progress. Writes are
    guarded by the version rendered, so an edit made during the render leaves the stale result
    unused (and deleted); a successful render deletes the file of the version rendered before. A
    render error marks the reel failed with ffmpeg's message (retry with :func:`request_render`).
    """
    reel = Reel.objects.get(pk=reel_id)
    version, previous = reel.version, reel.video.name
    if reel.is_rendered:
        return
    items = list(reel.items.select_related("clip__game"))
    segments = [
        Segment(Path(i.clip.game.source_path), i.trim_in_ms / 1000, i.trim_out_ms / 1000, i.clip.game.has_audio)
        for i in items
    ]
    name = f"reels/reel-{reel_id}-v{version}.mp4"
    reel.start_render()
    started = time.perf_counter()
    try:
        duration_s = render_video(segments, Path(settings.MEDIA_ROOT) / name, output_format(), reel.render_progress)
    except RenderError as exc:
        logger.warning("reel %s v%s failed to render: %s", reel_id, version, exc)
        reel.fail_render(str(exc))
        return
    published = reel.complete_render(
        name, duration_ms=round(duration_s * 1000), render_s=round(time.perf_counter() - started, 3)
    )
    if not published:  # an edit came in meanwhile: this version's file is never shown
        (Path(settings.MEDIA_ROOT) / name).unlink(missing_ok=True)
    elif previous and previous != name:  # the file of the version rendered before
        (Path(settings.MEDIA_ROOT) / previous).unlink(missing_ok=True)


def mark_render_failed(reel_id: int, message: str) -> None:
    """Mark a queued or rendering reel failed with a one-line message (the render task's failure hook)."""
    line = message.strip().splitlines()[0] if message.strip() else "render failed"
    Reel.objects.filter(pk=reel_id, status__in=[Reel.Status.QUEUED, Reel.Status.RENDERING]).update(
        status=Reel.Status.FAILED, error=line
    )


# --- deleting a game ---------------------------------------------------------------------------


def delete_game(game: Game) -> bool:
    """Delete a game with its shots, clips and face tracks, keeping its IndexJobs for audit.

    Reels with items cut from the game's clips lose those items and get a new version: they go back
    to draft, their rendered video (which shows the deleted footage) is removed, and
    ``render_reason`` tells the owner why on the reel page. The game's IndexJobs stay, their game
    unset, with the source path and sha256 of the file they indexed. Once the transaction commits,
    the game's thumbnails, face crops and analysis work files are removed from disk, and so is its
    video when it is an upload (inside ``HL_UPLOAD_DIR``); archive files are never touched. Called by
    the admin's delete view and delete action.

    Returns:
        Whether the game had clips, so the caller must drop them and their face tracks from the FAISS indexes
        (``highlights.dispatch.prune_indexes``).
    """
    media = Path(settings.MEDIA_ROOT)
    with transaction.atomic():
        game = Game.objects.select_for_update().get(pk=game.pk)
        IndexJob.objects.filter(game=game, sha256="").update(sha256=game.sha256)
        doomed = [*(media / folder for folder in game_media_dirs(game.pk)), game_work_dir(game.pk)]
        source = Path(game.source_path)
        if source.resolve().is_relative_to(Path(settings.HL_UPLOAD_DIR).resolve()):
            doomed.append(source)
        cut = ReelItem.objects.filter(clip__game=game)
        for reel in Reel.objects.select_for_update().filter(pk__in=cut.values("reel_id")):
            removed = cut.filter(reel=reel).count()
            if reel.video:
                doomed.append(media / reel.video.name)
            reel.render_reason = f"{game} was deleted: {removed} clip(s) of it left this reel; render it again"[:255]
            reel.version += 1
            reel.status, reel.progress, reel.error, reel.video = Reel.Status.DRAFT, 0, "", ""
            reel.save()
        cut.delete()
        had_clips = game.clips.exists()
        game.delete()
        transaction.on_commit(partial(_remove_paths, doomed))
    return had_clips


def _remove_paths(paths: Sequence[Path]) -> None:
    """Remove files and folders (an emptied upload folder too); a failure is logged, never raised after commit."""
    upload_dir = Path(settings.HL_UPLOAD_DIR).resolve()
    for path in paths:
        try:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
                folder = path.parent.resolve()
                if folder.parent == upload_dir and not any(folder.iterdir()):
                    folder.rmdir()
        except OSError as exc:
            logger.warning("could not remove %s: %s", path, exc)


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
    title = f"{Truncator(str(game)).chars(Reel._meta.get_field('title').max_length - 20)}: condensed game"
    return create_reel(owner, title, cuts, kind=Reel.Kind.CONDENSED)


DEFAULT_QUERY_REEL_CLIPS = 10


def create_query_reel(owner: AbstractBaseUser, text: str, *, replays: bool = True) -> Reel:
    """A reel of a search's results in their ranked order ("top 5 dunks", "Ortiz's last ten home runs").

    The query's own ``top N``/``last N`` sets the number of clips (``DEFAULT_QUERY_REEL_CLIPS`` otherwise).
    For an event query each result is the clip of a play; with ``replays`` the play's first replay (the
    best clip of its first replay shot) follows it.

    Raises:
        search.query.QueryError: the query does not parse or exceeds ``HL_QUERY_MAX_CHARS``/``HL_QUERY_MAX_TOKENS``.
        ReelError: the search finds nothing, or finds more than ``HL_REEL_MAX_ITEMS`` clips.
    """
    query = selectors.parse_search(text)
    clips = list(selectors.clip_queryset(query)[: query.limit or DEFAULT_QUERY_REEL_CLIPS])
    if not clips:
        raise ReelError(f"no clips match {text!r}")
    items: list[ItemSpec] = []
    for clip in clips:
        items.append(ItemSpec(clip.pk))
        play_id = selectors.matched_play(clip)
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
