"""Recovery of indexing jobs whose messages were lost: a whole worker died, or Redis lost its data.

A pool child killed mid-step is Celery's to handle: late acks and ``reject_on_worker_lost`` put the
message back at once. When the whole worker dies (the machine, the container, an OOM kill), its
unacknowledged message is re-delivered only after the broker's visibility timeout, which must
outlast the longest step (hours); when Redis loses its data the messages are gone. PostgreSQL knows
more: a step holds its job's session lock (``highlights.locks.LockKey.JOB``; PostgreSQL releases it
when the process dies) and refreshes the job's ``heartbeat_at`` as it starts, advances and ends.

A job is *stalled* when it is running, no session holds its lock, and its heartbeat is older than
the threshold. The threshold must outlast the quiet gaps of a healthy job: a retry's countdown
(at most 300 s plus jitter) and the wait of its next step in the queue. Recovery re-dispatches a
stalled job from its first step not completed. Should the original message still turn up, its
delivery finds the step completed or the lock taken and is dropped (``run_step``), so a recovered
job never runs a step twice at once and never duplicates clips.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from highlights import dispatch
from highlights.locks import LockKey, session_lock_is_free
from highlights.models import IndexJob

logger = logging.getLogger(__name__)


def recover_jobs(stalled_after_s: float, *, queued: bool = False, dry_run: bool = False) -> list[int]:
    """Re-dispatch stalled jobs from their first step not completed; return their ids.

    Args:
        stalled_after_s: seconds since a running job's last heartbeat after which it is stalled
            (when no live process holds its lock).
        queued: also re-dispatch queued jobs created more than ``stalled_after_s`` ago, for use after
            Redis lost its messages. Off by default: in a long backfill a queued job's message is
            normally just waiting its turn, which PostgreSQL cannot tell from a lost one.
        dry_run: only list the jobs that would be re-dispatched.

    Returns:
        The ids of the jobs re-dispatched (or that would be, with ``dry_run``), ascending.
    """
    cutoff = timezone.now() - timedelta(seconds=stalled_after_s)
    stalled = Q(status=IndexJob.Status.RUNNING, last_seen__lt=cutoff)
    if queued:
        stalled |= Q(status=IndexJob.Status.QUEUED, created_at__lt=cutoff)
    candidates = IndexJob.objects.annotate(last_seen=Coalesce("heartbeat_at", "started_at", "created_at"))
    recovered = []
    for pk in candidates.filter(stalled).order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            job = candidates.filter(stalled, pk=pk).select_for_update(skip_locked=True, of=("self",)).first()
            if job is None or not session_lock_is_free(LockKey.JOB, pk):
                continue  # finished or advanced meanwhile, or a live process is running a step of it
            first = job.next_step
            if first is None:
                continue
            recovered.append(pk)
            if dry_run:
                continue
            logger.warning("job %s (%s, last seen %s): re-dispatched from %s", pk, job.status, job.last_seen, first)
            job.resume()
            dispatch.resume_job(job, first, queued=job.status == IndexJob.Status.QUEUED)
    return recovered
