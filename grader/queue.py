"""The durable submission queue: a submission is a database row before anyone hears "accepted".

`accept` stores the files (content-addressed, fsynced) and inserts the row in one
transaction; only then does the API answer 2xx. Workers, as many as there are, in one process
or on many machines, `claim` a row in one conditional UPDATE (compare-and-set on its claim
number), so two workers never take the same one.

A claim is a lease: it expires `lease_seconds` after it was taken or last `renew`ed, and the
worker renews it while it grades (its heartbeat). A worker that dies, hangs or loses its Hub
stops renewing; once the lease has expired, any worker may claim the submission again. Each
claim gets the next `claim_token`; `complete`, `fail` and `renew` count only for the worker
that still holds the lease, with that token, so a late finisher whose lease was taken over
cannot overwrite the new holder's result. The result and the status `graded` are written in
one transaction, so a grade is recorded exactly once.

`recover` (at a pool's start) puts back only what nobody holds: running rows whose lease has
expired, and those of this host's workers whose process is gone. Live leases of other workers
are never touched.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from nbcampus.db import transaction

from .orm import FAILED, GRADED, QUEUED, RUNNING, Submission, utcnow
from .storage import BlobStore, safe_relpath


@dataclass(frozen=True)
class Claimed:
    id: int
    uid: str
    course: str
    assignment: str
    student: str
    submitted_at: datetime
    files: dict[str, str]
    attempts: int = 1
    token: int = 0  # the claim's number: complete, fail and renew need it (fencing)


LEASE_SECONDS = 60


class LeaseLost(RuntimeError):
    """The worker no longer holds a submission's lease; its grading must not count."""


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    """Queued, or running under a lease that has expired (or, from before leases, none)."""
    expired = sa.or_(Submission.lease_expires_at.is_(None), Submission.lease_expires_at < now)
    return sa.or_(Submission.status == QUEUED, sa.and_(Submission.status == RUNNING, expired))


def _held(sub_id: int, worker: str, token: int, now: datetime) -> sa.ColumnElement[bool]:
    """The submission is still running under this worker's current, unexpired lease."""
    return sa.and_(
        Submission.id == sub_id,
        Submission.status == RUNNING,
        Submission.claimed_by == worker,
        Submission.claim_token == token,
        Submission.lease_expires_at >= now,
    )


def _process_gone(worker: str) -> bool:
    """Whether a worker named `host:pid:...` ran on this host in a process that has ended."""
    host, _, rest = worker.partition(":")
    pid = rest.split(":", 1)[0].split("/", 1)[0]
    if host != socket.gethostname() or not (pid.isascii() and pid.isdigit()):
        return False
    return not os.path.exists(f"/proc/{int(pid)}")


def _aware(when: datetime) -> datetime:
    """SQLite gives stored times back without their zone (they are UTC)."""
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class SubmissionQueue:
    def __init__(
        self, db: sessionmaker[Session], blobs: BlobStore, lease_seconds: float = LEASE_SECONDS
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.lease = timedelta(seconds=lease_seconds)

    def accept(
        self,
        course: str,
        assignment: str,
        student: str,
        files: dict[str, bytes],
        submitted_at: datetime | None = None,
    ) -> str:
        """Store a submission durably and queue it; returns its id."""
        names = {safe_relpath(name): data for name, data in files.items()}
        with transaction(self.db) as s:
            stored = {name: self.blobs.put(data, s) for name, data in names.items()}
            return self.enqueue(s, course, assignment, student, stored, submitted_at).uid

    @staticmethod
    def enqueue(
        s: Session,
        course: str,
        assignment: str,
        student: str,
        stored: dict[str, str],
        submitted_at: datetime | None = None,
    ) -> Submission:
        """Queue a submission of files already stored ({name: sha256}) in the caller's
        transaction (a timed exam records its sitting submitted in the same one)."""
        sub = Submission(
            uid=str(uuid.uuid4()),
            course=course,
            assignment=assignment,
            student=student,
            files=stored,
            submitted_at=submitted_at or utcnow(),
            status=QUEUED,
            attempts=0,
            grade_count=0,
            late_penalty=0.0,
            posted=False,
            hooks_due=False,
        )
        s.add(sub)
        s.flush()
        return sub

    def claim(self, worker: str) -> Claimed | None:
        """Take the oldest queued submission (or one whose lease expired) under a new lease;
        None when there is nothing to take."""
        for _ in range(10):
            with transaction(self.db) as s:
                now = utcnow()
                row = s.execute(
                    sa.select(Submission.id, Submission.claim_token)
                    .where(_claimable(now))
                    .order_by(Submission.id)
                    .limit(1)
                ).first()
                if row is None:
                    return None
                # compare-and-set on the claim number: of two claimers, one changes it first
                taken = s.execute(
                    sa.update(Submission)
                    .where(
                        Submission.id == row.id,
                        Submission.claim_token == row.claim_token,
                        _claimable(now),
                    )
                    .values(
                        status=RUNNING,
                        claimed_by=worker,
                        claimed_at=now,
                        lease_expires_at=now + self.lease,
                        claim_token=row.claim_token + 1,
                        attempts=Submission.attempts + 1,
                    )
                ).rowcount
                if taken != 1:
                    continue  # another worker was faster: try the next one
                sub = s.get(Submission, row.id)
                assert sub is not None
                return Claimed(
                    sub.id,
                    sub.uid,
                    sub.course,
                    sub.assignment,
                    sub.student,
                    sub.submitted_at,
                    dict(sub.files),
                    sub.attempts,
                    sub.claim_token,
                )
        return None

    def renew(self, sub_id: int, worker: str, token: int) -> bool:
        """Extend the worker's lease (its heartbeat); False when it no longer holds it."""
        with transaction(self.db) as s:
            now = utcnow()
            return (
                s.execute(
                    sa.update(Submission)
                    .where(_held(sub_id, worker, token, now))
                    .values(lease_expires_at=now + self.lease)
                ).rowcount
                == 1
            )

    def complete(
        self,
        sub_id: int,
        worker: str,
        score: float,
        max_score: float,
        late_penalty: float,
        result: dict[str, Any],
        *,
        token: int,
    ) -> bool:
        """Record the grade; False if this worker no longer holds the submission's lease
        (it expired, or another worker took the submission over)."""
        with transaction(self.db) as s:
            done = s.execute(
                sa.update(Submission)
                .where(_held(sub_id, worker, token, utcnow()))
                .values(
                    status=GRADED,
                    lease_expires_at=None,
                    score=score,
                    max_score=max_score,
                    late_penalty=late_penalty,
                    result=result,
                    error=None,
                    graded_at=utcnow(),
                    grade_count=Submission.grade_count + 1,
                    # a (re)grade is news to the campus and the hooks: it stays due for them
                    # until they took it, retried by GraderService.resend_due
                    posted=False,
                    hooks_due=True,
                )
            ).rowcount
            return done == 1

    def fail(
        self, sub_id: int, worker: str, error: str, retry: bool = False, *, token: int
    ) -> bool:
        """Record a failure (or queue it again); False if the worker lost the lease."""
        with transaction(self.db) as s:
            values: dict[str, Any] = {"status": QUEUED if retry else FAILED, "error": error[:2000]}
            if retry:
                values.update(claimed_by=None, lease_expires_at=None)
            return (
                s.execute(
                    sa.update(Submission)
                    .where(_held(sub_id, worker, token, utcnow()))
                    .values(**values)
                ).rowcount
                == 1
            )

    def recover(self) -> int:
        """At a start: put back the running submissions nobody holds any more (an expired
        lease, or a worker of this host whose process is gone). Other workers' live leases
        stay theirs; the rest is taken over by `claim` as their leases expire."""
        with transaction(self.db) as s:
            now = utcnow()
            running = s.execute(
                sa.select(Submission.id, Submission.claimed_by, Submission.lease_expires_at).where(
                    Submission.status == RUNNING
                )
            ).all()
            free = [
                r.id
                for r in running
                if r.lease_expires_at is None
                or _aware(r.lease_expires_at) < now
                or _process_gone(r.claimed_by or "")
            ]
            if not free:
                return 0
            # the claim number moves on: a holder that was only presumed gone cannot report
            return s.execute(
                sa.update(Submission)
                .where(Submission.id.in_(free), Submission.status == RUNNING)
                .values(
                    status=QUEUED,
                    claimed_by=None,
                    lease_expires_at=None,
                    claim_token=Submission.claim_token + 1,
                )
            ).rowcount

    def requeue(
        self, course: str, assignment: str | None = None, student: str | None = None
    ) -> list[str]:
        """Regrade: put the counted submissions of an assignment (or one student) back."""
        with transaction(self.db) as s:
            q = sa.select(Submission).where(Submission.course == course)
            if assignment:
                q = q.where(Submission.assignment == assignment)
            if student:
                q = q.where(Submission.student == student)
            newest: dict[tuple[str, str], Submission] = {}
            for sub in s.scalars(q.order_by(Submission.submitted_at, Submission.id)):
                newest[(sub.assignment, sub.student)] = sub
            uids = []
            for sub in newest.values():
                if sub.status in (GRADED, FAILED):
                    sub.status = QUEUED
                    sub.claimed_by = None
                    sub.lease_expires_at = None
                    uids.append(sub.uid)
            return uids

    def pending(self) -> int:
        with self.db() as s:
            return s.scalar(
                sa.select(sa.func.count())
                .select_from(Submission)
                .where(Submission.status.in_([QUEUED, RUNNING]))
            )

    def get(self, uid: str) -> Submission | None:
        with self.db() as s:
            return s.scalar(sa.select(Submission).where(Submission.uid == uid))
