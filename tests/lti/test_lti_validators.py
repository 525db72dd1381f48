"""The security checks of LTI launches, one test per way a launch must be refused."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qsl

import jwt
import pytest
from lti_platform import LTI, ROLE, TestPlatform, new_key
from oauthlib.oauth1 import SIGNATURE_TYPE_BODY, Client

from nbcampus.hub.lti.store import LtiStore
from nbcampus.hub.lti.validators import (
    IdTokenValidator,
    JWKSCache,
    LtiValidationError,
    OAuth1LaunchValidator,
    StateValidator,
    TargetLinkValidator,
)


@pytest.fixture(scope="module")
def platform() -> TestPlatform:
    # only its keys and messages are used here; no server needed
    return TestPlatform(issuer="https://lms.example.org", client_id="client-a")


@pytest.fixture
def store(tmp_path: Path) -> LtiStore:
    return LtiStore.open(f"sqlite:///{tmp_path / 'lti.sqlite'}")


@pytest.fixture
def validator(platform: TestPlatform, store: LtiStore) -> IdTokenValidator:
    store.add_platform(
        platform.issuer,
        platform.client_id,
        jwks_url="https://lms.example.org/jwks",
        auth_login_url="https://lms.example.org/auth",
        deployment_ids=[platform.deployment_id],
    )
    keys = JWKSCache(fetch=lambda url: platform.jwks())
    return IdTokenValidator(store, keys, store)


def claims(platform: TestPlatform, nonce: str = "n-1", **extra):  # type: ignore[no-untyped-def]
    return platform.claims("user-1", [ROLE + "Learner"], nonce, **extra)


def refused(validator: IdTokenValidator, token: str, nonce: str = "n-1") -> LtiValidationError:
    with pytest.raises(LtiValidationError) as info:
        validator.validate(token, nonce)
    assert 400 <= info.value.status < 500 or info.value.code == "JWKS_UNAVAILABLE"
    return info.value


def test_valid_token_is_accepted(platform: TestPlatform, validator: IdTokenValidator) -> None:
    decoded, reg = validator.validate(platform.sign(claims(platform)), "n-1")
    assert decoded["sub"] == "user-1" and reg.client_id == "client-a"


def test_unsigned_token(platform: TestPlatform, validator: IdTokenValidator) -> None:
    token = jwt.encode(claims(platform), None, algorithm="none")
    assert refused(validator, token).code == "UNSIGNED_TOKEN"


def test_wrongly_signed_token(platform: TestPlatform, validator: IdTokenValidator) -> None:
    token = platform.sign(claims(platform), key=new_key())  # same kid, other key
    assert refused(validator, token).code == "BAD_SIGNATURE"


def test_unknown_key_id(platform: TestPlatform, validator: IdTokenValidator) -> None:
    token = platform.sign(claims(platform), kid="no-such-kid")
    assert refused(validator, token).code == "UNKNOWN_KEY"


def test_wrong_issuer(platform: TestPlatform, validator: IdTokenValidator) -> None:
    token = platform.sign(claims(platform, iss="https://evil.example.org"))
    assert refused(validator, token).code == "UNKNOWN_ISSUER"


def test_wrong_audience(platform: TestPlatform, validator: IdTokenValidator) -> None:
    token = platform.sign(claims(platform, aud="client-b"))
    assert refused(validator, token).code == "WRONG_AUDIENCE"


def test_several_audiences_without_azp(platform: TestPlatform, validator: IdTokenValidator) -> None:
    token = platform.sign(claims(platform, aud=["client-a", "other"]))
    assert refused(validator, token).code == "MISSING_AZP"


def test_several_audiences_with_azp(platform: TestPlatform, validator: IdTokenValidator) -> None:
    token = platform.sign(claims(platform, aud=["other", "client-a"], azp="client-a"))
    assert validator.validate(token, "n-1")[0]["azp"] == "client-a"
    token = platform.sign(claims(platform, nonce="n-2", aud=["other", "client-a"], azp="other"))
    assert refused(validator, token, "n-2").code == "WRONG_AUDIENCE"


def test_expired_token(platform: TestPlatform, validator: IdTokenValidator) -> None:
    now = int(time.time())
    token = platform.sign(claims(platform, iat=now - 900, exp=now - 600))
    assert refused(validator, token).code == "EXPIRED_TOKEN"


def test_token_issued_too_long_ago(platform: TestPlatform, validator: IdTokenValidator) -> None:
    now = int(time.time())
    token = platform.sign(claims(platform, iat=now - 3600, exp=now + 600))
    assert refused(validator, token).code == "EXPIRED_TOKEN"


def test_future_token(platform: TestPlatform, validator: IdTokenValidator) -> None:
    now = int(time.time())
    token = platform.sign(claims(platform, iat=now + 600, exp=now + 900))
    assert refused(validator, token).code == "FUTURE_TOKEN"


def test_nonce_not_ours(platform: TestPlatform, validator: IdTokenValidator) -> None:
    token = platform.sign(claims(platform, nonce="forged"))
    assert refused(validator, token, "n-1").code == "NONCE_MISMATCH"


def test_replayed_nonce(platform: TestPlatform, validator: IdTokenValidator) -> None:
    token = platform.sign(claims(platform))
    validator.validate(token, "n-1")
    assert refused(validator, token).code == "REPLAYED_NONCE"


def test_replayed_nonce_after_restart(platform: TestPlatform, db_url: str) -> None:
    """A fresh store on the same database (as after a Hub restart) still knows the nonce."""

    def fresh_validator() -> IdTokenValidator:
        store = LtiStore.open(db_url)
        store.add_platform(
            platform.issuer,
            platform.client_id,
            "https://lms.example.org/jwks",
            "https://lms.example.org/auth",
            deployment_ids=[platform.deployment_id],
        )
        return IdTokenValidator(store, JWKSCache(fetch=lambda u: platform.jwks()), store)

    token = platform.sign(claims(platform, nonce="n-restart"))
    fresh_validator().validate(token, "n-restart")
    assert refused(fresh_validator(), token, "n-restart").code == "REPLAYED_NONCE"


def test_unknown_deployment(platform: TestPlatform, validator: IdTokenValidator) -> None:
    token = platform.sign(claims(platform, **{LTI + "deployment_id": "other-deployment"}))
    err = refused(validator, token)
    assert err.code == "UNKNOWN_DEPLOYMENT" and err.status == 403


def test_wrong_message_type(platform: TestPlatform, validator: IdTokenValidator) -> None:
    token = platform.sign(claims(platform, **{LTI + "message_type": "LtiSubmissionReview"}))
    assert refused(validator, token).code == "WRONG_MESSAGE_TYPE"


def test_wrong_version(platform: TestPlatform, validator: IdTokenValidator) -> None:
    token = platform.sign(claims(platform, **{LTI + "version": "1.1"}))
    assert refused(validator, token).code == "WRONG_VERSION"


def test_canvas_issuer_with_per_client_ids(platform: TestPlatform, store: LtiStore) -> None:
    """Canvas signs for every school with one issuer; the client id picks the registration."""
    canvas = "https://canvas.instructure.com"
    for client in ("10000000000001", "10000000000002"):
        store.add_platform(
            canvas, client, "https://c/jwks", "https://c/auth", deployment_ids=[client]
        )
    validator = IdTokenValidator(store, JWKSCache(fetch=lambda u: platform.jwks()), store)
    for i, client in enumerate(("10000000000001", "10000000000002")):
        extra = {"iss": canvas, "aud": client, LTI + "deployment_id": client}
        token = platform.sign(claims(platform, nonce=f"c-{i}", **extra))
        assert validator.validate(token, f"c-{i}")[1].client_id == client
    # a deployment of the one client is not valid for the other
    extra = {"iss": canvas, "aud": "10000000000001", LTI + "deployment_id": "10000000000002"}
    token = platform.sign(claims(platform, nonce="c-x", **extra))
    assert refused(validator, token, "c-x").code == "UNKNOWN_DEPLOYMENT"


# --- OIDC state and target link ----------------------------------------------------------------
def test_state_mismatch() -> None:
    assert StateValidator.check("abc", "abc") == "abc"
    with pytest.raises(LtiValidationError) as info:
        StateValidator.check("abc", "abd")
    assert info.value.code == "STATE_MISMATCH"
    with pytest.raises(LtiValidationError) as info:
        StateValidator.check("abc", None)
    assert info.value.code == "MISSING_STATE"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.org/@/space%20word/hub/home",
        "//evil.example.org/@/space%20word/",
        "http://campus.example.org:8000/@/space%20word/hub/home",  # other scheme
        "https://campus.example.org:8000/@/space%20word/../../etc",
        "https://campus.example.org:8000/elsewhere/",
        "/@/space%20word/hub/..\\..\\x",
        "javascript:alert(1)",
        # percent-encoded dot segments (issue 20, item 10)
        "https://campus.example.org:8000/@/space%20word/%2e%2e/%2e%2e/etc",
        "https://campus.example.org:8000/@/space%20word/%2E%2E/elsewhere",
        "/@/space%20word/hub/%2e%2e/%2e%2e/%2e%2e/x",
        "/@/space%20word/.%2e/.%2E/x",
        "/@/space%20word/%252e%252e/%252e%252e/x",
        "/@/space%20word/hub/..%2f..%2f..%2fx",
        "/@/space%20word/hub/%2e/x",
        "/@/space%20word/hub/%5c..%5cx",
    ],
)
def test_target_link_outside_the_hub(target: str) -> None:
    check = TargetLinkValidator("https://campus.example.org:8000/@/space%20word/")
    with pytest.raises(LtiValidationError) as info:
        check.check(target)
    assert info.value.code == "OPEN_REDIRECT"


def test_target_link_inside_the_hub() -> None:
    check = TargetLinkValidator("https://campus.example.org:8000/@/space%20word/")
    url = "https://campus.example.org:8000/@/space%20word/hub/home?x=1"
    assert check.check(url) == "/@/space%20word/hub/home?x=1"
    assert check.check("/@/space%20word/hub/") == "/@/space%20word/hub/"
    assert check.check(None) == "/@/space%20word/"
    # percent-encoding that is not a dot segment is kept as it came
    assert check.check("/@/space%20word/hub/a%2ebc") == "/@/space%20word/hub/a%2ebc"
    assert check.check("/@/space word/hub/home") == "/@/space word/hub/home"


# --- LTI 1.1 -------------------------------------------------------------------------------------
LAUNCH_URL = "https://campus.example.org/@/space%20word/hub/lti11/launch"


@pytest.fixture
def lti11(store: LtiStore) -> OAuth1LaunchValidator:
    store.add_consumer("moodle-key", "s3cret", "Moodle")
    return OAuth1LaunchValidator(store.consumer, store)


def signed(secret: str = "s3cret", timestamp: int | None = None, nonce: str = "nonce-1") -> dict:  # noqa: S107
    params = {
        "lti_message_type": "basic-lti-launch-request",
        "lti_version": "LTI-1p0",
        "resource_link_id": "rl-1",
        "user_id": "42",
        "roles": "Learner",
    }
    client = Client(
        "moodle-key",
        client_secret=secret,
        signature_type=SIGNATURE_TYPE_BODY,
        timestamp=str(timestamp or int(time.time())),
        nonce=nonce,
    )
    _, _, body = client.sign(
        LAUNCH_URL,
        "POST",
        body=params,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return dict(parse_qsl(body))


def lti11_refused(validator: OAuth1LaunchValidator, params: dict) -> str:
    with pytest.raises(LtiValidationError) as info:
        validator.validate(LAUNCH_URL, params)
    assert 400 <= info.value.status < 500
    return info.value.code


def test_lti11_valid_launch(lti11: OAuth1LaunchValidator) -> None:
    params, consumer = lti11.validate(LAUNCH_URL, signed())
    assert params["user_id"] == "42" and consumer.name == "Moodle"


def test_lti11_bad_signature(lti11: OAuth1LaunchValidator) -> None:
    assert lti11_refused(lti11, signed(secret="wrong")) == "BAD_SIGNATURE"
    tampered = signed(nonce="n-t") | {"roles": "Instructor"}
    assert lti11_refused(lti11, tampered) == "BAD_SIGNATURE"


def test_lti11_old_timestamp(lti11: OAuth1LaunchValidator) -> None:
    assert lti11_refused(lti11, signed(timestamp=int(time.time()) - 3600)) == "OLD_TIMESTAMP"


def test_lti11_replayed_nonce(lti11: OAuth1LaunchValidator) -> None:
    params = signed(nonce="once")
    lti11.validate(LAUNCH_URL, params)
    assert lti11_refused(lti11, params) == "REPLAYED_NONCE"


def test_lti11_unknown_consumer(lti11: OAuth1LaunchValidator) -> None:
    params = signed() | {"oauth_consumer_key": "nobody"}
    assert lti11_refused(lti11, params) == "UNKNOWN_CONSUMER"
