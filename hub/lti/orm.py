"""All LTI tables, in one module. Every table is prefixed `lti_` so the LTI part can share one
PostgreSQL database with the Hub, the campus and the grader."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from nbcampus.db import MigrationSet

MIGRATIONS = MigrationSet(
    name="lti",
    package="nbcampus.hub.lti.migrations",
    version_table="lti_alembic_version",
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Platform(Base):
    """An LTI 1.3 registration: one (issuer, client id) pair with the platform's endpoints."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    issuer: Mapped[str] = mapped_column(String(500), index=True)
    client_id: Mapped[str] = mapped_column(String(200))
    jwks_url: Mapped[str] = mapped_column(String(1000))
    auth_login_url: Mapped[str] = mapped_column(String(1000))
    auth_token_url: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deployments: Mapped[list[Deployment]] = relationship(
        back_populates="platform", cascade="all, delete-orphan", lazy="selectin"
    )


class Deployment(Base):
    __tablename__ = "lti_deployments"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(200))
    platform: Mapped[Platform] = relationship(back_populates="deployments")


class Consumer(Base):
    """An LTI 1.1 consumer key and its shared secret."""

    __tablename__ = "lti_consumers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    secret: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200), default="")


class Nonce(Base):
    """A nonce seen once; a second insert of the same (scope, value) is a replay."""

    __tablename__ = "lti_nonces"
    __table_args__ = (UniqueConstraint("scope", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(600))
    value: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class LaunchState(Base):
    """The OIDC state and nonce of a login in progress (the browser holds the state cookie)."""

    __tablename__ = "lti_launch_states"

    state: Mapped[str] = mapped_column(String(100), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(100))
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Identity(Base):
    """Which campus account a platform's user (issuer + sub) is; the name never changes.

    One account may have several identities: the LTI 1.1 (`lti11:<consumer key>`, user_id)
    and LTI 1.3 (issuer, sub) identities of one LMS user, linked by the `lti1p1` claim."""

    __tablename__ = "lti_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(300))
    username: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Context(Base):
    """An LMS course (LTI context) and the campus course/class it maps onto."""

    __tablename__ = "lti_contexts"
    __table_args__ = (UniqueConstraint("source", "context_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "lti13:<platform id>" or "lti11:<consumer key>"
    source: Mapped[str] = mapped_column(String(300))
    context_id: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(300), default="")
    label: Mapped[str] = mapped_column(String(100), default="")
    course: Mapped[str] = mapped_column(String(100), default="")
    class_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lineitems_url: Mapped[str] = mapped_column(String(1000), default="")
    memberships_url: Mapped[str] = mapped_column(String(1000), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ResourceLink(Base):
    """A link placed in the LMS; deep linking fills in which lesson or exercise it opens."""

    __tablename__ = "lti_resource_links"
    __table_args__ = (UniqueConstraint("context_pk", "link_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    context_pk: Mapped[int] = mapped_column(ForeignKey("lti_contexts.id", ondelete="CASCADE"))
    link_id: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(300), default="")
    course: Mapped[str] = mapped_column(String(100), default="")
    lesson: Mapped[str] = mapped_column(String(100), default="")
    exercise: Mapped[str] = mapped_column(String(100), default="")
    lineitem_url: Mapped[str] = mapped_column(String(1000), default="")
    # LTI 1.1 Basic Outcomes service of this link
    outcome_url: Mapped[str] = mapped_column(String(1000), default="")


class OutcomeId(Base):
    """LTI 1.1 Basic Outcomes: the result id (`lis_result_sourcedid`) of a person on a link."""

    __tablename__ = "lti_outcome_ids"
    __table_args__ = (UniqueConstraint("link_pk", "username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    link_pk: Mapped[int] = mapped_column(ForeignKey("lti_resource_links.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(64))
    sourcedid: Mapped[str] = mapped_column(Text)


class Member(Base):
    """A person's place in an LMS context, from launches and roster syncs."""

    __tablename__ = "lti_members"
    __table_args__ = (UniqueConstraint("context_pk", "username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    context_pk: Mapped[int] = mapped_column(ForeignKey("lti_contexts.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300), default="")
    role: Mapped[str] = mapped_column(String(16), default="student")
    # active, left (no longer in the LMS roster; kept, never deleted), pending (roster only)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # unused since 0002 (LTI 1.1 result ids are per link: lti_outcome_ids)
    sourcedid: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# pending: to be sent (backing off after a failure); failed: every attempt used, waits for a
# person; sent; superseded: a newer grade of the same link and student replaced it unsent;
# held: its score is hidden from the student until released (held.py)
OUTBOX_STATUSES = ("pending", "failed", "sent", "superseded", "held")


class OutboxItem(Base):
    """A grade on its way to an LMS; retried with back-off, visible to staff, never dropped."""

    __tablename__ = "lti_outbox"
    __table_args__ = (UniqueConstraint("link_pk", "username", "submission_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    link_pk: Mapped[int] = mapped_column(ForeignKey("lti_resource_links.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(64))
    submission_id: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    graded_at: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # OUTBOX_STATUSES
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    given_up: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
