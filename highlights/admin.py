"""Django admin for every model."""

import tempfile
from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from highlights import dispatch, people, services
from highlights.models import (
    Action,
    Appearance,
    Clip,
    ClipPrediction,
    Event,
    Face,
    FaceTrack,
    Game,
    GameState,
    IndexJob,
    Person,
    PersonPhoto,
    Reel,
    ReelItem,
    Shot,
    Team,
    TrainingJob,
)


class ClipPredictionInline(admin.TabularInline):
    model = ClipPrediction
    extra = 0


class GameStateInline(admin.TabularInline):
    """The game-state timeline read from the score bug (read-only: the graphics step rewrites it)."""

    model = GameState
    extra = 0
    fields = ("time_ms", "side_a", "score_a", "score_b", "side_b", "period", "half", "clock_s", "confidence")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(Game)
class GameAdmin(admin.ModelAdmin):
    """Games; deleting one (view or bulk action) goes through ``services.delete_game``."""

    list_display = ("id", "title", "sport", "home_team", "away_team", "date", "duration_s", "status")
    list_filter = ("sport", "status")
    search_fields = ("title", "home_team", "away_team", "source_path", "sha256")
    readonly_fields = ("graphics",)
    inlines = [GameStateInline]

    def delete_model(self, request: HttpRequest, obj: Game) -> None:
        if services.delete_game(obj):
            dispatch.prune_indexes()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Game]) -> None:
        if [game for game in queryset if services.delete_game(game)]:
            dispatch.prune_indexes()


@admin.register(GameState)
class GameStateAdmin(admin.ModelAdmin):
    list_display = ("id", "game", "time_ms", "side_a", "score_a", "score_b", "side_b", "period", "half", "clock_s")
    list_filter = ("game",)
    search_fields = ("side_a", "side_b", "raw_text")
    readonly_fields = ("raw_text", "fields", "confidence")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    """The editable table score-bug codes map through (seeded with the MLB, NBA, NHL and NFL teams)."""

    list_display = ("id", "league", "code", "name", "sport", "aliases")
    list_filter = ("league", "sport")
    search_fields = ("code", "name")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("id", "game", "type", "points", "side", "team", "person", "time_ms", "score_a", "score_b", "source")
    list_filter = ("source", "type", "game__sport")
    search_fields = ("type", "description", "person__name", "team__code", "team__name")
    raw_id_fields = ("game", "clip", "person")
    readonly_fields = ("raw",)


@admin.register(Appearance)
class AppearanceAdmin(admin.ModelAdmin):
    list_display = ("id", "person", "source", "role", "game", "clip", "start_ms", "end_ms", "confidence")
    list_filter = ("source", "role")
    search_fields = ("person__name",)
    raw_id_fields = ("person", "game", "clip")


@admin.register(Shot)
class ShotAdmin(admin.ModelAdmin):
    list_display = ("id", "game", "index", "start_ms", "end_ms")
    list_filter = ("game",)


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin):
    list_display = ("id", "game", "model_class", "action", "start_ms", "end_ms", "confidence", "highlight_score")
    list_filter = ("game__sport", "model_class", "model_version")
    search_fields = ("model_class", "game__title")
    inlines = [ClipPredictionInline]


@admin.register(ClipPrediction)
class ClipPredictionAdmin(admin.ModelAdmin):
    list_display = ("id", "clip", "rank", "model_class", "probability")


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    list_display = ("id", "sport", "name", "model_classes")
    list_filter = ("sport",)


@admin.register(IndexJob)
class IndexJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "game",
        "status",
        "stage",
        "progress",
        "attempts",
        "created_at",
        "heartbeat_at",
        "finished_at",
    )
    list_filter = ("status", "stage")
    readonly_fields = ("timings", "model_versions", "error", "completed_step", "heartbeat_at")


# --- People and faces ----------------------------------------------------------------------------


class PersonForm(forms.ModelForm):
    """A person with an optional face photo to enrol on save."""

    photo = forms.ImageField(required=False, help_text="a photo of the person's face: enrols it as a reference")

    class Meta:
        model = Person
        fields = ("name", "team", "number")


class PersonPhotoInline(admin.TabularInline):
    model = PersonPhoto
    extra = 0
    fields = ("image", "source_name", "x", "y", "w", "h", "model_version")
    readonly_fields = fields
    can_delete = True


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    """People pages: name a person (their tracks follow), enrol photos, merge people, re-cluster."""

    form = PersonForm
    list_display = ("id", "__str__", "team", "number", "track_count", "photo_count")
    search_fields = ("name", "team")
    inlines = [PersonPhotoInline]
    actions = ["merge_into_first", "recluster"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Person]:
        return super().get_queryset(request).annotate(_tracks=Count("face_tracks", distinct=True))

    @admin.display(description="face tracks", ordering="_tracks")
    def track_count(self, obj: Person) -> int:
        return obj._tracks  # type: ignore[attr-defined]

    @admin.display(description="photos")
    def photo_count(self, obj: Person) -> int:
        return obj.photos.count()

    def save_model(self, request: HttpRequest, obj: Person, form: forms.ModelForm, change: bool) -> None:
        named = bool(obj.name) and (not change or "name" in form.changed_data)
        super().save_model(request, obj, form, change)
        upload = form.cleaned_data.get("photo")
        try:
            if upload is not None:
                suffix = Path(upload.name).suffix or ".jpg"
                with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
                    for chunk in upload.chunks():
                        tmp.write(chunk)
                    tmp.flush()
                    people.enroll_person(obj.name or f"person {obj.pk}", [Path(tmp.name)], team=obj.team)
            if named:
                people.name_person(obj.pk, obj.name, team=obj.team, number=obj.number)
        except people.PeopleError as exc:
            self.message_user(request, str(exc), messages.ERROR)

    @admin.action(description="Merge the selected people into the one with the lowest id")
    def merge_into_first(self, request: HttpRequest, queryset: QuerySet[Person]) -> None:
        target, *others = list(queryset.order_by("pk"))
        try:
            for other in others:
                people.merge_people(target.pk, other.pk)
        except people.PeopleError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"merged {len(others)} person(s) into {target}")

    @admin.action(description="Re-cluster unknown faces into people")
    def recluster(self, request: HttpRequest, queryset: QuerySet[Person]) -> None:
        result = people.cluster_people()
        self.message_user(
            request, f"{result.tracks_moved} track(s) moved, {result.people_created} new person(s)", messages.INFO
        )


class FaceInline(admin.TabularInline):
    model = Face
    extra = 0
    fields = ("time_ms", "x", "y", "w", "h", "score", "quality")
    readonly_fields = fields
    can_delete = False


@admin.register(FaceTrack)
class FaceTrackAdmin(admin.ModelAdmin):
    """Face tracks with the editors' corrections: not this person, split out, move to a person."""

    list_display = ("id", "thumbnail_tag", "person", "source", "distance", "game", "clip", "start_ms", "end_ms")
    list_filter = ("source", "game")
    search_fields = ("person__name",)
    raw_id_fields = ("person", "game", "clip", "shot")
    readonly_fields = ("thumbnail_tag", "source", "distance", "quality", "model_version", "rejected_people")
    fields = ("thumbnail_tag", "person", "game", "clip", "shot", "start_ms", "end_ms", *readonly_fields[1:])
    inlines = [FaceInline]
    actions = ["not_this_person", "split_out"]

    @admin.display(description="face")
    def thumbnail_tag(self, obj: FaceTrack) -> str:
        if not obj.thumbnail:
            return "-"
        return format_html('<img src="{}" style="height:64px">', obj.thumbnail.url)

    def save_model(self, request: HttpRequest, obj: FaceTrack, form: forms.ModelForm, change: bool) -> None:
        if change and "person" in form.changed_data:
            if obj.person_id is None:
                people.reject_tracks([obj.pk])
            elif not people.assign_tracks([obj.pk], obj.person_id):
                self.message_user(request, "that person is already in these frames", messages.ERROR)
            return
        super().save_model(request, obj, form, change)

    @admin.action(description="Not this person (never put back with them)")
    def not_this_person(self, request: HttpRequest, queryset: QuerySet[FaceTrack]) -> None:
        count = people.reject_tracks(queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} track(s) taken away from their person")

    @admin.action(description="Split the selected tracks into a new person")
    def split_out(self, request: HttpRequest, queryset: QuerySet[FaceTrack]) -> None:
        person = people.split_tracks(queryset.values_list("pk", flat=True))
        self.message_user(request, f"{queryset.count()} track(s) moved to new {person}")


class ReelItemInline(admin.TabularInline):
    model = ReelItem
    extra = 0
    raw_id_fields = ("clip",)


@admin.register(Reel)
class ReelAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "owner", "kind", "published", "version", "status", "progress", "updated_at")
    list_filter = ("kind", "status", "published")
    search_fields = ("title", "owner__username", "query")
    readonly_fields = (
        "share_token",
        "rendered_version",
        "video",
        "duration_ms",
        "render_s",
        "error",
        "heartbeat_at",
        "render_reason",
    )
    inlines = [ReelItemInline]


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ("id", "action_set", "kind", "status", "stage", "progress", "model", "created_at", "finished_at")
    list_filter = ("status", "kind")
    readonly_fields = ("error", "model", "started_at", "finished_at")
