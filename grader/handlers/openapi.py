"""GET api/v1/openapi.json: the OpenAPI document of this API, built from the handlers."""

from __future__ import annotations

from typing import Any

from jupyterhub.utils import url_path_join

from ..openapi import build_openapi
from .base import GraderHandler


class OpenAPIHandler(GraderHandler):
    def get(self) -> None:
        """The OpenAPI 3 document of the grader API."""
        from . import default_handlers  # the joined list, imported late to avoid a cycle

        server = url_path_join(self.settings["service_prefix"], "api/v1")
        self.write_json(build_openapi(default_handlers, server))


default_handlers: list[Any] = [(r"api/v1/openapi.json", OpenAPIHandler)]
