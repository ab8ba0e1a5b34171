"""The pages' words: every key in az, en and ru with the same slots, none defined twice, every
key a template names defined; the language a browser asks for."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from mexfi.web import i18n
from mexfi.web.i18n import LANGS, STRINGS, accepted_lang, translate
from mexfi.web.pages import TEMPLATES

_KEY = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']""")


def _slots(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_each_language_with_the_same_slots() -> None:
    for key, words in STRINGS.items():
        assert set(words) == set(LANGS), key
        assert all(words[lang].strip() for lang in LANGS), key
        assert _slots(words["az"]) == _slots(words["en"]) == _slots(words["ru"]), key


def test_no_key_is_defined_twice() -> None:
    tree = ast.parse(Path(i18n.__file__).read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key in node.keys:
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    continue
                if "." in key.value:
                    assert key.value not in seen, f"{key.value} defined twice"
                    seen[key.value] = key.lineno


def test_every_key_a_template_names_is_defined() -> None:
    named = {
        key
        for path in TEMPLATES.rglob("*.html")
        for key in _KEY.findall(path.read_text(encoding="utf-8"))
        if not key.endswith((".", "_"))  # a prefix of keys made in the template
    }
    assert named, "no template names a key"
    assert sorted(named - set(STRINGS)) == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ru-RU,ru;q=0.9,en;q=0.8", "ru"),
        ("de-DE,de;q=0.9,en;q=0.5,az;q=0.7", "az"),
        ("fr", None),
        ("en;q=0, ru;q=0.1", "ru"),
        ("", None),
        (None, None),
        ("az-Latn-AZ", "az"),
    ],
)
def test_the_browsers_language_by_weight(header: str | None, expected: str | None) -> None:
    assert accepted_lang(header) == expected


def test_an_unknown_key_shows_itself_and_slots_are_filled() -> None:
    assert translate("no.such.key", "en") == "no.such.key"
    assert translate("left.days", "ru", days=3) == "осталось рабочих дней: 3"
