"""HTTP routes of the vault: subjects, records, orders (TX-13), app sessions and the location
switch (TX-12), country and language from the mobile network (TX-20 – TX-22).

Mounted by `mexfi.api` under `/api/v1`; the vault's `__init__` does not import this module.
Every route acts as the caller's API key (`ActorDep`), reaches only subjects of the key's
policy (`require_policy`), and names its purpose in the `X-Mexfi-Purpose` header where it
reads or writes personal data: the vault checks the purpose, the route passes it on. Personal
values travel only in bodies; paths carry ids (a phone look-up is `POST /subjects/find`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field, field_serializer

from mexfi.apikeys import OutOfScope
from mexfi.deps import (
    ActorDep,
    CallerDep,
    PolicyRoleDep,
    PurposeDep,
    SessionDep,
    SubjectActorDep,
    UnitOfWorkDep,
    VaultDep,
    no_kept_answer,
    require_action,
    require_policy,
)
from mexfi.policy import FieldType, RoleAction
from mexfi.vault.errors import RecordNotFound, SubjectNotFound
from mexfi.vault.geolocation import AppSessionRead, LocationStatus
from mexfi.vault.models import OrderLink, Record
from mexfi.vault.networks import locale_from_network
from mexfi.vault.schemas import Actor, RecordCreate, RecordRead, SubjectData, SubjectRead

__all__ = [
    "AppSessionOpen",
    "AppSessionOut",
    "DriverPositionOut",
    "FindSubject",
    "LocationStatusOut",
    "LocationSwitch",
    "NetworkIn",
    "NetworkLocaleOut",
    "OrderCreate",
    "OrderCreated",
    "PositionOut",
    "ReadRequest",
    "RecordOut",
    "RecordWrite",
    "RecordWriteMany",
    "RecordsWritten",
    "Rectification",
    "StatusChange",
    "SubjectCreate",
    "SubjectDataOut",
    "SubjectOut",
    "router",
]

router = APIRouter(tags=["vault"])

Values = dict[str, Any]
Tier = Literal["active", "passive"]
ACTIVE_TIER: Tier = "active"
#: TX-13: the order's customer, as the reader of its driver's position.
CUSTOMER_ROLE = "customer"
LOCATION = "location"


class Model(BaseModel):
    # A bytes field (a photograph) travels as base64 text, both ways (`_bytes_decoded`).
    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64")


class SubjectOut(Model):
    """A subject by its ids and state; never a personal value."""

    id: str
    policy_id: str
    kind: str
    pseudonym: str
    status: str
    registered_at: datetime

    @classmethod
    def of(cls, subject: SubjectRead) -> SubjectOut:
        return cls(**subject.__dict__)


class SubjectCreate(Model):
    policy_id: str = Field(max_length=80)
    kind: str = Field(max_length=80, description="A subject kind the policy declares.")
    records: dict[str, Values] = Field(
        default_factory=dict, description="First records: category → field → value."
    )
    lookup_phone: str | None = Field(
        default=None,
        max_length=40,
        description="The phone to find the subject by later; also written in its phone record.",
    )


class FindSubject(Model):
    policy_id: str = Field(max_length=80)
    phone: str = Field(max_length=40)


class StatusChange(Model):
    status: Literal["active", "blocked", "prohibited"]
    reason: str = Field(min_length=1, max_length=400, description="A code or a case id.")


class RecordWrite(Model):
    category: str = Field(max_length=80)
    values: Values
    collected_at: datetime | None = None


class RecordWriteItem(RecordWrite):
    subject_id: str = Field(max_length=32)


class RecordWriteMany(Model):
    records: list[RecordWriteItem] = Field(min_length=1, max_length=1000)


class RecordsWritten(Model):
    ids: list[str]


class ReadRequest(Model):
    categories: list[str] = Field(min_length=1, max_length=64)
    tiers: list[Tier] = Field(default_factory=lambda: [ACTIVE_TIER])
    since: datetime | None = None
    until: datetime | None = None
    request_id: str | None = Field(
        default=None, max_length=32, description="The open request a request purpose serves."
    )
    demand_id: str | None = Field(
        default=None, max_length=32, description="The lawful demand a lawful purpose serves."
    )


class RecordOut(Model):
    id: str
    subject_id: str
    category: str
    collected_at: datetime
    updated_at: datetime | None
    values: Values
    tier: str

    @classmethod
    def of(cls, record: RecordRead) -> RecordOut:
        return cls(**record.__dict__)

    @field_serializer("values", when_used="json")
    def _bytes_as_base64(self, values: Values) -> Values:
        # FastAPI serializes with its own adapter's config, so `ser_json_bytes` is not enough.
        return {
            k: base64.urlsafe_b64encode(v).decode("ascii") if isinstance(v, bytes) else v
            for k, v in values.items()
        }


class SubjectDataOut(Model):
    subject: SubjectOut
    purpose: str
    records: list[RecordOut]

    @classmethod
    def of(cls, data: SubjectData) -> SubjectDataOut:
        return cls(
            subject=SubjectOut.of(data.subject),
            purpose=data.purpose,
            records=[RecordOut.of(r) for r in data.records],
        )


class Rectification(Model):
    values: Values = Field(min_length=1)
    request_id: str | None = Field(default=None, max_length=32)


class OrderCreate(Model):
    driver_id: str = Field(max_length=32)
    customer_id: str = Field(max_length=32)


class OrderCreated(Model):
    id: str


# ------------------------------------------------------------------------------ subjects


@router.post(
    "/subjects",
    status_code=status.HTTP_201_CREATED,
    summary="Register a subject with its first records",
)
def register_subject(
    body: SubjectCreate,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: ActorDep,
    purpose: PurposeDep,
) -> SubjectOut:
    require_policy(caller, body.policy_id)
    subject = vault.register(
        uow,
        policy_id=body.policy_id,
        kind=body.kind,
        actor=actor,
        purpose=purpose,
        records={c: _bytes_decoded(vault, body.policy_id, c, v) for c, v in body.records.items()},
        lookup_phone=body.lookup_phone,
    )
    return SubjectOut.of(subject)


@router.post("/subjects/find", summary="Find a subject by phone (the phone in the body)")
def find_subject(
    body: FindSubject,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: PolicyRoleDep,
) -> SubjectOut:
    require_policy(caller, body.policy_id)
    found = vault.find_by_phone(uow, body.policy_id, body.phone)
    if found is None:
        raise SubjectNotFound(
            f"no subject of policy {body.policy_id!r} is registered with this phone",
            hint="register the subject first",
        )
    return SubjectOut.of(found)


def _bytes_decoded(vault: Any, policy_id: str, category: str, values: Values) -> Values:
    """`values` with each bytes field's base64 text decoded (JSON has no bytes); text that is
    not base64 is left for the vault to refuse."""
    try:
        fields = vault.policy(policy_id).category(category).fields
    except Exception:  # an undeclared category: the vault names it
        return values
    decoded = dict(values)
    for field in fields:
        value = decoded.get(field.name)
        if field.type is FieldType.BYTES and isinstance(value, str):
            with contextlib.suppress(binascii.Error, UnicodeEncodeError, ValueError):
                decoded[field.name] = base64.urlsafe_b64decode(value.encode("ascii"))
    return decoded


def _subject(vault: Any, uow: Any, caller: Any, subject_id: str) -> SubjectRead:
    subject: SubjectRead = vault.subject(uow, subject_id)
    require_policy(caller, subject.policy_id)
    return subject


@router.get("/subjects/{subject_id}", summary="A subject's ids and status")
def get_subject(
    subject_id: str,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: PolicyRoleDep,
) -> SubjectOut:
    return SubjectOut.of(_subject(vault, uow, caller, subject_id))


@router.post(
    "/subjects/{subject_id}/status",
    summary="Block (TX-1.10), unblock or prohibit (TX-3.6) processing of a subject's data",
    dependencies=[Depends(require_action(RoleAction.SET_STATUS))],
)
def change_status(
    subject_id: str,
    body: StatusChange,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: ActorDep,
) -> SubjectOut:
    _subject(vault, uow, caller, subject_id)
    changed = vault.set_status(uow, subject_id, body.status, actor=actor, reason=body.reason)
    return SubjectOut.of(changed)


# ------------------------------------------------------------------------------- records


@router.post(
    "/subjects/{subject_id}/records",
    status_code=status.HTTP_201_CREATED,
    summary="Write one record",
)
def write_record(
    subject_id: str,
    body: RecordWrite,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: ActorDep,
    purpose: PurposeDep,
) -> RecordsWritten:
    subject = _subject(vault, uow, caller, subject_id)
    record_id = vault.write(
        uow,
        subject_id,
        body.category,
        _bytes_decoded(vault, subject.policy_id, body.category, body.values),
        actor=actor,
        purpose=purpose,
        collected_at=body.collected_at,
    )
    return RecordsWritten(ids=[record_id])


@router.post(
    "/records/write-many",
    status_code=status.HTTP_201_CREATED,
    summary="Write records of several subjects: all checked, then all written",
)
def write_many(
    body: RecordWriteMany,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: ActorDep,
    purpose: PurposeDep,
) -> RecordsWritten:
    policies = {
        subject_id: _subject(vault, uow, caller, subject_id).policy_id
        for subject_id in dict.fromkeys(item.subject_id for item in body.records)
    }
    items = [
        RecordCreate(
            i.subject_id,
            i.category,
            _bytes_decoded(vault, policies[i.subject_id], i.category, i.values),
            i.collected_at,
        )
        for i in body.records
    ]
    return RecordsWritten(ids=vault.write_many(uow, items, actor=actor, purpose=purpose))


@router.post(
    "/subjects/{subject_id}/read",
    summary="Read a subject's categories for the purpose the header names",
    dependencies=[Depends(no_kept_answer)],
)
def read_records(
    subject_id: str,
    body: ReadRequest,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: ActorDep,
    purpose: PurposeDep,
) -> SubjectDataOut:
    _subject(vault, uow, caller, subject_id)
    data = vault.read(
        uow,
        subject_id,
        body.categories,
        purpose=purpose,
        actor=actor,
        since=body.since,
        until=body.until,
        tiers=body.tiers,
        request_id=body.request_id,
        demand_id=body.demand_id,
    )
    return SubjectDataOut.of(data)


@router.post(
    "/records/{record_id}/rectify",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change fields of an active record (TX-3.5)",
)
def rectify_record(
    record_id: str,
    body: Rectification,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: ActorDep,
    purpose: PurposeDep,
) -> None:
    row = uow.records.get(Record, record_id)
    if row is None:
        raise RecordNotFound(f"no active record {record_id!r}")
    subject = _subject(vault, uow, caller, row.subject_id)
    values = _bytes_decoded(vault, subject.policy_id, row.category, body.values)
    vault.rectify(uow, record_id, values, actor=actor, purpose=purpose, request_id=body.request_id)


# -------------------------------------------------------------------------------- orders


@router.post(
    "/orders",
    status_code=status.HTTP_201_CREATED,
    summary="Open an order: its customer may see the driver until it closes (TX-13)",
    dependencies=[Depends(require_action(RoleAction.OPEN_ORDER))],
)
def open_order(
    body: OrderCreate,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: ActorDep,
) -> OrderCreated:
    _subject(vault, uow, caller, body.driver_id)
    order_id = vault.open_order(
        uow, driver_id=body.driver_id, customer_id=body.customer_id, actor=actor
    )
    return OrderCreated(id=order_id)


@router.post(
    "/orders/{order_id}/close",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Close an order (closing a closed one changes nothing)",
    dependencies=[Depends(require_action(RoleAction.CLOSE_ORDER))],
)
def close_order(
    order_id: str, vault: VaultDep, uow: UnitOfWorkDep, caller: CallerDep, actor: ActorDep
) -> None:
    link = uow.records.get(OrderLink, order_id)
    if link is None:
        raise RecordNotFound(f"no order {order_id!r}")
    require_policy(caller, link.policy_id)
    vault.close_order(uow, order_id, actor=actor)


@router.post(
    "/orders/{order_id}/driver-position",
    summary="Where the order's driver is now, read for the order's customer (TX-13)",
    dependencies=[Depends(require_action(RoleAction.OPEN_ORDER)), Depends(no_kept_answer)],
)
def driver_position(
    order_id: str,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: ActorDep,
    purpose: PurposeDep,
) -> SubjectDataOut:
    """The order backend relays the driver's current position to the customer's app: the
    read is the customer's (role `customer`, the order's customer), under the key's id; the
    vault checks the order is open and gives the newest position only."""
    link = uow.records.get(OrderLink, order_id)
    if link is None:
        raise RecordNotFound(f"no order {order_id!r}")
    require_policy(caller, link.policy_id)
    roles = {r.id: r for r in vault.policy(link.policy_id).roles}
    if actor.role not in roles or RoleAction.OPEN_ORDER not in roles[actor.role].actions:
        # Only the order backend (the role that opens orders) speaks for their customers.
        raise OutOfScope(
            f"role {actor.role!r} does not open orders, so relays none to a customer",
            hint="use the order backend's key (the role granted open_order)",
        )
    customer = Actor(actor.id, CUSTOMER_ROLE, subject_id=link.customer_id)
    data = vault.read(uow, link.driver_id, [LOCATION], purpose=purpose, actor=customer)
    return SubjectDataOut.of(data)


# ------------------------------------------------------------------------------- TX-13


class PositionOut(Model):
    """Where the driver was at `collected_at`: the newest location record's values."""

    collected_at: datetime
    values: Values


class DriverPositionOut(Model):
    """The driver's current position for the order's customer; None before the first ping."""

    order_id: str
    position: PositionOut | None


@router.post(
    "/me/orders/{order_id}/driver-position",
    summary="Where the driver of the signed-in customer's order is now (TX-13)",
    dependencies=[Depends(no_kept_answer)],
)
def my_driver_position(
    order_id: str,
    session: SessionDep,
    actor: SubjectActorDep,
    purpose: PurposeDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
) -> DriverPositionOut:
    """The customer's own read, with the customer's session token: the vault lets it through
    only while this customer's order with this driver is open, gives the newest position
    only, and audits the read (and a refusal) under the customer's session."""
    link = uow.records.get(OrderLink, order_id)
    if link is None or link.policy_id != session.policy_id:
        raise RecordNotFound(f"no order {order_id!r}")
    data = vault.read(uow, link.driver_id, [LOCATION], purpose=purpose, actor=actor)
    newest = max(data.records, key=lambda r: r.collected_at, default=None)
    return DriverPositionOut(
        order_id=link.id,
        position=PositionOut(collected_at=newest.collected_at, values=dict(newest.values))
        if newest is not None
        else None,
    )


# ------------------------------------------------------------------------------- TX-12


class AppSessionOpen(Model):
    subject_id: str = Field(max_length=32, description="The subject whose app started.")


class AppSessionOut(Model):
    """An app session: location is accepted for times inside it (TX-12)."""

    id: str
    policy_id: str
    subject_id: str
    opened_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, session: AppSessionRead) -> AppSessionOut:
        return cls(**session.__dict__)


class LocationSwitch(Model):
    collect: bool = Field(
        description="false: stop collecting the location now (the next ping is refused); "
        "true: collect it again."
    )
    language: Literal["az", "en", "ru"] | None = Field(
        default=None,
        description="The language the app showed the switch in (kept in the consent "
        "ledger); default: the policy's.",
    )


class LocationStatusOut(Model):
    """Whether a subject's location is collected now."""

    subject_id: str
    collecting: bool = Field(description="The switch: on unless the subject turned it off.")
    window: str = Field(description="When the policy collects it: app_in_use, order, always.")
    session: AppSessionOut | None = Field(description="The app session open now, if any.")

    @classmethod
    def of(cls, status: LocationStatus) -> LocationStatusOut:
        return cls(
            subject_id=status.subject_id,
            collecting=status.collecting,
            window=status.window,
            session=AppSessionOut.of(status.session) if status.session else None,
        )


@router.post(
    "/app-sessions",
    status_code=status.HTTP_201_CREATED,
    summary="The app started: open the subject's app session (TX-12)",
    dependencies=[Depends(require_action(RoleAction.OPEN_APP_SESSION))],
)
def open_app_session(
    body: AppSessionOpen,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: ActorDep,
) -> AppSessionOut:
    _subject(vault, uow, caller, body.subject_id)
    return AppSessionOut.of(vault.open_app_session(uow, subject_id=body.subject_id, actor=actor))


@router.post(
    "/app-sessions/{app_session_id}/close",
    summary="The app stopped: close the session; later pings are refused (TX-12)",
    dependencies=[Depends(require_action(RoleAction.CLOSE_APP_SESSION))],
)
def close_app_session(
    app_session_id: str,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: ActorDep,
) -> AppSessionOut:
    require_policy(caller, vault.app_session(uow, app_session_id).policy_id)
    return AppSessionOut.of(vault.close_app_session(uow, app_session_id, actor=actor))


@router.post(
    "/subjects/{subject_id}/location-switch",
    summary="Relay the subject's location switch from the app: off stops collection now",
    dependencies=[Depends(require_action(RoleAction.OPEN_APP_SESSION))],
)
def switch_location(
    subject_id: str,
    body: LocationSwitch,
    vault: VaultDep,
    uow: UnitOfWorkDep,
    caller: CallerDep,
    actor: ActorDep,
) -> LocationStatusOut:
    _subject(vault, uow, caller, subject_id)
    switched = vault.switch_location(
        uow, subject_id, on=body.collect, actor=actor, language=body.language
    )
    return LocationStatusOut.of(switched)


@router.post(
    "/me/location-switch",
    summary="The signed-in subject switches the collection of its location off or on (TX-12)",
)
def switch_my_location(
    body: LocationSwitch,
    session: SessionDep,
    actor: SubjectActorDep,
    vault: VaultDep,
    uow: UnitOfWorkDep,
) -> LocationStatusOut:
    switched = vault.switch_location(
        uow, session.subject_id, on=body.collect, actor=actor, language=body.language
    )
    return LocationStatusOut.of(switched)


@router.get(
    "/me/location-switch",
    summary="Whether the signed-in subject's location is collected now (TX-12)",
)
def my_location_status(
    session: SessionDep, vault: VaultDep, uow: UnitOfWorkDep
) -> LocationStatusOut:
    return LocationStatusOut.of(vault.location_status(uow, session.subject_id))


# ----------------------------------------------------------------------- TX-20 – TX-22


class NetworkIn(Model):
    """A device's mobile network, as the app reads it from the SIM or the network."""

    mcc: str = Field(pattern=r"^[0-9]{3}$", description="Mobile country code (ITU-T E.212).")
    mnc: str | None = Field(
        default=None, pattern=r"^[0-9]{2,3}$", description="Mobile network code."
    )


class NetworkLocaleOut(Model):
    """The country and interface language the network gives; nothing is stored (TX-21)."""

    country: str | None = Field(description="ISO 3166-1 alpha-2; null for an unknown MCC.")
    language: Literal["az", "en", "ru"] = Field(
        description="The interface language; the policy's own for an unknown MCC."
    )
    operator: str | None = Field(description="The network's operator, if listed.")


@router.post(
    "/network-locale",
    summary="Country and interface language from a mobile network code (TX-20 – TX-22)",
)
def network_locale(body: NetworkIn, vault: VaultDep, caller: CallerDep) -> NetworkLocaleOut:
    """For the key's policy: what its `mobile_operator` section derives from the network.
    The codes are neither stored nor logged; the app keeps what it needs of the answer (or
    the backend writes it into the policy's `mobile_operator` category)."""
    found = locale_from_network(body.mcc, body.mnc, vault.policy(caller.policy_id))
    return NetworkLocaleOut(country=found.country, language=found.language, operator=found.operator)
