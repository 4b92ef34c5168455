"""Fixtures for scale-out tests: a real Redis server and real Celery worker processes.

Redis runs from Debian's ``redis-server`` on a free loopback port with an append-only file (so
queued messages survive a restart, as in docker-compose.yml). Workers and beat are started with the
compose file's ``celery -A highlights worker`` and ``celery -A highlights beat`` command lines, pointed
at the test database on the same PostgreSQL server and at private index, work and media folders. The test
process commits its rows (the database is unblocked for the module) and publishes to the same broker.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.db import connection
from django.test import override_settings

from highlights.celery import app

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.25) -> Any:
    """Poll ``condition`` until it returns a truthy value; fail the test after ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")


@dataclass
class RedisServer:
    """A ``redis-server`` process on loopback with its data (append-only file) in ``folder``."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no"],
            stdout=(self.folder / "redis.log").open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(client), 15, "redis-server to answer")

    def stop(self) -> None:
        """Shut down cleanly (SIGTERM: Redis flushes its append-only file and exits)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=15)

    def restart(self) -> None:
        self.stop()
        self.start()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@dataclass
class Worker:
    """One ``celery worker`` (or ``celery beat``) process and its log."""

    name: str
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def hostname(self) -> str:
        return f"{self.name}@{socket.gethostname()}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def children(self) -> list[int]:
        """Process ids of the pool children (Linux: /proc/PID/task/PID/children)."""
        pid = self.process.pid
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(p) for p in text.split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown: finish nothing new, requeue late-acked
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real Redis server for the module, stopped at the end."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: install Debian's redis-server (./dev and .ci/run do)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def _worker_database_env() -> dict[str, str]:
    """Environment pointing a subprocess at the test database this process uses."""
    name = str(connection.settings_dict["NAME"])
    url = os.environ.get("DATABASE_URL", "")
    if url:
        return {"DATABASE_URL": urlunsplit(urlsplit(url)._replace(path="/" + name))}
    return {"HL_EMBEDDED_DB_NAME": name}


@dataclass(frozen=True)
class ScaleEnv:
    """The worker subprocesses' environment and the (writable) archive root made for the module."""

    env: dict[str, str]
    archive: Path


def _configure_publisher(**conf: Any) -> None:
    """Point this process's Celery app at another broker, dropping the connection pools made for the old one
    (an earlier test module may already have published, which caches them)."""
    app.conf.update(**conf)
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(scope="module")
def scale_env(committed_env: Path, redis_server: RedisServer, weights_dir: Path, video_dir: Path) -> Iterator[ScaleEnv]:
    """The committed test database, private var folders, archive roots, and this process publishing to Redis."""
    var = committed_env
    archive = var / "archive"
    archive.mkdir()
    folders = {"HL_INDEX_DIR": var / "index", "HL_WORK_DIR": var / "work", "HL_MEDIA_DIR": var / "media"}
    env = {
        **os.environ,
        **{k: str(v) for k, v in folders.items()},
        **_worker_database_env(),
        "CELERY_BROKER_URL": redis_server.url,
        "HL_WEIGHTS_DIR": str(weights_dir),
        "HL_ARCHIVE_ROOTS": f"{archive},{video_dir}",
        "HL_TORCH_THREADS": "1",  # two workers share two cores
        "HL_LOG_LEVEL": "INFO",
    }
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    _configure_publisher(broker_url=redis_server.url, task_always_eager=False)
    with override_settings(HL_ARCHIVE_ROOTS=[archive, video_dir]):
        try:
            yield ScaleEnv(env, archive)
        finally:
            _configure_publisher(**saved)
            from highlights.models import Backfill, Game, IndexJob

            IndexJob.objects.all().delete()
            Backfill.objects.all().delete()
            Game.objects.all().delete()


# The ingest worker's options in docker-compose.yml (tests/scale/test_compose.py holds the two together).
INGEST_WORKER_OPTIONS = ["-c", "1", "--prefetch-multiplier", "1", "--max-tasks-per-child", "50"]


@pytest.fixture(scope="module")
def start_worker(scale_env: ScaleEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Worker]]:
    """Start named workers with the compose file's ingest options; all are stopped at the end.

    ``start(name, queues="ingest", **env)``: ``env`` adds variables to the worker's environment.
    """
    logs = tmp_path_factory.mktemp("worker-logs")
    workers: list[Worker] = []

    def start(name: str, queues: str = "ingest", **env: str) -> Worker:
        log = logs / f"{name}.log"
        process = subprocess.Popen(
            [CELERY, "-A", "highlights", "worker", "-Q", queues, *INGEST_WORKER_OPTIONS, "-n", f"{name}@%h",
             "-l", "INFO", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env={**scale_env.env, **env}, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        worker = Worker(name, log, process)
        workers.append(worker)
        wait_for(lambda: "ready." in worker.log_text() or process.poll() is not None, 90, f"worker {name} to start")
        assert process.poll() is None, worker.log_text()[-3000:]
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture(scope="module")
def start_beat(scale_env: ScaleEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Worker]]:
    """Start ``celery beat`` (the compose file's command line) with extra environment; stopped at the end."""
    folder = tmp_path_factory.mktemp("beat")
    beats: list[Worker] = []

    def start(**env: str) -> Worker:
        log = folder / "beat.log"
        process = subprocess.Popen(
            [CELERY, "-A", "highlights", "beat", "-l", "INFO", "--schedule", str(folder / "celerybeat-schedule")],
            cwd=ROOT, env={**scale_env.env, **env}, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        beat = Worker("beat", log, process)
        beats.append(beat)
        wait_for(lambda: "beat: Starting" in beat.log_text() or process.poll() is not None, 60, "beat to start")
        assert process.poll() is None, beat.log_text()[-3000:]
        return beat

    yield start
    for beat in beats:
        beat.stop()
