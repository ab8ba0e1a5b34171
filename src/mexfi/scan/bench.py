"""Benchmark: mexfi's scanner and Presidio's default analyzer on the same texts.

Both run on the held-out development set (generated held-out part and hand-written
sentences, az/ru/en): throughput (texts/s, MB/s of UTF-8) and exact-span F1 side by side.
Presidio runs with its default recognizers for English on a blank spaCy pipeline (no
model download); with a full spaCy model its NER adds PERSON/LOCATION and costs more time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mexfi.scan.devset import Record, hand_written, load
from mexfi.scan.engine import Scanner
from mexfi.scan.entities import Entity
from mexfi.scan.evaluate import Scores, evaluate

__all__ = ["BenchResult", "BenchRow", "run_scan_bench"]


@dataclass(frozen=True)
class BenchRow:
    """One engine's figures."""

    engine: str
    texts: int
    megabytes: float
    seconds: float
    scores: Scores

    @property
    def texts_per_second(self) -> float:
        return self.texts / self.seconds if self.seconds else 0.0

    @property
    def mb_per_second(self) -> float:
        return self.megabytes / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class BenchResult:
    """mexfi's row, Presidio's row when it ran (or why not), and the throughput ratio."""

    mexfi: BenchRow
    presidio: BenchRow | None
    presidio_skipped: str | None

    @property
    def ratio(self) -> float | None:
        if self.presidio is None or not self.presidio.mb_per_second:
            return None
        return self.mexfi.mb_per_second / self.presidio.mb_per_second


ScanFn = Callable[[str, str | None], list[Entity]]


def _timed(scan: ScanFn, records: Sequence[Record], repeat: int) -> tuple[float, Scores]:
    texts = [(r["text"], r.get("lang")) for r in records]
    scan(texts[0][0], texts[0][1])  # warm up (compiles, loads lexicons)
    start = time.perf_counter()
    for _ in range(repeat):
        for text, lang in texts:
            scan(text, lang)
    seconds = (time.perf_counter() - start) / repeat
    return seconds, evaluate(records, scan=scan)


def _offline_tldextract() -> None:
    """Presidio's e-mail check fetches the public-suffix list; use tldextract's bundled copy."""
    try:
        import tldextract
    except ImportError:
        return
    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    tldextract.extract = offline  # type: ignore[assignment]


def _presidio_scan() -> ScanFn:
    from presidio_analyzer import AnalyzerEngine

    _offline_tldextract()
    from mexfi.scan.presidio import blank_nlp_engine, to_mexfi

    analyzer = AnalyzerEngine(nlp_engine=blank_nlp_engine(["en"]))

    def scan(text: str, lang: str | None) -> list[Entity]:
        results: list[Any] = analyzer.analyze(text, language="en")
        found = []
        for result in results:
            kind = to_mexfi(result.entity_type)
            if kind is not None:
                found.append(Entity(kind, result.start, result.end, float(result.score)))
        # Presidio may report overlapping spans; keep the best of each overlap, as mexfi does.
        found.sort(key=lambda e: (-e.score, e.start))
        kept: list[Entity] = []
        for entity in found:
            if all(entity.end <= k.start or k.end <= entity.start for k in kept):
                kept.append(entity)
        return sorted(kept, key=lambda e: e.start)

    return scan


def run_scan_bench(
    *,
    records: Sequence[Record] | None = None,
    repeat: int = 3,
    presidio: bool = True,
    presidio_limit: int | None = None,
) -> BenchResult:
    """Time mexfi (and Presidio when installed and asked for) on the same texts."""
    chosen = list(records) if records is not None else load("heldout") + hand_written()
    megabytes = sum(len(r["text"].encode()) for r in chosen) / 1e6
    scanner = Scanner()
    seconds, scores = _timed(lambda t, lang: scanner.scan(t, lang=lang), chosen, repeat)
    ours = BenchRow("mexfi", len(chosen), megabytes, seconds, scores)
    if not presidio:
        return BenchResult(ours, None, "not asked for")
    try:
        presidio_fn = _presidio_scan()
    except ImportError as exc:
        return BenchResult(ours, None, f"presidio-analyzer is not installed ({exc.name})")
    subset = chosen[:presidio_limit] if presidio_limit else chosen
    p_seconds, p_scores = _timed(presidio_fn, subset, 1)
    p_megabytes = sum(len(r["text"].encode()) for r in subset) / 1e6
    theirs = BenchRow("presidio", len(subset), p_megabytes, p_seconds, p_scores)
    return BenchResult(ours, theirs, None)
