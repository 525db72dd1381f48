"""Accounts: list and search, create with a role, disable and enable, reset a password.

Staff manage student accounts; admins any account (account_admin.MANAGES). Disabling an
account also stops its servers and revokes its Hub tokens (lockout.py); its files are kept.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from nbcampus import schemas as S
from nbcampus.hub.campus import account_admin, audit
from nbcampus.hub.campus.accounts import AccountError
from nbcampus.hub.campus.hubsync import sync_role
from nbcampus.hub.campus.lockout import lock_out
from nbcampus.hub.campus.permissions import needs_permission
from nbcampus.hub.passwords import MAX_PASSWORD_LENGTH
from nbcampus.hub.roles import ROLES
from nbcampus.web import APIError, body_schema, clean_text

from .base import CampusHandler

STATUS = {"CONFLICT": 409, "NOT_FOUND": 404, "FORBIDDEN": 403}


def api_error(err: AccountError, field: str | None = None) -> APIError:
    status = STATUS.get(err.code, 400)
    return APIError(status, str(err), **({"field": field} if field and status == 400 else {}))


class AccountsHandler(CampusHandler):
    @needs_permission("accounts:list")
    async def get(self) -> None:
        """List accounts; `q` searches name, display name and email, `role` and `active`
        (true/false) filter."""
        q = (self.query_arg("q") or "").strip()
        role = self.query_arg("role")
        if role and role not in ROLES:
            raise APIError(400, f"role must be one of {', '.join(ROLES)}", field="role")
        active_arg = self.query_arg("active")
        if active_arg not in (None, "", "true", "false"):
            raise APIError(400, "active must be true or false", field="active")
        active = None if not active_arg else active_arg == "true"
        found = await self.read(lambda s: account_admin.search(s, clean_text(q, "q"), role, active))
        self.write_json({"accounts": found})

    @needs_permission("accounts:create")
    @body_schema(
        S.obj(
            ["name"],
            name=S.text(64),
            role=S.one_of(ROLES),
            password=S.text(MAX_PASSWORD_LENGTH),
            display_name=S.text(200, min_length=0),
            email=S.text(254, min_length=0),
        )
    )
    async def post(self) -> None:
        """Create an account with a role (staff: students only). A generated password is
        returned once, to its creator."""
        body = self.json_body()
        role = body.get("role", "student")
        for field in ("name", "display_name", "email"):
            clean_text(body.get(field, ""), field)

        def work(s: Session) -> tuple[dict[str, Any], str]:
            return account_admin.create(
                s,
                self.actor.name,
                self.actor.role,
                body["name"],
                role,
                display_name=body.get("display_name", ""),
                email=body.get("email", ""),
                password=body.get("password"),
            )

        try:
            info, password = await self.tx(work)
        except AccountError as err:
            raise api_error(err, "name") from None
        # The campus role shows in the Hub as a group right away, not only after a restart.
        self.settings["app"].spawn(sync_role(info["name"], info["role"]))
        if "password" not in body:
            info["password"] = password
        self.write_json(info, status=201)


class AccountHandler(CampusHandler):
    @needs_permission("accounts:list")
    async def get(self, name: str) -> None:
        """One account with its audit (newest first)."""

        def work(s: Session) -> dict[str, Any]:
            account = account_admin.find(s, name)
            data = account_admin.account_dict(account)
            data["audit"] = audit.entries(s, target_type="account", target=account.name)
            return data

        try:
            self.write_json(await self.read(work))
        except AccountError as err:
            raise api_error(err) from None

    @needs_permission("accounts:manage")
    @body_schema(S.obj(["active"], closed=True, active=S.BOOL))
    async def patch(self, name: str) -> None:
        """Disable ({"active": false}: no login, servers stopped, tokens revoked, files kept)
        or enable an account."""
        body = self.json_body()
        active = body["active"]
        try:
            info, changed = await self.tx(
                lambda s: account_admin.set_active(
                    s, self.actor.name, self.actor.role, name, active
                )
            )
        except AccountError as err:
            raise api_error(err) from None
        if not active:
            # Also when nothing changed: a retry finishes a lock-out the Hub missed.
            info["lockout"] = (await lock_out(info["name"])).as_dict()
        info["changed"] = changed
        self.write_json(info)


class AccountPasswordHandler(CampusHandler):
    @needs_permission("accounts:manage")
    @body_schema(None)
    async def post(self, name: str) -> None:
        """Reset the password: a new temporary password, returned once and stored hashed."""
        self.json_body()
        try:
            password = await self.tx(
                lambda s: account_admin.reset_password(s, self.actor.name, self.actor.role, name)
            )
        except AccountError as err:
            raise api_error(err) from None
        self.write_json({"name": name, "password": password})


default_handlers = [
    (r"api/v1/accounts", AccountsHandler),
    (r"api/v1/accounts/([^/]+)", AccountHandler),
    (r"api/v1/accounts/([^/]+)/password", AccountPasswordHandler),
]
