"""docker-compose.yml stays valid and runs the same worker command lines the scale tests exercise."""

from __future__ import annotations

from pathlib import Path

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
