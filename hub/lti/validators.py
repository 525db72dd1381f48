"""The security-critical checks of LTI launches, as plain classes apart from the handlers.

Every refusal is an `LtiValidationError` with a stable code and a message meant for a person;
the handlers turn it into a 4xx and log it. Cryptography is PyJWT (LTI 1.3 id_tokens) and
oauthlib (LTI 1.1 HMAC-SHA1); nothing here computes a signature by hand.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urlencode, urlsplit

import jwt
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature as oauth_signature

LTI_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
CLAIM_VERSION = LTI_CLAIM + "version"
CLAIM_MESSAGE_TYPE = LTI_CLAIM + "message_type"
CLAIM_DEPLOYMENT_ID = LTI_CLAIM + "deployment_id"
CLAIM_RESOURCE_LINK = LTI_CLAIM + "resource_link"
CLAIM_TARGET_LINK_URI = LTI_CLAIM + "target_link_uri"
CLAIM_ROLES = LTI_CLAIM + "roles"
CLAIM_CONTEXT = LTI_CLAIM + "context"
CLAIM_CUSTOM = LTI_CLAIM + "custom"
CLAIM_DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
CLAIM_AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
CLAIM_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
MESSAGE_TYPES = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST)
ALGORITHMS = ["RS256", "RS384", "RS512"]


class LtiValidationError(Exception):
    """A launch that must be refused; `code` is stable, `message` says what is wrong."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Registration:
    """One tool registration on a platform: an (issuer, client_id) pair and its endpoints.

    Canvas uses one issuer for every school, so a platform is found by issuer *and* client id.
    """

    issuer: str
    client_id: str
    jwks_url: str
    auth_login_url: str
    auth_token_url: str = ""
    deployment_ids: frozenset[str] = field(default_factory=frozenset)
    name: str = ""
    id: int | None = None


class RegistrationLookup(Protocol):
    def by_issuer(self, issuer: str) -> list[Registration]: ...


class NonceLedger(Protocol):
    def use(self, scope: str, nonce: str, ttl: int) -> bool:
        """Record a nonce; False when it was seen before (a replay)."""
        ...


class KeySource(Protocol):
    def key_for(self, jwks_url: str, kid: str | None) -> Any: ...


class JWKSCache:
    """Platform signing keys fetched from their JWKS URL, cached, refetched on an unknown kid."""

    def __init__(
        self, fetch: Callable[[str], dict[str, Any]] | None = None, max_age: float = 300
    ) -> None:
        self._fetch = fetch or _fetch_json
        self.max_age = max_age
        self._cache: dict[str, tuple[float, jwt.PyJWKSet]] = {}

    def _keyset(self, url: str, refresh: bool) -> jwt.PyJWKSet:
        cached = self._cache.get(url)
        if cached and not refresh and time.monotonic() - cached[0] < self.max_age:
            return cached[1]
        try:
            keyset = jwt.PyJWKSet.from_dict(self._fetch(url))
        except Exception as err:  # network, JSON or key format: the platform is at fault
            raise LtiValidationError(
                "JWKS_UNAVAILABLE", f"cannot read the platform's key set at {url}: {err}", 502
            ) from None
        self._cache[url] = (time.monotonic(), keyset)
        return keyset

    def key_for(self, jwks_url: str, kid: str | None) -> Any:
        for refresh in (False, True):
            keys = self._keyset(jwks_url, refresh).keys
            if kid is None and len(keys) == 1:
                return keys[0].key
            for key in keys:
                if key.key_id == kid:
                    return key.key
        raise LtiValidationError(
            "UNKNOWN_KEY", f"the platform's key set has no key with kid {kid!r}", 401
        )


def _fetch_json(url: str) -> dict[str, Any]:
    import requests

    resp = requests.get(url, timeout=10)
    resp.raise_for_status()
    return resp.json()


class IdTokenValidator:
    """Checks an LTI 1.3 `id_token`: signature, issuer, audience, azp, times, nonce, claims.

    `expected_nonce` is the nonce this tool sent in the authentication request (kept with
    the state); the ledger makes sure a nonce is accepted only once, across restarts too.
    """

    def __init__(
        self,
        registrations: RegistrationLookup,
        keys: KeySource,
        nonces: NonceLedger,
        leeway: int = 60,
        max_age: int = 600,
    ) -> None:
        self.registrations = registrations
        self.keys = keys
        self.nonces = nonces
        self.leeway = leeway
        self.max_age = max_age

    def validate(
        self, token: str, expected_nonce: str | None, now: float | None = None
    ) -> tuple[dict[str, Any], Registration]:
        now = time.time() if now is None else now
        header, unverified = self._peek(token)
        registration = self._registration(unverified)
        key = self.keys.key_for(registration.jwks_url, header.get("kid"))
        claims = self._decode(token, key, registration, now)
        self._check_azp(claims, registration)
        self._check_times(claims, now)
        self._check_lti_claims(claims, registration)
        self._check_nonce(claims, registration, expected_nonce)
        return claims, registration

    def _peek(self, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        if not isinstance(token, str) or token.count(".") != 2:
            raise LtiValidationError("MALFORMED_TOKEN", "id_token is not a JWT")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as err:
            raise LtiValidationError("MALFORMED_TOKEN", f"id_token is not a JWT: {err}") from None
        if header.get("alg") not in ALGORITHMS:
            raise LtiValidationError(
                "UNSIGNED_TOKEN",
                f"id_token must be signed with one of {', '.join(ALGORITHMS)}, "
                f"not {header.get('alg')!r}",
                401,
            )
        return header, unverified

    def _registration(self, claims: dict[str, Any]) -> Registration:
        issuer = claims.get("iss")
        candidates = self.registrations.by_issuer(issuer) if isinstance(issuer, str) else []
        if not candidates:
            raise LtiValidationError(
                "UNKNOWN_ISSUER", f"no platform is registered with issuer {issuer!r}", 401
            )
        audiences = _audiences(claims)
        azp = claims.get("azp")
        for reg in candidates:
            # with several audiences only azp says which client the token is for
            if reg.client_id in audiences and (azp is None or azp == reg.client_id):
                return reg
        raise LtiValidationError(
            "WRONG_AUDIENCE",
            f"the token's audience {sorted(audiences)} names no client registered for "
            f"issuer {issuer!r}",
            401,
        )

    def _decode(self, token: str, key: Any, reg: Registration, now: float) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=reg.client_id,
                issuer=reg.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"]},
            )
        except jwt.InvalidSignatureError:
            raise LtiValidationError(
                "BAD_SIGNATURE", "id_token signature does not match the platform's key", 401
            ) from None
        except jwt.ExpiredSignatureError:
            raise LtiValidationError("EXPIRED_TOKEN", "id_token has expired", 401) from None
        except jwt.ImmatureSignatureError:
            raise LtiValidationError(
                "FUTURE_TOKEN", "id_token is issued in the future", 401
            ) from None
        except jwt.MissingRequiredClaimError as err:
            raise LtiValidationError(
                "MISSING_CLAIM", f"id_token lacks the {err.claim!r} claim"
            ) from None
        except jwt.PyJWTError as err:
            raise LtiValidationError("INVALID_TOKEN", f"id_token is invalid: {err}", 401) from None

    def _check_azp(self, claims: dict[str, Any], reg: Registration) -> None:
        audiences = _audiences(claims)
        azp = claims.get("azp")
        if len(audiences) > 1 and azp is None:
            raise LtiValidationError(
                "MISSING_AZP", "id_token has several audiences but no azp claim", 401
            )
        if azp is not None and azp != reg.client_id:
            raise LtiValidationError("WRONG_AZP", f"azp {azp!r} is not this tool's client id", 401)

    def _check_times(self, claims: dict[str, Any], now: float) -> None:
        iat = claims.get("iat")
        if not isinstance(iat, int | float):
            raise LtiValidationError("MISSING_CLAIM", "id_token lacks a numeric iat")
        if iat > now + self.leeway:
            raise LtiValidationError("FUTURE_TOKEN", "id_token is issued in the future", 401)
        if iat < now - self.max_age:
            raise LtiValidationError(
                "EXPIRED_TOKEN", f"id_token was issued more than {self.max_age} s ago", 401
            )

    def _check_lti_claims(self, claims: dict[str, Any], reg: Registration) -> None:
        if claims.get(CLAIM_VERSION) != "1.3.0":
            raise LtiValidationError(
                "WRONG_VERSION", f"LTI version must be 1.3.0, not {claims.get(CLAIM_VERSION)!r}"
            )
        message_type = claims.get(CLAIM_MESSAGE_TYPE)
        if message_type not in MESSAGE_TYPES:
            raise LtiValidationError(
                "WRONG_MESSAGE_TYPE",
                f"message type {message_type!r} is not one of {', '.join(MESSAGE_TYPES)}",
            )
        deployment = claims.get(CLAIM_DEPLOYMENT_ID)
        if not isinstance(deployment, str) or deployment not in reg.deployment_ids:
            raise LtiValidationError(
                "UNKNOWN_DEPLOYMENT",
                f"deployment {deployment!r} is not registered for this platform",
                403,
            )
        if message_type == RESOURCE_LINK_REQUEST:
            link = claims.get(CLAIM_RESOURCE_LINK)
            if not isinstance(link, dict) or not link.get("id"):
                raise LtiValidationError("MISSING_CLAIM", "resource link launch lacks a link id")
        if message_type == DEEP_LINKING_REQUEST:
            settings = claims.get(CLAIM_DL_SETTINGS)
            if not isinstance(settings, dict) or not settings.get("deep_link_return_url"):
                raise LtiValidationError(
                    "MISSING_CLAIM", "deep linking request lacks deep_link_return_url"
                )
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise LtiValidationError("MISSING_CLAIM", "id_token lacks a subject (sub)")

    def _check_nonce(self, claims: dict[str, Any], reg: Registration, expected: str | None) -> None:
        nonce = claims.get("nonce")
        if not expected or not isinstance(nonce, str) or not hmac.compare_digest(nonce, expected):
            raise LtiValidationError(
                "NONCE_MISMATCH", "id_token nonce is not the one this tool sent", 401
            )
        if not self.nonces.use("lti13:" + reg.issuer, nonce, self.max_age + self.leeway):
            raise LtiValidationError("REPLAYED_NONCE", "this id_token nonce was used before", 401)


def _audiences(claims: dict[str, Any]) -> set[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return {aud}
    if isinstance(aud, list):
        return {a for a in aud if isinstance(a, str)}
    return set()


class StateValidator:
    """The OIDC `state` coming back from the platform must be the one set in this browser."""

    @staticmethod
    def check(returned: str | None, cookie: str | None) -> str:
        if not returned:
            raise LtiValidationError("MISSING_STATE", "the launch carries no state")
        if not cookie:
            raise LtiValidationError(
                "MISSING_STATE",
                "this browser has no login state for the launch (cookies blocked, or the "
                "launch was not started here)",
            )
        if not hmac.compare_digest(returned.encode(), cookie.encode()):
            raise LtiValidationError("STATE_MISMATCH", "the launch state does not match", 401)
        return returned


class TargetLinkValidator:
    """`target_link_uri` may only lead into this Hub: same origin, under its base URL."""

    def __init__(self, public_url: str) -> None:
        parts = urlsplit(public_url)
        self.origin = (parts.scheme, (parts.netloc or "").lower())
        self.base_path = parts.path if parts.path.endswith("/") else parts.path + "/"

    def check(self, target: str | None) -> str:
        """The local path (with query) to send the browser to; refuses anything outside."""
        if not target:
            return self.base_path
        if "\\" in target or any(ord(ch) < 0x20 for ch in target):
            raise self._refuse(target)
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            if (parts.scheme, parts.netloc.lower()) != self.origin:
                raise self._refuse(target)
        elif target.startswith("//"):
            raise self._refuse(target)
        path = parts.path or "/"
        # a path must stay under the base URL, also after '..' segments are resolved: the
        # check runs on the percent-decoded path (decoded until stable, so '%2e%2e',
        # '%252e%252e' and '..%2f' count as the dot segments a browser or proxy resolves)
        decoded, base = self._decoded(path), self._decoded(self.base_path)
        if decoded is None or "\\" in decoded or any(ord(ch) < 0x20 for ch in decoded):
            raise self._refuse(target)
        if {".", ".."} & set(decoded.split("/")) or not (decoded + "/").startswith(base or "/"):
            raise self._refuse(target)
        return path + ("?" + parts.query if parts.query else "")

    @staticmethod
    def _decoded(path: str) -> str | None:
        """`path` percent-decoded until it no longer changes; None when it keeps changing."""
        for _ in range(5):
            once = unquote(path)
            if once == path:
                return path
            path = once
        return None

    @staticmethod
    def _refuse(target: str) -> LtiValidationError:
        return LtiValidationError(
            "OPEN_REDIRECT", f"target_link_uri {target[:200]!r} points outside this campus"
        )


@dataclass(frozen=True)
class Consumer:
    """An LTI 1.1 consumer: a key and shared secret handed to one LMS."""

    key: str
    secret: str
    name: str = ""


class OAuth1LaunchValidator:
    """LTI 1.1 basic launches: OAuth 1.0a HMAC-SHA1 signature, timestamp and nonce."""

    def __init__(
        self,
        consumers: Callable[[str], Consumer | None],
        nonces: NonceLedger,
        max_skew: int = 300,
    ) -> None:
        self.consumers = consumers
        self.nonces = nonces
        self.max_skew = max_skew

    def validate(
        self, url: str, params: dict[str, str], now: float | None = None
    ) -> tuple[dict[str, str], Consumer]:
        """`url` is the launch URL as the LMS saw it; `params` the form fields (all of them)."""
        now = time.time() if now is None else now
        for name in ("oauth_consumer_key", "oauth_signature", "oauth_nonce", "oauth_timestamp"):
            if not params.get(name):
                raise LtiValidationError("MISSING_PARAMETER", f"LTI 1.1 launch lacks {name}")
        if params.get("oauth_signature_method") != "HMAC-SHA1":
            raise LtiValidationError("UNSUPPORTED_SIGNATURE", "LTI 1.1 launches must use HMAC-SHA1")
        consumer = self.consumers(params["oauth_consumer_key"])
        if consumer is None:
            raise LtiValidationError(
                "UNKNOWN_CONSUMER", "the oauth_consumer_key is not registered", 401
            )
        if not self._signature_ok(url, params, consumer):
            raise LtiValidationError(
                "BAD_SIGNATURE", "the OAuth signature does not match this launch", 401
            )
        try:
            timestamp = int(params["oauth_timestamp"])
        except ValueError:
            raise LtiValidationError("BAD_TIMESTAMP", "oauth_timestamp is not a number") from None
        if abs(now - timestamp) > self.max_skew:
            raise LtiValidationError(
                "OLD_TIMESTAMP",
                f"oauth_timestamp is more than {self.max_skew} s away from this server's clock",
                401,
            )
        if not self.nonces.use("lti11:" + consumer.key, params["oauth_nonce"], 2 * self.max_skew):
            raise LtiValidationError("REPLAYED_NONCE", "this oauth_nonce was used before", 401)
        if params.get("lti_message_type") != "basic-lti-launch-request":
            raise LtiValidationError(
                "WRONG_MESSAGE_TYPE", "lti_message_type must be basic-lti-launch-request"
            )
        if params.get("lti_version") not in ("LTI-1p0", "LTI-1p1"):
            raise LtiValidationError("WRONG_VERSION", "lti_version must be LTI-1p0")
        if not params.get("resource_link_id"):
            raise LtiValidationError("MISSING_PARAMETER", "LTI 1.1 launch lacks resource_link_id")
        return params, consumer

    @staticmethod
    def _signature_ok(url: str, params: dict[str, str], consumer: Consumer) -> bool:
        request = OAuthRequest(
            url,
            "POST",
            body=urlencode(params),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        request.params = oauth_signature.collect_parameters(
            uri_query=urlsplit(url).query, body=list(params.items()), exclude_oauth_signature=True
        )
        request.signature = params["oauth_signature"]
        return oauth_signature.verify_hmac_sha1(request, consumer.secret)
