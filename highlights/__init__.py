"""Sports video highlight indexing and search: Django project and product app."""

from highlights.celery import app as celery_app

__all__ = ("celery_app",)
