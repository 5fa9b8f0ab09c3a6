"""Key-value extraction (invoice fields, form fields): ``fields``.

The case's ``expected`` is a mapping of field name to value (a list of values: any of them).
The answer is read as a JSON object (the first one, also inside a code fence; nested objects
are flattened, so ``{"totals": {"total": ...}}`` gives ``total`` as well as
``totals.total``) or, failing that, as ``Key: value`` lines. Field names are compared in a
loose form (case, spaces, dots and dashes ignored: ``Invoice No.`` is ``invoice_no``), and
``aliases`` maps other names the answer may use onto a field.

Values are compared by what the expected value is:

* a number (``1,234.50``, ``€ 99``, ``12%``): the answer's value read as a number (any
  notation, see :mod:`._values`) within ``tolerance`` (default 0.005, half a cent);
* a date (ISO, ``04/03/2026``, ``4 March 2026``): the same calendar day (``dayfirst``
  for numeric dates that could be either);
* anything else: equal after NFKC, casefold and whitespace collapsing.

The value is F1 over the expected fields: precision is right fields over the expected
fields the answer gave a value for, recall is right fields over all expected fields.
Fields the answer adds beyond the expected ones are listed in ``details`` and cost nothing
(an extractor may read more than a suite asks about).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..config import Case
from ..types import Completion
from ._base import Score, Scorer, threshold_passed
from ._util import clip, expected_values
from ._values import Decimal, looks_like_date, normalise_text, parse_date, parse_number

_KEY_CHARS = re.compile(r"[^0-9a-z]+")
_LINE = re.compile(r"^\s*(?:[-*•]\s*)?\**([^:=\n]{1,60}?)\**\s*[:=]\s*(.+?)\s*$")
_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)```", re.S)


def field_key(name: Any) -> str:
    return _KEY_CHARS.sub("_", str(name).casefold()).strip("_")


def _flatten(value: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Leaf values by key path; a nested leaf is also reachable by its own key alone."""
    out: dict[tuple[str, ...], Any] = {}
    for key, item in value.items():
        path = (*prefix, field_key(key))
        if isinstance(item, Mapping):
            for sub_path, sub_value in _flatten(item, path).items():
                out.setdefault(sub_path, sub_value)
                out.setdefault(sub_path[-1:], sub_value)
        else:
            out[path] = item
    return out


def _first_object(text: str) -> dict[str, Any] | None:
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        start = candidate.find("{")
        while start != -1:
            try:
                value, _ = decoder.raw_decode(candidate, start)
            except ValueError:
                start = candidate.find("{", start + 1)
                continue
            if isinstance(value, dict):
                return value
            start = candidate.find("{", start + 1)
    return None


def read_fields(text: str) -> tuple[dict[str, Any], str]:
    """The answer's fields by loose key, and how they were read (``json`` or ``lines``)."""
    value = _first_object(text)
    if value is not None:
        return {".".join(path): item for path, item in _flatten(value).items()}, "json"
    fields: dict[str, Any] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            fields.setdefault(field_key(match[1]), match[2].strip().strip("`\"'"))
    return fields, "lines"


def value_matches(
    got: Any, want: Any, *, tolerance: float = 0.005, decimal: Decimal = None, dayfirst: bool = False
) -> bool:
    """Whether an extracted value is the expected one (number, date or text; see above)."""
    if got is None:
        return False
    if isinstance(want, list):
        return isinstance(got, list) and sorted(map(normalise_text, got)) == sorted(map(normalise_text, want))
    wanted_number = parse_number(want, decimal=decimal) if not looks_like_date(want) else None
    if wanted_number is not None:
        number = parse_number(got, decimal=decimal)
        return number is not None and abs(number - wanted_number) <= tolerance
    if looks_like_date(want) or not isinstance(want, str | int | float):
        wanted_date = parse_date(want, dayfirst=dayfirst)
        if wanted_date is not None:
            return parse_date(got if isinstance(got, str) else str(got), dayfirst=dayfirst) == wanted_date
    return normalise_text(got) == normalise_text(want)


def fields(
    expected: Any = None,
    *,
    aliases: dict[str, list[str] | str] | None = None,
    tolerance: float = 0.005,
    decimal: Decimal = None,
    dayfirst: bool = False,
    threshold: float = 1.0,
) -> Scorer:
    """F1 of extracted fields against the expected mapping (see the module docstring)."""
    alias_keys: dict[str, list[str]] = {}
    for name, others in (aliases or {}).items():
        names = [others] if isinstance(others, str) else list(others)
        alias_keys[field_key(name)] = [field_key(other) for other in names]

    async def score(completion: Completion, case: Case) -> Score:
        want = case.expected if expected is None else expected
        if not isinstance(want, Mapping) or not want:
            raise ValueError(
                f"case {case.id!r}: fields needs expected as a mapping of field to value "
                "(e.g. {invoice_no: INV-001, total: 1234.50})"
            )
        got, how = read_fields(completion.text)
        right: list[str] = []
        wrong: dict[str, str] = {}
        missing: list[str] = []
        for name, value in want.items():
            key = field_key(name)
            candidates = [key, *alias_keys.get(key, [])]
            found = next((got[c] for c in candidates if c in got and got[c] not in (None, "")), None)
            if found is None:
                missing.append(str(name))
                continue
            accepted = expected_values(value) if not isinstance(value, list) else [value]
            if any(
                value_matches(found, option, tolerance=tolerance, decimal=decimal, dayfirst=dayfirst)
                for option in accepted
            ):
                right.append(str(name))
            else:
                wrong[str(name)] = clip(str(found), 60)
        answered = len(right) + len(wrong)
        precision = len(right) / answered if answered else 0.0
        recall = len(right) / len(want)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        known = {field_key(n) for n in want} | {a for names in alias_keys.values() for a in names}
        extra = sorted(k for k in got if k not in known and "." not in k)
        parts = [f"{len(right)}/{len(want)} fields right"]
        if wrong:
            parts.append("wrong: " + ", ".join(f"{k}={v!r}" for k, v in list(wrong.items())[:5]))
        if missing:
            parts.append("missing: " + ", ".join(missing[:8]))
        return Score(
            f1,
            threshold_passed(f1, threshold),
            "; ".join(parts),
            "fields",
            details={
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "right": right,
                "wrong": wrong,
                "missing": missing,
                "extra": extra[:20],
                "read_as": how,
            },
        )

    return score
