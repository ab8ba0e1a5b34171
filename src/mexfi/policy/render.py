"""The human-readable privacy notice of a policy, in Markdown or HTML.

`render_notice` first builds the notice as plain data (sections of paragraphs,
lists and tables, in one language, every statement carrying the clause ids it
comes from), then hands it to a Jinja2 template per format. The content is thus
decided once, here, and the Markdown and HTML notices say the same thing.

Policy texts are escaped for the target format: HTML by Jinja's autoescape,
Markdown by the `md` filter, which also keeps a text from breaking a table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jinja2
from markupsafe import Markup

from mexfi.errors import Invalid
from mexfi.policy.i18n import (
    check_lang,
    duration_words,
    enum_label,
    format_date,
    jurisdiction_name,
    message,
)
from mexfi.policy.schema import (
    Category,
    ClaimKind,
    DeadlineUnit,
    Element,
    FieldType,
    Lang,
    Policy,
    RetentionAction,
    RetentionRule,
    Text,
)

__all__ = [
    "FORMATS",
    "Block",
    "Notice",
    "Section",
    "Span",
    "build_notice",
    "render_notice",
    "retention_phrase",
]

FORMATS: tuple[str, ...] = ("md", "html")

_TEMPLATES = Path(__file__).parent / "templates"

#: Field types that make a category payment data (TX-14, TX-16).
_PAYMENT_TYPES = frozenset(
    {
        FieldType.CARD_TOKEN,
        FieldType.CARD_LAST4,
        FieldType.PAYMENT_CARD_NUMBER,
        FieldType.IBAN,
        FieldType.BIC,
    }
)

# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Span:
    """A piece of running text: plain, emphasised, or a clause citation."""

    kind: Literal["text", "strong", "clauses"]
    text: str = ""
    clauses: tuple[str, ...] = ()


Inline = tuple[Span, ...]


@dataclass(frozen=True)
class Block:
    """A paragraph, a list, a label/value list, a table, or a subsection."""

    kind: Literal["para", "items", "fields", "table", "sub"]
    inline: Inline = ()
    items: tuple[Inline, ...] = ()
    head: tuple[str, ...] = ()
    rows: tuple[tuple[Inline, ...], ...] = ()
    title: str = ""
    clauses: tuple[str, ...] = ()
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True)
class Section:
    key: str
    number: int
    title: str
    clauses: tuple[str, ...]
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Notice:
    """A notice in one language, before it is given a format."""

    lang: Lang
    title: str
    subtitle: Inline
    preamble: tuple[Inline, ...]
    contents: str
    sections: tuple[Section, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------- inline helpers

InlinePart = str | Span | None


def _inline(*parts: InlinePart) -> Inline:
    """Running text from strings and spans; a citation gets a space before it."""
    spans: list[Span] = []
    for part in parts:
        if part is None or part == "":
            continue
        if isinstance(part, str):
            spans.append(Span("text", part))
        elif part.kind == "clauses":
            if not part.clauses:
                continue
            if spans:
                spans.append(Span("text", " "))
            spans.append(part)
        else:
            spans.append(part)
    return tuple(spans)


def _strong(text: str) -> Span:
    return Span("strong", text)


def _cite(*sources: Element | Iterable[str] | None) -> Span:
    return Span("clauses", clauses=_clauses(*sources))


def _clauses(*sources: Element | Iterable[str] | None) -> tuple[str, ...]:
    """The clause ids of elements (or id lists), once each, in document order."""
    seen: set[str] = set()
    for source in sources:
        if source is None:
            continue
        seen.update(source.clauses if isinstance(source, Element) else source)
    return tuple(sorted(seen, key=_clause_order))


def _clause_order(clause: str) -> tuple[str, tuple[int, ...]]:
    """Document order: TX-1.7 < TX-1.10 < TX-2 < TX-7.7."""
    prefix, _, number = clause.partition("-")
    return prefix, tuple(int(part) for part in number.split("."))


def _para(*parts: InlinePart) -> Block:
    return Block("para", inline=_inline(*parts))


def _items(items: Iterable[Inline]) -> Block:
    return Block("items", items=tuple(items))


def _sub(title: str, clauses: Sequence[str], blocks: Iterable[Block]) -> Block:
    return Block("sub", title=title, clauses=_clauses(clauses), blocks=tuple(blocks))


# --------------------------------------------------------------------------- building

_Built = tuple[tuple[str, ...], list[Block]] | None
"""A section's clause ids and blocks, or None when the policy has nothing for it."""


class _Builder:
    """Builds the notice of one policy in one language."""

    def __init__(self, policy: Policy, lang: Lang) -> None:
        self.policy = policy
        self.lang = lang

    # small lookups -----------------------------------------------------------

    def m(self, key: str, **slots: str) -> str:
        return message(key, self.lang, **slots)

    def t(self, text: Text) -> str:
        return text(self.lang)

    def e(self, enum_name: str, value: str) -> str:
        return enum_label(enum_name, value, self.lang)

    def yes_no(self, value: bool) -> str:
        return self.m("yes" if value else "no")

    def categories(self, ids: Iterable[str]) -> str:
        # Titles may hold commas ("Soyadı, adı, atasının adı"): join with semicolons.
        return "; ".join(self.t(self.policy.category(i).title) for i in ids)

    def purposes(self, ids: Iterable[str]) -> str:
        return "; ".join(self.t(self.policy.purpose(i).title) for i in ids)

    def aside(self, key: str, category_ids: Iterable[str]) -> str:
        """ " (titles)" naming categories in a sentence, unless the sentence already does."""
        titles = self.categories(category_ids)
        if titles.casefold() in self.m(key, data="", window="", derives="").casefold():
            return ""
        return f" ({_decapitalize(titles)})"

    # the notice --------------------------------------------------------------

    def build(self) -> Notice:
        info = self.policy.policy
        service = self.t(info.service)
        version = self.m(
            "version_line", version=info.version, date=format_date(info.effective, self.lang)
        )
        preamble = [_inline(self.m("generated_note", id=info.id, version=info.version))]
        original = self.m(f"original_{info.language}")
        if info.url:
            preamble.append(
                _inline(original, " ", _strong(self.m("original_at") + ":"), " ", info.url)
            )
        else:
            preamble.append(_inline(original))
        builders = [
            ("operator", self.operator),
            ("data", self.data),
            ("purposes", self.purposes_section),
            ("access", self.access),
            ("storage", self.storage),
            ("retention", self.retention),
            ("recipients", self.recipients),
            ("geolocation", self.geolocation),
            ("mobile_operator", self.mobile_operator),
            ("payments", self.payments),
            ("claims", self.claims),
            ("cookies", self.cookies),
            ("notifications", self.notifications),
            ("rights", self.rights),
            ("consent", self.consent),
        ]
        sections: list[Section] = []
        for key, build in builders:
            built = build()
            if built is None:
                continue
            clauses, blocks = built
            sections.append(
                Section(key, len(sections) + 1, self.m(f"h_{key}"), clauses, tuple(blocks))
            )
        return Notice(
            lang=self.lang,
            title=f"{service} — {self.m('notice')}",
            subtitle=_inline(version, _cite(info)),
            preamble=tuple(preamble),
            contents=self.m("contents"),
            sections=tuple(sections),
        )

    def operator(self) -> _Built:
        op = self.policy.operator
        rows: list[tuple[str, str]] = [("f_name", op.name)]
        for key, value in (
            ("f_tin", op.tin),
            ("f_address", op.address),
            ("f_email", op.email),
            ("f_phone", op.phone),
            ("f_website", op.website),
        ):
            if value:
                rows.append((key, value))
        rows.append(("f_law", self.t(op.law)))
        table = Block("fields", rows=tuple((_inline(self.m(k)), _inline(v)) for k, v in rows))
        return _clauses(op), [_para(self.m("operator_intro")), table]

    def data(self) -> _Built:
        blocks = [_para(self.m("data_intro"))]
        for subject in self.policy.subjects:
            inner = [self.category(c) for c in self.policy.categories_of(subject.id)]
            if inner:
                blocks.append(_sub(self.t(subject.title), subject.clauses, inner))
        cited = _clauses(*self.policy.subjects, *self.policy.categories)
        return cited, blocks

    def category(self, category: Category) -> Block:
        facts = []
        # Whether to hand data over is the user's choice only for what the user types in.
        if category.mandatory or category.source == "subject":
            facts.append(_inline(self.m("mandatory" if category.mandatory else "optional")))
        facts += [
            _inline(self.m("personal_yes" if category.personal else "personal_no")),
            _inline(
                _strong(self.m("sensitivity") + ":"),
                " ",
                self.e("Sensitivity", category.sensitivity.value),
            ),
            _inline(
                _strong(self.m("source") + ":"), " ", self.e("CategorySource", category.source)
            ),
        ]
        table = Block(
            "table",
            head=(self.m("field"), self.m("field_required")),
            rows=tuple(
                (_inline(self.t(f.title)), _inline(self.yes_no(f.required)))
                for f in category.fields
            ),
        )
        return _sub(self.t(category.title), category.clauses, [_items(facts), table])

    def purposes_section(self) -> _Built:
        rows = []
        for purpose in self.policy.purposes:
            notes = []
            if purpose.exclusive:
                notes.append(self.m("exclusive"))
            if purpose.requires_active_order:
                notes.append(self.m("active_order"))
            if purpose.allowed_when_blocked:
                notes.append(self.m("when_blocked"))
            if purpose.reaches_passive_tier:
                notes.append(self.m("passive_tier"))
            title = self.t(purpose.title)
            if notes:
                title += " (" + "; ".join(notes) + ")"
            rows.append(
                (
                    _inline(title, _cite(purpose)),
                    _inline(self.e("LegalBasis", purpose.legal_basis.value)),
                    _inline(self.categories(purpose.categories)),
                    _inline("; ".join(self.t(self.policy.role(r).title) for r in purpose.roles)),
                )
            )
        table = Block(
            "table",
            head=(self.m("purpose"), self.m("legal_basis"), self.m("data"), self.m("access")),
            rows=tuple(rows),
        )
        return _clauses(*self.policy.purposes), [_para(self.m("purposes_intro")), table]

    def access(self) -> _Built:
        items = []
        for role in self.policy.roles:
            used_for = [p.id for p in self.policy.purposes if role.id in p.roles]
            text = self.e("RoleKind", role.kind.value)
            if used_for:
                text += f"; {self.m('purposes').lower()}: {self.purposes(used_for)}"
            items.append(_inline(_strong(self.t(role.title)), " — ", text, _cite(role)))
        return _clauses(*self.policy.roles), [_para(self.m("access_intro")), _items(items)]

    def storage(self) -> _Built:
        storage = self.policy.storage
        rows = (
            (_inline(self.m("storage_where")), _inline(self.t(storage.location))),
            (
                _inline(self.m("storage_level")),
                _inline(self.e("Sensitivity", storage.confidence_level.value)),
            ),
            (_inline(self.m("storage_encrypted")), _inline(self.yes_no(storage.encrypted_at_rest))),
        )
        return _clauses(storage), [Block("fields", rows=rows), _para(self.m("storage_processing"))]

    def retention_phrase(self, rule: RetentionRule) -> str:
        """When and what, in words: "destroyed irrecoverably within 24 hours of registration"."""
        action = self.e("RetentionAction", rule.action.value)
        trigger = self.e("RetentionTrigger", rule.trigger.value)
        if rule.deadline is not None:
            duration = duration_words(
                rule.deadline.count, rule.deadline.unit, self.lang, case="gen"
            )
            return self.m("retention_within", action=action, duration=duration, trigger=trigger)
        if rule.after.count == 0:
            return self.m("retention_immediately", action=action, trigger=trigger)
        duration = duration_words(rule.after.count, rule.after.unit, self.lang, case="acc")
        return self.m("retention_after", action=action, duration=duration, trigger=trigger)

    def retention(self) -> _Built:
        rules = self.policy.retention
        if not rules:
            return (), [_para(self.m("retention_none"))]
        items = [
            _inline(
                _strong(self.t(rule.title)),
                " — ",
                f"{self.categories(rule.categories)}: {self.retention_phrase(rule)}.",
                _cite(rule),
            )
            for rule in rules
        ]
        blocks = [_items(items)]
        if any(rule.action is RetentionAction.PASSIVE for rule in rules):
            reaching = [p.id for p in self.policy.purposes if p.reaches_passive_tier]
            if reaching:
                blocks.append(_para(self.m("passive_note", purposes=self.purposes(reaching))))
            else:
                blocks.append(_para(self.m("passive_note_none")))
        return _clauses(*rules), blocks

    def recipients(self) -> _Built:
        recipients = self.policy.recipients
        if not recipients:
            return (), [_para(self.m("recipients_none"))]
        rows = []
        for recipient in recipients:
            basis = self.e("RecipientBasis", recipient.basis.value)
            if recipient.condition == "active_order":
                basis += f"; {self.m('active_order')}"
            rows.append(
                (
                    _inline(
                        _strong(self.t(recipient.title)),
                        f" ({self.e('RecipientKind', recipient.kind.value)})",
                        _cite(recipient),
                    ),
                    _inline(self.categories(recipient.categories)),
                    _inline(self.purposes(recipient.purposes)),
                    _inline(basis),
                )
            )
        table = Block(
            "table",
            head=(
                self.m("recipient_kind"),
                self.m("data"),
                self.m("purposes"),
                self.m("basis"),
            ),
            rows=tuple(rows),
        )
        return _clauses(*recipients), [_para(self.m("recipients_intro")), table]

    def geolocation(self) -> _Built:
        geo = self.policy.geolocation
        if geo is None:
            return None
        sentence = self.m(
            "geo_sentence",
            data=self.aside("geo_sentence", geo.categories),
            window=self.m(f"geo_{geo.window}"),
        )
        switch = self.m("geo_switch_off" if geo.subject_can_switch_off else "geo_no_switch_off")
        return _clauses(geo), [_para(sentence), _para(switch)]

    def mobile_operator(self) -> _Built:
        mobile = self.policy.mobile_operator
        if mobile is None:
            return None
        derives = ", ".join(self.m(f"derive_{d}") for d in mobile.derives)
        sentence = self.m(
            "mobile_sentence",
            data=self.aside("mobile_sentence", [mobile.category]),
            derives=derives,
        )
        return _clauses(mobile), [_para(sentence)]

    def payments(self) -> _Built:
        claims = [c for c in self.policy.claims if c.kind is ClaimKind.CARD_DATA_INACCESSIBLE]
        categories = [
            c
            for c in self.policy.categories
            if any(f.type in _PAYMENT_TYPES for f in c.fields)
            or c.fides_category.startswith(("user.financial", "user.payment"))
        ]
        if not claims and not categories:
            return None
        blocks = [_para(_sentence(self.t(claim.statement)), _cite(claim)) for claim in claims]
        if categories:
            blocks.append(_para(_strong(self.m("payments_data") + ":")))
            blocks.append(_items(_inline(self.t(c.title), _cite(c)) for c in categories))
        return _clauses(*claims, *categories), blocks

    def claims(self) -> _Built:
        claims = [c for c in self.policy.claims if c.kind is not ClaimKind.CARD_DATA_INACCESSIBLE]
        if not claims:
            return None
        return _clauses(*claims), [_para(_sentence(self.t(c.statement)), _cite(c)) for c in claims]

    def cookies(self) -> _Built:
        cookies = self.policy.cookies
        if not cookies:
            return None
        items = []
        for cookie in cookies:
            notes = [self.m("cookie_consent" if cookie.consent_required else "cookie_no_consent")]
            if cookie.third_party:
                notes.append(self.m("cookie_third_party"))
            items.append(
                _inline(
                    _strong(self.t(cookie.title)),
                    " — ",
                    _end_sentence(self.t(cookie.description)),
                    " ",
                    _capitalize("; ".join(notes)) + ".",
                    _cite(cookie),
                )
            )
        blocks = [_items(items)]
        if any(c.consent_required for c in cookies):
            blocks.append(_para(self.m("cookies_intro")))
        return _clauses(*cookies), blocks

    def notifications(self) -> _Built:
        notifications = self.policy.notifications
        if not notifications:
            return None
        items = []
        for notification in notifications:
            if notification.default_on:
                state = self.m("notif_default_on")
            elif notification.opt_in_required:
                state = self.m("notif_opt_in")
            else:
                state = self.m("notif_default_off")
            items.append(
                _inline(
                    _strong(self.t(notification.title)), " — ", state + ".", _cite(notification)
                )
            )
        return _clauses(*notifications), [_items(items)]

    def rights(self) -> _Built:
        requests = self.policy.requests
        rights = _items(
            _inline(
                _strong(self.e("RightKind", right.kind.value) + "."),
                " ",
                self.t(right.title),
                _cite(right),
            )
            for right in requests.rights
        )
        how: list[Block] = [_para(_sentence(self.t(requests.how_to)))]
        channels = "; ".join(self.e("RequestChannel", c.value) for c in requests.channels)
        how.append(_para(_strong(self.m("channels") + ":"), " ", channels + "."))
        if requests.written_requirements:
            how.append(_para(self.m("requirements_intro")))
            needs = [self.e("RequestRequirement", r.value) for r in requests.written_requirements]
            how.append(
                _items(
                    _inline(need + ("." if i == len(needs) - 1 else ";"))
                    for i, need in enumerate(needs)
                )
            )
        deadline = requests.deadline
        duration = duration_words(deadline.count, deadline.unit.value, self.lang, case="gen")
        sentence = self.m("deadline_sentence", duration=duration)
        if deadline.unit is DeadlineUnit.WORKING_DAYS:
            country = jurisdiction_name(deadline.jurisdiction, self.lang)
            sentence += " " + self.m("working_days_calendar", country=country)
        how.append(_para(sentence))
        blocks = [
            _para(self.m("rights_intro")),
            rights,
            _sub(self.m("h_how_to"), requests.clauses, how),
        ]
        return _clauses(requests, *requests.rights), blocks

    def consent(self) -> _Built:
        consent = self.policy.consent
        text = " ".join(
            (
                self.m(f"acceptance_{consent.acceptance.value}"),
                self.m(f"recorded_{consent.recorded_at}"),
                self.m(f"changes_{consent.changes_take_effect}"),
            )
        )
        return _clauses(consent), [_para(text)]


def _capitalize(text: str) -> str:
    first_word = text.split(" ", 1)[0]
    if "@" in first_word or "://" in first_word:  # an address is written as it is
        return text
    return text[:1].upper() + text[1:]


def _decapitalize(text: str) -> str:
    """A title inside a sentence: "Geolokasiya məlumatları" -> "geolokasiya məlumatları".

    Left alone when the first word has capitals inside (a name such as "BakıKart").
    """
    first_word = text.split(" ", 1)[0]
    if len(first_word) < 2 or first_word[1:] != first_word[1:].lower():
        return text
    return text[:1].lower() + text[1:]


def _end_sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _sentence(text: str) -> str:
    """A policy text as a sentence of its own: capitalised, with a full stop."""
    return _end_sentence(_capitalize(text))


def retention_phrase(policy: Policy, rule: RetentionRule, *, lang: str) -> str:
    """What a retention rule does, in words: "destroyed irrecoverably within 24 hours of
    registration", "toplandığı andan 1 il sonra passiv saxlanmaya keçirilir"."""
    return _Builder(policy, check_lang(lang)).retention_phrase(rule)


def build_notice(policy: Policy, *, lang: str) -> Notice:
    """The notice of `policy` in `lang`, as data."""
    return _Builder(policy, check_lang(lang)).build()


# --------------------------------------------------------------------------- formatting

_MD_ESCAPE = re.compile(r"([\\`*_\[\]<>|~&])")
_MD_LINE_START = re.compile(r"^(\d+)([.)])|^([-+=#>])")


def _md(value: Any) -> str:
    """Policy text made inert in Markdown: one line, no emphasis, links, HTML or table cells."""
    text = re.sub(r"\s+", " ", str(value))
    text = _MD_ESCAPE.sub(r"\\\1", text)
    # A text that opens a line must not open a list, a heading or a quote.
    return _MD_LINE_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text)


def _cite_md(clauses: Sequence[str]) -> str:
    return f"[{', '.join(clauses)}]" if clauses else ""


def _cite_html(clauses: Sequence[str]) -> Markup:
    if not clauses:
        return Markup("")
    return Markup('<span class="clauses">[{}]</span>').format(", ".join(clauses))


def _no_none(value: Any) -> Any:
    # A `None` reaching the output is a bug in this module, never something to print.
    if value is None:
        raise Invalid("a notice template printed an empty value (None)")
    return value


@cache
def _environment(format: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=format == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_no_none,
    )
    env.filters["md"] = _md
    env.globals["cite"] = _cite_html if format == "html" else _cite_md
    return env


def render_notice(policy: Policy, *, lang: str, format: str) -> str:
    """The privacy notice of `policy` in `lang` (az, en, ru) as `format` (md, html)."""
    if format not in FORMATS:
        raise Invalid(f"unknown notice format {format!r}; allowed: {', '.join(FORMATS)}")
    notice = build_notice(policy, lang=lang)
    template = _environment(format).get_template(f"notice.{format}.j2")
    text = template.render(notice=notice)
    # Templates leave runs of blank lines where optional parts are absent.
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
