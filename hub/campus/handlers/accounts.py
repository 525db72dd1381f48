"""Accounts: staff and admins create local accounts; teachers list them."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from nbcampus.hub.campus.accounts import AccountError
from nbcampus.hub.campus.hubsync import sync_role
from nbcampus.hub.campus.permissions import needs_permission
from nbcampus.web import APIError

from .base import CampusHandler


class AccountsHandler(CampusHandler):
    @needs_permission("accounts:list")
    def get(self) -> None:
        self.write_json({"accounts": [asdict(a) for a in self.accounts.all()]})

    @needs_permission("accounts:create")
    async def post(self) -> None:
        body = self.json_body()
        role = body.get("role", "student")
        # Only admins make admins or staff; staff create students and instructors.
        if role in ("admin", "staff") and self.actor.role != "admin":
            raise APIError(403, f"only an admin may create a {role} account")
        password = body.get("password")
        for field in ("display_name", "email"):
            if not isinstance(body.get(field, ""), str):
                raise APIError(400, f"{field} must be a string")
        try:
            info, password = await asyncio.to_thread(
                self.accounts.create,
                body.get("name"),
                role,
                password,
                created_by=self.actor.name,
                display_name=body.get("display_name", ""),
                email=body.get("email", ""),
            )
        except AccountError as err:
            raise APIError(409 if err.code == "CONFLICT" else 400, str(err)) from None
        # The campus role shows in the Hub as a group right away, not only after a restart.
        self.settings["app"].spawn(sync_role(info.name, info.role))
        result = asdict(info)
        if "password" not in body:
            result["password"] = password  # a generated password is shown once, to its creator
        self.write_json(result, status=201)


default_handlers = [
    (r"api/v1/accounts", AccountsHandler),
]
