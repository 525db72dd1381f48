"""A grade reaches the LMS even when the LTI database was away while the grader sent it: the
grader keeps the submission "hooks due" and its retry round runs the real passback hook again;
running it once more for the same grade sends nothing twice (the outbox skips an identical
score). On SQLite and PostgreSQL, the grader and LTI tables in one database as in production.
The LMS is the test platform's LTI 1.1 outcome service (its network cannot exist here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from harness.loops import own_loop
from lti_platform import TestPlatform

from nbcampus.db import make_engine, session_factory
from nbcampus.grader.app import GraderService
from nbcampus.grader.orm import Submission
from nbcampus.hub.lti.passback import LtiPassbackHook, Outbox
from nbcampus.hub.lti.store import LtiStore
from nbcampus.ports import free_port
from nbcampus.settings import Settings


def unreachable_url(db_url: str, tmp_path: Path) -> str:
    """The same kind of database at an address nobody serves."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'no such folder' / 'lti.sqlite'}"
    return sa.make_url(db_url).set(host="127.0.0.1", port=free_port()).render_as_string(False)


@own_loop
async def test_a_grade_sent_while_the_lti_database_was_away_reaches_the_lms_once(
    store: LtiStore,
    platform: TestPlatform,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NBCAMPUS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NBCAMPUS_DB_URL", db_url)
    hook = LtiPassbackHook(Settings.from_env())
    grader = GraderService(db_url=db_url, post_to_campus=False)
    grader.init_db()
    grader.hooks = [hook]
    assert grader.queue is not None
    grader.queue.accept("python-intro", "01-values", "ada", {"values.ipynb": b"{}"})
    claimed = grader.queue.claim("worker-1")
    assert claimed is not None
    result = {"notebooks": [{"name": "values", "score": 3.0, "max_score": 4.0}]}
    assert grader.queue.complete(claimed.id, "worker-1", 3.0, 4.0, 0.0, result, token=claimed.token)

    def hooks_due() -> bool:
        with grader.db() as s:
            sub = s.get(Submission, claimed.id)
            assert sub is not None
            return sub.hooks_due

    # The LTI database is away: the hook raises before it queued anything.
    working = hook.sender.outbox.factory
    away = make_engine(unreachable_url(db_url, tmp_path))
    hook.sender.outbox.factory = session_factory(away)
    task = grader.result_changed(claimed.id)
    assert task is not None
    await task
    assert hooks_due() and Outbox(store.factory).items() == [] and platform.outcomes == []

    # It is back: the grader's retry round queues and sends the grade.
    hook.sender.outbox.factory = working
    assert await grader.resend_due() == 1
    assert platform.outcomes == [{"sourcedid": "src-ada", "score": "0.7500"}]
    assert not hooks_due()

    # The process died after the hook took the grade but before it was marked: the hook runs
    # again for the same grade, and the LMS still gets it once.
    with grader.db() as s, s.begin():
        s.execute(sa.update(Submission).values(hooks_due=True))
    assert await grader.resend_due() == 1
    (item,) = Outbox(store.factory).items()
    assert (item["status"], item["attempts"]) == ("sent", 1)
    assert platform.outcomes == [{"sourcedid": "src-ada", "score": "0.7500"}]
    assert not hooks_due()
    away.dispose()
    grader.engine.dispose()
