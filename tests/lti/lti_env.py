"""A campus Hub with LTI switched on, next to the test platform, for the LTI suites."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest
import requests
from harness.hub import NBCAMPUS, CampusHub
from lti_platform import TestPlatform

from nbcampus.ports import port_in_use
from nbcampus.settings import Settings

DB_PARAMS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


class LtiHub:
    def __init__(self, hub: CampusHub, platform: TestPlatform) -> None:
        self.hub, self.platform, self.url = hub, platform, hub.url

    def settings(self) -> Settings:
        env = {k: v for k, v in self.hub.env.items() if k.startswith("NBCAMPUS_")}
        return Settings.from_env(env)

    def staff_session(self) -> requests.Session:
        staff = self.hub.demo("staff")
        session = self.hub.login_session(staff["name"], staff["password"])
        return session

    def staff_token_headers(self) -> dict[str, str]:
        return {"Authorization": "token " + self.hub.token_for(self.hub.demo("staff")["name"])}

    def restart(self) -> None:
        # a loaded machine may need more than the harness's default 30 s to stop everything
        self.hub.stop(timeout=90)
        # the proxy of the stopped Hub may hold the public port for a moment
        deadline = time.monotonic() + 20
        while port_in_use("127.0.0.1", self.hub.port) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.hub.start()


def nbcampus(hub: CampusHub, *args: str) -> str:
    out = subprocess.run([NBCAMPUS, *args], env=hub.env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module", params=DB_PARAMS)
def lti(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LtiHub]:
    db = None
    if request.param == "postgresql":
        db = request.getfixturevalue("pg_cluster").create_database()
    platform = TestPlatform().start()
    data_dir = tmp_path_factory.mktemp("lti") / "data dir"
    hub = CampusHub(data_dir, db_url=db, env={"NBCAMPUS_LTI": "1"})
    nbcampus(
        hub,
        "lti",
        "add-platform",
        "--issuer",
        platform.issuer,
        "--client-id",
        platform.client_id,
        "--jwks-url",
        platform.jwks_url,
        "--auth-login-url",
        platform.auth_url,
        "--auth-token-url",
        platform.token_url,
        "--deployment-id",
        platform.deployment_id,
        "--name",
        "Test LMS",
    )
    nbcampus(
        # "=": a generated secret may start with "-", which argparse would take for an option
        hub,
        "lti",
        "add-consumer",
        platform.consumer_key,
        "--secret=" + platform.consumer_secret,
    )
    hub.start()
    platform.tool_jwks_url = hub.url + "hub/lti13/jwks"
    yield LtiHub(hub, platform)
    hub.stop()
    platform.stop()
