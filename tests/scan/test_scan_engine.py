"""The Python API: `scan_text`, `Scanner`, errors, threads."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mexfi.scan
from mexfi.errors import Invalid
from mexfi.scan import ENTITY_TYPES, Entity, Scanner, scan_text

TEXT = "Sürücü Tural Quliyev, tel. +994 50 123 45 67, kart 4169 7388 0012 4418."


def test_public_face_is_pinned() -> None:
    assert sorted(mexfi.scan.__all__) == sorted(
        [
            "ENTITY_TYPES",
            "LANGUAGES",
            "BenchResult",
            "BenchRow",
            "CARD_SEPARATORS",
            "CardHit",
            "ColumnReport",
            "Entity",
            "Mode",
            "PersonalDataInText",
            "Pseudonymizer",
            "Scanner",
            "Score",
            "Scores",
            "TableReport",
            "default_scanner",
            "evaluate",
            "find_card_numbers",
            "find_security_codes",
            "load_key",
            "luhn_valid",
            "pseudonym",
            "redact",
            "redact_text",
            "refuse_personal_data",
            "run_scan_bench",
            "scan_directory",
            "scan_table",
            "scan_text",
            "score_spans",
        ]
    )


def test_entities_are_frozen_sorted_and_scored_in_unit_interval() -> None:
    found = scan_text(TEXT)
    assert [e.type for e in found] == ["PERSON", "PHONE", "CARD"]
    assert all(0.0 <= e.score <= 1.0 for e in found)
    assert found == sorted(found, key=lambda e: e.start)
    with pytest.raises(AttributeError):
        found[0].start = 3  # type: ignore[misc]


def test_types_narrow_the_scan() -> None:
    assert [e.type for e in scan_text(TEXT, types={"PHONE"})] == ["PHONE"]
    assert [e.type for e in Scanner(types=["CARD", "PERSON"]).scan(TEXT)] == ["PERSON", "CARD"]


def test_spans_never_overlap_or_carry_whitespace() -> None:
    text = "FİN 10AB123, maşın 10-AB-123, Nizami küç. 45 Leyla Həsənova"
    found = scan_text(text)
    for a, b in itertools.pairwise(found):
        assert a.end <= b.start
    for e in found:
        assert text[e.start : e.end] == text[e.start : e.end].strip()


def test_a_fin_cue_turns_a_plate_shape_into_a_fin() -> None:
    assert [e.type for e in scan_text("FİN 10AB123")] == ["FIN"]


@pytest.mark.parametrize("bad", [{"lang": "de"}, {"types": {"SSN"}}])
def test_unknown_language_or_type_is_invalid(bad: dict[str, object]) -> None:
    with pytest.raises(Invalid):
        scan_text(TEXT, **bad)  # type: ignore[arg-type]


def test_error_messages_carry_no_text() -> None:
    with pytest.raises(Invalid) as info:
        Scanner(types={"+994 50 123 45 67"})
    assert info.value.hint and "PHONE" in info.value.hint


def test_scanner_is_reusable_across_threads() -> None:
    scanner = Scanner()
    texts = [TEXT, "ФИН 5ZK7R2M", "IBAN AZ21NABZ00000000137010001944"] * 50
    expected = [scanner.scan(t) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(scanner.scan, texts)) == expected


def test_all_twelve_types_are_known() -> None:
    assert len(ENTITY_TYPES) == 12
    assert Entity("PHONE", 0, 1, 0.5).as_dict() == {
        "type": "PHONE",
        "start": 0,
        "end": 1,
        "score": 0.5,
    }


def test_empty_text() -> None:
    assert scan_text("") == []


_ALPHABET = "abcəğıöüşçABCƏĞİÖÜŞÇабвАБВ0123456789 +-()./,@№*\n"
_PIECES = [
    "+994 50 123 45 67",
    "FİN 5ZK7R2M",
    "Leyla Həsənova",
    "Nizami küç. 45",
    "10-AB-123",
    "4169 7388 0012 4418",
    "AZ21NABZ00000000137010001944",
    "a@b.az",
    "doğum tarixi 12.03.1988",
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.text(alphabet=_ALPHABET, max_size=12), st.sampled_from(_PIECES)), max_size=12
    )
)
def test_spans_are_well_formed_on_any_text(parts: list[str]) -> None:
    text = " ".join(parts)
    found = scan_text(text)
    previous_end = 0
    for entity in found:
        assert previous_end <= entity.start < entity.end <= len(text)
        assert text[entity.start : entity.end] == text[entity.start : entity.end].strip()
        assert 0.0 <= entity.score <= 1.0
        previous_end = entity.end
