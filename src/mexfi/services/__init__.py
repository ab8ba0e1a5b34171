"""The operators' services that plug into mexfi: BakıKart and Taxsee Driver."""

from mexfi.services.synthetic import GenerationProgress, GenerationSummary, Synth, generate

__all__ = ["GenerationProgress", "GenerationSummary", "Synth", "generate"]
