"""Self sign-up, switched on (tests/test_hub.py checks that it is off by default), on a campus
with no SMTP server configured: the page says that links go to the log, the operator finds
the verification link there, and the account works only once it is opened."""

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
    hub.stop(timeout=90)  # a loaded machine may take a while


def signup(hub: CampusHub, username: str, password: str, email: str = "") -> requests.Response:
    session = requests.Session()
    page = session.get(hub.url + "hub/signup", timeout=10)
    assert page.status_code == 200
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    return session.post(
        hub.url + "hub/signup",
        data={
            "username": username,
            "email": email or f"{username.lower()}@school.test",
            "password": password,
            "confirm": password,
            "_xsrf": xsrf,
        },
        allow_redirects=False,
        timeout=30,
    )


def link_from_log(hub: CampusHub, page: str, user: str) -> str:
    log = hub.log_path.read_text(errors="replace")
    links = re.findall(rf"https?://\S+/hub/{page}\?user={re.escape(user)}&token=\S+", log)
    assert links, log[-3000:]
    return links[-1]


def verify(link: str) -> requests.Response:
    session = requests.Session()
    page = session.get(link, timeout=10)
    assert page.status_code == 200, page.text[:300]
    fields = dict(re.findall(r'name="(_xsrf|user|token)" value="([^"]+)"', page.text))
    return session.post(link, data=fields, timeout=30)


def test_visitor_signs_up_verifies_from_the_log_and_logs_in(signup_hub: CampusHub) -> None:
    login_page = requests.get(signup_hub.url + "hub/login", timeout=10).text
    assert "nbcampus-signup-link" in login_page and "nbcampus-forgot-link" in login_page
    form = requests.get(signup_hub.url + "hub/signup", timeout=10).text
    assert 'id="account-no-mail"' in form  # the page says no mail goes out
    resp = signup(signup_hub, "newcomer", "a good password")
    assert resp.status_code == 200 and "we sent a link" in resp.text
    assert 'id="account-no-mail"' in resp.text
    # not usable before the link is opened
    with pytest.raises(AssertionError):
        signup_hub.login_session("newcomer", "a good password")
    done = verify(link_from_log(signup_hub, "verify", "newcomer"))
    assert done.status_code == 200 and "is ready" in done.text
    session = signup_hub.login_session("newcomer", "a good password")
    me = session.get(signup_hub.url + "hub/api/user", timeout=10).json()
    assert me["name"] == "newcomer"
    role = signup_hub.client("newcomer").get("services/campus/api/v1/me").json()["role"]
    assert role == "student"


def test_signup_refuses_bad_input_and_duplicates(signup_hub: CampusHub) -> None:
    bad_name = signup(signup_hub, "Not Valid!", "a good password", "nv@school.test")
    assert bad_name.status_code == 400 and 'id="account-error-username"' in bad_name.text
    short = signup(signup_hub, "shortpw", "short")
    assert short.status_code == 400 and 'id="account-error-password"' in short.text
    assert signup(signup_hub, "twice", "a good password").status_code == 200
    resp = signup(signup_hub, "twice", "another password", "other@school.test")
    assert resp.status_code == 400 and "taken" in resp.text
    # the first account's password still works once verified: nothing was overwritten
    verify(link_from_log(signup_hub, "verify", "twice"))
    signup_hub.login_session("twice", "a good password")
