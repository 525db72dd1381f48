"""Lock a disabled account out of the Hub: stop its servers and revoke its tokens, through the
Hub's REST API with the campus service's own token. Its files are not touched: enabling the
account again gives the person their work back.

A person's login cookie is not a token: the Hub asks the authenticator (`refresh_user`) about
it, and the campus authenticator refuses a disabled account there, so open sessions end too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import quote

from tornado.httpclient import HTTPClientError

from .hubsync import HubGroups

log = logging.getLogger("nbcampus.campus.lockout")


@dataclass
class Lockout:
    servers_stopped: list[str] = field(default_factory=list)
    tokens_revoked: int = 0
    error: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "servers_stopped": self.servers_stopped,
            "tokens_revoked": self.tokens_revoked,
            "error": self.error,
        }


async def lock_out(name: str, client: HubGroups | None = None) -> Lockout:
    client = client or HubGroups()
    result = Lockout()
    if not client.enabled:
        result.error = "no Hub API to call"
        return result
    user = quote(name, safe="")
    try:
        try:
            model = await client._call("GET", f"users/{user}")
        except HTTPClientError as err:
            if err.code == 404:  # never logged in: nothing runs, no token exists
                return result
            raise
        for server_name in (model.get("servers") or {}).keys():
            path = (
                f"users/{user}/server"
                if not server_name
                else (f"users/{user}/servers/{quote(server_name, safe='')}")
            )
            try:
                await client._call("DELETE", path)
            except HTTPClientError as err:
                if err.code not in (400, 404):  # 400/404: stopped meanwhile
                    raise
            result.servers_stopped.append(server_name)
        tokens = await client._call("GET", f"users/{user}/tokens")
        for token in (tokens or {}).get("api_tokens") or []:
            try:
                await client._call("DELETE", f"users/{user}/tokens/{quote(token['id'], safe='')}")
            except HTTPClientError as err:
                if err.code != 404:
                    raise
            result.tokens_revoked += 1
    except Exception as err:  # reported to the person who disabled the account
        log.warning("could not lock %s out of the Hub: %s", name, err)
        result.error = f"the Hub did not confirm the lock-out: {err}"
    return result
