"""Entry-point lookups for the plugin registries (providers, scorers).

Listing a group's entry points reads every installed distribution's metadata (~8 ms per
group in a venv of 140 packages); a run needs only the few names its suites use, and those
are nearly always benchroute's own. :func:`find` reads benchroute's own metadata first and
scans the other distributions only for a name it does not declare, so a built-in kind or
scorer costs one small file read and a plugin still resolves as before. A plugin cannot
shadow a built-in name.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, PackageNotFoundError, distribution, entry_points

DISTRIBUTION = "benchroute"


@cache
def _own(group: str) -> dict[str, EntryPoint]:
    try:
        declared = distribution(DISTRIBUTION).entry_points
    except PackageNotFoundError:  # run from a source tree that is not installed
        return {}
    return {entry.name: entry for entry in declared if entry.group == group}


def find(group: str, name: str) -> EntryPoint | None:
    """The entry point ``name`` of ``group``: benchroute's own, else any distribution's."""
    entry = _own(group).get(name)
    if entry is not None:
        return entry
    return next(iter(entry_points(group=group, name=name)), None)


def declared(group: str) -> dict[str, EntryPoint]:
    """Every entry point of ``group`` by name, benchroute's own winning a clash."""
    return {**{entry.name: entry for entry in entry_points(group=group)}, **_own(group)}
