"""The tables of policy versions and served notices (BK-1.2, BK-7.3).

`policy_versions` keeps every version of each policy once registered: its canonical JSON
(what `mexfi policy diff` compares), its hash and one hash per section (a new cookie section
is a new cookie revision for the banner), and when it takes effect. `notice_texts` holds
each distinct text mexfi has shown anyone, once, by its SHA-256: the rendered notices of
every version (`policy_version_notices` names them by language and format) and whatever
was served (`served_notices`: which text, of which policy version, when, in which language).
A served-notice id in the consent ledger thus proves the words the person saw.
`policy_change_notifications` records who was told of a new version, through which
notification type and sender, never how they were reached.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mexfi.db import Base

__all__ = [
    "NoticeText",
    "PolicyChangeNotification",
    "PolicyVersion",
    "PolicyVersionNotice",
    "ServedNotice",
]


class PolicyVersion(Base):
    """One registered version of a policy: never updated, never deleted."""

    __tablename__ = "policy_versions"
    __table_args__ = (
        # The version in force at an instant: the latest to have taken effect by then.
        Index("ix_policy_versions_in_force", "policy_id", "takes_effect_at"),
        UniqueConstraint("policy_id", "number", name="uq_policy_versions_policy_number"),
    )

    policy_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: 1, 2, 3… in the order the policy's versions were registered (posted): it breaks a
    #: tie between two taking effect in the same instant.
    number: Mapped[int]
    #: SHA-256 (hex) of `canonical`.
    content_hash: Mapped[str] = mapped_column(String(64))
    #: The date the policy file names (`policy.effective`).
    effective: Mapped[date]
    #: The start of the effective date (UTC), or the registration if later: a version
    #: never binds before it was posted (BK-7.3).
    takes_effect_at: Mapped[datetime]
    registered_at: Mapped[datetime]
    #: The policy as canonical JSON (sorted keys, defaults left out).
    canonical: Mapped[str] = mapped_column(Text)
    categories_hash: Mapped[str] = mapped_column(String(64))
    purposes_hash: Mapped[str] = mapped_column(String(64))
    recipients_hash: Mapped[str] = mapped_column(String(64))
    retention_hash: Mapped[str] = mapped_column(String(64))
    cookies_hash: Mapped[str] = mapped_column(String(64))
    notifications_hash: Mapped[str] = mapped_column(String(64))


class NoticeText(Base):
    """A text shown to someone, stored once under its SHA-256 (hex, of its UTF-8 bytes)."""

    __tablename__ = "notice_texts"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[datetime]


class PolicyVersionNotice(Base):
    """The notice of a version as rendered when it was registered, by language and format."""

    __tablename__ = "policy_version_notices"

    policy_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    lang: Mapped[str] = mapped_column(String(8), primary_key=True)
    format: Mapped[str] = mapped_column(String(8), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), ForeignKey("notice_texts.digest"))


class ServedNotice(Base):
    """A notice text served: the policy notice, a cookie banner, a notification."""

    __tablename__ = "served_notices"
    __table_args__ = (Index("ix_served_notices_policy_served", "policy_id", "served_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[str] = mapped_column(String(40))
    #: policy, cookie_banner or notification.
    kind: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(8))
    digest: Mapped[str] = mapped_column(String(64), ForeignKey("notice_texts.digest"))
    served_at: Mapped[datetime]


class PolicyChangeNotification(Base):
    """A subject told of a policy version, through one notification type it allows."""

    __tablename__ = "policy_change_notifications"
    __table_args__ = (
        Index("ix_policy_change_notifications_told", "policy_id", "version", "holder"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[str] = mapped_column(String(40))
    #: The subject's pseudonym (ps_…), as in the consent ledger.
    holder: Mapped[str] = mapped_column(String(80))
    #: The notification type it went through (a notification id of the policy).
    notification: Mapped[str] = mapped_column(String(80))
    served_notice_id: Mapped[str] = mapped_column(String(32), ForeignKey("served_notices.id"))
    #: The sender's short name (`console`, a push gateway's).
    sender: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[str] = mapped_column(String(255))
    sent_at: Mapped[datetime]
