"""Enumerations of the core's named states, as ``str`` enums.

Each member *is* its name as a string (``CartStatus.OPEN == "open"``), so code that compares
with the plain strings, ``json.dumps`` and dict lookups keep working, while type checkers and
editors see the closed set of values.
"""

from __future__ import annotations

import enum
import sys

__all__ = ["CartStatus"]

if sys.version_info >= (3, 11):
    _StrEnum = enum.StrEnum
else:

    class _StrEnum(str, enum.Enum):
        """``enum.StrEnum`` before Python 3.11: ``str()`` and f-strings give the value."""

        def __str__(self) -> str:
            return str(self.value)


class CartStatus(_StrEnum):
    """Where a cart is in its life: only an ``OPEN`` cart can change or be completed (the
    others raise ``CartClosedError``). Returned by ``Cart.status()``."""

    OPEN = "open"
    """Being rung up: lines, discounts, customer and coupons can change."""
    COMPLETED = "completed"
    """Paid: a sale records it, and it never changes again."""
    VOID = "void"
    """Abandoned without a sale."""
