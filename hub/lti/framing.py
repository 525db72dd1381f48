"""An LMS may show the tool in a frame: which origins may frame the Hub, and the cookies that
must work there (issue 20, item 3).

- **frame-ancestors**: JupyterHub answers `frame-ancestors 'none'`. With LTI on, every Hub
  page (the launch and deep-linking pages and those they lead to: the picker, home, spawn
  pages) instead allows `'self'` and the origins of the registered platforms (their issuer
  and authentication URLs, plus `LtiCampusAuthenticator.frame_ancestors`), read from the LTI
  store at most every `TTL` seconds, so a platform added with `nbcampus lti add-platform`
  may frame the Hub without a restart. Any other origin is refused by the browser.
- **Cookies in the frame**: in a frame of another site a browser sends only
  `SameSite=None; Secure` cookies, and one that blocks third-party cookies only partitioned
  ones (CHIPS). On HTTPS, the Hub's cookies set in a response to a frame request
  (`Sec-Fetch-Dest: iframe`) become `SameSite=None; Secure; Partitioned`: they live in the
  LMS's partition only, so the top-level cookies keep their SameSite protection.
- Where a browser keeps no cookie in the frame at all, the login initiation's cookie check
  (`cookie_check_page`) offers to continue in a new window.

`install(app, origins)` adds the transform to the Hub's tornado settings (from the
authenticator's `get_handlers`, before the Hub builds its tornado application).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from html import escape
from typing import Any
from urllib.parse import urlsplit

from tornado import httputil, web

TTL = 30.0
FRAME_DEST = "iframe"


def origin_of(url: str) -> str | None:
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc.lower().rsplit('@', 1)[-1]}"


class FrameOrigins:
    """The origins allowed to frame the Hub: the registered platforms' and the configured
    ones, re-read from the LTI store at most every `ttl` seconds."""

    def __init__(
        self, platforms: Callable[[], Iterable[Any]], extra: Iterable[str] = (), ttl: float = TTL
    ) -> None:
        self._platforms, self._ttl = platforms, ttl
        self._extra = [o for o in (origin_of(u) for u in extra) if o]
        self._cached: tuple[float, list[str]] = (-1e9, [])
        self._lock = threading.Lock()

    def origins(self) -> list[str]:
        now = time.monotonic()
        with self._lock:
            at, cached = self._cached
            if now - at < self._ttl:
                return cached
        found: list[str] = []
        try:
            for reg in self._platforms():
                for url in (reg.issuer, reg.auth_login_url):
                    origin = origin_of(url)
                    if origin and origin not in found:
                        found.append(origin)
        except Exception:  # the database away for a moment: keep what was known
            found = cached
        found += [o for o in self._extra if o not in found]
        with self._lock:
            self._cached = (now, found)
        return found

    def frame_ancestors(self) -> str:
        return " ".join(["'self'", *self.origins()])


def framed_csp(csp: str, ancestors: str) -> str:
    """`csp` with its frame-ancestors directive replaced by `ancestors` (added if absent)."""
    directives = [d.strip() for d in csp.split(";") if d.strip()]
    kept = [d for d in directives if not d.lower().startswith("frame-ancestors")]
    return "; ".join([f"frame-ancestors {ancestors}", *kept])


def partitioned(cookie: str) -> str:
    """A Set-Cookie value made usable in a third-party frame: SameSite=None, Secure,
    Partitioned."""
    attrs = [a.strip() for a in cookie.split(";")]
    kept = [a for a in attrs[1:] if a.lower().split("=", 1)[0] not in ("samesite", "secure")]
    kept = [a for a in kept if a.lower() != "partitioned"]
    return "; ".join([attrs[0], *kept, "SameSite=None", "Secure", "Partitioned"])


def transform_for(origins: FrameOrigins, https: bool) -> type[web.OutputTransform]:
    class LtiFraming(web.OutputTransform):
        def __init__(self, request: httputil.HTTPServerRequest) -> None:
            super().__init__(request)
            self.framed = request.headers.get("Sec-Fetch-Dest", "") == FRAME_DEST

        def transform_first_chunk(
            self,
            status_code: int,
            headers: httputil.HTTPHeaders,
            chunk: bytes,
            finishing: bool,
        ) -> tuple[int, httputil.HTTPHeaders, bytes]:
            csp = headers.get("Content-Security-Policy")
            # no platform registered (nor configured): JupyterHub's 'none' stays
            if csp is not None and "frame-ancestors 'none'" in csp and origins.origins():
                headers["Content-Security-Policy"] = framed_csp(csp, origins.frame_ancestors())
            if self.framed and https:
                cookies = headers.get_list("Set-Cookie")
                if cookies:
                    del headers["Set-Cookie"]
                    for cookie in cookies:
                        headers.add("Set-Cookie", partitioned(cookie))
            return status_code, headers, chunk

    return LtiFraming


def install(app: Any, origins: FrameOrigins, https: bool) -> None:
    """Add the framing transform to the Hub's tornado settings (JupyterHub passes
    `transforms` to its tornado Application)."""
    settings = app.tornado_settings
    transforms = list(settings.get("transforms") or [])
    if not any(getattr(t, "__name__", "") == "LtiFraming" for t in transforms):
        transforms.append(transform_for(origins, https))
    settings["transforms"] = transforms


PROBE_COOKIE = "nbcampus-lti-probe"
PROBE_FIELD = "nbcampus_cookie_check"


def cookie_check_page(action: str, fields: dict[str, str], https: bool) -> str:
    """The login initiation's answer inside a frame: a page that checks that the browser
    keeps a cookie in this frame, then continues the login here; or, when it does not (third-
    party cookies blocked, no partitioned cookies), offers to continue in a new window, where
    the cookies are first-party. The form carries the same login initiation parameters."""
    attrs = "; SameSite=None; Secure; Partitioned" if https else "; SameSite=Lax"
    inputs = "".join(
        f"<input type='hidden' name='{escape(k)}' value='{escape(v)}'>"
        for k, v in {**fields, PROBE_FIELD: "1"}.items()
    )
    script = (
        "(function(){var c=" + json.dumps(f"{PROBE_COOKIE}=1; path=/; max-age=60{attrs}") + ";"
        "document.cookie=c;"
        "var ok=document.cookie.indexOf(" + json.dumps(PROBE_COOKIE + "=1") + ")>=0;"
        "var f=document.getElementById('login');"
        "if(ok){f.submit();return;}"
        "f.target='_blank';document.getElementById('blocked').hidden=false;"
        "f.addEventListener('submit',function(){document.getElementById('opened')"
        ".hidden=false;});})();"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>nbcampus</title></head><body>"
        f"<form id='login' method='post' action='{escape(action)}'>{inputs}"
        "<div id='blocked' hidden><p>Your browser does not keep nbcampus's sign-in inside "
        "this frame (third-party cookies are blocked).</p>"
        "<button type='submit'>Open nbcampus in a new window</button></div></form>"
        "<p id='opened' hidden>nbcampus opened in a new window.</p>"
        f"<script>{script}</script></body></html>"
    )
