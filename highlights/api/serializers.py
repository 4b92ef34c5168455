"""DRF serializers: the API's JSON shapes. Times in game time, integer milliseconds (``*_ms``)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.urls import reverse
from rest_framework import serializers

from highlights.models import (
    Action,
    Clip,
    Event,
    Game,
    GameState,
    IndexJob,
    Person,
    Play,
    Reel,
    ReelItem,
    ReviewStatus,
)
from highlights.plays import play_people
from highlights.selectors import match_reason, matched_play
from highlights.services import ItemSpec
from indexer.stages.playbyplay import FORMATS


class GameSerializer(serializers.ModelSerializer):
    video_url = serializers.SerializerMethodField()

    class Meta:
        model = Game
        fields = [
            "id", "sport", "title", "home_team", "away_team", "date", "duration_s", "fps", "width", "height",
            "has_audio", "status", "top_classes", "video_url",
        ]  # fmt: skip

    def get_video_url(self, game: Game) -> str:
        return reverse("game-video", args=[game.pk])


class GameStateSerializer(serializers.ModelSerializer):
    """One change of game state read from the score bug (``time_ms`` video time; ``clock_s`` game clock, seconds)."""

    class Meta:
        model = GameState
        fields = [
            "time_ms", "side_a", "side_b", "score_a", "score_b", "period", "half", "clock_s", "fields", "raw_text",
            "confidence",
        ]  # fmt: skip
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    """An event of a game (``time_ms`` video time, null when not aligned; the score after it)."""

    team = serializers.SlugRelatedField(slug_field="code", read_only=True)
    person = serializers.StringRelatedField()

    class Meta:
        model = Event
        fields = [
            "id", "type", "points", "side", "team", "person", "period", "clock_s", "time_ms", "score_a", "score_b",
            "source", "description", "confidence", "clip", "play",
        ]  # fmt: skip
        read_only_fields = fields


class PlayImportSerializer(serializers.Serializer):
    """An editor's play-by-play upload (``indexer.stages.playbyplay`` formats)."""

    file = serializers.FileField()
    format = serializers.ChoiceField(choices=("auto", *FORMATS), default="auto")
    offset_s = serializers.FloatField(required=False, allow_null=True, default=None)


class PlayImportResultSerializer(serializers.Serializer):
    """What an import found: events read, placed on the video and not; median residual in video seconds."""

    events = serializers.IntegerField()
    aligned = serializers.IntegerField()
    unaligned = serializers.IntegerField()
    median_residual_s = serializers.FloatField(allow_null=True)


class EventCorrectionSerializer(serializers.Serializer):
    """An editor's correction of an event: its type, person (id, or null for none) and video time (ms)."""

    type = serializers.SlugField(max_length=32, required=False)
    person = serializers.PrimaryKeyRelatedField(queryset=Person.objects.all(), required=False, allow_null=True)
    time_ms = serializers.IntegerField(min_value=0, required=False, allow_null=True)


class PlaySerializer(serializers.ModelSerializer):
    """A play of a game: its span (ms), main clip, highlight score, shots with roles, events and named players."""

    shots = serializers.SerializerMethodField()
    events = EventSerializer(many=True, read_only=True)
    players = serializers.SerializerMethodField()

    class Meta:
        model = Play
        fields = ["id", "game", "index", "start_ms", "end_ms", "clip", "highlight_score", "shots", "events", "players"]
        read_only_fields = fields

    def get_shots(self, play: Play) -> list[dict[str, Any]]:
        return [
            {"shot": ps.shot.index, "start_ms": ps.shot.start_ms, "end_ms": ps.shot.end_ms, "role": ps.role}
            for ps in play.play_shots.select_related("shot")
        ]

    def get_players(self, play: Play) -> list[str]:
        return [p.name for p in play_people(play).exclude(name="")]


class ActionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Action
        fields = ["id", "sport", "name", "model_classes"]


class ClipSerializer(serializers.ModelSerializer):
    action = serializers.SlugRelatedField(slug_field="name", read_only=True)
    sport = serializers.CharField(source="game.sport", read_only=True)
    game_title = serializers.CharField(source="game.__str__", read_only=True)
    thumbnail_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Clip
        fields = [
            "id", "game", "game_title", "sport", "start_ms", "end_ms", "model_class", "action", "confidence",
            "highlight_score", "audio_energy", "motion", "review_status", "thumbnail_url", "url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_thumbnail_url(self, clip: Clip) -> str | None:
        return self._paths["clip-thumbnail"].format(clip.pk) if clip.thumbnail else None

    def get_url(self, clip: Clip) -> str:
        return self._paths["clip"].format(clip.pk)

    @cached_property
    def _paths(self) -> dict[str, str]:
        """The clip page's and thumbnail's paths as templates of the clip id, each reversed once per serializer:
        reversing two paths per clip was a tenth of a search request's Python (48 per page of 24 clips)."""
        mark = 987_654_321_987  # an id no path holds otherwise
        return {name: reverse(name, args=[mark]).replace(str(mark), "{}") for name in ("clip", "clip-thumbnail")}

    def to_representation(self, clip: Clip) -> dict[str, Any]:
        """The ``Meta.fields`` of one clip, read straight from it (game and action joined by the caller).

        The same values as DRF's field-by-field walk (``tests/web/test_api.py`` compares them), at a fraction of
        its cost: that walk over a page of 24 clips was about a third of a search request's Python.
        """
        game = clip.game
        return {
            "id": clip.pk,
            "game": clip.game_id,
            "game_title": str(game),
            "sport": game.sport,
            "start_ms": clip.start_ms,
            "end_ms": clip.end_ms,
            "model_class": clip.model_class,
            "action": clip.action.name if clip.action_id is not None else None,
            "confidence": clip.confidence,
            "highlight_score": clip.highlight_score,
            "audio_energy": clip.audio_energy,
            "motion": clip.motion,
            "review_status": str(clip.review_status),
            "thumbnail_url": self.get_thumbnail_url(clip),
            "url": self.get_url(clip),
        }


class SearchHitSerializer(ClipSerializer):
    """A clip of a search's results and what it matched on: ``matched`` (``selectors.match_reason`` of the
    serializer's ``query`` context: ``"event home_run (play-by-play import)"``, ``"action hit"``, or empty for a
    query without an event) and ``play``, the play of its matched event (an id, or null)."""

    matched = serializers.SerializerMethodField()
    play = serializers.SerializerMethodField()

    class Meta(ClipSerializer.Meta):
        fields = [*ClipSerializer.Meta.fields, "matched", "play"]
        read_only_fields = fields

    def get_matched(self, clip: Clip) -> str:
        query = self.context.get("query")
        return match_reason(clip, query) if query is not None else ""

    def get_play(self, clip: Clip) -> int | None:
        return matched_play(clip)

    def to_representation(self, clip: Clip) -> dict[str, Any]:
        return {**super().to_representation(clip), "matched": self.get_matched(clip), "play": self.get_play(clip)}


class ClipReviewSerializer(serializers.Serializer):
    """An editor's change to a clip: a new action label and/or a review verdict."""

    action = serializers.PrimaryKeyRelatedField(queryset=Action.objects.all(), required=False)
    review_status = serializers.ChoiceField(choices=ReviewStatus.choices, required=False)


class PersonSerializer(serializers.ModelSerializer):
    clips = serializers.IntegerField(read_only=True, source="clip_count")

    class Meta:
        model = Person
        fields = ["id", "name", "team", "number", "clips"]


class ReelItemSerializer(serializers.ModelSerializer):
    clip = serializers.PrimaryKeyRelatedField(queryset=Clip.objects.all())
    trim_in_ms = serializers.IntegerField(min_value=0, required=False)
    trim_out_ms = serializers.IntegerField(min_value=1, required=False)
    model_class = serializers.CharField(source="clip.model_class", read_only=True)
    game = serializers.IntegerField(source="clip.game_id", read_only=True)

    class Meta:
        model = ReelItem
        fields = ["clip", "trim_in_ms", "trim_out_ms", "model_class", "game"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "trim_in_ms" in attrs and "trim_out_ms" in attrs and attrs["trim_out_ms"] <= attrs["trim_in_ms"]:
            raise serializers.ValidationError("trim_out_ms must be after trim_in_ms")
        return attrs


def item_specs(items: list[dict[str, Any]]) -> list[ItemSpec]:
    """Validated item dicts → service arguments."""
    return [ItemSpec(i["clip"].pk, i.get("trim_in_ms"), i.get("trim_out_ms")) for i in items]


class ReelSerializer(serializers.ModelSerializer):
    items = ReelItemSerializer(many=True, required=False)
    owner = serializers.CharField(source="owner.get_username", read_only=True)
    video_url = serializers.SerializerMethodField()
    share_url = serializers.SerializerMethodField()
    duration_ms = serializers.SerializerMethodField()

    class Meta:
        model = Reel
        fields = [
            "id", "title", "owner", "kind", "query", "published", "version", "status", "progress", "error",
            "rendered_version", "duration_ms", "render_s", "video_url", "share_url", "items", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "kind", "query", "version", "status", "progress", "error", "rendered_version", "render_s",
            "created_at", "updated_at",
        ]  # fmt: skip

    def get_video_url(self, reel: Reel) -> str | None:
        return reverse("reel-video", args=[reel.pk]) if reel.is_rendered else None

    def get_share_url(self, reel: Reel) -> str:
        return reverse("reel-shared", args=[reel.share_token])

    def get_duration_ms(self, reel: Reel) -> int:
        """The sum of the items' trims (the rendered video's length)."""
        return sum(i.duration_ms for i in reel.items.all())


class ReelStatusSerializer(serializers.ModelSerializer):
    """What a progress bar polls."""

    video_url = serializers.SerializerMethodField()

    class Meta:
        model = Reel
        fields = ["id", "version", "status", "progress", "error", "rendered_version", "video_url"]
        read_only_fields = fields

    def get_video_url(self, reel: Reel) -> str | None:
        return reverse("reel-video", args=[reel.pk]) if reel.is_rendered else None


class CondensedReelSerializer(serializers.Serializer):
    game = serializers.PrimaryKeyRelatedField(queryset=Game.objects.all())


class QueryReelSerializer(serializers.Serializer):
    """A reel of a search's results; for plays, each followed by one replay unless ``replays`` is false."""

    q = serializers.CharField(max_length=500)
    replays = serializers.BooleanField(default=True)


class IndexJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = IndexJob
        fields = [
            "id", "game", "source_path", "status", "stage", "completed_step", "progress", "attempts", "error",
            "timings", "created_at", "started_at", "heartbeat_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields


class IndexRequestSerializer(serializers.Serializer):
    """An editor's request to index a video file already on the server."""

    path = serializers.CharField(max_length=1024)
    sport = serializers.CharField(max_length=32, required=False, default="")
    title = serializers.CharField(max_length=255, required=False, default="")
    home_team = serializers.CharField(max_length=128, required=False, default="")
    away_team = serializers.CharField(max_length=128, required=False, default="")
