"""What the LTI suites do again and again: a person's launches, the instructor's deep link,
LTI 1.1 forms, and reading the Hub's answers."""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from urllib.parse import parse_qsl

import jwt
import requests
from lti_env import LtiHub
from lti_platform import LTI, ROLE
from oauthlib.oauth1 import SIGNATURE_TYPE_BODY, Client

LEARNER, INSTRUCTOR = [ROLE + "Learner"], [ROLE + "Instructor"]
EXERCISE = {"course": "python-intro", "lesson": "01-values", "exercise": "values"}


def run_async(coro):  # type: ignore[no-untyped-def]
    """Run a coroutine to completion on a fresh loop in its own thread: a test earlier in the
    session may have left an event loop running in this one, where asyncio.run refuses."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def error(resp: requests.Response) -> str:
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:500])
    return resp.json()["code"]


def whoami(lti: LtiHub, session: requests.Session) -> str:
    return session.get(lti.url + "hub/api/user", timeout=10).json()["name"]


def token_headers(lti: LtiHub, name: str) -> dict[str, str]:
    return {"Authorization": "token " + lti.hub.token_for(name)}


def deep_link(lti: LtiHub, teacher: str = "teacher-1", context_id: str = "course-1") -> dict:
    """An instructor adds the `values` exercise through the picker; returns the content item."""
    session = requests.Session()
    resp = lti.platform.launch(
        session,
        lti.url,
        teacher,
        INSTRUCTOR,
        message_type="LtiDeepLinkingRequest",
        context_id=context_id,
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


def lti11_form(
    lti: LtiHub,
    user_id: str,
    secret: str | None = None,
    timestamp: int | None = None,
    nonce: str | None = None,
    link_id: str = "rl-11",
    roles: str = "Learner",
    context_id: str = "c-11",
) -> dict[str, str]:
    """A basic launch of the `values` exercise as an LTI 1.1 consumer signs it."""
    params = {
        "lti_message_type": "basic-lti-launch-request",
        "lti_version": "LTI-1p0",
        "resource_link_id": link_id,
        "context_id": context_id,
        "user_id": user_id,
        "roles": roles,
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
