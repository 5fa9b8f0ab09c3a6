"""Labelled log lines for the scrubber's tests: cases built like production logs (support
tickets, debug logs, multi-turn chats, RAG passages, template vars) with every personal value
recorded by type and span, and decoys (order numbers, versions, dates, prices, UUIDs,
Luhn-invalid card numbers, IBANs with a wrong checksum, SSNs the SSA never issues, credential
URLs with placeholders) that a scrubber must leave alone.

Two corpora are built by two different builders, not by one builder with two seeds:

* ``"dev"``: the corpus the recognisers may be looked at against. English-speaking and big
  EU countries (US, GB, DE, FR, IN, JP, AU), support-ticket and debug-log phrasing, the usual
  ways of writing each value.
* ``"holdout"``: other templates (JSON and key=value logs, CRM notes, e-mail threads, chat
  transcripts), other countries (CA, IT, ES, NL, BR, MX, CH, SE, PL, IE, BE, AT, and numbers
  written with the country code from ZA, SG, KR, NZ, AE, TR, CN), other card schemes, IBANs of
  other countries, other credential parameters and ``user:password@`` URLs, other name
  cultures. Nobody tunes a recogniser against it: it stands for the log lines the project will
  be checked on.

Values are random but valid (phone numbers by libphonenumber's metadata, IBAN and card check
digits computed), so a recogniser cannot pass by knowing the generator's examples.
"""

from __future__ import annotations

import json
import random
import re
import string
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

# The placeholder tags the scrubber uses, which the corpus labels with.
TYPED = ("EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "IP_ADDRESS", "SSN", "URL_CREDENTIAL")
NAMES = "PERSON"
Kind = Literal["dev", "holdout"]


@dataclass(frozen=True, slots=True)
class Entity:
    """A labelled value: ``tag`` (a scrubber tag, or ``DECOY:<kind>``) and its span in the
    string at ``path`` of the case."""

    tag: str
    path: str
    start: int
    end: int
    value: str


@dataclass
class LabelledCase:
    """A case dict as a log import would produce it, with its entities and decoys."""

    case: dict[str, Any]
    entities: list[Entity]
    decoys: list[Entity]
    lines: int  # strings of the case that hold text


# --- building one string ------------------------------------------------------------------------


class _Text:
    """A string built piece by piece, remembering where each labelled value went."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.found: list[tuple[str, int, int, str]] = []

    def add(self, text: str, tag: str | None = None) -> None:
        if tag is not None:
            self.found.append((tag, self.size, self.size + len(text), text))
        self.parts.append(text)
        self.size += len(text)

    def value(self) -> str:
        return "".join(self.parts)


# ``{slot}``, ``{slot#key}`` (the value bound to ``key`` in this case); ``{{`` and ``}}`` are braces.
_SLOT = re.compile(r"\{\{|\}\}|\{(\w+)(?:#(\w+))?\}")


@dataclass
class _Case:
    """One case under construction: values bound by ``{slot#key}`` are reused across its
    strings, the way a conversation repeats an e-mail address."""

    rng: random.Random
    gen: _Generators
    bound: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    entities: list[Entity] = field(default_factory=list)
    decoys: list[Entity] = field(default_factory=list)

    def fill(self, template: str, path: str) -> str:
        text = _Text()
        position = 0
        for match in _SLOT.finditer(template):
            text.add(template[position : match.start()])
            position = match.end()
            if match.group(1) is None:
                text.add(match.group(0)[0])
                continue
            slot, key = match.group(1), match.group(2)
            if key is not None and f"{slot}#{key}" in self.bound:
                pieces = self.bound[f"{slot}#{key}"]
            elif slot == "first" and key is not None and f"name#{key}" in self.bound:
                pieces = [(self.bound[f"name#{key}"][0][0].split(" ")[0], "PERSON")]
            else:
                pieces = self.gen.make(slot, self.rng)
                if key is not None:
                    self.bound[f"{slot}#{key}"] = pieces
            for piece, tag in pieces:
                text.add(piece, tag)
        text.add(template[position:])
        for tag, start, end, value in text.found:
            target = self.decoys if tag.startswith("DECOY:") else self.entities
            target.append(Entity(tag, path, start, end, value))
        return text.value()


# --- values -------------------------------------------------------------------------------------

Pieces = list[tuple[str, str | None]]


def _luhn_digit(body: str) -> str:
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def _group(value: str, sizes: list[int], sep: str) -> str:
    out, at = [], 0
    for size in sizes:
        out.append(value[at : at + size])
        at += size
    if at < len(value):
        out.append(value[at:])
    return sep.join(part for part in out if part)


# (name, prefixes, length, grouping)
_CARDS_DEV = [
    ("visa", ["4"], 16, [4, 4, 4, 4]),
    ("mastercard", ["51", "52", "53", "54", "55"], 16, [4, 4, 4, 4]),
    ("amex", ["34", "37"], 15, [4, 6, 5]),
]
_CARDS_HOLDOUT = [
    ("discover", ["6011", "65"], 16, [4, 4, 4, 4]),
    ("jcb", ["3528", "3530", "3566", "3589"], 16, [4, 4, 4, 4]),
    ("diners", ["36", "300", "305", "38"], 14, [4, 6, 4]),
    ("unionpay", ["62"], 19, [4, 4, 4, 4, 3]),
    ("unionpay16", ["621", "625"], 16, [4, 4, 4, 4]),
    ("maestro", ["6759", "5018", "6304"], 16, [4, 4, 4, 4]),
    ("mc2", ["2221", "2300", "2500", "2720"], 16, [4, 4, 4, 4]),
    ("visa13", ["4"], 13, [4, 4, 5]),
    ("amex", ["34", "37"], 15, [4, 6, 5]),
    ("visa", ["4"], 16, [4, 4, 4, 4]),
]

# IBAN country formats: (country, BBAN pattern): n digit, a upper letter, c alphanumeric.
_IBAN_DEV = [
    ("DE", "18n"), ("GB", "4a14n"), ("FR", "10n11n2n"), ("ES", "20n"), ("NL", "4a10n"), ("IT", "1a10n12n"),
]  # fmt: skip
_IBAN_HOLDOUT = [
    ("BE", "12n"), ("CH", "5n12n"), ("PL", "24n"), ("AT", "16n"), ("SE", "20n"), ("IE", "4a14n"),
    ("PT", "21n"), ("NO", "11n"), ("DK", "14n"), ("FI", "14n"), ("LU", "3n13n"), ("TR", "5n1n16n"),
    ("AE", "3n16n"), ("SA", "2n18n"), ("BR", "8n5n10n1a1c"), ("CZ", "20n"), ("HU", "24n"), ("RO", "4a16c"),
]  # fmt: skip


def _iban_check(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    number = int("".join(str(int(c, 36)) for c in rearranged))
    return f"{98 - number % 97:02d}"


def _bban(rng: random.Random, pattern: str) -> str:
    out = []
    for count, kind in re.findall(r"(\d+)([nac])", pattern):
        for _ in range(int(count)):
            if kind == "n":
                out.append(rng.choice(string.digits))
            elif kind == "a":
                out.append(rng.choice(string.ascii_uppercase))
            else:
                out.append(rng.choice(string.ascii_uppercase + string.digits))
    return "".join(out)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


class _Generators:
    """How each slot is filled; the dev and held-out corpora each have their own subclass."""

    phone_regions: tuple[str, ...] = ()
    phone_styles: tuple[str, ...] = ()
    international_only: tuple[str, ...] = ()
    cards: ClassVar[list[tuple[str, list[str], int, list[int]]]] = []
    ibans: ClassVar[list[tuple[str, str]]] = []
    name_locales: tuple[str, ...] = ()
    email_domains: tuple[str, ...] = ()

    def __init__(self, seed: int) -> None:
        from faker import Faker

        self.faker = Faker(list(self.name_locales))
        self.faker.seed_instance(seed)

    def make(self, slot: str, rng: random.Random) -> Pieces:
        maker: Callable[[random.Random], Pieces] | None = getattr(self, f"g_{slot}", None)
        if maker is None:
            raise KeyError(f"no generator for slot {slot!r}")
        return maker(rng)

    # names
    def person(self, rng: random.Random) -> tuple[str, str]:
        locale = rng.choice(self.name_locales)
        fake = self.faker[locale]
        return fake.first_name(), fake.last_name()

    def g_name(self, rng: random.Random) -> Pieces:
        first, last = self.person(rng)
        return [(f"{first} {last}", "PERSON")]

    def g_first(self, rng: random.Random) -> Pieces:
        return [(self.person(rng)[0], "PERSON")]

    # e-mail
    def email(self, rng: random.Random) -> str:
        first, last = (_ascii(part).replace(" ", "") or "user" for part in self.person(rng))
        local = rng.choice(
            [f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}", f"{first}{rng.randint(1, 99)}"]
        )
        return f"{re.sub(r'[^a-z0-9._]', '', local) or 'user'}@{rng.choice(self.email_domains)}"

    def g_email(self, rng: random.Random) -> Pieces:
        return [(self.email(rng), "EMAIL")]

    # phones
    def phone(self, rng: random.Random) -> Pieces:
        import phonenumbers
        from phonenumbers import PhoneNumberFormat as F
        from phonenumbers import PhoneNumberType as T

        international_only = self.international_only and rng.random() < 0.3
        region = rng.choice(self.international_only if international_only else self.phone_regions)
        kind = rng.choice([T.MOBILE, T.FIXED_LINE])
        example = phonenumbers.example_number_for_type(region, kind)
        national = str(example.national_number)
        keep = min(3, len(national) - 4)
        for _ in range(100):
            candidate = national[:keep] + _digits(rng, len(national) - keep)
            number = phonenumbers.parse("+" + str(example.country_code) + candidate)
            if phonenumbers.is_valid_number(number):
                break
        else:
            number = example
        style = rng.choice(self.phone_styles)
        if international_only and style.startswith("national"):
            style = "intl"
        intl = phonenumbers.format_number(number, F.INTERNATIONAL)
        nat = phonenumbers.format_number(number, F.NATIONAL)
        e164 = phonenumbers.format_number(number, F.E164)
        code = f"+{number.country_code}"
        rest = intl[len(code) :].strip()
        trunk = nat.lstrip("(").startswith("0")
        written: str
        prefix = ""
        if style == "intl":
            written = intl
        elif style == "e164":
            written = e164
        elif style == "national":
            written = nat
        elif style == "intl_dash":
            written = code + "-" + re.sub(r"[ ]", "-", rest)
        elif style == "intl_dot":
            written = code + " " + re.sub(r"[ -]", ".", rest)
        elif style == "00":
            written = "00" + intl[1:]
        elif style == "intl_trunk" and trunk and region not in ("IT",):
            written = f"{code} (0){rest}" if rng.random() < 0.5 else f"{code} (0) {rest}"
        elif style == "rfc3966":
            prefix, written = "tel:", code + "-" + re.sub(r"[ ]", "-", rest)
        elif style == "national_dash":
            written = re.sub(r"[ ]", "-", nat.replace("(", "").replace(")", ""))
        elif style == "national_compact" and trunk:
            written = re.sub(r"\D", "", nat)
        elif style == "us" and region in ("US", "CA"):
            digits = str(number.national_number)
            written = rng.choice(
                [
                    f"({digits[:3]}) {digits[3:6]}-{digits[6:]}",
                    f"{digits[:3]}-{digits[3:6]}-{digits[6:]}",
                    f"{digits[:3]}.{digits[3:6]}.{digits[6:]}",
                    f"+1 {digits[:3]} {digits[3:6]} {digits[6:]}",
                    f"1-{digits[:3]}-{digits[3:6]}-{digits[6:]}",
                ]
            )
        else:
            written = intl
        pieces: Pieces = [(prefix, None)] if prefix else []
        pieces.append((written, "PHONE"))
        return pieces

    def g_phone(self, rng: random.Random) -> Pieces:
        return self.phone(rng)

    # cards
    def card_digits(self, rng: random.Random, valid: bool = True) -> tuple[str, list[int]]:
        _, prefixes, length, grouping = rng.choice(self.cards)
        body = rng.choice(prefixes)
        body += _digits(rng, length - 1 - len(body))
        check = _luhn_digit(body)
        if not valid:
            check = str((int(check) + rng.randint(1, 9)) % 10)
        return body + check, grouping

    def card_written(self, rng: random.Random, valid: bool = True) -> str:
        digits, grouping = self.card_digits(rng, valid)
        sep = rng.choice([" ", " ", "-", ""])
        return _group(digits, grouping, sep) if sep else digits

    def g_card(self, rng: random.Random) -> Pieces:
        return [(self.card_written(rng), "CREDIT_CARD")]

    def g_bad_card(self, rng: random.Random) -> Pieces:
        return [(self.card_written(rng, valid=False), "DECOY:luhn_invalid_card")]

    # IBANs
    def iban_compact(self, rng: random.Random, valid: bool = True) -> str:
        country, pattern = rng.choice(self.ibans)
        bban = _bban(rng, pattern)
        check = _iban_check(country, bban)
        if not valid:
            check = f"{(int(check) + rng.randint(1, 50)) % 97 + 2:02d}"
            if check == _iban_check(country, bban):
                check = f"{(int(check) + 1) % 97 + 2:02d}"
        return country + check + bban

    def iban_written(self, rng: random.Random, valid: bool = True) -> str:
        compact = self.iban_compact(rng, valid)
        return _group(compact, [4] * 9, " ") if rng.random() < 0.6 else compact

    def g_iban(self, rng: random.Random) -> Pieces:
        return [(self.iban_written(rng), "IBAN")]

    def g_bad_iban(self, rng: random.Random) -> Pieces:
        return [(self.iban_written(rng, valid=False), "DECOY:bad_iban_checksum")]

    # IP addresses
    def ipv4(self, rng: random.Random) -> str:
        first = rng.choice([10, 172, 192, rng.randint(11, 223)])
        if first == 127:
            first = 128
        if first == 192:
            return f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        if first == 172:
            return f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"

    def ipv6(self, rng: random.Random) -> str:
        import ipaddress

        groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
        style = rng.choice(["full", "compressed", "linklocal", "doc", "zeros"])
        if style == "full":
            return ":".join(g.zfill(4) if rng.random() < 0.5 else g for g in groups)
        if style == "linklocal":
            return rng.choice(["fe80::1", f"fe80::{groups[0]}:{groups[1]}", f"fe80::{groups[2]}"])
        if style == "doc":
            return rng.choice(
                ["2001:db8::8a2e:370:7334", f"2001:db8::{groups[3]}", f"2001:db8:{groups[4]}::1"]
            )
        if style == "zeros":
            groups[2:5] = ["0", "0", "0"]
        return str(ipaddress.IPv6Address(":".join(groups)).compressed)

    def g_ipv4(self, rng: random.Random) -> Pieces:
        return [(self.ipv4(rng), "IP_ADDRESS")]

    def g_ipv6(self, rng: random.Random) -> Pieces:
        return [(self.ipv6(rng), "IP_ADDRESS")]

    def g_ip(self, rng: random.Random) -> Pieces:
        return self.g_ipv6(rng) if rng.random() < 0.4 else self.g_ipv4(rng)

    # SSNs
    def ssn_digits(self, rng: random.Random) -> str:
        while True:
            area = rng.randint(1, 899)
            if area != 666:
                break
        return f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"

    def g_ssn(self, rng: random.Random) -> Pieces:
        digits = self.ssn_digits(rng)
        return [(f"{digits[:3]}-{digits[3:5]}-{digits[5:]}", "SSN")]

    def g_bad_ssn(self, rng: random.Random) -> Pieces:
        area = rng.choice(["000", "666"])
        return [(f"{area}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}", "DECOY:unissued_ssn")]

    # credentials in URLs
    def secret(self, rng: random.Random) -> str:
        style = rng.choice(["hex", "b64", "mixed", "jwt", "prefixed"])
        if style == "hex":
            return "".join(rng.choice("0123456789abcdef") for _ in range(rng.choice([32, 40, 64])))
        if style == "b64":
            return "".join(
                rng.choice(string.ascii_letters + string.digits + "-_") for _ in range(rng.randint(20, 43))
            )
        if style == "jwt":

            def part(n: int) -> str:
                return "".join(rng.choice(string.ascii_letters + string.digits + "-_") for _ in range(n))

            return f"eyJ{part(20)}.eyJ{part(30)}.{part(25)}"
        if style == "prefixed":
            return rng.choice(["sk_live_", "ghp_", "xoxb-", "AIza", "pk_test_"]) + "".join(
                rng.choice(string.ascii_letters + string.digits) for _ in range(24)
            )
        while True:
            value = "".join(
                rng.choice(string.ascii_letters + string.digits) for _ in range(rng.randint(12, 30))
            )
            if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
                return value

    def password(self, rng: random.Random) -> str:
        words = ["Summer", "tiger", "Blue", "rocket", "Maple", "delta"]
        return rng.choice(
            [
                rng.choice(words) + str(rng.randint(10, 9999)) + rng.choice(["!", "", "#", "$"]),
                "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(rng.randint(8, 20))),
                "hunter" + str(rng.randint(2, 99)),
            ]
        )


class _DevGenerators(_Generators):
    phone_regions = ("US", "GB", "DE", "FR", "IN", "JP", "AU")
    phone_styles = ("intl", "intl", "national", "national", "e164", "us", "us")
    cards = _CARDS_DEV
    ibans = _IBAN_DEV
    name_locales = ("en_US", "en_GB", "de_DE")
    email_domains = (
        "gmail.com", "outlook.com", "yahoo.co.uk", "acme-corp.com", "web.de", "orange.fr", "initech.io",
        "mail.globex.com",
    )  # fmt: skip

    def g_cred_url(self, rng: random.Random) -> Pieces:
        host = rng.choice(
            ["api.stripe-mock.dev", "hooks.acme-corp.com", "storage.initech.io", "maps.globex.net"]
        )
        param = rng.choice(["token", "api_key", "access_token", "sig", "key"])
        return [
            (f"https://{host}/v{rng.randint(1, 3)}/{rng.choice(['export', 'reports', 'run', 'files/a.pdf'])}?"
             f"{rng.choice(['format=json&', 'page=2&', ''])}{param}=", None),
            (self.secret(rng), "URL_CREDENTIAL"),
            (rng.choice(["", "&ts=1718000000", "&lang=en"]), None),
        ]  # fmt: skip


class _HoldoutGenerators(_Generators):
    phone_regions = ("CA", "IT", "ES", "NL", "BR", "MX", "CH", "SE", "PL", "IE", "BE", "AT")
    international_only = ("ZA", "SG", "KR", "NZ", "AE", "TR", "CN")
    phone_styles = (
        "intl_dash", "intl_dot", "00", "intl_trunk", "rfc3966", "national_dash", "national_compact", "e164",
        "national", "intl", "us",
    )  # fmt: skip
    cards = _CARDS_HOLDOUT
    ibans = _IBAN_HOLDOUT
    name_locales = ("fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pl_PL", "en_IN", "sv_SE")
    email_domains = (
        "posteo.de", "libero.it", "telefonica.es", "ziggo.nl", "uol.com.br", "bluewin.ch", "wp.pl", "eircom.net",  # noqa: E501
        "eu.mail.contoso.com", "shop-example.co.jp", "kunden.fabrikam.at",
    )  # fmt: skip

    def email(self, rng: random.Random) -> str:
        plain = super().email(rng)
        local, domain = plain.split("@")
        style = rng.random()
        if style < 0.2:
            return f"{local}+{rng.choice(['billing', 'support', 'news', 'x'])}@{domain}"
        if style < 0.35:
            return f"{local.title()}@{domain}"
        if style < 0.45:
            return f"{local}-{rng.randint(1970, 2005)}@{domain}"
        return plain

    def g_email_quoted(self, rng: random.Random) -> Pieces:
        style = rng.choice(["<{}>", "mailto:{}", '"{}"', "({})"])
        before, _, after = style.partition("{}")
        return [(before, None), (self.email(rng), "EMAIL"), (after, None)]

    def g_ip_port(self, rng: random.Random) -> Pieces:
        if rng.random() < 0.5:
            return [(self.ipv4(rng), "IP_ADDRESS"), (f":{rng.choice([443, 8080, 5432, 6379, 51234])}", None)]
        return [("[", None), (self.ipv6(rng), "IP_ADDRESS"), (f"]:{rng.choice([443, 8443, 9000])}", None)]

    def g_ipv6_zone(self, rng: random.Random) -> Pieces:
        return [
            (f"fe80::{rng.randint(1, 0xFFFF):x}:{rng.randint(1, 0xFFFF):x}", "IP_ADDRESS"),
            ("%eth0", None),
        ]

    def g_ipv4_mapped(self, rng: random.Random) -> Pieces:
        return [(f"::ffff:{self.ipv4(rng)}", "IP_ADDRESS")]

    def g_ssn(self, rng: random.Random) -> Pieces:
        digits = self.ssn_digits(rng)
        sep = rng.choice([" ", "-", "."])
        return [(sep.join([digits[:3], digits[3:5], digits[5:]]), "SSN")]

    def g_ssn_bare(self, rng: random.Random) -> Pieces:
        return [(self.ssn_digits(rng), "SSN")]

    def g_cred_url(self, rng: random.Random) -> Pieces:
        style = rng.random()
        host = rng.choice(
            ["files.fabrikam.eu", "api.contoso-cloud.net", "cdn.northwind.io", "auth.tailspin.app"]
        )
        if style < 0.35:  # user:password@host
            scheme = rng.choice(
                ["postgres", "postgresql", "mysql", "redis", "amqp", "https", "ftp", "mongodb+srv"]
            )
            user = rng.choice(["admin", "svc_backup", "app", "deploy", "root", "reporting"])
            return [
                (f"{scheme}://{user if scheme != 'redis' or rng.random() < 0.5 else ''}:", None),
                (self.password(rng), "URL_CREDENTIAL"),
                (f"@{rng.choice(['db', 'cache', 'mq', 'files'])}.{host}:{rng.choice([5432, 3306, 6379, 5672, 21])}/"  # noqa: E501
                 f"{rng.choice(['prod', 'app', '0', 'vhost'])}", None),
            ]  # fmt: skip
        if style < 0.5:  # OAuth implicit flow: the token in the fragment
            return [
                (f"https://{host}/callback#access_token=", None),
                (self.secret(rng), "URL_CREDENTIAL"),
                ("&token_type=bearer&expires_in=3600", None),
            ]
        param = rng.choice(
            ["X-Amz-Signature", "apiKey", "client_secret", "password", "auth", "refresh_token", "private_token",  # noqa: E501
             "X-Goog-Signature", "sessionid", "signature", "access-token", "api-key", "secret"]
        )  # fmt: skip
        return [
            (f"https://{host}/{rng.choice(['download', 'v2/query', 'oauth/token', 'export.csv'])}?"
             f"{rng.choice(['id=42&', 'region=eu-west-1&', 'X-Amz-Date=20240315T101500Z&', ''])}{param}=", None),  # noqa: E501
            (self.secret(rng), "URL_CREDENTIAL"),
            (rng.choice(["", "&expires=3600", "&v=2"]), None),
        ]  # fmt: skip


# --- decoys (shared: a decoy is a decoy in any corpus) -----------------------------------------


def _decoy(kind: str, value: str) -> Pieces:
    return [(value, f"DECOY:{kind}")]


def _decoy_makers() -> dict[str, Callable[[random.Random], Pieces]]:
    def order(rng: random.Random) -> Pieces:
        return _decoy(
            "order",
            rng.choice(
                [
                    f"ORD-{rng.randint(2019, 2026)}-{rng.randint(100000, 999999)}",
                    f"#{rng.randint(100000, 9999999)}",
                    f"{rng.randint(100, 999)}-{rng.randint(1000000, 9999999)}-{rng.randint(1000000, 9999999)}",  # noqa: E501
                    f"INV-{rng.randint(20200101, 20261231)}-{rng.randint(1, 9999):04d}",
                    f"A{rng.randint(10, 99)}B-{rng.randint(10000, 99999)}",
                ]
            ),
        )

    def version(rng: random.Random) -> Pieces:
        return _decoy(
            "version",
            rng.choice(
                [
                    f"v{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
                    f"{rng.randint(1, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
                    f"10.0.{rng.randint(17000, 22631)}.{rng.randint(1, 4000)}",
                    f"Chrome/{rng.randint(100, 126)}.0.{rng.randint(4000, 6500)}.{rng.randint(10, 200)}",
                ]
            ),
        )

    def date(rng: random.Random) -> Pieces:
        y, m, d = rng.randint(2019, 2026), rng.randint(1, 12), rng.randint(1, 28)
        return _decoy(
            "date",
            rng.choice(
                [
                    f"{y}-{m:02d}-{d:02d}",
                    f"{d:02d}.{m:02d}.{y}",
                    f"{m:02d}/{d:02d}/{y}",
                    f"{y}-{m:02d}-{d:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z",  # noqa: E501
                    f"{d} {rng.choice(['Jan', 'Mar', 'Jul', 'Oct'])} {y}",
                ]
            ),
        )

    def price(rng: random.Random) -> Pieces:
        amount = rng.randint(1, 999999) / 100
        return _decoy(
            "price",
            rng.choice(
                [
                    f"${amount:,.2f}",
                    f"€{amount:.2f}",
                    f"{amount:,.2f} EUR",
                    f"£{int(amount)}",
                    f"{int(amount * 100)} USD",
                ]
            ),
        )

    def uuid_(rng: random.Random) -> Pieces:
        return _decoy("uuid", str(uuid.UUID(int=rng.getrandbits(128), version=4)))

    def sha(rng: random.Random) -> Pieces:
        return _decoy("hash", "".join(rng.choice("0123456789abcdef") for _ in range(rng.choice([7, 12, 40]))))

    def duration(rng: random.Random) -> Pieces:
        return _decoy(
            "quantity",
            rng.choice(
                [
                    f"{rng.randint(1, 99999)} ms",
                    f"{rng.randint(1000, 99999999)} bytes",
                    f"{rng.randint(1, 999)}.{rng.randint(0, 99)}s",
                    f"{rng.randint(10, 100)}%",
                ]
            ),
        )

    def labelled_number(rng: random.Random) -> Pieces:
        label = rng.choice(["order", "Order no.", "invoice", "tracking", "ticket", "Ref"])
        return [(f"{label} ", None), *_decoy("labelled_number", str(rng.randint(1000000000, 9999999999)))]

    def placeholder_url(rng: random.Random) -> Pieces:
        value = rng.choice(["YOUR_API_KEY", "<token>", "{api_key}", "${SIGNATURE}", "xxxxxxxx", "changeme"])
        param = rng.choice(["key", "token", "api_key", "sig", "access_token"])
        return _decoy("placeholder_credential", f"https://api.example.com/v1/items?{param}={value}")

    def code_path(rng: random.Random) -> Pieces:
        return _decoy(
            "code",
            rng.choice(
                [
                    "std::vector<int>",
                    "Vec::new()",
                    "app::handlers::checkout",
                    f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
                    "0x7ffd5e8c",
                    f"pid={rng.randint(100, 65000)}",
                    f"port {rng.choice([80, 443, 8080, 5432])}",
                ]
            ),
        )

    return {
        "order": order,
        "version": version,
        "date": date,
        "price": price,
        "uuid": uuid_,
        "sha": sha,
        "qty": duration,
        "labelled": labelled_number,
        "docs_url": placeholder_url,
        "code": code_path,
    }


_DECOYS = _decoy_makers()
for _slot, _maker in _DECOYS.items():
    setattr(_Generators, f"g_{_slot}", staticmethod(_maker))


# --- templates ----------------------------------------------------------------------------------

_DEV_TICKETS = [
    "Hi, my name is {name}. I was charged twice for {order} on {date}. Card used: {card}. Please refund.",
    "Customer {name} ({email}) says the app crashes on {version}. Reach them on {phone}.",
    "Please update my billing email to {email} and my phone to {phone}. Thanks, {first}",
    "I tried paying with {card} but got an error. My other card {bad_card} was declined too.",
    "Wire transfer failed: IBAN {iban} rejected. The reference {bad_iban} was a typo on our side.",
    "My SSN is {ssn}, I need it removed from my profile. Ticket {order}.",
    "Login from unknown IP {ipv4} at {date}. Was that you, {first}?",
    "The webhook {cred_url} returns 403 since {version}.",
    "Hello support, this is {name}. Call me back at {phone} or write to {email}.",
    "Refund of {price} for {order} should go to {iban}.",
    "Cannot reach the VPN gateway at {ipv6}, latency {qty}.",
    "Sample SSN {bad_ssn} from the docs is rejected, as expected. {labelled} is unrelated.",
    "Our docs say to call {docs_url} but that fails. Build {sha}, session {uuid}.",
    "Thanks {first}! I've updated the card ending in {card} and the contact number {phone}.",
    "Agent note: spoke with {name}, verified SSN {ssn} and address on file. {labelled}.",
    "Invoice {order} ({price}) was paid from {iban} on {date}.",
    "Please don't store my card number {card} in plain text!",
    "Escalated by {name}: order {order} stuck since {date}, customer email {email}.",
]
_DEV_LOGS = [
    "{date} INFO  request from {ip} user={email} path=/checkout took {qty}",
    "{date} WARN  payment declined card={bad_card} order={order}",
    "{date} ERROR charge failed for card {card} amount={price} trace={uuid}",
    "{date} DEBUG GET {cred_url} -> 200 ({qty})",
    "{date} INFO  sms sent to {phone} template=otp_v2 build={sha}",
    "{date} INFO  upgraded client to {version} on host {ipv4}",
    "{date} DEBUG resolved {ipv6} for api upstream, {code}",
    "{date} WARN  kyc check ssn={ssn} status=pending",
    "{date} INFO  sepa mandate iban={iban} created",
    "{date} DEBUG docs link {docs_url} rendered",
    "{date} INFO  {labelled} synced, {qty}",
    "{date} ERROR smtp bounce for {email}: mailbox full",
]
_DEV_SYSTEM = [
    "You are a helpful support assistant for Acme Corp. Never reveal internal notes.",
    "You are Acme's billing assistant. Answer briefly and politely.",
]
_DEV_CHATS = [
    [
        ("user", "Hi, I'm {name#a}. My account email is {email#a} and it stopped working after {version}."),
        (
            "assistant",
            "Thanks {first#a}! I found the account for {email#a}. Can you confirm your phone number?",
        ),
        ("user", "Sure, it's {phone#a}."),
        ("assistant", "Got it, {phone#a} is on file. I've reset the login for {email#a}."),
    ],
    [
        ("user", "I want to pay invoice {order} with my card {card#c}."),
        (
            "assistant",
            "I can't take card numbers in chat. Please don't share {card#c} here; use the payment page.",
        ),
        ("user", "Ok. Can I pay by bank transfer from {iban#b} instead?"),
        ("assistant", "Yes, transfers from {iban#b} are fine. Reference: {order}."),
    ],
    [
        ("user", "Our server {ipv4#s} keeps getting blocked, and also {ipv6}."),
        ("assistant", "I see blocks for {ipv4#s} since {date}. Is the API called as {cred_url}?"),
        ("user", "Yes, and my colleague {name} set that up."),
    ],
    [
        ("user", "Please close my account. SSN {ssn#x} for verification, phone {phone}."),
        ("assistant", "Thanks, I verified {ssn#x}. The account will close on {date}."),
    ],
]
_DEV_RAG = [
    "Account record: holder {name}, email {email}, phone {phone}, iban {iban}.",
    "Incident {order}: attacker used {ip} and card {card}; case owner {name}.",
    "Release notes {version}: fixed crash on checkout ({sha}); see {docs_url}.",
]

_HOLDOUT_JSON = [
    '{{"ts":"{date}","level":"info","msg":"login ok","client_ip":"{ip}","email":"{email}"}}',
    '{{"ts":"{date}","level":"error","event":"charge.failed","pan":"{card}","amount":"{price}","req":"{uuid}"}}',
    '{{"event":"payout.created","beneficiary":"{name}","iban":"{iban}","ref":"{order}"}}',
    '{{"msg":"outbound request","url":"{cred_url}","status":401,"elapsed":"{qty}"}}',
    '{{"level":"warn","msg":"callback from {ip_port}","user_agent":"{version}"}}',
    '{{"level":"debug","contact":{{"tel":"{phone}","mail":"{email}"}},"build":"{sha}"}}',
    '{{"msg":"declined","card":"{bad_card}","reason":"luhn"}}',
]
_HOLDOUT_KV = [
    "ts={date} lvl=INFO svc=notify action=sms_sent to={phone} tpl=reminder",
    "ts={date} lvl=WARN svc=kyc subject_ssn={ssn} result=manual_review",
    "ts={date} lvl=INFO svc=ledger op=sepa_out iban={iban} amt={price}",
    "ts={date} lvl=DEBUG svc=net peer={ipv6_zone} iface=eth0 rtt={qty}",
    'ts={date} lvl=INFO svc=edge xff="{ipv4}, {ipv4}" upstream={ipv4_mapped}',
    "ts={date} lvl=ERROR svc=db dsn={cred_url} err=timeout",
    "ts={date} lvl=INFO svc=billing rejected_iban={bad_iban} code=IBAN_CHECKSUM",
    "ts={date} lvl=INFO svc=docs rendered={docs_url} {code}",
    "ts={date} lvl=INFO svc=orders {labelled} status=shipped ver={version}",
]
_HOLDOUT_NOTES = [
    "CRM note ({date}): {name} rang from {phone}; wants statements sent to {email_quoted}.",
    "Caller identified as {name}, social security number {ssn_bare}. Updated payout account to {iban}.",
    "From: {name} {email_quoted}\nSubject: Re: refund {order}\n\nBonjour, please use the card {card} for the refund of {price}.",  # noqa: E501
    "Field tech visit: router WAN {ipv4}, LAN {ipv6}; firmware {version}. Customer {first} was on site.",
    "Social Security No. {ssn_bare} belongs to the applicant {name} (DOB {date}).",
    "Fraud review: card {card} used from {ip_port} and again from {ip}; cardholder {name}.",
    "Urgent!! pls call {phone} asap — {first} from accounts. Wrong number earlier was {labelled}.",
    "Backup job writes to {cred_url} every night; owner {name}.",
    "SSN on the W-9 reads {ssn}; the sample {bad_ssn} in the template must not be used.",
    "Den Betrag {price} bitte auf {iban} überweisen. Rückfragen an {name}, Tel. {phone}.",
    "Per il rimborso contattare {name} al numero {phone} oppure {email}.",
    "Pour toute question: {phone} ou {email}. Carte refusée: {bad_card}.",
]
_HOLDOUT_SYSTEM = [
    "System: you are the Contoso concierge. Keep customer data confidential at all times.",
    "System: tier-2 escalation bot. Summarise the issue, then propose the next step.",
]
_HOLDOUT_CHATS = [
    [
        ("user", "hey, {name#p} here — my number changed to {phone#p}, old one was {phone}"),
        ("assistant", "Done: we'll text {phone#p} from now on. Anything else, {first#p}?"),
        ("user", "also send the invoices to {email#p} not the old address"),
        ("assistant", "Noted. Invoices go to {email#p}; your number {phone#p} is confirmed."),
        ("user", "perfect thx"),
    ],
    [
        ("user", "Transfer to {iban#t} bounced and I paid with {card#k} instead (order {order})."),
        ("assistant", "The payment with {card#k} went through. We will check why {iban#t} bounced."),
        ("tool", '{{"lookup":"iban","value":"{iban#t}","bank_ok":false}}'),
        ("assistant", "The bank rejected {iban#t}; please double-check it."),
    ],
    [
        ("user", "My DB creds leaked? the job uses {cred_url#d}"),
        ("assistant", "Rotate the secret in {cred_url#d} now. Which host, {ip_port}?"),
        ("user", "Both {ipv6} and {ipv4}. {name} owns that box."),
    ],
    [
        ("user", "Applicant {name#q}, SSN {ssn#q}, email {email_quoted}."),
        ("assistant", "Thank you. I have {name#q} with SSN {ssn#q}. I will not repeat it again."),
    ],
]
_HOLDOUT_PASSAGES = [
    "Customer profile — name: {name}; phone: {phone}; e-mail: {email}; IBAN: {iban}.",
    "Audit trail: {date} access from {ip} by {email}; token URL {cred_url}.",
    "KB article {order}: upgrade to {version}, checksum {sha}, example URL {docs_url}.",
]


# --- corpora ------------------------------------------------------------------------------------


def build_corpus(kind: Kind, *, lines: int = 1200, seed: int | None = None) -> list[LabelledCase]:
    """A labelled corpus of at least ``lines`` strings (log lines, chat messages, passages):
    ``"dev"`` or ``"holdout"`` (see the module docstring). Deterministic for a ``seed``."""
    if kind == "dev":
        return _build(_DevGenerators, _dev_case, lines, 15 if seed is None else seed)
    return _build(_HoldoutGenerators, _holdout_case, lines, 2027 if seed is None else seed)


def _build(
    generators: type[_Generators],
    make_case: Callable[[_Case, random.Random, int], tuple[dict[str, Any], int]],
    lines: int,
    seed: int,
) -> list[LabelledCase]:
    rng = random.Random(seed)
    gen = generators(seed)
    out: list[LabelledCase] = []
    total = 0
    while total < lines:
        builder = _Case(rng=rng, gen=gen)
        case, count = make_case(builder, rng, len(out))
        out.append(LabelledCase(case, builder.entities, builder.decoys, count))
        total += count
    return out


def _dev_case(builder: _Case, rng: random.Random, index: int) -> tuple[dict[str, Any], int]:
    roll = rng.random()
    case_id = f"dev-{index:04d}"
    if roll < 0.4:
        return {"id": case_id, "input": builder.fill(rng.choice(_DEV_TICKETS), "input")}, 1
    if roll < 0.6:
        chosen = [rng.choice(_DEV_LOGS) for _ in range(rng.randint(3, 6))]
        return {"id": case_id, "input": builder.fill("\n".join(chosen), "input")}, len(chosen)
    if roll < 0.85:
        turns = rng.choice(_DEV_CHATS)
        messages = [{"role": "system", "content": rng.choice(_DEV_SYSTEM)}]
        for role, template in turns:
            messages.append(
                {"role": role, "content": builder.fill(template, f"messages.{len(messages)}.content")}
            )
        return {
            "id": case_id,
            "messages": messages,
            "metadata": {"source": {"kind": "jsonl", "line": index}},
        }, len(messages)
    if roll < 0.93:
        passages = [builder.fill(rng.choice(_DEV_RAG), f"passages.{i}") for i in range(2)]
        question = builder.fill("What do we know about {first}? Ask {email} if unsure.", "input")
        return {"id": case_id, "input": question, "passages": passages}, 3
    case = {
        "id": case_id,
        "input": builder.fill("Write a reply to {first#v} about order {order}.", "input"),
        "vars": {
            "customer": builder.fill("{name}", "vars.customer"),
            "email": builder.fill("{email}", "vars.email"),
        },
        "expected": builder.fill("Dear {first#v}, your order ships on {date}.", "expected"),
        "metadata": {"note": builder.fill("callback {phone}", "metadata.note"), "route": "gpt-4o-mini"},
    }
    return case, 5


def _holdout_case(builder: _Case, rng: random.Random, index: int) -> tuple[dict[str, Any], int]:
    roll = rng.random()
    case_id = f"ho/{uuid.UUID(int=rng.getrandbits(128)).hex[:10]}"
    if roll < 0.25:
        chosen = [rng.choice(_HOLDOUT_JSON + _HOLDOUT_KV) for _ in range(rng.randint(2, 5))]
        return {"id": case_id, "input": builder.fill("\n".join(chosen), "input")}, len(chosen)
    if roll < 0.5:
        return {"id": case_id, "input": builder.fill(rng.choice(_HOLDOUT_NOTES), "input")}, 1
    if roll < 0.8:
        turns = rng.choice(_HOLDOUT_CHATS)
        messages = [{"role": "system", "content": rng.choice(_HOLDOUT_SYSTEM)}]
        for role, template in turns:
            path = f"messages.{len(messages)}.content"
            message: dict[str, Any] = {"role": role, "content": builder.fill(template, path)}
            if role == "tool":
                message["tool_call_id"] = f"call_{index}"
            messages.append(message)
        if rng.random() < 0.3:  # content as parts
            last = messages[1]
            text = last["content"]
            last["content"] = [{"type": "text", "text": text}]
            for entity_list in (builder.entities, builder.decoys):
                for position, entity in enumerate(entity_list):
                    if entity.path == "messages.1.content":
                        entity_list[position] = Entity(
                            entity.tag, "messages.1.content.0.text", entity.start, entity.end, entity.value
                        )
        return {
            "id": case_id,
            "messages": messages,
            "metadata": {"source": {"kind": "trace", "line": index}},
        }, len(messages)
    if roll < 0.9:
        passages = [builder.fill(rng.choice(_HOLDOUT_PASSAGES), f"passages.{i}") for i in range(3)]
        return {
            "id": case_id,
            "input": builder.fill("Summarise the record.", "input"),
            "passages": passages,
        }, 4
    case = {
        "id": case_id,
        "input": builder.fill("Draft a follow-up for {{customer}}.", "input"),
        "vars": {
            "customer": builder.fill("{name}", "vars.customer"),
            "phone": builder.fill("{phone}", "vars.phone"),
        },
        "metadata": {
            "agent_comment": builder.fill("Customer asked to use {email_quoted}", "metadata.agent_comment"),
            "task_class": "support",
        },
    }
    return case, 4


def raw_values(corpus: list[LabelledCase]) -> set[str]:
    """Every labelled personal value in ``corpus`` (what must never be written)."""
    return {entity.value for labelled in corpus for entity in labelled.entities}


# --- measuring a scrubber on a corpus -----------------------------------------------------------


def value_at(case: dict[str, Any], path: str) -> str:
    """The string at ``path`` (``messages.1.content.0.text``) of ``case``."""
    node: Any = case
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return str(node)


@dataclass
class Measured:
    """Per tag: labelled values, found (gone from their string and a placeholder of their tag
    there), placeholders beyond the labelled values (replacements of something unlabelled);
    per decoy kind: decoys, decoys replaced."""

    labelled: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    extra: Counter[str] = field(default_factory=Counter)
    decoys: Counter[str] = field(default_factory=Counter)
    decoys_replaced: Counter[str] = field(default_factory=Counter)
    missed: list[Entity] = field(default_factory=list)
    wrongly_replaced: list[Entity] = field(default_factory=list)

    def recall(self, tag: str) -> float:
        return self.found[tag] / self.labelled[tag] if self.labelled[tag] else 1.0

    def precision(self, tag: str) -> float:
        found = self.found[tag]
        return found / (found + self.extra[tag]) if found + self.extra[tag] else 1.0

    def decoy_precision(self) -> float:
        total = sum(self.decoys.values())
        return 1 - sum(self.decoys_replaced.values()) / total if total else 1.0


def measure(corpus: list[LabelledCase], scrub: Callable[[dict[str, Any]], dict[str, Any]]) -> Measured:
    """How well ``scrub`` (a case -> the scrubbed case) does on ``corpus``."""
    placeholder = re.compile(r"<([A-Z][A-Z_]*)_(\d+)>")
    out = Measured()
    for labelled in corpus:
        scrubbed = scrub(labelled.case)
        distinct: dict[str, set[str]] = {}
        for entity in labelled.entities:
            out.labelled[entity.tag] += 1
            text = value_at(scrubbed, entity.path)
            if entity.value not in text and f"<{entity.tag}_" in text:
                out.found[entity.tag] += 1
            else:
                out.missed.append(entity)
            key = re.sub(r"\W", "", entity.value.casefold())
            distinct.setdefault(entity.tag, set()).add(key)
        for decoy in labelled.decoys:
            out.decoys[decoy.tag] += 1
            if decoy.value not in value_at(scrubbed, decoy.path):
                out.decoys_replaced[decoy.tag] += 1
                out.wrongly_replaced.append(decoy)
        written = Counter(
            tag for tag, _ in set(placeholder.findall(json.dumps(scrubbed, ensure_ascii=False)))
        )
        for tag, count in written.items():
            out.extra[tag] += max(0, count - len(distinct.get(tag, ())))
    return out
