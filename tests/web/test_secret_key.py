"""The installation's secret key: generated once into var/ (mode 0600) when DJANGO_SECRET_KEY is unset, then reused."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from highlights.secret_key import SecretKeyError, installation_secret_key

ROOT = Path(__file__).resolve().parents[2]
PRINT_KEY = "from django.conf import settings; print(settings.SECRET_KEY)"


def _django(code: str, var_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` after ``django.setup()`` in a new interpreter without DJANGO_SECRET_KEY, data in ``var_dir``."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env.update(HL_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="highlights.settings")
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def test_a_key_is_generated_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret_key"
    key = installation_secret_key(path)
    assert len(key) >= 50 and len(set(key)) >= 5
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == key
    installation_secret_key.cache_clear()
    assert installation_secret_key(path) == key  # read back, not generated again
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temp file left behind


def test_processes_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    code = (
        "from pathlib import Path; from highlights.secret_key import installation_secret_key as key; "
        f"print(key(Path({str(path)!r})))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(6)
    ]
    keys = {p.communicate()[0].strip() for p in procs}
    assert keys == {path.read_text()}


def test_settings_use_the_installation_key_and_importing_them_writes_nothing(tmp_path: Path) -> None:
    untouched = _django("from django.conf import settings; print(settings.INSTALLED_APPS[0])", tmp_path)
    assert untouched.stdout.strip() == "django.contrib.admin"
    assert not (tmp_path / "secret_key").exists()  # settings import and app loading create no key
    first = _django(PRINT_KEY, tmp_path).stdout.strip()
    assert first == (tmp_path / "secret_key").read_text()
    assert "insecure" not in first and len(first) >= 50
    assert _django(PRINT_KEY, tmp_path).stdout.strip() == first
    other = _django(PRINT_KEY, tmp_path / "elsewhere").stdout.strip()
    assert other != first  # each installation its own key


def test_an_empty_key_file_is_an_error_not_an_empty_key(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    path.write_text("")
    with pytest.raises(SecretKeyError, match="empty"):
        installation_secret_key(path)
