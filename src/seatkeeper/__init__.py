"""seatkeeper: a concurrent-license server for agent applications."""

__version__ = "0.1.0"
