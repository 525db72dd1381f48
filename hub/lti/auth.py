"""The campus authenticator with LTI: local passwords on the login page, plus LTI 1.3 and
LTI 1.1 launches from any number of registered platforms.

Switched on by NBCAMPUS_LTI=1 (see jupyterhub_config.py). Platforms and LTI 1.1 consumers
come from `nbcampus lti ...` (stored in the LTI database) and from the traits below.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tornado import web
from traitlets import Bool, Dict, Float, Integer, List, Unicode, default

from nbcampus.db import make_engine, session_factory
from nbcampus.hub.auth import CampusAuthenticator
from nbcampus.settings import Settings

from . import validators as v
from .handlers import LAUNCH_KEY, default_handlers
from .keys import ToolKey
from .migration import lti11_identity
from .orm import ResourceLink
from .provision import (
    AccountProvisioner,
    CampusClassAdapter,
    CourseLinkAdapter,
    context_role,
    school_role,
)
from .store import LtiStore

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class Launch:
    """A verified launch, handed from the launch handler to `authenticate`.

    Login form data are strings, so a form can never pass for one of these.
    """

    username: str
    account_role: str
    context_role: str
    context_pk: int | None
    link: ResourceLink | None
    class_id: int | None = None  # the campus class of the LMS course, once it has one


class LtiCampusAuthenticator(CampusAuthenticator):
    """Local campus accounts and LTI 1.3 / 1.1 launches side by side."""

    lti_db_url = Unicode(
        help="SQLAlchemy URL of the LTI database (registrations, nonces, links, passback "
        "outbox). Default: from NBCAMPUS_DB_URL, or lti.sqlite in the data directory.",
    ).tag(config=True)

    public_url = Unicode(
        help="""The campus's public URL with its base path, as the LMS and browsers see it
        (default NBCAMPUS_BIND_URL). Redirect URIs, the JWKS URL and LTI 1.1 signature
        checks are built from it, and target_link_uri must point under it.""",
    ).tag(config=True)

    platforms = List(
        Dict(),
        help="""LTI 1.3 platforms registered at start, each a dict with issuer, client_id,
        jwks_url, auth_login_url, auth_token_url, deployment_ids (list) and name. The same
        as `nbcampus lti add-platform`; both end up in the LTI database.""",
    ).tag(config=True)

    lti11_consumers = Dict(
        help="LTI 1.1 consumer keys and their shared secrets, {key: secret}, registered at "
        "start (as `nbcampus lti add-consumer`).",
    ).tag(config=True)

    key_dir = Unicode(
        help="Directory of the tool's private signing key (created 0600 on first start). "
        "Default: the data directory's secrets folder.",
    ).tag(config=True)

    courses_dir = Unicode(
        help="Folder of the course folders that the deep-linking picker offers "
        "(default NBCAMPUS_COURSES_DIR, or the courses/ folder of the nbcampus checkout).",
    ).tag(config=True)

    tool_title = Unicode("nbcampus", help="The tool's name shown in the LMS.").tag(config=True)

    tool_description = Unicode(
        "Notebook lessons and autograded exercises in JupyterLab",
        help="The tool's description shown in the LMS.",
    ).tag(config=True)

    clock_leeway = Integer(
        60, help="Seconds of clock difference tolerated between the LMS and this server."
    ).tag(config=True)

    class_capacity = Integer(
        500,
        help="Capacity of the campus class created for an LMS course on its first "
        "instructor launch (the LMS decides who is in the course).",
    ).tag(config=True)

    allow_framing = Bool(
        True,
        help="Let the registered platforms (the origins of their issuer and authentication "
        "URLs) show the Hub in a frame: LTI launches and Deep Linking open in the LMS's page "
        "(Moodle's 'Select content' always does). Off: JupyterHub's frame-ancestors 'none'.",
    ).tag(config=True)

    frame_ancestors = List(
        Unicode(),
        help="More origins allowed to frame the Hub besides the registered platforms', e.g. "
        "a Canvas school's own host (https://school.instructure.com) where the issuer is "
        "https://canvas.instructure.com.",
    ).tag(config=True)

    passback_interval = Float(
        30,
        help="Seconds between runs of the grade passback retry loop in the Hub (0: off).",
    ).tag(config=True)

    @default("lti_db_url")
    def _lti_db_default(self) -> str:
        return Settings.from_env().database_url("lti")

    @default("public_url")
    def _public_url_default(self) -> str:
        return Settings.from_env().bind_url

    @default("key_dir")
    def _key_dir_default(self) -> str:
        return str(Settings.from_env().secrets_dir)

    @default("courses_dir")
    def _courses_default(self) -> str:
        return os.environ.get("NBCAMPUS_COURSES_DIR") or str(REPO / "courses")

    # --- parts ------------------------------------------------------------------------------
    @cached_property
    def store(self) -> LtiStore:
        store = LtiStore(session_factory(make_engine(self.lti_db_url)))
        for p in self.platforms:
            store.add_platform(
                p["issuer"],
                p["client_id"],
                p["jwks_url"],
                p["auth_login_url"],
                p.get("auth_token_url", ""),
                list(p.get("deployment_ids", [])),
                p.get("name", ""),
            )
        for key, secret in self.lti11_consumers.items():
            if store.consumer(key) is None:
                store.add_consumer(key, secret)
        return store

    @cached_property
    def tool_key(self) -> ToolKey:
        return ToolKey.load_or_create(Path(self.key_dir))

    @cached_property
    def id_token_validator(self) -> v.IdTokenValidator:
        return v.IdTokenValidator(self.store, v.JWKSCache(), self.store, leeway=self.clock_leeway)

    @cached_property
    def oauth1_validator(self) -> v.OAuth1LaunchValidator:
        return v.OAuth1LaunchValidator(self.store.consumer, self.store)

    @cached_property
    def target_links(self) -> v.TargetLinkValidator:
        return v.TargetLinkValidator(self.public_url)

    @cached_property
    def provisioner(self) -> AccountProvisioner:
        return AccountProvisioner(self.store_campus)

    @cached_property
    def store_campus(self):  # type: ignore[no-untyped-def]
        return session_factory(make_engine(self.db_url))

    @cached_property
    def classes(self) -> CampusClassAdapter:
        return CampusClassAdapter(
            self.store_campus, self.store.factory, self.class_capacity, log=self.log
        )

    @cached_property
    def links(self) -> CourseLinkAdapter:
        return CourseLinkAdapter(self.store.factory)

    @cached_property
    def sender(self):  # type: ignore[no-untyped-def]
        from .passback import PassbackSender

        return PassbackSender(self.store.factory, self.tool_key, log=self.log)

    @cached_property
    def roster(self):  # type: ignore[no-untyped-def]
        from .roster import RosterSync

        return RosterSync(self.store, self.sender, self.provisioner, self.classes)

    def contexts(self) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from .orm import Context

        with self.store.factory() as session:
            rows = session.scalars(select(Context).order_by(Context.id))
            return [
                {
                    "id": c.id,
                    "source": c.source,
                    "context_id": c.context_id,
                    "title": c.title,
                    "course": c.course,
                    "roster_service": bool(c.memberships_url),
                }
                for c in rows
            ]

    def members(self, context_pk: int) -> list[dict[str, str]]:
        from sqlalchemy import select

        from .orm import Member

        with self.store.factory() as session:
            rows = session.scalars(
                select(Member).where(Member.context_pk == context_pk).order_by(Member.username)
            )
            return [{"user": m.username, "role": m.role, "status": m.status} for m in rows]

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def launch_url(self) -> str:
        return self.public_url + "hub/lti13/launch"

    @property
    def courses_path(self) -> Path:
        return Path(self.courses_dir)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Database and network work off the Hub's event loop."""
        return await asyncio.to_thread(fn, *args)

    # --- launches -> campus state -------------------------------------------------------------
    def record_lti13_launch(self, claims: dict[str, Any], reg: v.Registration) -> Launch:
        hint = str(claims.get("email") or claims.get("name") or "")
        # the same person's LTI 1.1 identity, when the launch names it in a signed lti1p1 claim
        linked = lti11_identity(claims, reg.client_id, self.store.consumer)
        username, _ = self.store.username_for(reg.issuer, claims["sub"], hint, linked)
        role = context_role(claims.get(v.CLAIM_ROLES))
        school = school_role(claims.get(v.CLAIM_ROLES))
        name = str(
            claims.get("name")
            or " ".join(str(claims.get(k) or "") for k in ("given_name", "family_name")).strip()
        )
        person = self.provisioner.ensure(username, school, name, str(claims.get("email") or ""))
        context = (
            claims.get(v.CLAIM_CONTEXT) if isinstance(claims.get(v.CLAIM_CONTEXT), dict) else {}
        )
        ags = claims.get(v.CLAIM_AGS) if isinstance(claims.get(v.CLAIM_AGS), dict) else {}
        nrps = claims.get(v.CLAIM_NRPS) if isinstance(claims.get(v.CLAIM_NRPS), dict) else {}
        context_pk = None
        link = None
        class_id = None
        if context.get("id"):
            context_pk = self.links.context(
                f"lti13:{reg.id}",
                str(context["id"]),
                str(context.get("title") or ""),
                str(context.get("label") or ""),
                creator=username,
                lineitems_url=str(ags.get("lineitems") or ""),
                memberships_url=str(nrps.get("context_memberships_url") or ""),
            )
            self.links.join(context_pk, username, claims["sub"], role)
            resource = claims.get(v.CLAIM_RESOURCE_LINK)
            if isinstance(resource, dict) and resource.get("id"):
                custom = (
                    claims.get(v.CLAIM_CUSTOM)
                    if isinstance(claims.get(v.CLAIM_CUSTOM), dict)
                    else {}
                )
                link = self.links.resource_link(
                    context_pk,
                    str(resource["id"]),
                    str(resource.get("title") or ""),
                    custom=custom,
                    lineitem_url=str(ags.get("lineitem") or ""),
                )
            class_id = self.classes.ensure(context_pk, username, role, school)
        return Launch(person.username, person.role, role, context_pk, link, class_id)

    def record_lti11_launch(self, params: dict[str, str], consumer: v.Consumer) -> Launch:
        hint = params.get("lis_person_contact_email_primary") or params.get(
            "lis_person_name_full", ""
        )
        subject = params.get("user_id") or ""
        if not subject:
            raise v.LtiValidationError("MISSING_PARAMETER", "LTI 1.1 launch lacks user_id")
        username, _ = self.store.username_for("lti11:" + consumer.key, subject, hint)
        role = context_role(params.get("roles", ""))
        school = school_role(params.get("roles", ""))
        person = self.provisioner.ensure(
            username,
            school,
            params.get("lis_person_name_full", ""),
            params.get("lis_person_contact_email_primary", ""),
        )
        context_id = params.get("context_id") or "link:" + params["resource_link_id"]
        context_pk = self.links.context(
            f"lti11:{consumer.key}",
            context_id,
            params.get("context_title", ""),
            params.get("context_label", ""),
            creator=username,
        )
        self.links.join(context_pk, username, subject, role)
        custom = {k[len("custom_") :]: val for k, val in params.items() if k.startswith("custom_")}
        link = self.links.resource_link(
            context_pk,
            params["resource_link_id"],
            params.get("resource_link_title", ""),
            custom=custom,
            outcome_url=params.get("lis_outcome_service_url", ""),
        )
        self.links.outcome_id(link.id, username, params.get("lis_result_sourcedid", ""))
        class_id = self.classes.ensure(context_pk, username, role, school)
        return Launch(person.username, person.role, role, context_pk, link, class_id)

    async def authenticate(self, handler: web.RequestHandler, data: dict[str, Any]) -> Any:
        launch = data.get(LAUNCH_KEY) if isinstance(data, dict) else None
        if isinstance(launch, Launch):
            return {"name": launch.username}
        return await super().authenticate(handler, data)

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        # the Hub asks for its handlers once, on its running event loop
        self.start_passback_loop()
        if self.allow_framing:
            from . import framing

            origins = framing.FrameOrigins(self.store.platforms, self.frame_ancestors)
            framing.install(app, origins, https=self.public_url.startswith("https:"))
        from .roster_page import page_handlers  # the "Sync roster" page

        return super().get_handlers(app) + default_handlers() + page_handlers()

    def start_passback_loop(self) -> Any:
        """Retry grades that could not reach their LMS, from the Hub's event loop; returns the
        tornado PeriodicCallback (None when switched off)."""
        if self.passback_interval <= 0:
            return None
        from tornado.ioloop import PeriodicCallback

        sender = self.sender

        async def tick() -> None:
            try:
                await sender.drain()
            except Exception:  # a broken LMS must never stop the loop
                self.log.exception("LTI passback retry loop failed")

        loop = PeriodicCallback(tick, self.passback_interval * 1000)
        loop.start()
        return loop
