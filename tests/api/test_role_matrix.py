"""Every role against every endpoint: the matrix is generated from the OpenAPI document (every
operation) and the policies (every keyable role of each policy, the DPO and the auditor, a
data subject's session, no key, a key of the other policy), and each cell's expected answer
is derived, never listed: from what the route declares (`x-mexfi-auth`, `x-mexfi-roles`,
`x-mexfi-action`, `x-mexfi-purpose`) and what the policy grants (a role's `actions`, a
purpose's `roles`). Allowed: any answer but 401 and 403 (a 404 or 409 of the world's state
is past the gate); denied: 401 without a credential, 403 otherwise; never a 500. The matrix
is printed (`pytest -s`)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mexfi.apikeys import EXTRA_ROLES
from mexfi.apikeys.views import get_code_sender
from mexfi.policy import Policy, RoleKind
from mexfi.requests import add_request
from mexfi.requests.views import get_code_sender as get_request_code_sender
from mexfi.retention import place_hold
from mexfi.vault import Actor, Vault
from mexfi.vault.models import AppSession
from tests.api.conftest import DPO, make_key
from tests.requests.conftest import CapturingSender
from tests.vault.conftest import DRIVER

POLICIES = ("bakikart", "taxsee_driver")
OTHER = {"bakikart": "taxsee_driver", "taxsee_driver": "bakikart"}
#: Path parameters that name a stored object of a policy (not a policy id or a language).
OBJECTS = {"subject_id", "record_id", "order_id", "request_id", "hold_id", "app_session_id"}
#: Body fields that name a policy or a subject of one.
SCOPING_FIELDS = {"policy_id", "subject_id", "driver_id"}
NOBODY_PHONE = "+994 77 000 11 22"
LAST = {"POST /api/v1/sessions/end"}


@dataclass(frozen=True)
class Caller:
    label: str
    kind: str  # "key", "session", "none"
    policy_id: str | None = None
    role: str | None = None
    secret: str | None = None


@dataclass
class World:
    """One policy's objects, the targets of its column's calls."""

    policy_id: str
    #: The purpose and categories a purpose-bound call names, by operation (default: "*").
    purposes: dict[str, tuple[str, list[str]]]
    params: dict[str, str]
    bodies: dict[str, dict[str, Any]]
    order_params: dict[str, dict[str, str]]


def _b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).decode()


def _bakikart(vault: Vault) -> World:
    service = Actor("matrix", "service")
    with vault.unit_of_work() as uow:
        rider = vault.register(
            uow, policy_id="bakikart", kind="rider", actor=service, purpose="service_provision",
            lookup_phone="+994 50 200 33 44",
            records={"phone": {"phone": "+994 50 200 33 44"}, "profile": {"first_name": "Leyla"}},
        ).id  # fmt: skip
        other = vault.register(
            uow, policy_id="bakikart", kind="rider", actor=service, purpose="service_provision",
            lookup_phone="+994 50 201 33 44", records={"phone": {"phone": "+994 50 201 33 44"}},
        ).id  # fmt: skip
        record = vault.write(
            uow, rider, "profile", {"first_name": "Leyla"}, actor=service,
            purpose="service_provision",
        )  # fmt: skip
        request = add_request(
            vault, uow, policy_id="bakikart", kind="access", channel="written", actor=DPO,
            subject_id=rider,
        ).id  # fmt: skip
        hold = place_hold(
            vault, uow, policy_id="bakikart", reason="case-1", actor=DPO, subject_id=other
        ).id
        # BakıKart has no app sessions (no `geolocation`): one is planted to try closing it.
        app_session = AppSession(
            id="1" * 32, policy_id="bakikart", subject_id=rider, opened_at=vault.clock.now(),
            closed_at=None,
        )  # fmt: skip
        uow.records.add(app_session)
    return World(
        policy_id="bakikart",
        purposes={
            "*": ("service_provision", ["phone"]),
            "/api/v1/me/read": ("online_services", ["phone"]),
        },
        params={
            "subject_id": rider,
            "record_id": record,
            "request_id": request,
            "hold_id": hold,
            "order_id": "0" * 32,  # no role of the policy opens orders: none exists
            "app_session_id": app_session.id,
            "policy_id": "bakikart",
            "lang": "en",
        },
        bodies={
            "POST /api/v1/subjects": {
                "policy_id": "bakikart",
                "kind": "rider",
                "lookup_phone": "+994 50 202 33 44",
                "records": {"phone": {"phone": "+994 50 202 33 44"}},
            },
            "POST /api/v1/subjects/find": {"policy_id": "bakikart", "phone": "+994 50 200 33 44"},
            "POST /api/v1/subjects/{subject_id}/records": {
                "category": "profile",
                "values": {"first_name": "Leyla"},
            },
            "POST /api/v1/records/write-many": {
                "records": [
                    {"subject_id": rider, "category": "profile", "values": {"first_name": "L"}}
                ]
            },
            "POST /api/v1/records/{record_id}/rectify": {"values": {"first_name": "Leyla"}},
            "POST /api/v1/orders": {"driver_id": rider, "customer_id": other},
            "POST /api/v1/app-sessions": {"subject_id": rider},
            "POST /api/v1/subjects/{subject_id}/location-switch": {"collect": True},
            "POST /api/v1/me/location-switch": {"collect": True},
            "POST /api/v1/network-locale": {"mcc": "400", "mnc": "01"},
        },
        order_params={},
    )


def _taxsee(vault: Vault) -> World:
    system = Actor("matrix", "system")
    registration = {**DRIVER, "phone": "+994 51 300 44 55"}
    with vault.unit_of_work() as uow:
        driver = vault.register(
            uow, policy_id="taxsee_driver", kind="driver", actor=system,
            purpose="licence_agreement", lookup_phone="+994 51 300 44 55",
            records={"registration": registration},
        ).id  # fmt: skip
        customer = vault.register(
            uow, policy_id="taxsee_driver", kind="customer", actor=system,
            purpose="service_operation", lookup_phone="+994 70 300 44 55",
            records={"customer_contact": {"phone": "+994 70 300 44 55"}},
        ).id  # fmt: skip
        record = vault.write(
            uow, driver, "registration", registration, actor=system, purpose="licence_agreement"
        )
        followed = vault.open_order(uow, driver_id=driver, customer_id=customer, actor=system)
        closing = vault.open_order(uow, driver_id=driver, customer_id=customer, actor=system)
        app_session = vault.open_app_session(uow, subject_id=driver, actor=system).id  # TX-12
        vault.write(
            uow, driver, "location",
            {"point": (40.4093, 49.8671), "recorded_at": "2026-03-02T08:59:00+00:00"},
            actor=system, purpose="ride_provision",
        )  # fmt: skip
        request = add_request(
            vault, uow, policy_id="taxsee_driver", kind="access", channel="written", actor=DPO,
            subject_id=driver,
        ).id  # fmt: skip
        hold = place_hold(
            vault, uow, policy_id="taxsee_driver", reason="case-1", actor=DPO, subject_id=customer
        ).id
    body_registration = {**registration, "photo": _b64(bytes(DRIVER["photo"]))}  # type: ignore[arg-type]
    return World(
        policy_id="taxsee_driver",
        purposes={
            "*": ("licence_agreement", ["registration"]),
            "/api/v1/orders/{order_id}/driver-position": ("ride_provision", ["location"]),
            "/api/v1/me/orders/{order_id}/driver-position": ("ride_provision", ["location"]),
            "/api/v1/me/read": ("licence_agreement", ["registration"]),
        },
        params={
            "subject_id": driver,
            "record_id": record,
            "request_id": request,
            "hold_id": hold,
            "order_id": followed,
            "app_session_id": app_session,
            "policy_id": "taxsee_driver",
            "lang": "en",
        },
        bodies={
            "POST /api/v1/subjects": {
                "policy_id": "taxsee_driver",
                "kind": "driver",
                "lookup_phone": "+994 51 301 44 55",
                "records": {"registration": {**body_registration, "phone": "+994 51 301 44 55"}},
            },
            "POST /api/v1/subjects/find": {
                "policy_id": "taxsee_driver",
                "phone": "+994 51 300 44 55",
            },
            "POST /api/v1/subjects/{subject_id}/records": {
                "category": "registration",
                "values": body_registration,
            },
            "POST /api/v1/records/write-many": {
                "records": [
                    {"subject_id": driver, "category": "registration", "values": body_registration}
                ]
            },
            "POST /api/v1/records/{record_id}/rectify": {"values": {"plate": "10-AB-124"}},
            "POST /api/v1/orders": {"driver_id": driver, "customer_id": customer},
            "POST /api/v1/app-sessions": {"subject_id": driver},
            "POST /api/v1/subjects/{subject_id}/location-switch": {"collect": True},
            "POST /api/v1/me/location-switch": {"collect": True},
            "POST /api/v1/network-locale": {"mcc": "400", "mnc": "01"},
        },
        # Closing an order must leave the followed one open for the position reads.
        order_params={"POST /api/v1/orders/{order_id}/close": {"order_id": closing}},
    )


def _common_bodies(world: World) -> dict[str, dict[str, Any]]:
    """Bodies of the operations whose shape is the same in both policies."""
    p = world.policy_id
    categories = world.purposes["*"][1]
    return {
        "POST /api/v1/subjects/{subject_id}/status": {"status": "active", "reason": "matrix"},
        "POST /api/v1/subjects/{subject_id}/read": {"categories": categories},
        "POST /api/v1/me/read": {"categories": world.purposes["/api/v1/me/read"][1]},
        "POST /api/v1/requests": {"policy_id": p, "kind": "access", "channel": "written"},
        "POST /api/v1/requests/check": {"policy_id": p, "kind": "access", "channel": "written"},
        "POST /api/v1/requests/{request_id}/verify": {"code": "x"},
        "POST /api/v1/requests/{request_id}/verify-out-of-band": {
            "method": "in_person",
            "reason": "matrix",
        },
        "POST /api/v1/requests/{request_id}/amend": {},
        "POST /api/v1/requests/{request_id}/withdraw": {"reason": "duplicate"},
        "POST /api/v1/requests/{request_id}/answer": {},
        "POST /api/v1/requests/{request_id}/letter": {},
        "POST /api/v1/retention/holds": {"policy_id": p, "reason": "case-2"},
        "POST /api/v1/scan": {"text": "no personal data here"},
        "POST /api/v1/scan/redact": {"text": "no personal data here"},
        "POST /api/v1/sessions/start": {"policy_id": p, "phone": NOBODY_PHONE},
        "POST /api/v1/sessions/verify": {"challenge_id": "0" * 32, "code": "123456"},
        # The same policy version string in both policies: a choice each of them declares.
        "POST /api/v1/consent/subjects/{subject_id}/choices": {
            "choices": [{"kind": "policy", "notice": "1.0", "choice": "acknowledge"}],
            "language": "en",
        },
        "POST /api/v1/consent/subjects/{subject_id}/notifications": {
            "preferences": {"qr_tickets": True},
            "language": "en",
        },
        # The cookie banner's public route: a device (its random id), no credential needed.
        "POST /api/v1/consent/banner/{policy_id}/state": {"device_id": "0" * 32},
    }


def _from_schema(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A minimal body of a schema: its required fields, each a plausible value."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema:
        return _from_schema(spec, schema["anyOf"][0])
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {
            name: _from_schema(spec, schema["properties"][name])
            for name in schema.get("required", [])
        }
    return {"array": [], "string": "x", "integer": 1, "number": 1, "boolean": False}.get(str(kind))


def _callers(vault: Vault, client: TestClient, policy: Policy, token: str) -> list[Caller]:
    keyable = [r.id for r in policy.roles if r.kind in (RoleKind.STAFF, RoleKind.SYSTEM)]
    roles = list(dict.fromkeys([*keyable, *EXTRA_ROLES]))
    callers = [
        Caller(r, "key", policy.id, r, make_key(vault, policy.id, r, f"matrix-{r}")) for r in roles
    ]
    subject_role = next(r.id for r in policy.roles if r.kind is RoleKind.SUBJECT)
    callers.append(Caller(f"session:{subject_role}", "session", policy.id, subject_role, token))
    callers.append(Caller("no key", "none"))
    other = OTHER[policy.id]
    callers.append(Caller(f"{other}:dpo", "key", other, "dpo", make_key(vault, other, "dpo")))
    return callers


def _sign_in(client: TestClient, sender: CapturingSender, policy_id: str, phone: str) -> str:
    started = client.post("/api/v1/sessions/start", json={"policy_id": policy_id, "phone": phone})
    challenge = started.json()["challenge_id"]
    verified = client.post(
        "/api/v1/sessions/verify",
        json={"challenge_id": challenge, "code": sender.code_for(challenge)},
    )
    assert verified.status_code == 201, verified.text
    return str(verified.json()["token"])


def _scoped(path: str, body: Any) -> bool:
    """Whether the call names an object or a policy of the store (not a public statement)."""
    names = {part[1:-1] for part in path.split("/") if part.startswith("{")}
    if names & OBJECTS:
        return True

    def fields(value: Any) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {f for v in value.values() for f in fields(v)}
        if isinstance(value, list):
            return {f for v in value for f in fields(v)}
        return set()

    return bool(fields(body) & SCOPING_FIELDS)


def _expected(
    op: dict[str, Any],
    caller: Caller,
    policies: dict[str, Policy],
    purpose: str,
    scoped: bool,
    home: str,
) -> int | None:
    """None if the caller passes the route's gate, else the status of the denial."""
    auth = op["x-mexfi-auth"]
    if auth == "none":
        return None
    if caller.kind == "none":
        return 401
    if (auth == "session") != (caller.kind == "session"):
        return 403
    assert caller.policy_id is not None and caller.role is not None
    if scoped and caller.policy_id != home:
        return 403
    policy = policies[caller.policy_id]
    declared = {r.id: r for r in policy.roles}
    roles = op["x-mexfi-roles"]
    if roles == ["@policy"]:  # the roles the key's policy declares: not the auditor
        roles = list(declared)
    if auth == "apikey" and roles != ["*"] and caller.role not in roles:
        return 403
    action = op.get("x-mexfi-action")
    if action is not None and (
        caller.role not in declared or action not in declared[caller.role].actions
    ):
        return 403
    if op["x-mexfi-purpose"] and caller.role not in policy.purpose(purpose).roles:
        return 403
    return None


@pytest.fixture
def sender(app: FastAPI) -> CapturingSender:
    captured = CapturingSender()
    app.dependency_overrides[get_code_sender] = lambda: captured
    app.dependency_overrides[get_request_code_sender] = lambda: captured
    return captured


def test_every_role_against_every_endpoint(
    vault: Vault,
    client: TestClient,
    policies: dict[str, Policy],
    sender: CapturingSender,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = client.get("/openapi.json").json()
    operations = sorted(
        (
            (method.upper(), path, op)
            for path, ops in spec["paths"].items()
            for method, op in ops.items()
            if path != "/api/v1/health"
        ),
        # What ends the caller's own credential goes last (the other cells still use it).
        key=lambda o: f"{o[0]} {o[1]}" in LAST,
    )
    undeclared = [f"{m} {p}" for m, p, op in operations if "x-mexfi-auth" not in op]
    assert not undeclared, f"operations with no declared access: {undeclared}"
    worlds = {"bakikart": _bakikart(vault), "taxsee_driver": _taxsee(vault)}
    tokens = {
        "bakikart": _sign_in(client, sender, "bakikart", "+994 50 200 33 44"),
        "taxsee_driver": _sign_in(client, sender, "taxsee_driver", "+994 51 300 44 55"),
    }
    mismatches: list[str] = []
    lines: list[str] = []
    for policy_id in POLICIES:
        world = worlds[policy_id]
        bodies = {**_common_bodies(world), **world.bodies}
        callers = _callers(vault, client, policies[policy_id], tokens[policy_id])
        lines.append(f"\n{policy_id}: operation × caller (allow/deny, status)")
        lines.append(" | ".join(["operation", *(c.label for c in callers)]))
        for method, path, op in operations:
            name = f"{method} {path}"
            params = {**world.params, **world.order_params.get(name, {})}
            url = path.format(**params)
            purpose, _ = world.purposes.get(path, world.purposes["*"])
            body: Any = None
            if "requestBody" in op:
                content = op["requestBody"]["content"]["application/json"]["schema"]
                body = bodies.get(name, _from_schema(spec, content))
            scoped = _scoped(path, body)
            cells = []
            for n, caller in enumerate(callers):
                if name == "POST /api/v1/sessions/start":
                    # A phone of its own per call: codes are limited per phone, held or not.
                    body = {**body, "phone": f"{NOBODY_PHONE[:-2]}{n:02d}"}
                headers = {"X-Mexfi-Purpose": purpose}
                if caller.secret:
                    headers["Authorization"] = f"Bearer {caller.secret}"
                response = client.request(method, url, json=body, headers=headers)
                status = response.status_code
                want = _expected(op, caller, policies, purpose, scoped, policy_id)
                not_here = (
                    status == 404
                    and world.params.get("order_id") == "0" * 32
                    and ("{order_id}" in path)
                )
                if not_here:
                    cells.append(f"n/a {status}")
                    continue
                got_denied = status in (401, 403)
                cells.append(f"{'deny' if got_denied else 'allow'} {status}")
                if status >= 500:
                    mismatches.append(f"{policy_id} {name} as {caller.label}: {status}")
                elif want is None and got_denied:
                    mismatches.append(
                        f"{policy_id} {name} as {caller.label}: denied {status} "
                        f"({response.json().get('code')}), expected allowed"
                    )
                elif want is not None and status != want:
                    mismatches.append(
                        f"{policy_id} {name} as {caller.label}: {status}, expected {want}"
                    )
            lines.append(" | ".join([name, *cells]))
    with capsys.disabled():
        print("\n".join(lines))
    assert not mismatches, "\n".join(mismatches)
