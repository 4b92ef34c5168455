"""WSGI entry point (gunicorn highlights.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "highlights.settings")
application = get_wsgi_application()
