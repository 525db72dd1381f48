"""An OpenID Connect provider for the tests, started on a free port: IdentityPython's `pyop`
(the OP library inside the SATOSA proxy that universities run in front of their identity
systems) behind a small tornado app with a sign-in form.

It stands in for Google or Keycloak because the Hub talks to it exactly as to them: the
authorization code flow with a client id and secret, a token endpoint, a userinfo endpoint
(claims `email`, `name`, `preferred_username` and `groups`, as Keycloak gives them with a
group mapper), ID tokens signed RS256 with a real RSA key published as JWKS, and discovery at
`/.well-known/openid-configuration`. Only the people are made up: `users` below.
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import json
import secrets
import ssl
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwkest.jwk import RSAKey, import_rsa_key
from pyop.authz_state import AuthorizationState
from pyop.exceptions import InvalidAuthenticationRequest, OAuthError
from pyop.provider import Provider
from pyop.subject_identifier import HashBasedSubjectIdentifierFactory
from pyop.userinfo import Userinfo
from pyop.util import should_fragment_encode
from tornado import web
from tornado.httpserver import HTTPServer

from nbcampus.ports import free_port


@dataclass
class OidcProvider:
    """`users`: user id -> {"password": ..., and the claims the userinfo endpoint gives}."""

    users: dict[str, dict[str, Any]]
    redirect_uris: list[str]
    client_id: str = "nbcampus"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    port: int = field(default_factory=free_port)
    logins: list[str] = field(default_factory=list)  # who signed in at the provider

    cert_dir: Path | None = None  # where the provider's TLS certificate is written

    @property
    def issuer(self) -> str:
        return f"https://127.0.0.1:{self.port}"  # OpenID Connect requires an https issuer

    @property
    def ca_file(self) -> str:
        """The provider's self-signed certificate: the Hub trusts it as its CA."""
        return str(self._cert_path)

    def _tls(self) -> ssl.SSLContext:
        """A self-signed certificate for 127.0.0.1, as a school's test realm might have."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        folder = self.cert_dir or Path(tempfile.mkdtemp(prefix="oidc-op-"))
        self._cert_path = folder / "op-cert.pem"
        key_path = folder / "op-key.pem"
        self._cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._cert_path, key_path)
        return context

    def _provider(self) -> Provider:
        pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        key = RSAKey(key=import_rsa_key(pem), alg="RS256", kid="test-op")
        config = {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "userinfo_endpoint": self.issuer + "/userinfo",
            "jwks_uri": self.issuer + "/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "profile", "email"],
            "claims_supported": ["sub", "name", "preferred_username", "email", "groups"],
        }
        clients = {
            self.client_id: {
                "client_secret": self.client_secret,
                "redirect_uris": self.redirect_uris,
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_post",  # oauthenticator sends a form
            }
        }
        claims = _Claims(self.users)  # live: a test may change a person's groups
        state = AuthorizationState(HashBasedSubjectIdentifierFactory(secrets.token_hex(8)))
        return Provider(
            key, config, state, clients, Userinfo(claims), extra_scopes={"groups": ["groups"]}
        )

    def start(self) -> OidcProvider:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(15):
            raise RuntimeError("the OpenID Connect provider did not start")
        return self

    def _run(self, ready: threading.Event) -> None:
        tls = self._tls()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            provider = self._provider()
            app = web.Application(
                [
                    (r"/\.well-known/openid-configuration", Discovery),
                    (r"/jwks", Jwks),
                    (r"/authorize", Authorize),
                    (r"/token", Token),
                    (r"/userinfo", UserinfoHandler),
                ],
                provider=provider,
                op=self,
            )
            server = HTTPServer(app, ssl_options=tls)
            server.listen(self.port, "127.0.0.1")
            ready.set()
            await self._stop.wait()
            server.stop()

        asyncio.run(main())

    def stop(self) -> None:
        if getattr(self, "_loop", None):
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)


class _Claims(Mapping):
    """The people's claims without their passwords, read at each request."""

    def __init__(self, users: dict[str, dict[str, Any]]) -> None:
        self.users = users

    def __getitem__(self, uid: str) -> dict[str, Any]:
        return {k: v for k, v in self.users[uid].items() if k != "password"}

    def __iter__(self) -> Iterator[str]:
        return iter(self.users)

    def __len__(self) -> int:
        return len(self.users)


class OpHandler(web.RequestHandler):
    @property
    def provider(self) -> Provider:
        return self.settings["provider"]

    def json(self, data: str | dict, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(data if isinstance(data, str) else json.dumps(data))

    def check_xsrf_cookie(self) -> None:  # a provider's endpoints are called cross-site
        return


class Discovery(OpHandler):
    def get(self) -> None:
        self.json(self.provider.provider_configuration.to_json())


class Jwks(OpHandler):
    def get(self) -> None:
        self.json(self.provider.jwks)


SIGN_IN = """<!DOCTYPE html><html><head><title>School ID</title></head><body>
<h1>School ID</h1><p>Sign in to continue to the campus.</p>{error}
<form method="post"><input type="hidden" name="request" value="{request}">
<label>User <input id="op-user" name="user"></label>
<label>Password <input id="op-password" name="password" type="password"></label>
<button id="op-submit" type="submit">Sign in</button></form></body></html>"""


class Authorize(OpHandler):
    def get(self) -> None:
        query = urlencode({k: self.get_query_argument(k) for k in self.request.query_arguments})
        try:
            self.provider.parse_authentication_request(query)
        except InvalidAuthenticationRequest as err:
            self.set_status(400)
            self.finish(f"bad authentication request: {html.escape(str(err))}")
            return
        self.finish(SIGN_IN.format(error="", request=html.escape(query, quote=True)))

    def post(self) -> None:
        query = self.get_body_argument("request")
        user = self.get_body_argument("user", "")
        op: OidcProvider = self.settings["op"]
        record = op.users.get(user)
        if record is None or record["password"] != self.get_body_argument("password", ""):
            self.set_status(401)
            error = "<p id='op-error'>Wrong user or password.</p>"
            self.finish(SIGN_IN.format(error=error, request=html.escape(query, quote=True)))
            return
        request = self.provider.parse_authentication_request(query)
        response = self.provider.authorize(request, user)
        op.logins.append(user)
        self.redirect(response.request(request["redirect_uri"], should_fragment_encode(request)))


class Token(OpHandler):
    def post(self) -> None:
        try:
            response = self.provider.handle_token_request(
                self.request.body.decode(), dict(self.request.headers)
            )
        except OAuthError as err:
            self.json({"error": err.oauth_error, "error_description": str(err)}, 400)
            return
        self.json(response.to_json())


class UserinfoHandler(OpHandler):
    def get(self) -> None:
        try:
            response = self.provider.handle_userinfo_request(
                self.request.body.decode() or None, dict(self.request.headers)
            )
        except (OAuthError, Exception) as err:  # an unknown or expired token
            self.json({"error": "invalid_token", "error_description": str(err)}, 401)
            return
        self.json(response.to_json())

    post = get
