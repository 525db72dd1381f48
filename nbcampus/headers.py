"""Response headers every nbcampus page and API answer carries, on the Hub and in the services.

- `X-Content-Type-Options: nosniff` everywhere (pages, API answers, errors, redirects, static
  files), so that a browser never runs an upload or a JSON body as a script or a style sheet.
- No software versions for anonymous visitors: tornado's `Server: TornadoServer/<version>`
  is dropped, and the Hub's `X-JupyterHub-Version` names the major version only. Students'
  servers compare it with their own by major version (a mismatch of the same major is only a
  debug line), so spawning is unaffected. The Hub's API root (`GET /hub/api/`) answers the full
  version to authenticated callers only (the idle culler reads it with its token;
  hub/hub_api_root.py).
- Static files (the grader's script and style sheet) with the service's CSP.

The Hub takes them through `c.JupyterHub.tornado_settings` (`hub_tornado_settings`); the
services through `service_app_options` in `nbcampus.service`.
"""

from __future__ import annotations

from typing import Any

from jupyterhub._version import __version__ as hub_version
from tornado import httputil, web

from .web import CSP

NOSNIFF = ("X-Content-Type-Options", "nosniff")
HUB_VERSION_MAJOR = hub_version.split(".", 1)[0]


class SecurityHeaders(web.OutputTransform):
    """Applied by tornado to every response of an application: nosniff, no `Server`."""

    def transform_first_chunk(
        self,
        status_code: int,
        headers: httputil.HTTPHeaders,
        chunk: bytes,
        finishing: bool,
    ) -> tuple[int, httputil.HTTPHeaders, bytes]:
        if "X-Content-Type-Options" not in headers:
            headers[NOSNIFF[0]] = NOSNIFF[1]
        headers.pop("Server", None)
        return status_code, headers, chunk


class ServiceStaticFileHandler(web.StaticFileHandler):
    """A service's static files, with its CSP (they are no pages: nothing may run in them)."""

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", CSP)
        self.set_header(*NOSNIFF)


def hub_tornado_settings() -> dict[str, Any]:
    """What `c.JupyterHub.tornado_settings` needs for the headers above.

    `headers` is JupyterHub's own setting (every Hub page and API answer); `transforms` is
    tornado's `Application` argument, which JupyterHub passes on with the settings, and reaches
    the responses JupyterHub's handlers do not set headers on (the logo, static files,
    tornado's own errors).
    """
    return {
        "headers": {
            NOSNIFF[0]: NOSNIFF[1],
            "X-JupyterHub-Version": HUB_VERSION_MAJOR,
        },
        "transforms": [SecurityHeaders],
    }


def service_app_options() -> dict[str, Any]:
    """Keyword arguments for a service's `tornado.web.Application`."""
    return {"transforms": [SecurityHeaders], "static_handler_class": ServiceStaticFileHandler}
