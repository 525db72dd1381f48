"""nbgrader's Create Assignment panel for the instructors' servers only.

The campus installs nbgrader's lab extension for everyone, with its instructor plugins
disabled in the environment's page config (scripts/setup.sh). The Hub starts a server with
NBCAMPUS_AUTHORING=1 when the campus's records say its user authors courses (hub/authoring.py);
for those servers a JupyterLab `page_config_hook` takes the Create Assignment plugin off the
page's disabled list, so it loads. Anyone else's page keeps it disabled.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

AUTHORING_ENV = "NBCAMPUS_AUTHORING"
AUTHORING_PLUGINS = ("@jupyter/nbgrader:create-assignment",)

PageHook = Callable[[Any, dict[str, Any]], dict[str, Any]]


def authoring_enabled(env: dict[str, str] | None = None) -> bool:
    value = (os.environ if env is None else env).get(AUTHORING_ENV, "")
    return value.strip() == "1"


def enable_plugins(page_config: dict[str, Any]) -> dict[str, Any]:
    """The page config with the authoring plugins no longer disabled, and the Course view's
    command shown (`nbcampusAuthoring`)."""
    disabled = page_config.get("disabledExtensions")
    if isinstance(disabled, dict):
        for name in AUTHORING_PLUGINS:
            disabled[name] = False
    elif isinstance(disabled, list):
        page_config["disabledExtensions"] = [d for d in disabled if d not in AUTHORING_PLUGINS]
    page_config["nbcampusAuthoring"] = "true"
    return page_config


def install(web_app: Any) -> bool:
    """Add the hook (chained after any other) when this server is an author's."""
    if not authoring_enabled():
        return False
    previous: PageHook | None = web_app.settings.get("page_config_hook")

    def hook(handler: Any, page_config: dict[str, Any]) -> dict[str, Any]:
        if previous is not None:
            page_config = previous(handler, page_config)
        return enable_plugins(page_config)

    web_app.settings["page_config_hook"] = hook
    return True
