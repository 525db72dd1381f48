"""Sending a saved grade on (campus, result hooks): in the background, one send at a time per
submission with the latest state last, and a campus that is down or a hook that fails never
loses the grade. The campus here is a port nobody listens on, as when it is down."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from harness.loops import own_loop

from nbcampus.grader.app import GraderService
from nbcampus.grader.campus import CampusClient
from nbcampus.grader.hooks import GradedResult
from nbcampus.grader.orm import GRADED, Submission, utcnow
from nbcampus.ports import free_port


class RecordingHook:
    """A result hook that keeps what it saw; the first call waits until released."""

    def __init__(self) -> None:
        self.seen: list[GradedResult] = []
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def on_result(self, result: GradedResult) -> None:
        self.seen.append(result)
        self.entered.set()
        await self.release.wait()


class FailingHook:
    async def on_result(self, result: GradedResult) -> None:
        raise RuntimeError("the LMS is on fire")


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GraderService:
    monkeypatch.setenv("NBCAMPUS_DATA_DIR", str(tmp_path / "data"))
    app = GraderService(db_url=f"sqlite:///{tmp_path / 'grader.sqlite'}")
    app.init_db()
    app.campus = CampusClient(
        hub_api_url="http://127.0.0.1:1/hub/api",
        token="unused",
        campus_url=f"http://127.0.0.1:{free_port()}/services/campus/",
    )
    return app


def graded_submission(app: GraderService, score: float) -> int:
    uid = app.queue.accept("c1", "a1", "ada", {"add.ipynb": b"{}"})
    with app.db() as s, s.begin():
        sub = s.scalars(sa.select(Submission).where(Submission.uid == uid)).one()
        sub.status, sub.score, sub.max_score = GRADED, score, 3.0
        sub.graded_at, sub.hooks_due = utcnow(), True  # as the grade's transaction does
        sub.result = {"notebooks": [{"name": "add", "score": score, "max_score": 3.0}]}
        return sub.id


def teacher_sets(app: GraderService, sub_id: int, score: float) -> None:
    with app.db() as s, s.begin():
        sub = s.get(Submission, sub_id)
        sub.score = score
        sub.result = {"notebooks": [{"name": "add", "score": score, "max_score": 3.0}]}
        sub.graded_at = utcnow()
        sub.posted, sub.hooks_due = False, True


async def all_sent(app: GraderService) -> None:
    while app._send_tasks:
        await asyncio.gather(*list(app._send_tasks))


@own_loop
async def test_changes_are_sent_in_order_latest_last_and_never_lost(
    service: GraderService, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = RecordingHook()
    service.hooks = [FailingHook(), recorder]
    sub_id = graded_submission(service, 1.0)
    caplog.set_level(logging.WARNING)

    service.result_changed(sub_id)  # answers at once: the send runs in the background
    await asyncio.wait_for(recorder.entered.wait(), 10)
    # while the first send is under way, the teacher changes the score twice
    teacher_sets(service, sub_id, 2.0)
    service.result_changed(sub_id)
    teacher_sets(service, sub_id, 3.0)
    service.result_changed(sub_id)
    recorder.release.set()
    await asyncio.wait_for(all_sent(service), 10)

    # one more send, of the latest state: never the middle one after the last
    assert [r.score for r in recorder.seen] == [1.0, 3.0]
    last = recorder.seen[-1]
    assert (last.user, last.course, last.assignment) == ("ada", "c1", "a1")
    assert last.notebooks == ({"name": "add", "score": 3.0, "max_score": 3.0},)
    # the campus was down: logged, and the grade waits for the retry loop, unchanged
    assert "could not post" in caplog.text and "result hook" in caplog.text
    with service.db() as s:
        sub = s.get(Submission, sub_id)
        assert (sub.score, sub.posted, sub.status) == (3.0, False, GRADED)
    assert not service._sending and not service._changed
