"""A score hidden from its student (hub/campus/visibility.py) is not sent to the LMS until an
instructor releases it: it waits in the outbox as `held`, then the next drain sends it. On
SQLite and PostgreSQL; the campus's tables share the database, as with NBCAMPUS_DB_URL. Scores
go over HTTP to the test platform's LTI 1.1 outcome service (the LMS's stand-in)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from lti_flows import run_async
from lti_platform import TestPlatform

from nbcampus.db import make_engine, prepare_database, session_factory, transaction
from nbcampus.hub.campus import visibility
from nbcampus.hub.campus.courses import import_course
from nbcampus.hub.campus.manifest import load_manifest
from nbcampus.hub.campus.orm import MIGRATIONS, Exercise
from nbcampus.hub.lti.keys import ToolKey
from nbcampus.hub.lti.passback import Outbox, PassbackSender
from nbcampus.hub.lti.store import LtiStore

COURSE = Path(__file__).resolve().parents[2] / "courses" / "python-intro"
GRADED = {
    "submission_id": "sub-1",
    "user": "ada",
    "course": "python-intro",
    "lesson": "01-values",
    "exercise": "values",
    "score": 3.0,
    "max_score": 4.0,
}


@pytest.fixture
def campus(db_url: str, monkeypatch: pytest.MonkeyPatch):
    """The campus in the LTI store's database, its `values` exercise hidden until released
    (the manifest's `scores: hidden`)."""
    engine = make_engine(db_url)
    prepare_database(engine, db_url, MIGRATIONS)
    factory = session_factory(engine)
    with transaction(factory) as s:
        import_course(s, load_manifest(COURSE))
        s.scalars(sa.select(Exercise).filter_by(slug="values")).one().score_visibility = "hidden"
    # what the Hub, the grader and the command line read to find the campus
    monkeypatch.setenv("NBCAMPUS_DB_URL", db_url)
    yield factory
    engine.dispose()


def test_a_hidden_score_waits_for_its_release(
    store: LtiStore, platform: TestPlatform, campus, db_url: str, tmp_path: Path
) -> None:
    # the outbox and sender as every process makes them: the campus found from the settings
    sender = PassbackSender(session_factory(make_engine(db_url)), ToolKey.load_or_create(tmp_path))
    outbox = Outbox(store.factory)
    assert outbox.enqueue(GRADED) == []  # nothing to send
    (item,) = outbox.items()
    assert item["status"] == "held"
    assert run_async(sender.drain()) == 0
    assert platform.outcomes == []  # the LMS has not seen it
    # a regrade while hidden replaces the held score, still held
    assert outbox.enqueue({**GRADED, "score": 4.0}) == []
    assert [(i["score"], i["status"]) for i in outbox.items()] == [(4.0, "held")]

    with transaction(campus) as s:
        values = s.scalars(sa.select(Exercise).filter_by(slug="values")).one()
        visibility.release_scores(s, values, "ines")
    assert run_async(sender.drain()) == 1
    assert platform.outcomes == [{"sourcedid": "src-ada", "score": "1.0000"}]
    (item,) = outbox.items()
    assert item["status"] == "sent"


def test_a_visible_score_goes_at_once(
    store: LtiStore, platform: TestPlatform, campus, db_url: str, tmp_path: Path
) -> None:
    with transaction(campus) as s:
        s.scalars(sa.select(Exercise).filter_by(slug="values")).one().score_visibility = None
    sender = PassbackSender(session_factory(make_engine(db_url)), ToolKey.load_or_create(tmp_path))
    assert len(Outbox(store.factory).enqueue(GRADED)) == 1  # pending at once
    assert run_async(sender.drain()) == 1
    assert platform.outcomes == [{"sourcedid": "src-ada", "score": "0.7500"}]
