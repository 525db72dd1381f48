"""The Hub's LTI endpoints: OIDC login initiation and launch (1.3), basic launch (1.1), the
tool's JWKS and Canvas JSON configuration, the deep-linking picker, and staff views.

Handlers only move data between HTTP and the plain classes: validation is in `validators`,
provisioning in `provision`, persistence in `store`. Every refusal is a JSON error with a
stable code, a 4xx status, and a log line.
"""

from __future__ import annotations

import json
import time
import uuid
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from jupyterhub import orm as hub_orm
from jupyterhub.handlers import BaseHandler
from tornado import web

from nbcampus.hub.roles import ROLES, role_group
from nbcampus.hub.throttle import Throttled, client_address
from nbcampus.web import APIError

from . import framing
from . import validators as v
from .catalog import find_target, link_targets

if TYPE_CHECKING:
    from .auth import LtiCampusAuthenticator

STATE_COOKIE = "nbcampus-lti-state"
DEEP_LINK_COOKIE = "nbcampus-lti-deep-link"


class LtiHandler(BaseHandler):
    """JSON errors for LTI refusals; LMS posts are cross-site, so no XSRF check on them."""

    @property
    def lti(self) -> LtiCampusAuthenticator:
        return self.authenticator  # type: ignore[return-value]

    def check_xsrf_cookie(self) -> None:
        # Launches are cross-site form posts signed by the platform; their protection is the
        # signature, the state cookie and the nonce, not an XSRF token.
        return

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        lti_error = getattr(exc, "lti_error", None)
        if isinstance(lti_error, v.LtiValidationError):
            body = {"code": lti_error.code, "message": lti_error.message}
        elif isinstance(exc, APIError):
            body = {"code": exc.code, "message": exc.message}
        elif isinstance(exc, web.HTTPError) and status_code < 500:
            body = {"code": "LTI_ERROR", "message": exc.log_message or exc.reason or "refused"}
        else:
            body = {"code": "INTERNAL_ERROR", "message": "the launch failed; see the Hub log"}
        if isinstance(exc, Throttled):
            self.set_header("Retry-After", str(exc.retry_after))
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body))

    def refuse(self, err: v.LtiValidationError) -> web.HTTPError:
        self.log.warning(
            "LTI launch refused (%s) from %s: %s", err.code, self.request.remote_ip, err.message
        )
        return _Refusal(err)

    def form(self) -> dict[str, str]:
        return {k: vals[0].decode("utf-8", "replace") for k, vals in self.request.arguments.items()}

    def set_lti_cookie(self, name: str, value: str) -> None:
        https = self.lti.public_url.startswith("https:")
        # An LMS shows the tool in an iframe or opens it from its own origin: the browser
        # only sends the cookie back on the cross-site form post with SameSite=None.
        extra = {"samesite": "None", "secure": True} if https else {"samesite": "Lax"}
        self.set_secure_cookie(
            name, value, expires_days=None, httponly=True, path=self.hub.base_url, **extra
        )

    async def is_office(self, user: Any) -> bool:
        """Staff or admin, from the campus's accounts (Hub admins are admins)."""
        if user.admin:
            return True
        account = await self.lti.run(self.lti.provisioner.accounts.get, user.name)
        return account is not None and account.active and account.role in ("staff", "admin")

    async def sync_groups(self, username: str, role: str) -> None:
        """Put the user in the Hub group of their campus role (and out of the others)."""
        user = self.find_user(username)
        if user is None:
            return
        wanted = role_group(role)
        changed = False
        for name in (role_group(r) for r in ROLES):
            group = hub_orm.Group.find(self.db, name)
            if group is None:
                group = hub_orm.Group(name=name)
                self.db.add(group)
            member = group in user.orm_user.groups
            if name == wanted and not member:
                user.orm_user.groups.append(group)
                changed = True
            elif name != wanted and member:
                user.orm_user.groups.remove(group)
                changed = True
        if changed:
            self.db.commit()

    async def sync_class_group(self, class_id: int | None) -> None:
        """A launch may have created or joined a campus class: its Hub group follows through
        the campus's own group sync, as after a change made through the campus API."""
        if class_id is None:
            return
        from nbcampus.hub.campus.hubsync import HubDbGroups, sync_class

        groups = HubDbGroups(self.db, lambda name: self.user_from_username(name).orm_user)
        await sync_class(self.lti.store_campus, class_id, groups)

    def launch_redirect(self, username: str, link: Any, target: str) -> str:
        """A link deep-linked to a lesson opens that lesson in the user's JupyterLab: the
        server part's `nbcampus/open/<course>/<lesson>[/<exercise>]` fetches the lesson's
        released files into the home (as the Campus panel's Open does) and redirects to the
        notebook, or to the Campus panel when there is none to open."""
        if link is not None and link.course and link.lesson:
            path = f"{link.course}/{link.lesson}"
            if link.exercise:
                path += f"/{link.exercise}"
            return self.hub.base_url + "user-redirect/nbcampus/open/" + quote(path)
        return target


class _Refusal(web.HTTPError):
    def __init__(self, err: v.LtiValidationError) -> None:
        super().__init__(err.status, err.message.replace("%", "%%"))
        self.lti_error = err

    @property
    def code(self) -> str:
        return self.lti_error.code


class Lti13LoginHandler(LtiHandler):
    """OIDC third-party login initiation: remember state and nonce, send the browser on."""

    async def get(self) -> None:
        await self.post()

    async def post(self) -> None:
        args = self.form()
        try:
            for name in ("iss", "login_hint", "target_link_uri"):
                if not args.get(name):
                    raise v.LtiValidationError(
                        "MISSING_PARAMETER", f"login initiation lacks {name}"
                    )
            reg = await self.lti.run(
                self.lti.store.find_for_login,
                args["iss"],
                args.get("client_id"),
                args.get("lti_deployment_id"),
            )
            if reg is None or reg.id is None:
                raise v.LtiValidationError(
                    "UNKNOWN_ISSUER",
                    f"no platform is registered for issuer {args['iss']!r}"
                    + (f" and client id {args['client_id']!r}" if args.get("client_id") else ""),
                    401,
                )
            target = self.lti.target_links.check(args["target_link_uri"])
        except v.LtiValidationError as err:
            raise self.refuse(err) from None
        if (
            self.request.headers.get("Sec-Fetch-Dest") == framing.FRAME_DEST
            and framing.PROBE_FIELD not in args
        ):
            # in the LMS's frame: check that the browser keeps our cookie here first, or
            # offer a new window (framing.cookie_check_page)
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Cache-Control", "no-store")
            https = self.lti.public_url.startswith("https:")
            action = self.hub.base_url + "lti13/login"
            self.finish(framing.cookie_check_page(action, args, https))
            return
        state, nonce = await self.lti.run(self.lti.store.begin_login, reg.id, target)
        self.set_lti_cookie(STATE_COOKIE, state)
        params = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
            "client_id": reg.client_id,
            "redirect_uri": self.lti.launch_url,
            "login_hint": args["login_hint"],
            "state": state,
            "nonce": nonce,
        }
        if args.get("lti_message_hint"):
            params["lti_message_hint"] = args["lti_message_hint"]
        sep = "&" if "?" in reg.auth_login_url else "?"
        self.redirect(reg.auth_login_url + sep + urlencode(params))


class Lti13LaunchHandler(LtiHandler):
    """The platform's form post of the signed id_token (the OIDC redirect_uri)."""

    async def get(self) -> None:
        raise self.refuse(
            v.LtiValidationError("METHOD_NOT_ALLOWED", "launches are form posts", 405)
        )

    async def post(self) -> None:
        args = self.form()
        cookie = self.get_secure_cookie(STATE_COOKIE, max_age_days=1)
        self.clear_cookie(STATE_COOKIE, path=self.hub.base_url)
        try:
            state = v.StateValidator.check(args.get("state"), cookie.decode() if cookie else None)
            pending = await self.lti.run(self.lti.store.finish_login, state)
            if pending is None:
                raise v.LtiValidationError(
                    "STATE_MISMATCH", "the launch state is unknown, used or expired", 401
                )
            nonce, platform_pk, target = pending
            if not args.get("id_token"):
                raise v.LtiValidationError("MISSING_PARAMETER", "the launch carries no id_token")
            claims, reg = await self.lti.run(
                self.lti.id_token_validator.validate, args["id_token"], nonce
            )
            if reg.id != platform_pk:
                raise v.LtiValidationError(
                    "STATE_MISMATCH", "the id_token comes from another platform than the login"
                )
            target = self.lti.target_links.check(claims.get(v.CLAIM_TARGET_LINK_URI) or target)
        except v.LtiValidationError as err:
            raise self.refuse(err) from None

        launch = await self.lti.run(self.lti.record_lti13_launch, claims, reg)
        user = await self.login_user({LAUNCH_KEY: launch})
        if user is None:
            raise web.HTTPError(403, "the campus refused this account")
        await self.sync_groups(launch.username, launch.account_role)
        await self.sync_class_group(launch.class_id)
        self.log.info(
            "LTI 1.3 launch: %s (%s) from %s, context %s",
            launch.username,
            launch.context_role,
            reg.issuer,
            launch.context_pk,
        )
        if claims.get(v.CLAIM_MESSAGE_TYPE) == v.DEEP_LINKING_REQUEST:
            return await self.start_deep_linking(claims, reg, launch)
        self.redirect(self.launch_redirect(launch.username, launch.link, target))

    async def start_deep_linking(
        self, claims: dict[str, Any], reg: v.Registration, launch: Any
    ) -> None:
        if launch.context_role != "instructor" and launch.account_role not in ("staff", "admin"):
            raise self.refuse(
                v.LtiValidationError(
                    "FORBIDDEN", "only instructors may add nbcampus content to a course", 403
                )
            )
        settings = claims[v.CLAIM_DL_SETTINGS]
        pending = {
            "platform": reg.id,
            "deployment_id": claims[v.CLAIM_DEPLOYMENT_ID],
            "return_url": settings["deep_link_return_url"],
            "data": settings.get("data"),
            "user": launch.username,
        }
        self.set_lti_cookie(DEEP_LINK_COOKIE, json.dumps(pending))
        self.redirect(self.hub.base_url + "lti/deep-link")


LAUNCH_KEY = "_nbcampus_lti_launch"


class Lti11LaunchHandler(LtiHandler):
    """LTI 1.1 basic launch: OAuth1-signed form post."""

    async def post(self) -> None:
        args = self.form()
        url = self.lti.public_origin + self.request.path
        # Refused launches (bad signature, unknown key, stale or replayed) count against the
        # client's address with its failed logins. Not against the consumer key: the key is
        # no secret, and a lock on it would let anyone stop every launch of that LMS.
        address = client_address(self)
        try:
            self.lti.throttle.begin(address=address)
        except Throttled as err:
            self.log.warning("LTI 1.1 launch throttled from %s", address)
            raise err from None
        try:
            params, consumer = await self.lti.run(self.lti.oauth1_validator.validate, url, args)
            target = self.lti.target_links.check(
                params.get("custom_target_link_uri") or self.lti.public_url + "hub/home"
            )
        except v.LtiValidationError as err:
            raise self.refuse(err) from None
        self.lti.throttle.succeeded(address=address)
        launch = await self.lti.run(self.lti.record_lti11_launch, params, consumer)
        user = await self.login_user({LAUNCH_KEY: launch})
        if user is None:
            raise web.HTTPError(403, "the campus refused this account")
        await self.sync_groups(launch.username, launch.account_role)
        await self.sync_class_group(launch.class_id)
        self.log.info("LTI 1.1 launch: %s from consumer %s", launch.username, consumer.key)
        self.redirect(self.launch_redirect(launch.username, launch.link, target))


class JWKSHandler(LtiHandler):
    async def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "max-age=300")
        self.finish(json.dumps(self.lti.tool_key.jwks()))


class CanvasConfigHandler(LtiHandler):
    """Canvas "developer key by URL": the tool's settings as JSON."""

    async def get(self) -> None:
        lti = self.lti
        home = lti.public_url + "hub/home"
        body = {
            "title": lti.tool_title,
            "description": lti.tool_description,
            "oidc_initiation_url": lti.public_url + "hub/lti13/login",
            "target_link_uri": home,
            "public_jwk_url": lti.public_url + "hub/lti13/jwks",
            "scopes": [
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
                "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
                "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
            ],
            "extensions": [
                {
                    "platform": "canvas.instructure.com",
                    "privacy_level": "public",
                    "settings": {
                        "platform": "canvas.instructure.com",
                        "placements": [
                            {
                                "placement": "link_selection",
                                "message_type": "LtiDeepLinkingRequest",
                                "target_link_uri": lti.launch_url,
                            },
                            {
                                "placement": "assignment_selection",
                                "message_type": "LtiDeepLinkingRequest",
                                "target_link_uri": lti.launch_url,
                            },
                            {
                                "placement": "course_navigation",
                                "message_type": "LtiResourceLinkRequest",
                                "target_link_uri": home,
                                "windowTarget": "_blank",
                            },
                        ],
                    },
                }
            ],
            "custom_fields": {},
        }
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, indent=1))


class DeepLinkHandler(LtiHandler):
    """The picker: an instructor chooses a lesson or exercise; the LMS gets a signed reply."""

    def pending(self) -> dict[str, Any]:
        raw = self.get_secure_cookie(DEEP_LINK_COOKIE, max_age_days=1)
        user = self.current_user
        if user is None:
            raise self.refuse(v.LtiValidationError("UNAUTHORIZED", "log in through the LMS", 401))
        try:
            pending = json.loads(raw) if raw else None
        except ValueError:
            pending = None
        if not pending or pending.get("user") != user.name:
            raise self.refuse(
                v.LtiValidationError(
                    "NO_DEEP_LINKING", "no deep-linking request from the LMS is in progress"
                )
            )
        return pending

    async def get(self) -> None:
        self.pending()
        # One group per course, its lessons with their graded exercises beneath (the Hub's
        # own page, as the LMS shows it in its "Select content" frame).
        courses: list[dict[str, Any]] = []
        for target in link_targets(self.lti.courses_path):
            if not courses or courses[-1]["slug"] != target.course:
                courses.append({"slug": target.course, "title": target.course_title, "targets": []})
            courses[-1]["targets"].append(target)
        html = await self.render_template(
            "nbcampus-lti-picker.html", courses=courses, xsrf=self.xsrf_token.decode()
        )
        self.finish(html)

    async def post(self) -> None:
        self.check_xsrf_cookie_for_picker()
        pending = self.pending()
        key = self.get_body_argument("target", "")
        target = find_target(self.lti.courses_path, key)
        if target is None:
            raise self.refuse(
                v.LtiValidationError("UNKNOWN_TARGET", f"no lesson or exercise {key!r}")
            )
        reg = await self.lti.run(self.lti.store.platform_by_id, int(pending["platform"]))
        if reg is None:
            raise self.refuse(v.LtiValidationError("UNKNOWN_ISSUER", "the platform is gone"))
        item: dict[str, Any] = {
            "type": "ltiResourceLink",
            "title": target.title,
            "url": self.lti.launch_url,
            "custom": {
                "nbcampus_course": target.course,
                "nbcampus_lesson": target.lesson,
                "nbcampus_exercise": target.exercise,
            },
        }
        if target.exercise and target.points > 0:
            item["lineItem"] = {
                "scoreMaximum": target.points,
                "label": target.title,
                "resourceId": target.key,
                "tag": "nbcampus",
            }
        now = int(time.time())
        claims = {
            "iss": reg.client_id,
            "aud": reg.issuer,
            "azp": reg.client_id,
            "iat": now,
            "exp": now + 600,
            "nonce": uuid.uuid4().hex,
            v.CLAIM_MESSAGE_TYPE: "LtiDeepLinkingResponse",
            v.CLAIM_VERSION: "1.3.0",
            v.CLAIM_DEPLOYMENT_ID: pending["deployment_id"],
            "https://purl.imsglobal.org/spec/lti-dl/claim/content_items": [item],
        }
        if pending.get("data") is not None:
            claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] = pending["data"]
        jwt_ = self.lti.tool_key.sign(claims)
        self.clear_cookie(DEEP_LINK_COOKIE, path=self.hub.base_url)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            "<!doctype html><html><head><meta charset='utf-8'><title>Returning to the LMS"
            "</title></head><body>"
            f"<form id='dl' method='post' action='{escape(pending['return_url'])}'>"
            f"<input type='hidden' name='JWT' value='{escape(jwt_)}'>"
            "<button type='submit'>Return to the course</button></form>"
            "<script>document.getElementById('dl').submit()</script></body></html>"
        )

    def check_xsrf_cookie_for_picker(self) -> None:
        # the picker's own form is same-site: here the Hub's XSRF protection applies
        BaseHandler.check_xsrf_cookie(self)


class OutboxHandler(LtiHandler):
    """Staff see every grade on its way to an LMS, with attempts and the last error
    (`?status=failed` or pending, sent, superseded for one kind)."""

    _accept_token_auth = True  # a JSON endpoint: Hub API tokens work as for /hub/api

    async def get(self) -> None:
        user = self.current_user
        if user is None:
            raise self.refuse(v.LtiValidationError("UNAUTHORIZED", "log in first", 401))
        if not await self.is_office(user):
            raise self.refuse(v.LtiValidationError("FORBIDDEN", "staff and admins only", 403))
        from .passback import STATUSES, Outbox

        status = self.get_argument("status", None)
        if status is not None and status not in STATUSES:
            raise self.refuse(
                v.LtiValidationError("BAD_STATUS", f"status must be one of {', '.join(STATUSES)}")
            )
        items = await self.lti.run(Outbox(self.lti.store.factory).items, status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"items": items}, default=str))


class ContextsHandler(LtiHandler):
    """The LMS courses seen in launches, with their campus course (staff and admins)."""

    _accept_token_auth = True  # a JSON endpoint: Hub API tokens work as for /hub/api

    async def get(self) -> None:
        user = self.current_user
        if user is None:
            raise self.refuse(v.LtiValidationError("UNAUTHORIZED", "log in first", 401))
        if not await self.is_office(user):
            raise self.refuse(v.LtiValidationError("FORBIDDEN", "staff and admins only", 403))
        contexts = await self.lti.run(self.lti.contexts)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"contexts": contexts}))


class RosterHandler(LtiHandler):
    """A course's LMS roster: GET lists it, POST syncs it from the LMS (NRPS).

    Staff and admins may do this for any course, instructors for the LMS courses they teach.
    """

    _accept_token_auth = True  # a JSON endpoint: Hub API tokens work as for /hub/api

    def check_xsrf_cookie(self) -> None:
        # a same-site action of a logged-in person: the Hub's XSRF protection applies
        BaseHandler.check_xsrf_cookie(self)

    async def allowed(self, context_pk: int) -> None:
        user = self.current_user
        if user is None:
            raise self.refuse(v.LtiValidationError("UNAUTHORIZED", "log in first", 401))
        if await self.is_office(user):
            return
        members = await self.lti.run(self.lti.members, context_pk)
        if not any(m["user"] == user.name and m["role"] == "instructor" for m in members):
            raise self.refuse(
                v.LtiValidationError("FORBIDDEN", "only this course's instructors and staff", 403)
            )

    async def get(self, context_pk: str) -> None:
        await self.allowed(int(context_pk))
        members = await self.lti.run(self.lti.members, int(context_pk))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"members": members}))

    async def post(self, context_pk: str) -> None:
        await self.allowed(int(context_pk))
        import requests

        from .passback import PassbackError

        try:
            change = await self.lti.run(self.lti.roster.sync, int(context_pk))
        except (PassbackError, requests.RequestException) as err:
            raise self.refuse(v.LtiValidationError("LMS_UNAVAILABLE", str(err), 409)) from None
        await self.sync_class_group(change.class_id)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(change.__dict__))


def default_handlers() -> list[tuple[str, type]]:
    return [
        (r"/lti13/login", Lti13LoginHandler),
        (r"/lti13/launch", Lti13LaunchHandler),
        (r"/lti13/jwks", JWKSHandler),
        (r"/lti13/config", CanvasConfigHandler),
        (r"/lti11/launch", Lti11LaunchHandler),
        (r"/lti/deep-link", DeepLinkHandler),
        (r"/lti/outbox", OutboxHandler),
        (r"/lti/contexts", ContextsHandler),
        (r"/lti/contexts/([0-9]{1,10})/roster", RosterHandler),
    ]
