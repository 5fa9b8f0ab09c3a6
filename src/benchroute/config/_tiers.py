"""Suite tiers by registry name, and what a tier requires of a suite file.

A suite's ``tier:`` (unit, code, conversation, stress, ...) names one class registered
under the ``benchroute.tiers`` entry point group, exactly as scorers and provider kinds are
(built-ins through benchroute's own entry points, so a third-party tier is found the same
way). That class carries both halves of a tier: the rules a suite of the tier must follow,
declared by the hooks of :class:`TierRules` and checked when a suite is validated, and how
its work is executed (:class:`benchroute.runner.Tier`, a subclass). Adding a tier is one
module and one entry point; nothing here or in the runner names a tier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic_core import PydanticCustomError

from .. import _entrypoints
from .._errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from ._models import Case, SuiteSpec

ENTRY_POINT_GROUP = "benchroute.tiers"

_loaded: dict[str, type[TierRules]] = {}


class TierRules:
    """What a suite of one tier must declare; every hook has the default of a tier that
    scores single replies (the unit tier). Hooks raise :class:`ValueError` with the fix;
    the suite loader turns that into ``file:line: field: message``."""

    #: The suite's gate fails on every failed result of the suite, not only on gate:
    #: thresholds (a stress suite's result fails when one of its SLOs is missed).
    failed_result_fails_gate: ClassVar[bool] = False
    #: Cases may attach files (images, PDFs, audio) sent with the user message.
    accepts_attachments: ClassVar[bool] = False

    @classmethod
    def check_field(cls, field: str, value: Any) -> Any:
        """Check one suite field that depends on the tier (``scorers``, ``load``, ``slo``)
        and return it. By default replies are scored (``scorers`` needs at least one entry)
        and there is no load profile."""
        if field == "scorers" and not value:
            # Reported like any missing required field.
            raise PydanticCustomError("missing", "Field required")
        if field == "load" and value is not None:
            raise ValueError("load: is only for stress suites; set tier: stress or remove load:")
        if field == "slo" and value is not None:
            raise ValueError("slo: is only for stress suites; set tier: stress or remove slo:")
        return value

    @classmethod
    def check_suite(cls, suite: SuiteSpec) -> None:
        """Check the whole suite once its fields are valid. By default a case must not be a
        conversation (those need a conversation suite)."""
        for index, case in enumerate(suite.dataset.cases or []):
            cls.check_case(case, f"dataset.cases.{index} (id {case.id!r})")

    @classmethod
    def check_case(cls, case: Case, where: str) -> None:
        """Check one case of the suite (``where`` names it for the message)."""
        from ._conversation import is_conversation

        if is_conversation(case) or case.assertions:
            field = (
                "turns"
                if case.turns is not None
                else ("simulated_user" if case.simulated_user is not None else "assertions")
            )
            raise ValueError(f"{where}: '{field}' needs a conversation suite: set 'tier: conversation'")
        if case.attachments and not cls.accepts_attachments:
            raise ValueError(f"{where}: 'attachments' need a multimodal suite: set 'tier: multimodal'")


def tier_names() -> list[str]:
    """Every registered tier name (built-ins and plugins)."""
    return sorted(set(_loaded) | set(_entrypoints.declared(ENTRY_POINT_GROUP)))


def find_tier(name: str) -> type[TierRules]:
    """The tier class registered as ``name``; :class:`ConfigError` naming the closest
    registered name when there is none."""
    found = _loaded.get(name)
    if found is not None:
        return found
    entry = _entrypoints.find(ENTRY_POINT_GROUP, name)
    if entry is None:
        known = tier_names()
        raise ConfigError(
            f"unknown tier {name!r}{did_you_mean(name, known)}",
            hint=f"registered tiers: {', '.join(known)} (a plugin adds one with a "
            f"{ENTRY_POINT_GROUP!r} entry point)",
        )
    try:
        loaded = entry.load()
    except Exception as exc:  # a broken plugin is a configuration problem, named as such
        raise ConfigError(
            f"tier {name!r} failed to load: {entry.value}: {type(exc).__name__}: {exc}"
        ) from None
    if not (isinstance(loaded, type) and issubclass(loaded, TierRules)):
        raise ConfigError(f"tier {name!r}: {entry.value} is not a benchroute tier class")
    _loaded[name] = loaded
    return loaded


def register_tier(name: str, tier: type[TierRules]) -> None:
    """Register a tier in-process (an entry point is the usual way)."""
    _loaded[name] = tier
