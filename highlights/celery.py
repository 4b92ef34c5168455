"""The Celery application.

Configuration comes from Django settings under the ``CELERY_`` namespace (see ``settings.py``).
Without ``CELERY_BROKER_URL`` the tasks run in-process (local mode) through the same code.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "highlights.settings")

app = Celery("highlights")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
