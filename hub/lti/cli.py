"""`nbcampus lti ...`: register platforms, deployments and LTI 1.1 consumers; show the tool's
URLs; watch and retry the grade passback outbox; sync a roster."""

from __future__ import annotations

import argparse
import asyncio
import json

from nbcampus.settings import Settings

from .keys import ToolKey
from .orm import OUTBOX_STATUSES
from .store import LtiStore, LtiStoreError


def _store(settings: Settings) -> LtiStore:
    from nbcampus.cli import check_data_dir

    check_data_dir(settings)
    return LtiStore.open(settings.database_url("lti"))


def _fail(message: str) -> int:
    from nbcampus.cli import StartupError

    raise StartupError(message)


def cmd_add_platform(args: argparse.Namespace) -> int:
    try:
        reg = _store(Settings.from_env()).add_platform(
            args.issuer,
            args.client_id,
            args.jwks_url,
            args.auth_login_url,
            args.auth_token_url or "",
            args.deployment_id or [],
            args.name or "",
        )
    except LtiStoreError as err:
        return _fail(str(err))
    print(
        json.dumps(
            {
                "issuer": reg.issuer,
                "client_id": reg.client_id,
                "deployments": sorted(reg.deployment_ids),
            }
        )
    )
    return 0


def cmd_add_deployment(args: argparse.Namespace) -> int:
    try:
        reg = _store(Settings.from_env()).add_deployment(
            args.issuer, args.client_id, args.deployment_id
        )
    except LtiStoreError as err:
        return _fail(str(err))
    print(json.dumps({"issuer": reg.issuer, "deployments": sorted(reg.deployment_ids)}))
    return 0


def cmd_remove_platform(args: argparse.Namespace) -> int:
    try:
        _store(Settings.from_env()).remove_platform(args.issuer, args.client_id)
    except LtiStoreError as err:
        return _fail(str(err))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    store = _store(Settings.from_env())
    for reg in store.platforms():
        deps = ",".join(sorted(reg.deployment_ids)) or "-"
        print(f"lti1.3  {reg.issuer}  client={reg.client_id}  deployments={deps}  {reg.name}")
    for consumer in store.consumers():
        print(f"lti1.1  key={consumer.key}  {consumer.name}")
    return 0


def cmd_add_consumer(args: argparse.Namespace) -> int:
    try:
        consumer = _store(Settings.from_env()).add_consumer(args.key, args.secret, args.name)
    except LtiStoreError as err:
        return _fail(str(err))
    print(json.dumps({"key": consumer.key, "secret": consumer.secret}))
    return 0


def cmd_urls(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    base = settings.bind_url
    key = ToolKey.load_or_create(settings.secrets_dir)
    print(
        json.dumps(
            {
                "tool_url (Moodle) / target_link_uri": base + "hub/home",
                "initiate_login_url": base + "hub/lti13/login",
                "redirection_uri": base + "hub/lti13/launch",
                "public_keyset_url": base + "hub/lti13/jwks",
                "canvas_config_url": base + "hub/lti13/config",
                "lti11_launch_url": base + "hub/lti11/launch",
                "key_id": key.kid,
            },
            indent=1,
        )
    )
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    from .passback import Outbox, PassbackSender

    settings = Settings.from_env()
    store = _store(settings)
    outbox = Outbox(store.factory)
    if args.retry:
        print(f"{outbox.retry_now()} unsent item(s) due now")
        sender = PassbackSender(store.factory, ToolKey.load_or_create(settings.secrets_dir))
        print(f"{asyncio.run(sender.drain())} item(s) sent")
    for item in outbox.items(args.status):
        print(json.dumps(item))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Test from the campus side what the LMS set-up needs; non-zero exit on problems."""
    from .diagnose import check_campus

    settings = Settings.from_env()
    store = _store(settings)
    key = ToolKey.load_or_create(settings.secrets_dir)
    findings = check_campus(settings.bind_url, key, store.platforms())
    for f in findings:
        print(f"{f.status.upper():4}  {f.what}" + (f": {f.detail}" if f.detail else ""))
        if f.fix:
            print(f"      fix: {f.fix}")
    failed = sum(f.status == "fail" for f in findings)
    print(f"{failed} problem(s), {sum(f.status == 'warn' for f in findings)} warning(s)")
    return 1 if failed else 0


def _context_pk(store: LtiStore, ref: str) -> int:
    """An LMS course by its campus id (GET /hub/lti/contexts) or by the LMS's context id."""
    from sqlalchemy import select

    from .orm import Context

    with store.factory() as session:
        if ref.isdigit() and session.get(Context, int(ref)) is not None:
            return int(ref)
        ids = list(session.scalars(select(Context.id).where(Context.context_id == ref)))
    if len(ids) == 1:
        return ids[0]
    if ids:
        _fail(f"several LMS courses have the context id {ref!r}; give the campus id: {ids}")
    return _fail(f"no LMS course {ref!r}; `nbcampus lti contexts` lists them")


def cmd_contexts(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from .orm import Context

    with _store(Settings.from_env()).factory() as session:
        for c in session.scalars(select(Context).order_by(Context.id)):
            nrps = "roster" if c.memberships_url else "no-roster"
            print(f"{c.id}  {c.source}  {c.context_id}  {nrps}  {c.title}")
    return 0


def cmd_sync_roster(args: argparse.Namespace) -> int:
    """The roster sync of POST /hub/lti/contexts/<id>/roster, from the command line."""
    import requests

    from nbcampus.db import make_engine, session_factory

    from .auth import LtiCampusAuthenticator
    from .passback import PassbackError, PassbackSender
    from .provision import AccountProvisioner, CampusClassAdapter
    from .roster import RosterSync

    settings = Settings.from_env()
    store = _store(settings)
    context_pk = _context_pk(store, args.context)
    campus = session_factory(make_engine(settings.database_url("campus")))
    sync = RosterSync(
        store,
        PassbackSender(store.factory, ToolKey.load_or_create(settings.secrets_dir)),
        AccountProvisioner(campus),
        CampusClassAdapter(
            campus, store.factory, LtiCampusAuthenticator.class_capacity.default_value
        ),
    )
    try:
        change = sync.sync(context_pk)
    except (PassbackError, requests.RequestException) as err:
        return _fail(f"roster sync of LMS course {context_pk} failed: {err}")
    print(json.dumps({"context": context_pk, **change.__dict__}))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    lti = sub.add_parser("lti", help="LTI platforms, consumers and grade passback")
    acts = lti.add_subparsers(dest="lti_command", metavar="ACTION", required=True)

    p = acts.add_parser("add-platform", help="register an LTI 1.3 platform (or update it)")
    p.add_argument("--issuer", required=True, help="the platform's issuer (iss)")
    p.add_argument("--client-id", required=True, help="the client id the platform gave the tool")
    p.add_argument("--jwks-url", required=True, help="the platform's public keyset URL")
    p.add_argument("--auth-login-url", required=True, help="the platform's OIDC auth URL")
    p.add_argument("--auth-token-url", help="the platform's OAuth2 token URL (AGS, NRPS)")
    p.add_argument("--deployment-id", action="append", help="a deployment id (repeatable)")
    p.add_argument("--name", help="a label for people")
    p.set_defaults(func=cmd_add_platform)

    p = acts.add_parser("add-deployment", help="allow another deployment id of a platform")
    p.add_argument("--issuer", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("deployment_id")
    p.set_defaults(func=cmd_add_deployment)

    p = acts.add_parser("remove-platform", help="forget a platform registration")
    p.add_argument("--issuer", required=True)
    p.add_argument("--client-id", required=True)
    p.set_defaults(func=cmd_remove_platform)

    p = acts.add_parser("add-consumer", help="create an LTI 1.1 consumer key; prints the secret")
    p.add_argument("key")
    p.add_argument("--secret", help="the shared secret (default: a generated one)")
    p.add_argument("--name", default="")
    p.set_defaults(func=cmd_add_consumer)

    acts.add_parser("list", help="list platforms and consumers").set_defaults(func=cmd_list)
    acts.add_parser("urls", help="the URLs to enter in the LMS").set_defaults(func=cmd_urls)

    acts.add_parser(
        "check",
        help="test the LMS set-up from the campus: key set served, platform URLs, token request",
    ).set_defaults(func=cmd_check)
    acts.add_parser("contexts", help="list the LMS courses seen").set_defaults(func=cmd_contexts)
    p = acts.add_parser("sync-roster", help="sync an LMS course's roster now (NRPS)")
    p.add_argument("context", help="the course's campus id (lti contexts) or LMS context id")
    p.set_defaults(func=cmd_sync_roster)

    p = acts.add_parser("outbox", help="show grades on their way to the LMS")
    p.add_argument(
        "--retry", action="store_true", help="send every unsent item now, failed ones too"
    )
    p.add_argument("--status", choices=OUTBOX_STATUSES, help="only the items of this status")
    p.set_defaults(func=cmd_outbox)
