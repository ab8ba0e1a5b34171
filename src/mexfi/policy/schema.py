"""The policy schema: one YAML file per service, parsed into a `Policy`.

Every element that implements part of a published privacy policy carries
`clauses: [...]`, the ids of `POLICY-CLAUSES.md` it implements. Models are
frozen and forbid unknown keys, so a typo in a policy file is an error, not a
silently ignored setting. Cross-references between elements (a purpose naming
a category, a recipient naming a purpose) are checked by `references.py`.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mexfi.policy.errors import NotDeclared

__all__ = [
    "Acceptance",
    "Category",
    "Claim",
    "ClaimKind",
    "ClauseId",
    "Consent",
    "CookieCategory",
    "DataField",
    "DataSubject",
    "Deadline",
    "DeadlineUnit",
    "Duration",
    "FieldType",
    "Geolocation",
    "Identifiability",
    "Lang",
    "LegalBasis",
    "MobileOperatorData",
    "Notification",
    "Operator",
    "Policy",
    "PolicyInfo",
    "Purpose",
    "Recipient",
    "RecipientBasis",
    "RecipientKind",
    "RequestChannel",
    "RequestPolicy",
    "RequestPurposes",
    "RequestRequirement",
    "RetentionAction",
    "RetentionRule",
    "RetentionTrigger",
    "Right",
    "RightKind",
    "Role",
    "RoleAction",
    "RoleKind",
    "Sensitivity",
    "Storage",
    "Text",
]

Lang = Literal["az", "en", "ru"]
LANGS: tuple[Lang, ...] = ("az", "en", "ru")

ClauseId = Annotated[str, Field(pattern=r"^[A-Z]{2,6}-\d+(\.\d+)*$")]
"""A clause id such as `BK-3.2` or `TX-7.7`."""

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=80)]
"""An element id: lower-case words joined by `_`, optionally dotted."""

FidesKey = Annotated[str, Field(pattern=r"^[a-z][a-z_]*(\.[a-z][a-z_]*)*$")]
"""A fideslang taxonomy key such as `user.contact.phone_number`."""


class StrictModel(BaseModel):
    """Base of every policy model: frozen, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Text(StrictModel):
    """A human-readable text in each language a notice is rendered in."""

    az: str = Field(min_length=1)
    en: str = Field(min_length=1)
    ru: str = Field(min_length=1)

    def __call__(self, lang: Lang) -> str:
        text: str = getattr(self, lang)
        return text


class Element(StrictModel):
    """A policy element: it cites the clauses it implements."""

    clauses: list[ClauseId] = Field(min_length=1)


# --------------------------------------------------------------------------- durations

_DURATION_RE = re.compile(r"^(?P<count>\d+)\s*(?P<unit>min|h|d|w|mo|y)$")
_UNIT_WORDS = {
    "min": "minutes",
    "h": "hours",
    "d": "days",
    "w": "weeks",
    "mo": "months",
    "y": "years",
}


class Duration(StrictModel):
    """A span of time written `23h`, `7d`, `12mo`, `1y`; months and years are calendar ones."""

    count: int = Field(ge=0)
    unit: Literal["min", "h", "d", "w", "mo", "y"]

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _DURATION_RE.match(value.strip())
            if match is None:
                raise ValueError(
                    f"a duration such as '23h', '7d', '12mo' or '1y' (units: "
                    f"{', '.join(_UNIT_WORDS)}), got {value!r}"
                )
            return {"count": int(match["count"]), "unit": match["unit"]}
        return value

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"

    def after(self, start: datetime) -> datetime:
        """The instant this duration after `start`; months and years clamp to month ends."""
        return self._shift(start, 1)

    def before(self, end: datetime) -> datetime:
        """The instant this duration before `end` (the cut-off of a retention rule)."""
        return self._shift(end, -1)

    def _shift(self, moment: datetime, sign: int) -> datetime:
        if self.unit in ("mo", "y"):
            months = sign * self.count * (12 if self.unit == "y" else 1)
            year, month0 = divmod(moment.month - 1 + months, 12)
            year += moment.year
            day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
            return moment.replace(year=year, month=month0 + 1, day=day)
        return moment + sign * self.approx

    @property
    def approx(self) -> timedelta:
        """The duration as a fixed timedelta (a month is 30 days, a year 365) for comparisons."""
        per_unit = {
            "min": timedelta(minutes=1),
            "h": timedelta(hours=1),
            "d": timedelta(days=1),
            "w": timedelta(weeks=1),
            "mo": timedelta(days=30),
            "y": timedelta(days=365),
        }
        return per_unit[self.unit] * self.count


# --------------------------------------------------------------------------- enums


class FieldType(StrEnum):
    """What a field holds; decides validation, normalisation and scanning."""

    STRING = "string"
    TEXT = "text"  # free text: scanned for personal data and card numbers on write
    PHONE = "phone"
    EMAIL = "email"
    DATE = "date"
    DATETIME = "datetime"
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"
    BOOLEAN = "boolean"
    BYTES = "bytes"
    IP_ADDRESS = "ip_address"
    GEO_POINT = "geo_point"
    ADDRESS = "address"
    COUNTRY = "country"
    LANGUAGE = "language"
    ENUM = "enum"
    CARD_TOKEN = "card_token"  # an acquirer's token for a bank card, never the number
    CARD_LAST4 = "card_last4"
    PAYMENT_CARD_NUMBER = "payment_card_number"  # TX-16.4: a payout card, stored encrypted
    TRANSPORT_CARD_NUMBER = "transport_card_number"
    IBAN = "iban"
    BIC = "bic"
    PLATE = "plate"
    DOCUMENT_NUMBER = "document_number"


#: Field types whose values have no length: `max_length` is refused on them.
_UNSIZED_TYPES = frozenset(
    {
        FieldType.BOOLEAN,
        FieldType.INTEGER,
        FieldType.DECIMAL,
        FieldType.MONEY,
        FieldType.DATE,
        FieldType.DATETIME,
        FieldType.GEO_POINT,
    }
)


class Identifiability(StrEnum):
    """How far a field alone points at a person (for the quasi-identifier lint)."""

    DIRECT = "direct"  # identifies by itself: phone, full name, licence number
    QUASI = "quasi"  # identifies in combination: first name, car model, plate digits
    NONE = "none"


class Sensitivity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class LegalBasis(StrEnum):
    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    LEGITIMATE_INTERESTS = "legitimate_interests"


class RoleKind(StrEnum):
    STAFF = "staff"  # the operator's employees (TX-10)
    SYSTEM = "system"  # the operator's own automated processing
    SUBJECT = "subject"  # the data subject, reading their own data
    COUNTERPART = "counterpart"  # another user of the service, e.g. a customer (TX-13)
    THIRD_PARTY = "third_party"
    AUTHORITY = "authority"


class RoleAction(StrEnum):
    """What a role may do to a subject besides reading and writing for a purpose; a role
    does only the actions its `actions` list grants."""

    SET_STATUS = "set_status"  # block, unblock (TX-1.10), prohibit (TX-3.6)
    DESTROY = "destroy"  # crypto-shred (TX-1.11, TX-7.7, TX-8)
    RECORD_CONSENT = "record_consent"  # record or withdraw a written consent (TX-10)
    OPEN_ORDER = "open_order"  # start an order: its customer sees the driver (TX-13)
    CLOSE_ORDER = "close_order"
    #: Open a subject's app session: location is collected only inside one (TX-12). The
    #: role that opens them also relays the subject's geolocation switch from the app.
    OPEN_APP_SESSION = "open_app_session"
    CLOSE_APP_SESSION = "close_app_session"


#: Actions only the operator's own service performs: it is the order's backend (TX-13) and
#: the app's backend (TX-12).
SYSTEM_ACTIONS = frozenset(
    {
        RoleAction.OPEN_ORDER,
        RoleAction.CLOSE_ORDER,
        RoleAction.OPEN_APP_SESSION,
        RoleAction.CLOSE_APP_SESSION,
    }
)


class RetentionTrigger(StrEnum):
    """The event a retention period is counted from."""

    REGISTRATION = "registration"
    COLLECTION = "collection"
    ORDER_END = "order_end"
    ACCOUNT_CLOSURE = "account_closure"


class RetentionAction(StrEnum):
    PASSIVE = "passive"  # move to the passive tier (BK-3.3)
    DESTROY = "destroy"  # crypto-shred: irrecoverable (TX-1.11, TX-8)


class RecipientKind(StrEnum):
    AUTHORITY = "authority"
    PROCESSOR = "processor"
    THIRD_PARTY = "third_party"
    COUNTERPART = "counterpart"


class RecipientBasis(StrEnum):
    LAW = "law"  # a lawful request: needs the law and the request reference
    WRITTEN_CONSENT = "written_consent"  # needs a recorded written consent of the subject
    CONTRACT = "contract"  # needed to perform the contract with the subject


class RightKind(StrEnum):
    EXISTENCE = "existence"  # TX-3.1
    LEGAL_BASIS = "legal_basis"  # TX-3.2
    ACCESS = "access"  # TX-3.3, BK-3.2
    PROCESSING_INFO = "processing_info"  # TX-3.4
    RECTIFICATION = "rectification"  # TX-3.5
    DESTRUCTION = "destruction"  # TX-3.5
    PROHIBITION = "prohibition"  # TX-3.6
    SOURCES = "sources"  # TX-3.7
    PROTECTION = "protection"  # TX-3.8
    BLOCKING = "blocking"  # TX-1.10, TX-11
    WITHDRAW_CONSENT = "withdraw_consent"  # TX-11
    OPERATOR_INFO = "operator_info"  # TX-4.1
    OTHER = "other"  # TX-3.9


#: Rights that only make sense over data the operator still holds.
RIGHTS_OVER_STORED_DATA = frozenset(
    {
        RightKind.ACCESS,
        RightKind.RECTIFICATION,
        RightKind.DESTRUCTION,
        RightKind.BLOCKING,
        RightKind.PROCESSING_INFO,
        RightKind.SOURCES,
    }
)


class RequestChannel(StrEnum):
    WRITTEN = "written"
    ELECTRONIC = "electronic"
    IN_PERSON = "in_person"
    REGISTERED_MAIL = "registered_mail"


class RequestRequirement(StrEnum):
    """What a written request must carry (TX-11)."""

    ID_DOCUMENT = "id_document"  # series and number of the identity document
    ID_ISSUE = "id_issue"  # issue date and issuing authority
    ADDRESS_OR_FIN = "address_or_fin"
    RELATIONSHIP_PROOF = "relationship_proof"  # contract number and date, or other proof
    SIGNATURE = "signature"


class DeadlineUnit(StrEnum):
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"


class ClaimKind(StrEnum):
    """A sweeping statement a policy makes about itself, checked by the linter."""

    COLLECTS_NO_IDENTIFYING_DATA = "collects_no_identifying_data"
    KEEPS_NO_PERSONAL_DATA = "keeps_no_personal_data"
    CARD_DATA_INACCESSIBLE = "card_data_inaccessible"


class Acceptance(StrEnum):
    """How a subject agrees to the policy and its changes."""

    IMPLICIT_BY_USE = "implicit_by_use"  # BK-1.2, TX-2: using the app is agreement
    EXPLICIT = "explicit"


# --------------------------------------------------------------------------- elements


class PolicyInfo(Element):
    """Which policy, which version, since when (BK-1.2, BK-7.3)."""

    id: Slug
    service: Text
    version: str = Field(min_length=1, max_length=40)
    effective: date
    language: Lang
    source: str | None = None
    url: str | None = None


class Operator(Element):
    """Who is responsible for the data (BK-1.1, TX-1.4)."""

    name: str = Field(min_length=1)
    #: The name as written in each language (a letter in ru names "ООО «K Group»");
    #: `name` is the one registered, used where no language applies.
    names: Text | None = None
    tin: str | None = Field(default=None, pattern=r"^\d{10}$")
    address: str | None = None
    #: The address as written in each language; `address` where none is given.
    addresses: Text | None = None
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = None
    website: str | None = None
    jurisdiction: str = Field(pattern=r"^[A-Z]{2}$")
    law: Text

    def name_in(self, lang: Lang) -> str:
        """The operator's name as written in `lang`."""
        return self.names(lang) if self.names is not None else self.name

    def address_in(self, lang: Lang) -> str | None:
        """The operator's address as written in `lang` (None if it publishes none)."""
        return self.addresses(lang) if self.addresses is not None else self.address


class Storage(Element):
    """Where and how securely data is kept (BK-3.1, BK-3.4, TX-6)."""

    location: Text
    confidence_level: Sensitivity
    encrypted_at_rest: bool = True


class Role(Element):
    """Who may act on data: staff, the system, the subject, a counterpart, an authority."""

    id: Slug
    kind: RoleKind
    title: Text
    actions: list[RoleAction] = []

    @model_validator(mode="after")
    def _operator_actions(self) -> Role:
        # TX-10: only the operator's employees and its own system act on personal data;
        # subjects act through requests (TX-11), others not at all.
        if self.actions and self.kind not in (RoleKind.STAFF, RoleKind.SYSTEM):
            raise ValueError(
                f"role {self.id!r} of kind {self.kind.value!r} may not be granted actions: "
                "only staff and system roles act on subjects"
            )
        orders = sorted(a.value for a in SYSTEM_ACTIONS.intersection(self.actions))
        if orders and self.kind is not RoleKind.SYSTEM:
            raise ValueError(
                f"role {self.id!r} may not be granted {', '.join(orders)}: only the system "
                "role (the order's and the app's backend) opens and closes orders and app "
                "sessions"
            )
        return self


class DataSubject(Element):
    id: Slug
    title: Text
    fides_subject: FidesKey = "customer"


class DataField(StrictModel):
    """One field of a category."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    title: Text
    type: FieldType
    required: bool = False
    fides_category: FidesKey | None = None
    identifiability: Identifiability = Identifiability.NONE
    values: list[str] | None = None  # allowed values of an `enum` field
    #: What each value of an `enum` field is called in each language (letters, notices).
    value_titles: dict[str, Text] | None = None
    #: The longest value written: characters of text, bytes of `bytes`; unset, the vault's
    #: default for the type (4096 characters of free text, 256 of other text).
    max_length: Annotated[int, Field(ge=1, le=64 * 1024 * 1024)] | None = None

    @model_validator(mode="after")
    def _enum_has_values(self) -> DataField:
        if (self.type is FieldType.ENUM) != (self.values is not None):
            raise ValueError("`values` is required for type enum and only for it")
        if self.value_titles is not None:
            unknown = sorted(set(self.value_titles) - set(self.values or ()))
            if unknown:
                raise ValueError(f"`value_titles` names {unknown[0]!r}, not one of `values`")
        return self

    def value_title(self, value: str, lang: Lang) -> str:
        """The name of an enum value in `lang`; the value itself if the policy gives none."""
        titles = self.value_titles or {}
        return titles[value](lang) if value in titles else value

    @model_validator(mode="after")
    def _max_length_of_text_or_bytes(self) -> DataField:
        if self.max_length is not None and self.type in _UNSIZED_TYPES:
            raise ValueError(f"`max_length` applies to text and bytes, not to {self.type.value}")
        return self


class Category(Element):
    """A data category of one subject: its fields, sensitivity and fideslang category."""

    id: Slug
    subject: Slug
    title: Text
    personal: bool
    sensitivity: Sensitivity
    fides_category: FidesKey
    mandatory: bool = False
    multiple: bool = False  # many records per subject (events) rather than one
    source: Literal["subject", "device", "operator", "counterpart", "acquirer"] = "subject"
    fields: list[DataField] = Field(min_length=1)

    @field_validator("fields")
    @classmethod
    def _unique_field_names(cls, fields: list[DataField]) -> list[DataField]:
        seen: set[str] = set()
        for item in fields:
            if item.name in seen:
                raise ValueError(f"field {item.name!r} is declared twice")
            seen.add(item.name)
        return fields

    def field(self, name: str) -> DataField | None:
        return next((f for f in self.fields if f.name == name), None)


class Purpose(Element):
    """Why data is processed; reads name one (BK-4.1, TX-5, TX-17, TX-24)."""

    id: Slug
    title: Text
    legal_basis: LegalBasis
    fides_data_use: FidesKey
    categories: list[Slug] = Field(min_length=1)
    roles: list[Slug] = Field(min_length=1)
    #: Categories listed here may be read for this purpose and no other (TX-17).
    exclusive: bool = False
    #: Stricter than `exclusive`: no other purpose reaches the categories either, not even
    #: rectification or a subject's or lawful request (TX-17: payout data is for payouts only).
    sole_purpose: bool = False
    #: Reads for this purpose need an active order between the reader and the subject (TX-13).
    requires_active_order: bool = False
    #: A purpose that reaches data of a blocked subject (TX-1.10: clarifying the data).
    allowed_when_blocked: bool = False
    #: A purpose that may reach the passive tier (BK-3.3: only lawful and subject requests).
    reaches_passive_tier: bool = False

    @model_validator(mode="after")
    def _sole_purpose_is_exclusive(self) -> Purpose:
        if self.sole_purpose and not self.exclusive:
            raise ValueError("`sole_purpose` is a stricter `exclusive`: set both")
        return self


class RetentionRule(Element):
    """What happens to data after a time (TX-7.7, TX-8, BK-3.2, BK-3.3)."""

    id: Slug
    title: Text
    categories: list[Slug] = Field(min_length=1)
    trigger: RetentionTrigger
    #: When the action is scheduled, counted from the trigger.
    after: Duration
    #: The promise: the action must be complete before this much time passes.
    deadline: Duration | None = None
    action: RetentionAction

    @model_validator(mode="after")
    def _after_within_deadline(self) -> RetentionRule:
        if self.deadline is not None and self.after.approx > self.deadline.approx:
            raise ValueError(
                f"`after` ({self.after}) is later than the promised `deadline` ({self.deadline})"
            )
        return self


class Recipient(Element):
    """Who may receive data, for which purposes, on which basis (BK-4.2, BK-4.3, TX-10, TX-13)."""

    id: Slug
    title: Text
    kind: RecipientKind
    purposes: list[Slug] = Field(min_length=1)
    categories: list[Slug] = Field(min_length=1)
    basis: RecipientBasis
    #: A condition the policy text puts on each disclosure, e.g. an active order.
    condition: Literal["active_order"] | None = None


class Right(Element):
    kind: RightKind
    title: Text


class Deadline(StrictModel):
    """How long the operator has to answer a request."""

    count: int = Field(gt=0)
    unit: DeadlineUnit
    #: The calendar working days are counted on (ISO 3166 code).
    jurisdiction: str = Field(pattern=r"^[A-Z]{2}$")


class RequestPurposes(StrictModel):
    """The declared purposes the request workflow acts under (no purpose id is built in)."""

    #: Answering a subject's own request: reads what the request reaches, passive tier included.
    subject_request: Slug
    #: Correcting data on request (TX-3.5); the one processing a blocked subject allows (TX-1.10).
    rectification: Slug


class RequestPolicy(Element):
    """How subjects exercise their rights (TX-3, TX-4.1, TX-11, BK-3.2)."""

    deadline: Deadline
    purposes: RequestPurposes
    channels: list[RequestChannel] = Field(min_length=1)
    written_requirements: list[RequestRequirement] = []
    rights: list[Right] = Field(min_length=1)
    how_to: Text


class CookieCategory(Element):
    id: Slug
    title: Text
    description: Text
    consent_required: bool
    third_party: bool = False


class Notification(Element):
    """A push-notification type and its default (BK-6.1)."""

    id: Slug
    title: Text
    default_on: bool
    opt_in_required: bool = False

    @model_validator(mode="after")
    def _opt_in_means_off(self) -> Notification:
        if self.opt_in_required and self.default_on:
            raise ValueError("a notification that needs opt-in cannot be on by default")
        return self


class Geolocation(Element):
    """When location may be collected (TX-12)."""

    categories: list[Slug] = Field(min_length=1)
    window: Literal["app_in_use", "order", "always"]
    subject_can_switch_off: bool


class MobileOperatorData(Element):
    """Mobile network data used only to set country and language (TX-20 to TX-22)."""

    category: Slug
    derives: list[Literal["country", "language"]] = Field(min_length=1)


class Consent(Element):
    """How agreement to processing is given and recorded (TX-2, BK-1.2)."""

    acceptance: Acceptance
    recorded_at: Literal["registration", "first_use"]
    changes_take_effect: Literal["when_posted", "on_acceptance"]


class Claim(Element):
    """A sweeping statement of the policy about itself; the linter tests it against the rest."""

    kind: ClaimKind
    statement: Text
    #: For `keeps_no_personal_data`: counted from this event...
    trigger: RetentionTrigger | None = None
    #: ...after this long nothing personal is kept.
    after: Duration | None = None


# --------------------------------------------------------------------------- the policy


class Policy(StrictModel):
    """A service's privacy policy as code."""

    policy: PolicyInfo
    operator: Operator
    storage: Storage
    consent: Consent
    roles: list[Role] = Field(min_length=1)
    subjects: list[DataSubject] = Field(min_length=1)
    categories: list[Category] = Field(min_length=1)
    purposes: list[Purpose] = Field(min_length=1)
    retention: list[RetentionRule] = []
    recipients: list[Recipient] = []
    requests: RequestPolicy
    cookies: list[CookieCategory] = []
    notifications: list[Notification] = []
    geolocation: Geolocation | None = None
    mobile_operator: MobileOperatorData | None = None
    claims: list[Claim] = []

    @property
    def id(self) -> str:
        return self.policy.id

    def category(self, category_id: str) -> Category:
        for category in self.categories:
            if category.id == category_id:
                return category
        raise NotDeclared("category", category_id, self.id, [c.id for c in self.categories])

    def purpose(self, purpose_id: str) -> Purpose:
        for purpose in self.purposes:
            if purpose.id == purpose_id:
                return purpose
        raise NotDeclared("purpose", purpose_id, self.id, [p.id for p in self.purposes])

    def recipient(self, recipient_id: str) -> Recipient:
        for recipient in self.recipients:
            if recipient.id == recipient_id:
                return recipient
        raise NotDeclared("recipient", recipient_id, self.id, [r.id for r in self.recipients])

    def role(self, role_id: str) -> Role:
        for role in self.roles:
            if role.id == role_id:
                return role
        raise NotDeclared("role", role_id, self.id, [r.id for r in self.roles])

    def roles_for(self, action: RoleAction) -> list[Role]:
        """The roles granted `action`."""
        return [r for r in self.roles if action in r.actions]

    def categories_of(self, subject_id: str) -> list[Category]:
        return [c for c in self.categories if c.subject == subject_id]

    def cited_clauses(self) -> set[str]:
        """Every clause id cited anywhere in the policy."""
        found: set[str] = set()

        def walk(node: Any) -> None:
            if isinstance(node, Element):
                found.update(node.clauses)
            if isinstance(node, BaseModel):
                for name in type(node).model_fields:
                    walk(getattr(node, name))
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(self)
        return found
