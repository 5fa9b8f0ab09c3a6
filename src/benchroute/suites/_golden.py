"""Stored datasets as suite cases: ``dataset: {golden: support, version: 3}`` in a suite file,
and the ``name@version`` references of ``benchroute dataset``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import ValidationError

from .._errors import ConfigError

if TYPE_CHECKING:
    from ..config import Case
    from ..store import DatasetStore, DatasetVersion, Store

_REF = re.compile(r"(?P<name>[^@\s]+?)(?:@v?(?P<version>\d+))?")


def parse_ref(text: str) -> tuple[str, int | None]:
    """``support`` → ``("support", None)`` (the newest), ``support@3`` or ``support@v3`` →
    ``("support", 3)``; :class:`ConfigError` for anything else."""
    found = _REF.fullmatch(text.strip())
    if found is None:
        raise ConfigError(
            f"{text!r}: not a dataset reference", hint="write NAME or NAME@VERSION, e.g. support@3"
        )
    version = found["version"]
    return found["name"], None if version is None else int(version)


def resolve(datasets: DatasetStore, text: str) -> DatasetVersion:
    """The stored version a ``name[@version]`` reference names; :class:`ConfigError` naming
    what is stored when there is none."""
    name, version = parse_ref(text)
    found = datasets.get(name, version)
    if found is not None:
        return found
    stored = datasets.versions(name)
    if stored:
        listed = ", ".join(str(v.version) for v in stored)
        raise ConfigError(f"dataset {name!r} has no version {version}", hint=f"stored versions: {listed}")
    names = datasets.names()
    hint = "import one: benchroute dataset import FILE --name NAME"
    raise ConfigError(f"no dataset named {name!r}", hint=("stored: " + ", ".join(names)) if names else hint)


def stored_cases(datasets: DatasetStore, name: str, version: int | None) -> tuple[list[Case], int]:
    """The cases of a stored version as :class:`~benchroute.config.Case` objects, and the
    version (the newest with None). :class:`LookupError` when it is not stored; a case that
    no longer validates (a set written by a newer benchroute) is a :class:`ConfigError` naming
    its position and field."""
    from ..config import Case

    found = datasets.get(name, version)
    if found is None:
        stored = ", ".join(str(v.version) for v in datasets.versions(name))
        if stored:
            raise LookupError(f"golden set {name!r} has no version {version} (stored: {stored})")
        raise LookupError(f"no golden set named {name!r} in the store")
    cases: list[Case] = []
    for position, body in enumerate(datasets.cases(found.name, found.version), start=1):
        try:
            cases.append(Case.model_validate(body))
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in error["loc"])
            raise ConfigError(
                f"{found.ref}: case {position} ({body.get('id')!r}): {field}: {error['msg']}",
                hint="fix it with a new version (benchroute dataset label / scrub), or pin an older version",
            ) from None
    return cases, found.version


def golden_loader(store_factory: Callable[[], Store]) -> Callable[[str, int | None], tuple[list[Case], int]]:
    """A ``golden_loader`` for :func:`benchroute.config.load_suite` that opens the store only
    when a suite names a golden set."""
    opened: list[Store] = []

    def load(name: str, version: int | None) -> tuple[list[Case], int]:
        from ..store import DatasetStore

        if not opened:
            opened.append(store_factory())
        return stored_cases(DatasetStore(opened[0]), name, version)

    return load
