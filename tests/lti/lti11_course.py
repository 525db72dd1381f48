"""Fixtures for passback tests without a Hub: the test platform and an LTI 1.1 course in which
the student ada launched a link to the demo course's `values` exercise (registered for the
LTI suites by conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lti_platform import TestPlatform

from nbcampus.hub.lti.provision import CourseLinkAdapter
from nbcampus.hub.lti.store import LtiStore

EXERCISE = {"course": "python-intro", "lesson": "01-values", "exercise": "values"}


@pytest.fixture
def platform() -> Iterator[TestPlatform]:
    platform = TestPlatform().start()
    yield platform
    platform.stop()


@pytest.fixture
def store(db_url: str, platform: TestPlatform) -> LtiStore:
    """An LTI 1.1 course whose student ada launched a link to the `values` exercise."""
    store = LtiStore.open(db_url)
    store.add_consumer(platform.consumer_key, platform.consumer_secret)
    links = CourseLinkAdapter(store.factory)
    context = links.context(f"lti11:{platform.consumer_key}", "c-1", "C1", "", creator="t")
    links.join(context, "ada", "42", "student")
    link = links.resource_link(
        context,
        "rl-1",
        custom={f"nbcampus_{k}": v for k, v in EXERCISE.items()},
        outcome_url=platform.url + "/outcomes",
    )
    links.outcome_id(link.id, "ada", "src-ada")
    return store
