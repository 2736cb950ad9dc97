"""convoscope: self-hosted analytics for AI-assistant conversations."""

__version__ = "0.1.0"
