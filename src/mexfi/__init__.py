"""mexfi: the personal-data information system for mobility operators."""

__all__ = ["__version__"]

__version__ = "0.1.0"
