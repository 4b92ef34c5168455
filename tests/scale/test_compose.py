"""docker-compose.yml stays valid and runs the same worker command lines the scale tests exercise."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_service_is_defined_with_healthchecks_and_named_volumes() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) >= {"postgres", "redis", "web", "worker-ingest", "worker-render", "flower", "migrate"}
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
    conftest = (ROOT / "tests" / "scale" / "conftest.py").read_text()
    assert '"--max-tasks-per-child", "50"' in conftest
    assert '"-Q", "ingest", "-c", "1", "--prefetch-multiplier", "1"' in conftest


def test_env_example_names_every_variable_the_compose_file_requires() -> None:
    example = (ROOT / ".env.example").read_text()
    for name in ("POSTGRES_PASSWORD", "FLOWER_BASIC_AUTH", "DJANGO_SECRET_KEY", "ARCHIVE_DIR"):
        assert f"\n{name}=" in example
