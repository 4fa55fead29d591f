"""Juncture: real-time customer journey orchestration for retailers."""

__version__ = "0.1.0"
