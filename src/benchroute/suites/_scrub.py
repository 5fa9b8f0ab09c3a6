"""Scrubbing personal data out of cases before anything is written: :class:`Scrubber`,
:class:`ScrubReport`, :func:`leak_check`.

What is found
-------------
* **Typed values**: :func:`benchroute.scorers.find_pii`, the project's validated recognisers
  (phone numbers checked against libphonenumber's metadata, Luhn-checked cards, IBAN
  checksums, IPv4 and IPv6, SSNs the SSA issues, e-mails, credentials in URLs: the query or
  fragment parameter's value, the password of ``scheme://user:password@host``). The
  scrubber's cut-off is 0.4, under the scorer's 0.5: a leaked value costs more than a
  replaced order number, and at 0.4 validated but unusually written numbers are replaced too.
* **Custom patterns** from the project file (:class:`CustomRecognizer`): an entity name, a
  regular expression (its group ``value``, if it has one, is what gets replaced), a score.
* **Names** (optional, on by default): a :class:`~benchroute.suites._names.NameRecognizer`,
  by default spaCy's ``en_core_web_sm`` plus context rules (see ``_names``). Names are less
  reliable than typed values (about nine in ten found on support logs, fewer for names from
  outside the English-speaking world, some product and company names taken for people), so
  the report counts them apart. Within a case, once a name is found its words are replaced
  wherever else they occur ("Hi, I'm Ana Souza" ... "Thanks Ana"), and a field named like a
  person (``vars.customer``, ``metadata.contact_name``) holding only a name is a name.

Where overlapping findings compete, the more confident typed or custom finding wins; a name
is kept only where no typed or custom value is.

What replaces it
----------------
Presidio's ``AnonymizerEngine`` with a custom operator writes a typed placeholder,
consistent within a case: the same value is the same placeholder in every string of the case
(each message and content part of a conversation, the input, the expected answer, passages,
vars, string metadata other than the reserved keys), so ``<EMAIL_1>`` in turn 1 is
``<EMAIL_1>`` in turn 4 and a second address is ``<EMAIL_2>``. The tags (:data:`TAGS`):

=================  ==================  =====================================================
entity             placeholder         replaced part
=================  ==================  =====================================================
EMAIL_ADDRESS      ``<EMAIL_n>``       the address
PHONE_NUMBER       ``<PHONE_n>``       the number with its extension
CREDIT_CARD        ``<CREDIT_CARD_n>`` the card number
IBAN_CODE          ``<IBAN_n>``        the IBAN
IP_ADDRESS         ``<IP_ADDRESS_n>``  the IPv4 or IPv6 address (not the port)
US_SSN             ``<SSN_n>``         the number
URL_CREDENTIAL     ``<URL_CREDENTIAL_n>`` the secret only: the URL, its host and user stay
US_ITIN, UK_NHS,   ``<ITIN_n>``,       the number
UK_NINO, CRYPTO    ``<NHS_n>``, ...
PERSON             ``<PERSON_n>``      the name (a name's own words, found alone, get its
                                       placeholder)
custom             ``<ENTITY_n>``      the match, or its ``value`` group
=================  ==================  =====================================================

Values are compared in a normal form (e-mails and names case-folded, numbers by their digits,
IPv6 addresses compressed), so ``+44 20 7946 0958`` and ``+44-20-7946-0958`` are one value.

Scrubbing is **idempotent**: placeholders are never detected (a finding overlapping one is
dropped) and never renumbered, and numbering continues after the ones a case already holds
(a case with ``<EMAIL_1>`` and a new address gets ``<EMAIL_2>``). Each replaced string is
scanned again until nothing is found (at most three rounds), so a name that only shows once
its neighbour is replaced is caught too, and ``scrub(scrub(x)) == scrub(x)``.

With ``fake=True`` the values are replaced by realistic fakes instead (Faker and format rules:
a Luhn-valid card of the same scheme and grouping, an IBAN of the same country with a valid
checksum, an e-mail at a reserved ``example`` domain, an address from the documentation
ranges, a phone number with the country code and grouping kept, a name with as many words).
A fake is deterministic per (seed, value), so the same value gets the same fake everywhere,
and never equals the value it replaces or another value of the case. Faked output is *not*
idempotent (a fake is a realistic value, so scrubbing again replaces it); the case's
``metadata.scrub.fakes`` holds keyed digests of its fakes (never of the real values) so that
:func:`leak_check` can tell a fake from a leak.

Nothing raw is ever reported: :class:`ScrubReport` holds counts, :class:`Leak` a masked value
(``j***@example.com``, ``****1111``), errors name the recogniser, never the text.

Cost
----
Findings are cached per distinct string (logs repeat system prompts) in a bounded LRU keyed by
a digest of the string, so memory does not grow with the import. :meth:`Scrubber.scrub_cases`
streams: it holds one batch of cases at a time, and names are found for the whole batch in one
``nlp.pipe`` call. Presidio and spaCy are imported without torch (see the PII module), which
keeps a scrubbing process near 200 MB.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
import re
import string
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._errors import ConfigError
from ._names import NAME_SCORE, NameRecognizer, SpacyNames, plausible_name, recognizer_version, trim_name

# The scrubber's own rules (placeholders, normal forms, rounds), then the revisions of the
# recognisers it runs: benchroute's PII recognisers and its name rules.
SCRUBBER_VERSION = "scrub-1 (pii-2, names-1)"
DEFAULT_MIN_SCORE = 0.4
DEFAULT_ENTITIES: tuple[str, ...] = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_SSN",
    "URL_CREDENTIAL",
    "US_ITIN",
    "UK_NHS",
    "UK_NINO",
    "CRYPTO",
)
# Presidio / find_pii entity -> placeholder tag.
TAGS: dict[str, str] = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP_ADDRESS",
    "US_SSN": "SSN",
    "URL_CREDENTIAL": "URL_CREDENTIAL",
    "US_ITIN": "ITIN",
    "UK_NHS": "NHS",
    "UK_NINO": "NINO",
    "CRYPTO": "CRYPTO",
    "US_PASSPORT": "PASSPORT",
    "US_DRIVER_LICENSE": "DRIVER_LICENSE",
    "US_BANK_NUMBER": "BANK_ACCOUNT",
    "MAC_ADDRESS": "MAC_ADDRESS",
    "URL": "URL",
    "DATE_TIME": "DATE",
}
PERSON = "PERSON"
_ENTITY_OF_TAG = {tag: entity for entity, tag in TAGS.items()}
PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*)_(\d+)>")
_ENTITY_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
_MAX_ROUNDS = 3

# Keys whose values are not free text: ids, provenance, routing, the scrubber's own record.
_RESERVED_METADATA = frozenset(
    {
        "source", "original_id", "perturbation", "perturbation_detail", "scrub", "task_class", "route",
        "outcome", "feedback", "prompt_chars", "answer_index",
    }
)  # fmt: skip
_MESSAGE_KEYS_SKIPPED = frozenset({"role", "type", "tool_call_id", "id"})
# A field whose whole value is a name when it holds one: vars.customer, metadata.contact_name.
_PERSON_FIELD = re.compile(
    r"(?:^|_)(?:name|full_?name|first_?name|last_?name|customer|contact|user|holder|recipient|sender|author"
    r"|assignee|requester|reporter|agent|owner|person|client|caller)(?:_?name)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CustomRecognizer:
    """A pattern from the project file: values matching ``regex`` (Python syntax; its group
    ``value``, if any, is the part replaced) are ``entity`` (an upper-case tag such as
    ``EMPLOYEE_ID``) with confidence ``score``. ``source`` names where it was declared
    (``benchroute.yaml:14``) for error messages."""

    entity: str
    regex: str
    score: float = 0.9
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """A value found in one string: its placeholder ``tag``, span and confidence."""

    tag: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Leak:
    """A value a recogniser still finds in a written case: the case, the field (``input``,
    ``messages.2.content``, ``vars.email``), the entity tag and a masked value."""

    case_id: str
    path: str
    entity: str
    masked: str

    def to_json(self) -> dict[str, str]:
        return {"case": self.case_id, "path": self.path, "entity": self.entity, "masked": self.masked}

    def __str__(self) -> str:
        return f"case {self.case_id}: {self.path}: {self.entity} {self.masked}"


@dataclass
class ScrubReport:
    """What a scrubber replaced: counts only, never values."""

    version: str
    cases_seen: int = 0
    cases_changed: int = 0
    strings_seen: int = 0
    chars_seen: int = 0
    entities: Counter[str] = field(default_factory=Counter)
    names: int = 0
    names_recognizer: str | None = None
    fake: bool = False
    custom: tuple[str, ...] = ()

    def add(self, counts: Counter[str], changed: bool, strings: int, chars: int) -> None:
        self.cases_seen += 1
        self.cases_changed += changed
        self.strings_seen += strings
        self.chars_seen += chars
        for tag, count in counts.items():
            if tag == PERSON:
                self.names += count
            else:
                self.entities[tag] += count

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "scrubber": SCRUBBER_VERSION,
            "cases_seen": self.cases_seen,
            "cases_changed": self.cases_changed,
            "strings_seen": self.strings_seen,
            "chars_seen": self.chars_seen,
            "entities": dict(sorted(self.entities.items())),
            "names": self.names,
            "names_recognizer": self.names_recognizer,
            "fake": self.fake,
            "custom": list(self.custom),
        }


def mask_value(tag: str, value: str) -> str:
    """What a report may show of ``value``: ``j***@example.com``, ``****1111``, ``J***``."""
    from benchroute.scorers import PiiFinding

    if tag == PERSON:
        return value.strip()[:1] + "***"
    return PiiFinding(_ENTITY_OF_TAG.get(tag, tag), 0, len(value), value, 1.0).masked


def normal_form(tag: str, value: str) -> str:
    """The form two writings of one value share (see the module docstring)."""
    value = value.strip()
    if tag in ("PHONE", "CREDIT_CARD", "SSN", "IBAN", "NHS", "ITIN", "NINO", "BANK_ACCOUNT"):
        return re.sub(r"[^0-9A-Za-z+]", "", value).upper()
    if tag == "IP_ADDRESS":
        address, percent, zone = value.partition("%")
        try:
            return ipaddress.ip_address(address).compressed + percent + zone
        except ValueError:
            return value.lower()
    if tag in ("EMAIL", PERSON):
        return " ".join(value.casefold().split())
    return value


# --- the scrubber -------------------------------------------------------------------------------


class Scrubber:
    """Replaces personal data in case dicts (see the module docstring).

    ``entities``: the :func:`~benchroute.scorers.find_pii` entities to look for (default
    :data:`DEFAULT_ENTITIES`); ``min_score``: their cut-off; ``custom``: extra patterns;
    ``names``: ``True`` for the built-in name recogniser, ``False`` for none, or a
    :class:`~benchroute.suites._names.NameRecognizer`; ``fake``: realistic fakes instead of
    placeholders, seeded by ``seed``; ``cache_size``: distinct strings whose findings are
    kept. Raises :class:`~benchroute.ConfigError` for a bad pattern, entity or score, or when
    Presidio or the name model is not installed. Not thread-safe: one per thread.
    """

    def __init__(
        self,
        *,
        entities: Sequence[str] | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        custom: Sequence[CustomRecognizer] = (),
        names: bool | NameRecognizer = True,
        fake: bool = False,
        seed: int = 0,
        cache_size: int = 10_000,
    ) -> None:
        from benchroute.scorers import find_pii

        if not 0.0 <= min_score <= 1.0:
            raise ConfigError(
                f"scrub min_score must be between 0 and 1, got {min_score}", hint="use e.g. 0.4 (the default)"
            )
        self.entities = list(entities) if entities is not None else list(DEFAULT_ENTITIES)
        try:
            find_pii("", self.entities, min_score=min_score)  # checks the names; builds Presidio once
        except ValueError as exc:
            raise ConfigError(f"scrub entities: {exc}", hint="name entities find_pii knows") from exc
        self.min_score = min_score
        self.custom = [_compile(recognizer) for recognizer in custom]
        self.names: NameRecognizer | None = (
            (SpacyNames() if names else None) if isinstance(names, bool) else names
        )
        self.fake = fake
        self.seed = seed
        self._cache: OrderedDict[bytes, tuple[Finding, ...]] = OrderedDict()
        self._cache_size = cache_size
        self._faker: Any = None
        self._anonymizer: Any = None
        self.report = ScrubReport(
            version=self.version,
            names_recognizer=recognizer_version(self.names) if self.names is not None else None,
            fake=fake,
            custom=tuple(entity for entity, _, _ in self.custom),
        )

    @property
    def version(self) -> str:
        """:data:`SCRUBBER_VERSION` with the versions of Presidio and the name recogniser."""
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as package_version

        try:
            presidio = package_version("presidio-analyzer")
        except PackageNotFoundError:  # pragma: no cover - find_pii needed it above
            presidio = "?"
        names = recognizer_version(self.names) if self.names is not None else "off"
        return f"{SCRUBBER_VERSION}; presidio-analyzer {presidio}; names {names}; custom {len(self.custom)}"

    # --- public calls ----------------------------------------------------------------------

    def scrub_case(self, case: dict[str, Any]) -> tuple[dict[str, Any], Counter[str]]:
        """``case`` scrubbed (a new dict; the argument is not changed) and what was replaced,
        by placeholder tag (``PERSON`` included)."""
        ((scrubbed, counts),) = self._scrub_batch([case])
        return scrubbed, counts

    def scrub_cases(
        self, cases: Iterable[dict[str, Any]], *, batch_size: int = 64
    ) -> Iterator[dict[str, Any]]:
        """Each case of ``cases`` scrubbed, in order, holding ``batch_size`` cases at a time;
        :attr:`report` counts them as they go."""
        batch: list[dict[str, Any]] = []
        for case in cases:
            batch.append(case)
            if len(batch) >= batch_size:
                yield from (scrubbed for scrubbed, _ in self._scrub_batch(batch))
                batch = []
        if batch:
            yield from (scrubbed for scrubbed, _ in self._scrub_batch(batch))

    def scrub_text(self, text: str) -> str:
        """One string scrubbed as a case of its own (not counted in :attr:`report`)."""
        if not text:
            return text
        state = _CaseState(self, {"id": "-", "input": text})
        self._run([state])
        return state.texts[0]

    def find(self, texts: Sequence[str]) -> list[tuple[Finding, ...]]:
        """What each of ``texts`` holds, placeholders left out (no case-level rules)."""
        return self._detect(list(texts))

    def leak_check(self, cases: Iterable[dict[str, Any]], *, limit: int = 100) -> list[Leak]:
        """Scan written cases with every recogniser and the case-level name rules: each value
        still found (other than this scrubber's fakes) is a :class:`Leak`, up to ``limit``."""
        leaks: list[Leak] = []
        batch: list[dict[str, Any]] = []

        def check() -> None:
            states = [_CaseState(self, case) for case in batch]
            found = self._detect([text for state in states for text in state.texts])
            position = 0
            for state in states:
                own = found[position : position + len(state.texts)]
                position += len(state.texts)
                for index, findings in state.new_findings(own).items():
                    text = state.texts[index]
                    for finding in findings:
                        value = text[finding.start : finding.end]
                        leaks.append(
                            Leak(
                                state.case_id, state.path(index), finding.tag, mask_value(finding.tag, value)
                            )
                        )
            batch.clear()

        for case in cases:
            batch.append(case)
            if len(batch) >= 64:
                check()
            if len(leaks) >= limit:
                break
        if batch and len(leaks) < limit:
            check()
        return leaks[:limit]

    # --- detection -------------------------------------------------------------------------

    def _detect(self, texts: list[str]) -> list[tuple[Finding, ...]]:
        """Findings per text, from the cache or the recognisers (names batched)."""
        keys = [_digest(text) for text in texts]
        out: list[tuple[Finding, ...] | None] = []
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, texts, strict=True):
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
            elif key not in missing:
                missing[key] = text
            out.append(cached)
        if missing:
            todo = list(missing.values())
            typed = [self._typed(text) for text in todo]
            names = self._find_names(todo, typed)
            for key, typed_found, name_found in zip(missing, typed, names, strict=True):
                self._remember(key, tuple(sorted(typed_found + name_found, key=lambda f: f.start)))
        return [
            found if found is not None else self._cache[key] for found, key in zip(out, keys, strict=True)
        ]

    def _remember(self, key: bytes, findings: tuple[Finding, ...]) -> None:
        self._cache[key] = findings
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _typed(self, text: str) -> tuple[Finding, ...]:
        from benchroute.scorers import find_pii

        blocked = [m.span() for m in PLACEHOLDER.finditer(text)]
        candidates = [
            (Finding(TAGS.get(f.type, f.type), f.start, f.end, f.score), 0)
            for f in find_pii(text, self.entities, min_score=self.min_score)
        ]
        for entity, pattern, score in self.custom:
            for match in pattern.finditer(text):
                start, end = match.span("value") if "value" in pattern.groupindex else match.span()
                if end > start:
                    candidates.append((Finding(entity, start, end, score), 1))
        kept: list[Finding] = []
        for finding, _ in sorted(
            candidates, key=lambda c: (-c[0].score, c[1], c[0].start - c[0].end, c[0].start)
        ):
            if _overlaps(finding, blocked) or any(
                finding.start < k.end and k.start < finding.end for k in kept
            ):
                continue
            kept.append(finding)
        return tuple(sorted(kept, key=lambda f: f.start))

    def _find_names(self, texts: list[str], typed: list[tuple[Finding, ...]]) -> list[tuple[Finding, ...]]:
        """Name findings per text, where no typed finding (``typed``) or placeholder is."""
        if self.names is None:
            return [() for _ in texts]
        spans = self.names.find_names(texts)
        out = []
        for text, found, typed_found in zip(texts, spans, typed, strict=True):
            blocked = [m.span() for m in PLACEHOLDER.finditer(text)] + [(f.start, f.end) for f in typed_found]
            names = []
            for start, end in found:
                start, end = trim_name(text, start, end)
                finding = Finding(PERSON, start, end, NAME_SCORE)
                if end > start and plausible_name(text[start:end]) and not _overlaps(finding, blocked):
                    names.append(finding)
            out.append(tuple(names))
        return out

    # --- replacing -------------------------------------------------------------------------

    def _scrub_batch(self, cases: list[dict[str, Any]]) -> list[tuple[dict[str, Any], Counter[str]]]:
        states = [_CaseState(self, case) for case in cases]
        self._run(states)
        out = []
        for state in states:
            scrubbed = state.rebuild()
            self.report.add(state.counts, state.changed, len(state.texts), sum(map(len, state.originals)))
            out.append((scrubbed, state.counts))
        return out

    def _run(self, states: list[_CaseState]) -> None:
        """Detect, replace, and scan the replaced strings again until nothing is found."""
        pending = [(state, list(range(len(state.texts)))) for state in states]
        for _ in range(_MAX_ROUNDS):
            texts = [state.texts[i] for state, indexes in pending for i in indexes]
            if not texts:
                return
            found = self._detect(texts)
            position = 0
            next_pending = []
            for state, indexes in pending:
                own = dict(zip(indexes, found[position : position + len(indexes)], strict=True))
                position += len(indexes)
                changed = state.replace(own)
                if changed:
                    next_pending.append((state, changed))
            pending = next_pending

    def anonymize(
        self, text: str, findings: Sequence[Finding], replacements: dict[tuple[str, str], str]
    ) -> str:
        """``text`` with each finding replaced through Presidio's anonymizer (custom operator)."""
        from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

        if self._anonymizer is None:
            from presidio_anonymizer import AnonymizerEngine

            self._anonymizer = AnonymizerEngine()  # type: ignore[no-untyped-call]
        results = [RecognizerResult(f.tag, f.start, f.end, f.score) for f in findings]
        operators = {
            tag: OperatorConfig("custom", {"lambda": lambda value, tag=tag: replacements[(tag, value)]})
            for tag in {f.tag for f in findings}
        }
        result = self._anonymizer.anonymize(
            text, results, operators=operators, merge_entities_with_spaces=False
        )
        return str(result.text)

    def fake_value(self, tag: str, value: str, attempt: int) -> str:
        """A realistic stand-in for ``value`` (see :func:`_fake`)."""
        if self._faker is None:
            try:
                from faker import Faker
            except ImportError as exc:
                raise ConfigError(
                    f"fake values need Faker, which is not installed ({exc})",
                    hint="pip install 'benchroute[holdouts]', or scrub with placeholders",
                ) from exc
            self._faker = Faker("en_US")
        seed = int.from_bytes(
            hashlib.blake2b(
                f"{self.seed}\0{tag}\0{normal_form(tag, value)}\0{attempt}".encode(), digest_size=8
            ).digest()
        )
        self._faker.seed_instance(seed)
        return _fake(tag, value, random.Random(seed), self._faker)

    def fake_digest(self, value: str) -> str:
        """A keyed digest of a fake (never of a real value), stored with the case."""
        key = hashlib.blake2b(str(self.seed).encode(), digest_size=16).digest()
        folded = re.sub(r"[\W_]", "", value.casefold())
        return hashlib.blake2b(folded.encode("utf-8", "surrogatepass"), key=key, digest_size=8).hexdigest()


# --- one case ----------------------------------------------------------------------------------


class _CaseState:
    """The strings of one case while it is scrubbed, with its placeholder numbering."""

    def __init__(self, scrubber: Scrubber, case: dict[str, Any]) -> None:
        self.scrubber = scrubber
        self.case = case
        self.case_id = str(case.get("id", "?"))
        self.paths: list[tuple[str | int, ...]] = []
        self.texts: list[str] = []
        for path, text in _strings(case):
            self.paths.append(path)
            self.texts.append(text)
        self.originals = list(self.texts)
        self.counts: Counter[str] = Counter()
        self.changed = False
        self.next_number: Counter[str] = Counter()
        for text in self.texts:
            for match in PLACEHOLDER.finditer(text):
                tag, number = match.group(1), int(match.group(2))
                self.next_number[tag] = max(self.next_number[tag], number)
        self.replacement_of: dict[tuple[str, str], str] = {}  # (tag, normal form) -> placeholder
        self.name_alias: dict[str, tuple[str, int]] = {}  # a name's word -> (full name, word index)
        self.names_seen: dict[str, str] = {}  # normal form -> a written form
        self.fakes: set[str] = set()  # digests of this case's fakes
        self.real_values: set[str] = set()
        existing = case.get("metadata", {}).get("scrub") if isinstance(case.get("metadata"), dict) else None
        if isinstance(existing, dict) and isinstance(existing.get("fakes"), list):
            self.fakes.update(str(d) for d in existing["fakes"])

    def path(self, index: int) -> str:
        return ".".join(str(part) for part in self.paths[index])

    def new_findings(
        self, found: dict[int, tuple[Finding, ...]] | list[tuple[Finding, ...]]
    ) -> dict[int, list[Finding]]:
        """The findings that need replacing: the recognisers' (without this case's fakes),
        a person field's whole value, and the words of names already found in the case."""
        items = found.items() if isinstance(found, dict) else enumerate(found)
        out: dict[int, list[Finding]] = {}
        for index, findings in items:
            text = self.texts[index]
            kept = [f for f in findings if not self._is_fake(text[f.start : f.end])]
            if not any(f.tag == PERSON for f in kept) and self.scrubber.names is not None:
                whole = self._person_field(index)
                if whole is not None and not any(f.start < whole.end and whole.start < f.end for f in kept):
                    kept.append(whole)
            if kept:
                out[index] = sorted(kept, key=lambda f: f.start)
        if self.scrubber.names is not None:
            for index, chosen in out.items():
                text = self.texts[index]
                for f in chosen:
                    if f.tag == PERSON:
                        self._learn_name(text[f.start : f.end])
            if self.name_alias:
                pattern = _alias_pattern(self.name_alias)
                for index, text in enumerate(self.texts):
                    have = out.get(index, [])
                    blocked = [m.span() for m in PLACEHOLDER.finditer(text)]
                    extra = []
                    for match in pattern.finditer(text):
                        finding = Finding(PERSON, match.start(), match.end(), NAME_SCORE)
                        if _overlaps(finding, blocked):
                            continue
                        crossed = [f for f in have if f.start < finding.end and finding.start < f.end]
                        # A known name found in part ("Souza" of "Ana Souza") is replaced whole,
                        # so that it reads <PERSON_1> as everywhere else, not "<PERSON_1> <PERSON_1>".
                        if all(
                            f.tag == PERSON and finding.start <= f.start and f.end <= finding.end
                            for f in crossed
                        ):
                            have = [f for f in have if f not in crossed]
                            extra.append(finding)
                    if extra:
                        out[index] = sorted(have + extra, key=lambda f: f.start)
        return out

    def _is_fake(self, value: str) -> bool:
        return bool(self.fakes) and self.scrubber.fake_digest(value) in self.fakes

    def _person_field(self, index: int) -> Finding | None:
        path = self.paths[index]
        if len(path) != 2 or path[0] not in ("vars", "metadata") or not isinstance(path[1], str):
            return None
        if not _PERSON_FIELD.search(path[1]):
            return None
        text = self.texts[index]
        start, end = trim_name(text, 0, len(text))
        if end > start and plausible_name(text[start:end]) and len(text[start:end].split()) <= 4:
            return Finding(PERSON, start, end, NAME_SCORE)
        return None

    def _learn_name(self, name: str) -> None:
        key = normal_form(PERSON, name)
        self.names_seen.setdefault(key, name)
        words = name.split()
        for position, word in enumerate(words):
            if len(word) >= 3 and word[0].isupper() and word not in self.name_alias:
                self.name_alias[word] = (name, position) if len(words) > 1 else (name, -1)
        self.name_alias.setdefault(name, (name, -1))

    def replace(self, found: dict[int, tuple[Finding, ...]]) -> list[int]:
        """Replace what ``found`` holds; the indexes of the strings changed."""
        todo = self.new_findings(found)
        if not todo:
            return []
        for index, findings in todo.items():
            for f in findings:
                self.real_values.add(normal_form(f.tag, self.texts[index][f.start : f.end]))
        changed = []
        for index in sorted(todo):
            text = self.texts[index]
            replacements: dict[tuple[str, str], str] = {}
            for f in todo[index]:
                value = text[f.start : f.end]
                replacements[(f.tag, value)] = self._replacement(f.tag, value)
                self.counts[f.tag] += 1
            new = self.scrubber.anonymize(text, todo[index], replacements)
            if new != text:
                self.texts[index] = new
                self.changed = True
                changed.append(index)
        return changed

    def _replacement(self, tag: str, value: str) -> str:
        alias_word = -1
        if tag == PERSON and value in self.name_alias:
            full, alias_word = self.name_alias[value]
            if full != value:
                value = full
            else:
                alias_word = -1
        key = (tag, normal_form(tag, value))
        if key not in self.replacement_of:
            if self.scrubber.fake:
                self.replacement_of[key] = self._new_fake(tag, value)
            else:
                self.next_number[tag] += 1
                self.replacement_of[key] = f"<{tag}_{self.next_number[tag]}>"
        replacement = self.replacement_of[key]
        if alias_word >= 0 and self.scrubber.fake:
            words = replacement.split()
            return words[alias_word] if alias_word < len(words) else replacement
        return replacement

    def _new_fake(self, tag: str, value: str) -> str:
        used = {v for v in self.replacement_of.values()}
        for attempt in range(20):
            fake = self.scrubber.fake_value(tag, value, attempt)
            if normal_form(tag, fake) not in self.real_values and fake not in used:
                break
        self.fakes.add(self.scrubber.fake_digest(fake))
        for word in fake.split() if tag == PERSON else ():
            self.fakes.add(self.scrubber.fake_digest(word))
        return fake

    def rebuild(self) -> dict[str, Any]:
        replaced = {
            path: text
            for path, text, original in zip(self.paths, self.texts, self.originals, strict=True)
            if text != original
        }
        case: dict[str, Any] = _replace_strings(self.case, (), replaced)
        metadata = dict(case.get("metadata") or {})
        record: dict[str, Any] = {"version": SCRUBBER_VERSION}
        if self.fakes:
            record["fakes"] = sorted(self.fakes)
        metadata["scrub"] = record
        case["metadata"] = metadata
        return case


# --- helpers ------------------------------------------------------------------------------------


def _compile(recognizer: CustomRecognizer) -> tuple[str, re.Pattern[str], float]:
    where = f"{recognizer.source}: " if recognizer.source else ""
    if not _ENTITY_NAME.fullmatch(recognizer.entity):
        raise ConfigError(
            f"{where}custom recogniser entity {recognizer.entity!r} is not an upper-case tag",
            hint="use letters, digits and _ starting with a letter, e.g. EMPLOYEE_ID",
        )
    if not 0.0 <= recognizer.score <= 1.0:
        raise ConfigError(
            f"{where}custom recogniser {recognizer.entity}: score must be between 0 and 1, "
            f"got {recognizer.score}",
            hint="use e.g. 0.9",
        )
    try:
        pattern = re.compile(recognizer.regex)
    except re.error as exc:
        raise ConfigError(
            f"{where}custom recogniser {recognizer.entity}: invalid regex ({exc})",
            hint="fix the pattern (Python `re` syntax; quote it in YAML and escape backslashes "
            "in double quotes)",
        ) from exc
    return recognizer.entity, pattern, recognizer.score


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _overlaps(finding: Finding, spans: list[tuple[int, int]]) -> bool:
    return any(finding.start < end and start < finding.end for start, end in spans)


def _alias_pattern(aliases: dict[str, tuple[str, int]]) -> re.Pattern[str]:
    words = sorted(aliases, key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(re.escape(w) for w in words) + r")(?![\w])")


def _strings(case: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """``(path, text)`` for every string of ``case`` that can hold personal data."""
    for key, value in case.items():
        if key == "id":
            continue
        if key == "metadata" and isinstance(value, dict):
            for name, item in value.items():
                if name not in _RESERVED_METADATA:
                    yield from _walk(item, ("metadata", name), skip=frozenset())
        elif key == "messages":
            yield from _walk(value, ("messages",), skip=_MESSAGE_KEYS_SKIPPED)
        else:
            yield from _walk(value, (key,), skip=frozenset())


def _walk(
    value: Any, path: tuple[str | int, ...], skip: frozenset[str]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        if value:
            yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in skip:
                yield from _walk(item, (*path, key), skip)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index), skip)


def _replace_strings(
    value: Any, path: tuple[str | int, ...], replaced: dict[tuple[str | int, ...], str]
) -> Any:
    if isinstance(value, str):
        return replaced.get(path, value)
    if isinstance(value, dict):
        return {key: _replace_strings(item, (*path, key), replaced) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_strings(item, (*path, index), replaced) for index, item in enumerate(value)]
    return value


def leak_check(
    cases: Iterable[dict[str, Any]], *, scrubber: Scrubber | None = None, limit: int = 100
) -> list[Leak]:
    """:meth:`Scrubber.leak_check` with ``scrubber`` (default: a new one with the default
    recognisers and names)."""
    return (scrubber or Scrubber()).leak_check(cases, limit=limit)


# --- fakes ---------------------------------------------------------------------------------------

_DOC_NETWORKS_V4 = ("192.0.2.", "198.51.100.", "203.0.113.")  # RFC 5737


def _luhn_complete(body: str) -> str:
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char)
        if index % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return body + str((10 - total % 10) % 10)


def _shape(value: str, rng: random.Random, keep: int = 0) -> str:
    """``value`` with each letter and digit after the first ``keep`` alphanumerics replaced by
    a random one of its kind, everything else kept."""
    out, seen = [], 0
    for char in value:
        if char.isalnum():
            seen += 1
            if seen > keep:
                if char.isdigit():
                    char = rng.choice(string.digits)
                elif char.isupper():
                    char = rng.choice(string.ascii_uppercase)
                else:
                    char = rng.choice(string.ascii_lowercase)
        out.append(char)
    return "".join(out)


def _fake(tag: str, value: str, rng: random.Random, faker: Any) -> str:
    """A stand-in for ``value`` that looks like one of its kind (see the module docstring)."""
    if tag == "EMAIL":
        return f"{faker.user_name()}@{rng.choice(('example.com', 'example.net', 'example.org'))}"
    if tag == PERSON:
        words = value.split()
        if len(words) == 1:
            return str(faker.first_name())
        return " ".join([faker.first_name(), *(faker.last_name() for _ in words[1:])])
    if tag == "CREDIT_CARD":
        digits = re.sub(r"\D", "", value)
        body = digits[:2] + "".join(rng.choice(string.digits) for _ in digits[2:-1])
        digit = iter(_luhn_complete(body))
        return "".join(next(digit) if c.isdigit() else c for c in value)
    if tag == "IBAN":
        compact = re.sub(r"[^0-9A-Za-z]", "", value).upper()
        bban = _shape(compact[4:], rng)
        number = int("".join(str(int(c, 36)) for c in bban + compact[:2] + "00"))
        char = iter(compact[:2] + f"{98 - number % 97:02d}" + bban)
        return "".join(next(char) if c.isalnum() else c for c in value)
    if tag == "IP_ADDRESS":
        if ":" in value:
            groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(4)]
            return str(ipaddress.IPv6Address("2001:db8::" + ":".join(groups)).compressed)
        return rng.choice(_DOC_NETWORKS_V4) + str(rng.randint(1, 254))
    if tag == "PHONE":
        keep = 1
        if value.lstrip("(").startswith(("+", "00")):
            keep = _country_code_length(value) + (2 if value.lstrip("(").startswith("00") else 0)
        fake = _shape(value, rng, keep=keep)
        # A leading 0 after the kept part would change the number's kind; avoid it.
        lead = re.compile(rf"^([^\d]*(?:\d[^\d]*){{{keep}}})0")
        return lead.sub(lambda m: m.group(1) + str(rng.randint(2, 9)), fake)
    if tag == "SSN":
        area = rng.choice([a for a in range(1, 900) if a != 666])
        digits = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
        digit = iter(digits)
        return "".join(next(digit) if c.isdigit() else c for c in value)
    return _shape(value, rng)


def _country_code_length(value: str) -> int:
    try:
        import phonenumbers

        number = phonenumbers.parse(
            value if value.lstrip("(").startswith("+") else "+" + value.lstrip("(")[2:]
        )
        return len(str(number.country_code))
    except Exception:
        return 2
