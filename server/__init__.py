"""Kanyan (勘验): live remote video site inspection server."""

__version__ = "0.1.0"
