"""Accuracy on the development set: held-out micro-F1 and per-type floors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mexfi.scan import ENTITY_TYPES, evaluate, score_spans
from mexfi.scan.devset import generate, hand_written, load, parse_markup

# Floors on the held-out parts (generated with other templates and pools, and hand-written).
FLOORS = {kind: 0.9 for kind in ENTITY_TYPES} | {"PERSON": 0.85, "DRIVER_LICENSE": 0.85}


@pytest.fixture(scope="module")
def heldout() -> list[dict[str, object]]:
    return load("heldout") + hand_written()


def test_heldout_micro_f1_reaches_target(heldout: list[dict[str, object]]) -> None:
    scores = evaluate(heldout)
    assert scores.micro.f1 >= 0.95, scores.errors[:20]


def test_heldout_per_type_floors(heldout: list[dict[str, object]]) -> None:
    scores = evaluate(heldout)
    assert set(scores.per_type) == set(ENTITY_TYPES)
    for kind, score in scores.per_type.items():
        assert score.f1 >= FLOORS[kind], (kind, score)


def test_hand_written_part_alone_reaches_target() -> None:
    scores = evaluate(hand_written())
    assert len(hand_written()) >= 95
    assert scores.micro.f1 >= 0.95


def test_tuning_and_heldout_share_no_template_text() -> None:
    tune = {r["text"] for r in generate("tune", n=200)}
    held = {r["text"] for r in generate("heldout", n=200)}
    assert not tune & held


def test_generated_labels_point_at_their_values() -> None:
    for record in generate("heldout", n=100):
        for entity in record["entities"]:
            span = record["text"][entity["start"] : entity["end"]]
            assert span == span.strip() and span


def test_markup_parser() -> None:
    text, entities = parse_markup("Tel [[PHONE:050 555 12 34]] ok")
    assert text == "Tel 050 555 12 34 ok"
    assert entities == [{"type": "PHONE", "start": 4, "end": 17}]


def test_score_spans_counts() -> None:
    scores = score_spans([[("PHONE", 0, 3)]], [[("PHONE", 0, 3), ("FIN", 5, 12)]])
    assert scores.per_type["PHONE"].f1 == 1.0
    assert scores.per_type["FIN"].precision == 0.0
    assert round(scores.micro.f1, 3) == 0.667


@pytest.mark.parametrize("split", ["tune", "heldout", "hand"])
def test_committed_jsonl_matches_the_generator(split: str) -> None:
    path = Path(__file__).parent / "data" / f"{split}.jsonl"
    committed = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert committed == load(split), "regenerate: python -m mexfi.scan.devset tests/scan/data"
