"""Submissions: what customers ask vexxy to analyze, and where each one stands."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Identity, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from billing.models import Base, new_id, utcnow

STATUSES = ("queued", "running", "complete", "failed", "cancelled")


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
    observation_seconds: Mapped[int] = mapped_column(Integer, default=60)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    phase: Mapped[str] = mapped_column(String(40), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    correlation_id: Mapped[str] = mapped_column(String(64))
    error_step: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    shared_with: Mapped[str | None] = mapped_column(String(36), nullable=True)  # the submission whose run this one shares
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
    __tablename__ = "watched_repositories"
    __table_args__ = (UniqueConstraint("organization_id", "registry", "repository"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    registry: Mapped[str] = mapped_column(String(255))
    repository: Mapped[str] = mapped_column(String(255))
    mode: Mapped[str] = mapped_column(String(10), default="notify")  # notify | poll
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RegistryEvent(Base):
    """The registry notification inbox: the API stores verified push events, a sensor consumes them."""

    __tablename__ = "registry_events"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), unique=True)
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
