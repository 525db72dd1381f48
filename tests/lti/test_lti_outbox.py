"""The grade passback outbox on SQLite and PostgreSQL: one send per item across processes,
regrades sent again, nothing dropped. Scores go over HTTP to the test platform's LTI 1.1
outcome service (it stands in for the LMS, whose network cannot exist here)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lti_flows import run_async
from lti_platform import TestPlatform
from sqlalchemy import select

from nbcampus.db import make_engine, session_factory
from nbcampus.hub.lti import orm
from nbcampus.hub.lti.keys import ToolKey
from nbcampus.hub.lti.passback import Outbox, PassbackSender
from nbcampus.hub.lti.provision import CourseLinkAdapter
from nbcampus.hub.lti.store import LtiStore

GRADED = {
    "submission_id": "sub-1",
    "user": "ada",
    "course": "python-intro",
    "lesson": "01-values",
    "exercise": "values",
    "score": 3.0,
    "max_score": 4.0,
}


def sender(db_url: str, tmp_path: Path) -> PassbackSender:
    """A sender with its own engine, as the Hub, the grader and the command line each have."""
    factory = session_factory(make_engine(db_url))
    return PassbackSender(factory, ToolKey.load_or_create(tmp_path / "keys"))


def test_same_grading_is_queued_once_and_a_regrade_again(store: LtiStore) -> None:
    outbox = Outbox(store.factory)
    (first,) = outbox.enqueue(GRADED)
    assert outbox.enqueue(GRADED) == []  # the grader reported the same grading twice
    # the instructor fixed a test and regraded the same submission: the new score must go
    assert outbox.enqueue({**GRADED, "score": 4.0}) == [first]
    (item,) = outbox.items()
    assert (item["score"], item["status"], item["attempts"]) == (4.0, "pending", 0)
    # the course's grade policy is best (the default): a worse newer submission is kept but
    # not sent, and the best stays queued
    assert outbox.enqueue({**GRADED, "submission_id": "sub-2", "score": 2.0}) == [first]
    statuses = {i["score"]: i["status"] for i in outbox.items()}
    assert statuses == {4.0: "pending", 2.0: "superseded"}
    # under the latest policy a newer submission supersedes the unsent grade of the older one
    latest = Outbox(store.factory, policy=lambda course: "latest")
    (third,) = latest.enqueue({**GRADED, "submission_id": "sub-3", "score": 1.0})
    statuses = {i["id"]: i["status"] for i in outbox.items()}
    assert statuses[first] == "superseded" and statuses[third] == "pending"


def test_an_item_is_sent_once_by_concurrent_senders(
    store: LtiStore, platform: TestPlatform, db_url: str, tmp_path: Path
) -> None:
    (item_id,) = Outbox(store.factory).enqueue(GRADED)
    senders = [sender(db_url, tmp_path) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        sent = list(pool.map(lambda s: s.send(item_id), senders))
    assert sent.count(True) == 1
    assert platform.outcomes == [{"sourcedid": "src-ada", "score": "0.7500"}]
    (item,) = Outbox(store.factory).items()
    assert item["status"] == "sent" and item["attempts"] == 1
    # a sent item is never sent again, whoever drains
    assert not senders[0].send(item_id)
    assert len(platform.outcomes) == 1


def test_failures_back_off_stay_visible_and_retry_now_sends(
    store: LtiStore, platform: TestPlatform, db_url: str, tmp_path: Path
) -> None:
    outbox = Outbox(store.factory)
    (item_id,) = outbox.enqueue(GRADED)
    platform_secret = platform.consumer_secret
    platform.consumer_secret = "rotated"  # the LMS refuses our signature for a while
    send = sender(db_url, tmp_path)
    assert not send.send(item_id)
    (item,) = outbox.items()
    assert item["status"] == "pending" and item["attempts"] == 1
    assert "401" in item["last_error"]
    due_at = datetime.fromisoformat(item["next_attempt_at"])
    assert due_at > datetime.now(UTC) + timedelta(seconds=20)  # backed off
    assert outbox.due() == [] and not send.send(item_id)  # not due: nothing posted
    # after the last attempt the item waits for a person, still listed
    with store.factory() as session, session.begin():
        session.get(orm.OutboxItem, item_id).attempts = 7
    assert not send.send(item_id, now=datetime.now(UTC) + timedelta(hours=2))
    (item,) = outbox.items(status="failed")  # what staff look for
    assert item["status"] == "failed" and item["attempts"] == 8
    assert outbox.items(status="pending") == []
    with pytest.raises(ValueError, match="status must be one of"):
        outbox.items(status="lost")
    platform.consumer_secret = platform_secret  # fixed on the LMS side
    assert outbox.retry_now() == 1
    assert send.send(item_id)
    assert platform.outcomes == [{"sourcedid": "src-ada", "score": "0.7500"}]
    assert outbox.items()[0]["status"] == "sent"


def test_items_due_are_found_behind_many_backing_off(store: LtiStore) -> None:
    """An LMS down for a whole course leaves hundreds of items waiting; one due is still
    found (not only among the oldest few hundred)."""
    later = datetime.now(UTC) + timedelta(hours=1)
    with store.factory() as session, session.begin():
        link = session.scalars(select(orm.ResourceLink)).one()
        for i in range(300):
            session.add(
                orm.OutboxItem(
                    link_pk=link.id,
                    username=f"u{i}",
                    submission_id=f"s{i}",
                    score=1.0,
                    max_score=1.0,
                    graded_at="",
                    next_attempt_at=later,
                )
            )
    (due,) = Outbox(store.factory).enqueue(GRADED)
    assert Outbox(store.factory).due() == [due]


# --- LTI 1.3 AGS --------------------------------------------------------------------------------
@pytest.fixture
def ags(db_url: str, platform: TestPlatform, tmp_path: Path) -> tuple[LtiStore, PassbackSender]:
    """An LTI 1.3 course with AGS, one student who launched a link to the `values` exercise,
    and a sender whose client assertions the platform checks against the tool's keys."""
    store = LtiStore.open(db_url)
    reg = store.add_platform(
        platform.issuer,
        platform.client_id,
        platform.jwks_url,
        platform.auth_url,
        platform.token_url,
        [platform.deployment_id],
    )
    key = ToolKey.load_or_create(tmp_path / "keys")
    platform.tool_jwks, platform.tool_jwks_url = key.jwks(), platform.url + "/tool-jwks"
    links = CourseLinkAdapter(store.factory)
    context = links.context(
        f"lti13:{reg.id}",
        "course-a",
        "A",
        "",
        creator="t",
        lineitems_url=f"{platform.url}/ags/course-a/lineitems",
    )
    links.join(context, "ada", "sub-ada", "student")
    custom = {"nbcampus_" + k: GRADED[k] for k in ("course", "lesson", "exercise")}
    links.resource_link(context, "link-a", "Values", custom=custom)
    return store, PassbackSender(store.factory, key)


def test_scores_land_only_in_the_links_own_line_item(
    ags: tuple[LtiStore, PassbackSender], platform: TestPlatform
) -> None:
    store, send = ags
    # an LMS that ignores the line item filters lists its whole gradebook: its own column
    # without a resource, and another link to the same exercise
    platform.filter_line_items = False
    platform.line_items["course-a"] = [
        {"id": f"{platform.url}/ags/course-a/lineitems/participation", "label": "Participation"},
        {
            "id": f"{platform.url}/ags/course-a/lineitems/other-link",
            "resourceLinkId": "other-link",
            "resourceId": "python-intro/01-values/values",
        },
    ]
    (item_id,) = Outbox(store.factory).enqueue(GRADED)
    assert send.send(item_id)
    created = platform.line_items["course-a"][2]
    assert created["resourceLinkId"] == "link-a" and created["scoreMaximum"] == 4.0
    (score,) = platform.scores
    assert created["id"].endswith(score["lineitem"])
    assert (score["userId"], score["scoreGiven"], score["scoreMaximum"]) == ("sub-ada", 3.0, 4.0)
    # the next grade goes to the same line item, found without asking again
    (item_id,) = Outbox(store.factory).enqueue({**GRADED, "submission_id": "sub-2"})
    assert send.send(item_id)
    assert len(platform.line_items["course-a"]) == 3
    assert [s["lineitem"] for s in platform.scores] == [score["lineitem"]] * 2


def test_a_token_the_platform_dropped_is_replaced(
    ags: tuple[LtiStore, PassbackSender], platform: TestPlatform
) -> None:
    store, send = ags
    (item_id,) = Outbox(store.factory).enqueue(GRADED)
    assert send.send(item_id)
    assert len(platform.token_requests) == 1
    platform.tokens.clear()  # the LMS restarted: the cached token means nothing to it now
    (item_id,) = Outbox(store.factory).enqueue({**GRADED, "submission_id": "sub-2"})
    assert send.send(item_id)
    assert len(platform.token_requests) == 2 and len(platform.scores) == 2


def test_the_hubs_retry_loop_sends_once_the_back_off_passed(
    store: LtiStore, platform: TestPlatform, db_url: str, tmp_path: Path
) -> None:
    """The authenticator's loop (as the Hub runs it, here on this test's event loop) picks
    up an item whose back-off is over, without anyone asking."""
    from nbcampus.hub.lti.auth import LtiCampusAuthenticator

    outbox = Outbox(store.factory)
    (item_id,) = outbox.enqueue(GRADED)
    secret, platform.consumer_secret = platform.consumer_secret, "rotated"
    assert not sender(db_url, tmp_path).send(item_id)  # the LMS refused: backing off
    platform.consumer_secret = secret
    auth = LtiCampusAuthenticator(
        lti_db_url=db_url, key_dir=str(tmp_path / "keys"), passback_interval=0.1
    )

    async def run_loop() -> list[dict[str, str]]:
        loop = auth.start_passback_loop()
        try:
            await asyncio.sleep(0.5)
            assert platform.outcomes == []  # not due yet: the loop leaves it alone
            with store.factory() as session, session.begin():
                session.get(orm.OutboxItem, item_id).next_attempt_at = datetime.now(UTC)
            for _ in range(100):
                if platform.outcomes:
                    break
                await asyncio.sleep(0.1)
            return list(platform.outcomes)
        finally:
            loop.stop()

    assert run_async(run_loop()) == [{"sourcedid": "src-ada", "score": "0.7500"}]
    (item,) = outbox.items()
    assert item["status"] == "sent" and item["attempts"] == 2


def test_nonsense_from_the_lms_is_recorded_on_the_item(
    ags: tuple[LtiStore, PassbackSender], platform: TestPlatform
) -> None:
    """Whatever goes wrong, the item says so and backs off: never stuck claimed in silence."""
    store, send = ags
    with store.factory() as session, session.begin():
        context = session.scalars(select(orm.Context)).one()
        context.lineitems_url = platform.jwks_url  # answers 200 with JSON, not line items
    (item_id,) = Outbox(store.factory).enqueue(GRADED)
    assert not send.send(item_id)
    (item,) = Outbox(store.factory).items()
    assert item["status"] == "pending" and item["attempts"] == 1
    assert "something else than a list of line items" in item["last_error"]
    assert platform.scores == []
    # the claim is released with the failure: due again after the back-off, not stuck
    assert Outbox(store.factory).due(now=datetime.now(UTC) + timedelta(hours=1)) == [item_id]
    # a line item without its id (an LMS bug): an unexpected error, recorded all the same
    with store.factory() as session, session.begin():
        context = session.scalars(select(orm.Context)).one()
        context.lineitems_url = f"{platform.url}/ags/course-a/lineitems"
    platform.line_items["course-a"] = [{"resourceLinkId": "link-a", "label": "no id"}]
    assert not send.send(item_id, now=datetime.now(UTC) + timedelta(hours=1))
    (item,) = Outbox(store.factory).items()
    assert item["attempts"] == 2 and "unexpected answer (KeyError" in item["last_error"]
    assert platform.scores == []
