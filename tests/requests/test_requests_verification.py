"""Identity verification before anything leaves (TX-11, BK-3.2, TX-4.1): a request is carried
out only once its author is proven to be the subject, by a one-time code sent to the
subject's registered phone or by the DPO's out-of-band check."""

from __future__ import annotations

import io
import json
import re
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from mexfi.audit import AuditAction
from mexfi.clock import FixedClock
from mexfi.requests import (
    CODE_TTL,
    CODES_PER_HOUR,
    MAX_ATTEMPTS,
    CodeMessage,
    CodeNotSent,
    ConsoleSender,
    NoPhoneOnRecord,
    RequestRead,
    RequestState,
    RequestStateConflict,
    TooManyCodes,
    UnknownCodeSender,
    VerificationDenied,
    VerificationFailed,
    WrittenDetails,
    answer_request,
    code_sender,
    export_access,
    request_history,
    send_code,
    verification_status,
    verify_code,
    verify_out_of_band,
)
from mexfi.requests.models import SubjectRequest, VerificationCode
from mexfi.scan import PersonalDataInText
from mexfi.vault import PurposeDenied, RecordCreate, Vault
from mexfi.vault.models import RequestBasis
from tests.vault.conftest import DRIVER, SERVICE, SYSTEM

from .conftest import (
    COMPLETE,
    DPO,
    SUPPORT,
    CapturingSender,
    add,
    answered,
    register_driver,
    register_rider,
)

PHONE = "+994 50 123 45 67"
#: The phone's digits in any form a leak could take.
PHONE_FORMS = ("501234567", "50 123 45 67", "123 45 67", "1234567", "123-45-67")


def _taps(vault: Vault, subject: str, n: int) -> None:
    now = vault.clock.now()
    items = [
        RecordCreate(
            subject,
            "card_use",
            {"place": "Nizami", "used_at": now, "kind": "card", "card_number": "900000001"},
            now - timedelta(days=1, minutes=i),
        )
        for i in range(n)
    ]
    with vault.unit_of_work() as uow:
        vault.write_many(uow, items, actor=SERVICE, purpose="service_provision")


def _access(vault: Vault, **options: object) -> RequestRead:
    """A BakıKart access request by phone, past intake and not verified."""
    request = add(
        vault, verified=False, policy_id="bakikart", kind="access", channel="written",
        actor=DPO, phone=PHONE, **options,
    )  # fmt: skip
    assert request.state is RequestState.VERIFYING, request.reasons
    return request


def _send(vault: Vault, request_id: str, sender: CapturingSender) -> str:
    with vault.unit_of_work() as uow:
        send_code(vault, uow, request_id, actor=DPO, sender=sender)
    return sender.code_for(request_id)


def _enter(vault: Vault, request_id: str, code: str) -> RequestRead:
    with vault.unit_of_work() as uow:
        return verify_code(vault, uow, request_id, code, actor=DPO)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def _reasons(vault: Vault, request_id: str) -> list[str]:
    with vault.unit_of_work() as uow:
        return [e.reason or "" for e in request_history(vault, uow, request_id)]


def _dump(vault: Vault) -> str:
    """Every row of the requests, codes and audit tables, as text."""
    with vault.store.records() as session:
        return " ".join(
            str(row)
            for table in ("subject_requests", "request_verification_codes", "audit_entries")
            for row in session.execute(text(f"SELECT * FROM {table}"))
        )


# --------------------------------------------------------------------------- the done-when


def test_bk_3_2_an_unverified_access_request_yields_nothing(rq_vault: Vault) -> None:
    rider = register_rider(rq_vault, PHONE)
    _taps(rq_vault, rider, 5)
    request = _access(rq_vault)
    assert request.subject_id == rider and request.verification is None
    with pytest.raises(RequestStateConflict, match="not verified") as refused:
        answered(rq_vault, request.id, actor=DPO)
    assert f"mexfi requests send-code {request.id}" in (refused.value.hint or "")
    assert "--out-of-band" in (refused.value.hint or "")
    # No read basis is open, so nothing can read the subject's data for it either.
    with rq_vault.store.records() as session:
        bases = select(RequestBasis).where(RequestBasis.request_id == request.id)
        assert session.scalars(bases).all() == []
    with pytest.raises(PurposeDenied), rq_vault.unit_of_work() as uow:
        export_access(rq_vault, uow, rider, actor=DPO, request_id=request.id)
    with rq_vault.unit_of_work() as uow:
        history = request_history(rq_vault, uow, request.id)
        assert verification_status(rq_vault, uow, request.id).state is RequestState.VERIFYING
    assert [e.action for e in history] == [AuditAction.REQUEST, AuditAction.REQUEST]
    # Nothing of the subject was read or exported: the export above was denied, and audited.
    with rq_vault.store.records() as session:
        actions = set(
            session.scalars(
                text("SELECT action FROM audit_entries WHERE subject = :subject"),
                {"subject": rq_vault.pseudonym(rider)},
            )
        )
    assert actions == {"register", "request", "deny"}
    # The right code opens it, and the export follows.
    sender = CapturingSender()
    verified = _enter(rq_vault, request.id, _send(rq_vault, request.id, sender))
    assert verified.state is RequestState.IN_PROGRESS and verified.verification == "code"
    answer = answered(rq_vault, request.id, actor=DPO)
    assert answer.request.state is RequestState.ANSWERED
    assert len(answer.data["records"]) == 7  # phone, profile, five taps


def test_the_code_goes_to_the_registered_phone_and_only_its_mac_is_kept(rq_vault: Vault) -> None:
    rider = register_rider(rq_vault, PHONE)
    request = add(
        rq_vault, verified=False, policy_id="bakikart", kind="access", channel="written",
        actor=DPO, subject_id=rider, language="az",
    )  # fmt: skip
    sender = CapturingSender()
    code = _send(rq_vault, request.id, sender)
    [message] = sender.sent
    assert re.fullmatch(r"\d{6}", code)
    assert message.phone.replace(" ", "") == PHONE.replace(" ", "")
    assert code in message.text and request.id in message.text and '"K Group"' in message.text
    assert message.expires_at == rq_vault.clock.now() + CODE_TTL
    for hidden in (code, PHONE, message.text):
        assert hidden not in repr(message)
    with rq_vault.store.records() as session:
        stored = session.scalars(select(VerificationCode)).one()
        assert stored.code_mac != code.encode() and len(stored.code_mac) == 32
        assert stored.subject_id == rider and stored.attempts == 0
    dump = _dump(rq_vault)
    assert not any(form in dump for form in PHONE_FORMS)
    assert f"{request.id}" in dump and "access:verifying:code_sent_capture" in dump
    # The phone was read by the vault for this request, audited as such.
    with rq_vault.unit_of_work() as uow:
        history = request_history(rq_vault, uow, request.id)
    contact = [e for e in history if e.action is AuditAction.READ]
    assert [e.reason for e in contact] == ["verification_contact"]
    assert contact[0].purpose == "subject_request" and contact[0].categories == ("phone",)


def test_three_wrong_codes_lock_the_request_and_the_audit_shows_each(rq_vault: Vault) -> None:
    register_rider(rq_vault, PHONE)
    request = _access(rq_vault)
    sender = CapturingSender()
    code = _send(rq_vault, request.id, sender)
    messages = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        # Each refusal rolls the caller's unit of work back; the attempt stays on record.
        with pytest.raises(VerificationFailed) as failed:
            _enter(rq_vault, request.id, _wrong(code))
        assert failed.value.reason == "code_wrong"
        assert failed.value.attempts_left == MAX_ATTEMPTS - attempt
        messages.append(str(failed.value))
    assert "locked" in messages[-1] and "locked" not in messages[0]
    with rq_vault.unit_of_work() as uow:
        status = verification_status(rq_vault, uow, request.id)
    assert status.state is RequestState.LOCKED
    assert (status.failed_attempts, status.attempts_left, status.codes_sent) == (3, 0, 1)
    assert _reasons(rq_vault, request.id)[-4:] == [
        "access:verifying:code_wrong_1_of_3",
        "access:verifying:code_wrong_2_of_3",
        "access:verifying:code_wrong_3_of_3",
        "access:locked:verification_locked",
    ]
    with rq_vault.store.records() as session:
        assert session.scalars(select(VerificationCode.attempts)).one() == 3
    # Locked: even the right code is refused, no new code goes out, nothing is answered.
    with pytest.raises(RequestStateConflict, match="locked") as locked:
        _enter(rq_vault, request.id, code)
    assert "--out-of-band" in (locked.value.hint or "")
    with pytest.raises(RequestStateConflict, match="locked"):
        _send(rq_vault, request.id, sender)
    with pytest.raises(RequestStateConflict, match="not verified"):
        answered(rq_vault, request.id, actor=DPO)
    # The DPO, having seen the subject, can still open it.
    with rq_vault.unit_of_work() as uow:
        opened = verify_out_of_band(
            rq_vault, uow, request.id, method="in_person",
            reason="identity card checked at the office, case 2026-114", actor=DPO,
        )  # fmt: skip
    assert opened.state is RequestState.IN_PROGRESS
    assert opened.verification == "out_of_band_in_person"


def test_a_right_code_after_a_wrong_one_verifies(rq_vault: Vault) -> None:
    register_rider(rq_vault, PHONE)
    request = _access(rq_vault)
    code = _send(rq_vault, request.id, CapturingSender())
    with pytest.raises(VerificationFailed, match="2 attempts left"):
        _enter(rq_vault, request.id, _wrong(code))
    assert _enter(rq_vault, request.id, f"{code[:3]} {code[3:]}").failed_attempts == 1
    with pytest.raises(RequestStateConflict, match="already verified"):
        _enter(rq_vault, request.id, code)


def test_an_expired_code_is_refused_and_only_the_newest_code_counts(
    rq_vault: Vault, clock: FixedClock
) -> None:
    register_rider(rq_vault, PHONE)
    request = _access(rq_vault)
    sender = CapturingSender()
    first = _send(rq_vault, request.id, sender)
    clock.advance(CODE_TTL)
    with pytest.raises(VerificationFailed, match="expired") as expired:
        _enter(rq_vault, request.id, first)
    assert expired.value.reason == "code_expired"
    assert f"send-code {request.id}" in (expired.value.hint or "")
    assert _reasons(rq_vault, request.id)[-1] == "access:verifying:code_expired"
    second = _send(rq_vault, request.id, sender)
    if second != first:  # one chance in a million that they are the same
        with pytest.raises(VerificationFailed, match="wrong code"):
            _enter(rq_vault, request.id, first)
    clock.advance(CODE_TTL - timedelta(seconds=1))
    assert _enter(rq_vault, request.id, second).state is RequestState.IN_PROGRESS


def test_no_code_sent_and_a_malformed_code(rq_vault: Vault) -> None:
    register_rider(rq_vault, PHONE)
    request = _access(rq_vault)
    with pytest.raises(VerificationFailed) as none:
        _enter(rq_vault, request.id, "123456")
    assert none.value.reason == "no_code" and none.value.attempts_left == MAX_ATTEMPTS
    from mexfi.requests import InvalidRequest

    with pytest.raises(InvalidRequest, match="6 digits"):
        _enter(rq_vault, request.id, "12345")
    with rq_vault.unit_of_work() as uow:
        assert verification_status(rq_vault, uow, request.id).failed_attempts == 0


def test_codes_are_rate_limited_per_subject(rq_vault: Vault, clock: FixedClock) -> None:
    register_rider(rq_vault, PHONE)
    request = _access(rq_vault)
    sender = CapturingSender()
    for _ in range(CODES_PER_HOUR):
        _send(rq_vault, request.id, sender)
        clock.advance(minutes=5)
    # A second request of the same subject shares the subject's limit.
    other = _access(rq_vault)
    with pytest.raises(TooManyCodes, match="subject") as limited:
        _send(rq_vault, other.id, sender)
    first_sent = clock.now() - timedelta(minutes=15)
    assert limited.value.retry_at == first_sent + timedelta(hours=1)
    assert len(sender.sent) == CODES_PER_HOUR
    assert _reasons(rq_vault, other.id)[-1] == "access:verifying:codes_rate_limited_subject"
    clock.set(limited.value.retry_at + timedelta(seconds=1))
    _send(rq_vault, other.id, sender)
    assert len(sender.sent) == CODES_PER_HOUR + 1


def test_codes_are_rate_limited_per_phone_across_subjects(rq_vault: Vault) -> None:
    # The same phone as a BakıKart rider and a Taxsee driver: two subjects, one phone, one
    # blind-index bucket (the index is the same in every policy).
    register_rider(rq_vault, PHONE)
    register_driver(rq_vault, PHONE)
    rider_request = _access(rq_vault)
    sender = CapturingSender()
    for _ in range(CODES_PER_HOUR):
        _send(rq_vault, rider_request.id, sender)
    driver_request = add(
        rq_vault, verified=False, policy_id="taxsee_driver", kind="access", channel="written",
        actor=DPO, phone=PHONE, written=COMPLETE,
    )  # fmt: skip
    with pytest.raises(TooManyCodes, match="phone"):
        _send(rq_vault, driver_request.id, sender)
    assert len(sender.sent) == CODES_PER_HOUR


def test_a_subject_without_a_phone_is_verified_out_of_band(rq_vault: Vault) -> None:
    with rq_vault.unit_of_work() as uow:
        [subject] = rq_vault.register_many(
            uow, policy_id="bakikart", kind="rider", count=1, actor=SERVICE
        )
    request = add(
        rq_vault, verified=False, policy_id="bakikart", kind="access", channel="written",
        actor=DPO, subject_id=subject.id,
    )  # fmt: skip
    with pytest.raises(NoPhoneOnRecord, match="no phone") as none, rq_vault.unit_of_work() as uow:
        send_code(rq_vault, uow, request.id, actor=DPO, sender=CapturingSender())
    assert "--out-of-band" in (none.value.hint or "")
    with rq_vault.unit_of_work() as uow:
        done = verify_out_of_band(
            rq_vault, uow, request.id, method="notarised_letter",
            reason="notarised letter, notary register entry 2026-88", actor=DPO,
        )  # fmt: skip
    assert done.verification == "out_of_band_notarised_letter"


def test_out_of_band_is_the_dpos_with_a_reason_free_of_personal_data(rq_vault: Vault) -> None:
    register_rider(rq_vault, PHONE)
    request = _access(rq_vault)
    with pytest.raises(VerificationDenied, match="only the DPO"), rq_vault.unit_of_work() as uow:
        verify_out_of_band(
            rq_vault, uow, request.id, method="in_person", reason="seen", actor=SUPPORT
        )
    with pytest.raises(PersonalDataInText), rq_vault.unit_of_work() as uow:
        verify_out_of_band(
            rq_vault, uow, request.id, method="in_person",
            reason=f"called her back on {PHONE}", actor=DPO,
        )  # fmt: skip
    from mexfi.requests import InvalidRequest

    with pytest.raises(InvalidRequest, match="pigeon") as unknown, rq_vault.unit_of_work() as uow:
        verify_out_of_band(rq_vault, uow, request.id, method="pigeon", reason="x", actor=DPO)
    assert "in_person" in (unknown.value.hint or "")
    with rq_vault.unit_of_work() as uow:
        assert verification_status(rq_vault, uow, request.id).state is RequestState.VERIFYING
        verify_out_of_band(
            rq_vault, uow, request.id, method="in_person",
            reason="identity card checked at the Baku office", actor=DPO,
        )  # fmt: skip
    assert _reasons(rq_vault, request.id)[-1] == (
        "access:in_progress:out_of_band_in_person,identity card checked at the Baku office"
    )
    assert answered(rq_vault, request.id, actor=DPO).request.state is RequestState.ANSWERED


def test_tx_11_written_details_are_matched_against_what_the_store_holds(
    rq_vault: Vault,
) -> None:
    register_driver(rq_vault)
    written = WrittenDetails(
        **{
            k: getattr(COMPLETE, k)
            for k in (
                "id_document_series",
                "id_document_number",
                "id_issue_date",
                "id_issue_authority",
                "fin",
                "contract_number",
                "contract_date",
                "signed",
            )
        },
        full_name="RƏŞAD MƏMMƏDOV  Əli oğlu",  # another order and case: the same name
        date_of_birth="13.03.1988",  # the stored one is 1988-03-12
    )
    request = add(
        rq_vault, verified=False, policy_id="taxsee_driver", kind="access", channel="written",
        actor=DPO, phone=str(DRIVER["phone"]), written=written,
    )  # fmt: skip
    assert request.state is RequestState.VERIFYING
    # No FIN is stored for drivers: "not held", never a guess.
    assert request.identity_checks == {
        "full_name": "match",
        "date_of_birth": "mismatch",
        "fin": "not_held",
    }
    assert _reasons(rq_vault, request.id)[-1] == (
        "access:verifying:identity_date_of_birth_mismatch,identity_fin_not_held,"
        "identity_full_name_match"
    )
    dump = _dump(rq_vault)
    assert "MƏMMƏDOV" not in dump and "13.03.1988" not in dump and "5ZX7K2Q" not in dump
    with rq_vault.unit_of_work() as uow:
        history = request_history(rq_vault, uow, request.id)
    [check] = [e for e in history if e.reason == "identity_check"]
    assert check.action is AuditAction.READ and check.categories == ("registration",)


def test_the_subjects_language_is_read_only_once_verified(rq_vault: Vault) -> None:
    driver = register_driver(rq_vault)
    with rq_vault.unit_of_work() as uow:
        rq_vault.write(
            uow, driver, "mobile_operator",
            {"country": "AZ", "language": "ru"},
            actor=SYSTEM, purpose="locale_setup",
        )  # fmt: skip
    request = add(
        rq_vault, verified=False, policy_id="taxsee_driver", kind="operator_info",
        channel="written", actor=DPO, subject_id=driver, written=COMPLETE,
    )  # fmt: skip
    assert request.language == "az"  # the policy's, until the subject is known to be asking
    with rq_vault.unit_of_work() as uow:
        reads = [e for e in request_history(rq_vault, uow, request.id) if e.action.value == "read"]
    assert reads == []  # not even the phone: no code was sent yet
    sender = CapturingSender()
    assert _enter(rq_vault, request.id, _send(rq_vault, request.id, sender)).language == "ru"


def test_a_given_language_is_kept_through_verification(rq_vault: Vault) -> None:
    register_rider(rq_vault, PHONE)
    request = _access(rq_vault, language="ru")
    sender = CapturingSender()
    code = _send(rq_vault, request.id, sender)
    assert "код подтверждения" in sender.sent[-1].text
    assert _enter(rq_vault, request.id, code).language == "ru"


def test_the_console_sender_prints_the_code_and_the_request_not_the_phone(
    rq_vault: Vault,
) -> None:
    register_rider(rq_vault, PHONE)
    request = _access(rq_vault)
    stream = io.StringIO()
    with rq_vault.unit_of_work() as uow:
        send_code(rq_vault, uow, request.id, actor=DPO, sender=ConsoleSender(stream))
    printed = stream.getvalue()
    code = re.search(r"code (\d{6}) for request (\w+)", printed)
    assert code is not None and code.group(2) == request.id
    assert not any(form in printed for form in PHONE_FORMS)
    assert _enter(rq_vault, request.id, code.group(1)).state is RequestState.IN_PROGRESS


class DownGateway:
    """An SMS gateway that is down: a real sender whose every send fails."""

    name = "gateway"

    def send(self, message: CodeMessage) -> None:
        raise ConnectionError("gateway unreachable")


def test_a_sender_that_fails_stores_no_code_and_the_failure_is_audited(rq_vault: Vault) -> None:
    register_rider(rq_vault, PHONE)
    request = _access(rq_vault)
    with pytest.raises(CodeNotSent, match="ConnectionError"), rq_vault.unit_of_work() as uow:
        send_code(rq_vault, uow, request.id, actor=DPO, sender=DownGateway())
    with rq_vault.store.records() as session:
        assert session.scalars(select(VerificationCode)).all() == []
    # The phone was read for it all the same, and that is on record too.
    assert _reasons(rq_vault, request.id)[-2:] == [
        "verification_contact",
        "access:verifying:code_not_sent_gateway",
    ]
    sender = CapturingSender()
    assert _enter(rq_vault, request.id, _send(rq_vault, request.id, sender)).verification == "code"


def test_the_sender_comes_from_mexfi_code_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(code_sender(), ConsoleSender)
    monkeypatch.setenv("MEXFI_CODE_SENDER", "pigeon")
    with pytest.raises(UnknownCodeSender, match="pigeon") as unknown:
        code_sender()
    assert "console" in (unknown.value.hint or "")


def test_a_request_rejected_on_intake_gets_no_code(rq_vault: Vault) -> None:
    register_driver(rq_vault)
    request = add(
        rq_vault, policy_id="taxsee_driver", kind="access", channel="written", actor=DPO,
        phone=str(DRIVER["phone"]), written=WrittenDetails(signed=True),
    )  # fmt: skip
    assert request.state is RequestState.REJECTED
    with pytest.raises(RequestStateConflict), rq_vault.unit_of_work() as uow:
        send_code(rq_vault, uow, request.id, actor=DPO, sender=CapturingSender())


def test_answering_refuses_every_unverified_kind_and_changes_nothing(rq_vault: Vault) -> None:
    driver = register_driver(rq_vault)
    request = add(
        rq_vault, verified=False, policy_id="taxsee_driver", kind="destruction",
        channel="written", actor=DPO, subject_id=driver, written=COMPLETE,
    )  # fmt: skip
    with pytest.raises(RequestStateConflict), rq_vault.unit_of_work() as uow:
        answer_request(rq_vault, uow, request.id, actor=DPO)
    with rq_vault.unit_of_work() as uow:
        assert rq_vault.record_counts(uow, driver)  # nothing destroyed
    with rq_vault.store.records() as session:
        row = session.get(SubjectRequest, request.id)
        assert row is not None and row.state == "verifying" and row.answered_at is None


# --------------------------------------------------------------------------- the command line


def mexfi(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Exit code, stdout and stderr (whitespace folded) of `mexfi ARGS` as the console
    script runs it (`mexfi.cli.app.main`: errors mapped to exit codes)."""
    from mexfi.cli.app import main

    monkeypatch.setattr(sys, "argv", ["mexfi", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    captured = capsys.readouterr()
    return (code if isinstance(code, int) else 0), captured.out, " ".join(captured.err.split())


@pytest.fixture
def cli_rider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    from mexfi.cli.context import open_vault

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    assert mexfi(monkeypatch, capsys, "keys", "init")[0] == 0
    with open_vault() as vault:
        rider = register_rider(vault, PHONE)
        _taps(vault, rider, 3)
    return rider


def _cli_add(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = mexfi(
        monkeypatch, capsys, "requests", "add", "--policy", "bakikart", "--kind", "access",
        "--phone", PHONE, "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    added = json.loads(out)
    assert added["state"] == "verifying"
    request_id = str(added["id"])
    assert f"mexfi requests send-code {request_id}" in err
    return request_id


def _cli_code(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], rid: str) -> str:
    code, out, err = mexfi(monkeypatch, capsys, "requests", "send-code", rid)
    assert code == 0, err
    found = re.search(rf"code (\d{{6}}) for request {rid}", err)
    assert found is not None, err
    assert not any(form in out + err for form in PHONE_FORMS)
    assert f"mexfi requests verify {rid} --code CODE" in err
    return found.group(1)


def test_cli_bakikart_access_needs_the_code_before_anything_is_exported(
    cli_rider: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    request_id = _cli_add(monkeypatch, capsys)
    answers = tmp_path / "answers"
    code, _, err = mexfi(
        monkeypatch, capsys, "requests", "answer", request_id, "--out", str(answers), "--no-pdf"
    )
    assert code == 3 and "not verified" in err and f"send-code {request_id}" in err
    assert not answers.exists() or list(answers.iterdir()) == []
    sent = _cli_code(monkeypatch, capsys, request_id)
    code, out, err = mexfi(monkeypatch, capsys, "requests", "verify", request_id, "--code", sent)
    assert code == 0, err
    assert "in_progress" in out and f"mexfi requests answer {request_id}" in err
    code, _, err = mexfi(
        monkeypatch, capsys, "requests", "answer", request_id, "--out", str(answers), "--no-pdf"
    )
    assert code == 0, err
    export = json.loads((answers / f"{request_id}.json").read_text())
    assert {r["category"] for r in export["records"]} == {"phone", "profile", "card_use"}
    code, out, _ = mexfi(monkeypatch, capsys, "requests", "show", request_id)
    assert code == 0 and "verified: code" in out and "access:verifying:code_accepted" in out


def test_cli_three_wrong_codes_lock_the_request(
    cli_rider: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    request_id = _cli_add(monkeypatch, capsys)
    wrong = _wrong(_cli_code(monkeypatch, capsys, request_id))
    errors = []
    for _ in range(MAX_ATTEMPTS):
        code, _, err = mexfi(monkeypatch, capsys, "requests", "verify", request_id, "--code", wrong)
        assert code == 4, err
        errors.append(err)
    assert "2 attempts left" in errors[0] and "1 attempt left" in errors[1]
    assert "now locked" in errors[2] and "--out-of-band" in errors[2]
    code, out, _ = mexfi(monkeypatch, capsys, "requests", "show", request_id, "--format", "json")
    shown = json.loads(out)
    assert shown["state"] == "locked"
    assert shown["verification_status"]["failed_attempts"] == 3
    assert shown["verification_status"]["attempts_left"] == 0
    assert [h["reason"] for h in shown["history"]][-4:] == [
        "access:verifying:code_wrong_1_of_3",
        "access:verifying:code_wrong_2_of_3",
        "access:verifying:code_wrong_3_of_3",
        "access:locked:verification_locked",
    ]
    code, out, _ = mexfi(monkeypatch, capsys, "requests", "show", request_id)
    assert "verification: locked, 1 code(s) sent, 3 wrong, 0 attempt(s) left" in out
    code, _, err = mexfi(monkeypatch, capsys, "requests", "send-code", request_id)
    assert code == 3 and "locked" in err
    code, _, err = mexfi(
        monkeypatch, capsys, "requests", "verify", request_id, "--out-of-band", "in_person",
        "--reason", "identity card checked at the Baku office",
    )  # fmt: skip
    assert code == 0, err
    code, _, err = mexfi(
        monkeypatch, capsys, "requests", "answer", request_id, "--out", str(tmp_path), "--no-pdf"
    )
    assert code == 0, err


def test_cli_verify_options_sender_and_send_on_intake(
    cli_rider: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    request_id = _cli_add(monkeypatch, capsys)
    both = ("--code", "123456", "--out-of-band", "in_person")
    for args in ((), both, ("--out-of-band", "in_person")):
        assert mexfi(monkeypatch, capsys, "requests", "verify", request_id, *args)[0] == 2
    code, _, err = mexfi(monkeypatch, capsys, "requests", "verify", request_id, "--code", "1234")
    assert code == 3 and "6 digits" in err
    code, _, err = mexfi(monkeypatch, capsys, "requests", "verify", request_id, "--code", "123456")
    assert code == 4 and "no code was sent" in err
    monkeypatch.setenv("MEXFI_CODE_SENDER", "pigeon")
    code, _, err = mexfi(monkeypatch, capsys, "requests", "send-code", request_id)
    assert code == 3 and "no code sender 'pigeon'" in err and "console" in err
    monkeypatch.delenv("MEXFI_CODE_SENDER")
    # --send-code sends at intake (the default for electronic requests only).
    code, out, err = mexfi(
        monkeypatch, capsys, "requests", "add", "--policy", "bakikart", "--kind", "access",
        "--phone", PHONE, "--send-code", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    sent = json.loads(out)["id"]
    assert re.search(rf"code \d{{6}} for request {sent}", err)
    assert not any(form in out + err for form in PHONE_FORMS)
    code, out, _ = mexfi(monkeypatch, capsys, "requests", "send-code", sent, "--format", "json")
    assert code == 0 and json.loads(out)["codes_sent"] == 2
    code, out, _ = mexfi(monkeypatch, capsys, "requests", "send-code", sent)
    assert code == 0
    code, _, err = mexfi(monkeypatch, capsys, "requests", "send-code", sent)
    assert code == 4 and "codes in the last hour" in err


# --------------------------------------------------------------------------- the upgrade


def test_the_upgrade_sends_requests_opened_without_verification_back_to_verifying(
    backend: str, tmp_path: Path
) -> None:
    from alembic import command

    from mexfi.db import Store
    from mexfi.migrations import alembic_config, import_models
    from tests.conftest import _drop_schemas, make_store_config

    config, schemas = make_store_config(backend, tmp_path)
    store = Store(config)
    import_models()
    store.create_schemas()
    try:
        with store.records_engine.begin() as connection:
            command.upgrade(alembic_config("records", connection), "c5b2e3f4a603")
            at = "2026-03-02 09:00:00+00:00"
            for request_id, state in (("r-open", "in_progress"), ("r-done", "answered")):
                connection.execute(
                    text(
                        "INSERT INTO subject_requests (id, policy_id, subject_id, "
                        "subject_pseudonym, kind, channel, language, state, received_at, due_at, "
                        "updated_at, categories, include_passive, requirements, reasons, outcome, "
                        "received_by) VALUES (:id, 'bakikart', 's-1', 'ps_1', 'access', "
                        "'written', 'en', :state, :at, :at, :at, '', false, '{}', '[]', '{}', "
                        "'dpo-1')"
                    ),
                    {"id": request_id, "state": state, "at": at},
                )
                connection.execute(
                    text(
                        "INSERT INTO request_bases (request_id, purpose, policy_id, subject_id, "
                        "categories, include_passive, opened_at, closed_at, opened_by) VALUES "
                        "(:id, 'subject_request', 'bakikart', 's-1', '', false, :at, NULL, 'dpo-1')"
                    ),
                    {"id": request_id, "at": at},
                )
        with store.records_engine.begin() as connection:
            command.upgrade(alembic_config("records", connection), "d6c3f4a5b704")
        with store.records_engine.begin() as connection:
            states = {
                str(r): str(s)
                for r, s in connection.execute(text("SELECT id, state FROM subject_requests"))
            }
            open_bases = set(
                connection.scalars(
                    text("SELECT request_id FROM request_bases WHERE closed_at IS NULL")
                )
            )
        # An open request was never verified: it waits for verification and reads nothing.
        assert states == {"r-open": "verifying", "r-done": "answered"}
        assert open_bases == {"r-done"}  # an answered request's basis was left as it was
    finally:
        store.dispose()
        if schemas:
            _drop_schemas(*schemas)
