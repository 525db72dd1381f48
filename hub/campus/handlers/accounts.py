"""Accounts: staff and admins create local accounts; teachers list them."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from nbcampus import schemas as S
from nbcampus.hub.campus.accounts import AccountError
from nbcampus.hub.campus.hubsync import sync_role
from nbcampus.hub.campus.permissions import needs_permission
from nbcampus.hub.passwords import MAX_PASSWORD_LENGTH
from nbcampus.hub.roles import ROLES
from nbcampus.web import APIError, body_schema, clean_text

from .base import CampusHandler


class AccountsHandler(CampusHandler):
    @needs_permission("accounts:list")
    def get(self) -> None:
        self.write_json({"accounts": [asdict(a) for a in self.accounts.all()]})

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
        body = self.json_body()
        role = body.get("role", "student")
        # Only admins make admins or staff; staff create students and instructors.
        if role in ("admin", "staff") and self.actor.role != "admin":
            raise APIError(403, f"only an admin may create a {role} account")
        password = body.get("password")
        for field in ("name", "display_name", "email"):
            if not isinstance(body.get(field, ""), str):
                raise APIError(400, f"{field} must be a string", field=field)
            clean_text(body.get(field, ""), field)
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
