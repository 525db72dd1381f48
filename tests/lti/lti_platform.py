"""A test LMS of our own: real RSA keys and JWKS, OIDC authorization, OAuth2 token endpoint
with client assertions, AGS line items and scores, NRPS memberships, and LTI 1.1 Basic
Outcomes, served over HTTP on 127.0.0.1.

This stands in for Moodle or Canvas, whose network cannot exist here; everything the tool
does against it (signatures, keys, HTTP) is real.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update(kid=kid, alg="RS256", use="sig")
    return jwk


class TestPlatform:
    """An LTI 1.3 platform (and LTI 1.1 consumer) on a random port of 127.0.0.1."""

    __test__ = False  # not a pytest class

    def __init__(self, issuer: str | None = None, client_id: str = "tool-client-1") -> None:
        self.key = new_key()
        self.kid = "platform-key-1"
        self.client_id = client_id
        self.deployment_id = "deployment-1"
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.platform = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.issuer = issuer or self.url
        self.tool_jwks_url = ""  # set by the test: where the tool publishes its keys
        self.tool_jwks: dict[str, Any] | None = None  # or the tool's keys, served at /tool-jwks
        self.filter_line_items = True  # False: list every line item, as some LMSs do
        # AGS / NRPS state, keyed by context id
        self.line_items: dict[str, list[dict[str, Any]]] = {}
        self.scores: list[dict[str, Any]] = []
        self.members: dict[str, list[dict[str, Any]]] = {}
        self.outcomes: list[dict[str, str]] = []
        self.tokens: dict[str, list[str]] = {}
        self.token_requests: list[dict[str, str]] = []
        self.fail_scores = 0  # answer this many score posts with a 503 first
        self.score_posts = 0  # score posts received, refused ones included
        self.members_page_size = 0  # > 0: NRPS answers in pages linked by Link: rel="next"
        self.membership_requests: list[str] = []
        self.consumer_key, self.consumer_secret = "lti11-key", secrets.token_urlsafe(16)
        # True: the token endpoint answers 404 with an HTML page, as Moodle does when its HTTP
        # security settings keep it from fetching the tool's key set
        self.token_answers_html = False
        # the browser side (a Chromium test): what the LMS's pages launch, and what the tool's
        # deep-linking answers posted back to /deep-link-return
        self.browser_launch: dict[str, Any] = {}
        self.deep_link_returns: list[str] = []
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> TestPlatform:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- endpoints the tool is told about --------------------------------------------------
    @property
    def jwks_url(self) -> str:
        return self.url + "/jwks"

    @property
    def auth_url(self) -> str:
        return self.url + "/auth"

    @property
    def token_url(self) -> str:
        return self.url + "/token"

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.key, self.kid)]}

    # --- messages ----------------------------------------------------------------------------
    def claims(
        self,
        sub: str,
        roles: list[str],
        nonce: str,
        context_id: str = "course-1",
        link_id: str = "link-1",
        message_type: str = "LtiResourceLinkRequest",
        **extra: Any,
    ) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": sub,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": f"Person {sub}",
            "email": f"{sub}@lms.example.org",
            LTI + "version": "1.3.0",
            LTI + "message_type": message_type,
            LTI + "deployment_id": self.deployment_id,
            LTI + "roles": roles,
            LTI + "context": {"id": context_id, "label": "C101", "title": "C programming"},
            LTI + "target_link_uri": "",
        }
        if message_type == "LtiResourceLinkRequest":
            claims[LTI + "resource_link"] = {"id": link_id, "title": "Lesson link"}
            claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = {
                "scope": [
                    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                ],
                "lineitems": f"{self.url}/ags/{context_id}/lineitems",
            }
            claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"] = {
                "context_memberships_url": f"{self.url}/nrps/{context_id}/memberships",
                "service_versions": ["2.0"],
            }
        else:
            claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
                "deep_link_return_url": f"{self.url}/deep-link-return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "data": "opaque-dl-data",
            }
        claims.update(extra)
        return claims

    def sign(self, claims: dict[str, Any], key: Any = None, kid: str | None = None) -> str:
        return jwt.encode(
            claims,
            key or self.key,
            algorithm="RS256",
            headers={"kid": kid or self.kid},
        )

    # --- the browser side of an LTI 1.3 launch -------------------------------------------------
    def launch(
        self,
        session: requests.Session,
        hub_url: str,
        sub: str,
        roles: list[str],
        target_link_uri: str | None = None,
        lti1p1: str | None = None,
        lti1p1_secret: str | None = None,
        **claim_args: Any,
    ) -> requests.Response:
        """Play the LMS and the browser: login initiation, authorization, form post.

        `lti1p1`: the person's LTI 1.1 user id, sent in the migration claim (signed with the
        consumer secret, or with `lti1p1_secret` to test a bad signature).

        Returns the tool's answer to the id_token post (not followed).
        """
        target = target_link_uri or hub_url + "hub/home"
        resp = session.post(
            hub_url + "hub/lti13/login",
            data={
                "iss": self.issuer,
                "login_hint": sub,
                "target_link_uri": target,
                "client_id": self.client_id,
                "lti_deployment_id": self.deployment_id,
                "lti_message_hint": "hint-" + sub,
            },
            allow_redirects=False,
            timeout=10,
        )
        if resp.status_code != 302:
            return resp
        auth = parse_qs(urlsplit(resp.headers["Location"]).query)
        assert resp.headers["Location"].startswith(self.auth_url), resp.headers["Location"]
        assert auth["lti_message_hint"] == ["hint-" + sub]
        claims = self.claims(sub, roles, auth["nonce"][0], **claim_args)
        claims[LTI + "target_link_uri"] = target
        if lti1p1 is not None:  # the LTI 1.3 migration claim, signed with the 1.1 secret
            base = "&".join(
                (
                    self.consumer_key,
                    claims[LTI + "deployment_id"],
                    claims["iss"],
                    self.client_id,
                    str(claims["exp"]),
                    claims["nonce"],
                )
            )
            secret = (lti1p1_secret or self.consumer_secret).encode()
            sign = base64.b64encode(hmac.new(secret, base.encode(), hashlib.sha256).digest())
            claims[LTI + "lti1p1"] = {
                "user_id": lti1p1,
                "oauth_consumer_key": self.consumer_key,
                "oauth_consumer_key_sign": sign.decode(),
            }
        token = self.sign(claims)
        return session.post(
            auth["redirect_uri"][0],
            data={"id_token": token, "state": auth["state"][0]},
            allow_redirects=False,
            timeout=30,
        )


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    @property
    def platform(self) -> TestPlatform:
        return self.server.platform  # type: ignore[attr-defined]

    def _send(
        self,
        status: int,
        body: Any,
        ctype: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _scopes(self) -> list[str] | None:
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None
        return self.platform.tokens.get(auth[len("Bearer ") :])

    def _page(self, body: str) -> None:
        self._send(200, f"<!doctype html><html><body>{body}</body></html>".encode(), "text/html")

    def _autopost(self, action: str, fields: dict[str, str]) -> None:
        inputs = "".join(
            f"<input type='hidden' name='{escape(k)}' value='{escape(v)}'>"
            for k, v in fields.items()
        )
        self._page(
            f"<form id='f' method='post' action='{escape(action)}'>{inputs}</form>"
            "<script>document.getElementById('f').submit()</script>"
        )

    def _browser_get(self, path: str) -> bool:
        """The LMS's pages in a browser: a course page framing the tool, the frame's login
        initiation, and the OIDC authorization answering with the signed id_token."""
        p, launch = self.platform, self.platform.browser_launch
        if path == "/lms/course":  # the LMS's course page, showing the tool in an iframe
            self._page(
                "<h1>LMS course</h1><iframe id='tool' src='/lms/start' width='900' "
                "height='600'></iframe>"
            )
            return True
        if path == "/lms/start":
            self._autopost(
                launch["tool_url"] + "hub/lti13/login",
                {
                    "iss": p.issuer,
                    "login_hint": launch["sub"],
                    "target_link_uri": launch["tool_url"] + "hub/home",
                    "client_id": p.client_id,
                    "lti_deployment_id": p.deployment_id,
                    "lti_message_hint": "hint-" + launch["sub"],
                },
            )
            return True
        if path == "/auth":
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            claims = p.claims(
                query["login_hint"],
                launch["roles"],
                query["nonce"],
                context_id=launch.get("context_id", "course-1"),
                message_type=launch.get("message_type", "LtiResourceLinkRequest"),
            )
            claims[LTI + "target_link_uri"] = launch["tool_url"] + "hub/home"
            self._autopost(
                query["redirect_uri"], {"id_token": p.sign(claims), "state": query["state"]}
            )
            return True
        return False

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = urlsplit(self.path).path
        if self.platform.browser_launch and self._browser_get(path):
            return None
        if path == "/jwks":
            return self._send(200, self.platform.jwks())
        if path == "/tool-jwks" and self.platform.tool_jwks:
            return self._send(200, self.platform.tool_jwks)
        parts = path.strip("/").split("/")
        if self._scopes() is None:
            return self._send(401, {"error": "invalid_token"})
        if parts[0] == "ags" and parts[2] == "lineitems" and len(parts) == 3:
            query = parse_qs(urlsplit(self.path).query)
            items = self.platform.line_items.get(parts[1], [])
            if "resource_link_id" in query and self.platform.filter_line_items:
                items = [i for i in items if i.get("resourceLinkId") in query["resource_link_id"]]
            if "tag" in query and self.platform.filter_line_items:
                items = [i for i in items if i.get("tag") in query["tag"]]
            return self._send(200, items, "application/vnd.ims.lis.v2.lineitemcontainer+json")
        if parts[0] == "nrps" and parts[2] == "memberships":
            self.platform.membership_requests.append(self.path)
            members = self.platform.members.get(parts[1], [])
            size = self.platform.members_page_size
            links = {}
            if size:
                page = int(parse_qs(urlsplit(self.path).query).get("page", ["0"])[0])
                if (page + 1) * size < len(members):
                    links["Link"] = f'<{self.platform.url}{path}?page={page + 1}>; rel="next"'
                members = members[page * size : (page + 1) * size]
            body = {"id": self.path, "context": {"id": parts[1]}, "members": members}
            ctype = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
            return self._send(200, body, ctype, links)
        return self._send(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        body = self._body()
        if path == "/token":
            return self._token(parse_qs(body.decode()))
        if path == "/outcomes":
            return self._outcome(body)
        if path == "/deep-link-return":
            self.platform.deep_link_returns.append(parse_qs(body.decode()).get("JWT", [""])[0])
            return self._page("<p id='added'>Content added to the course</p>")
        parts = path.strip("/").split("/")
        scopes = self._scopes()
        if scopes is None:
            return self._send(401, {"error": "invalid_token"})
        if parts[0] == "ags" and len(parts) == 3:
            item = json.loads(body)
            item["id"] = f"{self.platform.url}/ags/{parts[1]}/lineitems/{uuid.uuid4().hex[:8]}"
            self.platform.line_items.setdefault(parts[1], []).append(item)
            return self._send(201, item, "application/vnd.ims.lis.v2.lineitem+json")
        if parts[0] == "ags" and len(parts) == 5 and parts[4] == "scores":
            if not any(s.endswith("/score") for s in scopes):
                return self._send(403, {"error": "scope"})
            self.platform.score_posts += 1
            if self.platform.fail_scores > 0:
                self.platform.fail_scores -= 1
                return self._send(503, {"error": "try later"})
            score = json.loads(body)
            score["lineitem"] = path.rsplit("/scores", 1)[0]
            self.platform.scores.append(score)
            return self._send(200, {})
        return self._send(404, {"error": "not found"})

    def _token(self, form: dict[str, list[str]]) -> None:
        """OAuth2 client credentials with a JWT client assertion signed by the tool's key."""
        p = self.platform
        flat = {k: v[0] for k, v in form.items()}
        p.token_requests.append(flat)
        if p.token_answers_html:
            page = b"<!DOCTYPE html>\n<html><body><p>Error: no key set</p></body></html>"
            return self._send(404, page, "text/html; charset=utf-8")
        if flat.get("grant_type") != "client_credentials" or flat.get("client_assertion_type") != (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return self._send(400, {"error": "unsupported_grant_type"})
        try:
            jwks = jwt.PyJWKClient(p.tool_jwks_url)
            key = jwks.get_signing_key_from_jwt(flat["client_assertion"]).key
            claims = jwt.decode(
                flat["client_assertion"],
                key,
                algorithms=["RS256"],
                audience=p.token_url,
                options={"require": ["exp", "iat", "jti", "iss", "sub"]},
            )
        except Exception as err:
            return self._send(401, {"error": "invalid_client", "error_description": str(err)})
        if claims["sub"] != p.client_id or claims["iss"] != p.client_id:
            return self._send(401, {"error": "invalid_client"})
        token = secrets.token_urlsafe(16)
        p.tokens[token] = flat.get("scope", "").split()
        return self._send(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": flat.get("scope", ""),
            },
        )

    def _outcome(self, body: bytes) -> None:
        """LTI 1.1 Basic Outcomes: an OAuth1-signed POX replaceResult (body hash checked)."""
        from oauthlib.oauth1 import SignatureOnlyEndpoint

        p = self.platform
        endpoint = SignatureOnlyEndpoint(_OutcomeValidator(p))
        ok, _ = endpoint.validate_request(
            p.url + self.path, "POST", body.decode(), dict(self.headers)
        )
        import base64
        import hashlib

        auth = self.headers.get("Authorization", "")
        digest = base64.b64encode(hashlib.sha1(body).digest()).decode()  # noqa: S324 - the spec
        if not ok or urlencode({"h": digest})[2:] not in auth:
            return self._send(401, b"<bad/>", "application/xml")
        text = body.decode()
        sourcedid = text.split("<sourcedId>")[1].split("</sourcedId>")[0]
        score = text.split("<textString>")[1].split("</textString>")[0]
        p.outcomes.append({"sourcedid": sourcedid, "score": score})
        reply = (
            '<?xml version="1.0" encoding="UTF-8"?><imsx_POXEnvelopeResponse '
            'xmlns="http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0"><imsx_POXHeader>'
            "<imsx_POXResponseHeaderInfo><imsx_statusInfo><imsx_codeMajor>success"
            "</imsx_codeMajor></imsx_statusInfo></imsx_POXResponseHeaderInfo></imsx_POXHeader>"
            "<imsx_POXBody><replaceResultResponse/></imsx_POXBody></imsx_POXEnvelopeResponse>"
        )
        return self._send(200, reply.encode(), "application/xml")


def _outcome_validator_base() -> type:
    from oauthlib.oauth1 import RequestValidator

    return RequestValidator


class _OutcomeValidator(_outcome_validator_base()):  # type: ignore[misc]
    def __init__(self, platform: TestPlatform) -> None:
        super().__init__()
        self.platform = platform

    @property
    def enforce_ssl(self) -> bool:
        return False

    def check_client_key(self, key: str) -> bool:
        return True

    def check_nonce(self, nonce: str) -> bool:
        return True

    def validate_client_key(self, key: str, request: Any) -> bool:
        return key == self.platform.consumer_key

    def get_client_secret(self, key: str, request: Any) -> str:
        return self.platform.consumer_secret

    def validate_timestamp_and_nonce(self, *args: Any, **kwargs: Any) -> bool:
        return True

    @property
    def dummy_client(self) -> str:
        return "dummy"
