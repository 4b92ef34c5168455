from django.apps import AppConfig


class IndexerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "indexer"
    verbose_name = "Indexing pipeline"
