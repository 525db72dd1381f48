"""The grader service: HTTP exchange, autograde queue and workers, gradebook, passback."""

from __future__ import annotations

from typing import Any

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web

from nbcampus import __version__
from nbcampus.service import ServiceApp
from nbcampus.web import JSONErrorMixin


class GraderInfoHandler(JSONErrorMixin, HubOAuthenticated, web.RequestHandler):
    def get(self) -> None:
        if self.current_user is None:
            self.set_status(401)
            self.write_json({"code": "UNAUTHORIZED", "message": "log in through the Hub"}, 401)
            return
        self.write_json({"service": "grader", "version": __version__})


class GraderService(ServiceApp):
    name = "nbcampus-grader"
    description = "The grader Hub service (started by the Hub)."
    service_name = "grader"

    def handlers(self) -> list[Any]:
        return [(r"api/v1/?", GraderInfoHandler)]


main = GraderService.launch
