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
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import orjson

from mexfi.db import UnitOfWork
from mexfi.policy import (
    DataField,
    FieldType,
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
    "MASKED_TYPES",
    "Letter",
    "LetterSection",
    "answer_from_export",
    "answer_header",
    "build_letter",
    "existence_data",
    "export_access",
    "export_json",
    "find_fonts",
    "legal_basis_data",
    "letter_reference",
    "mask_value",
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


# --------------------------------------------------------------------------- masks, times

#: Field types shown by their last four characters only, in letters and in exports: card
#: numbers (PCI DSS 3.4 allows at most the last four digits to be displayed), IBANs, and
#: BakıKart transport cards (a card number is what adds a card, with its trips and
#: balance, to an account in the app).
MASKED_TYPES = frozenset(
    {FieldType.PAYMENT_CARD_NUMBER, FieldType.IBAN, FieldType.TRANSPORT_CARD_NUMBER}
)
_MASK = "•••• "


def mask_value(value: Any) -> str:
    """A card number, IBAN or token as "•••• 1234": its last four characters only."""
    if isinstance(value, Mapping):  # already masked in an export: {"last4": …}
        return _MASK + str(value.get("last4", ""))
    compact = "".join(str(value).split())
    return _MASK + compact[-4:]


def _zone(policy: Policy) -> tzinfo:
    """The time zone of the policy's jurisdiction: every time an answer shows is in it."""
    return local_zone(policy.requests.deadline.jurisdiction)


def _local(value: str | datetime | None, zone: tzinfo) -> datetime | None:
    if value is None or value == "":
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:  # the stores keep UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def _local_iso(value: str | datetime | None, zone: tzinfo) -> str | None:
    """ISO 8601 with the local offset ("2026-11-22T20:28:51+04:00"): the same instant, read
    in the subject's own time, as the letter prints it."""
    moment = _local(value, zone)
    return moment.isoformat() if moment is not None else None


@dataclass(frozen=True)
class _Shaping:
    """How one category's values leave in an export: datetimes to local time, card numbers
    and IBANs masked, with a reference to the full value where the request asks for it."""

    datetimes: tuple[str, ...]
    masked: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.datetimes or self.masked)

    def apply(
        self, values: dict[str, Any], zone: tzinfo, record_id: str, refs: bool
    ) -> dict[str, Any]:
        for name in self.datetimes:
            if isinstance(values.get(name), str):
                values[name] = _local_iso(values[name], zone)
        for name in self.masked:
            value = values.get(name)
            if value is None or isinstance(value, Mapping):
                continue
            compact = "".join(str(value).split())
            shown: dict[str, Any] = {"last4": compact[-4:]}
            if refs:
                # Names the value, never carries it: the full value is given on a new,
                # verified and audited request citing this reference.
                shown["ref"] = f"{record_id}.{name}"
            values[name] = shown
        return values


def _shaping(fields: Sequence[DataField]) -> _Shaping:
    return _Shaping(
        datetimes=tuple(f.name for f in fields if f.type is FieldType.DATETIME),
        masked=tuple(f.name for f in fields if f.type in MASKED_TYPES),
    )


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
        "names": op.names.model_dump() if op.names is not None else None,
        "addresses": op.addresses.model_dump() if op.addresses is not None else None,
        "clauses": list(op.clauses),
    }


def answer_header(
    policy: Policy, request: RequestRead, subject: SubjectRead | None
) -> dict[str, Any]:
    """What every answer starts with: the request, the policy and the operator (BK-1.1).

    Times are ISO 8601 with the offset of the policy's jurisdiction (Baku: +04:00), as in
    the letter; `time_zone` names the zone."""
    zone = _zone(policy)
    data = request.to_dict()
    for key, value in data.items():
        if key.endswith("_at") and isinstance(value, str):  # received_at, due_at, …
            data[key] = _local_iso(value, zone)
    return {
        "request": data,
        "policy": {"id": policy.id, "version": policy.policy.version},
        "operator": _operator(policy),
        # What the letters of this answer print as their reference.
        "reference": letter_reference(policy, request),
        "time_zone": str(zone),
        # None: a refusal of a request that matched no subject.
        "subject": {
            "pseudonym": subject.pseudonym,
            "kind": subject.kind,
            "status": subject.status,
            "registered_at": _local_iso(subject.registered_at, zone),
        }
        if subject is not None
        else None,
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


def _entry_dict(entry: Any, zone: tzinfo) -> dict[str, Any]:
    return {
        "at": _local_iso(entry.at, zone),
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
    zone = _zone(vault.policy(subject.policy_id))
    return [_entry_dict(e, zone) for e in entries]


def _disclosures(
    vault: Vault, uow: UnitOfWork, subject: SubjectRead, actor: Actor
) -> list[dict[str, Any]]:
    # The register is for the DPO (or the subject); support staff answer without it.
    if actor.role != "dpo":
        return []
    zone = _zone(vault.policy(subject.policy_id))
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
            "at": _local_iso(d.at, zone),
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
    being written.

    Times carry the offset of the policy's jurisdiction (+04:00 in Baku): the same instants,
    read as the letter prints them. Card numbers, IBANs and transport card numbers leave as
    `{"last4": …}`; an export answering a request (`request_id`) adds `"ref":
    "<record id>.<field>"`, what a later, verified request for the full value cites."""
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
    zone = _zone(policy)
    shaping = {c: _shaping(policy.category(c).fields) for c in wanted}
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
            windows[c] = _local_iso(since, zone)
        reads.append((group, since, ("active",)))
    if include_passive and wanted:
        reads.append((wanted, None, ("passive",)))
    head = {
        "format": EXPORT_FORMAT,
        "request_id": request_id,
        "generated_at": _local_iso(now, zone),
        "time_zone": str(zone),
        "policy": {"id": policy.id, "version": policy.policy.version},
        "operator": _operator(policy),
        "subject": {"pseudonym": subject.pseudonym, "kind": subject.kind},
        "scope": {
            "categories": wanted,
            "tiers": ["active", "passive"] if include_passive else ["active"],
            "active_since": windows,
            "masked": {c: list(shaping[c].masked) for c in wanted if shaping[c].masked},
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
            updated = _local_iso(record.updated_at, zone)
            values = record.values_json
            shape = shaping[record.category]
            if shape:  # parsed only where a time or a number must change
                values = _dumps(
                    shape.apply(orjson.loads(values), zone, record.id, request_id is not None)
                )
            part = b"".join(
                (
                    b',{"id":"' if count else b'{"id":"',
                    record.id.encode(),
                    b'","category":"',
                    record.category.encode(),
                    b'","tier":"',
                    record.tier.encode(),
                    b'","collected_at":"',
                    str(_local_iso(record.collected_at, zone)).encode(),
                    b'","updated_at":',
                    b'"' + updated.encode() + b'"' if updated else b"null",
                    b",",
                    context[record.category],
                    b',"values":',
                    values,
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
    "resubmit_title": _w("Nə etmək olar", "What you can do", "Что можно сделать"),
    "resubmit": _w(
        "Yazılı sorğuda yuxarıda göstərilən məlumatlar olmalıdır. Onları əlavə edərək yeni "
        "sorğu göndərə bilərsiniz.",
        "A written request must carry the details listed above. You may send a new request "
        "that includes them.",
        "Письменный запрос должен содержать указанные выше сведения. Вы можете направить "
        "новый запрос, указав их.",
    ),
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
    # The letter's head: its date and reference, the request it answers.
    "letter_date": _w("Məktubun tarixi", "Date of this letter", "Дата письма"),
    "reference": _w("İstinad nömrəsi", "Our reference", "Исходящий номер"),
    "request_id": _w("Sorğunun identifikatoru", "Request identifier", "Идентификатор запроса"),
    "received_at": _w("Sorğunun alınma vaxtı", "Request received", "Запрос получен"),
    "times_note": _w(
        "Bu məktubda bütün vaxtlar {zone} ilə ({offset}) göstərilir.",
        "All times in this letter are {zone} ({offset}).",
        "Время в этом письме указано по {zone} ({offset}).",
    ),
    "masked_note": _w(
        "Kart nömrələri, bank hesablarının nömrələri (IBAN) və kart tokenləri təhlükəsizlik "
        "məqsədilə (PCI DSS) yalnız son dörd simvolu ilə göstərilir. Tam dəyəri ayrıca yazılı "
        "sorğu ilə, JSON faylında onun yanında verilmiş istinadı («ref») göstərməklə ala "
        "bilərsiniz.",
        "For security (PCI DSS), card numbers, bank account numbers (IBAN) and card tokens "
        "are shown by their last four characters only. You can obtain a full value with a "
        "separate written request citing the reference (\u201cref\u201d) given next to it in "
        "the JSON file.",
        "В целях безопасности (PCI DSS) номера карт, номера банковских счетов (IBAN) и токены "
        "карт показаны только последними четырьмя символами. Полное значение можно получить "
        "по отдельному письменному запросу, указав приведённую рядом с ним в файле JSON "
        "ссылку («ref»).",
    ),
    "bytes": _w(
        "{n} bayt (JSON faylında)", "{n} bytes (in the JSON file)", "{n} байт (в файле JSON)"
    ),
    "yes": _w("bəli", "yes", "да"),
    "no": _w("xeyr", "no", "нет"),
    "roles": _w("Kimlər baxa bilər", "Who may see it", "Кто имеет доступ"),
    "rectified_fields": _w("Dəqiqləşdirilmiş məlumatlar", "Data rectified", "Уточнённые данные"),
    "identity_not_confirmed": _w(
        "Sorğunu verən şəxsin şəxsiyyəti təsdiq edilməyib",
        "The identity of the person making the request could not be confirmed",
        "Личность лица, направившего запрос, не подтверждена",
    ),
    "denied_prohibited": _w(
        "Məlumatlarınızın işlənməsi qadağan edilib: yalnız qanunla tələb olunan işlənmə mümkündür.",
        "Processing of your data is prohibited: only processing the law requires is possible.",
        "Обработка ваших данных запрещена: возможна только обработка, требуемая законом.",
    ),
    "denied_other": _w(
        "Sorğu siyasətin məlumatlara çıxış qaydalarına görə icra edilə bilməz",
        "The request cannot be carried out under the policy's rules on access to the data",
        "Запрос не может быть исполнен по правилам политики о доступе к данным",
    ),
}

#: The zone a letter's times are given in, named as a reader says it (else the tz name).
_ZONE_NAMES: dict[str, dict[Lang, str]] = {
    "Asia/Baku": _w("Bakı vaxtı", "Baku time", "бакинскому времени"),
}

#: The operations of the audit log as a letter names them (TX-3.4: who did what).
_ACTIONS: dict[str, dict[Lang, str]] = {
    "create": _w("Qeydə alınma", "Recorded", "Запись"),
    "read": _w("Baxış", "Read", "Просмотр"),
    "update": _w("Dəyişdirilmə", "Changed", "Изменение"),
    "block": _w("Bloklanma", "Blocked", "Блокирование"),
    "unblock": _w("Bloklanmanın götürülməsi", "Unblocked", "Снятие блокирования"),
    "delete": _w("Silinmə", "Deleted", "Удаление"),
    "depersonalize": _w("Depersonalizasiya", "Depersonalised", "Обезличивание"),
    "destroy": _w("Məhv edilmə", "Destroyed", "Уничтожение"),
    "disclose": _w("Ötürülmə", "Transferred", "Передача"),
    "export": _w("Sizə təqdim edilmə", "Provided to you", "Предоставление вам"),
    "deny": _w("Rədd edilmiş əməliyyat", "Operation refused", "Операция отклонена"),
    "refuse": _w("Qəbul edilməmiş məlumat", "Input refused", "Данные не приняты"),
    "tier": _w("Passiv saxlanmaya keçirilmə", "Moved to passive storage", "Перевод в архив"),
    "quarantine": _w("Karantinə keçirilmə", "Set aside (unreadable)", "Перемещение в карантин"),
    "restore": _w("Bərpa edilmə", "Restored", "Восстановление"),
    "request": _w("Sorğunuz", "Your request", "Ваш запрос"),
    "consent": _w("Razılığın qeydə alınması", "Consent recorded", "Регистрация согласия"),
    "withdraw": _w("Razılığın geri götürülməsi", "Consent withdrawn", "Отзыв согласия"),
    "key_rotate": _w("Şifrə açarının yenilənməsi", "Encryption key renewed", "Смена ключа"),
    "register": _w("Qeydiyyat", "Registration", "Регистрация"),
    "order_open": _w("Sifarişin başlanması", "Order started", "Начало заказа"),
    "order_close": _w("Sifarişin başa çatması", "Order finished", "Завершение заказа"),
    # A sign-in of yours, or your app's session opened or closed (TX-12).
    "session": _w("Sessiya", "Session", "Сеанс"),
}  # fmt: skip

#: The states of a request, as "Your request: …" in the access log.
_STATES: dict[str, dict[Lang, str]] = {
    "received": _w("qəbul edilib", "received", "получен"),
    "verifying": _w("yoxlanılır", "being verified", "проверяется"),
    "locked": _w("kilidlənib", "locked", "заблокирован"),
    "in_progress": _w("icra edilir", "in progress", "исполняется"),
    "on_hold": _w("dayandırılıb", "on hold", "приостановлен"),
    "answered": _w("cavablandırılıb", "answered", "исполнен"),
    "rejected": _w("rədd edilib", "refused", "отклонён"),
    "withdrawn": _w("geri götürülüb", "withdrawn", "отозван"),
}

#: Languages and countries a record may name by code (TX-20 – TX-22: the app's language
#: and the subscriber's country); a code not listed is printed as it is.
_LANGUAGES: dict[str, dict[Lang, str]] = {
    "az": _w("Azərbaycan dili", "Azerbaijani", "азербайджанский"),
    "en": _w("İngilis dili", "English", "английский"),
    "ru": _w("Rus dili", "Russian", "русский"),
    "tr": _w("Türk dili", "Turkish", "турецкий"),
}
_COUNTRIES: dict[str, dict[Lang, str]] = {
    "AZ": _w("Azərbaycan", "Azerbaijan", "Азербайджан"),
    "GE": _w("Gürcüstan", "Georgia", "Грузия"),
    "IR": _w("İran", "Iran", "Иран"),
    "KZ": _w("Qazaxıstan", "Kazakhstan", "Казахстан"),
    "RU": _w("Rusiya", "Russia", "Россия"),
    "TR": _w("Türkiyə", "Türkiye", "Турция"),
    "UA": _w("Ukrayna", "Ukraine", "Украина"),
    "UZ": _w("Özbəkistan", "Uzbekistan", "Узбекистан"),
}


def _word(key: str, lang: Lang, **slots: str) -> str:
    text = WORDS[key][lang]
    return text.format(**slots) if slots else text


@dataclass(frozen=True)
class LetterSection:
    """A heading and what follows it: paragraphs, a list, or a table. A table with `head`
    has one column per heading; without, its rows are (label, value) pairs."""

    title: str
    paragraphs: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    head: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Letter:
    """A letter in one language, before it is given a format.

    `operator_name` and `signature` (labelled address and contacts) head the letter, in its
    language; `date` and `reference` stand under them; `meta` identifies the request."""

    lang: Lang
    title: str
    meta: tuple[tuple[str, str], ...]
    greeting: str
    paragraphs: tuple[str, ...]
    sections: tuple[LetterSection, ...] = ()
    closing: str = ""
    operator_name: str = ""
    signature: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    date: str = ""
    reference: str = ""


#: How many records of a category an access letter prints (the JSON file has them all).
LETTER_SAMPLE = 20

#: A time in a letter's tables: day first, to the minute, local time ("22.11.2026 20:28").
_TIME_FORMAT = "%d.%m.%Y %H:%M"
_DATE_FORMAT = "%d.%m.%Y"
#: Field types a letter shows masked: the exports' masked types, and what a card is known
#: by besides its number (the acquirer's token; the last four digits, shown as such).
_LETTER_MASKED = MASKED_TYPES | {FieldType.CARD_TOKEN, FieldType.CARD_LAST4}


def _time_text(value: str | datetime | None, zone: tzinfo) -> str:
    moment = _local(value, zone)
    return moment.strftime(_TIME_FORMAT) if moment is not None else ""


def _date_text(value: Any) -> str:
    text = str(value)
    try:
        return date.fromisoformat(text[:10]).strftime(_DATE_FORMAT)
    except ValueError:
        return text


def _phone_text(value: str) -> str:
    import phonenumbers

    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _value_text(value: Any, field: DataField | None, lang: Lang, zone: tzinfo) -> str:
    """One value as a reader reads it: local times, names for codes, masked card numbers."""
    if value is None or value == "":
        return ""
    kind = field.type if field is not None else None
    if kind in _LETTER_MASKED:
        return mask_value(value)
    if isinstance(value, Mapping) and "base64" in value:  # bytes, as an export carries them
        size = len(base64.b64decode(str(value["base64"])))
        return _word("bytes", lang, n=str(size))
    if isinstance(value, bytes | bytearray | memoryview):
        return _word("bytes", lang, n=str(len(bytes(value))))
    if kind is FieldType.DATETIME or isinstance(value, datetime):
        return _time_text(value, zone)
    if kind is FieldType.DATE or isinstance(value, date):
        return _date_text(value.isoformat() if isinstance(value, date) else value)
    if field is not None and kind is FieldType.ENUM:
        return field.value_title(str(value), lang)
    if kind is FieldType.BOOLEAN or isinstance(value, bool):
        return _word("yes" if value else "no", lang)
    if kind is FieldType.LANGUAGE:
        code = str(value).split("-")[0].lower()
        return _LANGUAGES[code][lang] if code in _LANGUAGES else str(value)
    if kind is FieldType.COUNTRY:
        return (
            _COUNTRIES[str(value).upper()][lang] if str(value).upper() in _COUNTRIES else str(value)
        )
    if kind is FieldType.PHONE:
        return _phone_text(str(value))
    if isinstance(value, tuple | list):
        return ", ".join(_value_text(v, None, lang, zone) for v in value)
    return str(value)


def _reason_text(policy: Policy, code: str, lang: Lang) -> str:
    if code.startswith("missing_"):
        what = enum_label("RequestRequirement", code.removeprefix("missing_"), lang)
        return _word("missing", lang, what=what)
    if code.startswith("channel_not_accepted"):
        what = ", ".join(
            enum_label("RequestChannel", c.value, lang) for c in policy.requests.channels
        )
        return _word("channel_not_accepted", lang, what=what)
    if code in (
        "subject_not_matched",
        "subject_not_found",
        "requester_not_identified",
        "phone_invalid",
    ):
        return _word("not_matched", lang)
    if code == "processing_denied_subject_blocked":
        return _word("denied_blocked", lang)
    if code == "processing_denied_subject_prohibited":
        return _word("denied_prohibited", lang)
    if code.startswith("processing_denied_"):  # the policy's own rules (role, purpose, tier)
        return _word("denied_other", lang)
    if code == "identity_not_confirmed":
        return _word("identity_not_confirmed", lang)
    if code.startswith("legal_hold_"):
        category = code.removeprefix("legal_hold_")
        title = policy.category(category).title(lang) if category else category
        return _word("held", lang, what=title)
    return _word("other_reason", lang, what=code)


def _period(records: Sequence[Mapping[str, Any]], zone: tzinfo) -> str:
    days = sorted(
        moment.date()
        for moment in (_local(r.get("collected_at"), zone) for r in records)
        if moment is not None
    )
    if not days:
        return ""
    first, last = days[0].strftime(_DATE_FORMAT), days[-1].strftime(_DATE_FORMAT)
    return first if first == last else f"{first} – {last}"


def _category_section(
    policy: Policy, category: str, records: Sequence[Mapping[str, Any]], lang: Lang, zone: tzinfo
) -> LetterSection:
    cat = policy.category(category)
    if len(records) == 1:  # one record: a field per line
        values = records[0]["values"]
        return LetterSection(
            cat.title(lang),
            rows=tuple(
                (f.title(lang), _value_text(values.get(f.name), f, lang, zone))
                for f in cat.fields
                if values.get(f.name) not in (None, "")
            ),
        )
    shown = records[:LETTER_SAMPLE]
    # A column no shown record fills is left out: the table stays readable on A4.
    fields = [
        f for f in cat.fields if any(r["values"].get(f.name) not in (None, "") for r in shown)
    ]
    return LetterSection(
        cat.title(lang),
        paragraphs=(_word("sample", lang, n=str(LETTER_SAMPLE)),)
        if len(records) > LETTER_SAMPLE
        else (),
        head=tuple(f.title(lang) for f in fields),
        rows=tuple(
            tuple(_value_text(r["values"].get(f.name), f, lang, zone) for f in fields)
            for r in shown
        ),
    )


def _role_text(policy: Policy, role: str, lang: Lang) -> str:
    known = {r.id: r for r in policy.roles}
    return known[role].title(lang) if role in known else role


def _purpose_text(policy: Policy, purpose: str | None, lang: Lang) -> str:
    known = {p.id: p for p in policy.purposes}
    return known[purpose].title(lang) if purpose in known else (purpose or "")


def _action_text(entry: Mapping[str, Any], lang: Lang) -> str:
    action = str(entry.get("action", ""))
    text = _ACTIONS[action][lang] if action in _ACTIONS else action
    if action == "request":  # reason: "<kind>:<state>[:<codes>]"
        state = str(entry.get("reason") or "").split(":")[1:2]
        if state and state[0] in _STATES:
            text += ": " + _STATES[state[0]][lang]
    return text


def _log_section(
    policy: Policy, log: Sequence[Mapping[str, Any]], lang: Lang, zone: tzinfo
) -> LetterSection:
    return LetterSection(
        _word("access_log", lang),
        head=(_word("date", lang), _word("who", lang), _word("action", lang),
              message("purpose", lang)),
        rows=tuple(
            (_time_text(e["at"], zone),
             f"{_role_text(policy, e['actor_role'], lang)} ({e['actor_id']})",
             _action_text(e, lang), _purpose_text(policy, e.get("purpose"), lang))
            for e in log[-200:]
        ),
    )  # fmt: skip


def _access_sections(
    policy: Policy, data: Mapping[str, Any], lang: Lang, zone: tzinfo
) -> list[LetterSection]:
    by_category: dict[str, list[Mapping[str, Any]]] = {}
    for record in data.get("records", []):
        by_category.setdefault(record["category"], []).append(record)
    sections = [
        LetterSection(
            _word("records", lang),
            head=(message("data", lang), _word("count", lang), _word("period", lang)),
            rows=tuple(
                (policy.category(c).title(lang), str(len(rs)), _period(rs, zone))
                for c, rs in by_category.items()
            ),
        )
    ]
    sections += [_category_section(policy, c, rs, lang, zone) for c, rs in by_category.items()]
    log = data.get("access_log", [])
    if log:
        sections.append(_log_section(policy, log, lang, zone))
    return sections


def _shows_masked(policy: Policy, data: Mapping[str, Any]) -> bool:
    """Whether an access letter shows a masked value (and so says why)."""
    categories = {r["category"] for r in data.get("records", [])}
    return any(f.type in _LETTER_MASKED for c in categories for f in policy.category(c).fields)


def _purpose_section(
    policy: Policy, data: Mapping[str, Any], lang: Lang, *, roles: bool = False
) -> LetterSection:
    """The purposes of an answer, named from the policy (any language, whatever the answer's)."""
    head = (message("purpose", lang), message("legal_basis", lang))
    rows: list[tuple[str, ...]] = []
    for item in data.get("purposes", []):
        purpose = policy.purpose(item["id"])
        row: tuple[str, ...] = (
            purpose.title(lang),
            enum_label("LegalBasis", purpose.legal_basis.value, lang),
        )
        if roles:
            row += ("; ".join(_role_text(policy, r, lang) for r in purpose.roles),)
        rows.append(row)
    return LetterSection(
        message("h_purposes", lang),
        head=head + ((_word("roles", lang),) if roles else ()),
        rows=tuple(rows),
    )


def _recipient_section(policy: Policy, data: Mapping[str, Any], lang: Lang) -> LetterSection:
    rows = []
    for item in data.get("recipients", []):
        recipient = policy.recipient(item["id"])
        rows.append(
            (recipient.title(lang), enum_label("RecipientBasis", recipient.basis.value, lang))
        )
    return LetterSection(
        message("h_recipients", lang),
        head=(message("recipient_kind", lang), message("basis", lang)),
        rows=tuple(rows),
    )


def letter_reference(policy: Policy, request: RequestRead) -> str:
    """A reference a reader can say on the phone: the policy's clause prefix, the local day
    the request came in, and the request id's first eight characters ("BK-20261122-A0F5515E").
    The letter prints the whole request id beside it; this only makes it easy to quote."""
    prefixes = [c.split("-")[0] for c in policy.policy.clauses]
    day = request.received_at.astimezone(_zone(policy)).strftime("%Y%m%d")
    prefix = prefixes[0] if prefixes else policy.id[:3].upper()
    return f"{prefix}-{day}-{request.id[:8].upper()}"


def _zone_note(zone: tzinfo, at: datetime, lang: Lang) -> str:
    offset = at.astimezone(zone).strftime("%z")  # "+0400"
    name = _ZONE_NAMES.get(str(zone), {}).get(lang, str(zone))
    return _word("times_note", lang, zone=name, offset=f"UTC{offset[:3]}:{offset[3:]}")


def build_letter(
    policy: Policy, answer: Answer, *, lang: str | None = None, dated: datetime | None = None
) -> Letter:
    """The letter answering a request, in `lang` (default: the request's language).

    Everything it says is named from the policy and this module in `lang`, so an answer
    given in one language is written again in another without being carried out again.
    Its date is the day the request was answered (else `dated`, else today), local time."""
    request = answer.request
    lang = check_lang(lang or request.language)
    data = answer.data
    zone = _zone(policy)
    when = request.answered_at or dated or datetime.now(UTC)
    received = request.received_at.astimezone(zone)
    reference = letter_reference(policy, request)
    meta = (
        (_word("reference", lang), reference),
        (_word("request_id", lang), request.id),
        (_word("right", lang), enum_label("RightKind", request.kind.right.value, lang)),
        (_word("received_at", lang), f"{format_date(received.date(), lang)}, "
                                     f"{received.strftime('%H:%M')}"),
        (_word("due", lang), format_date(request.due_date, lang)),
    )  # fmt: skip
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
        if any(c.startswith("missing_") for c in request.reasons):  # TX-11's details
            sections.append(
                LetterSection(_word("resubmit_title", lang), paragraphs=(_word("resubmit", lang),))
            )
    elif kind == "access":
        paragraphs.append(_word("access_intro", lang))
        if _shows_masked(policy, data):
            paragraphs.append(_word("masked_note", lang))
        sections += _access_sections(policy, data, lang, zone)
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
        paragraphs += [_word("legal_basis_intro", lang), policy.operator.law(lang)]
        sections += [_purpose_section(policy, data, lang), _recipient_section(policy, data, lang)]
    elif kind == "processing_info":
        paragraphs.append(_word("processing_intro", lang))
        sections.append(_purpose_section(policy, data, lang, roles=True))
        level = data.get("storage", {}).get("confidence_level", policy.storage.confidence_level)
        sections.append(
            LetterSection(
                message("h_storage", lang),
                items=(
                    f"{message('storage_where', lang)}: {policy.storage.location(lang)}",
                    f"{message('storage_level', lang)}: "
                    + enum_label("Sensitivity", str(level), lang),
                ),
            )
        )
        rules = {r.id: r for r in policy.retention}
        kept = [rules[r["id"]] for r in data.get("retention", []) if r["id"] in rules]
        if kept:
            sections.append(
                LetterSection(
                    message("h_retention", lang),
                    # "Registration data: destroyed irrecoverably within 24 hours …"
                    items=tuple(
                        "; ".join(policy.category(c).title(lang) for c in r.categories)
                        + ": "
                        + retention_phrase(policy, r, lang=lang)
                        for r in kept
                    ),
                )
            )
        if data.get("access_log"):
            sections.append(_log_section(policy, data["access_log"], lang, zone))
    elif kind == "sources":
        paragraphs.append(_word("sources_intro", lang))
        sections.append(
            LetterSection(
                message("h_data", lang),
                head=(message("data", lang), message("source", lang), message("legal_basis", lang)),
                rows=tuple(
                    (policy.category(s["category"]).title(lang),
                     enum_label("CategorySource", policy.category(s["category"]).source, lang),
                     "; ".join(enum_label("LegalBasis", b, lang) for b in s["legal_bases"]))
                    for s in data.get("sources", [])
                ),
            )
        )  # fmt: skip
    elif kind == "operator_info":
        paragraphs.append(_word("operator_intro", lang))
        sections.append(_purpose_section(policy, data, lang))
        level = data.get("protection_level", {}).get(
            "confidence_level", policy.storage.confidence_level
        )
        label = enum_label("Sensitivity", str(level), lang)  # "critical": a line of its own
        sections.append(
            LetterSection(_word("protection", lang), items=(label[:1].upper() + label[1:],))
        )
        sections.append(_recipient_section(policy, data, lang))
        rights = {r.kind.value: r for r in policy.requests.rights}
        sections.append(
            LetterSection(
                _word("rights", lang),
                items=tuple(
                    rights[r["kind"]].title(lang)
                    for r in data.get("rights", [])
                    if r["kind"] in rights
                ),
            )
        )
    elif kind == "rectification":
        paragraphs.append(_word("rectified", lang))
        names = sorted(
            {n for fs in data.get("rectified", {}).get("fields", {}).values() for n in fs}
        )
        if names:
            sections.append(
                LetterSection(
                    _word("rectified_fields", lang),
                    items=tuple(_field_title(policy, request, n, lang) for n in names),
                )
            )
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
    # The letter always shows a time (when the request came in): it says which time it is.
    paragraphs.append(_zone_note(zone, when, lang))
    op = policy.operator
    # The letterhead: the operator as named in the letter's language, then its contacts.
    signature = []
    for key, value in (
        ("f_address", op.address_in(lang)),
        ("f_tin", op.tin),
        ("f_phone", op.phone),
        ("f_email", op.email),
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
        operator_name=op.name_in(lang),
        signature=tuple(signature),
        date=format_date(when.astimezone(zone).date(), lang),
        reference=reference,
    )


def _field_title(policy: Policy, request: RequestRead, name: str, lang: Lang) -> str:
    """The title of a field named without its category: the request's categories first."""
    wanted = list(request.categories) or [c.id for c in policy.categories]
    for category in [*wanted, *(c.id for c in policy.categories)]:
        found = policy.category(category).field(name)
        if found is not None:
            return found.title(lang)
    return name


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def _render_html(letter: Letter) -> str:
    return _environment().get_template("letter.html.j2").render(letter=letter)


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


def _column_widths(
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    measure: Callable[[str], float],
    total: float,
    padding: float,
) -> tuple[float, ...]:
    """Column widths (mm) the way a browser lays out an automatic table: a column whose
    content fits its fair share gets just that, the others share the rest by how much they
    hold, and none is narrower than its longest word (headings' words included), so a time
    or an amount stays on one line and only text wraps. `measure` is the font's width."""
    count = len(head) if head else max(len(r) for r in rows)
    natural, minimum = [], []
    for index in range(count):
        cells = [r[index] for r in rows if index < len(r)]
        words = [w for c in cells for w in c.split()]
        # Headings are bold (about a tenth wider) and may wrap between their words.
        heading = head[index].split() if head else []
        longest = max([measure(w) for w in words] + [measure(w) * 1.1 for w in heading] + [1.0])
        natural.append(max([measure(c) for c in cells] + [longest]) + padding)
        minimum.append(longest + padding)
    if not head and count == 2:  # label (bold) and value: the label takes at most 40 %
        label = min(natural[0] * 1.1, max(minimum[0] * 1.1, total * 0.4))
        return (label, max(total - label, minimum[1]))
    widths: list[float | None] = [None] * count
    remaining, open_ = total, set(range(count))
    settled = True
    while settled and open_:
        settled = False
        fair = remaining / len(open_)
        for index in sorted(open_):
            if natural[index] <= fair:
                widths[index] = natural[index]
                remaining -= natural[index]
                open_.discard(index)
                settled = True
    share = sum(natural[i] for i in open_)
    for index in open_:
        widths[index] = max(minimum[index], remaining * natural[index] / share)
    result = [w if w is not None else 1.0 for w in widths]
    # Over the page: take the excess from what columns have above their longest word.
    excess = sum(result) - total
    spare = [max(w - m, 0.0) for w, m in zip(result, minimum, strict=True)]
    if excess > 0 and sum(spare) > 0:
        cut = min(excess, sum(spare)) / sum(spare)
        result = [w - s * cut for w, s in zip(result, spare, strict=True)]
    # fpdf2 takes them as proportions of the table's width: what is left over or under is
    # scaled to it.
    return tuple(result)


def _render_pdf(letter: Letter) -> bytes:
    """The letter laid out on A4 with fpdf2's own tables: left-aligned text, columns sized
    by their content, headings repeated on each page, the reference and page on each foot."""
    try:
        from fpdf import FPDF, FontFace
    except ImportError:  # pragma: no cover - fpdf2 is a dependency
        raise LetterUnavailable(
            "PDF letters need the fpdf2 package", hint="pip install fpdf2"
        ) from None
    regular, bold = find_fonts()

    class _Page(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", size=7)
            self.set_text_color(110)
            self.cell(0, 4, f"{letter.reference} · {self.page_no()}/{{nb}}", align="R")
            self.set_text_color(0)

    pdf = _Page(format="A4")
    pdf.set_title(letter.title)
    pdf.set_author(letter.operator_name)
    pdf.set_creator("mexfi")
    pdf.set_lang(letter.lang)
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    pdf.set_margins(18, 15, 18)
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()
    width = pdf.epw

    def write(text: str, height: float, w: float = 0, align: str = "L") -> None:
        # One block of text, left-aligned (never justified), the cursor on the next line.
        pdf.multi_cell(w, height, text, align=align, new_x="LMARGIN", new_y="NEXT")

    head_style = FontFace(emphasis="BOLD", fill_color=(236, 236, 236))
    label_style = FontFace(emphasis="BOLD")

    # Letterhead: the operator and its contacts at the left, date and reference at the right.
    top = pdf.get_y()
    pdf.set_font("DejaVu", "B", 11)
    write(letter.operator_name, 5.5, width * 0.62, "L")
    pdf.set_font("DejaVu", size=8)
    for label, value in letter.signature:
        write(f"{label}: {value}", 4, width * 0.62, "L")
    bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + width * 0.64, top)
    pdf.set_font("DejaVu", "B", 9)
    write(letter.date, 5, width * 0.36, "R")
    pdf.set_x(pdf.l_margin + width * 0.64)
    pdf.set_font("DejaVu", size=9)
    write(f"№ {letter.reference}", 5, width * 0.36, "R")
    pdf.set_y(max(bottom, pdf.get_y()) + 2)
    pdf.set_draw_color(160)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
    pdf.ln(4)

    pdf.set_font("DejaVu", "B", 14)
    write(letter.title, 7)
    pdf.ln(2)
    pdf.set_font("DejaVu", size=9)
    with pdf.table(
        col_widths=_column_widths((), letter.meta, pdf.get_string_width, width, 2.4),
        text_align="LEFT", first_row_as_headings=False,
        borders_layout="HORIZONTAL_LINES", line_height=4.6, align="LEFT",
    ) as table:  # fmt: skip
        for label, value in letter.meta:
            row = table.row()
            row.cell(label, style=label_style)
            row.cell(value)
    pdf.ln(3)
    pdf.set_font("DejaVu", size=10)
    for text in (letter.greeting, *letter.paragraphs):
        write(text, 5)
        pdf.ln(1.5)
    for section in letter.sections:
        if pdf.will_page_break(30):  # a heading never stands alone at a page's foot
            pdf.add_page()
        else:
            pdf.ln(3)
        pdf.set_font("DejaVu", "B", 12)
        write(section.title, 6)
        pdf.ln(1)
        pdf.set_font("DejaVu", size=9)
        for text in section.paragraphs:
            write(text, 4.6)
            pdf.ln(1)
        margin = pdf.l_margin
        for item in section.items:
            # A list item's lines all start under its first (the margin moves, then back).
            pdf.set_left_margin(margin + 3)
            pdf.set_x(margin + 3)
            write(f"• {item}", 4.6)
            pdf.set_left_margin(margin)
            pdf.ln(0.5)
        if not section.rows:
            continue
        columns = len(section.head)
        pdf.set_font("DejaVu", size=7 if columns > 6 else 8 if columns > 4 else 9)
        with pdf.table(
            col_widths=_column_widths(
                section.head, section.rows, pdf.get_string_width, width, 2 * 1.2 + 0.6
            ),
            text_align="LEFT",
            v_align="TOP",
            first_row_as_headings=bool(section.head),
            headings_style=head_style,
            borders_layout="HORIZONTAL_LINES",
            line_height=pdf.font_size * 1.35,
            padding=(0.8, 1.2),
            align="LEFT",
        ) as table:
            if section.head:
                table.row(list(section.head))
            for cells in section.rows:
                row = table.row()
                for index, cell in enumerate(cells):
                    row.cell(cell, style=label_style if not section.head and index == 0 else None)
    pdf.ln(6)
    pdf.set_font("DejaVu", size=10)
    write(letter.closing, 5)
    pdf.set_font("DejaVu", "B", 10)
    write(letter.operator_name, 5)
    return bytes(pdf.output())


def render_letter(
    policy: Policy,
    answer: Answer,
    *,
    format: str = "html",
    lang: str | None = None,
    dated: datetime | None = None,
) -> str | bytes:
    """The answer's letter as HTML text or PDF bytes, in `lang` (default: the request's)."""
    letter = build_letter(policy, answer, lang=lang, dated=dated)
    if format == "html":
        return _render_html(letter)
    if format == "pdf":
        return _render_pdf(letter)
    from mexfi.errors import Invalid

    raise Invalid(f"unknown letter format {format!r}; formats: html, pdf")


def answer_from_export(request: RequestRead, data: Mapping[str, Any] | None) -> Answer:
    """The answer a JSON answer file holds, checked against the request it claims to answer:
    what a letter in another language is written from, nothing carried out again.

    `data` is the parsed file `requests answer` wrote; None for a request refused without
    one (a refusal is written from the request's reasons alone)."""
    from mexfi.requests.errors import InvalidRequest, RequestStateConflict
    from mexfi.requests.schemas import Answer, RequestState

    if request.state not in (RequestState.ANSWERED, RequestState.REJECTED):
        raise RequestStateConflict(
            f"request {request.id!r} is {request.state.value}: it has no answer to write a "
            "letter from",
            hint=f"answer it first: mexfi requests answer {request.id}",
        )
    if data is None:
        if request.state is RequestState.ANSWERED:
            raise InvalidRequest(
                f"request {request.id!r} is answered: its letter is written from the JSON "
                "answer `requests answer` wrote",
                hint=f"give --answer PATH/{request.id}.json, or --out the directory holding it",
            )
        return Answer(request=request, data={})
    header = data.get("request")
    claimed = header.get("id") if isinstance(header, Mapping) else data.get("request_id")
    if claimed != request.id or data.get("request_id", request.id) != request.id:
        raise InvalidRequest(
            f"the answer file answers request {claimed!r}, not {request.id!r}",
            hint=f"give the file `requests answer {request.id}` wrote ({request.id}.json)",
        )
    policy = data.get("policy")
    if isinstance(policy, Mapping) and policy.get("id") != request.policy_id:
        raise InvalidRequest(
            f"the answer file is under policy {policy.get('id')!r}; request {request.id!r} is "
            f"under {request.policy_id!r}",
            hint=f"give the file `requests answer {request.id}` wrote ({request.id}.json)",
        )
    return Answer(request=request, data=dict(data))
