"""LTI Advantage services end to end against the test platform: deep linking into a lesson,
a launch landing in JupyterLab, AGS grade passback with retries, NRPS roster sync, and
LTI 1.1 launches with Basic Outcomes."""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qsl

import jwt
import pytest
import requests
from lti_env import LtiHub, nbcampus
from lti_platform import LTI, ROLE
from oauthlib.oauth1 import SIGNATURE_TYPE_BODY, Client

from nbcampus.hub.lti.passback import LtiPassbackHook


def run_async(coro):  # type: ignore[no-untyped-def]
    """Run a coroutine to completion on a fresh loop in its own thread: a test earlier in the
    session may have left an event loop running in this one, where asyncio.run refuses."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


pytestmark = pytest.mark.slow

LEARNER, INSTRUCTOR = [ROLE + "Learner"], [ROLE + "Instructor"]
EXERCISE = {"course": "python-intro", "lesson": "01-values", "exercise": "values"}


def error(resp: requests.Response) -> str:
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:500])
    return resp.json()["code"]


def whoami(lti: LtiHub, session: requests.Session) -> str:
    return session.get(lti.url + "hub/api/user", timeout=10).json()["name"]


def token_headers(lti: LtiHub, name: str) -> dict[str, str]:
    return {"Authorization": "token " + lti.hub.token_for(name)}


def deep_link(lti: LtiHub) -> dict:
    """An instructor adds the `values` exercise through the picker; returns the content item."""
    session = requests.Session()
    resp = lti.platform.launch(
        session, lti.url, "teacher-1", INSTRUCTOR, message_type="LtiDeepLinkingRequest"
    )
    assert resp.status_code == 302, resp.text
    assert resp.headers["Location"].endswith("/hub/lti/deep-link")
    page = session.get(lti.url + "hub/lti/deep-link", timeout=10)
    assert page.status_code == 200, page.text
    key = "python-intro/01-values/values"
    assert f'value="{key}"' in page.text
    xsrf = unescape(re.search(r"name='_xsrf' value='([^']+)'", page.text).group(1))
    resp = session.post(
        lti.url + "hub/lti/deep-link", data={"target": key, "_xsrf": xsrf}, timeout=10
    )
    assert resp.status_code == 200, resp.text
    assert f"action='{lti.platform.url}/deep-link-return'" in resp.text
    token = unescape(re.search(r"name='JWT' value='([^']+)'", resp.text).group(1))
    # the platform checks the response as an LMS would: the tool's published key
    key_obj = jwt.PyJWKClient(lti.url + "hub/lti13/jwks").get_signing_key_from_jwt(token).key
    claims = jwt.decode(token, key_obj, algorithms=["RS256"], audience=lti.platform.issuer)
    assert claims["iss"] == lti.platform.client_id
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "opaque-dl-data"
    (item,) = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["lineItem"]["resourceId"] == key and item["lineItem"]["scoreMaximum"] > 0
    return item


def test_student_cannot_deep_link(lti: LtiHub) -> None:
    resp = lti.platform.launch(
        requests.Session(), lti.url, "kid-1", LEARNER, message_type="LtiDeepLinkingRequest"
    )
    assert error(resp) == "FORBIDDEN"


def test_deep_link_launch_lands_in_lab_and_grade_reaches_lms(lti: LtiHub) -> None:
    item = deep_link(lti)
    custom = {LTI + "custom": item["custom"]}
    # the instructor's first launch of the link opens a campus class for the LMS course
    teacher = requests.Session()
    resp = lti.platform.launch(
        teacher, lti.url, "teacher-1", INSTRUCTOR, link_id="dl-link-1", **custom
    )
    assert resp.status_code == 302, resp.text
    session = requests.Session()
    # the LMS sends the content item's custom parameters with every launch of the link
    resp = lti.platform.launch(session, lti.url, "stu-dl", LEARNER, link_id="dl-link-1", **custom)
    assert resp.status_code == 302, resp.text
    assert resp.headers["Location"].endswith(
        "/hub/user-redirect/lab/tree/python-intro/01-values/values.ipynb"
    )
    name = whoami(lti, session)
    staff_api = lti.hub.client(lti.hub.demo("staff")["name"])
    classes = staff_api.get("services/campus/api/v1/classes").json()
    classes = classes["classes"] if isinstance(classes, dict) else classes
    (klass,) = [c for c in classes if c["name"] == "C programming"]
    assert klass["course"] == "python-intro" and klass["instructor"] == whoami(lti, teacher)
    enrolled = staff_api.get(f"services/campus/api/v1/classes/{klass['id']}/enrollments").json()
    enrolled = enrolled["enrollments"] if isinstance(enrolled, dict) else enrolled
    assert [e["student"] for e in enrolled] == [name]

    # the student's Lab opens on the lesson's notebook
    admin = lti.hub.admin_client()
    assert admin.post(f"hub/api/users/{name}/server").status_code in (201, 202)
    deadline = time.monotonic() + 60
    while not admin.get(f"hub/api/users/{name}").json()["servers"].get("", {}).get("ready"):
        assert time.monotonic() < deadline, "the student's server did not start"
        time.sleep(0.5)
    lab = session.get(lti.url.rsplit("/@/", 1)[0] + resp.headers["Location"], timeout=30)
    assert lab.status_code == 200, lab.url
    assert lab.url.endswith(f"/user/{name}/lab/tree/python-intro/01-values/values.ipynb")
    assert "JupyterLab" in lab.text

    # grading: the grader's result hook queues the score; the first post meets a 503
    lti.platform.fail_scores = 1
    hook = LtiPassbackHook(lti.settings())
    # the shape of the grader's GradedResult: a lesson's submission with its notebooks
    result = {
        "submission_id": "sub-1",
        "user": name,
        "course": EXERCISE["course"],
        "assignment": EXERCISE["lesson"],
        "score": 5.0,
        "max_score": 10.0,
        "graded_at": datetime.now(UTC).isoformat(),
        "notebooks": [
            {"name": "values", "score": 3.0, "max_score": 4.0},
            {"name": "other", "score": 2.0, "max_score": 6.0},
        ],
    }
    run_async(hook.on_result(result))
    assert lti.platform.scores == []
    staff = lti.hub.demo("staff")["name"]
    outbox = requests.get(
        lti.url + "hub/lti/outbox", headers=token_headers(lti, staff), timeout=10
    ).json()["items"]
    mine = [i for i in outbox if i["user"] == name]
    assert mine[0]["status"] == "pending" and mine[0]["attempts"] == 1
    assert "503" in mine[0]["last_error"]
    # students may not look at the outbox
    resp = requests.get(lti.url + "hub/lti/outbox", headers=token_headers(lti, name), timeout=10)
    assert error(resp) == "FORBIDDEN"

    # the retry (here: as if the back-off had passed) reaches the platform's gradebook
    later = datetime.now(UTC) + timedelta(hours=2)
    assert run_async(hook.sender.drain(now=later)) == 1
    (score,) = lti.platform.scores
    assert score["userId"] == "stu-dl" and score["scoreGiven"] == 3.0
    assert score["scoreMaximum"] == 4.0 and score["gradingProgress"] == "FullyGraded"
    (line_item,) = lti.platform.line_items["course-1"]
    assert line_item["id"].endswith(score["lineitem"])
    assert line_item["resourceId"] == "python-intro/01-values/values"
    request = lti.platform.token_requests[-1]
    assert request["grant_type"] == "client_credentials"
    # the same grading reported twice is not sent twice
    run_async(hook.on_result(result))
    assert len(lti.platform.scores) == 1
    # operators see the same outbox on the command line
    listing = nbcampus(lti.hub, "lti", "outbox")
    assert '"status": "sent"' in listing and name in listing


def test_roster_sync_marks_leavers(lti: LtiHub) -> None:
    session = requests.Session()
    assert (
        lti.platform.launch(session, lti.url, "leaver", LEARNER, context_id="course-2").status_code
        == 302
    )
    leaver = whoami(lti, session)
    teacher_session = requests.Session()
    lti.platform.launch(teacher_session, lti.url, "teacher-2", INSTRUCTOR, context_id="course-2")
    teacher = whoami(lti, teacher_session)
    lti.platform.members["course-2"] = [
        {"user_id": "teacher-2", "roles": INSTRUCTOR, "status": "Active", "name": "T"},
        {
            "user_id": "newcomer",
            "roles": LEARNER,
            "status": "Active",
            "name": "New Comer",
            "email": "new@lms.example.org",
        },
    ]
    staff = token_headers(lti, lti.hub.demo("staff")["name"])
    contexts = requests.get(lti.url + "hub/lti/contexts", headers=staff, timeout=10).json()
    pk = next(c["id"] for c in contexts["contexts"] if c["context_id"] == "course-2")
    # a student may not sync; the course's instructor may
    resp = requests.post(
        lti.url + f"hub/lti/contexts/{pk}/roster", headers=token_headers(lti, leaver), timeout=10
    )
    assert error(resp) == "FORBIDDEN"
    resp = requests.post(
        lti.url + f"hub/lti/contexts/{pk}/roster", headers=token_headers(lti, teacher), timeout=30
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"active": 2, "joined": 1, "left": 1}
    members = requests.get(
        lti.url + f"hub/lti/contexts/{pk}/roster", headers=staff, timeout=10
    ).json()["members"]
    status = {m["user"]: m["status"] for m in members}
    assert status[leaver] == "left" and status[teacher] == "active"
    assert any(name.startswith("new-") and s == "active" for name, s in status.items())
    # the leaver's account is kept
    assert lti.hub.admin_client().get(f"hub/api/users/{leaver}").status_code == 200


# --- LTI 1.1 -------------------------------------------------------------------------------
def lti11_form(
    lti: LtiHub,
    user_id: str,
    secret: str | None = None,
    timestamp: int | None = None,
    nonce: str | None = None,
    link_id: str = "rl-11",
) -> dict[str, str]:
    params = {
        "lti_message_type": "basic-lti-launch-request",
        "lti_version": "LTI-1p0",
        "resource_link_id": link_id,
        "context_id": "c-11",
        "user_id": user_id,
        "roles": "Learner",
        "lis_person_name_full": "Old School",
        "lis_outcome_service_url": lti.platform.url + "/outcomes",
        "lis_result_sourcedid": f"src-{user_id}-{link_id}",
        "custom_nbcampus_course": EXERCISE["course"],
        "custom_nbcampus_lesson": EXERCISE["lesson"],
        "custom_nbcampus_exercise": EXERCISE["exercise"],
    }
    client = Client(
        lti.platform.consumer_key,
        client_secret=secret or lti.platform.consumer_secret,
        signature_type=SIGNATURE_TYPE_BODY,
        timestamp=str(timestamp or int(time.time())),
        nonce=nonce,
    )
    _, _, body = client.sign(
        lti.url + "hub/lti11/launch",
        "POST",
        body=params,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return dict(parse_qsl(body))


def test_lti11_launch_and_basic_outcomes(lti: LtiHub) -> None:
    session = requests.Session()
    form = lti11_form(lti, "u11")
    resp = session.post(lti.url + "hub/lti11/launch", data=form, allow_redirects=False)
    assert resp.status_code == 302, resp.text
    assert resp.headers["Location"].endswith("/lab/tree/python-intro/01-values/values.ipynb")
    name = whoami(lti, session)
    assert name.startswith("u11-") or name.startswith("old-school-")
    # the same signed form again is a replay
    resp = requests.post(lti.url + "hub/lti11/launch", data=form, allow_redirects=False)
    assert error(resp) == "REPLAYED_NONCE"
    # a second link to the same exercise in the same LMS course has its own result id
    form = lti11_form(lti, "u11", link_id="rl-12")
    assert session.post(lti.url + "hub/lti11/launch", data=form, allow_redirects=False).ok
    hook = LtiPassbackHook(lti.settings())
    result = {"submission_id": "s11", "user": name, **EXERCISE, "score": 3.0, "max_score": 4.0}
    run_async(hook.on_result(result))
    assert sorted(lti.platform.outcomes, key=lambda o: o["sourcedid"]) == [
        {"sourcedid": "src-u11-rl-11", "score": "0.7500"},
        {"sourcedid": "src-u11-rl-12", "score": "0.7500"},
    ]


def test_lti11_bad_signature_and_old_timestamp(lti: LtiHub) -> None:
    url = lti.url + "hub/lti11/launch"
    resp = requests.post(url, data=lti11_form(lti, "u12", secret="wrong"), allow_redirects=False)
    assert error(resp) == "BAD_SIGNATURE"
    old = lti11_form(lti, "u12", timestamp=int(time.time()) - 3600)
    assert error(requests.post(url, data=old, allow_redirects=False)) == "OLD_TIMESTAMP"
