"""Errors of the markets capability."""

from __future__ import annotations


class NotComputable(ValueError):
    """A number cannot be computed from the inputs; the message says why."""
