"""docker-compose.yml stays valid and runs the same worker command lines the scale tests exercise."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.scale.conftest import INGEST_WORKER_OPTIONS

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_service_is_defined_with_healthchecks_and_named_volumes() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) >= {"postgres", "redis", "web", "worker-ingest", "worker-render", "beat", "flower", "migrate"}
    for name in ("postgres", "redis", "web", "worker-ingest", "worker-render"):
        assert services[name]["healthcheck"]["test"], name
    assert {"media", "index", "pgdata", "redisdata"} <= set(compose["volumes"])
    assert "--appendonly" in services["redis"]["command"]
    assert all(services[name]["build"] == "." for name in ("web", "worker-ingest", "worker-render", "migrate"))


def test_the_ingest_worker_runs_the_command_line_the_scale_tests_start() -> None:
    command = _compose()["services"]["worker-ingest"]["command"]
    assert command[:6] == ["celery", "-A", "highlights", "worker", "-Q", "ingest"]
    options = dict(zip(command[6::2], command[7::2], strict=False))
    assert options["-c"] == "1"
    assert options["--prefetch-multiplier"] == "1"
    assert options["--max-tasks-per-child"] == "50"
    assert command[6 : 6 + len(INGEST_WORKER_OPTIONS)] == INGEST_WORKER_OPTIONS


def test_env_example_names_every_variable_the_compose_file_requires() -> None:
    example = (ROOT / ".env.example").read_text()
    for name in ("POSTGRES_PASSWORD", "FLOWER_BASIC_AUTH", "DJANGO_SECRET_KEY", "ARCHIVE_DIR"):
        assert f"\n{name}=" in example


def test_beat_sends_the_recovery_task_to_a_queue_a_worker_serves() -> None:
    from django.conf import settings

    from highlights.celery import app

    services = _compose()["services"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "highlights", "beat"]
    schedule = settings.CELERY_BEAT_SCHEDULE["recover-stalled-jobs"]
    app.loader.import_default_modules()  # what a worker or beat does at start: autodiscover the tasks
    assert schedule["task"] in app.tasks
    queue = app.amqp.router.route({}, schedule["task"])["queue"].name
    render = services["worker-render"]["command"]
    assert queue in render[render.index("-Q") + 1].split(",")


def _env_example() -> dict[str, str]:
    """``.env.example`` as the ``.env`` an operator copies from it."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def _interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}`` (an unset or empty required one fails)."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        found = variables.get(name, "")
        if op == ":?" and not found:
            raise AssertionError(f"compose requires {name}: {arg}")
        return found or (arg if op == ":-" else "")

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def _web_environment(variables: dict[str, str]) -> dict[str, str]:
    """The variables docker-compose.yml gives the ``web`` service: its ``.env`` file, then its ``environment``."""
    web = _compose()["services"]["web"]
    assert web["env_file"] == ".env"
    return {**variables, **{k: _interpolate(str(v), variables) for k, v in web["environment"].items()}}


def test_compose_requires_a_secret_key() -> None:
    dotenv = _env_example()
    assert dotenv["DJANGO_SECRET_KEY"] == ""  # the example carries no usable key: the operator generates one
    with pytest.raises(AssertionError, match="DJANGO_SECRET_KEY"):
        _web_environment(dotenv)


def test_check_deploy_is_clean_with_the_compose_environment() -> None:
    dotenv = _env_example()
    dotenv["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    web = _web_environment(dotenv)
    assert web["HL_BEHIND_TLS"] == "true"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HL_", "DATABASE_", "CELERY_"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**env, **web},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_uploads_have_their_own_writable_volume_and_the_archive_stays_read_only() -> None:
    compose = _compose()
    assert "uploads" in compose["volumes"]
    for name in ("web", "worker-ingest", "worker-ingest-gpu", "worker-render"):  # web writes uploads, workers index
        service = compose["services"][name]
        assert service["environment"]["HL_UPLOAD_DIR"] == "/data/uploads"
        assert "uploads:/data/uploads" in service["volumes"]
        assert "${ARCHIVE_DIR:-./archive}:/archive:ro" in service["volumes"]


def test_the_gpu_profile_runs_the_ingest_command_on_an_nvidia_device() -> None:
    services = _compose()["services"]
    gpu, cpu = services["worker-ingest-gpu"], services["worker-ingest"]
    assert gpu["profiles"] == ["gpu"]  # not started by a plain `docker compose up`
    assert "profiles" not in cpu
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    assert gpu["environment"]["HL_DEVICE"] == "cuda"
    assert "cu" in gpu["build"]["args"]["TORCH_INDEX_URL"].rsplit("/", 1)[-1]
    same = [arg for arg in cpu["command"] if "@" not in arg]
    assert [arg for arg in gpu["command"] if "@" not in arg] == same  # same queue, concurrency, recycling
    assert set(cpu["environment"]) <= set(gpu["environment"])
