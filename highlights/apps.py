from __future__ import annotations

from django.apps import AppConfig


class HighlightsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "highlights"
    verbose_name = "Highlights"

    def ready(self) -> None:
        """Register the Celery tasks in every process: local mode runs tasks sent by name in-process."""
        from highlights import tasks  # noqa: F401
