"""Small text helpers shared by the scorer modules.

Scorers judge untrusted model output and write what they saw into reasons and ``details``.
The same few chores come up in every one of them, and are done here, once:

* :func:`clip` shortens a value quoted in a reason or in ``details``, marking the cut with
  "…". The limit is the caller's (each scorer chooses how much of a value its reasons show);
  ``collapse_whitespace`` first folds runs of whitespace, newlines included, into one space,
  so that a quoted value keeps the reason on one line.
* :func:`valid_utf8` replaces each lone surrogate (text decoded with ``surrogateescape``, or a
  half of a broken pair) by U+FFFD, so the text can be encoded as UTF-8: tokenizers, HTTP
  clients, scanners that write temporary files and UTF-8 reports all reject surrogates.
* :func:`expected_values` / :func:`expected_texts` read a case's ``expected`` (or a scorer's
  own argument in its place): a list or tuple means "any of these", a scalar is one value,
  and ``None``, whole or as an item (a blank cell in a dataset), is no value at all.

Private to :mod:`benchroute.scorers`; nothing here is public API.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def clip(text: str, limit: int, *, collapse_whitespace: bool = False) -> str:
    """``text`` cut to at most ``limit`` characters, the last one "…" when it was cut."""
    if collapse_whitespace:
        text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def valid_utf8(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (the common case costs one encode)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def expected_values(value: Any) -> list[Any]:
    """The accepted values: a list or tuple is any of its items; ``None`` is none."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    return [item for item in items if item is not None]


def expected_texts(value: Any) -> list[str]:
    """:func:`expected_values` as strings."""
    return [str(item) for item in expected_values(value)]
