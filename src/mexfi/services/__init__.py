"""The operators' services that plug into mexfi: BakıKart and Taxsee Driver."""

from mexfi.services.report import FlowReport
from mexfi.services.synthetic import (
    METRO_STATIONS,
    GenerationProgress,
    GenerationSummary,
    Synth,
    generate,
)

__all__ = [
    "METRO_STATIONS",
    "FlowReport",
    "GenerationProgress",
    "GenerationSummary",
    "Synth",
    "generate",
]
