"""nbcampus inside JupyterLab: the prebuilt lab extension and its Jupyter server part.

The server part forwards `<server prefix>/nbcampus/{campus,grader}/api/...` to the Hub
services with the server's own Hub token, so the browser never holds a service token and the
services see the student as the caller.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "@nbcampus/lab"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nbcampus.lab"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from . import authoring_tools, courseview, nbgrader_lazy
    from .handlers import setup_handlers

    base = serverapp.web_app.settings.get("base_url", "/")
    # the Course view's folders, preview and publishing (nbcampus-courses/)
    serverapp.web_app.add_handlers(".*$", courseview.handlers(base))
    setup_handlers(serverapp.web_app)
    authoring_tools.install(serverapp.web_app)
    if not nbgrader_lazy.enabled_elsewhere(serverapp):
        nbgrader_lazy.setup_handlers(serverapp)
    serverapp.log.info(
        "nbcampus.lab: forwarding %snbcampus/ to the campus services",
        serverapp.web_app.settings.get("base_url", "/"),
    )
