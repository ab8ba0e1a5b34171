"""Presidio interop: mexfi's recognizers as a Presidio `EntityRecognizer`.

Two lines give a Presidio user Azerbaijani (and better Russian) support::

    from mexfi.scan.presidio import add_to
    add_to(analyzer)            # analyzer: presidio_analyzer.AnalyzerEngine

One recognizer per language runs the whole single-pass scanner once per text and returns
the entities Presidio asked for, named in Presidio's vocabulary where it has a name
(`PHONE_NUMBER`, `CREDIT_CARD` ...) and `AZ_*` otherwise. Presidio is imported lazily.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from mexfi.errors import Unavailable
from mexfi.scan.engine import Scanner, default_scanner

__all__ = ["PRESIDIO_NAMES", "add_to", "blank_nlp_engine", "recognizer", "to_mexfi"]

#: mexfi type → Presidio entity name.
PRESIDIO_NAMES: dict[str, str] = {
    "PHONE": "PHONE_NUMBER",
    "FIN": "AZ_FIN",
    "ID_CARD": "AZ_ID_CARD",
    "DRIVER_LICENSE": "AZ_DRIVER_LICENSE",
    "PLATE": "AZ_VEHICLE_PLATE",
    "IBAN": "IBAN_CODE",
    "CARD": "CREDIT_CARD",
    "EMAIL": "EMAIL_ADDRESS",
    "IP_ADDRESS": "IP_ADDRESS",
    "PERSON": "PERSON",
    "DATE_OF_BIRTH": "DATE_OF_BIRTH",
    "ADDRESS": "ADDRESS",
}
_FROM_PRESIDIO = {name: kind for kind, name in PRESIDIO_NAMES.items()}


def to_mexfi(presidio_name: str) -> str | None:
    """The mexfi type of a Presidio entity name, None when mexfi has no such type."""
    return _FROM_PRESIDIO.get(presidio_name)


def _presidio() -> Any:
    try:
        import presidio_analyzer
    except ImportError as exc:
        raise Unavailable(
            "presidio-analyzer is not installed", hint="pip install 'mexfi[presidio]'"
        ) from exc
    return presidio_analyzer


@cache
def _recognizer_class() -> type[Any]:
    presidio_analyzer = _presidio()

    base: Any = presidio_analyzer.EntityRecognizer

    class MexfiRecognizer(base):  # type: ignore[misc]
        """All twelve mexfi types in one pass, for one Presidio language."""

        def __init__(self, *, language: str, scanner: Scanner | None = None) -> None:
            self._scanner = scanner or default_scanner()
            super().__init__(
                supported_entities=list(PRESIDIO_NAMES.values()),
                name=f"MexfiRecognizer_{language}",
                supported_language=language,
                version="1",
            )

        def load(self) -> None:
            """Nothing to load: the scanner is compiled already."""

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            wanted = {_FROM_PRESIDIO[name] for name in entities if name in _FROM_PRESIDIO}
            if not wanted:
                return []
            lang = (
                self.supported_language if self.supported_language in ("az", "ru", "en") else None
            )
            return [
                presidio_analyzer.RecognizerResult(
                    entity_type=PRESIDIO_NAMES[e.type],
                    start=e.start,
                    end=e.end,
                    score=e.score,
                    analysis_explanation=None,
                    recognition_metadata={
                        "recognizer_name": self.name,
                        "recognizer_identifier": self.id,
                    },
                )
                for e in self._scanner.scan(text, lang=lang, types=wanted)
            ]

    return MexfiRecognizer


def recognizer(language: str = "az", *, scanner: Scanner | None = None) -> Any:
    """A Presidio `EntityRecognizer` running mexfi's scanner for `language`."""
    return _recognizer_class()(language=language, scanner=scanner)


def add_to(analyzer: Any, languages: Iterable[str] | None = None) -> list[Any]:
    """Register mexfi's recognizer on a Presidio `AnalyzerEngine` for each of its languages."""
    chosen = list(languages) if languages is not None else list(analyzer.supported_languages)
    added = [recognizer(language) for language in chosen]
    for item in added:
        analyzer.registry.add_recognizer(item)
    return added


def blank_nlp_engine(languages: Iterable[str] = ("en",)) -> Any:
    """A Presidio spaCy NLP engine on blank pipelines: tokens only, no model to download."""
    _presidio()
    import spacy
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    chosen = list(languages)
    engine = SpacyNlpEngine(
        models=[{"lang_code": lang, "model_name": f"blank:{lang}"} for lang in chosen]
    )
    # Presidio's `load()` would try to download a model package; a blank pipeline needs none.
    pipelines: Any = {lang: spacy.blank(lang) for lang in chosen}
    engine.nlp = pipelines
    return engine
