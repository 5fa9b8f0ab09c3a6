"""The one exception type users see.

Every error a user can cause (a bad YAML file, a missing key, an unknown model, a malformed
dataset row, a provider that answers garbage) is raised as :class:`BenchrouteError` with a
message that names the place (file:line, field, model) and the fix. The CLI prints it as one
line and exits with :attr:`BenchrouteError.exit_code`; it never shows a traceback for it.
"""

from __future__ import annotations

from collections.abc import Iterable


class BenchrouteError(Exception):
    """An error caused by input or environment that the user can fix."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} — {hint}")


class ConfigError(BenchrouteError):
    """A project, suite or dataset file is invalid."""

    exit_code = 2


class RunError(BenchrouteError):
    """A run could not complete (every endpoint unreachable, store unusable, ...)."""

    exit_code = 3


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean `contains`?)`` for the closest of ``choices`` to a misspelt ``name``,
    or an empty string when none is close."""
    import difflib

    options = sorted(set(choices))
    by_lower = {option.lower(): option for option in options}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean `{by_lower[close[0]]}`?)" if close else ""
