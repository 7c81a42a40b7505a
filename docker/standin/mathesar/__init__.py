"""The stand-in's app package (named like Mathesar's, for the same imports)."""
__version__ = "0.11.0"
