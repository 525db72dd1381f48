"""Fixtures shared by every suite: PostgreSQL, a real campus Hub, users by role, a browser.

With CI=true a missing PostgreSQL, Chromium or container engine fails the test loudly; on a
developer's machine it skips with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from harness.api import APIClient
from harness.ci import IN_CI, unavailable  # noqa: F401 - re-exported for suites
from harness.hub import CampusHub
from harness.postgres import PostgresCluster, PostgresUnavailable, start_cluster

REPO = Path(__file__).resolve().parent.parent
OUTPUT = Path(os.environ.get("NBCAMPUS_TEST_OUTPUT", REPO / "test-output"))
CHROMIUM = os.environ.get("NBCAMPUS_CHROMIUM", "/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# --- databases ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    try:
        cluster = start_cluster()
    except PostgresUnavailable as err:
        unavailable(str(err))
    yield cluster
    cluster.stop()


DB_PARAMS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DB_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite'}"
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database()


# --- a running campus ----------------------------------------------------------------------------
@pytest.fixture(scope="module", params=DB_PARAMS)
def campus_hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CampusHub]:
    """A real campus Hub (local profile) on random ports with a hostile base URL.

    A module may set `CAMPUS_HUB_ENV` to more environment variables for its Hub (e.g. a shorter
    round of a service's background work that one of its tests waits for)."""
    db = None
    if request.param == "postgresql":
        db = request.getfixturevalue("pg_cluster").create_database()
    data_dir = tmp_path_factory.mktemp("campus") / "data dir"
    env = getattr(request.module, "CAMPUS_HUB_ENV", None)
    hub = CampusHub(data_dir, db_url=db, env=env).start()
    yield hub
    hub.stop()


@pytest.fixture
def make_user(campus_hub: CampusHub) -> Callable[..., dict[str, Any]]:
    """Create an account with a role; returns its name, password and an API client."""
    admin = campus_hub.client(campus_hub.demo("admin")["name"])

    def factory(role: str = "student", name: str | None = None) -> dict[str, Any]:
        name = name or f"{role[:4]}-{uuid.uuid4().hex[:8]}"
        resp = admin.post("services/campus/api/v1/accounts", json={"name": name, "role": role})
        assert resp.status_code == 201, resp.text
        body = resp.json()
        client: APIClient = campus_hub.client(name)
        return {"name": name, "role": role, "password": body["password"], "client": client}

    return factory


# --- output and browser ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (no downloaded browser)."""
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed")
    # Playwright gives every launch a fresh, temporary user-data dir of its own.
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session", autouse=True)
def dev_null_stays_a_device() -> Iterator[None]:
    """Guard against a tool run as root replacing /dev/null (a linker writing `-o /dev/null`
    unlinks it first), which breaks every later test in confusing ways."""
    yield
    import stat as _stat

    assert _stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null is no longer a device"
