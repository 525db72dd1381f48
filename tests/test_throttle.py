"""The login throttle on its own, with a clock the test moves (the real Hub: test_security.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from tornado.httputil import HTTPHeaders

from nbcampus.hub.throttle import LoginThrottle, Throttled, client_address, wait_text


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(**limits: float) -> tuple[LoginThrottle, Clock]:
    clock = Clock()
    t = LoginThrottle(clock=clock, account_limit=3, address_limit=5, window=60)
    for name, value in limits.items():
        setattr(t, name, value)
    return t, clock


def test_account_limit_refuses_until_the_oldest_failure_leaves_the_window() -> None:
    t, clock = throttle()
    for i in range(3):
        clock.now += 1
        t.begin(account="Ann", address=f"10.0.0.{i}")
    with pytest.raises(Throttled) as caught:
        t.begin(account="ann", address="10.0.0.9")  # names are compared case-blind
    err = caught.value
    assert err.status_code == 429 and err.code == "RATE_LIMITED" and err.scope == "account"
    assert err.retry_after == 58 and "Try again in 58 seconds" in err.message
    # refused attempts are not counted: the wait does not grow
    clock.now += 57.5
    with pytest.raises(Throttled) as caught:
        t.begin(account="ann", address="10.0.0.9")
    assert caught.value.retry_after == 1
    clock.now += 0.5
    t.begin(account="ann", address="10.0.0.9")
    # other accounts were never affected
    t.begin(account="bob", address="10.0.0.9")


def test_address_limit_covers_every_account_from_it() -> None:
    t, clock = throttle()
    for i in range(5):
        t.begin(account=f"user{i}", address="192.0.2.1")
    with pytest.raises(Throttled) as caught:
        t.begin(account="fresh", address="192.0.2.1")
    assert caught.value.scope == "address" and "network address" in caught.value.message
    t.begin(account="fresh", address="192.0.2.2")


def test_success_clears_the_account_and_takes_back_its_own_attempt() -> None:
    t, _ = throttle()
    for _ in range(2):
        t.begin(account="ann", address="192.0.2.1")
    t.begin(account="ann", address="192.0.2.1")
    t.succeeded(account="ann", address="192.0.2.1")
    assert t.retry_after(account="ann") == 0
    for _ in range(2):  # the address holds 2 failures + these 2 = 4 < 5
        t.begin(account="other", address="192.0.2.1")
    assert t.retry_after(address="192.0.2.1") == 0


def test_concurrent_attempts_count_before_they_finish() -> None:
    t, _ = throttle()
    for _ in range(3):
        t.begin(account="ann")  # none of them has finished yet
    with pytest.raises(Throttled):
        t.begin(account="ann")


def test_zero_switches_a_limit_off_and_memory_is_bounded() -> None:
    t, clock = throttle(account_limit=0, max_tracked=10)
    for i in range(50):
        clock.now += 1
        t.begin(account="ann", address=f"198.51.100.{i}")
    assert len(t._failures) <= 10


def test_wait_text() -> None:
    assert wait_text(0.2) == "1 second"
    assert wait_text(59.1) == "1 minute"
    assert wait_text(61) == "1 minute 1 second"
    assert wait_text(300) == "5 minutes"


def handler(headers: dict[str, str], remote_ip: str = "127.0.0.1", trusted=()) -> SimpleNamespace:
    request = SimpleNamespace(headers=HTTPHeaders(headers), remote_ip=remote_ip)
    app = SimpleNamespace(trusted_downstream_ips=list(trusted))
    return SimpleNamespace(request=request, settings={"app": app})


def test_client_address_is_what_the_proxy_appended() -> None:
    assert client_address(handler({})) == "127.0.0.1"
    # the client's own X-Forwarded-For entries and X-Real-Ip cannot pick an address
    spoofed = {"X-Forwarded-For": "10.9.9.9, 203.0.113.7", "X-Real-Ip": "10.1.1.1"}
    assert client_address(handler(spoofed)) == "203.0.113.7"
    # a trusted front proxy's own entry is skipped
    front = {"X-Forwarded-For": "203.0.113.7, 127.0.0.1"}
    assert client_address(handler(front, trusted=["127.0.0.1"])) == "203.0.113.7"
    assert client_address(handler(front)) == "127.0.0.1"
