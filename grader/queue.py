"""The durable submission queue: a submission is a database row before anyone hears "accepted".

`accept` stores the files (content-addressed, fsynced) and inserts the row in one
transaction; only then does the API answer 2xx. Workers `claim` a row by flipping its status
from queued to running in one conditional UPDATE, so two workers never take the same one.
The result and the status `graded` are written in one transaction, so a grade is recorded
exactly once. After a crash `recover` puts every `running` row back in the queue: its
grading never committed, and it is graded again, once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
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


class SubmissionQueue:
    def __init__(self, db: sessionmaker[Session], blobs: BlobStore) -> None:
        self.db = db
        self.blobs = blobs

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
            return sub.uid

    def claim(self, worker: str) -> Claimed | None:
        """Take the oldest queued submission, or None when the queue is empty."""
        for _ in range(10):
            with transaction(self.db) as s:
                row = s.execute(
                    sa.select(Submission.id)
                    .where(Submission.status == QUEUED)
                    .order_by(Submission.id)
                    .limit(1)
                ).first()
                if row is None:
                    return None
                taken = s.execute(
                    sa.update(Submission)
                    .where(Submission.id == row.id, Submission.status == QUEUED)
                    .values(
                        status=RUNNING,
                        claimed_by=worker,
                        claimed_at=utcnow(),
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
                )
        return None

    def complete(
        self,
        sub_id: int,
        worker: str,
        score: float,
        max_score: float,
        late_penalty: float,
        result: dict[str, Any],
    ) -> bool:
        """Record the grade; False if this worker no longer holds the submission."""
        with transaction(self.db) as s:
            done = s.execute(
                sa.update(Submission)
                .where(
                    Submission.id == sub_id,
                    Submission.status == RUNNING,
                    Submission.claimed_by == worker,
                )
                .values(
                    status=GRADED,
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

    def fail(self, sub_id: int, worker: str, error: str, retry: bool = False) -> None:
        with transaction(self.db) as s:
            s.execute(
                sa.update(Submission)
                .where(Submission.id == sub_id, Submission.claimed_by == worker)
                .values(status=QUEUED if retry else FAILED, error=error[:2000])
            )

    def recover(self) -> int:
        """After a crash or restart: every unfinished grading goes back to the queue."""
        with transaction(self.db) as s:
            return s.execute(
                sa.update(Submission)
                .where(Submission.status == RUNNING)
                .values(status=QUEUED, claimed_by=None)
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
