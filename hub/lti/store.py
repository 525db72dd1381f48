"""Persistence of the LTI part: registrations, consumers, nonces, launch states, identities.

Shared by the Hub's authenticator, the `nbcampus lti` command line and the passback worker,
so the rules for each row live here once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from nbcampus.db import make_engine, prepare_database, session_factory, transaction

from . import orm
from .validators import Consumer, Registration

STATE_TTL = timedelta(minutes=10)


class LtiStoreError(ValueError):
    """A registration request that cannot be honoured."""


def _registration(row: orm.Platform) -> Registration:
    return Registration(
        issuer=row.issuer,
        client_id=row.client_id,
        jwks_url=row.jwks_url,
        auth_login_url=row.auth_login_url,
        auth_token_url=row.auth_token_url,
        deployment_ids=frozenset(d.deployment_id for d in row.deployments),
        name=row.name,
        id=row.id,
    )


class LtiStore:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    @classmethod
    def open(cls, url: str) -> LtiStore:
        """A store on a database brought to the newest LTI schema (created when empty)."""
        engine = make_engine(url)
        prepare_database(engine, url, orm.MIGRATIONS)
        return cls(session_factory(engine))

    # --- platforms (LTI 1.3) ------------------------------------------------------------------
    def add_platform(
        self,
        issuer: str,
        client_id: str,
        jwks_url: str,
        auth_login_url: str,
        auth_token_url: str = "",
        deployment_ids: list[str] | tuple[str, ...] = (),
        name: str = "",
    ) -> Registration:
        """Register a platform, or update the endpoints of a known (issuer, client id)."""
        for label, value in (("issuer", issuer), ("client id", client_id)):
            if not value or len(value) > 500:
                raise LtiStoreError(f"{label} must be 1-500 characters")
        for label, url in (
            ("JWKS URL", jwks_url),
            ("authentication URL", auth_login_url),
            ("token URL", auth_token_url),
        ):
            if url and not re.match(r"^https?://[^\s/]+", url):
                raise LtiStoreError(f"{label} {url!r} is not an http(s) URL")
        if not jwks_url or not auth_login_url:
            raise LtiStoreError("a platform needs its JWKS URL and authentication URL")
        with transaction(self.factory) as session:
            row = session.scalar(
                select(orm.Platform).where(
                    orm.Platform.issuer == issuer, orm.Platform.client_id == client_id
                )
            )
            if row is None:
                row = orm.Platform(issuer=issuer, client_id=client_id)
                session.add(row)
            row.jwks_url = jwks_url
            row.auth_login_url = auth_login_url
            row.auth_token_url = auth_token_url
            row.name = name or row.name or issuer
            known = {d.deployment_id for d in row.deployments}
            for dep in deployment_ids:
                if dep not in known:
                    row.deployments.append(orm.Deployment(deployment_id=dep))
                    known.add(dep)
            session.flush()
            return _registration(row)

    def add_deployment(self, issuer: str, client_id: str, deployment_id: str) -> Registration:
        with transaction(self.factory) as session:
            row = self._platform(session, issuer, client_id)
            if deployment_id not in {d.deployment_id for d in row.deployments}:
                row.deployments.append(orm.Deployment(deployment_id=deployment_id))
            session.flush()
            return _registration(row)

    def remove_platform(self, issuer: str, client_id: str) -> None:
        with transaction(self.factory) as session:
            session.delete(self._platform(session, issuer, client_id))

    @staticmethod
    def _platform(session: Session, issuer: str, client_id: str) -> orm.Platform:
        row = session.scalar(
            select(orm.Platform).where(
                orm.Platform.issuer == issuer, orm.Platform.client_id == client_id
            )
        )
        if row is None:
            raise LtiStoreError(f"no platform with issuer {issuer!r} and client id {client_id!r}")
        return row

    def platforms(self) -> list[Registration]:
        with self.factory() as session:
            rows = session.scalars(select(orm.Platform).order_by(orm.Platform.id))
            return [_registration(r) for r in rows]

    def by_issuer(self, issuer: str) -> list[Registration]:
        with self.factory() as session:
            rows = session.scalars(select(orm.Platform).where(orm.Platform.issuer == issuer))
            return [_registration(r) for r in rows]

    def platform_by_id(self, pk: int) -> Registration | None:
        with self.factory() as session:
            row = session.get(orm.Platform, pk)
            return _registration(row) if row else None

    def find_for_login(
        self, issuer: str, client_id: str | None, deployment_id: str | None
    ) -> Registration | None:
        """The registration an OIDC login initiation is for (client id optional, as in LTI)."""
        candidates = self.by_issuer(issuer)
        if client_id:
            candidates = [r for r in candidates if r.client_id == client_id]
        if deployment_id and len(candidates) > 1:
            candidates = [r for r in candidates if deployment_id in r.deployment_ids]
        return candidates[0] if len(candidates) == 1 else None

    # --- consumers (LTI 1.1) ------------------------------------------------------------------
    def add_consumer(self, key: str, secret: str | None = None, name: str = "") -> Consumer:
        if not key or len(key) > 200:
            raise LtiStoreError("consumer key must be 1-200 characters")
        secret = secret or secrets.token_urlsafe(32)
        try:
            with transaction(self.factory) as session:
                session.add(orm.Consumer(key=key, secret=secret, name=name))
        except IntegrityError:
            raise LtiStoreError(f"consumer key {key!r} exists already") from None
        return Consumer(key, secret, name)

    def consumer(self, key: str) -> Consumer | None:
        with self.factory() as session:
            row = session.scalar(select(orm.Consumer).where(orm.Consumer.key == key))
            return Consumer(row.key, row.secret, row.name) if row else None

    def consumers(self) -> list[Consumer]:
        with self.factory() as session:
            rows = session.scalars(select(orm.Consumer).order_by(orm.Consumer.key))
            return [Consumer(r.key, r.secret, r.name) for r in rows]

    # --- nonces -------------------------------------------------------------------------------
    def use(self, scope: str, nonce: str, ttl: int) -> bool:
        """Record a nonce; False when this (scope, nonce) was seen before.

        The unique constraint decides, so two launches racing with one nonce cannot both
        pass. Rows are kept until well after the token could still be valid.
        """
        now = datetime.now(UTC)
        try:
            with transaction(self.factory) as session:
                session.execute(delete(orm.Nonce).where(orm.Nonce.expires_at < now))
                session.add(
                    orm.Nonce(
                        scope=scope[:600],
                        value=nonce[:200],
                        expires_at=now + timedelta(seconds=ttl),
                    )
                )
        except IntegrityError:
            return False
        return True

    # --- OIDC login state ----------------------------------------------------------------------
    def begin_login(self, platform_id: int, target: str) -> tuple[str, str]:
        """A fresh (state, nonce) pair for an authentication request."""
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with transaction(self.factory) as session:
            session.execute(
                delete(orm.LaunchState).where(
                    orm.LaunchState.created_at < datetime.now(UTC) - STATE_TTL
                )
            )
            session.add(
                orm.LaunchState(state=state, nonce=nonce, platform_id=platform_id, target=target)
            )
        return state, nonce

    def finish_login(self, state: str) -> tuple[str, int, str] | None:
        """(nonce, platform id, target) of a login in progress; each state is used once."""
        with transaction(self.factory) as session:
            row = session.get(orm.LaunchState, state)
            if row is None:
                return None
            session.delete(row)
            created = row.created_at
            if created.tzinfo is None:  # SQLite gives naive datetimes back
                created = created.replace(tzinfo=UTC)
            if created < datetime.now(UTC) - STATE_TTL:
                return None
            return row.nonce, row.platform_id, row.target

    # --- identities ---------------------------------------------------------------------------
    def username_for(
        self,
        issuer: str,
        subject: str,
        hint: str = "",
        linked: tuple[str, str] | None = None,
    ) -> tuple[str, bool]:
        """The campus user name of a platform's user; (name, created).

        A new name is readable (from the email or name the platform sent) plus a short hash
        of issuer and subject, then stored: later launches map to the same name even when the
        person's email or name changes in the LMS.

        `linked` is another identity (issuer, subject) of the same person, verified by the
        caller: the LTI 1.1 identity an LTI 1.3 launch's `lti1p1` claim names. When that one
        has an account, this identity joins it; when only this one has, the other is recorded
        for it, so the person's first launch through the other version finds the account.
        Two identities that already have separate accounts stay apart (accounts are never
        merged).
        """
        own = self._identity(issuer, subject)
        if linked is not None and linked != (issuer, subject):
            other = self._identity(*linked)
            if own is None and other is not None:
                if self._add_identity(issuer, subject, other):
                    return other, False
                own = self._identity(issuer, subject)
            if own is not None and other is None:
                self._add_identity(*linked, own)
        if own is not None:
            return own, False
        username = derive_username(issuer, subject, hint)
        if not self._add_identity(issuer, subject, username):
            # a concurrent first launch of the same person won the race
            return self.username_for(issuer, subject, hint)[0], False
        if linked is not None and linked != (issuer, subject):
            self._add_identity(*linked, username)
        return username, True

    def _identity(self, issuer: str, subject: str) -> str | None:
        with self.factory() as session:
            return session.scalar(
                select(orm.Identity.username).where(
                    orm.Identity.issuer == issuer, orm.Identity.subject == subject
                )
            )

    def _add_identity(self, issuer: str, subject: str, username: str) -> bool:
        """Record an identity; False when (issuer, subject) is known already."""
        try:
            with transaction(self.factory) as session:
                session.add(orm.Identity(issuer=issuer, subject=subject, username=username))
        except IntegrityError:
            return False
        return True


def derive_username(issuer: str, subject: str, hint: str = "") -> str:
    digest = hashlib.sha256(f"{issuer}\0{subject}".encode()).hexdigest()[:10]
    base = re.sub(r"[^a-z0-9._-]+", "-", hint.split("@")[0].strip().lower()).strip("-._")
    base = base[:40] or "lti"
    return f"{base}-{digest}"
