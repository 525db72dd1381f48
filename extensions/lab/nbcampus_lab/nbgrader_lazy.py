"""nbgrader's student-side server extensions (the Lab's Assignments list and Validate), loaded
on their first request instead of at every server start.

Their modules import nbgrader's whole application stack, about 0.45 s of CPU per server start,
which every student pays at login, in a burst of logins on every core, for a tool most of them
never open (the campus panel fetches and submits). The routes are the same as nbgrader's; the
first request imports nbgrader, sets up what its own loaders set up, and hands the request to
nbgrader's handler. The two nbgrader extensions are disabled in students' servers
(scripts/setup.sh, images/student/install-kernels.sh) and this module stands in for them.
"""

from __future__ import annotations

import threading
from importlib import import_module
from typing import Any

from jupyter_server.utils import url_path_join
from tornado.web import RequestHandler

NBGRADER_EXTENSIONS = (
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.validate_assignment",
)
_LIST = "nbgrader.server_extensions.assignment_list.handlers"
_VALIDATE = "nbgrader.server_extensions.validate_assignment.handlers"

# nbgrader's URL patterns (its `default_handlers`), with the module and class that serve them.
ROUTES = [
    (r"/assignments", _LIST, "AssignmentListHandler"),
    (r"/assignments/(?P<action>fetch|submit|fetch_feedback)", _LIST, "AssignmentActionHandler"),
    (r"/courses", _LIST, "CourseListHandler"),
    (r"/nbgrader_version", _LIST, "NbGraderVersionHandler"),
    (r"/assignments/validate", _VALIDATE, "ValidateAssignmentHandler"),
]

_setup_lock = threading.Lock()


def _nbgrader_handler(application: Any, module_name: str, class_name: str) -> type:
    """nbgrader's handler class; the first time, what nbgrader's loaders put in the settings."""
    settings = application.settings
    with _setup_lock:
        if "assignment_list_manager" not in settings:
            serverapp = settings["nbcampus_serverapp"]
            assignment_list = import_module(_LIST).AssignmentList(parent=serverapp)
            assignment_list.root_dir = serverapp.root_dir
            settings["root_dir"] = serverapp.root_dir
            settings["assignment_list_manager"] = assignment_list  # last: marks the set-up done
    return getattr(import_module(module_name), class_name)


class LazyNbgraderHandler(RequestHandler):
    """Stands in for one nbgrader handler: serves each request with that handler."""

    def initialize(self, module_name: str, class_name: str) -> None:
        self.module_name = module_name
        self.class_name = class_name

    async def _execute(self, transforms: Any, *args: bytes, **kwargs: bytes) -> None:  # type: ignore[override]
        handler_class = _nbgrader_handler(self.application, self.module_name, self.class_name)
        handler = handler_class(self.application, self.request)
        await handler._execute(transforms, *args, **kwargs)


def enabled_elsewhere(serverapp: Any) -> bool:
    """Are nbgrader's own student extensions enabled (then they serve these routes)?"""
    enabled = getattr(serverapp, "jpserver_extensions", {}) or {}
    return any(enabled.get(name) for name in NBGRADER_EXTENSIONS)


def setup_handlers(serverapp: Any) -> None:
    web_app = serverapp.web_app
    web_app.settings["nbcampus_serverapp"] = serverapp
    base_url = web_app.settings.get("base_url", "/")
    web_app.add_handlers(
        ".*$",
        [
            (
                url_path_join(base_url, pattern),
                LazyNbgraderHandler,
                {"module_name": module_name, "class_name": class_name},
            )
            for pattern, module_name, class_name in ROUTES
        ],
    )
