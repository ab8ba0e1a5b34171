"""mexfi's recognizers inside Presidio's AnalyzerEngine (skipped when Presidio is absent)."""

from __future__ import annotations

from typing import Any

import pytest

presidio_analyzer = pytest.importorskip(
    "presidio_analyzer", reason="presidio-analyzer is not installed (pip install 'mexfi[presidio]')"
)
pytest.importorskip("spacy", reason="spaCy (a presidio-analyzer dependency) is not installed")

from mexfi.scan.presidio import PRESIDIO_NAMES, add_to, blank_nlp_engine, recognizer, to_mexfi  # noqa: E402

TEXT = "Sürücü Tural Quliyev, FİN 5ZK7R2M, tel +994 50 123 45 67, maşın 10-AB-123"


@pytest.fixture(scope="module")
def analyzer() -> object:
    engine = presidio_analyzer.AnalyzerEngine(
        nlp_engine=blank_nlp_engine(["en", "az", "ru"]), supported_languages=["en", "az", "ru"]
    )
    add_to(engine)  # the two lines a Presidio user writes
    return engine


def test_analyzer_finds_azerbaijani_entities(analyzer: Any) -> None:
    results = analyzer.analyze(TEXT, language="az")
    found = {(r.entity_type, TEXT[r.start : r.end]) for r in results}
    assert ("AZ_FIN", "5ZK7R2M") in found
    assert ("PERSON", "Tural Quliyev") in found
    assert ("PHONE_NUMBER", "+994 50 123 45 67") in found
    assert ("AZ_VEHICLE_PLATE", "10-AB-123") in found


def test_entity_filter_is_honoured(analyzer: Any) -> None:
    results = analyzer.analyze(TEXT, language="ru", entities=["AZ_FIN"])
    assert [r.entity_type for r in results] == ["AZ_FIN"]


def test_recognizer_is_a_presidio_entity_recognizer() -> None:
    item = recognizer("en")
    assert isinstance(item, presidio_analyzer.EntityRecognizer)
    assert set(item.supported_entities) == set(PRESIDIO_NAMES.values())
    assert to_mexfi("CREDIT_CARD") == "CARD" and to_mexfi("NRP") is None
