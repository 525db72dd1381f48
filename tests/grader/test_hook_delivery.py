"""Result hooks are delivered durably, as the campus post is: a saved grade stays "hooks due"
in the grader's database until every hook returned for it, and the retry loop runs the hooks
again, also in a fresh process after the first one died. On SQLite and PostgreSQL. The
campus is a port nobody listens on (it is down), so its post is retried on its own."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from harness.loops import own_loop

from nbcampus.db import current_revision, head_revision, make_engine, upgrade
from nbcampus.grader import rescore
from nbcampus.grader.app import GraderService
from nbcampus.grader.campus import CampusClient
from nbcampus.grader.hooks import GradedResult
from nbcampus.grader.orm import MIGRATIONS, Base, Submission
from nbcampus.grader.rescore import GradebookScores, NotebookScores, apply_scores
from nbcampus.ports import free_port


class FlakyHook:
    """Raises for its first `failures` calls (an LMS database away), then takes the result."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts = 0
        self.delivered: list[GradedResult] = []
        self.took_one = asyncio.Event()

    async def on_result(self, result: GradedResult) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise ConnectionError(f"the LMS database is away (attempt {self.attempts})")
        self.delivered.append(result)
        self.took_one.set()


def make_service(db_url: str, hooks: list[object]) -> GraderService:
    app = GraderService(db_url=db_url, resend_interval=0.05)
    app.init_db()
    app.hooks = hooks  # type: ignore[assignment]
    app.campus = CampusClient(
        hub_api_url="http://127.0.0.1:1/hub/api",
        token="unused",
        campus_url=f"http://127.0.0.1:{free_port()}/services/campus/",
    )
    return app


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBCAMPUS_DATA_DIR", str(tmp_path / "data"))


def save_grade(app: GraderService, student: str, score: float) -> int:
    """Accept, claim and record a grade the way a grading worker does."""
    assert app.queue is not None
    uid = app.queue.accept("c1", "a1", student, {"add.ipynb": b"{}"})
    claimed = app.queue.claim("worker-1")
    assert claimed is not None and claimed.uid == uid
    result = {"notebooks": [{"name": "add", "score": score, "max_score": 3.0}]}
    assert app.queue.complete(claimed.id, "worker-1", score, 3.0, 0.0, result, token=claimed.token)
    return claimed.id


def flags(app: GraderService, sub_id: int) -> tuple[bool, bool]:
    with app.db() as s:
        sub = s.get(Submission, sub_id)
        assert sub is not None
        return sub.hooks_due, sub.posted


@own_loop
async def test_a_hook_failing_twice_is_delivered_once_by_the_retries(db_url: str) -> None:
    flaky = FlakyHook(failures=2)
    app = make_service(db_url, [flaky])
    sub_id = save_grade(app, "ada", 2.0)
    assert flags(app, sub_id) == (True, False)  # due for both, from the grade's transaction

    task = app.result_changed(sub_id)  # as after grading: the hook raises
    assert task is not None
    await asyncio.wait_for(task, 10)
    assert (flaky.attempts, flaky.delivered) == (1, [])
    assert flags(app, sub_id) == (True, False)  # still due: logged, not dropped

    assert await app.resend_due() == 1  # the retry loop's round: raises again
    assert (flaky.attempts, flaky.delivered, flags(app, sub_id)) == (2, [], (True, False))
    assert await app.resend_due() == 1  # third time: taken
    assert flaky.attempts == 3
    (delivered,) = flaky.delivered
    assert (delivered.user, delivered.score, delivered.max_score) == ("ada", 2.0, 3.0)
    assert flags(app, sub_id) == (False, False)  # hooks done; the campus is still down

    # The next rounds still retry the campus post, but never run the hooks again.
    assert await app.resend_due() == 1
    assert (flaky.attempts, len(flaky.delivered)) == (3, 1)
    app.engine.dispose()


@own_loop
async def test_a_grade_saved_before_the_process_died_reaches_the_hooks_after_restart(
    db_url: str,
) -> None:
    first = make_service(db_url, [FlakyHook(failures=0)])
    # The first process saves an autograde and a teacher's new score of another student,
    # then dies before any send: no result_changed, no loop.
    autograded = save_grade(first, "ada", 1.0)
    teacher_changed = save_grade(first, "bob", 0.0)
    with first.db() as s:
        s.execute(  # as if the hooks had taken bob's first grade
            sa.update(Submission).where(Submission.id == teacher_changed).values(hooks_due=False)
        )
        s.commit()
    scores = GradebookScores(2.5, 3.0, False, {"add": NotebookScores(2.5, 3.0)})
    with first.db() as s, s.begin():
        assert apply_scores(s, "c1", "a1", "bob", scores) == teacher_changed
    assert flags(first, teacher_changed) == (True, False)
    first.engine.dispose()

    hook = FlakyHook(failures=0)
    second = make_service(db_url, [hook])  # a fresh process on the same database
    loop_task = asyncio.ensure_future(second.resend_loop())
    try:
        async with asyncio.timeout(10):
            while len(hook.delivered) < 2:
                await hook.took_one.wait()
                hook.took_one.clear()
        await asyncio.sleep(0.3)  # several more rounds of the loop
    finally:
        loop_task.cancel()
    got = sorted((r.user, r.score) for r in hook.delivered)
    assert got == [("ada", 1.0), ("bob", 2.5)]  # each once, the current grade
    assert flags(second, autograded) == (False, False)
    assert flags(second, teacher_changed) == (False, False)
    second.engine.dispose()


class HangingHook:
    """Never returns for ada (an LMS that does not answer); takes everybody else's grade."""

    def __init__(self) -> None:
        self.delivered: list[str] = []

    async def on_result(self, result: GradedResult) -> None:
        if result.user == "ada":
            await asyncio.Event().wait()
        self.delivered.append(result.user)


@own_loop
async def test_a_hanging_hook_does_not_stop_the_retry_round(db_url: str) -> None:
    hook = HangingHook()
    app = make_service(db_url, [hook])
    hanging = save_grade(app, "ada", 1.0)
    other = save_grade(app, "bob", 2.0)
    assert await app.resend_due(wait=0.5) == 2
    assert hook.delivered == ["bob"] and flags(app, other) == (False, False)
    assert flags(app, hanging) == (True, False)
    # the hanging send is still under way: the next round leaves it alone (and only retries
    # bob's campus post)
    assert await app.resend_due(wait=0.5) == 1 and hanging in app._sending
    assert hook.delivered == ["bob"]
    for task in list(app._send_tasks):
        task.cancel()
    await asyncio.gather(*app._send_tasks, return_exceptions=True)
    app.engine.dispose()


class RefusingHook:
    """Always raises for ada's grade (a result the LMS keeps refusing), takes the others."""

    def __init__(self) -> None:
        self.delivered: list[str] = []

    async def on_result(self, result: GradedResult) -> None:
        if result.user == "ada":
            raise ValueError("the LMS refuses this result")
        self.delivered.append(result.user)


@own_loop
async def test_grades_that_keep_failing_do_not_starve_the_others(db_url: str) -> None:
    hook = RefusingHook()
    app = make_service(db_url, [hook])
    app.post_to_campus = False
    refused = save_grade(app, "ada", 1.0)
    behind = save_grade(app, "bob", 2.0)
    assert await app.resend_due(limit=1) == 1  # ada's, refused
    assert hook.delivered == [] and flags(app, refused)[0]
    assert await app.resend_due(limit=1) == 1  # the next round goes on with bob's
    assert hook.delivered == ["bob"] and not flags(app, behind)[0]
    assert await app.resend_due(limit=1) == 1  # and back to the start: ada's again
    assert hook.delivered == ["bob"] and flags(app, refused)[0]
    app.engine.dispose()


def test_the_hooks_due_migration_keeps_old_grades_and_matches_the_tables(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(db_url, MIGRATIONS, "g0001")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO grader_submissions (id, uid, course, assignment, student, "
                "submitted_at, files, status, attempts, grade_count, late_penalty, posted) "
                "VALUES (7, 'u-7', 'c1', 'a1', 'ada', CURRENT_TIMESTAMP, '{}', 'graded', 1, 1, "
                "0, :posted)"
            ),
            {"posted": True},
        )
    upgrade(db_url, MIGRATIONS)  # what `nbcampus upgrade-db` runs
    assert current_revision(engine, MIGRATIONS) == head_revision(MIGRATIONS)
    with engine.connect() as conn:
        # a grade of the old code counts as handed to its hooks: not all sent again
        row = conn.execute(sa.text("SELECT hooks_due FROM grader_submissions WHERE id = 7"))
        assert row.scalar() in (False, 0)
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "hooks_due" in repr(d)] == []
    engine.dispose()


def test_a_teachers_score_stays_due_when_the_previous_grades_send_ends_meanwhile(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The previous grade's send marks the row sent (campus and hooks) between the teacher's
    read of the row and the write of the new score: the new score is still due for both."""
    app = make_service(db_url, [])
    sub_id = save_grade(app, "bob", 1.0)
    assert flags(app, sub_id) == (True, False)
    real = rescore.rescored_result

    def sent_meanwhile(*args: object) -> dict:
        with app.db() as other, other.begin():  # the send of the grade being replaced ends
            other.execute(
                sa.update(Submission)
                .where(Submission.id == sub_id)
                .values(posted=True, hooks_due=False)
            )
        return real(*args)

    monkeypatch.setattr(rescore, "rescored_result", sent_meanwhile)
    scores = GradebookScores(0.5, 3.0, False, {"add": NotebookScores(0.5, 3.0)})
    with app.db() as s, s.begin():
        assert apply_scores(s, "c1", "a1", "bob", scores) == sub_id
    assert flags(app, sub_id) == (True, False)  # the hooks and the campus: both still due
    with app.db() as s:
        assert s.get(Submission, sub_id).score == 0.5
    app.engine.dispose()
