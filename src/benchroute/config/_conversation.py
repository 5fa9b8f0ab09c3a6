"""Conversation-tier cases: scripted turns and simulated users.

A conversation-tier suite (``tier: conversation``) runs each case as a multi-turn
conversation instead of one request. A case gives either ``turns`` (a script of user
messages, each optionally followed by assertions on the assistant's reply to it) or a
``simulated_user`` (a model that plays a persona with a goal until a stop condition holds or
``max_turns`` is reached). The assistant's real replies are fed back as history.

Assertions are ordinary scorers (see :mod:`benchroute.scorers`): a turn's ``assert`` list
scores the reply to that turn; a case's ``assertions`` and the suite's ``scorers`` score the
whole conversation (conversation scorers such as ``remembers`` read the transcript; plain
scorers score the last reply).

``Case`` (in :mod:`._models`) needs these models and these name ``ScorerEntry`` from there, so
this module imports nothing from ``_models`` at run time: ``_models`` resolves the names by
rebuilding the models once ``ScorerEntry`` exists.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from ._models import Case, ScorerEntry, ScorerSpec

# What a simulated user is told to write once its goal is met (the default stop condition).
GOAL_PHRASE = "GOAL REACHED"
DEFAULT_USER_STOP = r"\bGOAL[ _]REACHED\b"


def check_regex(value: str | None) -> str | None:
    """``value`` if it compiles as a regular expression (a field validator's check)."""
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Turn(_Strict):
    """One scripted user turn and the assertions on the assistant's reply to it.

    In YAML the assertions are written ``assert:`` (``assertions:`` is accepted too).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    user: str = Field(description="the user's message for this turn")
    assertions: list[ScorerEntry] = Field(
        default_factory=list, alias="assert", description="scorers applied to the reply to this turn"
    )

    @field_validator("user")
    @classmethod
    def _has_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a turn needs the user's text: write 'user: <message>'")
        return value


class StopCondition(_Strict):
    """When a simulated user's goal counts as reached. Any one of the conditions that is set
    suffices; with none set, the simulated user saying "GOAL REACHED" ends it.

    ``assistant_regex`` is searched (case-insensitively) in each assistant reply;
    ``user_regex`` in each message the simulated user writes (that message is then not sent);
    ``scorer`` is applied to each assistant reply and the goal is reached when it passes.
    """

    assistant_regex: str | None = None
    user_regex: str | None = None
    scorer: ScorerSpec | None = None

    @field_validator("assistant_regex", "user_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return check_regex(value)


class SimulatedUser(_Strict):
    """A model playing a user: ``persona`` (who it is), ``goal`` (what it wants from the
    assistant), ``stop`` (when the goal counts as reached) and ``max_turns`` (assistant replies
    at most). ``model`` names a model of ``benchroute.yaml``; the default is the embedded
    SmolLM2 (``smollm2``). ``opening`` is the first user message (default: the simulated user
    writes it)."""

    model: str | None = Field(default=None, description="simulator model (default: embedded smollm2)")
    persona: str
    goal: str
    opening: str | None = None
    stop: StopCondition = Field(default_factory=StopCondition)
    max_turns: int = Field(default=4, ge=1, le=50, description="assistant replies at most")
    max_tokens: int = Field(default=64, ge=1, description="longest simulated user message, in tokens")
    params: dict[str, Any] = Field(default_factory=dict, description="request settings for the simulator")

    @field_validator("persona", "goal")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    def user_stop_pattern(self) -> str | None:
        """The pattern that ends the conversation when the simulated user writes it."""
        stop = self.stop
        if stop.user_regex is not None:
            return stop.user_regex
        if stop.assistant_regex is None and stop.scorer is None:
            return DEFAULT_USER_STOP
        return None


def check_case(case: Case) -> None:
    """A case's own consistency (any tier): raises ValueError with the fix."""
    if case.turns is not None:
        if not case.turns:
            raise ValueError("turns: give at least one turn (- user: <message>)")
        if case.simulated_user is not None:
            raise ValueError("give 'turns' (a script) or 'simulated_user', not both")
    if (case.turns is not None or case.simulated_user is not None) and case.input is not None:
        raise ValueError(
            "a conversation case has no 'input': put the first user message in turns "
            "(or simulated_user.opening)"
        )


def is_conversation(case: Case) -> bool:
    """Whether a case is a conversation (a script of turns or a simulated user)."""
    return case.turns is not None or case.simulated_user is not None
