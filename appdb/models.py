"""The application database's schema (SQLAlchemy 2): organizations and their billing, submissions, API keys,
watched repositories and the registry inbox. Migrations live in appdb/migrations; a change here needs one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from vexxy.settings import DEFAULT_OBSERVATION_SECONDS


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    pass


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (UniqueConstraint("name", name="uq_organizations_name"),)  # a name means one organization
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | past_due | canceled
    status_changed_at: Mapped[int] = mapped_column(BigInteger, default=0)  # Stripe event time that set `status`
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="member")  # member | admin
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Subscription(Base):
    __tablename__ = "subscriptions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), unique=True)
    tier: Mapped[str] = mapped_column(String(40), default="free")
    status: Mapped[str] = mapped_column(String(20), default="active")
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(100), unique=True, nullable=True)
    current_period_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    current_period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_event_at: Mapped[int] = mapped_column(BigInteger, default=0)  # newest Stripe event applied
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class StripeCustomer(Base):
    __tablename__ = "stripe_customers"
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BillingEvent(Base):
    """The ledger: one row per billable (or internal) analysis, written before Stripe is called."""

    __tablename__ = "billing_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(30))  # analysis_charge | internal_analysis | credit_grant
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    submission_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    image_digest: Mapped[str | None] = mapped_column(String(80), nullable=True)
    credits: Mapped[int] = mapped_column(Integer, default=0)
    amount_cents: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    status: Mapped[str] = mapped_column(String(20))  # pending | charged | recorded | recorded_only | written_off
    stripe_object_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class QuotaReservation(Base):
    __tablename__ = "quota_reservations"
    __table_args__ = (UniqueConstraint("organization_id", "submission_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    submission_id: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    status: Mapped[str] = mapped_column(String(20), default="reserved")  # reserved | consumed | released
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookEvent(Base):
    """Every Stripe event id processed, so a redelivered event changes nothing."""

    __tablename__ = "webhook_events"
    stripe_event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    created: Mapped[int] = mapped_column(BigInteger)
    result: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Submission(Base):
    __tablename__ = "submissions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=False), unique=True)  # monotonic: the sensor's cursor
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    submitted_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    source: Mapped[str] = mapped_column(String(20), default="api")  # api | registry_push | registry_poll
    image_reference: Mapped[str] = mapped_column(String(512))
    image_digest: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    partition_key: Mapped[str | None] = mapped_column(String(600), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    fuzzing: Mapped[bool] = mapped_column(Boolean, default=True)
    observation_seconds: Mapped[int] = mapped_column(Integer, default=DEFAULT_OBSERVATION_SECONDS)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    phase: Mapped[str] = mapped_column(String(40), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    correlation_id: Mapped[str] = mapped_column(String(64))
    error_step: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    shared_with: Mapped[str | None] = mapped_column(String(36), nullable=True)  # the submission whose run this one shares
    config: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # the analysis configuration's public form
    config_hash: Mapped[str | None] = mapped_column(String(80), nullable=True)  # None: the default configuration
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ApiKey(Base):
    """Keys for CI use: only a SHA-256 of the secret is stored; the prefix identifies it in lists."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    created_by: Mapped[str] = mapped_column(String(255), default="", server_default="")  # the creating token's subject
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20), default="member")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WatchedRepository(Base):
    """A repository an organization analyzes on every push; a notified one has its own inbox secret (stored hashed)."""

    __tablename__ = "watched_repositories"
    __table_args__ = (
        UniqueConstraint("organization_id", "registry", "repository"),
        UniqueConstraint("inbox_prefix", name="uq_watched_repositories_inbox_prefix"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    registry: Mapped[str] = mapped_column(String(255))
    repository: Mapped[str] = mapped_column(String(255))
    mode: Mapped[str] = mapped_column(String(10), default="notify")  # notify | poll
    inbox_prefix: Mapped[str | None] = mapped_column(String(16), nullable=True)  # names the inbox secret
    inbox_secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    default_config: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # public form; secrets are refused here
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RegistryEvent(Base):
    """The registry notification inbox: the API stores verified push events, a sensor consumes them.

    `event_id` is `<watched repository id>/<the registry's event id>`: one registry event reaches the
    inbox of every organization watching the repository, once each.
    """

    __tablename__ = "registry_events"
    # SQLite numbers rows only through an INTEGER PRIMARY KEY (its rowid); PostgreSQL has the identity.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), Identity(always=False), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), unique=True)
    watched_repository_id: Mapped[int | None] = mapped_column(
        ForeignKey("watched_repositories.id", ondelete="CASCADE", name="fk_registry_events_watched_repository"),
        nullable=True,
    )
    registry: Mapped[str] = mapped_column(String(255))
    repository: Mapped[str] = mapped_column(String(255))
    tag: Mapped[str | None] = mapped_column(String(128), nullable=True)
    digest: Mapped[str] = mapped_column(String(80))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SeenDigest(Base):
    """Digests already turned into submissions per watched repository (pushes and polls dedupe here)."""

    __tablename__ = "seen_digests"
    __table_args__ = (UniqueConstraint("watched_repository_id", "digest"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    watched_repository_id: Mapped[int] = mapped_column(ForeignKey("watched_repositories.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(80))
    submission_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AnalysisSecret(Base):
    """An analysis's secret environment values, encrypted (vexxy.config.secret_box), kept only while it runs.

    `owner_id` is the submission id (or a CLI invocation's id); the row is deleted when that ends."""

    __tablename__ = "analysis_secrets"
    owner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
