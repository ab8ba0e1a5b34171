"""Exact-span scoring: precision, recall and F1 per type and micro-averaged."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mexfi.scan.engine import scan_text
from mexfi.scan.entities import ENTITY_TYPES, Entity

__all__ = ["Score", "Scores", "evaluate", "score_spans"]


@dataclass(frozen=True)
class Score:
    """Counts and ratios of one type (or of all, micro-averaged)."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Scores:
    """Per-type scores and the micro average; `errors` lists (id, kind, type, span text)."""

    per_type: dict[str, Score]
    micro: Score
    errors: list[tuple[str, str, str, str]] = field(default_factory=list)


Span = tuple[str, int, int]


def score_spans(gold: Iterable[Iterable[Span]], predicted: Iterable[Iterable[Span]]) -> Scores:
    """Exact-match scores of predicted (type, start, end) spans against gold ones."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for gold_spans, predicted_spans in zip(gold, predicted, strict=True):
        g, p = set(gold_spans), set(predicted_spans)
        for kind, _, _ in g & p:
            tp[kind] += 1
        for kind, _, _ in p - g:
            fp[kind] += 1
        for kind, _, _ in g - p:
            fn[kind] += 1
    kinds = [k for k in ENTITY_TYPES if tp[k] or fp[k] or fn[k]]
    per_type = {k: Score(tp[k], fp[k], fn[k]) for k in kinds}
    micro = Score(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return Scores(per_type, micro)


def evaluate(
    records: Iterable[Mapping[str, Any]],
    *,
    scan: Callable[[str, str | None], list[Entity]] | None = None,
) -> Scores:
    """Scores of `scan` (default: `scan_text`) on labelled records, with the errors listed."""
    run = scan or (lambda text, lang: scan_text(text, lang=lang))
    gold_all: list[list[Span]] = []
    predicted_all: list[list[Span]] = []
    errors: list[tuple[str, str, str, str]] = []
    for record in records:
        text = record["text"]
        gold = [(e["type"], e["start"], e["end"]) for e in record["entities"]]
        predicted = [(e.type, e.start, e.end) for e in run(text, record.get("lang"))]
        gold_all.append(gold)
        predicted_all.append(predicted)
        for kind, start, end in set(predicted) - set(gold):
            errors.append((record["id"], "FP", kind, text[start:end]))
        for kind, start, end in set(gold) - set(predicted):
            errors.append((record["id"], "FN", kind, text[start:end]))
    scores = score_spans(gold_all, predicted_all)
    return Scores(scores.per_type, scores.micro, errors)
