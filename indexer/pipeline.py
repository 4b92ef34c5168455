"""The indexing pipeline of one game: the Celery canvas and the steps that bridge stages and the database.

Steps run in order, each as its own named task taking the IndexJob's primary key:

``probe`` → ``analyse`` → ``clips`` → ``graphics`` → ``index`` → ``faces`` → ``thumbnails``

Every step is idempotent: ``analyse`` writes its result to an artifact keyed by (game, pipeline
version, model version) and is skipped when the artifact exists; ``clips`` returns early when the
game already has clips of the same versions (rows are written in one transaction under a row lock);
``graphics`` keeps what it read from the score bug in an artifact and replaces the game's graphics rows
(states, graphics events and appearances) in one transaction;
``index`` reconciles the FAISS snapshot with the database; ``faces`` scans only clips without a
FaceScan row of the face model's version (a clip's tracks and its scan row are written in one
transaction under the clip's row lock); ``thumbnails`` fills only missing ones.
A retried or re-run job therefore never duplicates clips. A step runs under its job's session lock
and records the last completed step, so a duplicate delivery (a recovered job's original message
turning up, see ``indexer.recovery``) neither runs beside the live one nor repeats finished work.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from celery import chain
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from highlights import graphics, learning, people, plays
from highlights.locks import session_lock
from highlights.models import ActionLabel, Clip, ClipPrediction, Face, FaceScan, FaceTrack, Game, IndexJob, Shot, Sport
from indexer import runtime
from indexer.artifacts import PIPELINE_VERSION, analysis_path, graphics_path, keyframe_dir
from indexer.errors import CorruptVideoError, PermanentError, RetryableError
from indexer.index_writer import index_writer_lock
from indexer.stages.analysis import Analysis, analyse_video
from indexer.stages.clips import build_clips
from indexer.stages.faces import FaceFrames, FaceScanParams, FaceTrackSpec, ScanStats, save_crop, scan_span
from indexer.stages.graphics import GraphicsParams, GraphicsResult, graphics_frames, read_graphics
from indexer.stages.plays import group_plays, keyframe_signatures
from indexer.stages.probe import probe_video
from indexer.stages.sport import sport_class_sums, sport_from_classes
from ml.weights import sha256_file
from search.clips import clip_index

logger = logging.getLogger(__name__)

STEPS = ("probe", "analyse", "clips", "graphics", "index", "faces", "thumbnails")
_PROGRESS_AT_START = {"probe": 0, "analyse": 5, "clips": 80, "graphics": 81, "index": 88, "faces": 89, "thumbnails": 92}
RETRYABLE_ERRORS = (RetryableError, OperationalError, InterfaceError)
JOB_LOCK_KEY = 0x484C_4A42  # PostgreSQL advisory lock class: one session lock per job while a step of it runs


def canvas(job_id: int, first_step: str = STEPS[0]) -> chain:
    """The Celery chain that indexes one job's video, from ``first_step`` to the last step."""
    from indexer import tasks

    signatures = {
        "probe": tasks.probe,
        "analyse": tasks.analyse,
        "clips": tasks.save_clips,
        "graphics": tasks.read_score_bug,
        "index": tasks.update_index,
        "faces": tasks.detect_faces,
        "thumbnails": tasks.make_thumbnails,
    }
    return chain(*(signatures[step].si(job_id) for step in STEPS[STEPS.index(first_step) :]))


def run_step(job_id: int, step: str) -> bool:
    """Run one step of a job, recording stage, progress, heartbeat, timings and failures on its IndexJob row.

    The step runs under the job's session lock (:data:`JOB_LOCK_KEY`), so one process at a time works
    on a job, and a dead worker's job is recognisable (see ``indexer.recovery``). A delivery that finds
    the lock taken, the step already completed, or the job finished is a duplicate and does nothing.

    Retryable errors propagate to Celery's retry policy (the job stays ``running``; if retries run
    out the task's ``on_failure`` marks it failed). Any other error marks the job failed with a
    readable one-line message and is re-raised as :class:`PermanentError`, so the chain stops.

    Returns:
        ``True`` when the step ran; ``False`` for a duplicate delivery (the chain must stop there).
    """
    with session_lock(JOB_LOCK_KEY, job_id) as taken:
        if not taken:
            logger.info("job %s: another process is running a step of it; %s delivery dropped", job_id, step)
            return False
        job = IndexJob.objects.select_related("game").get(pk=job_id)
        if job.status in (IndexJob.Status.SUCCEEDED, IndexJob.Status.FAILED) or STEPS.index(step) < _completed(job):
            logger.info("job %s: %s already done (job %s); duplicate delivery dropped", job_id, step, job.status)
            return False
        IndexJob.objects.filter(pk=job_id).update(
            status=IndexJob.Status.RUNNING,
            stage=step,
            progress=_PROGRESS_AT_START[step],
            started_at=job.started_at or timezone.now(),
            heartbeat_at=timezone.now(),
            attempts=job.attempts + (1 if step == STEPS[0] else 0),
        )
        started = time.perf_counter()
        try:
            _STEP_FUNCTIONS[step](job)
        except RETRYABLE_ERRORS:
            raise
        except Exception as exc:
            message = str(exc) if isinstance(exc, PermanentError) else f"{type(exc).__name__}: {exc}"
            fail(job_id, message)
            raise PermanentError(message) from exc
        timings = {**IndexJob.objects.get(pk=job_id).timings, step: round(time.perf_counter() - started, 3)}
        done = step == STEPS[-1]
        IndexJob.objects.filter(pk=job_id).update(
            timings=timings,
            completed_step=step,
            heartbeat_at=timezone.now(),
            **({"status": IndexJob.Status.SUCCEEDED, "progress": 100, "finished_at": timezone.now()} if done else {}),
        )
        if done and job.game_id:
            Game.objects.filter(pk=job.game_id).update(status=Game.Status.INDEXED)
        return True


def next_step(job: IndexJob) -> str | None:
    """The first step of the job not completed yet, or ``None`` when all are."""
    done = _completed(job)
    return STEPS[done] if done < len(STEPS) else None


def _completed(job: IndexJob) -> int:
    """How many of the job's steps have completed (they run in order)."""
    return STEPS.index(job.completed_step) + 1 if job.completed_step else 0


def fail(job_id: int, message: str) -> None:
    """Mark a job (and its game, if known) failed with a one-line message; a failed job keeps its first error."""
    line = message.strip().splitlines()[0] if message.strip() else "failed"
    IndexJob.objects.filter(pk=job_id).exclude(status=IndexJob.Status.FAILED).update(
        status=IndexJob.Status.FAILED, error=line, finished_at=timezone.now()
    )
    Game.objects.filter(jobs__pk=job_id).exclude(status=Game.Status.INDEXED).update(status=Game.Status.FAILED)


# --- steps -------------------------------------------------------------------------------------


def _probe(job: IndexJob) -> None:
    path = Path(job.source_path)
    info = probe_video(path)
    digest = sha256_file(path)
    with transaction.atomic():
        game, _ = Game.objects.select_for_update().get_or_create(sha256=digest, defaults={"source_path": str(path)})
        for field_name, value in job.game_fields.items():
            if value:
                setattr(game, field_name, value)
        game.source_path = str(path)
        game.duration_s = info.duration_s
        game.fps = info.fps
        game.width, game.height = info.width, info.height
        game.has_audio = info.has_audio
        if game.status != Game.Status.INDEXED:
            game.status = Game.Status.INDEXING
        game.save()
        IndexJob.objects.filter(pk=job.pk).update(game=game)


def _analyse(job: IndexJob) -> None:
    game = _game(job)
    weights = runtime.model_weights()
    out = analysis_path(game.pk, weights.version)
    if out.exists():
        return
    recognizer = runtime.action_recognizer()
    probe = probe_video(Path(game.source_path))
    analysis = analyse_video(
        Path(game.source_path),
        probe,
        recognizer,
        runtime.analysis_params(),
        on_progress=_progress_reporter(job.pk, 5, 80),
        keyframe_dir=keyframe_dir(out),
    )
    analysis.save(out)
    IndexJob.objects.filter(pk=job.pk).update(
        model_versions={**job.model_versions, "action": weights.version}, timings={**job.timings, **analysis.timings}
    )


def _save_clips(job: IndexJob) -> None:
    """Store the clips (once per pipeline and model version), then label them with the active learned heads."""
    _write_clips(job)
    learning.apply_active_heads(_game(job).pk)


def _write_clips(job: IndexJob) -> None:
    game = _game(job)
    weights = runtime.model_weights()
    analysis = Analysis.load(analysis_path(game.pk, weights.version))
    specs = build_clips(
        analysis.spans_s,
        analysis.probs,
        analysis.excitement,
        analysis.motion,
        analysis.shots,
        weights.categories,
        min_clip_s=settings.HL_MIN_CLIP_S,
    )
    versions = {"pipeline_version": PIPELINE_VERSION, "model_version": weights.version}
    with transaction.atomic():
        game = Game.objects.select_for_update().get(pk=game.pk)
        if Clip.objects.filter(game=game, **versions).exists():
            return
        Clip.objects.filter(game=game).delete()  # an older pipeline or model version is replaced whole
        Shot.objects.filter(game=game).delete()
        shots = Shot.objects.bulk_create(
            Shot(game=game, index=i, start_ms=s.start_ms, end_ms=s.end_ms) for i, s in enumerate(analysis.shots)
        )
        video_labels = analysis.video_labels(weights.categories)
        if game.sport == Sport.OTHER:
            sums = sport_class_sums(analysis.probs.mean(axis=0), weights.categories, _class_sports())
            game.sport = sport_from_classes(sums) or Sport.OTHER
        actions = _action_lookup(game.sport)
        clips = Clip.objects.bulk_create(
            Clip(
                game=game,
                shot=_shot_at(shots, spec.start_ms),
                start_ms=spec.start_ms,
                end_ms=spec.end_ms,
                label=spec.label,
                action=actions.get(spec.label),
                confidence=spec.confidence,
                highlight_score=spec.highlight_score,
                excitement=spec.excitement,
                motion=spec.motion,
                embedding=_mean_embedding(analysis.features, spec.window_indices).tobytes(),
                **versions,
            )
            for spec in specs
        )
        ClipPrediction.objects.bulk_create(
            ClipPrediction(clip=clip, rank=rank, label=label, probability=p)
            for clip, spec in zip(clips, specs, strict=True)
            for rank, (label, p) in enumerate(spec.top_k)
        )
        game.top_labels = [[label, round(p, 6)] for label, p in video_labels]
        game.save(update_fields=["top_labels", "sport", "updated_at"])


def _read_graphics(job: IndexJob) -> None:
    """Read the score bug (once per pipeline and OCR version: kept in an artifact), then store what it showed."""
    game = _game(job)
    ocr, version = runtime.ocr_engine(), runtime.ocr_version()
    out = graphics_path(game.pk, version)
    if out.exists():
        result = GraphicsResult.from_dict(json.loads(out.read_text()))
    else:
        params = GraphicsParams(sample_fps=settings.HL_GRAPHICS_FPS, short_side=settings.HL_GRAPHICS_SHORT_SIDE)
        frames = graphics_frames(Path(game.source_path), width=game.width or 0, height=game.height or 0, params=params)
        result = read_graphics(frames, ocr, params)
        _write_atomic(out, json.dumps(result.to_dict()))
    fields = job.game_fields
    graphics.store_graphics(
        game.pk,
        result,
        sport_given=bool(fields.get("sport")),
        teams_given=bool(fields.get("home_team") or fields.get("away_team")),
    )
    IndexJob.objects.filter(pk=job.pk).update(
        model_versions={**job.model_versions, "ocr": version},
        timings={**job.timings, "graphics_read": round(result.seconds, 3)},
    )


def _update_index(job: IndexJob) -> None:
    game = _game(job)
    index = clip_index()
    with index_writer_lock():
        clips = Clip.objects.filter(model_version=runtime.model_weights().version)
        keep = set(clips.values_list("pk", flat=True))
        wanted = {
            pk: np.frombuffer(bytes(emb), dtype=np.float32)
            for pk, emb in clips.filter(game=game).values_list("pk", "embedding")
        }
        index.sync(wanted, keep)


def _detect_faces(job: IndexJob) -> None:
    game = _game(job)
    analyzer = runtime.face_analyzer()
    clips = list(
        Clip.objects.filter(game=game, pipeline_version=PIPELINE_VERSION, model_version=runtime.model_weights().version)
        .exclude(face_scans__model_version=analyzer.version)
        .order_by("start_ms")
    )
    if clips:
        params = FaceScanParams(
            min_fps=settings.HL_FACE_MIN_FPS,
            max_fps=settings.HL_FACE_MAX_FPS,
            short_side=settings.HL_FACE_SHORT_SIDE,
            min_faces=settings.HL_FACE_MIN_TRACK_FACES,
        )
        frames = FaceFrames(
            Path(game.source_path), width=game.width or 0, height=game.height or 0, short_side=params.short_side
        )
        report = _progress_reporter(job.pk, 89, 92)
        for done, clip in enumerate(clips):
            _save_face_tracks(game, clip, *scan_span(frames, clip.start_s, clip.end_s, analyzer.analyze, params))
            report((done + 1) / len(clips))
    people.index_game_tracks(game.pk)
    _group_plays(game)


def _group_plays(game: Game) -> None:
    """Group the game's shots into plays (live, replay, close-up) and store them with their events linked.

    Shots are compared by keyframe signatures of the analysis windows (window embeddings when the
    keyframes are gone); a shot with a face track for most
    of it is a close-up; a shot's score choosing a play's main shot is its best clip's highlight score.
    """
    path = analysis_path(game.pk, runtime.model_weights().version)
    analysis = Analysis.load(path)
    try:
        vectors = keyframe_signatures(keyframe_dir(path), len(analysis.spans_s))
    except FileNotFoundError:  # an analysis from before keyframes were kept: its window embeddings instead
        vectors = analysis.features
    faces = list(FaceTrack.objects.filter(game=game).values_list("start_ms", "end_ms"))
    best: dict[int, float] = {}
    scored = Clip.objects.filter(game=game, shot__isnull=False).values_list("shot__index", "highlight_score")
    for index, score in scored:
        best[index] = max(score, best.get(index, 0.0))
    shot_scores = [best.get(i, 0.0) for i in range(len(analysis.shots))]
    found = group_plays(analysis.shots, analysis.spans_s, vectors, faces=faces, shot_scores=shot_scores)
    plays.store_plays(game.pk, found)


def _save_face_tracks(game: Game, clip: Clip, tracks: list[FaceTrackSpec], stats: ScanStats) -> None:
    media = Path(settings.MEDIA_ROOT)
    version = runtime.face_analyzer().version
    with transaction.atomic():
        Clip.objects.select_for_update().get(pk=clip.pk)
        if FaceScan.objects.filter(clip=clip, model_version=version).exists():
            return
        for number, spec in enumerate(tracks):
            name = f"faces/game_{game.pk}/clip_{clip.pk}_track_{number}.jpg"
            save_crop(spec.crop, media / name)
            track = FaceTrack.objects.create(
                game=game,
                clip=clip,
                shot_id=clip.shot_id,
                start_ms=spec.start_ms,
                end_ms=spec.end_ms,
                embedding=spec.embedding.astype(np.float32).tobytes(),
                quality=spec.quality,
                thumbnail=name,
                model_version=version,
            )
            Face.objects.bulk_create(
                Face(
                    track=track,
                    time_ms=f.time_ms,
                    x=f.box[0],
                    y=f.box[1],
                    w=f.box[2],
                    h=f.box[3],
                    score=f.score,
                    quality=f.quality,
                )
                for f in spec.faces
            )
        FaceScan.objects.create(
            clip=clip, model_version=version, frames=stats.frames, faces=stats.faces, seconds=round(stats.seconds, 3)
        )


def _make_thumbnails(job: IndexJob) -> None:
    """Each clip's thumbnail is the keyframe of the analysis window centred nearest the clip's middle."""
    game = _game(job)
    artifact = analysis_path(game.pk, runtime.model_weights().version)
    centres = Analysis.load(artifact).spans_s.mean(axis=1)
    media = Path(settings.MEDIA_ROOT)
    for clip in Clip.objects.filter(game=game, thumbnail=""):
        window = int(np.argmin(np.abs(centres - (clip.start_ms + clip.end_ms) / 2000.0)))
        name = f"thumbs/game_{game.pk}/clip_{clip.pk}.jpg"
        _copy_atomic(keyframe_dir(artifact) / f"window_{window:06d}.jpg", media / name)
        Clip.objects.filter(pk=clip.pk).update(thumbnail=name)


_STEP_FUNCTIONS: dict[str, Callable[[IndexJob], None]] = {
    "probe": _probe,
    "analyse": _analyse,
    "clips": _save_clips,
    "graphics": _read_graphics,
    "index": _update_index,
    "faces": _detect_faces,
    "thumbnails": _make_thumbnails,
}


# --- helpers -----------------------------------------------------------------------------------


def _game(job: IndexJob) -> Game:
    job.refresh_from_db(fields=["game"])
    if job.game is None:
        raise CorruptVideoError(f"{job.source_path}: the probe step did not record a game")
    return job.game


def _progress_reporter(job_id: int, low: int, high: int) -> Callable[[float], None]:
    last = {"value": -1}

    def report(fraction: float) -> None:
        value = low + int((high - low) * min(max(fraction, 0.0), 1.0))
        if value != last["value"]:
            last["value"] = value
            IndexJob.objects.filter(pk=job_id).update(progress=value, heartbeat_at=timezone.now())

    return report


def _action_lookup(sport: str) -> dict[str, ActionLabel]:
    """Model class name → ActionLabel, preferring the game's sport over other sports."""
    lookup: dict[str, ActionLabel] = {}
    for action in sorted(ActionLabel.objects.all(), key=lambda a: a.sport != sport):
        for name in action.model_classes:
            lookup.setdefault(name, action)
    return lookup


def _class_sports() -> dict[str, str]:
    """Model class name → the sport the taxonomy maps it to."""
    return {name: action.sport for name, action in _action_lookup("").items()}


def _shot_at(shots: list[Shot], start_ms: int) -> Shot | None:
    return next((s for s in shots if s.start_ms <= start_ms < s.end_ms), shots[-1] if shots else None)


def _copy_atomic(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def _write_atomic(dest: Path, text: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_text(text)
    os.replace(tmp, dest)


def _mean_embedding(features: np.ndarray, indices: tuple[int, ...]) -> np.ndarray:
    vector = features[list(indices)].mean(axis=0).astype(np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
