"""What stands between production text and the store: every case a ``benchroute dataset``
command writes passes through a :class:`ScrubPipeline` — scrubbed, then leak-checked — unless
the user said ``--no-scrub`` and gave a reason, which is stored with the version.

The leak check re-scans each case *as it will be written* with every recogniser (typed
entities, the project's own patterns, names). A case in which a recogniser still fires is
scrubbed once more (a name the NER model only sees in its new context, say); if it still
fires, the whole version is refused: :class:`LeakError` names the case, the field, the entity
type and a masked value — never the value — and the store keeps nothing of the attempt.

Case ids are not scrubbed text, but an id can be a value from the source (an e-mail used as
a ticket id): an id in which a recogniser fires is replaced by ``case-<digest>`` of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError

if TYPE_CHECKING:
    from ..config import ScrubSpec
    from ._scrub import Scrubber

_BATCH = 64


class LeakError(ConfigError):
    """The leak check still found personal data in a case after scrubbing: nothing is saved."""


class ScrubPipeline:
    """Scrub and leak-check a stream of case dicts (see the module docstring).

    ``spec`` is the project's ``datasets.scrub`` block (the defaults without one); ``fake``
    overrides its ``fake``. Building one loads Presidio and the name model (a few seconds).
    """

    def __init__(
        self, spec: ScrubSpec | None = None, *, fake: bool | None = None, where: str | None = None
    ) -> None:
        from ..config import ScrubSpec
        from ._scrub import CustomRecognizer, Scrubber

        spec = spec or ScrubSpec()
        custom = [
            CustomRecognizer(
                r.entity,
                r.regex,
                r.score,
                source=f"{where}: datasets.scrub.recognizers.{i}" if where else None,
            )
            for i, r in enumerate(spec.recognizers)
        ]
        self.scrubber: Scrubber = Scrubber(
            entities=spec.entities, custom=custom, names=spec.names, fake=spec.fake if fake is None else fake
        )
        self.checked = 0
        self.rescrubbed = 0
        self.renamed_ids = 0

    def stream(self, cases: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Each case scrubbed and leak-checked, in order; :class:`LeakError` on a leak."""
        batch: list[dict[str, Any]] = []
        for case in self.scrubber.scrub_cases(cases, batch_size=_BATCH):
            batch.append(case)
            if len(batch) >= _BATCH:
                yield from self._checked(batch)
                batch = []
        if batch:
            yield from self._checked(batch)

    def _checked(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        batch = [self._safe_id(case) for case in batch]
        leaks = self.scrubber.leak_check(batch, limit=len(batch) * 50)
        self.checked += len(batch)
        if not leaks:
            return batch
        leaked = {leak.case_id for leak in leaks}
        out: list[dict[str, Any]] = []
        for case in batch:
            if str(case.get("id")) not in leaked:
                out.append(case)
                continue
            again, _ = self.scrubber.scrub_case(case)
            self.rescrubbed += 1
            left = self.scrubber.leak_check([again], limit=1)
            if left:
                leak = left[0]
                raise LeakError(
                    f"the leak check still finds {leak.entity} in case {leak.case_id}: {leak.path} "
                    f"({leak.masked}) after scrubbing: nothing was saved",
                    hint="add a pattern under datasets.scrub.recognizers in benchroute.yaml, or check the "
                    "source; --no-scrub --reason TEXT skips scrubbing for data that holds no personal data",
                )
            out.append(again)
        return out

    def _safe_id(self, case: dict[str, Any]) -> dict[str, Any]:
        case_id = case.get("id")
        if isinstance(case_id, str) and case_id and any(self.scrubber.find([case_id])):
            self.renamed_ids += 1
            digest = hashlib.sha256(case_id.encode()).hexdigest()[:16]
            return {**case, "id": f"case-{digest}"}
        return case

    def report(self) -> dict[str, Any]:
        """The scrub report (counts by entity type, names apart) and the leak check's figures."""
        return {
            **self.scrubber.report.to_json(),
            "leak_check": {"cases": self.checked, "rescrubbed": self.rescrubbed, "leaks": 0},
            "ids_replaced": self.renamed_ids,
        }


def skipped_scrub(reason: str | None) -> dict[str, Any]:
    """The ``scrub`` record of a version written with ``--no-scrub``: the reason is required."""
    if not reason or not reason.strip():
        raise ConfigError(
            "--no-scrub needs --reason TEXT (why this data holds no personal data); "
            "it is stored with the version",
            hint="e.g. --no-scrub --reason 'synthetic test data'",
        )
    return {"skipped": reason.strip()}
