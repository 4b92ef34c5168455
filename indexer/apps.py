from __future__ import annotations

from django.apps import AppConfig


class IndexerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "indexer"
    verbose_name = "Indexing pipeline"

    def ready(self) -> None:
        """Register the Celery tasks in every process: local mode runs tasks sent by name in-process."""
        from indexer import tasks  # noqa: F401
