"""Django admin for every model."""

from django.contrib import admin

from highlights.models import ActionLabel, Clip, ClipPrediction, Game, IndexJob, Shot


class ClipPredictionInline(admin.TabularInline):
    model = ClipPrediction
    extra = 0


@admin.register(Game)
class GameAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "sport", "home_team", "away_team", "date", "duration_s", "status")
    list_filter = ("sport", "status")
    search_fields = ("title", "home_team", "away_team", "source_path", "sha256")


@admin.register(Shot)
class ShotAdmin(admin.ModelAdmin):
    list_display = ("id", "game", "index", "start_ms", "end_ms")
    list_filter = ("game",)


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin):
    list_display = ("id", "game", "label", "action", "start_ms", "end_ms", "confidence", "highlight_score")
    list_filter = ("game__sport", "label", "model_version")
    search_fields = ("label", "game__title")
    inlines = [ClipPredictionInline]


@admin.register(ClipPrediction)
class ClipPredictionAdmin(admin.ModelAdmin):
    list_display = ("id", "clip", "rank", "label", "probability")


@admin.register(ActionLabel)
class ActionLabelAdmin(admin.ModelAdmin):
    list_display = ("id", "sport", "name", "model_classes")
    list_filter = ("sport",)


@admin.register(IndexJob)
class IndexJobAdmin(admin.ModelAdmin):
    list_display = ("id", "game", "status", "stage", "progress", "attempts", "created_at", "finished_at")
    list_filter = ("status", "stage")
    readonly_fields = ("timings", "model_versions", "error")
