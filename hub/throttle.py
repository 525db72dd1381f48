"""Throttling of failed sign-ins, per account and per client address.

One `LoginThrottle` lives in the Hub's authenticator and is shared by every way in that takes
a secret: the password login, self sign-up and LTI 1.1 launches (password reset, when it
exists, uses the same three calls). A caller asks `begin(account, address)` before it checks
anything; that either raises `Throttled` (with the seconds to wait) or counts the attempt as
failed at once, so that a burst of concurrent attempts cannot all slip in before the first
failure is recorded. `succeeded` takes the attempt back when it turns out right.

While a limit is reached every attempt is refused without being checked, the right password
included, until the oldest counted failure leaves the window. Refused attempts are not
counted, so a client that keeps hammering waits one window, not forever.

The counts are kept in the Hub's memory (one Hub process serves all logins); a restart of the
Hub forgets them.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from tornado import web
from traitlets import Float, Integer
from traitlets.config import LoggingConfigurable

from nbcampus.web import APIError


class Throttled(APIError):
    """Too many failed attempts: retry after `retry_after` seconds (429, code RATE_LIMITED)."""

    def __init__(self, message: str, retry_after: int, scope: str) -> None:
        super().__init__(429, message, code="RATE_LIMITED", retry_after=retry_after)
        self.retry_after = retry_after
        self.scope = scope  # "account" or "address"


def wait_text(seconds: float) -> str:
    """`4 minutes 10 seconds`, `1 minute`, `12 seconds`."""
    seconds = max(1, math.ceil(seconds))
    minutes, rest = divmod(seconds, 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    if rest or not minutes:
        parts.append(f"{rest} second{'s' if rest != 1 else ''}")
    return " ".join(parts)


def client_address(handler: web.RequestHandler) -> str:
    """The client's address as the Hub sees it behind its proxy.

    The proxy appends the address it got the request from to X-Forwarded-For; that last entry
    is the client, unless it is one of `JupyterHub.trusted_downstream_ips` (a proxy of the
    school's own in front), whose entries are skipped as tornado does. X-Real-Ip is ignored:
    the Hub's proxy passes it on from the client unchanged, so a client could name any address
    with it (tornado's own `remote_ip` trusts it).
    """
    request = handler.request
    forwarded = request.headers.get("X-Forwarded-For", "")
    if not forwarded:
        return request.remote_ip or ""
    app = handler.settings.get("app")
    trusted = set(getattr(app, "trusted_downstream_ips", None) or ())
    entries = [e.strip() for e in forwarded.split(",") if e.strip()]
    for entry in reversed(entries):
        if entry not in trusted:
            return entry
    return entries[0] if entries else (request.remote_ip or "")


class _Window:
    """The times of the last `limit` failures of one key."""

    __slots__ = ("times",)

    def __init__(self, limit: int) -> None:
        self.times: deque[float] = deque(maxlen=max(1, limit))


class LoginThrottle(LoggingConfigurable):
    """Limits failed sign-in attempts per account and per client address within a window."""

    account_limit = Integer(
        5,
        help="""Failed attempts on one account (any address) within `window` seconds after
        which that account's sign-in is refused, the right password included, until the
        oldest of them is `window` seconds old. 0 switches the per-account limit off.""",
    ).tag(config=True)

    address_limit = Integer(
        20,
        help="""Failed attempts from one client address (any accounts; sign-in, sign-up and
        LTI 1.1 launches together) within `window` seconds after which everything from that
        address is refused until the oldest of them is `window` seconds old. Attempts still
        being checked count as failed, so more than this many concurrent sign-ins from one
        address (a classroom behind one NAT pressing Enter together) may be refused: raise it
        where that happens. 0 switches the per-address limit off.""",
    ).tag(config=True)

    window = Float(
        300.0,
        help="""Length in seconds of the sliding window in which failures are counted; also
        the longest wait a throttled client is told.""",
    ).tag(config=True)

    max_tracked = Integer(
        100_000,
        help="""Most accounts and addresses remembered at once; beyond it the entries whose
        failures are oldest are forgotten first (bounds the Hub's memory under a flood).""",
    ).tag(config=True)

    def __init__(self, clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock
        self._failures: dict[str, _Window] = {}

    # --- the three calls ----------------------------------------------------------------------
    def begin(self, account: str | None = None, address: str | None = None) -> None:
        """Refuse with `Throttled` if a limit is reached; else count this attempt as failed."""
        keys = self._keys(account, address)
        now = self.clock()
        for scope, key, limit in keys:
            wait = self._wait(key, limit, now)
            if wait > 0:
                raise Throttled(_message(scope, wait), math.ceil(wait), scope)
        for _, key, limit in keys:
            self._record(key, limit, now)

    def succeeded(self, account: str | None = None, address: str | None = None) -> None:
        """The attempt begun with the same arguments was right: forget the account's failures
        and take this attempt off the address's count."""
        for scope, key, _ in self._keys(account, address):
            if scope == "account":
                self._failures.pop(key, None)
            elif (window := self._failures.get(key)) and window.times:
                window.times.pop()

    def retry_after(self, account: str | None = None, address: str | None = None) -> float:
        """Seconds until an attempt for this account from this address is allowed (0: now)."""
        now = self.clock()
        waits = [self._wait(key, limit, now) for _, key, limit in self._keys(account, address)]
        return max(waits, default=0.0)

    # --- inside -----------------------------------------------------------------------------
    def _keys(self, account: str | None, address: str | None) -> list[tuple[str, str, int]]:
        keys = []
        if account and self.account_limit > 0:
            keys.append(("account", "account:" + account.strip().lower()[:256], self.account_limit))
        if address and self.address_limit > 0:
            keys.append(("address", "address:" + address[:64], self.address_limit))
        return keys

    def _wait(self, key: str, limit: int, now: float) -> float:
        window = self._failures.get(key)
        if window is None or len(window.times) < limit:
            return 0.0
        # the limit-th most recent failure leaves the window at ...
        return max(0.0, window.times[-limit] + self.window - now)

    def _record(self, key: str, limit: int, now: float) -> None:
        window = self._failures.get(key)
        if window is None or window.times.maxlen != max(1, limit):
            old = window.times if window else ()
            window = _Window(limit)
            window.times.extend(old)
            if len(self._failures) >= self.max_tracked:
                self._prune(now)
            self._failures[key] = window
        window.times.append(now)

    def _prune(self, now: float) -> None:
        expired = [
            key
            for key, window in self._failures.items()
            if not window.times or window.times[-1] + self.window <= now
        ]
        for key in expired:
            del self._failures[key]
        overflow = len(self._failures) - self.max_tracked + 1
        if overflow > 0:
            oldest = sorted(self._failures, key=lambda k: self._failures[k].times[-1])[:overflow]
            for key in oldest:
                del self._failures[key]


def _message(scope: str, wait: float) -> str:
    whom = "for this account" if scope == "account" else "from your network address"
    return f"Too many failed sign-in attempts {whom}. Try again in {wait_text(wait)}."
