"""The indexing pipeline of one game: the steps that bridge the pure stages and the database.

Steps run in the order of ``indexer.steps.STEPS``, each as its own named task taking the IndexJob's
primary key (``indexer.tasks``; the canvas is ``highlights.dispatch.canvas``):

``probe`` → ``analyse`` → ``clips`` → ``graphics`` → ``index`` → ``faces`` → ``thumbnails``

Every step is idempotent: ``analyse`` writes its result to an artifact keyed by (game, model
version, analysis key: a hash of every setting that changes the analysis, see
``indexer.artifacts``) and is skipped when the artifact exists; ``clips`` returns early when the
game already has clips of the same pipeline version, model version and clips key (rows are written
in one transaction under a row lock); ``graphics`` keeps what it read from the score bug in an
artifact keyed by (game, OCR version, graphics key) and replaces the game's graphics rows (states,
graphics events and appearances) in one transaction; ``index`` reconciles the FAISS snapshot with
the database; ``faces`` scans only clips without a FaceScan row of the face model's version (a
clip's tracks and its scan row are written in one transaction under the clip's row lock);
``thumbnails`` fills only missing ones. A retried or re-run job therefore never duplicates clips.
A step runs under its job's session lock and records the last completed step, so a duplicate
delivery (a recovered job's original message turning up, see ``indexer.recovery``) neither runs
beside the live one nor repeats finished work. Every change of the job's state goes through the
``IndexJob`` lifecycle methods.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction

from highlights import graphics, learning, people, plays
from highlights.locks import LockKey, session_lock
from highlights.models import Action, Clip, ClipPrediction, Face, FaceScan, FaceTrack, Game, IndexJob, Shot, Sport
from indexer import artifacts, index_writer, runtime
from indexer.artifacts import PIPELINE_VERSION, analysis_path, game_media_dirs, graphics_path, keyframe_dir
from indexer.errors import CorruptVideoError, PermanentError, RetryableError
from indexer.stages.analysis import Analysis, analyse_video
from indexer.stages.clips import build_clips
from indexer.stages.faces import FaceTrackSpec, ScanStats, scan_spans
from indexer.stages.frames import write_jpeg
from indexer.stages.graphics import GraphicsResult, graphics_frames, read_graphics
from indexer.stages.plays import group_plays, keyframe_signatures
from indexer.stages.probe import probe_video
from indexer.stages.sport import sport_class_sums, sport_from_classes
from indexer.steps import RetryPolicy, Step, step
from ml.files import atomic_write
from ml.preprocessing import l2_normalize
from ml.weights import sha256_file

logger = logging.getLogger(__name__)

RETRYABLE_ERRORS = (RetryableError, OperationalError, InterfaceError)


def retry_options(retry: RetryPolicy) -> dict[str, Any]:
    """Celery options of an idempotent task: late acknowledgement, requeued when its process dies, and
    retryable errors retried under ``retry`` (exponential backoff with jitter). Reel renders use them too."""
    return {
        "autoretry_for": RETRYABLE_ERRORS,
        "retry_backoff": True,
        "retry_backoff_max": retry.backoff_max_s,
        "retry_jitter": True,
        "max_retries": retry.max_retries,
        "acks_late": True,
        "reject_on_worker_lost": True,
    }


RETRY_POLICY = retry_options(RetryPolicy())
""":func:`retry_options` of the default policy, for tasks outside the step registry."""


def run_step(job_id: int, name: str) -> bool:
    """Run one step of a job, recording stage, progress, heartbeat, timings and failures on its IndexJob row.

    The step runs under the job's session lock (``LockKey.JOB``), so one process at a time works
    on a job, and a dead worker's job is recognisable (see ``indexer.recovery``). A delivery that finds
    the lock taken, the step already completed, or the job finished is a duplicate and does nothing.

    Retryable errors propagate to Celery's retry policy (the job stays ``running``; if retries run
    out the task's ``on_failure`` marks it failed). Any other error marks the job failed with a
    readable one-line message and is re-raised as :class:`PermanentError`, so the chain stops.

    Args:
        job_id: the IndexJob's primary key.
        name: the step's name in ``indexer.steps.STEPS``.

    Returns:
        ``True`` when the step ran; ``False`` for a duplicate delivery (the chain must stop there).
    """
    current = step(name)
    with session_lock(LockKey.JOB, job_id) as taken:
        if not taken:
            logger.info("job %s: another process is running a step of it; %s delivery dropped", job_id, name)
            return False
        job = IndexJob.objects.select_related("game").get(pk=job_id)
        if job.is_finished or job.has_completed(current):
            logger.info("job %s: %s already done (job %s); duplicate delivery dropped", job_id, name, job.status)
            return False
        job.start_step(current)
        started = time.perf_counter()
        try:
            _STEP_BODIES[name](job)
        except RETRYABLE_ERRORS:
            raise
        except Exception as exc:
            message = str(exc) if isinstance(exc, PermanentError) else f"{type(exc).__name__}: {exc}"
            job.fail(message)
            raise PermanentError(message) from exc
        job.complete_step(current, time.perf_counter() - started)
        return True


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
        job.attach_game(game)


def _precision(job: IndexJob) -> str:
    """The precision the job's ``analyse`` step ran at (maybe on another worker; float32 before it recorded one)."""
    job.refresh_from_db(fields=["model_versions"])
    return job.model_versions.get("precision", "fp32")


def _artifact(game: Game, precision: str) -> Path:
    """The analysis artifact of the game for the configured model and settings, run at ``precision``."""
    return analysis_path(game.pk, runtime.model_weights().version, artifacts.current_analysis_key(precision))


def _clip_versions(job: IndexJob) -> dict[str, str]:
    """What the stored clips of the configured model and settings are keyed by (``Clip`` fields)."""
    key = artifacts.clips_key(artifacts.current_analysis_key(_precision(job)), min_clip_s=settings.HL_MIN_CLIP_S)
    return {"pipeline_version": PIPELINE_VERSION, "model_version": runtime.model_weights().version, "params_key": key}


def _analyse(job: IndexJob) -> None:
    """Analyse the video once per (pipeline, model, precision); later steps find the artifact from the job's record."""
    game = _game(job)
    precision = runtime.placement().precision
    out = _artifact(game, precision)
    versions = {"action": runtime.model_weights().version, "precision": precision}
    if out.exists():
        job.record(model_versions=versions)
        return
    recognizer = runtime.action_recognizer()
    params = artifacts.analysis_params()
    params = replace(params, batch_windows=recognizer.batch_windows(params.batch_windows, params.window_frames))
    probe = probe_video(Path(game.source_path))
    analysis = analyse_video(
        Path(game.source_path),
        probe,
        recognizer,
        params,
        on_progress=_progress_reporter(job, step("analyse")),
        keyframe_dir=keyframe_dir(out),
    )
    analysis.save(out)
    job.record(timings=analysis.timings, model_versions=versions)


def _clips(job: IndexJob) -> None:
    """Store the clips (once per clip key), then label them with the active learned heads."""
    _write_clips(job)
    learning.apply_active_heads(_game(job).pk)


def _write_clips(job: IndexJob) -> None:
    game = _game(job)
    weights = runtime.model_weights()
    analysis = Analysis.load(_artifact(game, _precision(job)))
    specs = build_clips(
        analysis.spans_s,
        analysis.probs,
        analysis.audio_energy,
        analysis.motion,
        analysis.shots,
        weights.categories,
        min_clip_s=settings.HL_MIN_CLIP_S,
    )
    versions = _clip_versions(job)
    with transaction.atomic():
        game = Game.objects.select_for_update().get(pk=game.pk)
        if Clip.objects.filter(game=game, **versions).exists():
            return
        Clip.objects.filter(game=game).delete()  # another pipeline version, model or clip key is replaced whole
        Shot.objects.filter(game=game).delete()
        shots = Shot.objects.bulk_create(
            Shot(game=game, index=i, start_ms=s.start_ms, end_ms=s.end_ms) for i, s in enumerate(analysis.shots)
        )
        video_classes = analysis.video_classes(weights.categories)
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
                model_class=spec.model_class,
                action=actions.get(spec.model_class),
                confidence=spec.confidence,
                highlight_score=spec.highlight_score,
                audio_energy=spec.audio_energy,
                motion=spec.motion,
                embedding=l2_normalize(analysis.features[list(spec.window_indices)].mean(axis=0)).tobytes(),
                **versions,
            )
            for spec in specs
        )
        ClipPrediction.objects.bulk_create(
            ClipPrediction(clip=clip, rank=rank, model_class=name, probability=p)
            for clip, spec in zip(clips, specs, strict=True)
            for rank, (name, p) in enumerate(spec.top_k)
        )
        game.top_classes = [[name, round(p, 6)] for name, p in video_classes]
        game.save(update_fields=["top_classes", "sport", "updated_at"])


def _graphics(job: IndexJob) -> None:
    """Read the score bug (once per OCR version and graphics key: kept in an artifact), then store what it showed."""
    game = _game(job)
    params = artifacts.graphics_params()
    ocr, version = runtime.ocr_engine(), runtime.ocr_version()
    out = graphics_path(game.pk, version, artifacts.graphics_key(params))
    if out.exists():
        result = GraphicsResult.from_dict(json.loads(out.read_text()))
    else:
        frames = graphics_frames(Path(game.source_path), width=game.width or 0, height=game.height or 0, params=params)
        result = read_graphics(frames, ocr, params)
        with atomic_write(out) as tmp:
            tmp.write_text(json.dumps(result.to_dict()))
    fields = job.game_fields
    graphics.store_graphics(
        game.pk,
        result,
        sport_given=bool(fields.get("sport")),
        teams_given=bool(fields.get("home_team") or fields.get("away_team")),
    )
    job.record(timings={"graphics_read": round(result.seconds, 3)}, model_versions={"ocr": version})


def _index(job: IndexJob) -> None:
    index_writer.sync_game_clips(_game(job).pk)


def _faces(job: IndexJob) -> None:
    game = _game(job)
    face_recognizer = runtime.face_recognizer()
    clips = list(
        Clip.objects.filter(game=game, **_clip_versions(job))
        .exclude(face_scans__model_version=face_recognizer.version)
        .order_by("start_ms")
    )
    if clips:
        params = runtime.face_scan_params()
        analyzers = [runtime.face_recognizer(n).detect_and_describe for n in range(max(1, settings.HL_FACE_THREADS))]
        spans = [(clip.start_s, clip.end_s) for clip in clips]
        report = _progress_reporter(job, step("faces"))
        scans = scan_spans(
            Path(game.source_path), spans, analyzers, params, width=game.width or 0, height=game.height or 0
        )
        for done, (clip, found) in enumerate(zip(clips, scans, strict=True)):
            _save_face_tracks(game, clip, *found)
            report((done + 1) / len(clips))
    people.index_game_tracks(game.pk)
    _group_plays(game, _artifact(game, _precision(job)), _bug_spans(game))


def _bug_spans(game: Game) -> list[tuple[int, int]] | None:
    """Where the score bug was read, from the game's graphics artifact; None when unknown or no bug was found."""
    path = graphics_path(game.pk, runtime.ocr_version(), artifacts.graphics_key(artifacts.graphics_params()))
    if not path.exists():
        return None
    return GraphicsResult.from_dict(json.loads(path.read_text())).bug_spans or None


def _group_plays(game: Game, path: Path, bug_visible: list[tuple[int, int]] | None) -> None:
    """Group the game's shots into plays (live, replay, close-up, transition) and store them with their events.

    Shots are compared by keyframe signatures of the analysis windows (window embeddings when the
    keyframes are gone); a shot with a face track for most of it is a close-up; a shot's score choosing
    a play's main shot is its best clip's highlight score. ``path`` is the game's analysis artifact;
    ``bug_visible`` the spans (ms) in which the graphics step read the score bug (None: no bug known, the
    hidden-bug cue is not used).
    """
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
    found = group_plays(
        analysis.shots, analysis.spans_s, vectors, bug_visible=bug_visible, faces=faces, shot_scores=shot_scores
    )
    plays.store_plays(game.pk, found)


def _save_face_tracks(game: Game, clip: Clip, tracks: list[FaceTrackSpec], stats: ScanStats) -> None:
    media = Path(settings.MEDIA_ROOT)
    version = runtime.face_recognizer().version
    with transaction.atomic():
        Clip.objects.select_for_update().get(pk=clip.pk)
        if FaceScan.objects.filter(clip=clip, model_version=version).exists():
            return
        for number, spec in enumerate(tracks):
            name = f"{game_media_dirs(game.pk)[1]}/clip_{clip.pk}_track_{number}.jpg"
            write_jpeg(spec.crop, media / name)
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


def _thumbnails(job: IndexJob) -> None:
    """Each clip's thumbnail is the keyframe of the analysis window centred nearest the clip's middle."""
    game = _game(job)
    artifact = _artifact(game, _precision(job))
    centres = Analysis.load(artifact).spans_s.mean(axis=1)
    media = Path(settings.MEDIA_ROOT)
    for clip in Clip.objects.filter(game=game, thumbnail=""):
        window = int(np.argmin(np.abs(centres - (clip.start_ms + clip.end_ms) / 2000.0)))
        name = f"{game_media_dirs(game.pk)[0]}/clip_{clip.pk}.jpg"
        with atomic_write(media / name) as tmp:
            shutil.copyfile(keyframe_dir(artifact) / f"window_{window:06d}.jpg", tmp)
        Clip.objects.filter(pk=clip.pk).update(thumbnail=name)


_STEP_BODIES: dict[str, Callable[[IndexJob], None]] = {
    "probe": _probe,
    "analyse": _analyse,
    "clips": _clips,
    "graphics": _graphics,
    "index": _index,
    "faces": _faces,
    "thumbnails": _thumbnails,
}
"""Each step's body, by the step's name in ``indexer.steps.STEPS``."""


# --- helpers -----------------------------------------------------------------------------------


def _game(job: IndexJob) -> Game:
    job.refresh_from_db(fields=["game"])
    if job.game is None:
        raise CorruptVideoError(f"{job.source_path}: the probe step did not record a game")
    return job.game


def _progress_reporter(job: IndexJob, current: Step) -> Callable[[float], None]:
    """Report a fraction (0-1) of ``current`` done as job progress within the step's range, with a heartbeat."""
    low, high = current.progress
    last = {"value": -1}

    def report(fraction: float) -> None:
        value = low + int((high - low) * min(max(fraction, 0.0), 1.0))
        if value != last["value"]:
            last["value"] = value
            job.heartbeat(value)

    return report


def _action_lookup(sport: str) -> dict[str, Action]:
    """Model class name → Action, preferring the game's sport over other sports."""
    lookup: dict[str, Action] = {}
    for action in sorted(Action.objects.all(), key=lambda a: a.sport != sport):
        for name in action.model_classes:
            lookup.setdefault(name, action)
    return lookup


def _class_sports() -> dict[str, str]:
    """Model class name → the sport the taxonomy maps it to."""
    return {name: action.sport for name, action in _action_lookup("").items()}


def _shot_at(shots: list[Shot], start_ms: int) -> Shot | None:
    return next((s for s in shots if s.start_ms <= start_ms < s.end_ms), shots[-1] if shots else None)
