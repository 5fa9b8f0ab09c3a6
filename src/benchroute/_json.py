"""JSON read from the wire: orjson's speed without its one lossy case.

orjson reads an integer outside 64 bits (``123456789012345678901``) as a float, silently:
an id or a tool argument would change in transit. A text with a run of 20 or more digits is
read by :mod:`json` instead, which keeps every integer exact (a run inside a string only
costs the slower parse); everything else by orjson. Invalid JSON raises ``ValueError``
(orjson's ``JSONDecodeError`` or json's), as both libraries do.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_INT_BYTES = re.compile(rb"\d{20}")
_LONG_INT_TEXT = re.compile(r"\d{20}")


def loads(raw: bytes | str) -> Any:
    """``raw`` parsed, integers exact."""
    long_int = _LONG_INT_TEXT.search(raw) if isinstance(raw, str) else _LONG_INT_BYTES.search(raw)
    if long_int is not None:
        return json.loads(raw)
    return orjson.loads(raw)
