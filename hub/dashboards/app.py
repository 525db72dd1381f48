"""The dashboards service: Voila under the Hub's OAuth, one notebook per dashboard.

Why a Hub service and not the viewer's own server: staff and admins have no Lab of their
own, and a dashboard must not start one. The Hub's OAuth gives this service a token of the
viewer (not of the service); the notebook's kernel calls the campus, grader and Hub APIs with
it, so the services' permission tables decide, as for any request of that person. Before a
kernel starts, the prelaunch hook asks the campus who the viewer is and refuses (403) anyone
the dashboard is not for, so a student gets no kernel and no data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import nbformat
import requests
from tornado import web
from traitlets.config import Config

NOTEBOOKS = Path(__file__).parent / "notebooks"
# Who may open which dashboard (school-wide roles from the campus); the instructor dashboard
# is also for anyone who teaches a class (a per-class role, read from the campus's records).
AUDIENCE: dict[str, frozenset[str]] = {
    "instructor": frozenset({"staff", "admin"}),
    "staff": frozenset({"staff", "admin"}),
    "admin": frozenset({"admin"}),
}

REFUSAL = {
    "instructor": "This dashboard is for the teachers of a class, staff and admins",
    "staff": "This dashboard is for staff and admins",
    "admin": "This dashboard is for admins",
}


def _who(token: str) -> dict[str, Any]:
    """The campus's word on the viewer (role, classes taught), asked with their own token."""
    url = os.environ["NBCAMPUS_CAMPUS_URL"].rstrip("/") + "/api/v1/me"
    try:
        r = requests.get(url, headers={"Authorization": f"token {token}"}, timeout=30)
    except requests.RequestException:
        raise web.HTTPError(503, "the campus did not answer") from None
    if r.status_code != 200:
        raise web.HTTPError(403, "the campus does not know you")
    return r.json()


def prelaunch_hook(
    handler: Any, notebook: nbformat.NotebookNode, cwd: str
) -> nbformat.NotebookNode:
    """Refuse viewers the dashboard is not for; hand the viewer's token to the kernel."""
    board = Path(getattr(handler, "notebook_path", "") or handler.request.path).stem
    if board not in AUDIENCE:
        raise web.HTTPError(404)
    hub_auth = handler.identity_provider.hub_auth
    token = hub_auth.get_token(handler)
    if not token:
        raise web.HTTPError(403)
    me = _who(token)
    allowed = me["role"] in AUDIENCE[board] or (board == "instructor" and bool(me.get("teaches")))
    if not allowed:
        raise web.HTTPError(
            403, f"the {board} dashboard is not for a {me['role']}", reason=REFUSAL[board]
        )
    viewer = {"name": me["name"], "role": me["role"], "token": token, "teaches": me.get("teaches")}
    args = {"class_id": handler.get_argument("class", None)}
    # The first cell (never sent to the browser: Voila strips sources) makes the viewer.
    source = (
        "from nbcampus.hub.dashboards.client import Viewer\n"
        f"VIEWER = Viewer(**{viewer!r})\n"
        f"ARGS = {args!r}\n"
    )
    notebook.cells.insert(0, nbformat.v4.new_code_cell(source))
    return notebook


def voila_config() -> Config:
    service_url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    cfg = Config()
    cfg.Voila.ip = service_url.hostname or "127.0.0.1"
    cfg.Voila.port = service_url.port or 8000
    cfg.Voila.base_url = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    cfg.Voila.open_browser = False
    cfg.Voila.root_dir = str(NOTEBOOKS)
    cfg.Voila.identity_provider_class = "jupyterhub.singleuser.extension.JupyterHubIdentityProvider"
    cfg.Voila.authorizer_class = "jupyterhub.singleuser.extension.JupyterHubAuthorizer"
    # Jupyter Server's own CSP (frame-ancestors 'self': the Lab may frame them), plus nosniff
    # as on every campus answer.
    cfg.Voila.tornado_settings = {"headers": {"X-Content-Type-Options": "nosniff"}}
    cfg.VoilaConfiguration.prelaunch_hook = prelaunch_hook
    cfg.VoilaConfiguration.show_tracebacks = False
    cfg.VoilaConfiguration.file_allowlist = []  # no file of the folder is served as such
    # Only the widget front ends the dashboards use (not every Lab extension installed).
    cfg.VoilaConfiguration.extension_allowlist = [
        "@voila-dashboards/widgets-manager8",
        "@jupyter-widgets/jupyterlab-manager",
        "bqplot",
        "bqscales",
    ]
    return cfg


def main() -> None:
    from jupyter_server.utils import url_path_join
    from voila.app import Voila

    class DashboardsApp(Voila):
        def init_handlers(self) -> list:
            # Voila adds the identity provider's handlers (the Hub's OAuth callback) without
            # its URL prefix: put them under the service's prefix, where the Hub sends people.
            own = {h[0] for h in self.identity_provider.get_handlers()}
            return [
                (url_path_join(self.server_url, h[0]), *h[1:]) if h[0] in own else h
                for h in super().init_handlers()
            ]

    cfg = voila_config()
    # The service's own token stays with HubOAuth (config, not the environment): kernels
    # inherit the environment, and get the viewer's token from the hook instead.
    cfg.HubOAuth.api_token = os.environ.pop("JUPYTERHUB_API_TOKEN", "")
    os.environ.pop("JPY_API_TOKEN", None)
    app = DashboardsApp(config=cfg)
    app.initialize([str(NOTEBOOKS)])
    app.start()
