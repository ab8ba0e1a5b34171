"""The privacy notice renderer: every policy, language and format; escaping; wording."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mexfi.cli.app import app
from mexfi.errors import Invalid
from mexfi.policy.i18n import ENUM_LABELS, MESSAGES, duration_words, format_date, ru_plural
from mexfi.policy.loader import load_policy, parse_policy
from mexfi.policy.render import render_notice, retention_phrase
from mexfi.policy.schema import Lang, Policy

REPO = Path(__file__).resolve().parents[2]
MINIMAL = REPO / "tests" / "fixtures" / "policies" / "minimal.yaml"
BUNDLED = sorted((REPO / "policies").glob("*.yaml"))
POLICIES = [MINIMAL, *BUNDLED]
LANGS: tuple[Lang, ...] = ("az", "en", "ru")
FORMATS = ("md", "html")


def _bundled(name: str) -> Policy:
    path = REPO / "policies" / name
    if not path.exists():
        pytest.skip(f"policies/{name} is not written yet")
    return load_policy(path)


def _plain(text: str, format: str) -> str:
    """What a reader sees: tags and escapes removed."""
    if format == "html":
        return html.unescape(re.sub(r"<[^>]+>", "", text))
    return re.sub(r"\\([\\`*_\[\]<>|~&#+=\-.)])", r"\1", text)


@pytest.fixture(scope="module", params=POLICIES, ids=lambda p: p.stem)
def policy(request: pytest.FixtureRequest) -> Policy:
    return load_policy(request.param)


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("lang", LANGS)
def test_notice_cites_every_clause_and_names_the_operator(
    policy: Policy, lang: str, format: str
) -> None:
    text = render_notice(policy, lang=lang, format=format)
    seen = _plain(text, format)
    cited = set(re.findall(r"[A-Z]{2,6}-\d+(?:\.\d+)*", seen))
    assert policy.cited_clauses() <= cited, sorted(policy.cited_clauses() - cited)
    operator = policy.operator
    for value in (operator.name, operator.tin, operator.email, operator.phone, operator.website):
        if value:
            assert value in seen
    assert policy.policy.service(lang) in seen  # type: ignore[arg-type]
    assert policy.policy.version in seen


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("lang", LANGS)
def test_notice_leaks_no_placeholder_or_none(policy: Policy, lang: str, format: str) -> None:
    text = render_notice(policy, lang=lang, format=format)
    for leak in ("{{", "}}", "{%", "%}", "{#", "None", "Undefined"):
        assert leak not in text
    assert not re.search(r"\{[a-z_]+\}", text), "an unfilled {slot} of a fixed sentence"
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_notice_is_deterministic(policy: Policy) -> None:
    for format in FORMATS:
        assert render_notice(policy, lang="az", format=format) == render_notice(
            policy, lang="az", format=format
        )


# --------------------------------------------------------------------------- no English


def _english_phrases() -> list[str]:
    phrases = [words["en"] for words in MESSAGES.values()]
    phrases += [words["en"] for labels in ENUM_LABELS.values() for words in labels.values()]
    # Slots are filled in; keep the fixed text around them.
    parts = [p for phrase in phrases for p in re.split(r"\{[a-z_]+\}", phrase)]
    return sorted({p.strip(" .,:;") for p in parts if len(p.strip(" .,:;").split()) >= 2})


ENGLISH_HEADINGS = [words["en"] for key, words in MESSAGES.items() if key.startswith("h_")]


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("lang", ["az", "ru"])
def test_az_and_ru_notices_carry_no_english_wording(policy: Policy, lang: str, format: str) -> None:
    text = render_notice(policy, lang=lang, format=format)
    seen = _plain(text, format)
    if format == "md":
        headings = [line for line in text.splitlines() if line.startswith("#")]
    else:
        headings = re.findall(r"<h[1-6]>(.*?)</h[1-6]>|<th[^>]*>(.*?)</th>|<title>(.*?)<", text)
        headings = [_plain("".join(h), "html") for h in headings]
    assert headings
    # Policy text may use a word such as "Operator" (az); headings are fixed wording only.
    for heading in [*ENGLISH_HEADINGS, "Privacy notice", "Version", "Contents", "Item"]:
        pattern = rf"\b{re.escape(heading)}\b"
        assert not any(re.search(pattern, h) for h in headings), heading
    for phrase in _english_phrases():
        assert phrase not in seen, phrase


def test_every_fixed_wording_is_in_three_languages() -> None:
    tables = [MESSAGES, *ENUM_LABELS.values()]
    for table in tables:
        for key, words in table.items():
            assert set(words) == set(LANGS), key
            assert all(words[lang].strip() for lang in LANGS), key
            slots = {lang: set(re.findall(r"\{[a-z_]+\}", words[lang])) for lang in LANGS}
            assert slots["az"] == slots["en"] == slots["ru"], key


# --------------------------------------------------------------------------- durations, dates


@pytest.mark.parametrize(
    ("count", "unit", "expected"),
    [
        (1, "y", "1 год"),
        (2, "y", "2 года"),
        (5, "y", "5 лет"),
        (24, "h", "24 часа"),
        (23, "h", "23 часа"),
        (21, "h", "21 час"),
        (11, "h", "11 часов"),
        (12, "mo", "12 месяцев"),
        (1, "w", "1 неделя"),
        (7, "working_days", "7 рабочих дней"),
        (1, "working_days", "1 рабочий день"),
        (3, "working_days", "3 рабочих дня"),
        (101, "d", "101 день"),
        (111, "d", "111 дней"),
    ],
)
def test_ru_duration_forms(count: int, unit: str, expected: str) -> None:
    assert duration_words(count, unit, "ru") == expected


def test_ru_duration_cases() -> None:
    assert duration_words(24, "h", "ru", case="gen") == "24 часов"
    assert duration_words(1, "y", "ru", case="gen") == "1 года"
    assert duration_words(21, "h", "ru", case="gen") == "21 часа"
    assert duration_words(7, "working_days", "ru", case="gen") == "7 рабочих дней"
    assert duration_words(1, "w", "ru", case="acc") == "1 неделю"
    assert duration_words(1, "y", "ru", case="acc") == "1 год"


def test_ru_plural_categories() -> None:
    expected = {0: "many", 1: "one", 2: "few", 4: "few", 5: "many", 11: "many", 12: "many",
                14: "many", 21: "one", 22: "few", 25: "many", 101: "one", 111: "many"}  # fmt: skip
    assert {n: ru_plural(n) for n in expected} == expected


def test_az_durations_take_no_plural() -> None:
    assert duration_words(24, "h", "az") == "24 saat"
    assert duration_words(1, "y", "az") == "1 il"
    assert duration_words(7, "working_days", "az") == "7 iş günü"


def test_en_durations_agree_in_number() -> None:
    assert duration_words(1, "y", "en") == "1 year"
    assert duration_words(24, "h", "en") == "24 hours"
    assert duration_words(1, "working_days", "en") == "1 working day"
    assert duration_words(7, "working_days", "en") == "7 working days"


def test_duration_rejects_unknown_unit_and_language() -> None:
    with pytest.raises(Invalid, match="allowed"):
        duration_words(1, "fortnight", "en")
    with pytest.raises(Invalid, match="az, en, ru"):
        duration_words(1, "h", "de")


def test_dates_in_words() -> None:
    from datetime import date

    day = date(2025, 3, 8)
    assert format_date(day, "az") == "8 mart 2025"
    assert format_date(day, "en") == "8 March 2025"
    assert format_date(day, "ru") == "8 марта 2025 г."


def test_retention_phrases_of_minimal_policy() -> None:
    policy = load_policy(MINIMAL)
    rule = policy.retention[0]
    assert retention_phrase(policy, rule, lang="en") == (
        "destroyed irrecoverably 1 year after collection"
    )
    assert retention_phrase(policy, rule, lang="az") == (
        "toplandığı andan 1 il sonra bərpası imkanı olmadan məhv edilir"
    )
    assert retention_phrase(policy, rule, lang="ru") == (
        "безвозвратно уничтожаются через 1 год после сбора"
    )


# --------------------------------------------------------------------------- the originals


def test_tx_7_7_taxsee_az_notice_reads_like_the_original() -> None:
    policy = _bundled("taxsee-driver.yaml")
    text = _plain(render_notice(policy, lang="az", format="md"), "md")
    for phrase in (
        "Məxfilik siyasəti",
        "Hüquq sahibi",
        "Fərdi məlumatlar",
        "qeydiyyat anından 24 saat ərzində bərpası imkanı olmadan məhv edilir",
        "7 iş günü",
        "Kuki faylları",
        "Geolokasiya məlumatları",
        "Azərbaycan Respublikasının",
        "sifarişli poçt göndərişi ilə",
    ):
        assert phrase in text, phrase


def test_tx_7_7_taxsee_retention_in_three_languages() -> None:
    policy = _bundled("taxsee-driver.yaml")
    rule = next(r for r in policy.retention if r.action.value == "destroy")
    assert "24 hours of registration" in retention_phrase(policy, rule, lang="en")
    assert "в течение 24 часов с момента регистрации" in retention_phrase(policy, rule, lang="ru")


def test_bk_3_3_bakikart_passive_storage_in_words() -> None:
    policy = _bundled("bakikart.yaml")
    rule = next(r for r in policy.retention if r.action.value == "passive")
    assert retention_phrase(policy, rule, lang="en") == (
        "moved to passive storage 1 year after collection"
    )
    assert "через 1 год после сбора" in retention_phrase(policy, rule, lang="ru")
    assert "1 il sonra passiv saxlanmaya keçirilir" in retention_phrase(policy, rule, lang="az")


def test_bk_1_1_bakikart_operator_identity_on_the_notice() -> None:
    policy = _bundled("bakikart.yaml")
    for lang in LANGS:
        text = _plain(render_notice(policy, lang=lang, format="html"), "html")
        for value in ('"K Group" LLC', "1402954871", "info@bakikart.az", "*4343", "AZ1065"):
            assert value in text


# --------------------------------------------------------------------------- HTML


class _TagBalance(HTMLParser):
    VOID = frozenset({"meta", "br", "hr", "img", "link", "input", "wbr", "col", "source"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.seen: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.add(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else '-'}>")
            return
        self.stack.pop()


@pytest.mark.parametrize("lang", LANGS)
def test_html_is_a_balanced_standalone_document(policy: Policy, lang: str) -> None:
    text = render_notice(policy, lang=lang, format="html")
    assert text.startswith("<!doctype html>\n")
    assert f'<html lang="{lang}">' in text
    assert '<meta charset="utf-8">' in text
    parser = _TagBalance()
    parser.feed(text)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    assert {"html", "head", "title", "style", "body", "h1", "h2", "table", "ul"} <= parser.seen
    assert '<span class="clauses">[' in text


# --------------------------------------------------------------------------- escaping


def _hostile_policy() -> Policy:
    data = yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))
    evil = "<script>alert(1)</script> a | b *x* [y](z) _u_"
    data["categories"][0]["title"] = {"az": evil, "en": evil, "ru": evil}
    data["requests"]["how_to"] = {"az": "# heading?", "en": "1. list?", "ru": "- item?"}
    return parse_policy(yaml.safe_dump(data, allow_unicode=True), file="hostile.yaml")


def test_html_escapes_policy_text() -> None:
    text = render_notice(_hostile_policy(), lang="en", format="html")
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_markdown_escapes_policy_text_and_keeps_tables_whole() -> None:
    text = render_notice(_hostile_policy(), lang="en", format="md")
    assert "<script>" not in text
    assert r"\<script\>" in text
    assert r"a \| b \*x\* \[y\](z) \_u\_" in text
    assert "\n1\\. list?" in text
    for line in text.splitlines():
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line)
            header = text.splitlines()[text.splitlines().index(line)]
            assert len(cells) >= 3, header
    # Every row of a table has as many cells as its header.
    blocks = re.findall(r"((?:^\|.*\n)+)", text, flags=re.M)
    assert blocks
    for block in blocks:
        widths = {len(re.split(r"(?<!\\)\|", row)) for row in block.splitlines()}
        assert len(widths) == 1, block


def test_unknown_language_or_format_is_invalid() -> None:
    policy = load_policy(MINIMAL)
    with pytest.raises(Invalid, match="az, en, ru"):
        render_notice(policy, lang="de", format="md")
    with pytest.raises(Invalid, match="md, html"):
        render_notice(policy, lang="en", format="pdf")


# --------------------------------------------------------------------------- CLI


def test_cli_render_writes_the_notice(tmp_path: Path) -> None:
    out = tmp_path / "notice" / "scooter.az.html"
    result = CliRunner().invoke(
        app,
        ["policy", "render", str(MINIMAL), "--lang", "az", "--format", "html", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text == render_notice(load_policy(MINIMAL), lang="az", format="html")
    assert '<html lang="az">' in text
    assert not out.with_name(out.name + ".partial").exists()
