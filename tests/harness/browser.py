"""Signing in through the Hub's own login form in Chromium, and waiting for the Lab.

The one copy of what browser tests do before their own steps: open a fresh browser context,
fill the Hub's login form, and (for Lab tests) wait until JupyterLab's shell and the Campus
panel have loaded. Logins that are themselves under test (throttling, SSO, LTI launches)
drive the form on their own.
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from harness.hub import CampusHub

LAB_SHELL = ".jp-LabShell"
PANEL_LOADED = '.nbc-panel[data-loaded="true"]'

LoadState = Literal["load", "domcontentloaded", "networkidle"]

# Pages a sign-in passes through on its way: while one of them is shown, the Hub or the spawn
# page's script is still about to navigate, and a test's own page.goto would be cut short.
ON_THE_WAY = re.compile(r"/hub/(login|spawn|spawn-pending)(/|$)")


def login_url(hub: CampusHub, next_: str = "") -> str:
    """The Hub's login page; with `next_` (a Hub path such as "hub/profile") the page it
    sends the person to once signed in instead of their Lab."""
    url = hub.url + "hub/login"
    if next_:
        url += "?next=" + quote(urlsplit(hub.url).path + next_, safe="")
    return url


def log_in(
    page: Any,
    hub: CampusHub,
    name: str,
    password: str,
    *,
    next_: str = "",
    wait: LoadState | None = None,
    no_wait_after: bool = False,
) -> Any:
    """Sign `page` in through the login form. `wait` is the load state to wait for once the
    sign-in has arrived (past the login and spawn pages; none by default: the caller waits for
    what it needs); `no_wait_after` does not even wait for the navigation to start, so several
    people's servers start at once."""
    page.goto(login_url(hub, next_))
    page.fill("#username_input", name)
    page.fill("#password_input", password)
    page.click("#login_submit", no_wait_after=no_wait_after)
    if wait:
        page.wait_for_url(
            lambda url: not ON_THE_WAY.search(urlsplit(url).path), wait_until=wait, timeout=120_000
        )
    return page


def sign_in(
    browser: Any,
    hub: CampusHub,
    name: str,
    password: str,
    *,
    next_: str = "",
    wait: LoadState | None = None,
    no_wait_after: bool = False,
    viewport: tuple[int, int] = (1400, 900),
    init_script: str | None = None,
    **context_options: Any,
) -> Any:
    """A page in a fresh browser context (its own cookies), signed in as `name`; close it with
    `page.context.close()`. `init_script` runs in every page before the page's own scripts;
    `context_options` go to Playwright's `new_context` (color_scheme, accept_downloads...)."""
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, **context_options
    )
    if init_script:
        context.add_init_script(init_script)
    try:
        page = context.new_page()
        return log_in(
            page, hub, name, password, next_=next_, wait=wait, no_wait_after=no_wait_after
        )
    except BaseException:
        context.close()  # the caller never got the page to close
        raise


def lab_ready(page: Any, timeout: float = 120_000) -> Any:
    """Wait for JupyterLab's shell (`timeout` covers the spawn) and the Campus panel's data."""
    page.wait_for_selector(LAB_SHELL, timeout=timeout)
    page.wait_for_selector(PANEL_LOADED, timeout=60_000)
    return page


def open_lab(
    browser: Any,
    hub: CampusHub,
    name: str,
    password: str,
    *,
    timeout: float = 120_000,
    **options: Any,
) -> Any:
    """`sign_in` and `lab_ready` in one: a fresh context in `name`'s loaded Lab (through the
    Hub's spawn page: staff and admins land on their own pages otherwise)."""
    options.setdefault("next_", "hub/spawn")
    page = sign_in(browser, hub, name, password, **options)
    try:
        return lab_ready(page, timeout)
    except BaseException:
        page.context.close()
        raise
