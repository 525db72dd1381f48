"""What went wrong between the campus and an LMS, in words an operator can act on.

Used by the grade passback and roster sync (their errors land in the outbox and the roster
answer) and by `nbcampus lti check`, which tests from the campus side what it can.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

if TYPE_CHECKING:
    from .keys import ToolKey
    from .validators import Registration

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CHECK_SCOPES = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
)
CHECK_TIMEOUT = 15

# Moodle answers its token endpoint with an HTML error page when it could not fetch the
# tool's key set: its own HTTP security settings block requests to loopback and private
# addresses and to ports other than 80 and 443 by default (Moodle logs "fix_jwks_alg()").
HTML_HINT = (
    "the LMS answered an HTML page: it could not fetch this tool's key set ({jwks}); check "
    "Moodle's HTTP security lists (Site administration > General > Security > HTTP security: "
    '"cURL blocked hosts list" must not list the campus\'s address, e.g. loopback or private '
    'ranges, and "cURL allowed ports list" must allow the campus\'s port, or run the campus '
    "on 80/443), and that the campus's public URL is reachable from the LMS server"
)


def looks_like_html(resp: requests.Response) -> bool:
    ctype = resp.headers.get("Content-Type", "").lower()
    head = resp.text[:200].lstrip().lower()
    return "html" in ctype or head.startswith(("<!doctype html", "<html"))


def tool_jwks_url() -> str:
    """The tool's public key set URL, as the LMS must reach it."""
    from nbcampus.settings import Settings, SettingsError

    try:
        return Settings.from_env().bind_url + "hub/lti13/jwks"
    except SettingsError:
        return "the campus's /hub/lti13/jwks"


def explain_answer(what: str, resp: requests.Response, jwks_url: str = "") -> str:
    """One line for a refused request: the status, the cause when it is known, the body."""
    if looks_like_html(resp):
        jwks = jwks_url or tool_jwks_url()
        return f"{what} answered {resp.status_code}: " + HTML_HINT.format(jwks=jwks)
    return f"{what} answered {resp.status_code}: {resp.text[:300]}"


# --- `nbcampus lti check` ------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    status: str  # "ok", "warn" or "fail"
    what: str
    detail: str = ""
    fix: str = ""


def _get(url: str) -> requests.Response:
    return requests.get(url, timeout=CHECK_TIMEOUT, allow_redirects=True)


def _json_keys(resp: requests.Response) -> list[dict[str, Any]] | None:
    try:
        keys = resp.json().get("keys")
    except (ValueError, AttributeError):
        return None
    return keys if isinstance(keys, list) else None


def lms_reachability(public_url: str) -> Finding | None:
    """Moodle's default HTTP security refuses loopback and private addresses and ports other
    than 80 and 443: a warning, since an LMS may have been configured to allow them."""
    parts = urlsplit(public_url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    reasons = []
    try:
        addrs = {info[4][0] for info in socket.getaddrinfo(host, port)}
    except OSError:
        addrs = set()
    private = [a for a in addrs if ipaddress.ip_address(a.split("%")[0]).is_private]
    if host in ("localhost",) or private:
        reasons.append(f"{host} is a loopback or private address ({', '.join(sorted(private))})")
    if port not in (80, 443):
        reasons.append(f"port {port} is neither 80 nor 443")
    if parts.scheme != "https":
        reasons.append("the campus is not on HTTPS (launch cookies need SameSite=None; Secure)")
    if not reasons:
        return None
    return Finding(
        "warn",
        f"public URL {public_url}",
        "; ".join(reasons),
        "Moodle blocks these by default: remove the address from Site administration > "
        "General > Security > HTTP security > cURL blocked hosts list and add the port to "
        "cURL allowed ports list, or serve the campus on a public name on 443",
    )


def check_campus(public_url: str, key: ToolKey, platforms: list[Registration]) -> list[Finding]:
    """What the campus can test of its LMS set-up from its own side."""
    findings: list[Finding] = []
    jwks_url = public_url + "hub/lti13/jwks"
    try:
        resp = _get(jwks_url)
        keys = _json_keys(resp) if resp.status_code == 200 else None
        if keys is None:
            findings.append(
                Finding(
                    "fail",
                    f"tool key set {jwks_url}",
                    f"answered {resp.status_code} without a key set",
                    "is the campus running with NBCAMPUS_LTI=1, and is NBCAMPUS_BIND_URL its "
                    "public URL?",
                )
            )
        elif not any(k.get("kid") == key.kid for k in keys if isinstance(k, dict)):
            findings.append(
                Finding(
                    "fail",
                    f"tool key set {jwks_url}",
                    f"serves other keys than this data directory's (kid {key.kid})",
                    "the campus at this URL uses another NBCAMPUS_DATA_DIR",
                )
            )
        else:
            findings.append(Finding("ok", f"tool key set {jwks_url}", f"serves kid {key.kid}"))
    except requests.RequestException as err:
        findings.append(
            Finding(
                "fail",
                f"tool key set {jwks_url}",
                f"not reachable ({type(err).__name__})",
                "start the campus (nbcampus run) and make NBCAMPUS_BIND_URL the URL the LMS "
                "reaches it at",
            )
        )
    warning = lms_reachability(public_url)
    if warning:
        findings.append(warning)
    if not platforms:
        findings.append(
            Finding("warn", "platforms", "none registered", "nbcampus lti add-platform ...")
        )
    for reg in platforms:
        findings.extend(check_platform(reg, key, jwks_url))
    return findings


def check_platform(reg: Registration, key: ToolKey, tool_jwks: str) -> list[Finding]:
    label = f"{reg.name or reg.issuer} (client {reg.client_id})"
    out: list[Finding] = []
    try:
        resp = _get(reg.jwks_url)
        if resp.status_code == 200 and _json_keys(resp):
            out.append(Finding("ok", f"{label}: key set {reg.jwks_url}"))
        else:
            out.append(
                Finding(
                    "fail",
                    f"{label}: key set {reg.jwks_url}",
                    f"answered {resp.status_code} without a key set",
                    "copy the Public keyset URL from the LMS's tool configuration details "
                    "again (nbcampus lti add-platform ... updates it)",
                )
            )
    except requests.RequestException as err:
        out.append(
            Finding(
                "fail",
                f"{label}: key set {reg.jwks_url}",
                f"not reachable ({type(err).__name__})",
                "the campus server must reach the LMS over HTTPS (proxy, firewall, DNS)",
            )
        )
    try:
        resp = _get(reg.auth_login_url)
        out.append(Finding("ok", f"{label}: authentication URL answers ({resp.status_code})"))
    except requests.RequestException as err:
        out.append(
            Finding(
                "fail",
                f"{label}: authentication URL {reg.auth_login_url}",
                f"not reachable ({type(err).__name__})",
                "browsers are sent there at each launch: check the URL",
            )
        )
    if not reg.auth_token_url:
        out.append(
            Finding(
                "warn",
                f"{label}: token URL",
                "none registered: grade passback and roster sync cannot work",
                "nbcampus lti add-platform ... --auth-token-url <Access token URL>",
            )
        )
        return out
    try:
        resp = requests.post(
            reg.auth_token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": key.client_assertion(reg.client_id, reg.auth_token_url),
                "scope": " ".join(CHECK_SCOPES),
            },
            timeout=CHECK_TIMEOUT,
        )
    except requests.RequestException as err:
        out.append(
            Finding(
                "fail",
                f"{label}: token URL {reg.auth_token_url}",
                f"not reachable ({type(err).__name__})",
                "the campus server must reach the LMS's token URL",
            )
        )
        return out
    token = None
    if resp.status_code == 200 and not looks_like_html(resp):
        try:
            token = resp.json().get("access_token")
        except (ValueError, AttributeError):
            token = None
    if token:
        out.append(Finding("ok", f"{label}: token request (client credentials) works"))
    elif looks_like_html(resp):
        out.append(
            Finding(
                "fail",
                f"{label}: token request {reg.auth_token_url}",
                explain_answer("token endpoint", resp, tool_jwks),
                f"in Moodle, allow the campus's host and port in HTTP security, and check the "
                f"tool's Public keyset URL is {tool_jwks}",
            )
        )
    else:
        out.append(
            Finding(
                "fail",
                f"{label}: token request {reg.auth_token_url}",
                explain_answer("token endpoint", resp, tool_jwks),
                f"check the client id, that the LMS knows the tool's key set URL {tool_jwks}, "
                "and that the LMS tool has the grade and roster services switched on",
            )
        )
    return out
