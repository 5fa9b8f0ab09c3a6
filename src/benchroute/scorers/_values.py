"""Reading numbers, amounts and dates the way documents write them, for comparison.

Extraction scorers (table cells, invoice fields) compare what a model read off a document
with the ground truth. "1,234.50", "$1 234.50", "1.234,50 €" and "1234.5" are the same
amount; "2026-03-04", "4 March 2026" and "March 4, 2026" are the same date. A comparison of
raw strings would count a correct reading as wrong, so both sides go through the same
normalisation first:

* :func:`parse_number` — a number with optional sign, currency symbol or ISO code, percent
  sign, thousands separators (``,`` ``.`` space, apostrophe, thin space) and either decimal
  mark. When both marks appear, the last one is the decimal mark; a lone mark followed by
  exactly three digits in groups (``1,234`` or ``1.234.567``) is a thousands separator,
  otherwise it is the decimal mark, unless ``decimal=","`` or ``"."`` says which. An
  accounting negative ``(12.00)`` is -12.
* :func:`parse_date` — ISO dates, numeric dates with ``/ - .`` (day first when ``dayfirst``,
  and always for dotted ``04.03.2026``, as Central Europe writes them), and dates with
  English month names in any order (python-dateutil parses those). A value is taken as a
  date only when it looks like one: ISO, day/month/year with separators, or a month name
  with digits; a bare number never becomes a date.
* :func:`normalise_text` — NFKC, casefold, whitespace collapsed.

Private to :mod:`benchroute.scorers`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any, Literal

Decimal = Literal[",", "."] | None

_CURRENCY_CODES = (
    "USD|EUR|GBP|JPY|CHF|CAD|AUD|NZD|SEK|NOK|DKK|PLN|CZK|HUF|INR|CNY|RMB|BRL|MXN|ZAR|SGD|HKD|KRW"
)
_CURRENCY = re.compile(rf"(?:[$€£¥₹₩₽¢]|\b(?:{_CURRENCY_CODES})\b|\b(?:US|CA|AU|NZ|HK|S)\$)", re.I)
_GROUP_SEPARATORS = re.compile(r"(?<=\d)[ \u00a0\u202f\u2009'’](?=\d)")
_NUMBER = re.compile(r"^[+-]?(?:\d[\d.,]*|[.,]\d+)$")
_GROUPED = {
    ",": re.compile(r"^[1-9]\d{0,2}(?:,\d{3})+$"),
    ".": re.compile(r"^[1-9]\d{0,2}(?:\.\d{3})+$"),
}
_MONTHS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|"
    "july|august|september|october|november|december"
)
_MONTH_NAME = re.compile(rf"\b(?:{_MONTHS})\b\.?", re.I)
_ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ].*)?$")
_NUMERIC_DATE = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})$")


def parse_number(text: Any, *, decimal: Decimal = None) -> float | None:
    """The number ``text`` writes, or None when it is not (only) a number."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return float(text)
    if not isinstance(text, str):
        return None
    value = unicodedata.normalize("NFKC", text).strip()
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1].strip()
    value = _CURRENCY.sub("", value).strip()
    percent = value.endswith("%")
    if percent:
        value = value[:-1].strip()
    value = value.replace("\u2212", "-")
    if value.endswith("-") and not value.startswith("-"):
        negative, value = True, value[:-1].strip()  # "12.00-", as some ledgers print it
    if value[:1] in "+-" and len(value) > 1:
        negative ^= value[0] == "-"
        value = value[1:].strip()
    value = _GROUP_SEPARATORS.sub("", value)
    if not value or not _NUMBER.match(value):
        return None
    number = _digits(value, decimal)
    if number is None:
        return None
    return -number if negative else number


def _digits(value: str, decimal: Decimal) -> float | None:
    commas, dots = value.count(","), value.count(".")
    if commas and dots:
        mark = "," if value.rfind(",") > value.rfind(".") else "."
    elif commas or dots:
        only = "," if commas else "."
        if decimal is not None:
            mark = decimal
        elif _GROUPED[only].match(value) and (only == "," or value.count(".") > 1):
            # "1,234" and "1.234.567" group thousands; a single "1.234" reads as a decimal.
            mark = "." if only == "," else ","
        else:
            mark = only
    else:
        mark = "."
    group = "," if mark == "." else "."
    if value.count(mark) > 1:
        return None
    cleaned = value.replace(group, "").replace(mark, ".")
    try:
        return float(cleaned)
    except ValueError:
        return None


def looks_like_date(text: Any) -> bool:
    """Whether ``text`` is written as a date (a four-digit year or a month name, and digits)."""
    if not isinstance(text, str) or not any(ch.isdigit() for ch in text):
        return False
    value = text.strip()
    return bool(_ISO_DATE.match(value) or _NUMERIC_DATE.match(value) or _MONTH_NAME.search(value))


def parse_date(text: Any, *, dayfirst: bool = False) -> dt.date | None:
    """The calendar date ``text`` writes, or None."""
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    if not looks_like_date(text):
        return None
    value = unicodedata.normalize("NFKC", str(text)).strip()
    iso = _ISO_DATE.match(value)
    if iso:
        return _date(int(iso[1]), int(iso[2]), int(iso[3]))
    numeric = _NUMERIC_DATE.match(value)
    if numeric:
        first, separator, second, year = int(numeric[1]), numeric[2], int(numeric[3]), int(numeric[4])
        if year < 100:
            year += 2000 if year < 70 else 1900
        day_first = dayfirst or separator == "." or first > 12
        day, month = (first, second) if day_first else (second, first)
        return _date(year, month, day)
    if not _MONTH_NAME.search(value):
        return None
    from dateutil import parser as date_parser  # a multimodal-extra dependency

    try:
        parsed: dt.datetime = date_parser.parse(value, dayfirst=dayfirst, fuzzy=False)
        return parsed.date()
    except (ValueError, OverflowError):
        return None


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def normalise_text(text: Any) -> str:
    """NFKC, casefold, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", str(text)).casefold().split())


def canonical(
    value: Any, *, numbers: bool = True, dates: bool = False, decimal: Decimal = None, dayfirst: bool = False
) -> str:
    """One comparable string for a value: ``n:<number>`` for a number, ``d:<ISO date>`` for
    a date (when ``dates``), else its normalised text. Two readings of one amount or date
    give the same string."""
    if value is None:
        return ""
    if dates:
        date = parse_date(value, dayfirst=dayfirst)
        if date is not None:
            return f"d:{date.isoformat()}"
    if numbers:
        number = parse_number(value, decimal=decimal)
        if number is not None:
            return f"n:{round(number, 9)!r}"
    return normalise_text(value)
