"""The OpenAPI document of this API, built from the handlers."""

from __future__ import annotations

from jupyterhub.utils import url_path_join

from nbcampus.hub.campus.openapi import build_openapi
from nbcampus.hub.campus.permissions import needs_permission

from .base import CampusHandler


class OpenAPIHandler(CampusHandler):
    @needs_permission("campus:read")
    def get(self) -> None:
        """The OpenAPI 3 document of the campus API."""
        from . import default_handlers  # the joined list, imported late to avoid a cycle

        server = url_path_join(self.settings["service_prefix"], "api/v1")
        self.write_json(build_openapi(default_handlers, server))


default_handlers = [(r"api/v1/openapi.json", OpenAPIHandler)]
