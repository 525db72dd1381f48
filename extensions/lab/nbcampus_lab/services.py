"""Where the Hub services are, and how the server part calls them.

The Hub passes each student server its own API token (JUPYTERHUB_API_TOKEN, with the
`access:services` scope, see jupyterhub_config.py) and the services' URLs
(NBCAMPUS_CAMPUS_URL, NBCAMPUS_GRADER_URL: the full URL of the service's root, e.g.
`http://127.0.0.1:8123/services/campus/`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import quote

SERVICES = ("campus", "grader")

# What a forwarded path may look like: the services' REST API and nothing else (no `..`, no
# way out to the Hub's own API with the student's token).
_SAFE_PATH = re.compile(r"^api/v1(/[A-Za-z0-9_.~@:%+,=\-]+)*/?$")


class ServiceConfigError(Exception):
    """The server was started without what it needs to reach the services."""


@dataclass(frozen=True)
class ServiceTarget:
    name: str
    base_url: str  # ends with "/"
    token: str

    def url(self, path: str, query: str = "") -> str:
        return self.base_url + path + (f"?{query}" if query else "")


def target_for(name: str, env: dict[str, str] | None = None) -> ServiceTarget:
    """The service `name` as this server reaches it, from the environment the Hub set."""
    env = dict(os.environ) if env is None else env
    if name not in SERVICES:
        raise KeyError(name)
    base = env.get(f"NBCAMPUS_{name.upper()}_URL", "")
    if not base:
        raise ServiceConfigError(
            f"this server does not know where the {name} service is "
            f"(NBCAMPUS_{name.upper()}_URL is not set; start it from the campus Hub)"
        )
    token = env.get("JUPYTERHUB_API_TOKEN", "")
    if not token:
        raise ServiceConfigError("this server has no Hub API token (JUPYTERHUB_API_TOKEN)")
    return ServiceTarget(name, base if base.endswith("/") else base + "/", token)


def safe_path(path: str) -> str | None:
    """The path re-quoted for the upstream URL, or None when it is not an API path."""
    if not _SAFE_PATH.fullmatch(path):
        return None
    segments = path.split("/")
    if any(s in (".", "..") for s in segments):
        return None
    # Segments arrive percent-encoded; keep them so, but make sure nothing decodes to `..`.
    from urllib.parse import unquote

    if any(unquote(s) in (".", "..") or "/" in unquote(s) for s in segments):
        return None
    return "/".join(quote(unquote(s), safe="@:+,=~") for s in segments)
