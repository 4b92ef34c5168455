"""The product's data: games, shots, clips, predictions, the action taxonomy and indexing jobs.

Times are stored as integer milliseconds (``*_ms``); durations of whole videos as float seconds.
Clip embeddings live here (float32 bytes) as the source of truth; FAISS indexes are derived from
them and use the Clip primary key as their id.
"""

from __future__ import annotations

import numpy as np
from django.db import models


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
    top_labels = models.JSONField(default=list, blank=True, help_text="[[label, probability], ...] for the whole video")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title or self.source_path


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


class ActionLabel(models.Model):
    """The sport-specific action taxonomy editors curate, mapped onto model classes.

    ``model_classes`` lists the model class names that mean this action, e.g. the Kinetics
    class ``"dunking basketball"`` maps to basketball / ``dunk``.
    """

    sport = models.CharField(max_length=32, choices=Sport.choices)
    name = models.CharField(max_length=64)
    model_classes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["sport", "name"]
        constraints = [models.UniqueConstraint(fields=["sport", "name"], name="unique_action_label")]

    def __str__(self) -> str:
        return f"{self.sport}/{self.name}"


class Clip(models.Model):
    """A labelled time range of a game: consecutive windows with the same top action within a shot.

    ``highlight_score`` (0..1) = weighted sum of the action confidence and the sigmoids of the
    audio-excitement and motion z-scores (``indexer.stages.clips.highlight_score``); its
    components are stored beside it.
    """

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="clips")
    shot = models.ForeignKey(Shot, on_delete=models.SET_NULL, null=True, blank=True, related_name="clips")
    start_ms = models.PositiveIntegerField()
    end_ms = models.PositiveIntegerField()
    label = models.CharField(max_length=128, db_index=True, help_text="model class name, e.g. 'playing tennis'")
    action = models.ForeignKey(ActionLabel, on_delete=models.SET_NULL, null=True, blank=True, related_name="clips")
    confidence = models.FloatField()
    highlight_score = models.FloatField(db_index=True)
    excitement = models.FloatField(default=0.0, help_text="audio excitement, z-score vs the game's baseline")
    motion = models.FloatField(default=0.0, help_text="motion energy, z-score vs the game's baseline")
    model_version = models.CharField(max_length=64)
    pipeline_version = models.CharField(max_length=16)
    embedding = models.BinaryField(editable=False, help_text="float32 L2-normalised clip embedding")
    thumbnail = models.FileField(upload_to="thumbs/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["game", "start_ms"]
        indexes = [models.Index(fields=["game", "pipeline_version", "model_version"])]
        constraints = [
            models.UniqueConstraint(
                fields=["game", "start_ms", "pipeline_version", "model_version"], name="unique_clip_start"
            ),
            models.CheckConstraint(condition=models.Q(end_ms__gt=models.F("start_ms")), name="clip_positive_length"),
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.start_ms / 1000:.1f}-{self.end_ms / 1000:.1f}s"

    @property
    def start_s(self) -> float:
        return self.start_ms / 1000.0

    @property
    def end_s(self) -> float:
        return self.end_ms / 1000.0

    def embedding_vector(self) -> np.ndarray:
        """The embedding as a float32 array of shape (D,)."""
        return np.frombuffer(bytes(self.embedding), dtype=np.float32)


class ClipPrediction(models.Model):
    """One of a clip's top-k model classes with its mean probability."""

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="predictions")
    rank = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=128)
    probability = models.FloatField()

    class Meta:
        ordering = ["clip", "rank"]
        constraints = [models.UniqueConstraint(fields=["clip", "rank"], name="unique_prediction_rank")]

    def __str__(self) -> str:
        return f"{self.label} {self.probability:.2f}"


class IndexJob(models.Model):
    """One indexing run of one game: status, current stage, progress, attempts, error, timings."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="jobs", null=True, blank=True)
    source_path = models.CharField(max_length=1024)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    stage = models.CharField(max_length=32, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0-100")
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text="wall seconds per stage")
    pipeline_version = models.CharField(max_length=16)
    model_versions = models.JSONField(default=dict, blank=True)
    game_fields = models.JSONField(default=dict, blank=True, help_text="sport, title, teams given when requested")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"job {self.pk} {self.status} {self.stage}"
