"""Work that runs in the background (a category publication that re-validates many assets), and what a status
resource says of it: running with its progress, then done with its result, or refused with its problem.

Jobs are held in memory: a restart forgets them (and whatever they had not yet committed, which is nothing:
a job commits only at its end).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fmar.errors import FmarError


@dataclass
class Job:
    """One piece of background work: its kind and subject, state, progress, and outcome."""

    id: str
    kind: str
    subject: str
    total: int = 0
    done: int = 0
    state: str = "running"  # running | done | failed
    result: dict[str, Any] | None = None
    problem: dict[str, Any] | None = None
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    finished: str | None = None

    def progress(self, done: int) -> None:
        self.done = done

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "kind": self.kind, "subject": self.subject, "state": self.state,
                                "done": self.done, "total": self.total, "started": self.started}
        for key in ("finished", "result", "problem"):
            if getattr(self, key) is not None:
                body[key] = getattr(self, key)
        return body


class Jobs:
    """The background jobs of this process."""

    #: Finished jobs kept for their status resources.
    KEEP = 1000

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._guard = threading.Lock()

    def running(self, kind: str, subject: str) -> Job | None:
        """A job of this kind on this subject that has not finished."""
        with self._guard:
            return next((j for j in self._jobs.values() if j.kind == kind and j.subject == subject
                         and j.state == "running"), None)

    def start(self, kind: str, subject: str, total: int, work: Callable[[Job], dict[str, Any]]) -> Job:
        """Run ``work`` in a thread of its own; its result (or the problem of the error it raises) ends the job."""
        job = Job(str(uuid.uuid4()), kind, subject, total)
        with self._guard:
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.state != "running"]
            for old in finished[:max(len(finished) - self.KEEP, 0)]:
                del self._jobs[old.id]

        def run() -> None:
            try:
                job.result, job.state = work(job), "done"
            except FmarError as exc:
                job.problem, job.state = exc.problem(), "failed"
            except Exception as exc:  # noqa: BLE001 - reported in the job's status, not lost in a thread
                job.problem, job.state = {"status": 500, "title": "The job failed", "detail": str(exc)}, "failed"
            job.finished = datetime.now(UTC).isoformat(timespec="seconds")

        threading.Thread(target=run, name=f"fmar-job-{kind}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._guard:
            return self._jobs.get(job_id)
