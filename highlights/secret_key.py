"""The installation's own secret key, for runs without ``DJANGO_SECRET_KEY`` (local runs, ``./dev``, tests).

Django signs sessions, messages, password-reset links and CSRF cookies with ``SECRET_KEY``; a key
shared by every installation (a constant in the source) lets anyone forge them. Deployments pass
``DJANGO_SECRET_KEY`` (docker-compose requires it); everywhere else each installation generates a
random key once, into ``HL_VAR_DIR/secret_key`` (mode 0600), and reuses it.

Why lazily, from the settings module: the style rule is that importing settings creates no folders
or keys. ``highlights.settings`` therefore does not call :func:`installation_secret_key`; it sets
``SECRET_KEY`` to a lazy string (``django.utils.functional.lazy``) that calls it the first time
something reads the key's value (signing a session, ``check --deploy``). Importing the settings,
``manage.py migrate`` or a Celery worker that never signs anything write nothing; the first request
that needs a signature creates the file, and every later read in the process comes from the cache.
An explicit step (a management command run before the server) would leave a fresh checkout's
``runserver`` failing until someone ran it, so the key is made where it is first needed instead.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from pathlib import Path

KEY_BYTES = 50  # secrets.token_urlsafe(50): 67 characters, Django asks for at least 50 and 5 distinct


class SecretKeyError(RuntimeError):
    """The key file exists but is empty or unreadable."""


@functools.cache
def installation_secret_key(path: Path) -> str:
    """The secret key stored at ``path``, generated (and the folder created) when the file does not exist.

    The key is written to a temporary file (mode 0600) beside ``path`` and hard-linked to ``path``:
    the link appears with its whole content at once, and it fails if ``path`` already exists. Two
    processes starting at once (``runserver``'s reloader, several gunicorn workers) therefore never
    overwrite each other: the second one's link fails and it reads the first one's key, so all of
    them sign with the same key. (``os.replace`` would let the later writer replace a key the earlier
    process is already using.)

    Args:
        path: the key file, e.g. ``HL_VAR_DIR/secret_key``.

    Returns:
        The key, a URL-safe string of 67 characters. Cached per path for the life of the process.

    Raises:
        SecretKeyError: ``path`` exists but holds no key.
        OSError: the folder cannot be created or written.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(KEY_BYTES))
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):  # another process linked its key first: use that one
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_text().strip()
    if not key:
        raise SecretKeyError(f"{path} is empty: delete it to generate a new key, or set DJANGO_SECRET_KEY")
    return key
