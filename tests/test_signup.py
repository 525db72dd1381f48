"""Self sign-up, switched on (tests/test_hub.py checks that it is off by default)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from harness.hub import CampusHub

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def signup_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CampusHub]:
    data = tmp_path_factory.mktemp("signup") / "data"
    hub = CampusHub(data, env={"NBCAMPUS_ALLOW_SIGNUP": "1", "NBCAMPUS_DEMO": "0"}).start()
    yield hub
    hub.stop()


def signup(hub: CampusHub, username: str, password: str) -> requests.Response:
    session = requests.Session()
    page = session.get(hub.url + "hub/signup", timeout=10)
    assert page.status_code == 200
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    return session.post(
        hub.url + "hub/signup",
        data={"username": username, "password": password, "_xsrf": xsrf},
        allow_redirects=False,
        timeout=30,
    )


def test_visitor_signs_up_as_student_and_logs_in(signup_hub: CampusHub) -> None:
    login_page = requests.get(signup_hub.url + "hub/login", timeout=10).text
    assert "nbcampus-signup-link" in login_page
    resp = signup(signup_hub, "newcomer", "a good password")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("hub/login")
    session = signup_hub.login_session("newcomer", "a good password")
    me = session.get(signup_hub.url + "hub/api/user", timeout=10).json()
    assert me["name"] == "newcomer"
    role = signup_hub.client("newcomer").get("services/campus/api/v1/me").json()["role"]
    assert role == "student"


def test_signup_refuses_bad_input_and_duplicates(signup_hub: CampusHub) -> None:
    assert signup(signup_hub, "Not Valid!", "a good password").status_code == 400
    assert signup(signup_hub, "shortpw", "short").status_code == 400
    assert signup(signup_hub, "twice", "a good password").status_code == 302
    resp = signup(signup_hub, "twice", "another password")
    assert resp.status_code == 409 and "exists already" in resp.text
    # the first account's password still works: nothing was overwritten
    signup_hub.login_session("twice", "a good password")
