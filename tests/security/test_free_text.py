"""Operator free text never keeps personal data where it cannot be erased (issue 10, item 7).

The probe: a name and a FIN in `requests reject --reason` were stored in the append-only
audit log; `hold place --reason` stored names, phones and FINs unchecked. Now the project's
scanner (all twelve types) screens them first, and the refusal names the types found,
never the text.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest

from mexfi.audit import AuditAction, AuditValueRefused
from mexfi.cli.app import main
from mexfi.db import Store
from mexfi.requests import reject_request
from mexfi.retention import active_holds, place_hold
from mexfi.scan import PersonalDataInText
from mexfi.vault import Actor, InvalidValue, Vault
from tests.audit.helpers import make_event
from tests.conftest import REPO
from tests.requests.conftest import access_request
from tests.vault.conftest import DPO
from tests.vault.test_vault import register_driver

#: (entity type, free text carrying it, the personal value itself)
PERSONAL = [
    ("PERSON", "dispute raised by Əliyev Kamran Vaqif oğlu", "Əliyev Kamran"),
    ("FIN", "owner's FIN 5ZJ8K2L", "5ZJ8K2L"),
    ("PHONE", "complaint called in from +994 55 765 43 21", "765 43 21"),
    ("PLATE", "the car 10-AB-123 was in an accident", "10-AB-123"),
]


def audit_count(vault: Vault, store: Store, action: AuditAction) -> int:
    with store.records() as session:
        return len(vault.audit.entries(session, actions=[action]))


@pytest.mark.parametrize(("kind", "reason", "value"), PERSONAL)
def test_a_hold_reason_carrying_personal_data_is_refused_naming_only_its_type(
    vault: Vault, store: Store, kind: str, reason: str, value: str
) -> None:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
    with pytest.raises(PersonalDataInText) as refused, vault.unit_of_work() as uow:
        place_hold(
            vault, uow, policy_id="taxsee_driver", subject_id=driver, reason=reason, actor=DPO
        )
    assert refused.value.types == (kind,) and kind in refused.value.message
    assert value not in f"{refused.value.message} {refused.value.hint}"
    with vault.unit_of_work() as uow:
        assert active_holds(uow, policy_id="taxsee_driver") == []
    assert audit_count(vault, store, AuditAction.BLOCK) == 0


def test_a_hold_with_a_reference_for_a_reason_is_placed(vault: Vault) -> None:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
        hold = place_hold(
            vault,
            uow,
            policy_id="taxsee_driver",
            subject_id=driver,
            reason="court request 2-1234/2026",
            actor=DPO,
        )
    assert hold.reason == "court request 2-1234/2026"


def test_an_actor_named_by_name_is_refused(vault: Vault) -> None:
    name = Actor("Leyla Həsənova", "dpo")
    with pytest.raises(PersonalDataInText, match="actor id") as no, vault.unit_of_work() as uow:
        place_hold(
            vault, uow, policy_id="taxsee_driver", category="location", reason="x", actor=name
        )
    assert "Leyla" not in no.value.message


@pytest.mark.parametrize(("kind", "reason", "value"), PERSONAL)
def test_a_rejection_reason_carrying_personal_data_is_refused_and_the_request_stays_open(
    vault: Vault, store: Store, kind: str, reason: str, value: str
) -> None:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
    request_id = access_request(vault, driver)
    rejections = audit_count(vault, store, AuditAction.REQUEST)
    with pytest.raises(PersonalDataInText) as refused, vault.unit_of_work() as uow:
        reject_request(
            vault, uow, request_id, actor=DPO, reasons=["identity_not_confirmed", reason]
        )
    assert refused.value.types == (kind,)
    assert value not in f"{refused.value.message} {refused.value.hint}"
    assert audit_count(vault, store, AuditAction.REQUEST) == rejections
    with vault.unit_of_work() as uow:
        closed = reject_request(
            vault, uow, request_id, actor=DPO, reasons=["identity_not_confirmed"]
        )
    assert closed.state.value == "rejected"


@pytest.mark.parametrize(("kind", "reason", "value"), PERSONAL)
def test_the_audit_log_refuses_names_fins_phones_and_plates_in_a_reason(
    kind: str, reason: str, value: str
) -> None:
    # The last screen: whatever path free text takes to the append-only log.
    with pytest.raises(AuditValueRefused) as refused:
        make_event(0, reason=reason)
    # A phone is caught by the log's own digit screen before the scanner runs.
    named = "phone-like" if kind == "PHONE" else f"({kind})"
    assert refused.value.field == "reason" and named in refused.value.message
    assert value not in f"{refused.value.message} {refused.value.hint}"


def test_the_audit_log_refuses_an_actor_given_by_name_and_keeps_codes() -> None:
    with pytest.raises(AuditValueRefused, match="PERSON") as refused:
        make_event(0, actor_id="Leyla Həsənova")
    assert refused.value.field == "actor_id"
    assert make_event(0, reason="legal_hold_placed").reason == "legal_hold_placed"


def test_cli_hold_place_refuses_a_fin_with_exit_3_and_never_echoes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MEXFI_POLICY_DIR", str(REPO / "policies"))
    for name in ("MEXFI_DATABASE_URL", "MEXFI_KEYSTORE_URL", "MEXFI_KEY_FILE", "MEXFI_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MEXFI_DEBUG", raising=False)

    def mexfi(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["mexfi", *args])
        with pytest.raises(SystemExit) as exited:
            main()
        code = exited.value.code
        return (code if isinstance(code, int) else 0), capsys.readouterr().err

    assert mexfi("keys", "init")[0] == 0
    code, err = mexfi(
        "retention", "hold", "place", "--policy", "taxsee_driver", "--category", "location",
        "--reason", "requested for FIN 5ZJ8K2L", "--actor", "dpo-1",
    )  # fmt: skip
    assert code == 3
    assert "FIN" in err and "5ZJ8K2L" not in err


DEMAND = {
    "authority": "Baku City Court",
    "reference": "2-1234/2026",
    "law": "Law on Personal Data, art. 8",
}


@pytest.mark.parametrize("field", ["authority", "reference", "law"])
@pytest.mark.parametrize(("kind", "text", "value"), PERSONAL)
def test_a_lawful_demand_carrying_personal_data_is_refused(
    vault: Vault, store: Store, field: str, kind: str, text: str, value: str
) -> None:
    """A lawful demand is a register row, not sealed data: the authority, its reference and
    the law go in, never the person (destroying the subject would not take them)."""
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
    now = vault.clock.now()
    with pytest.raises(PersonalDataInText) as refused, vault.unit_of_work() as uow:
        vault.record_lawful_demand(
            uow, driver, **{**DEMAND, field: text}, categories=["registration"],
            received_at=now, expires_at=now + timedelta(days=30), actor=DPO,
        )  # fmt: skip
    assert refused.value.types == (kind,)
    assert f"the lawful demand's {field}" in refused.value.message
    assert value not in f"{refused.value.message} {refused.value.hint}"
    assert audit_count(vault, store, AuditAction.REQUEST) == 0


def test_a_lawful_demand_of_codes_is_recorded_and_an_overlong_one_refused(
    vault: Vault, store: Store
) -> None:
    with vault.unit_of_work() as uow:
        driver = register_driver(vault, uow)
    now = vault.clock.now()
    with vault.unit_of_work() as uow:
        demand = vault.record_lawful_demand(
            uow, driver, **DEMAND, categories=["registration"], received_at=now,
            expires_at=now + timedelta(days=30), actor=DPO,
        )  # fmt: skip
    assert demand and audit_count(vault, store, AuditAction.REQUEST) == 1
    with pytest.raises(InvalidValue, match="longer than 200"), vault.unit_of_work() as uow:
        vault.record_lawful_demand(
            uow, driver, **{**DEMAND, "law": "Law " * 60}, categories=["registration"],
            received_at=now, expires_at=now + timedelta(days=30), actor=DPO,
        )  # fmt: skip
    with pytest.raises(PersonalDataInText, match="the actor id"), vault.unit_of_work() as uow:
        vault.record_lawful_demand(
            uow, driver, **DEMAND, categories=["registration"], received_at=now,
            expires_at=now + timedelta(days=30), actor=Actor("Əliyev Kamran", "dpo"),
        )  # fmt: skip
