"""Answers as letters: HTML that parses and PDF with the operator's name, in az, en and ru."""

from __future__ import annotations

import io
import re
import sys
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest

from mexfi.audit import AuditAction
from mexfi.cli.app import main
from mexfi.clock import FixedClock
from mexfi.db import Store
from mexfi.policy import (
    Lang,
    LegalBasis,
    Policy,
    RecipientBasis,
    RequestChannel,
    RightKind,
    Sensitivity,
    bundled_policy_paths,
    check_lang,
    format_date,
    parse_policy,
)
from mexfi.requests import (
    Answer,
    InvalidRequest,
    Letter,
    LetterUnavailable,
    RequestState,
    RequestStateConflict,
    answer_from_export,
    build_letter,
    export_json,
    find_fonts,
    render_letter,
)
from mexfi.scan import find_card_numbers, scan_text
from mexfi.secrets import Secrets
from mexfi.vault import Vault
from tests.vault.conftest import SERVICE, SYSTEM

from .conftest import (
    COMPLETE,
    DPO,
    access_request,
    add,
    answered,
    register_driver,
    register_rider,
)

PHONE = "+994 50 111 22 33"


def answer_lang(lang: str) -> Lang:
    return check_lang(lang)


_VOID = {"meta", "br", "hr", "img", "link", "input"}


class _Balanced(HTMLParser):
    """Fails on a closing tag that does not close the innermost open element."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> str:
    parser = _Balanced()
    parser.feed(html)
    parser.close()
    assert parser.stack == []
    return "".join(parser.text)


def _pdf_text(pdf: bytes) -> str:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.mark.parametrize(
    ("lang", "title"),
    [("az", "Sorğunuza cavab"), ("en", "Answer to your request"), ("ru", "Ответ на ваш запрос")],
)
def test_access_letter_renders_in_each_language(rq_vault: Vault, lang: str, title: str) -> None:
    register_rider(rq_vault, PHONE, first_name="Şəbnəm")
    request = add(
        rq_vault, policy_id="bakikart", kind="access", channel="written", actor=DPO,
        phone=PHONE, language=lang,
    )  # fmt: skip
    answer = answered(rq_vault, request.id, actor=DPO)
    policy = rq_vault.policy("bakikart")
    html = render_letter(policy, answer, format="html")
    assert isinstance(html, str)
    text = _parse(html)
    assert title in text
    # The operator as named in the letter's language (BK-1.1), its TIN as registered.
    assert policy.operator.name_in(answer_lang(lang)) in text and "1402954871" in text
    assert "Şəbnəm" in text
    try:
        find_fonts()
    except LetterUnavailable:
        pytest.skip("DejaVu fonts missing (apt-get install fonts-dejavu-core)")
    pdf = render_letter(policy, answer, format="pdf")
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")
    extracted = _pdf_text(pdf)
    assert "K Group" in extracted
    assert title in extracted
    assert "Şəbnəm" in extracted


def test_a_rejection_letter_names_the_missing_requirements(rq_vault: Vault) -> None:
    register_driver(rq_vault)
    from mexfi.requests import Answer, WrittenDetails

    request = add(
        rq_vault, policy_id="taxsee_driver", kind="blocking", channel="written", actor=DPO,
        phone="+994 55 765 43 21", written=WrittenDetails(signed=True), language="en",
    )  # fmt: skip
    assert request.state is RequestState.REJECTED
    html = render_letter(rq_vault.policy("taxsee_driver"), Answer(request, {}), format="html")
    text = _parse(str(html))
    assert "the date of issue of that document and the authority that issued it" in text
    assert "the signature" not in text


@pytest.mark.parametrize("lang", ["az", "en", "ru"])
def test_every_answered_kind_renders(rq_vault: Vault, lang: str) -> None:
    driver = register_driver(rq_vault)
    policy = rq_vault.policy("taxsee_driver")
    for kind in ("existence", "legal_basis", "processing_info", "sources", "operator_info",
                 "destruction"):  # fmt: skip
        request = add(
            rq_vault, policy_id="taxsee_driver", kind=kind, channel="written", actor=DPO,
            subject_id=driver, written=COMPLETE, language=lang,
        )  # fmt: skip
        answer = answered(rq_vault, request.id, actor=DPO)
        text = _parse(str(render_letter(policy, answer, format="html")))
        assert policy.operator.name_in(answer_lang(lang)) in text


# --------------------------------------------------------------------------- readable letters
# Issue 11, item 6: Baku times, every code named, the operator in the letter's language, a
# date and a reference, card numbers and IBANs masked (PCI DSS), letters in several
# languages and again later, without carrying the request out twice.

#: A Luhn-valid card number and a valid IBAN: what a scanner would find if they leaked.
PAN = "4169738812345670"
IBAN = "AZ21NABZ00000000137010001944"
TRANSPORT_CARD = "900012345"
BAKU = timedelta(hours=4)


def _moment(vault: Vault) -> datetime:
    """A tap a week before the clock, at 16:28:51 UTC (20:28 in Baku)."""
    day = vault.clock.now() - timedelta(days=7)
    return day.replace(hour=16, minute=28, second=51, microsecond=0)


def _baku(moment: datetime) -> str:
    return (moment.astimezone(UTC) + BAKU).strftime("%d.%m.%Y %H:%M")


def _rider_with_taps(vault: Vault, phone: str = PHONE) -> tuple[str, datetime]:
    rider = register_rider(vault, phone, first_name="Şəbnəm")
    at = _moment(vault)
    with vault.unit_of_work() as uow:
        for category, values in (
            ("transport_cards", {"card_number": TRANSPORT_CARD, "label": "iş"}),
            ("card_use", {"place": "Nizami", "used_at": at, "kind": "card",
                          "card_number": TRANSPORT_CARD}),
            ("card_use", {"place": "28 May", "used_at": at + timedelta(hours=1), "kind": "app"}),
            ("topups", {"place": "Nizami", "amount": "5.00", "topped_up_at": at,
                        "means": "cash_terminal", "target": "card", "card_number": TRANSPORT_CARD}),
            ("topups", {"place": "BakıKart", "amount": "2.00", "topped_up_at": at,
                        "means": "ewallet", "target": "card"}),
            ("topups", {"place": "BakıKart", "amount": "3.00", "topped_up_at": at,
                        "means": "bank_card", "target": "ewallet"}),
            ("ewallet", {"wallet_id": "EW0000000001", "balance": "12.35"}),
            ("device", {"brand": "Xiaomi", "model": "Redmi 13C", "os": "Android",
                        "os_version": "14", "network": "Azercell", "ip_address": "94.20.1.17",
                        "location": [40.40, 49.87], "recorded_at": at}),
        ):  # fmt: skip
            vault.write(
                uow, rider, category, values, actor=SERVICE, purpose="service_provision",
                collected_at=at,
            )  # fmt: skip
    return rider, at


def _driver_with_cards(vault: Vault, *, payout: bool = False) -> tuple[str, datetime]:
    driver = register_driver(vault)
    at = _moment(vault)
    with vault.unit_of_work() as uow:
        vault.open_app_session(uow, subject_id=driver, actor=SYSTEM)  # TX-12: for the ping
        for purpose, category, values in (
            ("order_autofill", "orders", {"started_at": at, "pickup_address": "Nizami küç. 1",
                                          "tariff": "Ekonom", "payment_method": "card"}),
            ("order_autofill", "orders", {"started_at": at, "pickup_address": "Füzuli küç. 2",
                                          "tariff": "Biznes", "payment_method": "corporate"}),
            ("order_autofill", "orders", {"started_at": at, "tariff": "Ekonom",
                                          "payment_method": "cash"}),
            ("locale_setup", "mobile_operator", {"country": "AZ", "language": "ru"}),
            ("licence_fee", "bank_cards", {"acquirer_token": "tok_SXPSnMPMGhrSUNkyfYcah5x0",
                                           "brand": "VISA", "last4": "5670"}),
            ("service_operation", "location", {"point": [40.41, 49.86], "recorded_at": at,
                                               "accuracy_m": "5"}),
        ):  # fmt: skip
            vault.write(uow, driver, category, values, actor=SYSTEM, purpose=purpose)
        if payout:
            vault.write(
                uow, driver, "payout_accounts",
                {"bank_code": "NABZAZ2X", "account_number": IBAN,
                 "recipient_full_name": "Məmmədov Rəşad Əli oğlu", "card_number": PAN},
                actor=SYSTEM, purpose="payout",
            )  # fmt: skip
    return driver, at


def _access(vault: Vault, subject: str, lang: str = "az") -> Answer:
    request = access_request(vault, subject, language=lang)
    return answered(vault, request, actor=DPO)


def _letter_texts(letter: Letter) -> list[str]:
    """Every piece of text a letter shows, table cells one by one."""
    texts = [letter.title, letter.greeting, letter.closing, letter.operator_name, letter.date]
    texts += [v for pair in letter.meta for v in pair] + [v for p in letter.signature for v in p]
    texts += list(letter.paragraphs)
    for section in letter.sections:
        texts += [section.title, *section.paragraphs, *section.items, *section.head]
        texts += [cell for row in section.rows for cell in row]
    return texts


def _known_codes(policies: list[Policy]) -> set[str]:
    """Every code of mexfi and the policies a letter could print raw."""
    codes = {a.value for a in AuditAction} | {s.value for s in RequestState}
    for enum in (RightKind, LegalBasis, RecipientBasis, Sensitivity, RequestChannel):
        codes |= {e.value for e in enum}
    codes |= {"subject", "device", "operator", "counterpart", "acquirer"}  # category sources
    codes |= {"subject_not_matched", "subject_not_found", "phone_invalid"}
    for policy in policies:
        codes |= {r.id for r in policy.roles} | {p.id for p in policy.purposes}
        codes |= {c.id for c in policy.categories} | {r.id for r in policy.recipients}
        for category in policy.categories:
            for f in category.fields:
                codes |= set(f.values or ())
    return codes


#: Codes that are also words of the language ("operator barəsində məlumat").
_NATIVE_WORDS = {"az": {"operator"}, "ru": set(), "en": set()}


def _raw_codes(texts: list[str], codes: set[str], lang: str) -> set[str]:
    """The codes among the texts: a text that is a code; in az and ru any word that is one
    (actor ids, in brackets, aside); in en, where codes are English words, a snake_case one."""
    found = set()
    for text in texts:
        if text in codes:
            found.add(text)
        for word in re.findall(r"\w+", re.sub(r"\([^)]*\)", "", text)):
            if word in codes and word not in _NATIVE_WORDS[lang] and (lang != "en" or "_" in word):
                found.add(word)
    return found


@pytest.mark.parametrize("lang", ["az", "ru", "en"])
def test_letter_times_are_baku_time_and_the_export_keeps_the_offset(
    rq_vault: Vault, lang: str
) -> None:
    rider, at = _rider_with_taps(rq_vault)
    answer = _access(rq_vault, rider, lang)
    policy = rq_vault.policy("bakikart")
    letter = build_letter(policy, answer)
    text = "\n".join(_letter_texts(letter))
    assert _baku(at) in text and at.strftime("%H:%M") not in text  # 20:28, never 16:28
    assert "+00:00" not in text and "UTC+04:00" in text
    html = _parse(str(render_letter(policy, answer, format="html")))
    assert _baku(at) in html and "+00:00" not in html
    # The JSON export: ISO 8601, the same instant, with Baku's offset as the letter reads it.
    data = orjson.loads(export_json(answer.data))
    tap = next(
        r for r in data["records"] if r["category"] == "card_use" and r["values"]["kind"] == "card"
    )
    assert tap["values"]["used_at"] == (at + BAKU).replace(tzinfo=None).isoformat() + "+04:00"
    assert datetime.fromisoformat(tap["values"]["used_at"]) == at
    assert data["time_zone"] == "Asia/Baku" and data["generated_at"].endswith("+04:00")
    assert data["request"]["received_at"].endswith("+04:00")
    assert all(e["at"].endswith("+04:00") for e in data["access_log"])
    assert "+00:00" not in export_json(answer.data)


@pytest.mark.parametrize("lang", ["az", "ru", "en"])
def test_no_code_reaches_a_letter_untranslated(rq_vault: Vault, lang: str) -> None:
    rider, _ = _rider_with_taps(rq_vault)
    driver, _ = _driver_with_cards(rq_vault)
    bakikart, taxsee = rq_vault.policy("bakikart"), rq_vault.policy("taxsee_driver")
    codes = _known_codes([bakikart, taxsee])
    letters = [build_letter(bakikart, _access(rq_vault, rider, lang))]
    letters.append(build_letter(taxsee, _access(rq_vault, driver, lang)))
    for kind in ("existence", "legal_basis", "processing_info", "sources", "operator_info"):
        request = add(
            rq_vault, policy_id="taxsee_driver", kind=kind, channel="written", actor=DPO,
            subject_id=driver, written=COMPLETE, language=lang,
        )  # fmt: skip
        letters.append(build_letter(taxsee, answered(rq_vault, request.id, actor=DPO)))
    for letter in letters:
        assert _raw_codes(_letter_texts(letter), codes, lang) == set(), letter.title
    shown = "\n".join(t for letter in letters for t in _letter_texts(letter))
    # The enum values, languages and countries of the data, by name.
    names = {
        "az": ["Nağd ödəniş terminalı", "Korporativ hesab", "Tətbiq (QR bilet)", "Rus dili",
               "Azərbaycan", "Sorğunuz: icra edilir", "Qeydiyyat"],
        "ru": ["Терминал для наличных", "Корпоративный счёт", "Приложение (QR-билет)",
               "русский", "Азербайджан", "Ваш запрос: исполняется", "Регистрация"],
        "en": ["Cash terminal", "Corporate account", "Application (QR ticket)", "Russian",
               "Azerbaijan", "Your request: in progress", "Registration"],
    }[lang]  # fmt: skip
    for name in names:
        assert name in shown, name


def test_every_enum_value_of_the_bundled_policies_has_a_title_in_each_language(
    policies: dict[str, Policy],
) -> None:
    for policy in policies.values():
        for category in policy.categories:
            for f in category.fields:
                if f.values is not None:
                    assert f.value_titles is not None, f"{policy.id}.{category.id}.{f.name}"
                    assert set(f.value_titles) == set(f.values), f"{category.id}.{f.name}"


@pytest.mark.parametrize(
    ("lang", "name", "address"),
    [
        ("az", '"K Group" MMC', "AZ1065, Bakı, Tbilisi prospekti 49/C, Azərbaycan"),
        ("ru", "ООО «K Group»", "AZ1065, Азербайджан, Баку, проспект Тбилиси 49/C"),
        ("en", '"K Group" LLC', "AZ1065, Tbilisi Avenue 49/C, Baku, Azerbaijan"),
    ],
)
def test_the_operator_block_is_in_the_letters_language(
    rq_vault: Vault, lang: str, name: str, address: str
) -> None:
    rider, _ = _rider_with_taps(rq_vault)
    answer = _access(rq_vault, rider, lang)
    text = _parse(str(render_letter(rq_vault.policy("bakikart"), answer, format="html")))
    assert name in text and address in text and "1402954871" in text
    others = {"az": "Tbilisi Avenue", "ru": "Tbilisi Avenue", "en": "проспект Тбилиси"}
    assert others[lang] not in text


def test_a_letter_has_a_date_and_a_reference(rq_vault: Vault) -> None:
    rider, _ = _rider_with_taps(rq_vault)
    answer = _access(rq_vault, rider, "ru")
    policy = rq_vault.policy("bakikart")
    request = answer.request
    assert request.answered_at is not None
    letter = build_letter(policy, answer)
    answered_on = (request.answered_at.astimezone(UTC) + BAKU).date()
    received_on = (request.received_at.astimezone(UTC) + BAKU).strftime("%Y%m%d")
    assert letter.date == format_date(answered_on, "ru")
    assert letter.reference == f"BK-{received_on}-{request.id[:8].upper()}"
    html = _parse(str(render_letter(policy, answer, format="html")))
    # The whole request id, never cut, beside the reference a reader can quote.
    assert letter.date in html and letter.reference in html and request.id in html
    try:
        find_fonts()
    except LetterUnavailable:
        pytest.skip("DejaVu fonts missing (apt-get install fonts-dejavu-core)")
    document = render_letter(policy, answer, format="pdf")
    assert isinstance(document, bytes)
    pdf = _pdf_text(document)
    assert letter.date in pdf and letter.reference in pdf and request.id in pdf


@pytest.fixture
def payout_vault(
    store: Store, policies: dict[str, Policy], secrets: Secrets, clock: FixedClock
) -> Vault:
    """A vault whose Taxsee policy gives the driver's access right the payout data (TX-16:
    card number and IBAN), as the policy did before payout data became payout-only: where
    the masking must hold."""
    path = next(p for p in bundled_policy_paths() if p.name == "taxsee-driver.yaml")
    text = path.read_text(encoding="utf-8")
    reach = (
        "categories: [registration, vehicle_facts, location, orders, bank_cards, "
        "mobile_operator]\n    roles: [dpo, support]"
    )
    assert text.count(reach) == 1 and text.count("    sole_purpose: true\n") == 1
    text = text.replace("    sole_purpose: true\n", "").replace(
        reach, reach.replace("bank_cards,", "bank_cards, payout_accounts,")
    )
    variant = parse_policy(text)
    return Vault(store, {**policies, variant.id: variant}, secrets, clock=clock)


def _everything(answer: Answer, policy: Policy) -> dict[str, str]:
    """Every output of an answer: the JSON, and each letter as HTML and as PDF text."""
    outputs = {"json": export_json(answer.data)}
    for lang in ("az", "ru", "en"):
        outputs[f"{lang}.html"] = str(render_letter(policy, answer, format="html", lang=lang))
    try:
        find_fonts()
    except LetterUnavailable:
        return outputs
    pdf = render_letter(policy, answer, format="pdf", lang="az")
    assert isinstance(pdf, bytes)
    outputs["az.pdf"] = _pdf_text(pdf)
    outputs["az.pdf bytes"] = pdf.decode("latin-1")
    return outputs


def test_card_numbers_and_ibans_are_masked_in_letters_and_export(payout_vault: Vault) -> None:
    driver, _ = _driver_with_cards(payout_vault, payout=True)
    answer = _access(payout_vault, driver, "az")
    policy = payout_vault.policy("taxsee_driver")
    payout = next(r for r in answer.data["records"] if r["category"] == "payout_accounts")
    # The export: the last four, and a reference that names the value without holding it.
    assert payout["values"]["card_number"] == {
        "last4": "5670",
        "ref": f"{payout['id']}.card_number",
    }
    assert payout["values"]["account_number"] == {
        "last4": "1944", "ref": f"{payout['id']}.account_number"
    }  # fmt: skip
    assert answer.data["scope"]["masked"]["payout_accounts"] == ["account_number", "card_number"]
    outputs = _everything(answer, policy)
    for name, text in outputs.items():
        compact = "".join(text.split())
        assert PAN not in compact and IBAN not in compact, name
        assert PAN[-8:] not in compact and IBAN[-8:] not in compact, name
        if name.endswith("bytes"):  # compressed streams: only the values themselves
            continue
        assert find_card_numbers(text) == [], name
        assert [e for e in scan_text(text) if e.type in ("CARD", "IBAN")] == [], name
    letter = _parse(outputs["az.html"])
    assert "•••• 5670" in letter and "•••• 1944" in letter
    assert "PCI DSS" in letter  # and the letter says why, and how to get the full value


def test_transport_card_numbers_are_masked_in_the_riders_letter_and_export(
    rq_vault: Vault,
) -> None:
    rider, _ = _rider_with_taps(rq_vault)
    answer = _access(rq_vault, rider, "ru")
    outputs = _everything(answer, rq_vault.policy("bakikart"))
    for name, text in outputs.items():
        assert TRANSPORT_CARD not in text, name
    assert "•••• 2345" in outputs["ru.html"]
    taps = [r for r in answer.data["records"] if r["values"].get("card_number")]
    assert taps and all(r["values"]["card_number"]["last4"] == "2345" for r in taps)


def test_a_letter_is_written_again_in_another_language_from_the_export(rq_vault: Vault) -> None:
    rider, at = _rider_with_taps(rq_vault)
    answer = _access(rq_vault, rider, "az")
    data = orjson.loads(export_json(answer.data))  # as `requests answer` wrote it
    policy = rq_vault.policy("bakikart")
    again = answer_from_export(answer.request, data)
    az, ru = build_letter(policy, answer), build_letter(policy, again, lang="ru")
    assert (ru.lang, ru.date, ru.reference) == ("ru", format_date(_date(az), "ru"), az.reference)
    assert _baku(at) in "\n".join(_letter_texts(ru))
    other = _access(rq_vault, rider, "az").request
    with pytest.raises(InvalidRequest, match="answers request"):
        answer_from_export(other, data)  # another request's file
    with pytest.raises(InvalidRequest, match="JSON answer"):
        answer_from_export(other, None)  # answered: only from its own file
    waiting = add(
        rq_vault, policy_id="bakikart", kind="access", channel="written", actor=DPO,
        subject_id=rider, written=COMPLETE,
    )  # fmt: skip
    with pytest.raises(RequestStateConflict, match="in_progress"):
        answer_from_export(waiting, data)  # not answered yet


def _date(letter: Letter) -> date:
    """The day a letter is dated, from its az words ("30 noyabr 2026")."""
    day, month, year = letter.date.split()
    months = ["yanvar", "fevral", "mart", "aprel", "may", "iyun", "iyul", "avqust",
              "sentyabr", "oktyabr", "noyabr", "dekabr"]  # fmt: skip
    return date(int(year), months.index(month) + 1, int(day))


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store made as a DPO makes it (`mexfi init`), in a directory of its own."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEXFI_DATA_DIR", str(tmp_path / "data"))
    for name in ("MEXFI_DATABASE_URL", "MEXFI_KEYSTORE_URL", "MEXFI_KEY_FILE", "MEXFI_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MEXFI_DEBUG", raising=False)
    return tmp_path


def _mexfi(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `mexfi ARGS` as the console script runs it."""
    monkeypatch.setattr(sys, "argv", ["mexfi", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    captured = capsys.readouterr()
    return (code if isinstance(code, int) else 0), captured.out, captured.err


def test_cli_answer_writes_a_letter_per_language_and_letter_writes_another(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mexfi.cli.context import open_vault

    assert _mexfi(monkeypatch, capsys, "init")[0] == 0
    with open_vault() as vault:
        rider, at = _rider_with_taps(vault)
        first = access_request(vault, rider, language="en")
        second = access_request(vault, rider, language="en")
        waiting = access_request(vault, rider, language="en")
    out = cli_env / "answers"
    code, _, err = _mexfi(monkeypatch, capsys, "requests", "answer", first, "--out", str(out),
                          "--lang", "az,ru")  # fmt: skip
    assert code == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{first}.{s}" for s in ("json", "az.html", "az.pdf", "ru.html",
                                                    "ru.pdf"))  # fmt: skip
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in out.iterdir())
    az = _parse((out / f"{first}.az.html").read_text())
    assert _baku(at) in az and "•••• 2345" in az and "Nağd ödəniş terminalı" in az
    ru = _pdf_text((out / f"{first}.ru.pdf").read_bytes())
    assert _baku(at) in ru and "•••• 2345" in ru and "Терминал для наличных" in ru
    for path in out.iterdir():  # no full card number in any file written
        assert TRANSPORT_CARD not in path.read_bytes().decode("latin-1"), path.name
    history = _mexfi(monkeypatch, capsys, "requests", "show", first, "-f", "json")[1]
    # Again in English, from the JSON answer: nothing carried out, nothing audited anew.
    code, _, err = _mexfi(monkeypatch, capsys, "requests", "letter", first, "--out", str(out),
                          "--lang", "en")  # fmt: skip
    assert code == 0, err and f"{first}.en.html" in err
    en = _parse((out / f"{first}.en.html").read_text())
    assert "Cash terminal" in en and _baku(at) in en and '"K Group" LLC' in en
    assert (out / f"{first}.en.pdf").read_bytes().startswith(b"%PDF")
    assert _mexfi(monkeypatch, capsys, "requests", "show", first, "-f", "json")[1] == history
    # Refused, each saying why: a letter already there, another request's answer, a request
    # not answered, an answer not found, a language not offered.
    code, _, err = _mexfi(monkeypatch, capsys, "requests", "letter", first, "--out", str(out),
                          "--lang", "en")  # fmt: skip
    assert code == 3 and "already exists" in err and "--force" in err
    assert _mexfi(monkeypatch, capsys, "requests", "answer", second, "--out",
                  str(cli_env / "second"))[0] == 0  # fmt: skip
    code, _, err = _mexfi(monkeypatch, capsys, "requests", "letter", second, "--answer",
                          str(out / f"{first}.json"), "--out", str(cli_env / "x"))  # fmt: skip
    assert code == 3 and f"answers request '{first}'" in err
    code, _, err = _mexfi(monkeypatch, capsys, "requests", "letter", waiting, "--out", str(out))
    assert code == 3 and "in_progress" in err and "requests answer" in err
    code, _, err = _mexfi(monkeypatch, capsys, "requests", "letter", second, "--out",
                          str(cli_env / "elsewhere"))  # fmt: skip
    assert code == 3 and "no JSON answer" in err and "--answer" in err
    code, _, err = _mexfi(monkeypatch, capsys, "requests", "letter", first, "--lang", "fr")
    assert code == 2 and "fr" in err
    assert not (cli_env / "x").exists() and not (cli_env / "elsewhere").exists()
