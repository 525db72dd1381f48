"""Written grades reach the LMS through the same passback queue as notebook scores: a grade,
a regrade and a resubmission's grade are each sent once per change (saving the same score
again sends nothing), a grade saved while the LTI database was away is sent by the grader's
resend round, and a lesson's own LMS link gets a written grade only when the lesson has no
notebooks (else it holds the notebooks' total). On SQLite and PostgreSQL, the grader and LTI
tables in one database as in production. The LMS is the test platform's LTI 1.1 outcome
service (its network cannot exist here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from harness.loops import own_loop
from lti_platform import TestPlatform
from test_lti_grader_delivery import unreachable_url

from nbcampus.db import make_engine, session_factory
from nbcampus.grader import written as W
from nbcampus.grader.app import GraderService
from nbcampus.grader.handlers.written import post_written, resend_written, written_result
from nbcampus.grader.orm import Assignment, WrittenSubmission
from nbcampus.hub.campus.manifest import load_manifest
from nbcampus.hub.lti.passback import LtiPassbackHook
from nbcampus.hub.lti.provision import CourseLinkAdapter
from nbcampus.hub.lti.store import LtiStore
from nbcampus.settings import Settings

COURSE, LESSON, EXERCISE = "python-intro", "02-control-flow", "explain-fizzbuzz"
DEMO = Path(__file__).resolve().parents[2] / "courses" / COURSE


@pytest.fixture
def links(db_url: str, platform: TestPlatform) -> LtiStore:
    """An LTI 1.1 course in which ada launched a link to the written assignment (result id
    src-w) and one to its whole lesson (src-l)."""
    store = LtiStore.open(db_url)
    store.add_consumer(platform.consumer_key, platform.consumer_secret)
    adapter = CourseLinkAdapter(store.factory)
    context = adapter.context(f"lti11:{platform.consumer_key}", "c-1", "C1", "", creator="t")
    adapter.join(context, "ada", "42", "student")
    for link_id, exercise, sourcedid in (("rl-w", EXERCISE, "src-w"), ("rl-l", "", "src-l")):
        custom = {"nbcampus_course": COURSE, "nbcampus_lesson": LESSON}
        if exercise:
            custom["nbcampus_exercise"] = exercise
        link = adapter.resource_link(
            context, link_id, custom=custom, outcome_url=platform.url + "/outcomes"
        )
        adapter.outcome_id(link.id, "ada", sourcedid)
    return store


@pytest.fixture
def grader(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, links: LtiStore):
    monkeypatch.setenv("NBCAMPUS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NBCAMPUS_DB_URL", db_url)
    app = GraderService(db_url=db_url, post_to_campus=False)
    app.init_db()
    app.hooks = [LtiPassbackHook(Settings.from_env())]
    lesson = next(x for x in load_manifest(DEMO).lessons if x.slug == LESSON)
    with app.db() as s, s.begin():
        W.register_written(s, COURSE, lesson)
    yield app
    app.engine.dispose()


def hand_in(app: GraderService, text: str) -> int:
    with app.db() as s, s.begin():
        ex = W.find_exercise(s, COURSE, LESSON, EXERCISE)
        sub, created = W.record(s, ex, "ada", W.text_content(ex, text))
        assert created
        return sub.id


async def grade(app: GraderService, sub_id: int, score: float, comment: str = "") -> bool:
    """What the grading view does on save: the grade in one transaction, then sent on."""
    with app.db() as s, s.begin():
        row = s.get(WrittenSubmission, sub_id)
        W.grade(s, row, score, comment, "ines")
        s.flush()
        result = written_result(row)
    return await post_written(app, sub_id, result)


def posted(app: GraderService, sub_id: int) -> bool:
    with app.db() as s:
        return s.get(WrittenSubmission, sub_id).posted


@own_loop
async def test_a_written_grade_is_passed_back_once_per_change(
    grader: GraderService, platform: TestPlatform, db_url: str, tmp_path: Path
) -> None:
    # The lesson has notebooks (generated as the grader's assignment): its link holds their
    # total, so written grades go to the written assignment's link alone.
    with grader.db() as s, s.begin():
        s.add(Assignment(course=COURSE, name=LESSON, notebooks=["fizzbuzz.ipynb"], max_score=6))
    first = hand_in(grader, "It checks 15 first, then 3, then 5.")
    assert await grade(grader, first, 3, "clear")
    assert platform.outcomes == [{"sourcedid": "src-w", "score": "0.7500"}]
    assert posted(grader, first)

    # The same score saved again (a new comment): nothing new reaches the LMS.
    assert await grade(grader, first, 3, "clear, thank you")
    assert len(platform.outcomes) == 1

    # A regrade saved while the LTI database is away: kept unposted, then sent by the
    # grader's resend round, once.
    (hook,) = grader.hooks
    working = hook.sender.outbox.factory
    away = make_engine(unreachable_url(db_url, tmp_path))
    hook.sender.outbox.factory = session_factory(away)
    assert not await grade(grader, first, 4, "full marks after all")
    assert not posted(grader, first) and len(platform.outcomes) == 1
    hook.sender.outbox.factory = working
    assert await resend_written(grader) == 1
    assert platform.outcomes[1:] == [{"sourcedid": "src-w", "score": "1.0000"}]
    assert await resend_written(grader) == 0 and len(platform.outcomes) == 2

    # A resubmission graded lower: under the course's "best" policy the LMS keeps 4 of 4.
    second = hand_in(grader, "It checks 3 and 5 and prints both.")
    assert await grade(grader, second, 2)
    assert len(platform.outcomes) == 2
    # ... and graded up to 4 again: the same score the LMS holds counts as a change of this
    # submission, sent once.
    assert await grade(grader, second, 4)
    assert platform.outcomes[2:] == [{"sourcedid": "src-w", "score": "1.0000"}]
    assert all(o["sourcedid"] == "src-w" for o in platform.outcomes)
    away.dispose()


@own_loop
async def test_a_lesson_of_only_written_work_passes_its_grade_to_the_lessons_link(
    grader: GraderService, platform: TestPlatform
) -> None:
    # No notebook assignment of this lesson: the written grade is the lesson's total too.
    with grader.db() as s:
        assert s.scalar(sa.select(Assignment).filter_by(course=COURSE, name=LESSON)) is None
    sub = hand_in(grader, "An essay.")
    assert await grade(grader, sub, 1)
    assert sorted(platform.outcomes, key=lambda o: o["sourcedid"]) == [
        {"sourcedid": "src-l", "score": "0.2500"},
        {"sourcedid": "src-w", "score": "0.2500"},
    ]
