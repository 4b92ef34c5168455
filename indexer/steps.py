"""The step registry of the indexing pipeline: one row per step, read by every part that needs steps.

The canvas (``highlights.dispatch``), the Celery tasks (``indexer.tasks``), the job lifecycle
(``IndexJob``), recovery (``indexer.recovery``) and the jobs page all read :data:`STEPS`; a step's
one name is stored in ``IndexJob.stage`` and ``IndexJob.completed_step`` and names its Celery task
``indexer.<name>``. Pure data: no Django, no Celery.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How Celery retries a step after a retryable error (exponential backoff with full jitter).

    Attributes:
        max_retries: retries after the first try; then the job fails.
        backoff_max_s: longest wait between two tries, seconds.
    """

    max_retries: int = 5
    backoff_max_s: int = 300


@dataclass(frozen=True)
class Step:
    """One step of the pipeline.

    Attributes:
        name: the step's one name (``"clips"``); its Celery task is ``indexer.<name>``.
        title: what the step does, as the jobs page and the task's docstring say it.
        progress: job progress in percent ``(at start, at end)``; the next step starts where this ends.
        soft_time_limit_s: Celery's soft time limit, seconds (the hard limit is a minute later).
        retry: the retry policy for retryable errors.
    """

    name: str
    title: str
    progress: tuple[int, int]
    soft_time_limit_s: int
    retry: RetryPolicy = RetryPolicy()

    def __str__(self) -> str:
        return self.name

    @property
    def task_name(self) -> str:
        """The Celery task's stable dotted name, ``indexer.<name>`` (routed to the ``ingest`` queue)."""
        return f"indexer.{self.name}"

    @property
    def time_limit_s(self) -> int:
        """Celery's hard time limit, seconds: a minute after the soft one."""
        return self.soft_time_limit_s + 60


_HOUR = 3600

STEPS: tuple[Step, ...] = (
    Step("probe", "Probe the file, hash it, and attach the job to its (de-duplicated) game", (0, 5), 600),
    Step("analyse", "Decode once: action windows, motion, shots, audio energy", (5, 80), 6 * _HOUR),
    Step("clips", "Turn windows into clips with highlight scores and store them", (80, 81), 600),
    Step(
        "graphics",
        "Read the score bug: game states, scoring events, players and teams from the broadcast graphics",
        (81, 88),
        3 * _HOUR,
    ),
    Step("index", "Bring the FAISS clip index in line with the database", (88, 89), 600),
    Step("faces", "Find, track, describe, identify and cluster the faces in the clips", (89, 92), 6 * _HOUR),
    Step("thumbnails", "Cut a thumbnail per clip", (92, 100), 1800),
)
"""The steps in the order they run; each starts where the previous one's progress ends."""

STEP_NAMES: tuple[str, ...] = tuple(s.name for s in STEPS)


def step(name: str) -> Step:
    """The registered step called ``name``.

    Raises:
        KeyError: no step has that name.
    """
    for candidate in STEPS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no pipeline step {name!r}: the steps are {', '.join(STEP_NAMES)}")


def steps_after(completed: str) -> tuple[Step, ...]:
    """The steps still to run once ``completed`` has finished (all of them for ``""``), in order."""
    return STEPS[STEP_NAMES.index(completed) + 1 :] if completed else STEPS
