"""What a request is answered with: JSON-ready data from the vault and the policy, and a
letter (HTML, PDF) in the subject's language, signed with the operator's identity.

The access export (TX-3.3, BK-3.2) lists every record the subject's request may reach
with its category, source, purposes and recipients, and the subject's access log from
the audit log (TX-3.4). Only the active tier is read unless the passive tier is asked
for; categories that a policy moves to the passive tier after a period (BakıKart: one
year, BK-3.3) are read from the start of that period, so the export is "the last 12
months of active data" even before the retention sweep has run.

`write_access_export` streams the export as JSON: each record's values arrive from the
vault as JSON text and are written out as they are, so memory stays flat whatever the
subject's size; `export_access` is the same document, parsed (for letters and tests).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import orjson

from mexfi.db import UnitOfWork
from mexfi.policy import (
    Lang,
    Policy,
    RetentionAction,
    check_lang,
    enum_label,
    format_date,
    message,
    retention_phrase,
)
from mexfi.requests.calendar import local_zone
from mexfi.requests.errors import LetterUnavailable
from mexfi.vault import Actor, SubjectRead, Vault

if TYPE_CHECKING:
    from mexfi.requests.schemas import Answer, RequestRead

__all__ = [
    "EXPORT_FORMAT",
    "FONT_DIRS",
    "Letter",
    "LetterSection",
    "answer_header",
    "build_letter",
    "existence_data",
    "export_access",
    "export_json",
    "find_fonts",
    "legal_basis_data",
    "operator_info_data",
    "processing_info_data",
    "render_letter",
    "sources_data",
    "write_access_export",
]

EXPORT_FORMAT = "mexfi.access-export/1"
_TEMPLATES = Path(__file__).parent / "templates"
#: Bytes gathered before each write of a streamed export.
_WRITE_CHUNK = 1 << 16

# --------------------------------------------------------------------------- JSON helpers


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(type(value).__name__)


def _dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=_json_value)


def export_json(data: Mapping[str, Any], *, indent: bool = False) -> str:
    """An answer as JSON text: dates ISO 8601, amounts as strings, bytes as base64."""
    option = orjson.OPT_INDENT_2 if indent else 0
    return orjson.dumps(data, default=_json_value, option=option).decode()


def _operator(policy: Policy) -> dict[str, Any]:
    op = policy.operator
    return {
        "name": op.name,
        "tin": op.tin,
        "address": op.address,
        "email": op.email,
        "phone": op.phone,
        "website": op.website,
        "jurisdiction": op.jurisdiction,
        "clauses": list(op.clauses),
    }


def answer_header(policy: Policy, request: RequestRead, subject: SubjectRead) -> dict[str, Any]:
    """What every answer starts with: the request, the policy and the operator (BK-1.1)."""
    return {
        "request": request.to_dict(),
        "policy": {"id": policy.id, "version": policy.policy.version},
        "operator": _operator(policy),
        "subject": {
            "pseudonym": subject.pseudonym,
            "kind": subject.kind,
            "status": subject.status,
            "registered_at": subject.registered_at.isoformat(),
        },
    }


# --------------------------------------------------------------------------- access


def _active_windows(policy: Policy, categories: Sequence[str]) -> dict[Any, list[str]]:
    """Categories grouped by the `after` of the rule that moves them to the passive tier."""
    groups: dict[Any, list[str]] = {}
    for category in categories:
        periods = [
            rule.after
            for rule in policy.retention
            if rule.action is RetentionAction.PASSIVE and category in rule.categories
        ]
        period = min(periods, key=lambda d: d.approx) if periods else None
        groups.setdefault(period, []).append(category)
    return groups


def _entry_dict(entry: Any) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_role": entry.actor_role,
        "action": str(entry.action),
        "outcome": str(entry.outcome),
        "purpose": entry.purpose,
        "categories": list(entry.categories),
        "count": entry.count,
        "reason": entry.reason,
        "reference": entry.reference,
    }


def _access_log(vault: Vault, uow: UnitOfWork, subject: SubjectRead) -> list[dict[str, Any]]:
    entries = vault.audit.entries(uow.records, subject=subject.pseudonym)
    return [_entry_dict(e) for e in entries]


def _disclosures(
    vault: Vault, uow: UnitOfWork, subject: SubjectRead, actor: Actor
) -> list[dict[str, Any]]:
    # The register is for the DPO (or the subject); support staff answer without it.
    if actor.role != "dpo":
        return []
    return [
        {
            "id": d.id,
            "recipient": d.recipient,
            "purpose": d.purpose,
            "basis": d.basis,
            "law": d.law,
            "reference": d.reference,
            "categories": list(d.categories),
            "records": d.records,
            "at": d.at.isoformat(),
        }
        for d in vault.disclosures(uow, subject.id, actor=actor)
    ]


def write_access_export(
    vault: Vault,
    uow: UnitOfWork,
    subject_id: str,
    write: Callable[[bytes], Any],
    *,
    actor: Actor,
    categories: Collection[str] | None = None,
    include_passive: bool = False,
    request_id: str | None = None,
) -> int:
    """Stream the access export of a subject (TX-3.3) as JSON through `write`; returns the
    number of records written. Reads happen inside `uow` and cite the open access request
    `request_id` (the vault refuses them otherwise); nothing is held in memory but the chunk
    being written."""
    subject = vault.subject(uow, subject_id)
    policy = vault.policy(subject.policy_id)
    purpose = policy.requests.purposes.subject_request
    reachable = set(policy.purpose(purpose).categories)
    wanted = [
        c.id
        for c in policy.categories_of(subject.kind)
        if c.id in reachable and (not categories or c.id in categories)
    ]
    now = vault.clock.now()
    # What each record of a category says besides its values, as JSON, made once.
    context = {
        c: _dumps(
            {
                "source": policy.category(c).source,
                "purposes": [
                    p.id for p in policy.purposes if c in p.categories and p.id != purpose
                ],
                "recipients": [r.id for r in policy.recipients if c in r.categories],
            }
        )[1:-1]
        for c in wanted
    }
    windows: dict[str, str | None] = {}
    reads: list[tuple[list[str], datetime | None, tuple[str, ...]]] = []
    for period, group in _active_windows(policy, wanted).items():
        since = period.before(now) if period is not None else None
        for c in group:
            windows[c] = since.isoformat() if since is not None else None
        reads.append((group, since, ("active",)))
    if include_passive and wanted:
        reads.append((wanted, None, ("passive",)))
    head = {
        "format": EXPORT_FORMAT,
        "request_id": request_id,
        "generated_at": now.isoformat(),
        "policy": {"id": policy.id, "version": policy.policy.version},
        "operator": _operator(policy),
        "subject": {"pseudonym": subject.pseudonym, "kind": subject.kind},
        "scope": {
            "categories": wanted,
            "tiers": ["active", "passive"] if include_passive else ["active"],
            "active_since": windows,
        },
    }
    parts: list[bytes] = [_dumps(head)[:-1], b',"records":[']
    size = 0
    count = 0
    for group, since, tiers in reads:
        if not group:
            continue
        for record in vault.export(
            uow,
            subject.id,
            group,
            purpose=purpose,
            actor=actor,
            since=since,
            tiers=tiers,
            request_id=request_id,
        ):
            updated = record.updated_at
            part = b"".join(
                (
                    b',{"id":"' if count else b'{"id":"',
                    record.id.encode(),
                    b'","category":"',
                    record.category.encode(),
                    b'","tier":"',
                    record.tier.encode(),
                    b'","collected_at":"',
                    record.collected_at.isoformat().encode(),
                    b'","updated_at":',
                    b'"' + updated.isoformat().encode() + b'"' if updated else b"null",
                    b",",
                    context[record.category],
                    b',"values":',
                    record.values_json,
                    b"}",
                )
            )
            parts.append(part)
            size += len(part)
            count += 1
            if size >= _WRITE_CHUNK:
                write(b"".join(parts))
                parts, size = [], 0
    parts.append(b'],"access_log":')
    parts.append(_dumps(_access_log(vault, uow, subject)))
    parts.append(b',"disclosures":')
    parts.append(_dumps(_disclosures(vault, uow, subject, actor)))
    parts.append(b"}")
    write(b"".join(parts))
    return count


def export_access(
    vault: Vault,
    uow: UnitOfWork,
    subject_id: str,
    *,
    actor: Actor,
    categories: Collection[str] | None = None,
    include_passive: bool = False,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The access export of a subject as data: the streamed document, parsed."""
    buffer = io.BytesIO()
    write_access_export(
        vault,
        uow,
        subject_id,
        buffer.write,
        actor=actor,
        categories=categories,
        include_passive=include_passive,
        request_id=request_id,
    )
    data: dict[str, Any] = orjson.loads(buffer.getvalue())
    return data


# --------------------------------------------------------------------------- information


def existence_data(
    vault: Vault, uow: UnitOfWork, subject: SubjectRead, *, lang: str
) -> dict[str, Any]:
    """Whether data about the subject exists and how much, by category (TX-3.1)."""
    counts = vault.record_counts(uow, subject.id)
    return {"exists": sum(counts.values()) > 0, "categories": counts}


def legal_basis_data(policy: Policy, kind: str, *, lang: str) -> dict[str, Any]:
    """The legal basis of each purpose and the recipients data may go to (TX-3.2)."""
    lang = check_lang(lang)
    own = {c.id for c in policy.categories_of(kind)}
    return {
        "purposes": [
            {
                "id": p.id,
                "title": p.title(lang),
                "legal_basis": p.legal_basis.value,
                "legal_basis_label": enum_label("LegalBasis", p.legal_basis.value, lang),
                "categories": [c for c in p.categories if c in own],
                "clauses": list(p.clauses),
            }
            for p in policy.purposes
            if own & set(p.categories)
        ],
        "recipients": [
            {
                "id": r.id,
                "title": r.title(lang),
                "kind": r.kind.value,
                "basis": r.basis.value,
                "basis_label": enum_label("RecipientBasis", r.basis.value, lang),
                "categories": [c for c in r.categories if c in own],
                "clauses": list(r.clauses),
            }
            for r in policy.recipients
            if own & set(r.categories)
        ],
        "law": policy.operator.law(lang),
    }


def processing_info_data(
    vault: Vault, uow: UnitOfWork, subject: SubjectRead, *, actor: Actor, lang: str
) -> dict[str, Any]:
    """Purposes, conditions, methods, who may see the data and who did (TX-3.4)."""
    lang = check_lang(lang)
    policy = vault.policy(subject.policy_id)
    own = {c.id for c in policy.categories_of(subject.kind)}
    basis = legal_basis_data(policy, subject.kind, lang=lang)
    roles = {r.id: r for r in policy.roles}
    for purpose in basis["purposes"]:
        purpose["roles"] = [
            {"id": rid, "title": roles[rid].title(lang)}
            for rid in policy.purpose(purpose["id"]).roles
        ]
    return {
        "purposes": basis["purposes"],
        "storage": {
            "location": policy.storage.location(lang),
            "confidence_level": policy.storage.confidence_level.value,
            "encrypted_at_rest": policy.storage.encrypted_at_rest,
        },
        "retention": [
            {"id": r.id, "text": retention_phrase(policy, r, lang=lang)}
            for r in policy.retention
            if own & set(r.categories)
        ],
        "access_log": _access_log(vault, uow, subject),
        "disclosures": _disclosures(vault, uow, subject, actor),
    }


def sources_data(policy: Policy, kind: str, *, lang: str) -> dict[str, Any]:
    """Where each category comes from and what makes collecting it lawful (TX-3.7)."""
    lang = check_lang(lang)
    out = []
    for category in policy.categories_of(kind):
        purposes = [p for p in policy.purposes if category.id in p.categories]
        out.append(
            {
                "category": category.id,
                "title": category.title(lang),
                "source": category.source,
                "source_label": enum_label("CategorySource", category.source, lang),
                "legal_bases": sorted({p.legal_basis.value for p in purposes}),
                "clauses": sorted(set(category.clauses)),
            }
        )
    return {"sources": out, "law": policy.operator.law(lang)}


def operator_info_data(policy: Policy, kind: str, *, lang: str) -> dict[str, Any]:
    """Identity, purposes and bases, protection level, recipients, rights (TX-4.1)."""
    lang = check_lang(lang)
    basis = legal_basis_data(policy, kind, lang=lang)
    return {
        "operator_identity": _operator(policy),
        "purposes": basis["purposes"],
        "protection_level": {
            "confidence_level": policy.storage.confidence_level.value,
            "label": enum_label("Sensitivity", policy.storage.confidence_level.value, lang),
            "encrypted_at_rest": policy.storage.encrypted_at_rest,
        },
        "recipients": basis["recipients"],
        "rights": [
            {"kind": r.kind.value, "title": r.title(lang), "clauses": list(r.clauses)}
            for r in policy.requests.rights
        ],
    }


# --------------------------------------------------------------------------- letters


def _w(az: str, en: str, ru: str) -> dict[Lang, str]:
    return {"az": az, "en": en, "ru": ru}


#: The letters' own wording; headings and labels come from `mexfi.policy.i18n`.
WORDS: dict[str, dict[Lang, str]] = {
    "title": _w("Sorğunuza cavab", "Answer to your request", "Ответ на ваш запрос"),
    "request": _w("Sorğu", "Request", "Запрос"),
    "right": _w("Hüquq", "Right", "Право"),
    "received": _w("Alınıb", "Received", "Получен"),
    "due": _w("Cavab müddəti", "Answer due by", "Срок ответа"),
    "date": _w("Tarix", "Date", "Дата"),
    "greeting": _w("Hörmətli İstifadəçi,", "Dear user,", "Уважаемый пользователь!"),
    "closing": _w("Hörmətlə,", "Yours faithfully,", "С уважением,"),
    "rejected": _w(
        "Sorğunuz aşağıdakı səbəblərə görə icra edilə bilməz:",
        "Your request cannot be carried out, for the following reasons:",
        "Ваш запрос не может быть исполнен по следующим причинам:",
    ),
    "missing": _w(
        "Sorğuda göstərilməyib: {what}", "The request lacks {what}", "В запросе не указаны: {what}"
    ),
    "channel_not_accepted": _w(
        "Sorğu bu üsulla qəbul edilmir; qəbul edilən üsullar: {what}",
        "Requests are not accepted this way; they are accepted {what}",
        "Запросы этим способом не принимаются; они принимаются {what}",
    ),
    "not_matched": _w(
        "Göstərilən məlumatlar üzrə İstifadəçi tapılmadı",
        "No user could be found from the details given",
        "По указанным сведениям пользователь не найден",
    ),
    "denied_blocked": _w(
        "Məlumatlarınız bloklanıb: bloklanma götürülənədək onlar yalnız dəqiqləşdirilə bilər.",
        "Your data is blocked: until it is unblocked it can only be rectified.",
        "Ваши данные заблокированы: до снятия блокирования возможно только их уточнение.",
    ),
    "other_reason": _w("Səbəb: {what}", "Reason: {what}", "Причина: {what}"),
    "access_intro": _w(
        "Sizin haqqınızda saxlanılan fərdi məlumatların xülasəsi aşağıdadır. Məlumatların tam "
        "siyahısı, onların məqsədləri, mənbələri, alıcıları və onlara çıxış jurnalı əlavə "
        "edilmiş maşın oxunaqlı faylda (JSON) verilir.",
        "Below is a summary of the personal data about you that we hold. The complete data, "
        "with its purposes, sources, recipients and the log of access to it, is in the "
        "attached machine-readable file (JSON).",
        "Ниже приведена сводка хранящихся о вас персональных данных. Полные данные с их "
        "целями, источниками, получателями и журналом доступа к ним содержатся в приложенном "
        "машиночитаемом файле (JSON).",
    ),
    "records": _w("Qeydlər", "Records", "Записи"),
    "count": _w("Sayı", "Count", "Количество"),
    "period": _w("Dövr", "Period", "Период"),
    "access_log": _w("Çıxış jurnalı", "Access log", "Журнал доступа"),
    "who": _w("Kim", "Who", "Кто"),
    "action": _w("Əməliyyat", "Operation", "Операция"),
    "sample": _w(
        "Hər kateqoriyadan ilk {n} qeyd göstərilir.",
        "The first {n} records of each category are shown.",
        "Показаны первые {n} записей каждой категории.",
    ),
    "exists_yes": _w(
        "İnformasiya sistemində sizin haqqınızda fərdi məlumatlar var.",
        "Personal data about you exists in the information system.",
        "В информационной системе имеются ваши персональные данные.",
    ),
    "exists_no": _w(
        "İnformasiya sistemində sizin haqqınızda fərdi məlumatlar yoxdur.",
        "No personal data about you exists in the information system.",
        "В информационной системе нет ваших персональных данных.",
    ),
    "legal_basis_intro": _w(
        "Məlumatlarınız aşağıdakı məqsədlər və hüquqi əsaslarla işlənir və yalnız göstərilən "
        "alıcılara ötürülə bilər.",
        "Your data is processed for the purposes and on the legal bases below, and may be "
        "transferred only to the recipients named.",
        "Ваши данные обрабатываются в следующих целях и на следующих правовых основаниях и "
        "могут передаваться только указанным получателям.",
    ),
    "processing_intro": _w(
        "Məlumatlarınızın işlənməsinin məqsədləri, şərtləri və üsulları, onlara çıxışı olan "
        "şəxslər və faktiki çıxış jurnalı aşağıdadır.",
        "Below are the purposes, conditions and methods of processing your data, who may see "
        "it, and the log of who did.",
        "Ниже указаны цели, условия и способы обработки ваших данных, лица, имеющие к ним "
        "доступ, и журнал фактического доступа.",
    ),
    "sources_intro": _w(
        "Məlumatlarınızın mənbələri və onların toplanmasının hüquqi əsasları:",
        "The sources of your data and the legal bases of collecting it:",
        "Источники ваших данных и правовые основания их сбора:",
    ),
    "operator_intro": _w(
        "Hüquq sahibi, işlənmənin məqsədləri və hüquqi əsasları, mühafizə səviyyəsi, "
        "ehtimal olunan alıcılar və hüquqlarınız haqqında məlumat:",
        "The operator, the purposes and legal bases of processing, the protection level, the "
        "presumed recipients and your rights:",
        "Сведения об операторе, целях и правовых основаниях обработки, уровне защиты, "
        "предполагаемых получателях и ваших правах:",
    ),
    "rectified": _w(
        "Göstərdiyiniz məlumatlar dəqiqləşdirilib; köhnə dəyərlər bərpa edilə bilməz.",
        "The data you named has been rectified; the old values cannot be recovered.",
        "Указанные вами данные уточнены; прежние значения восстановлению не подлежат.",
    ),
    "destroyed": _w(
        "Aşağıdakı kateqoriyaların məlumatları geri qaytarılmaz şəkildə məhv edilib: {what}.",
        "The data of the following categories has been destroyed irrecoverably: {what}.",
        "Данные следующих категорий уничтожены без возможности восстановления: {what}.",
    ),
    "held": _w(
        "Aşağıdakı kateqoriyaların məlumatları qanunla tələb olunan saxlama (hüquqi saxlama "
        "qərarı) səbəbindən məhv edilə bilməz: {what}.",
        "The data of the following categories cannot be destroyed because the law requires "
        "it to be kept (a legal hold): {what}.",
        "Данные следующих категорий не могут быть уничтожены, так как закон требует их "
        "хранения (правовое удержание): {what}.",
    ),
    "status_prohibited": _w(
        "Məlumatlarınızın toplanması və işlənməsi qadağan edilib; yalnız qanunla tələb olunan "
        "işlənmə davam edir.",
        "Collection and processing of your data is prohibited; only processing the law "
        "requires continues.",
        "Сбор и обработка ваших данных запрещены; продолжается только обработка, требуемая "
        "законом.",
    ),
    "status_blocked": _w(
        "Məlumatlarınız bloklanıb: onların işlənməsi, dəqiqləşdirmə istisna olmaqla, dayandırılıb.",
        "Your data has been blocked: its processing is stopped, except to rectify it.",
        "Ваши данные заблокированы: их обработка приостановлена, кроме уточнения.",
    ),
    "status_active": _w(
        "Məlumatlarınızın bloklanması götürülüb.",
        "Your data has been unblocked.",
        "Блокирование ваших данных снято.",
    ),
    "withdrawn": _w(
        "Fərdi məlumatların işlənməsinə razılığınızın geri götürülməsi qeydə alınıb; "
        "işlənmə yalnız qanunla tələb olunan hallarda davam edir.",
        "Your withdrawal of consent to processing has been recorded; processing continues "
        "only where the law requires it.",
        "Отзыв вашего согласия на обработку зарегистрирован; обработка продолжается только в "
        "случаях, требуемых законом.",
    ),
    "rights": _w("Hüquqlarınız", "Your rights", "Ваши права"),
    "protection": _w("Mühafizə səviyyəsi", "Protection level", "Уровень защиты"),
}


def _word(key: str, lang: Lang, **slots: str) -> str:
    text = WORDS[key][lang]
    return text.format(**slots) if slots else text


@dataclass(frozen=True)
class LetterSection:
    title: str
    paragraphs: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    head: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Letter:
    """A letter in one language, before it is given a format."""

    lang: Lang
    title: str
    meta: tuple[tuple[str, str], ...]
    greeting: str
    paragraphs: tuple[str, ...]
    sections: tuple[LetterSection, ...] = ()
    closing: str = ""
    operator_name: str = ""
    signature: tuple[tuple[str, str], ...] = field(default_factory=tuple)


#: How many records of a category an access letter prints (the JSON file has them all).
LETTER_SAMPLE = 20


def _value_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return f"[{len(bytes(value))} bytes]"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, tuple | list):
        return ", ".join(_value_text(v) for v in value)
    return "" if value is None else str(value)


def _reason_text(policy: Policy, code: str, lang: Lang) -> str:
    if code.startswith("missing_"):
        what = enum_label("RequestRequirement", code.removeprefix("missing_"), lang)
        return _word("missing", lang, what=what)
    if code.startswith("channel_not_accepted"):
        what = ", ".join(
            enum_label("RequestChannel", c.value, lang) for c in policy.requests.channels
        )
        return _word("channel_not_accepted", lang, what=what)
    if code in ("subject_not_matched", "subject_not_found", "requester_not_identified"):
        return _word("not_matched", lang)
    if code == "processing_denied_subject_blocked":
        return _word("denied_blocked", lang)
    if code.startswith("legal_hold_"):
        category = code.removeprefix("legal_hold_")
        title = policy.category(category).title(lang) if category else category
        return _word("held", lang, what=title)
    return _word("other_reason", lang, what=code)


def _access_sections(policy: Policy, data: Mapping[str, Any], lang: Lang) -> list[LetterSection]:
    by_category: dict[str, list[Mapping[str, Any]]] = {}
    for record in data.get("records", []):
        by_category.setdefault(record["category"], []).append(record)
    summary_rows = []
    for category, records in by_category.items():
        times = sorted(r["collected_at"][:10] for r in records)
        summary_rows.append(
            (policy.category(category).title(lang), str(len(records)), f"{times[0]} – {times[-1]}")
        )
    sections = [
        LetterSection(
            _word("records", lang),
            head=(message("data", lang), _word("count", lang), _word("period", lang)),
            rows=tuple(summary_rows),
        )
    ]
    for category, records in by_category.items():
        cat = policy.category(category)
        titles = {f.name: f.title(lang) for f in cat.fields}
        names = [f.name for f in cat.fields]
        rows = tuple(
            tuple(_value_text(r["values"].get(n)) for n in names) for r in records[:LETTER_SAMPLE]
        )
        sections.append(
            LetterSection(
                cat.title(lang),
                paragraphs=(_word("sample", lang, n=str(LETTER_SAMPLE)),)
                if len(records) > LETTER_SAMPLE
                else (),
                head=tuple(titles[n] for n in names),
                rows=rows,
            )
        )
    log = data.get("access_log", [])
    titles = {p.id: p.title(lang) for p in policy.purposes}
    if log:
        sections.append(
            LetterSection(
                _word("access_log", lang),
                head=(_word("date", lang), _word("who", lang), _word("action", lang),
                      message("purpose", lang)),
                rows=tuple(
                    (e["at"][:19].replace("T", " "), f"{e['actor_role']} ({e['actor_id']})",
                     e["action"], titles.get(e["purpose"] or "", e["purpose"] or ""))
                    for e in log[-200:]
                ),
            )
        )  # fmt: skip
    return sections


def _purpose_section(data: Mapping[str, Any], lang: Lang) -> LetterSection:
    return LetterSection(
        message("h_purposes", lang),
        head=(message("purpose", lang), message("legal_basis", lang)),
        rows=tuple((p["title"], p["legal_basis_label"]) for p in data.get("purposes", [])),
    )


def _recipient_section(data: Mapping[str, Any], lang: Lang) -> LetterSection:
    return LetterSection(
        message("h_recipients", lang),
        head=(message("recipient_kind", lang), message("basis", lang)),
        rows=tuple((r["title"], r["basis_label"]) for r in data.get("recipients", [])),
    )


def build_letter(policy: Policy, answer: Answer) -> Letter:
    """The letter answering a request, in the request's language."""
    request = answer.request
    lang = check_lang(request.language)
    data = answer.data
    zone = local_zone(policy.requests.deadline.jurisdiction)
    meta = (
        (_word("request", lang), request.id),
        (_word("right", lang), enum_label("RightKind", request.kind.right.value, lang)),
        (_word("received", lang), format_date(request.received_at.astimezone(zone).date(), lang)),
        (_word("due", lang), format_date(request.due_date, lang)),
    )
    paragraphs: list[str] = []
    sections: list[LetterSection] = []
    kind = request.kind.value
    if request.state.value == "rejected" or (request.reasons and kind != "destruction"):
        paragraphs.append(_word("rejected", lang))
        sections.append(
            LetterSection(
                _word("rejected", lang).rstrip(":"),
                items=tuple(_reason_text(policy, c, lang) for c in request.reasons),
            )
        )
    elif kind == "access":
        paragraphs.append(_word("access_intro", lang))
        sections += _access_sections(policy, data, lang)
    elif kind == "existence":
        paragraphs.append(_word("exists_yes" if data.get("exists") else "exists_no", lang))
        counts = data.get("categories", {})
        sections.append(
            LetterSection(
                _word("records", lang),
                head=(message("data", lang), _word("count", lang)),
                rows=tuple((policy.category(c).title(lang), str(n)) for c, n in counts.items()),
            )
        )
    elif kind == "legal_basis":
        paragraphs += [_word("legal_basis_intro", lang), data.get("law", "")]
        sections += [_purpose_section(data, lang), _recipient_section(data, lang)]
    elif kind == "processing_info":
        paragraphs.append(_word("processing_intro", lang))
        sections.append(_purpose_section(data, lang))
        storage = data.get("storage", {})
        sections.append(
            LetterSection(
                message("h_storage", lang),
                items=(
                    f"{message('storage_where', lang)}: {storage.get('location', '')}",
                    f"{message('storage_level', lang)}: "
                    + enum_label("Sensitivity", storage.get("confidence_level", "high"), lang),
                ),
            )
        )
        if data.get("retention"):
            sections.append(
                LetterSection(
                    message("h_retention", lang),
                    items=tuple(r["text"] for r in data["retention"]),
                )
            )
        sections += _access_sections(policy, {"access_log": data.get("access_log", [])}, lang)[1:]
    elif kind == "sources":
        paragraphs.append(_word("sources_intro", lang))
        sections.append(
            LetterSection(
                message("h_data", lang),
                head=(message("data", lang), message("source", lang), message("legal_basis", lang)),
                rows=tuple(
                    (s["title"], s["source_label"],
                     "; ".join(enum_label("LegalBasis", b, lang) for b in s["legal_bases"]))
                    for s in data.get("sources", [])
                ),
            )
        )  # fmt: skip
    elif kind == "operator_info":
        paragraphs.append(_word("operator_intro", lang))
        sections.append(_purpose_section(data, lang))
        level = data.get("protection_level", {})
        sections.append(LetterSection(_word("protection", lang), items=(level.get("label", ""),)))
        sections.append(_recipient_section(data, lang))
        sections.append(
            LetterSection(
                _word("rights", lang), items=tuple(r["title"] for r in data.get("rights", []))
            )
        )
    elif kind == "rectification":
        paragraphs.append(_word("rectified", lang))
    elif kind == "destruction":
        outcome = data.get("destruction", {})
        destroyed = [policy.category(c).title(lang) for c in outcome.get("destroyed", [])]
        held = [policy.category(c).title(lang) for c in outcome.get("held", {})]
        if destroyed:
            paragraphs.append(_word("destroyed", lang, what="; ".join(destroyed)))
        if held:
            paragraphs.append(_word("held", lang, what="; ".join(held)))
    elif kind in ("prohibition", "blocking", "unblocking"):
        paragraphs.append(_word(f"status_{data.get('status', 'active')}", lang))
    elif kind == "withdraw_consent":
        paragraphs.append(_word("withdrawn", lang))
    op = policy.operator
    signature = [(message("f_name", lang), op.name)]
    for key, value in (
        ("f_tin", op.tin),
        ("f_address", op.address),
        ("f_email", op.email),
        ("f_phone", op.phone),
        ("f_website", op.website),
    ):
        if value:
            signature.append((message(key, lang), value))
    return Letter(
        lang=lang,
        title=f"{policy.policy.service(lang)} — {_word('title', lang)}",
        meta=meta,
        greeting=_word("greeting", lang),
        paragraphs=tuple(p for p in paragraphs if p),
        sections=tuple(sections),
        closing=_word("closing", lang),
        operator_name=op.name,
        signature=tuple(signature),
    )


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def _render_html(letter: Letter, *, for_pdf: bool = False) -> str:
    return _environment().get_template("letter.html.j2").render(letter=letter, for_pdf=for_pdf)


#: Where the DejaVu fonts are looked for (Debian/Ubuntu: the `fonts-dejavu-core` package).
FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
)


def find_fonts() -> tuple[Path, Path]:
    """The regular and bold DejaVu Sans TTF files; `LetterUnavailable` if absent.

    `MEXFI_FONT_DIR` names another directory holding DejaVuSans.ttf and DejaVuSans-Bold.ttf.
    """
    import os

    dirs = [Path(os.environ["MEXFI_FONT_DIR"])] if os.environ.get("MEXFI_FONT_DIR") else []
    for directory in [*dirs, *FONT_DIRS]:
        regular, bold = directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    raise LetterUnavailable(
        "the DejaVu Sans fonts a PDF letter needs (Azerbaijani and Cyrillic letters) are missing",
        hint="install them (Debian/Ubuntu: apt-get install fonts-dejavu-core) or set "
        "MEXFI_FONT_DIR to a directory holding DejaVuSans.ttf and DejaVuSans-Bold.ttf",
    )


def _render_pdf(letter: Letter) -> bytes:
    try:
        from fpdf import FPDF
    except ImportError:  # pragma: no cover - fpdf2 is a dependency
        raise LetterUnavailable(
            "PDF letters need the fpdf2 package", hint="pip install fpdf2"
        ) from None
    regular, bold = find_fonts()
    pdf = FPDF(format="A4")
    pdf.set_title(letter.title)
    pdf.set_author(letter.operator_name)
    pdf.set_creator("mexfi")
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    # No italic face is loaded: the template uses none.
    pdf.set_font("DejaVu", size=10)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.write_html(
        _render_html(letter, for_pdf=True),
        font_family="DejaVu",
        table_line_separators=True,
        warn_on_tags_not_matching=False,
    )
    return bytes(pdf.output())


def render_letter(policy: Policy, answer: Answer, *, format: str = "html") -> str | bytes:
    """The answer's letter as HTML text or PDF bytes."""
    letter = build_letter(policy, answer)
    if format == "html":
        return _render_html(letter)
    if format == "pdf":
        return _render_pdf(letter)
    from mexfi.errors import Invalid

    raise Invalid(f"unknown letter format {format!r}; formats: html, pdf")
