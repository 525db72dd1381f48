"""`GET /hub/api/` on the Hub: the full JupyterHub version to authenticated callers only
(nbcampus/headers.py says why).

Its own module, apart from the headers every service imports: JupyterHub's API handlers bring
the Hub's handler, user and database modules along (~0.2 s of CPU), which only the Hub's own
process needs.
"""

from __future__ import annotations

import json

from jupyterhub.apihandlers.hub import RootAPIHandler

from nbcampus.headers import HUB_VERSION_MAJOR, hub_version


class HubRootAPIHandler(RootAPIHandler):
    """`GET /hub/api/`: the full JupyterHub version to authenticated callers, the major
    version to anybody else (JupyterHub's own answers the full version to all)."""

    def get(self) -> None:
        version = hub_version if self.current_user is not None else HUB_VERSION_MAJOR
        self.finish(json.dumps({"version": version}))
