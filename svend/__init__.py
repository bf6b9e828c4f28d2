"""Svend: turn an open-weights LLM into a tool-using reasoning model, and keep it honest."""

__version__ = "0.1.0"
