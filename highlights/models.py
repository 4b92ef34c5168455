"""The product's data: games, shots, clips, predictions, the action taxonomy and indexing jobs.

Times are stored as integer milliseconds (``*_ms``); durations of whole videos as float seconds.
Clip embeddings live here (float32 bytes) as the source of truth; FAISS indexes are derived from
them and use the Clip primary key as their id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models, transaction
from django.db.models import Func, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Concat, Lower, Upper
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from indexer.steps import STEP_NAMES, STEPS, Step, steps_after


def search_words(text: models.Expression | models.F) -> Func:
    """The words of lower-case ``text`` as a ``tsvector`` for prefix search (``'sox':*``): its runs of ``[a-z0-9]``,
    each one word (``to_tsvector('simple', regexp_replace(text, '[^a-z0-9]+', ' ', 'g'))``).

    Every other character separates words, so a lower-case ASCII word starting any word of ``text`` (after
    a space, a hyphen, an apostrophe, a dot or an accented letter) is a prefix of one of these: the GIN
    index on it finds every such row, a superset of what search's word-start test keeps. PostgreSQL's own
    parser would join ``st.louis`` into one host name, so the runs are cut out first.
    """
    runs = Func(
        text, Value("[^a-z0-9]+"), Value(" "), Value("g"), function="REGEXP_REPLACE", output_field=models.TextField()
    )
    return Func(Value("simple"), runs, function="TO_TSVECTOR", output_field=SearchVectorField())


class EmbeddingMixin:
    """For models with an ``embedding`` BinaryField of float32 bytes: the one way to decode it."""

    embedding: bytes | memoryview

    def embedding_vector(self) -> np.ndarray:
        """The embedding as a float32 array of shape ``(D,)`` (1024 for I3D clips, 128 for dlib faces)."""
        return np.frombuffer(bytes(self.embedding), dtype=np.float32)

    @staticmethod
    def embedding_matrix(raw: Sequence[bytes | memoryview]) -> np.ndarray:
        """``(N, D)`` float32 from the bytes of ``N`` embeddings as ``values_list("embedding")`` reads them
        (rows too many to load as model instances); ``(0, 0)`` for none."""
        if not raw:
            return np.empty((0, 0), np.float32)
        return np.frombuffer(b"".join(bytes(e) for e in raw), np.float32).reshape(len(raw), -1)


class Sport(models.TextChoices):
    BASKETBALL = "basketball"
    BASEBALL = "baseball"
    TENNIS = "tennis"
    SOCCER = "soccer"
    FOOTBALL = "football"
    HOCKEY = "hockey"
    OTHER = "other"


class Game(models.Model):
    """One archived video file (a game, a match or an excerpt of one)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        INDEXING = "indexing"
        INDEXED = "indexed"
        FAILED = "failed"

    sport = models.CharField(max_length=32, choices=Sport.choices, default=Sport.OTHER)
    title = models.CharField(max_length=255, blank=True)
    home_team = models.CharField(max_length=128, blank=True)
    away_team = models.CharField(max_length=128, blank=True)
    date = models.DateField(null=True, blank=True)
    source_path = models.CharField(max_length=1024)
    sha256 = models.CharField(max_length=64, unique=True)
    duration_s = models.FloatField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    has_audio = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    top_classes = models.JSONField(
        default=list, blank=True, help_text="[[model class, probability], ...] for the whole video"
    )
    graphics = models.JSONField(
        default=dict, blank=True, help_text="what the score bug showed: teams read, bug box, samples, seconds"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    search_text = models.GeneratedField(
        expression=Lower(
            Concat(
                "title", Value("\n"), "home_team", Value("\n"), "away_team", Value("\n"),
                Coalesce(KT("graphics__teams"), Value(""), output_field=models.TextField()),
                output_field=models.TextField(),
            )
        ),
        output_field=models.TextField(),
        db_persist=True,
        help_text="title, teams and the teams read on the score bug (JSON text), lower case, one per line: "
        "search's free words are looked for in this one column instead of four (issue #15)",
    )  # fmt: skip

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # search's "last N" ranking, newest game first (``highlights.selectors.clip_queryset``)
            models.Index(models.F("date").desc(nulls_last=True), models.F("created_at").desc(), name="game_newest"),
            # search's free words, each a prefix of a word of the title or teams (``highlights.selectors``)
            GinIndex(search_words(models.F("search_text")), name="game_search_words"),
        ]

    def __str__(self) -> str:
        return self.title or Path(self.source_path).name


class Shot(models.Model):
    """A continuous camera take between two cuts, found by shot-boundary detection."""

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="shots")
    index = models.PositiveIntegerField()
    start_ms = models.PositiveIntegerField()
    end_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["game", "index"]
        constraints = [models.UniqueConstraint(fields=["game", "index"], name="unique_shot_index")]

    def __str__(self) -> str:
        return f"{self.game_id}#{self.index} [{self.start_ms}-{self.end_ms} ms]"


class Action(models.Model):
    """The sport-specific action taxonomy editors curate, mapped onto model classes.

    ``model_classes`` lists the model class names that mean this action, e.g. the Kinetics
    class ``"dunking basketball"`` maps to basketball / ``dunk``.
    """

    sport = models.CharField(max_length=32, choices=Sport.choices)
    name = models.CharField(max_length=64)
    model_classes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["sport", "name"]
        constraints = [models.UniqueConstraint(fields=["sport", "name"], name="unique_action")]

    def __str__(self) -> str:
        return f"{self.sport}/{self.name}"


class ReviewStatus(models.TextChoices):
    """An editor's verdict on a clip; rejected clips drop out of search and auto reels."""

    UNREVIEWED = "unreviewed"
    VERIFIED = "verified"
    REJECTED = "rejected"


class MsSpan:
    """A row spanning ``start_ms``..``end_ms`` of video time (ms), with the span in seconds."""

    start_ms: int
    end_ms: int

    @property
    def start_s(self) -> float:
        return self.start_ms / 1000.0

    @property
    def end_s(self) -> float:
        return self.end_ms / 1000.0


class Clip(EmbeddingMixin, MsSpan, models.Model):
    """A labelled time range of a game: consecutive windows with the same top action within a shot.

    ``highlight_score`` (0..1) = weighted sum of the action confidence and the sigmoids of the
    audio-energy and motion z-scores (``indexer.stages.clips.highlight_score``); its
    components are stored beside it.
    """

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="clips")
    shot = models.ForeignKey(Shot, on_delete=models.SET_NULL, null=True, blank=True, related_name="clips")
    start_ms = models.PositiveIntegerField()
    end_ms = models.PositiveIntegerField()
    # no index of its own: ``clip_class_game`` (model class, game) serves a lookup by class
    model_class = models.CharField(
        max_length=128, help_text="the action model's class, e.g. Kinetics-400 'playing tennis'"
    )
    # no index of its own either: ``clip_action_game`` (action, game) serves a lookup by action and the SET NULL
    action = models.ForeignKey(
        Action, on_delete=models.SET_NULL, null=True, blank=True, related_name="clips", db_index=False
    )
    confidence = models.FloatField()
    highlight_score = models.FloatField(db_index=True)
    audio_energy = models.FloatField(default=0.0, help_text="audio energy, z-score vs the game's baseline")
    motion = models.FloatField(default=0.0, help_text="motion energy, z-score vs the game's baseline")
    model_version = models.CharField(max_length=64)
    pipeline_version = models.CharField(max_length=16)
    params_key = models.CharField(
        max_length=16, blank=True, help_text="hash of the settings the clip was computed with (indexer.artifacts)"
    )
    embedding = models.BinaryField(editable=False, help_text="float32 L2-normalised clip embedding")
    thumbnail = models.FileField(upload_to="thumbs/", blank=True)
    review_status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.UNREVIEWED, db_index=True
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["game", "start_ms"]
        indexes = [
            models.Index(fields=["game", "pipeline_version", "model_version"]),
            # Search's default ranking (highlight score, then id) over the clips fans see, covering the
            # columns its filters test: the walk down the scores reads no table row (issue #15).
            models.Index(
                fields=["-highlight_score", "id"],
                include=["game", "action", "model_class"],
                condition=~models.Q(review_status=ReviewStatus.REJECTED),
                name="clip_visible_by_score",
            ),
            # the capped count of a set of clips (a player's, an event's): which of its ids are visible, read from
            # the index alone (the primary key's index sends each id to the table for its review status)
            models.Index(
                fields=["id"], condition=~models.Q(review_status=ReviewStatus.REJECTED), name="clip_visible_id"
            ),
            # an event query's look-alike clips: one action (or label) in the games that cannot know the events
            models.Index(fields=["action", "game"], include=["id"], name="clip_action_game"),
            models.Index(fields=["model_class", "game"], include=["id"], name="clip_class_game"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["game", "start_ms", "pipeline_version", "model_version"], name="unique_clip_start"
            ),
            models.CheckConstraint(condition=models.Q(end_ms__gt=models.F("start_ms")), name="clip_positive_length"),
        ]

    def __str__(self) -> str:
        return f"{self.model_class} {self.start_ms / 1000:.1f}-{self.end_ms / 1000:.1f}s"


class ClipPrediction(models.Model):
    """One of a clip's top-k model classes with its mean probability."""

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="predictions")
    rank = models.PositiveSmallIntegerField()
    model_class = models.CharField(max_length=128)
    probability = models.FloatField()

    class Meta:
        ordering = ["clip", "rank"]
        constraints = [models.UniqueConstraint(fields=["clip", "rank"], name="unique_prediction_rank")]

    def __str__(self) -> str:
        return f"{self.model_class} {self.probability:.2f}"


class Backfill(models.Model):
    """One ``manage.py backfill`` run over an archive folder or manifest; its IndexJobs point at it."""

    source = models.CharField(max_length=1024, help_text="the folder or CSV manifest walked")
    pattern = models.CharField(max_length=255, blank=True, help_text="glob applied to a folder")
    priority = models.CharField(max_length=8, default="low")
    files_seen = models.PositiveIntegerField(default=0)
    files_skipped = models.PositiveIntegerField(default=0, help_text="already indexed, queued or duplicate content")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"backfill {self.pk} {self.source}"


class JobStatus(models.Model):
    """What every job row shares: its status, current stage, progress (0-100), error and times.

    A job is ``queued``, then ``running``, then ``succeeded`` or ``failed``; the subclass's lifecycle
    methods change it. They write only the fields they change, with ``UPDATE ... WHERE pk``
    (:meth:`_write`), so concurrent writers of other fields (a progress report, recovery) are never
    overwritten; :meth:`_fail` keeps a failed job's first error.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    stage = models.CharField(max_length=64, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0-100")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def is_finished(self) -> bool:
        """Whether the job succeeded or failed (no step of it runs again, nothing left to poll)."""
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    def _write(self, *conditions: models.Q, **fields: object) -> bool:
        """Set ``fields`` on this job's row (only those columns) where ``conditions`` hold, and then on this object.

        Returns:
            Whether the row was written (``False``: a condition did not hold, or the row is gone).
        """
        written = type(self)._default_manager.filter(*conditions, pk=self.pk).update(**fields)
        if written:
            for name, value in fields.items():
                setattr(self, name, value)
        return bool(written)

    def _fail(self, line: str) -> bool:
        """Mark the job failed with ``line`` unless it failed before (the first error stays); whether it did."""
        failed = self.Status.FAILED
        return self._write(~models.Q(status=failed), status=failed, error=line, finished_at=timezone.now())


class IndexJob(JobStatus):
    """One indexing run of one game: status, current stage, progress, attempts, error, timings.

    The row owns its lifecycle (as NetBox's ``Job`` does): every state change goes through one of
    its methods, which write only the fields they change, with ``UPDATE ... WHERE pk``, so
    concurrent writers of other fields (a progress report, recovery) are never overwritten:

    ``queued`` → :meth:`start_step` → ``running`` → :meth:`heartbeat` … → :meth:`complete_step`
    (the last one → ``succeeded``); any step may :meth:`fail` (→ ``failed``, keeps the first error);
    recovery takes a stalled job over with :meth:`resume`. Steps are those of ``indexer.steps.STEPS``.
    """

    class Priority(models.TextChoices):
        """Which queued file a worker starts next; a started job's next steps always go first."""

        LOW = "low"
        NORMAL = "normal"
        HIGH = "high"

    # Kept when its game is deleted (audit): source_path and sha256 still say which file it indexed.
    game = models.ForeignKey(Game, on_delete=models.SET_NULL, related_name="jobs", null=True, blank=True)
    backfill = models.ForeignKey(Backfill, on_delete=models.SET_NULL, related_name="jobs", null=True, blank=True)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True, help_text="file content, when known at request")
    source_path = models.CharField(max_length=1024)
    stage = models.CharField(max_length=32, blank=True)  # a step's name (``indexer.steps``)
    attempts = models.PositiveIntegerField(default=0)
    timings = models.JSONField(default=dict, blank=True, help_text="wall seconds per stage")
    completed_step = models.CharField(max_length=32, blank=True, help_text="the last pipeline step that finished")
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="last time a worker started, advanced or finished a step of the job"
    )
    pipeline_version = models.CharField(max_length=16)
    model_versions = models.JSONField(default=dict, blank=True)
    game_fields = models.JSONField(default=dict, blank=True, help_text="sport, title, teams given when requested")

    def __str__(self) -> str:
        return f"job {self.pk} {self.status} {self.stage}"

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def current_step(self) -> Step | None:
        """The registered step of :attr:`stage` (the jobs page shows its title); ``None`` before the first step."""
        return next((s for s in STEPS if s.name == self.stage), None)

    @property
    def next_step(self) -> Step | None:
        """The first step not completed yet (steps run in order), or ``None`` when all are."""
        remaining = steps_after(self.completed_step)
        return remaining[0] if remaining else None

    def has_completed(self, step: Step) -> bool:
        """Whether ``step`` already finished for this job."""
        done = STEP_NAMES.index(self.completed_step) if self.completed_step else -1
        return STEP_NAMES.index(step.name) <= done

    def start_step(self, step: Step) -> None:
        """Mark the job running ``step``: stage, the step's starting progress, heartbeat.

        The first step counts an attempt.
        """
        now = timezone.now()
        self._write(
            status=self.Status.RUNNING,
            stage=step.name,
            progress=step.progress[0],
            started_at=self.started_at or now,
            heartbeat_at=now,
            attempts=self.attempts + (1 if step == STEPS[0] else 0),
        )

    def heartbeat(self, progress: int | None = None) -> None:
        """Record that a worker is alive on the job, optionally with its progress (0-100)."""
        fields: dict[str, object] = {"heartbeat_at": timezone.now()}
        if progress is not None:
            fields["progress"] = progress
        self._write(**fields)

    def record(self, *, timings: dict[str, float] | None = None, model_versions: dict[str, str] | None = None) -> None:
        """Add wall seconds per part (``timings``) and the versions of the models used (``model_versions``)."""
        fields: dict[str, object] = {}
        if timings:
            fields["timings"] = {**IndexJob.objects.get(pk=self.pk).timings, **timings}
        if model_versions:
            fields["model_versions"] = {**self.model_versions, **model_versions}
        if fields:
            self._write(**fields)

    def attach_game(self, game: Game) -> None:
        """Attach the job to the game its file turned out to be (set by the ``probe`` step)."""
        self._write(game=game)

    def complete_step(self, step: Step, seconds: float) -> None:
        """Record that ``step`` finished in ``seconds``; after the last one the job succeeds and its game is indexed."""
        self.record(timings={step.name: round(seconds, 3)})
        fields: dict[str, object] = {"completed_step": step.name, "heartbeat_at": timezone.now()}
        if step == STEPS[-1]:
            fields |= {"status": self.Status.SUCCEEDED, "progress": 100, "finished_at": timezone.now()}
        self._write(**fields)
        if step == STEPS[-1] and self.game_id:
            Game.objects.filter(pk=self.game_id).update(status=Game.Status.INDEXED)

    def fail(self, message: str) -> None:
        """Mark the job (and its game, unless indexed before) failed with the message's first line.

        A failed job keeps its first error: a later failure (Celery's ``on_failure`` after the step
        already failed it) changes nothing.
        """
        self._fail(message.strip().splitlines()[0] if message.strip() else "failed")
        Game.objects.filter(jobs__pk=self.pk).exclude(status=Game.Status.INDEXED).update(status=Game.Status.FAILED)

    def resume(self) -> None:
        """Recovery takes over a stalled job from :attr:`next_step`: a fresh heartbeat, and an attempt counted.

        Resuming from the first step counts no attempt here: :meth:`start_step` counts it.
        """
        self._write(heartbeat_at=timezone.now(), attempts=self.attempts + (self.next_step != STEPS[0]))


class Reel(models.Model):
    """A highlight reel: an ordered list of trimmed clips, rendered to one MP4.

    ``version`` increases with every edit of the title or items; a render produces the file of one
    version (``rendered_version``), so rendering the same version twice does nothing. A render
    refreshes ``heartbeat_at`` as it advances; one "rendering" with no heartbeat for
    ``HL_RENDER_STALL_S`` seconds died with its worker and may be rendered again.
    """

    class Status(models.TextChoices):
        DRAFT = "draft"
        QUEUED = "queued"
        RENDERING = "rendering"
        READY = "ready"
        FAILED = "failed"

    class Kind(models.TextChoices):
        MANUAL = "manual"
        CONDENSED = "condensed", "condensed game"
        QUERY = "query", "from a search"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reels")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MANUAL)
    query = models.CharField(max_length=500, blank=True, help_text="the search a query reel was built from")
    published = models.BooleanField(default=False, help_text="listed for everyone (editors publish)")
    share_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="render progress, 0-100")
    error = models.TextField(blank=True)
    rendered_version = models.PositiveIntegerField(null=True, blank=True)
    video = models.FileField(upload_to="reels/", blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True, help_text="of the rendered video")
    render_s = models.FloatField(null=True, blank=True, help_text="wall seconds of the last render")
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="last time a render worker started or advanced this reel's render"
    )
    render_reason = models.CharField(
        max_length=255, blank=True, help_text="why the reel must be rendered again (shown to its owner)"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_rendered(self) -> bool:
        """Whether the video file is that of the current version."""
        return self.status == self.Status.READY and self.rendered_version == self.version and bool(self.video)

    # --- render lifecycle: draft → queued → rendering → ready | failed; an edit goes back to draft ------
    # The render methods write only while the row still holds the version this object was read at,
    # so a render that an edit overtook never overwrites the newer version's state.

    def _write_if_current(self, **fields: object) -> bool:
        """Set ``fields`` on the row if it still holds this object's version; whether it did."""
        written = Reel.objects.filter(pk=self.pk, version=self.version).update(**fields)
        if written:
            for name, value in fields.items():
                setattr(self, name, value)
        return bool(written)

    def edited(self) -> None:
        """A new version (title or items changed): the rendered video no longer matches; save() writes it."""
        self.version += 1
        self.status, self.progress, self.error = self.Status.DRAFT, 0, ""

    def queue_render(self) -> None:
        """Queue a render of the current version (the caller dispatches ``highlights.render_reel``)."""
        self.status, self.progress, self.error = self.Status.QUEUED, 0, ""
        self.save(update_fields=["status", "progress", "error", "updated_at"])

    def start_render(self) -> bool:
        """Mark this version rendering from 0 %; ``False`` when an edit made a newer version meanwhile."""
        return self._write_if_current(status=self.Status.RENDERING, progress=0, error="", heartbeat_at=timezone.now())

    def render_progress(self, fraction: float) -> None:
        """Record render progress (``fraction`` in [0, 1]; 100 % only after :meth:`complete_render`) and a heartbeat."""
        self._write_if_current(progress=min(int(fraction * 100), 99), heartbeat_at=timezone.now())

    def complete_render(self, video: str, *, duration_ms: int, render_s: float) -> bool:
        """Publish ``video`` (relative to ``MEDIA_ROOT``) as this version's render; ``False`` if it is stale."""
        return self._write_if_current(
            status=self.Status.READY,
            progress=100,
            video=video,
            rendered_version=self.version,
            duration_ms=duration_ms,
            render_s=render_s,
            heartbeat_at=timezone.now(),
            render_reason="",
        )

    def fail_render(self, error: str) -> None:
        """Mark this version's render failed with a readable message (ffmpeg's)."""
        self._write_if_current(status=self.Status.FAILED, error=error)


@receiver(post_delete, sender=Reel)
def _delete_reel_video(sender: type[Reel], instance: Reel, **kwargs: object) -> None:
    """A deleted reel's rendered MP4 goes too, once the deletion commits (also when its owner is deleted)."""
    if instance.video:
        path = Path(settings.MEDIA_ROOT) / instance.video.name
        transaction.on_commit(partial(path.unlink, missing_ok=True))


class ReelItem(models.Model):
    """One clip of a reel with its trim points (game time, integer milliseconds)."""

    reel = models.ForeignKey(Reel, on_delete=models.CASCADE, related_name="items")
    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="reel_items")
    position = models.PositiveIntegerField()
    trim_in_ms = models.PositiveIntegerField()
    trim_out_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["reel", "position"]
        constraints = [
            models.UniqueConstraint(fields=["reel", "position"], name="unique_reel_position"),
            models.CheckConstraint(condition=models.Q(trim_out_ms__gt=models.F("trim_in_ms")), name="trim_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.reel_id}#{self.position} clip {self.clip_id} [{self.trim_in_ms}-{self.trim_out_ms} ms]"

    @property
    def duration_ms(self) -> int:
        return self.trim_out_ms - self.trim_in_ms


# --- People and faces ----------------------------------------------------------------------------
# Face descriptors are dlib's 128-d ResNet embeddings stored as float32 bytes (the source of truth);
# the FAISS indexes of tracks and of reference photos are derived from them (ids = primary keys).


class Person(models.Model):
    """A person seen or named in the footage: a player, coach or umpire, or an unnamed face cluster.

    ``name`` is blank while the person is an unnamed face cluster. Named people come from enrolment
    (photos), the score bug, play-by-play feeds and editors; unnamed ones from clustering face tracks,
    until an editor names or merges them. Only named people are identification targets: their
    references are their photos (``PersonPhoto``) and the face tracks editors confirmed as theirs.
    """

    name = models.CharField(max_length=128, blank=True, db_index=True, help_text="blank: an unnamed person")
    team = models.CharField(max_length=128, blank=True)
    number = models.PositiveSmallIntegerField(null=True, blank=True, help_text="jersey number")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        # search's free words naming people, each a prefix of a word of the name (``highlights.selectors``)
        indexes = [GinIndex(search_words(Lower("name")), name="person_name_words")]

    def __str__(self) -> str:
        return self.name or f"person {self.pk}"


class PersonPhoto(EmbeddingMixin, models.Model):
    """A reference photo of a person: the face found in it and its descriptor."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to="people/", blank=True)
    source_name = models.CharField(max_length=255, blank=True, help_text="the enrolled file's name")
    x = models.PositiveIntegerField()
    y = models.PositiveIntegerField()
    w = models.PositiveIntegerField()
    h = models.PositiveIntegerField()
    embedding = models.BinaryField(editable=False, help_text="float32 (128,) dlib face descriptor")
    model_version = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.person} photo {self.pk}"


class FaceScan(models.Model):
    """Marks a clip as scanned for faces by one face model version (also when no face was found)."""

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="face_scans")
    model_version = models.CharField(max_length=64)
    frames = models.PositiveIntegerField(default=0, help_text="sampled frames analysed")
    faces = models.PositiveIntegerField(default=0, help_text="detections")
    seconds = models.FloatField(default=0.0, help_text="wall seconds")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clip", "model_version"], name="unique_face_scan")]

    def __str__(self) -> str:
        return f"clip {self.clip_id} scanned by {self.model_version}: {self.faces} face(s) in {self.frames} frame(s)"


class Assignment(models.TextChoices):
    """Who put a face track with its person."""

    AUTO = "auto", "identified"  # nearest enrolled person under the threshold, clearly ahead of the second
    CLUSTER = "cluster", "clustered"  # grouped with similar tracks by clustering
    EDITOR = "editor", "editor"  # an editor's decision (name, merge, split, move): never changed by the system


class FaceTrack(EmbeddingMixin, models.Model):
    """One person's face followed through a clip (within one shot).

    ``embedding`` is the quality-weighted mean of its faces' descriptors. ``distance`` is the
    Euclidean distance to the matched person's nearest reference when ``source`` is ``auto``.
    ``rejected_people`` remembers "not this person": neither identification nor clustering ever
    puts the track with them again.
    """

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="face_tracks")
    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="face_tracks")
    shot = models.ForeignKey(Shot, on_delete=models.SET_NULL, null=True, blank=True, related_name="face_tracks")
    start_ms = models.PositiveIntegerField()
    end_ms = models.PositiveIntegerField()
    embedding = models.BinaryField(editable=False, help_text="float32 (128,) quality-weighted mean descriptor")
    quality = models.FloatField(default=0.0, help_text="mean detection quality, 0..1")
    thumbnail = models.FileField(upload_to="faces/", blank=True)
    model_version = models.CharField(max_length=64)
    person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="face_tracks")
    source = models.CharField(max_length=8, choices=Assignment.choices, blank=True)
    distance = models.FloatField(null=True, blank=True)
    rejected_people = models.ManyToManyField(Person, blank=True, related_name="rejected_tracks")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["game", "start_ms", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_ms__gte=models.F("start_ms")), name="face_track_span"),
        ]

    def __str__(self) -> str:
        return f"track {self.pk} {self.person or 'unknown'} [{self.start_ms}-{self.end_ms} ms]"


class Face(models.Model):
    """One detection of a track: when, where (pixels of the video), how sure, how good."""

    track = models.ForeignKey(FaceTrack, on_delete=models.CASCADE, related_name="faces")
    time_ms = models.PositiveIntegerField()
    x = models.PositiveIntegerField()
    y = models.PositiveIntegerField()
    w = models.PositiveIntegerField()
    h = models.PositiveIntegerField()
    score = models.FloatField(help_text="detector confidence")
    quality = models.FloatField(help_text="0..1")

    class Meta:
        ordering = ["track", "time_ms"]

    def __str__(self) -> str:
        return f"face of track {self.track_id} at {self.time_ms} ms"


# --- Learned actions ------------------------------------------------------------------------------
# Editors' own labels ("alley-oop", "ace") learned from verified clips: a few-shot head on the stored
# clip embeddings, or a fine-tuned CRNN. Every trained model is a registered version; one version per
# action set is active, and its predictions are what search matches.


class ActionClassifier(models.Model):
    """One trained version of a model for a set of editor labels, with its metrics and provenance.

    ``action_set`` is the sorted, comma-joined label names (the registry key); ``classes`` the model's
    output classes in logit order (the labels, plus ``"(other)"`` when negatives were trained).
    ``parent`` is the version of the weights it builds on: the action model whose clip embeddings a
    head reads (``i3d_rgb_kinetics400@af5c50f0``), or the ImageNet backbone a CRNN fine-tunes.
    """

    class Kind(models.TextChoices):
        HEAD = "head", "few-shot head on clip embeddings"
        CRNN = "crnn", "CRNN (MobileNetV2 + GRU)"
        TWO_STREAM = "two_stream", "two-stream CRNN (RGB + optical flow)"

    action_set = models.CharField(max_length=500, db_index=True)
    classes = models.JSONField(default=list)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    version = models.PositiveIntegerField(help_text="1, 2, ... within the action set")
    parent = models.CharField(max_length=128)
    weights_path = models.CharField(max_length=1024, help_text="relative to HL_MODELS_DIR")
    sha256 = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True, help_text="hyperparameters and input settings")
    metrics = models.JSONField(default=dict, blank=True, help_text="cross-validated metrics on the training clips")
    training_clips = models.ManyToManyField(Clip, blank=True, related_name="+")
    is_active = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["action_set", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["action_set", "version"], name="unique_classifier_version"),
            models.UniqueConstraint(
                fields=["action_set"], condition=models.Q(is_active=True), name="one_active_classifier"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action_set} v{self.version} ({self.kind})"

    @property
    def actions(self) -> list[str]:
        """The searchable actions (the action set, without the negative class)."""
        return self.action_set.split(",")


class LearnedAction(models.Model):
    """A clip's most probable class under one registered model, with its probability (searchable when active)."""

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="learned_actions")
    model = models.ForeignKey(ActionClassifier, on_delete=models.CASCADE, related_name="predictions")
    action = models.CharField(max_length=128, db_index=True, help_text="one of the classifier's actions")
    probability = models.FloatField()

    class Meta:
        ordering = ["clip", "-probability"]
        constraints = [models.UniqueConstraint(fields=["clip", "model"], name="unique_learned_action")]

    def __str__(self) -> str:
        return f"{self.action} {self.probability:.2f}"


class TrainingJob(JobStatus):
    """One training of a learned model for an editor's action set, run by a worker: status, stage, progress, error.

    The labels page polls it (a CRNN takes minutes); a succeeded job points at the version it registered.
    """

    action_set = models.CharField(max_length=500, help_text="the sorted, comma-joined label names")
    kind = models.CharField(max_length=16, choices=ActionClassifier.Kind.choices)
    model = models.ForeignKey(ActionClassifier, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"training {self.pk} of {self.action_set} ({self.kind}) {self.status}"

    def start(self) -> None:
        """Mark the job running (a worker took it), from progress 0."""
        self._write(status=self.Status.RUNNING, stage="starting", progress=0, error="", started_at=timezone.now())

    def advance(self, progress: int, stage: str) -> None:
        """Record how far training got: ``progress`` in 0-100 (clamped) and the current stage."""
        self._write(progress=max(0, min(100, progress)), stage=stage[:64])

    def succeed(self, model: ActionClassifier) -> None:
        """Mark the job done, pointing at the version it registered."""
        self._write(status=self.Status.SUCCEEDED, stage="", progress=100, model=model, finished_at=timezone.now())

    def fail(self, error: str) -> None:
        """Mark the job failed with the whole error on one readable line (a failed job keeps its first error)."""
        self._fail(" ".join(error.split()))


# --- Broadcast graphics, teams and events ---------------------------------------------------------
# The score bug read by the ``graphics`` step (``indexer.stages.graphics``) becomes a game-state
# timeline, scoring events and person/team links. Events of every source (graphics, play-by-play
# imports, models, editors) share one table.


class League(models.TextChoices):
    MLB = "mlb", "MLB"
    NBA = "nba", "NBA"
    NHL = "nhl", "NHL"
    NFL = "nfl", "NFL"
    LALIGA = "laliga", "LaLiga"
    OTHER = "other"


class Team(models.Model):
    """A team as broadcasts name it: the score bug's code (``LAD``) and the full name (``Los Angeles Dodgers``).

    Seeded with the MLB, NBA, NHL, NFL and LaLiga teams; editors add and correct teams in the admin.
    ``aliases`` lists other codes or short names seen on bugs (``CHW`` for ``CWS``).
    """

    league = models.CharField(max_length=16, choices=League.choices)
    sport = models.CharField(max_length=32, choices=Sport.choices)
    code = models.CharField(max_length=8, help_text="the abbreviation on the score bug, upper case")
    name = models.CharField(max_length=128)
    aliases = models.JSONField(default=list, blank=True, help_text="other codes or names, upper case")

    class Meta:
        ordering = ["league", "code"]
        constraints = [models.UniqueConstraint(fields=["league", "code"], name="unique_team_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class GameState(models.Model):
    """One change of game state read from the score bug, from ``time_ms`` until the next row.

    Sides are in the bug's order (first row or left column first), as read and normalised for
    display; scores, period and clock are ``None`` where not shown or not read. ``fields`` holds
    sport-specific readings (baseball: batter, pitcher, balls, strikes, outs, pitch_count;
    tennis: sets, games, points, server). ``confidence`` is the minimum OCR confidence of the
    fields used, 0..1.
    """

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="states")
    time_ms = models.PositiveIntegerField(help_text="video time the state was first seen, ms")
    side_a = models.CharField(max_length=128)
    side_b = models.CharField(max_length=128)
    score_a = models.IntegerField(null=True, blank=True)
    score_b = models.IntegerField(null=True, blank=True)
    period = models.PositiveSmallIntegerField(null=True, blank=True, help_text="quarter, half, inning, set")
    half = models.CharField(max_length=8, blank=True, help_text='baseball "top" or "bottom"')
    clock_s = models.FloatField(null=True, blank=True, help_text="game clock, seconds (remaining; elapsed in soccer)")
    fields = models.JSONField(default=dict, blank=True)
    raw_text = models.TextField(blank=True, help_text='the text lines read, joined with " | "')
    confidence = models.FloatField()

    class Meta:
        ordering = ["game", "time_ms"]
        constraints = [models.UniqueConstraint(fields=["game", "time_ms"], name="unique_game_state_time")]

    def __str__(self) -> str:
        return f"{self.side_a} {self.score_a} - {self.score_b} {self.side_b} at {self.time_ms / 1000:.1f}s"


class Play(MsSpan, models.Model):
    """One play of a game: live action and what the broadcast shows after it (close-ups, replays).

    Grouped from the game's shots by ``indexer.stages.plays``; ``start_ms``/``end_ms`` is the span of
    its shots (video ms). ``clip`` is the main clip (the best clip of its main live shot), and
    ``highlight_score`` that clip's score (0..1). Its shots carry roles through :class:`PlayShot`.
    """

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="plays")
    index = models.PositiveIntegerField(help_text="position in the game, from 0")
    start_ms = models.PositiveIntegerField()
    end_ms = models.PositiveIntegerField()
    clip = models.ForeignKey(Clip, on_delete=models.SET_NULL, null=True, blank=True, related_name="main_of_plays")
    highlight_score = models.FloatField(default=0.0, db_index=True)
    shots = models.ManyToManyField(Shot, through="PlayShot", related_name="plays")

    class Meta:
        ordering = ["game", "start_ms"]
        constraints = [
            models.UniqueConstraint(fields=["game", "index"], name="unique_play_index"),
            models.CheckConstraint(condition=models.Q(end_ms__gte=models.F("start_ms")), name="play_span"),
        ]

    def __str__(self) -> str:
        return f"play {self.index} of game {self.game_id} [{self.start_ms}-{self.end_ms} ms]"


class PlayShot(models.Model):
    """A shot of a play with its role: live action, a replay of it, a close-up, or a transition.

    A transition is the broadcast's wipe or logo sting opening or closing a replay.
    """

    class Role(models.TextChoices):
        LIVE = "live"
        REPLAY = "replay"
        CLOSE_UP = "close_up", "close-up"
        TRANSITION = "transition"

    play = models.ForeignKey(Play, on_delete=models.CASCADE, related_name="play_shots")
    shot = models.ForeignKey(Shot, on_delete=models.CASCADE, related_name="play_shots")
    role = models.CharField(max_length=16, choices=Role.choices)
    similarity = models.FloatField(null=True, blank=True, help_text="replay: mean similarity to the live shot")
    speed = models.FloatField(null=True, blank=True, help_text="replay: live seconds per replay second")

    class Meta:
        ordering = ["play", "shot__start_ms"]
        constraints = [models.UniqueConstraint(fields=["play", "shot"], name="unique_play_shot")]

    def __str__(self) -> str:
        return f"{self.shot} ({self.role})"


class Event(models.Model):
    """Something that happened in a game: a scoring play read from the graphics, an imported play, a label.

    ``type`` is a normalised slug (``goal``, ``run``, ``home_run``, ``two_pointer``, ``three_pointer``,
    ``free_throw``, ``point``, ``game``, ``set``, ...). ``side`` indexes the game's sides as on the
    score bug (0 first row / left, 1 second), ``None`` when unknown. ``time_ms`` is video time, ``None``
    for an imported event not aligned to the video. ``score_a``/``score_b`` are the score after the event.
    """

    class Source(models.TextChoices):
        PLAY_BY_PLAY = "play_by_play", "play-by-play import"
        GRAPHICS = "graphics", "score bug"
        MODEL = "model"
        EDITOR = "editor"

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="events")
    clip = models.ForeignKey(Clip, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    play = models.ForeignKey(Play, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    type = models.CharField(max_length=32, db_index=True)
    points = models.PositiveSmallIntegerField(default=0)
    side = models.PositiveSmallIntegerField(null=True, blank=True, choices=[(0, "first"), (1, "second")])
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    period = models.PositiveSmallIntegerField(null=True, blank=True)
    clock_s = models.FloatField(null=True, blank=True)
    time_ms = models.PositiveIntegerField(null=True, blank=True, help_text="video time, ms; empty: not aligned")
    score_a = models.IntegerField(null=True, blank=True)
    score_b = models.IntegerField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, db_index=True)
    description = models.TextField(blank=True)
    raw = models.JSONField(default=dict, blank=True, help_text="the source record as read")
    confidence = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["game", models.F("time_ms").asc(nulls_last=True), "pk"]
        indexes = [
            models.Index(fields=["game", "source"]),
            # search's event queries match ``type`` case-insensitively (``UPPER(type) = UPPER(%s)``), with or without
            # a person: read from the index alone, which holds ``type`` itself (PostgreSQL reads an expression's
            # column from the table otherwise) and the person
            models.Index(
                Upper("type"),
                models.F("clip"),
                models.F("game"),
                include=["type", "person"],
                name="event_type_clip_game_person",
            ),
            # "scoring plays 2024": the scoring events of a year's games, read from the index alone
            models.Index(
                fields=["game", "clip"],
                condition=models.Q(points__gt=0, clip__isnull=False),
                name="event_scoring_game_clip",
            ),
        ]

    def __str__(self) -> str:
        at = f" at {self.time_ms / 1000:.1f}s" if self.time_ms is not None else ""
        return f"{self.type} ({self.points}){at}"

    @property
    def t_s(self) -> float | None:
        return None if self.time_ms is None else self.time_ms / 1000.0


class GameEvents(models.Model):
    """What a game's events say the index can know, one row per game with events: kept by PostgreSQL triggers on
    the event table (migration ``0018_game_events``) and never written by the application.

    ``complete``: the game has imported play-by-play or edited events, so every event type of it is known;
    ``types``: the distinct ``UPPER(type)`` of its events of any source, sorted. Every statement that inserts,
    re-types, moves or deletes events (ORM, ``bulk_create``, ``COPY``, raw SQL) refreshes the rows of the games
    it touched; a game without events has no row. Search's event queries read the games that cannot know an event
    type from these rows instead of the event table (``highlights.selectors._games_unknowing``).
    """

    game = models.OneToOneField(Game, on_delete=models.CASCADE, primary_key=True, related_name="event_summary")
    complete = models.BooleanField()
    types = ArrayField(models.TextField())

    def __str__(self) -> str:
        return f"game {self.game_id}: {'complete' if self.complete else ', '.join(self.types)}"


class IndexTombstone(models.Model):
    """The id of a deleted row whose vector a FAISS index may still hold, until the index writer removes it.

    Written by PostgreSQL triggers (migration ``0024_index_tombstones``) for every clip and face track that a
    ``DELETE`` removes, whatever issued it (a re-indexed game's clips, a deleted game's cascade, the admin, raw
    SQL), and never by the application; the single index writer takes the rows of its index (``DELETE ...
    RETURNING``) in the transaction that publishes the snapshot without those ids
    (``indexer.index_writer``), so a game's write reads the few ids deleted since the last write instead of
    every id of the table. A write that fails rolls back, and its tombstones stay for the next one.
    ``TRUNCATE`` fires no trigger: after truncating a table, rebuild its index (``manage.py rebuild_index`` for
    clips; an index whose files are removed is built from the table by its next write).
    """

    class Kind(models.TextChoices):
        """Which index held the row's vector."""

        CLIPS = "clips"
        FACE_TRACKS = "face_tracks"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    row_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.kind} {self.row_id}"


class Appearance(models.Model):
    """A person on screen over a time span of a game, from a source: the score bug (``graphics``) or a face (``face``).

    One row per clip the span overlaps (``clip`` empty when no clip does); ``start_ms``/``end_ms``
    is the span on screen within that clip. ``role`` says how the bug named them (``side``, ``batter``,
    ``pitcher``, ``server``, ...).
    """

    class Source(models.TextChoices):
        GRAPHICS = "graphics", "score bug"
        FACE = "face"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="appearances")
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="appearances")
    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, null=True, blank=True, related_name="appearances")
    source = models.CharField(max_length=16, choices=Source.choices)
    role = models.CharField(max_length=32, blank=True)
    start_ms = models.PositiveIntegerField()
    end_ms = models.PositiveIntegerField()
    confidence = models.FloatField(default=0.0)

    class Meta:
        ordering = ["game", "start_ms", "pk"]
        indexes = [
            models.Index(fields=["game", "source"]),
            models.Index(fields=["person", "clip"], name="appearance_person_clip"),  # search: a person's clips
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_ms__gte=models.F("start_ms")), name="appearance_span"),
        ]

    def __str__(self) -> str:
        return f"{self.person} ({self.source}, {self.role}) [{self.start_ms}-{self.end_ms} ms]"
