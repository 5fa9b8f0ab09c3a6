"""The code tier: generated code, scored by running it (tests in the sandbox, a security
scan). Its items are single requests exactly like the unit tier's; it is a tier of its own
so that reports and gates can tell code suites apart."""

from __future__ import annotations

from ._unit import UnitTier


class CodeTier(UnitTier):
    """Single requests whose replies are programs (``code_tests``, ``code_security``)."""
