"""Finding personal data in text: :func:`find_pii`, used by the ``pii_leakage`` scorer and by
anything that must scrub text before it is kept (holdout sets built from logs).

Design
------
Two kinds of recognisers run over the text, and one set of rules settles what they report.

* **benchroute's own, validated recognisers** for the values that are digit strings: phone
  numbers, payment cards, US social security numbers, and credentials in URL query strings.
  Digit strings are everywhere (order ids, dates, prices, versions), so each candidate is
  *validated* before it is reported, and its confidence comes from how it is written:

  - Phone numbers are checked with ``phonenumbers`` (Google's libphonenumber metadata, a
    Presidio dependency). A number written with its country code (``+44 (0)20 …``,
    ``0049 30 …``) must be a valid number of that country: 0.85. A national number
    (``020 7946 0958``, ``01.23.45.67.89``, ``03-1234-5678``, ``98765 43210``) must be valid in
    one of :data:`PHONE_REGIONS` *and* grouped the way that country groups its numbers (the
    library's strict-grouping check, which also wants the trunk ``0`` where the country
    writes one): 0.7. That check is what tells ``212-555-0123`` from ``2023-118842`` or
    ``90210-1234``. A national number that starts with its trunk ``0`` may be grouped any
    way (``0171 386 24 13``) or not at all (``0612345678``: 0.6). Valid but oddly grouped, or
    an unformatted run of digits without the ``0``: 0.4, below the default cut-off, because
    ``5478582371`` is as likely an order number as a phone number. An extension (``x123``,
    ``ext. 12``) is part of the finding.
    Presidio's own phone recognizer gives every match 0.4 and only a context word lifts it
    over 0.5, which is why most numbers were missed.
  - Cards: 13 to 19 digits, in one run or in groups with one kind of separator, with the
    prefix and length of a card scheme (Visa, Mastercard 51–55 and 2221–2720, Amex,
    Discover, JCB, Diners, UnionPay, Maestro, Mir) and a valid Luhn check digit: 1.0. A
    Luhn-invalid number is never a card.
  - SSNs: ``AAA-GG-SSSS`` (dashes, spaces or dots, one kind) with an area, group and serial
    the SSA issues (no 000, 666 or 9xx area, no 00 group, no 0000 serial, not a published
    sample number): 0.7; nine bare digits only after a label such as "SSN": 0.85.
  - ``URL_CREDENTIAL``: the value of a query parameter named like a credential (``token``,
    ``access_token``, ``api_key``, ``key``, ``sig``, ``signature``, ``X-Amz-Signature``,
    ``client_secret``, ``password``, …) in a URL, unless it is a placeholder
    (``YOUR_API_KEY``, ``<token>``, ``{sig}``, ``xxxx``) or too plain to be a secret: 0.9.
    The finding is the value only, so a scrubber can keep the URL and drop the secret.

* **Presidio's pattern recognizers** for the rest: e-mail (domain checked against the public
  suffix list bundled with tldextract, so nothing is downloaded), IBAN (checksum), IP
  addresses, US ITIN, UK NHS and NINO numbers, crypto addresses and the opt-in entities. No
  spaCy model can be assumed to be installed, so the engine runs on a *blank* English
  pipeline (a tokenizer, no model) plus one component that copies each token's lower-case
  form into its lemma, which Presidio's context enhancer compares with its context words.
  NER entities (PERSON, LOCATION) are therefore unavailable. The analyzer takes seconds to
  build, so it is built once per process, lazily and under a lock; ``analyze`` is run one at
  a time because Presidio does not promise it is thread-safe.

* **The label before a value.** The nearest label in the 48 characters before a number, on
  the same line, is read: a phone label ("phone", "call", "mobile", "Tel.", "Telefon",
  "téléphone", …) raises a phone number's confidence by 0.25; an identifier label ("order",
  "invoice", "tracking", "ref", "ZIP", "version", "code", "account", a currency, …) lowers a
  phone number, an SSN, an NHS number or an IP address to 0.3 (``Order 412-555-0199``,
  ``requires 7.90.16.232 or later``). A number followed by a unit or a currency (``km``,
  ``kg``, ``%``, ``€``) is a quantity. Cards, IBANs and e-mails are validated well enough not
  to need it. A UK NHS number (ten digits with a mod-11 check, so one random ten-digit number
  in eleven passes) without an NHS label scores 0.6, so that a phone number that happens to
  pass the check stays a phone number.

* **One finding per place.** Findings under ``min_score`` are dropped; of those left that
  overlap, the more confident wins (ties: card, IBAN, SSN, phone, then the rest), except
  that a confident value (0.8 or more) wrapping the winners is kept whole: an IBAN over a
  Luhn-valid run of its digits, a phone number over an IPv4-shaped part.

* Long texts are analysed in windows of :data:`PII_WINDOW` characters cut at whitespace,
  with an overlap so that a value across a cut is still seen whole (some of Presidio's
  recognizers are quadratic in the number of matches, and a window bounds that).
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .._errors import ConfigError
from ._util import valid_utf8

# Who finds each entity: benchroute's own recognisers, or the Presidio recognizer class.
OWN = "benchroute"
PII_ENTITIES: dict[str, str] = {
    "EMAIL_ADDRESS": "EmailRecognizer",
    "PHONE_NUMBER": OWN,
    "CREDIT_CARD": OWN,
    "IBAN_CODE": "IbanRecognizer",
    "IP_ADDRESS": "IpRecognizer",
    "US_SSN": OWN,
    "URL_CREDENTIAL": OWN,
    "US_ITIN": "UsItinRecognizer",
    "UK_NHS": "NhsRecognizer",
    "UK_NINO": "UkNinoRecognizer",
    "CRYPTO": "CryptoRecognizer",
    "US_PASSPORT": "UsPassportRecognizer",
    "US_DRIVER_LICENSE": "UsLicenseRecognizer",
    "US_BANK_NUMBER": "UsBankRecognizer",
    "MAC_ADDRESS": "MacAddressRecognizer",
    "URL": "UrlRecognizer",
    "DATE_TIME": "DateRecognizer",
}
# Personal data on its own, reportable at the default cut-off. Passports, licences and bank
# numbers match almost any 9-digit number at 0.05-0.3; URLs, dates and MAC addresses are not
# personal by themselves.
DEFAULT_PII_ENTITIES: tuple[str, ...] = (
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
NER_ENTITIES = frozenset({"PERSON", "LOCATION", "NRP", "ORGANIZATION", "GPE", "NORP", "MEDICAL_LICENSE"})
DEFAULT_MIN_SCORE = 0.5
# National numbers are tried as numbers of these countries (numbers with a country code are
# checked against their own country). Wide enough for the usual European, American and Asian
# formats; permissive plans (CN, SG: any 8 digits) are left out, they would take dates and ids.
PHONE_REGIONS: tuple[str, ...] = (
    "US", "CA", "GB", "IE", "DE", "AT", "CH", "FR", "BE", "NL", "ES", "IT", "SE", "PL",
    "IN", "JP", "AU", "BR", "MX", "NZ", "ZA", "KR", "TR", "AE", "IL", "PH",
)  # fmt: skip

# Where a national number is grouped the country's way without a trunk "0" (elsewhere the
# strict grouping check wants the "0"): NANP, countries without a trunk prefix, and IN and BR,
# whose mobile and area-code formats are written without it.
_NO_TRUNK_REGIONS: tuple[str, ...] = ("US", "CA", "ES", "IT", "PL", "MX", "IN", "BR")

PII_WINDOW = 20_000
_PII_OVERLAP = 200
_ACCOUNT_ENTITIES = frozenset({"CREDIT_CARD", "IBAN_CODE", "US_BANK_NUMBER"})
# Which finding wins an overlap at equal confidence: the better validated one.
# A finding that wraps the overlap's winners replaces them when it is this confident and at
# most this much less confident than each of them.
_WRAPPING_SCORE = 0.8
_WRAPPING_MARGIN = 0.15
_PRIORITY = {"CREDIT_CARD": 0, "IBAN_CODE": 1, "URL_CREDENTIAL": 2, "US_SSN": 3, "PHONE_NUMBER": 4}


@dataclass(frozen=True, slots=True)
class PiiFinding:
    """One value found: its ``type`` (``EMAIL_ADDRESS``, ``PHONE_NUMBER``, ...), where it is
    (``text[start:end]``), the value itself and the recogniser's confidence (0-1)."""

    type: str
    start: int
    end: int
    text: str
    score: float

    @property
    def span(self) -> tuple[int, int]:
        """``(start, end)`` in the analysed text."""
        return self.start, self.end

    @property
    def masked(self) -> str:
        """A form of the value that shows what kind of value it was, not the value."""
        return mask(self.type, self.text)

    def to_json(self) -> dict[str, Any]:
        """Type, place, masked value and confidence: never the value itself."""
        return {
            "type": self.type,
            "start": self.start,
            "end": self.end,
            "masked": self.masked,
            "score": round(self.score, 2),
        }


def mask(entity: str, value: str) -> str:
    """``j***@example.com`` for e-mails, ``****1111`` for cards and accounts, ``***`` for
    credentials, ``2***23`` otherwise."""
    value = value.strip()
    if entity == "EMAIL_ADDRESS" and "@" in value:
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if entity in _ACCOUNT_ENTITIES:
        alnum = [c for c in value if c.isalnum()]
        return "****" + "".join(alnum[-4:]) if len(alnum) > 8 else "****"
    if entity == "URL_CREDENTIAL" or len(value) < 8:
        return "***"
    return f"{value[:1]}***{value[-2:]}"


def check_entities(entities: list[str] | tuple[str, ...]) -> list[str]:
    """``entities`` without duplicates; :class:`ValueError` for an unknown or NER entity."""
    chosen = list(dict.fromkeys(entities))
    if not chosen:
        raise ValueError("entities is empty")
    for entity in chosen:
        if entity in NER_ENTITIES:
            raise ValueError(
                f"entity {entity} needs a NER model, which PII detection does not use; "
                f"supported: {', '.join(PII_ENTITIES)}"
            )
        if entity not in PII_ENTITIES:
            raise ValueError(f"unknown PII entity {entity!r}; supported: {', '.join(PII_ENTITIES)}")
    return chosen


def find_pii(
    text: str,
    entities: list[str] | tuple[str, ...] | None = None,
    *,
    min_score: float = DEFAULT_MIN_SCORE,
) -> list[PiiFinding]:
    """Every personal value in ``text`` (default: :data:`DEFAULT_PII_ENTITIES`) with a
    confidence of at least ``min_score``, in text order, one per place (see the module
    docstring for how each type is recognised and scored). Lower ``min_score`` to 0.3 for
    recall over precision (a scrubber): unformatted digit runs and numbers after an
    identifier label are then reported too. Blocking and CPU-bound: run it in a thread from
    async code. Raises :class:`~benchroute.ConfigError` when the ``scorers`` extra
    (presidio-analyzer) is not installed and a Presidio entity is asked for."""
    chosen = check_entities(entities if entities is not None else DEFAULT_PII_ENTITIES)
    if not 0.0 <= min_score <= 1.0:
        raise ValueError(f"min_score must be between 0 and 1, got {min_score}")
    return [finding for _, found in scan_windows(text, chosen, min_score) for finding in found]


def scan_windows(text: str, entities: list[str], min_score: float) -> Iterator[tuple[int, list[PiiFinding]]]:
    """``(window_end, findings)`` for each window of ``text`` in turn, offsets in ``text``;
    a value across a cut is reported once, by the window it starts in."""
    # spaCy cannot hash lone surrogates; each becomes one "?", so offsets are unchanged.
    clean = valid_utf8(text)
    presidio = [e for e in entities if PII_ENTITIES[e] != OWN]
    own = [e for e in entities if PII_ENTITIES[e] == OWN]
    analyzer = get_analyzer() if presidio else None
    if "PHONE_NUMBER" in own:
        _require_phonenumbers()
    covered = 0  # end of the last kept value: a later window must not re-find part of it
    for start, end, chunk in _windows(clean):
        # The labels before a value may sit in the previous window: the own recognisers (linear
        # scans) see the text from _LABEL_REACH characters before the window.
        lead = max(0, start - _LABEL_REACH)
        candidates = [
            PiiFinding(f.type, f.start + lead, f.end + lead, f.text, f.score)
            for f in _own_findings(clean[lead:start] + chunk, own, min_score)
        ]
        if analyzer is not None:
            candidates += [
                PiiFinding(f.type, f.start + start, f.end + start, f.text, f.score)
                for f in _presidio_findings(analyzer, chunk, presidio)
            ]
        kept = []
        for item in _resolve([c for c in candidates if c.score >= min_score]):
            if not start <= item.start < end or item.start < covered:
                continue  # the previous or next window's, or inside one already seen
            kept.append(PiiFinding(item.type, item.start, item.end, text[item.start : item.end], item.score))
        if kept:
            covered = max(covered, max(f.end for f in kept))
        yield end, kept


def _resolve(findings: list[PiiFinding]) -> list[PiiFinding]:
    """The findings that win their place (see the module docstring), in text order."""
    ranked = sorted(findings, key=lambda f: (-f.score, _PRIORITY.get(f.type, 9), f.start, -f.end))
    kept: list[PiiFinding] = []
    for finding in ranked:
        if not any(finding.start < k.end and k.start < finding.end for k in kept):
            kept.append(finding)
    # A well-validated value wrapping the winners is the value: an IBAN whose digits hold a
    # Luhn-valid run, a "+41 78.112.88.53" phone number around an IPv4-shaped part.
    for wider in sorted(findings, key=lambda f: f.start - f.end):
        if wider in kept or wider.score < _WRAPPING_SCORE:
            continue
        inside = [k for k in kept if wider.start < k.end and k.start < wider.end]
        if inside and all(
            wider.start <= k.start
            and k.end <= wider.end
            and k.end - k.start < wider.end - wider.start
            and wider.score >= k.score - _WRAPPING_MARGIN
            for k in inside
        ):
            kept = [k for k in kept if k not in inside] + [wider]
    return sorted(kept, key=lambda f: (f.start, -f.end))


def _windows(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, chunk)``: the text in windows of about :data:`PII_WINDOW` characters
    cut at whitespace; ``chunk`` runs up to :data:`_PII_OVERLAP` characters past ``end``."""
    size = len(text)
    start = 0
    while start < size:
        if size - start <= PII_WINDOW:
            yield start, size, text[start:]
            return
        end = _cut(text, start + PII_WINDOW, start)
        tail = _cut(text, min(size, end + _PII_OVERLAP), end)
        yield start, end, text[start:tail]
        start = end


def _cut(text: str, position: int, floor: int) -> int:
    """The last whitespace at or before ``position`` and after ``floor``, else ``position``."""
    best = max(text.rfind(space, floor + 1, position + 1) for space in (" ", "\n", "\t"))
    return best if best > floor else position


# --- labels before a value --------------------------------------------------------------------

_PHONE_LABEL = (
    r"phones?|telephone|tel|tele|mobile|mob|cell|cellphone|cellular|call|calls|called|calling|ring|rung"
    r"|text|texts|sms|whatsapp|signal|telegram|fax|contact|contacts|reach|reached|dial|dial-in|hotline"
    r"|helpline|support|service|desk|reception|office|switchboard|landline|extension|ext|voicemail"
    r"|telefon|telefonnummer|handy|mobil|rufnummer|anrufen|t[ée]l[ée]phone|t[ée]l|portable|appeler|appelez"
    r"|tel[ée]fono|m[óo]vil|cellulare|llamar|chiamare|ligar|電話|携帯|ＴＥＬ"
)
_SSN_LABEL = r"ssns?|social\s+security(?:\s+(?:number|no))?|soc\.?\s*sec|ss\s*#|ss\s+no|taxpayer|tin"
_NHS_LABEL = r"nhs|national\s+health|health\s+service|health\s+authority"
# What precedes an identifier, a quantity or a version rather than a person's number.
_ID_LABEL = (
    r"orders?|invoices?|inv|ref|refs|reference|tracking|track|shipment|parcel|package|consignment|waybill"
    r"|sku|part|item|product|model|serial|s/n|sn|isbn|issn|doi|zip|zipcode|postal|postcode|post\s+code"
    r"|plz|code|codes|passcode|pin|otp|confirmation|booking|reservation|ticket|case|claim|policy|account"
    r"|acct|customer\s+(?:id|no|number)|quote|id|ids|no\.|nr\.?|n[º°]|num|po|receipt|transaction|txn|batch|lot"
    r"|version|versions|ver|build|release|patch|firmware|requires|upgrade|port|price|cost|costs|total|amount"
    r"|budget|revenue|balance|usd|eur|gbp|chf|jpy|inr|rs|meeting|conference|room|page|pages|isin|vat|ein"
    r"|registration|reg|chapter|section|clause|figure|fig|table|paragraph|para|appendix|§|licen[cs]e|plate|vin|imei|iccid|mac|checksum|hash|sum|timestamp|epoch"
    r"|ts|time|created|updated|expires|expiry|exp|iat|nbf|duration|elapsed|latency|size|bytes|count|pid|uid|gid|seq"
)
_LABELS = re.compile(
    rf"(?<![\w/])(?:(?P<phone>{_PHONE_LABEL})|(?P<ssn>{_SSN_LABEL})|(?P<nhs>{_NHS_LABEL})|(?P<id>{_ID_LABEL}))"
    r"(?![\w/])",
    re.IGNORECASE,
)
_LABEL_REACH = 48
# The end of a sentence or clause; not the dot of "no.", "Tel." or "Dr.".
_SENTENCE_BREAK = re.compile(r"(?:[;!?]|(?<=[a-z]{4})\.|(?<=\d)\.)\s")
# A number followed by one of these is a quantity or an amount.
_UNIT_AFTER = re.compile(
    r"\s?(?:%|‰|€|\$|£|¥|₹|(?:km|kg|mg|g|m|cm|mm|mi|lbs?|oz|ms|sec|min|hrs?|px|kb|mb|gb|tb|kw|kwh|mph"
    r"|usd|eur|gbp|chf|jpy|inr|dollars?|euros?|pounds?|yen|rupees?|pages|items|units|people|inhabitants"
    r"|votes|views|downloads|steps|calories|words|tokens|bytes)(?![\w]))",
    re.IGNORECASE,
)


def _label_before(text: str, start: int) -> str | None:
    """The kind of the nearest label (``phone``, ``ssn``, ``nhs``, ``id``) before ``start``."""
    floor = max(0, start - _LABEL_REACH, text.rfind("\n", 0, start) + 1)
    # ... and in the same sentence: "Order 1234 ships today; call 415-867-5309" is a phone.
    for sentence in _SENTENCE_BREAK.finditer(text, floor, start):
        floor = sentence.end()
    last = None
    for match in _LABELS.finditer(text, floor, start):
        last = match
    if last is None:
        return None
    # A label names the value right after it: "INV-2022-4633: attacker used 21.140.80.1" is an
    # invoice number and then an address. A number followed by words ends the label's reach;
    # a list ("orders 5478582371, 5478582372") does not.
    between = text[last.end() : start]
    number = re.search(r"\d", between)
    if number is not None and _WORD.search(between, number.end()):
        return None
    # A field of its own starts between them: ``"amount": "12 EUR"}, "remote_addr": "…"``,
    # ``price=12 EUR client_ip=…``: the value is that field's, not the label's.
    if _NEXT_FIELD.search(between):
        return None
    return last.lastgroup


_WORD = re.compile(r"[^\W\d_]{2,}")
_NEXT_FIELD = re.compile(r"""(?:[,;|}\]]|"\s)\s*["']?[A-Za-z_][\w.-]*["']?\s*[:=]""")


# --- phone numbers ----------------------------------------------------------------------------

_SEP = r"(?:[ \u00a0]?[-./][ \u00a0]?|[ \u00a0]|[ \u00a0]?\(0\)[ \u00a0]?)"
_GROUP = r"(?:\(\d{1,5}\)(?:[ \u00a0]?\d{1,15})?|\d{1,15})"
# Groups of digits joined by one separator each (a space, a dash, a dot, a slash, or "(0)"),
# not glued to a word, an id ("ORD-2024"), an amount ("$1") or a decimal ("1.5"), and not
# followed by more digits: the whole run is the candidate or nothing is.
_PHONE_CANDIDATE = re.compile(
    rf"(?<![\w+#$€£¥₹@/\\-])(?<!\d[.,:])(?:\(\+\d{{1,3}}\)[ \u00a0]?|(?:\+|\b00)[ \u00a0]?)?"
    rf"{_GROUP}(?:{_SEP}{_GROUP}){{0,7}}(?P<ext>[ \u00a0]?(?:x|ext\.?|extension)[ \u00a0]?\d{{1,6}})?"
    r"(?![\w@])(?![.,:/-]?\d)"
)
# Shapes that are something else: a ZIP+4 code, an SSN, a time or a range of times.
_NOT_A_PHONE = re.compile(r"\d{5}-\d{4}|\d{3}-\d{2}-\d{4}|\d{1,2}[.:]\d{2}(?:\s?[-–/]\s?\d{1,2}[.:]\d{2})?")
_DATE_LIKE = re.compile(
    r"(?:\d{4}[-./ ](?:0?[1-9]|1[0-2])[-./ ](?:0?[1-9]|[12]\d|3[01])"
    r"|(?:0?[1-9]|[12]\d|3[01])[-./ ](?:0?[1-9]|1[0-2])[-./ ](?:19|20)\d{2}"
    r"|(?:0?[1-9]|1[0-2])[-./ ](?:0?[1-9]|[12]\d|3[01])[-./ ](?:19|20)\d{2})"
)
_IPV4_LIKE = re.compile(r"(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}")
# Dotted groups with a one-digit group after the first: a version or build ("10.0.22271.89").
_VERSION_LIKE = re.compile(r"\d+(?:\.\d+)*\.\d(?:\.\d+)*")
_UNIX_TIME = re.compile(r"1\d{9}(?:\d{3})?")
_INTERNATIONAL = 0.85
_INTERNATIONAL_POSSIBLE = 0.6
_NATIONAL = 0.7
_TRUNK_UNFORMATTED = 0.6
_LOOSE = 0.4
_PHONE_LABEL_BOOST = 0.25
_ID_CAP = 0.3


@lru_cache(maxsize=4096)
def _phone_score(candidate: str, loose_counts: bool = True) -> float:
    """How surely ``candidate`` (a whole digit run as written) is a phone number; 0: not one.
    With ``loose_counts`` false the caller has no use for a :data:`_LOOSE` answer, which
    saves trying the countries that could only give one."""
    import phonenumbers
    from phonenumbers import Leniency

    digits = re.sub(r"\D", "", candidate.replace("(0)", ""))
    if not 7 <= len(digits) <= 15:
        return 0.0
    international = _is_international(candidate)
    if not international and (
        _NOT_A_PHONE.fullmatch(candidate)
        or _DATE_LIKE.fullmatch(candidate)
        or _IPV4_LIKE.fullmatch(candidate)
        # A card scheme's prefix and length: a card number (Luhn-valid ones are found as
        # cards; the rest are mistyped cards or ids shaped like them, not phone numbers).
        or (len(digits) >= 13 and _card_shaped(digits))
        or _VERSION_LIKE.fullmatch(candidate)
    ):
        return 0.0
    if international:
        try:
            number = phonenumbers.parse(candidate.replace("(0)", " "), "DE")  # "00" is DE's exit code
        except phonenumbers.NumberParseException:
            return 0.0
        if phonenumbers.is_valid_number(number):
            return _INTERNATIONAL
        # Written with its country code and of a length that country uses: a phone number,
        # perhaps in a block the metadata does not know yet.
        return _INTERNATIONAL_POSSIBLE if phonenumbers.is_possible_number(number) else 0.0
    formatted = bool(re.search(r"[^\d]", candidate))
    # A national number written with its trunk "0" ("0171 386 24 13", "(0151) 8190 2777") is
    # grouped every which way in practice; the "0" is the evidence, and validity (which for
    # these countries requires it) is enough. Without one, the grouping must be the country's.
    trunk = candidate.lstrip("(").startswith("0")
    best = 0.0
    for region in PHONE_REGIONS if trunk or loose_counts else _NO_TRUNK_REGIONS:
        try:
            if not phonenumbers.is_valid_number(phonenumbers.parse(candidate, region)):
                continue
        except phonenumbers.NumberParseException:
            continue
        best = _LOOSE
        if not formatted:
            # "0612345678", "02079460958": unformatted, but the trunk "0" says national number.
            if re.match(r"0[1-9]\d{8,10}$", candidate) and _valid_as_written(candidate, region):
                return _TRUNK_UNFORMATTED
            continue
        for leniency in (Leniency.STRICT_GROUPING, Leniency.VALID) if trunk else (Leniency.STRICT_GROUPING,):
            if _valid_as_written(candidate, region, leniency):
                return _NATIONAL
    return best


def _is_international(candidate: str) -> bool:
    """Written with a country code: ``+44 …``, ``(+44) …``, ``0044 …`` (not ``000…``)."""
    return candidate.startswith(("+", "(+")) or re.match(r"00[1-9]", candidate) is not None


def _valid_as_written(candidate: str, region: str, leniency: Any = None) -> bool:
    """Whether libphonenumber's matcher, at ``leniency`` (default: valid, with the national
    prefix where the country needs one), takes the whole of ``candidate``."""
    from phonenumbers import Leniency, PhoneNumberMatcher

    level = Leniency.VALID if leniency is None else leniency
    return any(
        match.start == 0 and match.end == len(candidate)
        for match in PhoneNumberMatcher(candidate, region, leniency=level)
    )


def _require_phonenumbers() -> None:
    try:
        import phonenumbers  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"phone number detection needs phonenumbers, which is not installed ({exc})",
            hint="install the scorers extra: pip install 'benchroute[scorers]'",
        ) from exc


def _phones(text: str, min_score: float) -> Iterator[PiiFinding]:
    for match in _PHONE_CANDIDATE.finditer(text):
        # An extension ("x123", "ext. 12") is part of the finding, not of what is validated.
        candidate = match.group(0)[
            : (match.start("ext") if match.group("ext") else match.end()) - match.start()
        ]
        if _UNIT_AFTER.match(text, match.end()):
            continue
        label = _label_before(text, match.start())
        if label != "phone" and _UNIX_TIME.fullmatch(candidate):
            continue  # "ts=1718000000": seconds (or milliseconds) since 1970, 2001 to 2033

        def labelled(score: float, label: str | None = label) -> float:
            if label == "phone":
                return min(1.0, score + _PHONE_LABEL_BOOST)
            return min(score, _ID_CAP) if label == "id" else score

        # Validation is the expensive part: skip it where even a valid number could not reach
        # min_score (an unformatted run, a number after "order"), as in a table of invoices.
        if _is_international(candidate):
            ceiling = _INTERNATIONAL
        elif re.search(r"\D", candidate):
            ceiling = _NATIONAL
        else:
            ceiling = _TRUNK_UNFORMATTED if re.match(r"0[1-9]\d{8,10}$", candidate) else _LOOSE
        if labelled(ceiling) < min_score:
            continue
        score = _phone_score(candidate, labelled(_LOOSE) >= min_score)
        if score:
            yield PiiFinding("PHONE_NUMBER", match.start(), match.end(), match.group(0), labelled(score))


# --- payment cards ----------------------------------------------------------------------------

# A comma is a field separator (a CSV row: ``JP,4111111111111111,"$12"``) unless a digit is on
# its other side as a thousands or decimal separator (``1,234``, ``12,50``).
_CARD_CANDIDATE = re.compile(
    r"(?<![\w./-])(?<!\d,)(?:\d{13,19}|\d{4}(?P<sep>[ .-])\d{3,6}(?:(?P=sep)\d{3,6}){1,3})"
    r"(?![\w])(?![ ./-]?\d)(?!,\d{1,3}(?!\d))"
)
# (first digits, low, high, lengths): the schemes' issuer ranges.
_CARD_SCHEMES: tuple[tuple[int, int, int, frozenset[int]], ...] = (
    (1, 4, 4, frozenset({13, 16, 19})),  # Visa
    (2, 51, 55, frozenset({16})),  # Mastercard
    (4, 2221, 2720, frozenset({16})),  # Mastercard 2-series
    (2, 34, 34, frozenset({15})),  # American Express
    (2, 37, 37, frozenset({15})),
    (4, 6011, 6011, frozenset({16, 17, 18, 19})),  # Discover
    (3, 644, 649, frozenset({16, 17, 18, 19})),
    (2, 65, 65, frozenset({16, 17, 18, 19})),
    (4, 3528, 3589, frozenset({16, 17, 18, 19})),  # JCB
    (3, 300, 305, frozenset({14, 15, 16, 17, 18, 19})),  # Diners Club
    (2, 36, 36, frozenset({14, 15, 16, 17, 18, 19})),
    (2, 38, 39, frozenset({14, 15, 16, 17, 18, 19})),
    (2, 62, 62, frozenset({16, 17, 18, 19})),  # UnionPay
    (2, 50, 50, frozenset(range(12, 20))),  # Maestro
    (2, 56, 69, frozenset(range(12, 20))),
    (4, 2200, 2204, frozenset({16, 17, 18, 19})),  # Mir
)


def luhn_valid(digits: str) -> bool:
    """Whether ``digits`` ends in a valid Luhn check digit."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_shaped(digits: str) -> bool:
    """A card scheme's prefix and length, whatever the check digit."""
    return any(
        len(digits) in lengths and low <= int(digits[:width]) <= high
        for width, low, high, lengths in _CARD_SCHEMES
    )


def is_card_number(digits: str) -> bool:
    """A card scheme's prefix and length, and a valid Luhn check digit."""
    return _card_shaped(digits) and luhn_valid(digits)


def _cards(text: str) -> Iterator[PiiFinding]:
    for match in _CARD_CANDIDATE.finditer(text):
        value = match.group(0)
        digits = re.sub(r"\D", "", value)
        if 13 <= len(digits) <= 19 and is_card_number(digits):
            yield PiiFinding("CREDIT_CARD", match.start(), match.end(), value, 1.0)


# --- US social security numbers ---------------------------------------------------------------

_SSN_CANDIDATE = re.compile(
    r"(?<![\w.,/#$-])(?:\d{3}(?P<sep>[- .])\d{2}(?P=sep)\d{4}|(?P<bare>\d{9}))(?![\w])(?![.,/-]?\d)"
)
# Numbers published as examples (on a wallet insert, in advertising, in documentation).
_SSN_SAMPLES = frozenset({"078051120", "219099999", "123456789", "457555462"})


def is_ssn(digits: str) -> bool:
    """Nine digits the SSA could have issued (area, group and serial in range, not a sample)."""
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return digits not in _SSN_SAMPLES and len(set(digits)) > 1


def _ssns(text: str) -> Iterator[PiiFinding]:
    for match in _SSN_CANDIDATE.finditer(text):
        value = match.group(0)
        digits = re.sub(r"\D", "", value)
        if not is_ssn(digits):
            continue
        label = _label_before(text, match.start())
        if match.group("bare"):
            if label != "ssn":
                continue  # nine bare digits are an SSN only where the text says so
            score = 0.85
        else:
            score = 0.95 if label == "ssn" else _ID_CAP if label == "id" else 0.7
        yield PiiFinding("US_SSN", match.start(), match.end(), value, score)


# --- credentials in URLs ----------------------------------------------------------------------

# A query (or fragment) parameter is a credential when one of the words of its name is one of
# these: "access_token", "apiKey", "X-Amz-Signature", "client_secret", "auth-key" ... ; a word,
# not a substring, so "keyword" and "monkey" are not.
_CREDENTIAL_WORDS = frozenset(
    {
        "token", "tokens", "accesstoken", "authtoken", "apitoken", "key", "apikey", "accesskey", "secret",
        "secretkey", "clientsecret", "sig", "signature", "password", "passwd", "pwd", "pass", "passcode",
        "auth", "credential", "credentials", "session", "sessionid", "sid", "jwt", "bearer", "hmac",
        "otp", "privatekey", "securitytoken",
    }
)  # fmt: skip
_URL_PARAMETER = re.compile(r"[?&;#](?P<name>[A-Za-z][\w.-]{0,63})=(?P<value>[^&#\s\"'<>`]+)")
# scheme://user:password@host: the password (the user name stays, as the host does).
_URL_USERINFO = re.compile(
    r"(?<![\w.+-])[a-z][a-z0-9+.-]{1,15}://[^\s:/?#@\[\]\"'<>]*:(?P<value>[^\s/?\"'<>]+)@(?=[\w\[])",
    re.IGNORECASE,
)
_CREDENTIAL_PLACEHOLDER = re.compile(
    r"^(?:<[^>]*>?|\[[^\]]*\]?|\{[^}]*\}?|\$\{?\w*\}?|%\w+%|:\w+|x{3,}|\*{3,}|\.{3,}|…"
    r"|(?:(?:your|insert|enter|replace)[-_]?|(?:my|the|an?|some)[-_])\S*|\S*(?:here|example|placeholder|changeme|change_me"
    r"|redacted|dummy|sample|secret|token|api_?key|password)\S*)$",
    re.IGNORECASE,
)
_PLAIN_PASSWORDS = frozenset(
    {"pass", "pw", "pwd", "passwd", "user", "username", "admin", "root", "test", "guest"}
)
_URL_TAIL = ".,;:!?)]}'\""


def _name_words(name: str) -> list[str]:
    """``X-Amz-Signature`` -> ``x amz signature``; ``apiKey`` -> ``api key`` and ``apikey``."""
    words = [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)]
    return [*words, *("".join(words[i : i + 2]) for i in range(len(words) - 1))]


def _looks_secret(value: str) -> bool:
    """Long and mixed enough to be a real credential, not a placeholder or a plain word."""
    if len(value) < 8 or _CREDENTIAL_PLACEHOLDER.match(value) or len(set(value)) < 4:
        return False
    has_digit = any(c.isdigit() for c in value)
    has_letter = any(c.isalpha() for c in value)
    mixed_case = any(c.islower() for c in value) and any(c.isupper() for c in value)
    return (has_digit and has_letter) or (mixed_case and len(value) >= 16)


def _looks_password(value: str) -> bool:
    """Anything in a URL's password place but a placeholder (``:password@``, ``:${PW}@``)."""
    return (
        len(value) >= 3 and not _CREDENTIAL_PLACEHOLDER.match(value) and value.lower() not in _PLAIN_PASSWORDS
    )


def find_url_credentials(text: str) -> list[PiiFinding]:
    """Credential values in URLs: query or fragment parameters named like a credential
    (``?token=…``, ``&apiKey=…``, ``&X-Amz-Signature=…``, ``#access_token=…``) and the password
    of ``scheme://user:password@host``: type ``URL_CREDENTIAL``, the span of the value only.
    Needs no optional dependency."""
    found = []
    for match in _URL_PARAMETER.finditer(text):
        if _CREDENTIAL_WORDS.isdisjoint(_name_words(match.group("name"))):
            continue
        start, end = match.span("value")
        while end > start and text[end - 1] in _URL_TAIL:
            end -= 1  # the sentence's punctuation, not the token's
        value = text[start:end]
        if _looks_secret(value):
            found.append(PiiFinding("URL_CREDENTIAL", start, end, value, 0.9))
    for match in _URL_USERINFO.finditer(text):
        start, end = match.span("value")
        value = text[start:end]
        if _looks_password(value):
            found.append(PiiFinding("URL_CREDENTIAL", start, end, value, 0.9))
    return found


# --- the recognisers together ----------------------------------------------------------------


# An IBAN's shape (country, check digits, groups), checksum or not: the digit groups inside
# one are part of an account number, not a phone number or an SSN, even when the checksum is
# wrong (a mistyped IBAN is no phone number either).
_IBAN_SHAPE = re.compile(r"(?<![\w-])[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,3})?(?![\w-])")


def _own_findings(text: str, entities: list[str], min_score: float) -> list[PiiFinding]:
    found: list[PiiFinding] = []
    digits: list[PiiFinding] = []
    if "PHONE_NUMBER" in entities:
        digits += _phones(text, min_score)
    if "US_SSN" in entities:
        digits += _ssns(text)
    if digits:
        accounts = [m.span() for m in _IBAN_SHAPE.finditer(text)]
        found += [f for f in digits if not any(a <= f.start and f.end <= b for a, b in accounts)]
    if "CREDIT_CARD" in entities:
        found += _cards(text)
    if "URL_CREDENTIAL" in entities:
        found += find_url_credentials(text)
    return found


def _presidio_findings(analyzer: Any, text: str, entities: list[str]) -> list[PiiFinding]:
    triggers = _triggers(analyzer)
    # Most texts hold no candidate for most entities: the recognizers' own patterns say so for
    # a fraction of what tokenising the text for Presidio costs.
    wanted = [e for e in entities if _may_find(triggers.get(e, None), text)]
    if not wanted:
        return []
    nlp = analyzer.nlp_engine.nlp["en"]
    with _analysis_lock, nlp.memory_zone():
        # The zone frees the strings the tokenizer added to the vocabulary: without it the
        # vocabulary grows with every new token (ids, hashes, names) and a long import's
        # memory with it.
        results = analyzer.analyze(text, language="en", entities=wanted, score_threshold=0.0)
    found = []
    for item in results:
        score = float(item.score)
        value = text[item.start : item.end]
        if item.entity_type in _DIGIT_ENTITIES and _glued_to_a_number(text, item.start, item.end):
            continue  # "584-3303993-5151282": part of a longer number
        if item.entity_type == "IP_ADDRESS" and ":" in value and not any(c.isdigit() for c in value):
            continue  # "dead::beef", "abc::def": words and scopes, not addresses
        if item.entity_type == "EMAIL_ADDRESS" and _URL_USERINFO_BEFORE.search(
            text[max(0, item.start - 300) : item.start]
        ):
            continue  # "https://bob:hunter2@example.com": the password is the finding
        if item.entity_type in ("UK_NHS", "IP_ADDRESS", "US_ITIN"):
            label = _label_before(text, item.start)
            if label == "id":
                score = min(score, _ID_CAP)
            elif item.entity_type == "UK_NHS" and label != "nhs":
                score = min(score, 0.6)
        found.append(PiiFinding(item.entity_type, item.start, item.end, value, score))
    return found


def _may_find(patterns: tuple[Any, ...] | None, text: str) -> bool:
    """Whether one of an entity's trigger patterns matches (``None``: it always runs)."""
    return patterns is None or any(p.search(text) for p in patterns)


_DIGIT_ENTITIES = frozenset({"UK_NHS", "US_ITIN", "IP_ADDRESS", "US_BANK_NUMBER", "US_PASSPORT"})
_URL_USERINFO_BEFORE = re.compile(r"[a-z][a-z0-9+.-]*://(?:[^\s/?#@:]*:)?\Z", re.IGNORECASE)


def _glued_to_a_number(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` continues a longer run of digits on either side."""
    return bool(re.match(r"[-./]?\d", text[end : end + 2])) or bool(
        re.search(r"\d[-./]?\Z", text[max(0, start - 2) : start])
    )


def _triggers(analyzer: Any) -> dict[str, tuple[Any, ...] | None]:
    """Per Presidio entity, the patterns one of which must match for any of its recognizers
    to report anything (``None``: a recognizer without patterns, always run)."""
    cached: dict[str, tuple[Any, ...] | None] | None = getattr(analyzer, "_benchroute_triggers", None)
    if cached is not None:
        return cached
    import regex
    from presidio_analyzer import PatternRecognizer

    triggers: dict[str, tuple[Any, ...] | None] = {}
    for recognizer in analyzer.registry.recognizers:
        for entity in recognizer.supported_entities:
            patterns: list[Any] = getattr(recognizer, "patterns", None) or []
            if not isinstance(recognizer, PatternRecognizer) or not patterns:
                triggers[entity] = None
                continue
            compiled = tuple(regex.compile(p.regex, flags=recognizer.global_regex_flags) for p in patterns)
            known = triggers.get(entity, ())
            triggers[entity] = None if known is None else known + compiled
    analyzer._benchroute_triggers = triggers
    return triggers


_LEMMA_PIPE = "benchroute_lowercase_lemma"
_analyzer_lock = threading.Lock()
_analysis_lock = threading.Lock()
_analyzer: Any = None


def _build_analyzer() -> Any:
    """Presidio's analyzer on a blank spaCy English pipeline with the Presidio recognizers of
    :data:`PII_ENTITIES` (see the module docstring for why each piece is there)."""
    try:
        with without_torch():
            import spacy
            import tldextract
            from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
            from presidio_analyzer import predefined_recognizers as predefined
            from presidio_analyzer.nlp_engine import SpacyNlpEngine
            from spacy.language import Language
    except ImportError as exc:
        raise ConfigError(
            f"PII detection needs presidio-analyzer, which is not installed ({exc})",
            hint="install the scorers extra: pip install 'benchroute[scorers]'",
        ) from exc

    if not Language.has_factory(_LEMMA_PIPE):

        def lowercase_lemmas(doc: Any) -> Any:
            for token in doc:
                token.lemma_ = token.lower_
            return doc

        Language.component(_LEMMA_PIPE, func=lowercase_lemmas)

    class BlankEnglish(SpacyNlpEngine):
        """Presidio's spaCy engine on a blank pipeline: nothing to load or download."""

        def load(self) -> None:
            nlp = spacy.blank("en")
            nlp.add_pipe(_LEMMA_PIPE)
            # Texts arrive in windows of PII_WINDOW characters; the limit guards against a
            # parser's memory use, and a blank pipeline has no parser.
            nlp.max_length = max(nlp.max_length, PII_WINDOW * 2)
            # Presidio initialises nlp to None and fills it in load(), as its own load() does.
            self.nlp = {"en": nlp}  # type: ignore[assignment]

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(predefined.EmailRecognizer):
        """Presidio's e-mail recognizer, validating domains with the bundled suffix list."""

        def validate_result(self, pattern_text: str) -> bool:
            return bool(offline(pattern_text).fqdn != "")

    registry = RecognizerRegistry(supported_languages=["en"])
    for entity, class_name in PII_ENTITIES.items():
        if class_name == OWN:
            continue
        cls = OfflineEmailRecognizer if entity == "EMAIL_ADDRESS" else getattr(predefined, class_name)
        registry.add_recognizer(cls())
    engine = BlankEnglish(models=[{"lang_code": "en", "model_name": "blank:en"}])
    engine.load()
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])


@contextmanager
def without_torch() -> Iterator[None]:
    """Import spaCy and Presidio without PyTorch and transformers, when neither is loaded yet.

    thinc imports torch if it is installed, Presidio imports transformers and asks torch for
    a GPU, and the two cost about 350 MB of memory and two seconds, for nothing: the blank
    pipeline here (and the CNN pipeline of ``en_core_web_sm``) never run on torch. For the
    time of the import the two modules are marked missing; afterwards they import normally
    (the embeddings scorer still can), and only thinc's PyTorch wrappers, which benchroute
    does not use, stay off in this process."""
    blocked = [name for name in ("torch", "transformers") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, "") is None:
                del sys.modules[name]


def get_analyzer() -> Any:
    """The process-wide Presidio analyzer, built on first use (thread-safe)."""
    global _analyzer
    if _analyzer is None:
        with _analyzer_lock:
            if _analyzer is None:
                _analyzer = _build_analyzer()
    return _analyzer
