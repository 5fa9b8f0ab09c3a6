"""Generate the labelled multi-country PII corpus that ``pii_recall.py`` measures.

    .venv/bin/python benchmarks/pii_corpus.py            # writes benchmarks/data/pii_corpus.jsonl
    .venv/bin/python benchmarks/pii_corpus.py --check    # fails if the file is not what it makes

Deterministic (seeded): the same script always writes the same file. Each line is one JSON
object: ``id``, ``text``, ``pii`` (labelled values: ``type``, ``start``, ``end``, ``format``)
and ``negatives`` (values that are *not* personal data and must not be reported: ``category``,
``start``, ``end``).

The formats below are written from the numbering plans, card schemes and IBAN registry as
people write them, not from the recognisers in ``benchroute``: the corpus must not mirror the
code it measures. Phone numbers use real area codes and mobile prefixes with random subscriber
digits; every card number passes the Luhn check and every IBAN its mod-97 checksum, because
that is what makes them what they are. About half the positives sit in a sentence with a
context word ("phone", "card", "IBAN", ...) and half in one without.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

SEED = 20261202
OUT = Path(__file__).parent / "data" / "pii_corpus.jsonl"

Rng = random.Random


def digits(rng: Rng, n: int, first: str = "0123456789") -> str:
    return rng.choice(first) + "".join(rng.choice(string.digits) for _ in range(n - 1))


# --- phone numbers: (country, format name, generator) ------------------------------------------


def us_parts(rng: Rng) -> tuple[str, str, str]:
    area = rng.choice(
        [
            "212",
            "415",
            "312",
            "617",
            "202",
            "305",
            "512",
            "206",
            "718",
            "646",
            "303",
            "404",
            "213",
            "702",
            "615",
            "919",
            "503",
            "480",
            "612",
            "773",
        ]
    )
    exchange = digits(rng, 3, "23456789")
    while exchange[1:] == "11" or exchange == "555":
        exchange = digits(rng, 3, "23456789")
    return area, exchange, digits(rng, 4)


def us(fmt: str) -> Callable[[Rng], str]:
    def make(rng: Rng) -> str:
        a, e, line = us_parts(rng)
        return fmt.format(a=a, e=e, l=line)

    return make


def uk(rng: Rng, fmt: int) -> str:
    kind = rng.choice(["london", "manchester", "mobile", "edinburgh"])
    if kind == "london":
        area, local = "20", rng.choice("378") + digits(rng, 3) + " " + digits(rng, 4)
    elif kind == "manchester":
        area, local = "161", digits(rng, 3, "2345789") + " " + digits(rng, 4)
    elif kind == "edinburgh":
        area, local = "131", digits(rng, 3, "2345") + " " + digits(rng, 4)
    else:
        area, local = "7" + rng.choice(["700", "911", "403", "824", "956", "588"]), digits(rng, 6)
    if fmt == 0:
        return f"+44 (0){area} {local}"
    if fmt == 1:
        return f"+44 (0) {area} {local}"
    if fmt == 2:
        return f"+44 {area} {local}"
    if fmt == 3:
        return f"0{area} {local}"
    if fmt == 4:
        return f"(0{area}) {local}"
    if fmt == 5:
        return f"0044 {area} {local}"
    return f"+44-{area}-{local.replace(' ', '-')}"


def de(rng: Rng, fmt: int) -> str:
    kind = rng.choice(["berlin", "munich", "hamburg", "mobile", "cologne"])
    if kind == "mobile":
        # subscriber lengths: 8 digits after 151/152/176, 7 after 170/171, either after 160
        area = rng.choice(["151", "160", "170", "171", "176", "152"])
        length = {"151": 8, "152": 8, "176": 8, "170": 7, "171": 7}.get(area, 7 + fmt % 2)
        local = digits(rng, length, "123456789")
    else:
        area = {"berlin": "30", "munich": "89", "hamburg": "40", "cologne": "221"}[kind]
        local = digits(rng, 8 if area != "221" else 7, "23456789")
    # "089 123 45 67" for seven digits, "030 1234 5678" for eight
    split = f"{local[:3]} {local[3:5]} {local[5:]}" if len(local) == 7 else f"{local[:4]} {local[4:]}"
    grouped = local if fmt < 4 else split
    if fmt == 0:
        return f"+49 {area} {grouped}"
    if fmt == 1:
        return f"+49 (0){area} {grouped}"
    if fmt == 2:
        return f"0{area} {grouped}"
    if fmt == 3:
        return f"0{area}/{grouped}"
    if fmt == 4:
        return f"(0{area}) {grouped}"
    if fmt == 5:
        return f"0049 {area} {grouped}"
    return f"+49-{area}-{local}"


def fr(rng: Rng, fmt: int) -> str:
    first = rng.choice("1234567")
    rest = [digits(rng, 2) for _ in range(4)]
    if first in "67":
        rest[0] = digits(rng, 2, "123456789")
    if fmt == 0:
        return f"0{first} " + " ".join(rest)
    if fmt == 1:
        return f"0{first}." + ".".join(rest)
    if fmt == 2:
        return f"+33 {first} " + " ".join(rest)
    if fmt == 3:
        return f"+33 (0){first} " + " ".join(rest)
    if fmt == 4:
        return f"+33 (0){first}." + ".".join(rest)
    if fmt == 5:
        return f"0{first}-" + "-".join(rest)
    if fmt == 6:
        return f"+33.{first}." + ".".join(rest)
    return f"0033 {first} " + " ".join(rest)


def india(rng: Rng, fmt: int) -> str:
    mobile = digits(rng, 5, "6789") + " " + digits(rng, 5)
    if fmt == 0:
        return f"+91 {mobile}"
    if fmt == 1:
        return f"+91-{mobile.replace(' ', '-')}"
    if fmt == 2:
        return f"0{mobile}"
    if fmt == 3:
        return mobile
    if fmt == 4:
        return "+91 22 " + digits(rng, 4, "2345678") + " " + digits(rng, 4)
    if fmt == 5:
        return "011-" + digits(rng, 4, "2345") + "-" + digits(rng, 4)
    return "+91 " + mobile.replace(" ", "")


def japan(rng: Rng, fmt: int) -> str:
    if fmt in (3, 4):
        mobile = rng.choice(["90", "80", "70"]) + "-" + digits(rng, 4, "123456789") + "-" + digits(rng, 4)
        return "0" + mobile if fmt == 3 else "+81 " + mobile.replace("-", " ")
    area = rng.choice(["3", "6"])
    local = digits(rng, 4, "23456789") + "-" + digits(rng, 4)
    if fmt == 0:
        return f"0{area}-{local}"
    if fmt == 1:
        return f"+81 {area}-{local}"
    if fmt == 2:
        return f"+81 {area} {local.replace('-', ' ')}"
    if fmt == 5:
        return f"(0{area}) {local}"
    return f"0{area}.{local.replace('-', '.')}"


def others(rng: Rng, fmt: int) -> str:
    options = [
        lambda: "+34 6" + digits(rng, 2) + " " + digits(rng, 3) + " " + digits(rng, 3),  # ES mobile
        lambda: "91" + digits(rng, 1) + " " + digits(rng, 3) + " " + digits(rng, 3, "123456789"),  # ES Madrid
        lambda: "+39 06 " + digits(rng, 4, "3456789") + " " + digits(rng, 4),  # IT Rome
        lambda: "+39 3" + rng.choice(["20", "33", "47", "89"]) + " " + digits(rng, 3) + " " + digits(rng, 4),
        lambda: "+31 6 " + digits(rng, 8, "12345"),  # NL mobile
        lambda: "020 " + digits(rng, 3, "3456789") + " " + digits(rng, 4),  # NL Amsterdam / UK-style
        lambda: "+61 4" + digits(rng, 2) + " " + digits(rng, 3) + " " + digits(rng, 3),  # AU mobile
        lambda: "(02) " + digits(rng, 4, "89") + " " + digits(rng, 4),  # AU Sydney
        lambda: "+55 11 9" + digits(rng, 4, "6789") + "-" + digits(rng, 4),  # BR São Paulo mobile
        lambda: "+41 44 " + digits(rng, 3, "2345") + " " + digits(rng, 2) + " " + digits(rng, 2),  # CH
        lambda: "+86 138 " + digits(rng, 4) + " " + digits(rng, 4),  # CN mobile
        lambda: "+65 9" + digits(rng, 3) + " " + digits(rng, 4),  # SG mobile
        lambda: "+52 55 " + digits(rng, 4, "123456789") + " " + digits(rng, 4),  # MX
        lambda: "(416) " + digits(rng, 3, "2346789") + "-" + digits(rng, 4),  # CA Toronto
        lambda: "+353 1 " + digits(rng, 3, "2345678") + " " + digits(rng, 4),  # IE Dublin
        lambda: (
            "+48 " + rng.choice(["501", "601", "691", "790"]) + " " + digits(rng, 3) + " " + digits(rng, 3)
        ),
    ]
    return options[fmt % len(options)]()


PHONE_FORMATS: list[tuple[str, str, Callable[[Rng], str]]] = [
    ("US", "(AAA) EEE-LLLL", us("({a}) {e}-{l}")),
    ("US", "AAA-EEE-LLLL", us("{a}-{e}-{l}")),
    ("US", "AAA.EEE.LLLL", us("{a}.{e}.{l}")),
    ("US", "AAA EEE LLLL", us("{a} {e} {l}")),
    ("US", "+1 AAA EEE LLLL", us("+1 {a} {e} {l}")),
    ("US", "+1 (AAA) EEE-LLLL", us("+1 ({a}) {e}-{l}")),
    ("US", "+1-AAA-EEE-LLLL", us("+1-{a}-{e}-{l}")),
    ("US", "1-AAA-EEE-LLLL", us("1-{a}-{e}-{l}")),
    ("US", "+1.AAA.EEE.LLLL", us("+1.{a}.{e}.{l}")),
    ("US", "1 (AAA) EEE-LLLL", us("1 ({a}) {e}-{l}")),
    *[("UK", f"uk{i}", partial(uk, fmt=i)) for i in range(7)],
    *[("DE", f"de{i}", partial(de, fmt=i)) for i in range(7)],
    *[("FR", f"fr{i}", partial(fr, fmt=i)) for i in range(8)],
    *[("IN", f"in{i}", partial(india, fmt=i)) for i in range(7)],
    *[("JP", f"jp{i}", partial(japan, fmt=i)) for i in range(7)],
    *[("other", f"other{i}", partial(others, fmt=i)) for i in range(16)],
]

# --- e-mail --------------------------------------------------------------------------------------

FIRST = ["maria", "john", "aiko", "priya", "lukas", "chloe", "omar", "sven", "li", "fatima", "diego", "anna"]
LAST = ["garcia", "smith", "tanaka", "sharma", "mueller", "dubois", "haddad", "berg", "wei", "khan", "lopez"]
DOMAINS = [
    "gmail.com",
    "outlook.com",
    "example.org",
    "acme.io",
    "mail.co.uk",
    "web.de",
    "orange.fr",
    "yahoo.co.jp",
    "rediffmail.com",
    "uni-heidelberg.de",
    "company.com.au",
    "post.example.net",
    "startup.ai",
    "bank.ch",
    "shop.info",
]


def email(rng: Rng) -> tuple[str, str]:
    first, last, domain = rng.choice(FIRST), rng.choice(LAST), rng.choice(DOMAINS)
    style = rng.randrange(7)
    local = [
        f"{first}.{last}",
        f"{first}_{last}",
        f"{first}{rng.randrange(10, 99)}",
        f"{first[0]}{last}",
        f"{first}+newsletter",
        f"{first}.{last}.{rng.randrange(1970, 2005)}",
        f"{first.title()}.{last.title()}",
    ]
    return local[style] + "@" + domain, f"email{style}"


# --- cards: Luhn-valid numbers of the main schemes -----------------------------------------------


def luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


CARD_SCHEMES = [
    ("visa", ["4"], 16, (4, 4, 4, 4)),
    ("visa13", ["4"], 13, (4, 3, 3, 3)),
    ("mastercard", ["51", "52", "53", "54", "55"], 16, (4, 4, 4, 4)),
    ("mastercard2", ["2221", "2330", "2500", "2720"], 16, (4, 4, 4, 4)),
    ("amex", ["34", "37"], 15, (4, 6, 5)),
    ("discover", ["6011", "65", "644"], 16, (4, 4, 4, 4)),
    ("jcb", ["3528", "3569", "3589"], 16, (4, 4, 4, 4)),
    ("diners", ["36", "38", "300"], 14, (4, 6, 4)),
    ("unionpay", ["62"], 16, (4, 4, 4, 4)),
    ("unionpay19", ["62"], 19, (4, 4, 4, 4, 3)),
    ("maestro", ["6759", "5018"], 16, (4, 4, 4, 4)),
]


def card_number(rng: Rng) -> tuple[str, str]:
    name, prefixes, length, groups = rng.choice(CARD_SCHEMES)
    prefix = rng.choice(prefixes)
    number = luhn_complete(
        prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    )
    sep = rng.choice([" ", "-", "", " "])
    parts, at = [], 0
    for g in groups:
        parts.append(number[at : at + g])
        at += g
    return sep.join(parts), f"{name}/{'none' if not sep else repr(sep)}"


def luhn_invalid(rng: Rng) -> str:
    valid = luhn_complete(rng.choice("3456") + "".join(rng.choice(string.digits) for _ in range(14)))
    wrong = str((int(valid[-1]) + rng.randrange(1, 10)) % 10)
    number = valid[:-1] + wrong
    sep = rng.choice([" ", "-", ""])
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


# --- IBAN -----------------------------------------------------------------------------------------

# country: BBAN structure (n = digit, a = upper-case letter, c = letter or digit), from the registry
IBAN_BBAN = {
    "GB": "aaaannnnnnnnnnnnnn",
    "DE": "nnnnnnnnnnnnnnnnnn",
    "FR": "nnnnnnnnnnnnnnnnnnnnnnn",
    "ES": "nnnnnnnnnnnnnnnnnnnn",
    "IT": "annnnnnnnnnnnnnnnnnnnnn",
    "NL": "aaaannnnnnnnnn",
    "BE": "nnnnnnnnnnnn",
    "CH": "nnnnnnnnnnnnnnnnn",
    "AT": "nnnnnnnnnnnnnnnn",
    "PL": "nnnnnnnnnnnnnnnnnnnnnnnn",
    "SE": "nnnnnnnnnnnnnnnnnnnn",
    "IE": "aaaannnnnnnnnnnnnn",
    "PT": "nnnnnnnnnnnnnnnnnnnnn",
    "NO": "nnnnnnnnnnn",
    "DK": "nnnnnnnnnnnnnn",
    "FI": "nnnnnnnnnnnnnn",
    "LU": "nnnccccccccccccc",
    "SA": "nncccccccccccccccccc",
    "AE": "nnnnnnnnnnnnnnnnnnn",
    "BR": "nnnnnnnnnnnnnnnnnnnnnnnac",
}


def iban(rng: Rng) -> tuple[str, str]:
    country = rng.choice(sorted(IBAN_BBAN))
    bban = "".join(
        rng.choice(string.digits)
        if k == "n"
        else rng.choice(string.ascii_uppercase)
        if k == "a"
        else rng.choice(string.ascii_uppercase + string.digits)
        for k in IBAN_BBAN[country]
    )
    rearranged = bban + country + "00"
    numeric = int("".join(str(int(ch, 36)) for ch in rearranged))
    value = f"{country}{98 - numeric % 97:02d}{bban}"
    style = rng.randrange(4)
    if style in (0, 1):
        value = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return value, f"{country}/{'grouped' if style in (0, 1) else 'compact'}"


# --- IP addresses ----------------------------------------------------------------------------------


def ip(rng: Rng) -> tuple[str, str]:
    style = rng.randrange(8)
    if style == 0:
        return (
            f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            "v4",
        )
    if style == 1:
        return f"192.168.{rng.randrange(256)}.{rng.randrange(1, 255)}", "v4 private"
    if style == 2:
        return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}", "v4 private"
    groups = [f"{rng.randrange(0x10000):x}" for _ in range(8)]
    if style == 3:
        return ":".join(groups), "v6 full"
    if style == 4:
        return f"2001:db8:{groups[2]}::{groups[6]}:{groups[7]}", "v6 compressed"
    if style == 5:
        return f"fe80::{groups[4]}:{groups[5]}:{groups[6]}:{groups[7]}", "v6 link-local"
    if style == 6:
        return ":".join(g.zfill(4).upper() for g in groups), "v6 upper padded"
    return f"2a00:1450:{groups[2]}:{groups[3]}::{groups[7]}", "v6 compressed"


# --- US SSN ---------------------------------------------------------------------------------------


def ssn(rng: Rng) -> tuple[str, str]:
    area = rng.choice([rng.randrange(1, 666), rng.randrange(667, 900)])
    value = f"{area:03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"
    style = rng.randrange(3)
    if style == 1:
        return value.replace("-", " "), "spaces"
    return value, "dashes"


# --- credentials in URL query strings --------------------------------------------------------------

CRED_PARAMS = [
    "token",
    "api_key",
    "sig",
    "access_token",
    "key",
    "apikey",
    "signature",
    "auth_token",
    "X-Amz-Signature",
    "client_secret",
    "refresh_token",
    "password",
    "secret",
    "private_token",
]


def token(rng: Rng) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return "".join(rng.choice("0123456789abcdef") for _ in range(rng.choice([32, 40, 64])))
    if kind == 1:
        return "AIza" + "".join(rng.choice(string.ascii_letters + string.digits + "-_") for _ in range(35))
    alphabet = string.ascii_letters + string.digits + ("-_" if kind == 2 else "")
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(16, 48)))


def cred_url(rng: Rng) -> tuple[str, int, int, str]:
    """(url, start, end of the secret value in it, parameter)"""
    host = rng.choice(
        [
            "https://api.example.com/v2/reports",
            "https://maps.example.net/staticmap",
            "https://storage.example.org/bucket/file.pdf",
            "http://intranet.example.local:8080/export",
            "https://hooks.example.io/services/run",
        ]
    )
    param = rng.choice(CRED_PARAMS)
    value = token(rng)
    before = rng.choice(["?", "?format=json&", "?page=2&limit=50&"])
    url = f"{host}{before}{param}="
    start = len(url)
    url += value
    after = rng.choice(["", "&lang=en", "&expires=1700000000"])
    return url + after, start, start + len(value), param


# --- negatives --------------------------------------------------------------------------------------

MONTHS = ["January", "March", "June", "September", "November"]


def negative(rng: Rng, category: str) -> str:
    d, m, y = rng.randrange(1, 29), rng.randrange(1, 13), rng.randrange(1995, 2031)
    if category == "order id":
        return rng.choice(
            [
                f"#{digits(rng, rng.randrange(6, 11), '123456789')}",
                f"{digits(rng, 10, '123456789')}",
                f"ORD-{y}-{digits(rng, 6)}",
                f"{digits(rng, 3, '123456789')}-{digits(rng, 7)}-{digits(rng, 7)}",
                f"{digits(rng, 3, '123456789')}-{digits(rng, 3)}-{digits(rng, 4)}",
                f"{digits(rng, 4, '123456789')} {digits(rng, 4)} {digits(rng, 2)}",
                f"A{digits(rng, 2)}-{digits(rng, 5)}-{digits(rng, 4)}",
            ]
        )
    if category == "invoice number":
        return rng.choice(
            [
                f"INV-{y}{m:02d}{d:02d}-{digits(rng, 4)}",
                f"{y}/{digits(rng, 5)}",
                f"{digits(rng, 5, '123456789')}-{digits(rng, 2)}",
                f"{y}-{digits(rng, 6)}",
                f"FA {y} {digits(rng, 6)}",
                f"{digits(rng, 8, '123456789')}",
            ]
        )
    if category == "date":
        return rng.choice(
            [
                f"{y}-{m:02d}-{d:02d}",
                f"{d:02d}.{m:02d}.{y}",
                f"{m:02d}/{d:02d}/{y}",
                f"{d:02d}/{m:02d}/{y}",
                f"{y}.{m:02d}.{d:02d}",
                f"{d:02d}-{m:02d}-{y}",
                f"{rng.choice(MONTHS)} {d}, {y}",
                f"{y}-{m:02d}-{d:02d} {rng.randrange(24):02d}:{rng.randrange(60):02d}",
                f"{y}{m:02d}{d:02d}",
                f"{d} {rng.choice(MONTHS)} {y}",
                f"{d:02d} {m:02d} {y}",
            ]
        )
    if category == "time":
        return rng.choice(
            [
                f"{rng.randrange(24):02d}:{rng.randrange(60):02d}",
                f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}",
                f"{rng.randrange(1, 13)}.{rng.randrange(60):02d} pm",
                f"{rng.randrange(24):02d}h{rng.randrange(60):02d}",
                f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{digits(rng, 3)}",
            ]
        )
    if category == "version":
        return rng.choice(
            [
                f"v{rng.randrange(1, 20)}.{rng.randrange(30)}.{rng.randrange(30)}",
                f"{rng.randrange(1, 12)}.{rng.randrange(30)}."
                f"{rng.randrange(20000, 30000)}.{rng.randrange(1, 2000)}",
                f"{rng.randrange(1, 5)}.{rng.randrange(10, 30)}.{rng.randrange(10)}-rc{rng.randrange(1, 4)}",
                f"{rng.randrange(3, 4)}.{rng.randrange(8, 14)}.{rng.randrange(12)}",
                f"{y}.{m}.{d}",
                f"{rng.randrange(1, 9)}.{rng.randrange(100)}.{rng.randrange(100)}.{rng.randrange(10000)}",
            ]
        )
    if category == "price":
        whole = rng.randrange(1000, 99_999_999)
        us_style = f"{whole:,}"
        return rng.choice(
            [
                f"${us_style}.{rng.randrange(100):02d}",
                f"€{us_style.replace(',', '.')},{rng.randrange(100):02d}",
                f"USD {us_style}",
                f"{us_style.replace(',', ' ')} €",
                f"£ {us_style}",
                f"¥{us_style}",
                f"{us_style.replace(',', '.')},00 EUR",
                f"{us_style} dollars",
                f"CHF {us_style.replace(',', chr(39))}.–",
                f"₹{whole // 100000},{(whole // 1000) % 100:02d},{whole % 1000:03d}",
            ]
        )
    if category == "zip code":
        return rng.choice(
            [
                digits(rng, 5, "123456789"),
                f"{digits(rng, 5, '123456789')}-{digits(rng, 4)}",
                f"NY {digits(rng, 5, '1')}",
                f"D-{digits(rng, 5, '1234')}",
                f"{digits(rng, 3, '1234567')} {digits(rng, 2)}",
                f"{digits(rng, 6, '1234567')}",
            ]
        )
    if category == "luhn-invalid 16 digits":
        return luhn_invalid(rng)
    if category == "tracking number":
        return rng.choice(
            [
                "1Z" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16)),
                " ".join(digits(rng, 4) for _ in range(5)) + " " + digits(rng, 2),
                f"{digits(rng, 4, '789')} {digits(rng, 4)} {digits(rng, 4)}",
                "JD" + digits(rng, 18),
                f"{rng.choice(['RR', 'LX', 'CP'])}{digits(rng, 9)}{rng.choice(['DE', 'FR', 'GB', 'JP'])}",
                digits(rng, 12, "123456789"),
            ]
        )
    if category == "other number":
        return rng.choice(
            [
                f"978-{rng.randrange(10)}-{digits(rng, 2)}-{digits(rng, 6)}-{rng.randrange(10)}",
                f"{rng.randrange(-90, 90)}.{digits(rng, 4)}, {rng.randrange(-180, 180)}.{digits(rng, 4)}",
                f"{digits(rng, 10, '1')}",
                f"{rng.randrange(1, 9)}.{digits(rng, 8)}",
                f"{digits(rng, 2, '123456789')} {digits(rng, 3)} {digits(rng, 3)} km",
                f"port {rng.choice([8080, 5432, 6379, 27017])}",
                f"SN {digits(rng, 4)}-{digits(rng, 4)}-{digits(rng, 4)}",
                f"{digits(rng, 2)}-{digits(rng, 2)}-{digits(rng, 2)}",
            ]
        )
    if category == "url without credential":
        param, value = rng.choice(
            [
                ("key", "YOUR_API_KEY"),
                ("token", "<token>"),
                ("api_key", "{api_key}"),
                ("sig", "${SIGNATURE}"),
                ("page", digits(rng, 2, "123456789")),
                ("sort", "asc"),
                ("access_token", "xxxxxxxx"),
                ("key", "value"),
                ("token", "..."),
                ("q", "phone+number+lookup"),
                ("session", "new"),
                ("api_key", "your-api-key-here"),
                ("id", digits(rng, 8, "123456789")),
                ("lang", "en"),
            ]
        )
        return f"https://api.example.com/v1/items?{param}={value}"
    raise ValueError(category)


NEGATIVE_CATEGORIES = [
    "order id",
    "invoice number",
    "date",
    "time",
    "version",
    "price",
    "zip code",
    "luhn-invalid 16 digits",
    "tracking number",
    "other number",
    "url without credential",
]
NEGATIVE_TEMPLATES = {
    "order id": [
        "Your order {X} has shipped.",
        "Order number {X} was cancelled at your request.",
        "I found order {X} in the system; it arrives Monday.",
        "Re: {X} — refund processed.",
        "The reference on the parcel label reads {X}.",
    ],
    "invoice number": [
        "Invoice {X} is due in 30 days.",
        "Please quote {X} when paying.",
        "Attached: invoice no. {X}.",
        "The credit note offsets {X} in full.",
    ],
    "date": [
        "The meeting moved to {X}.",
        "Released on {X} after a long beta.",
        "Born {X} in Lyon.",
        "The log starts at {X} and ends a day later.",
        "Deadline: {X}.",
    ],
    "time": ["The train leaves at {X}.", "Logged at {X} by the night shift.", "Doors open {X}."],
    "version": [
        "Upgrade to {X} to fix the crash.",
        "Tested on build {X} only.",
        "Requires {X} or later.",
        "The changelog for {X} lists three fixes.",
    ],
    "price": [
        "The house sold for {X} last spring.",
        "Budget: {X} for the year.",
        "It costs {X} all in.",
        "Revenue reached {X} in Q3.",
    ],
    "zip code": [
        "Ship it to Beverly Hills, CA {X}.",
        "The office is at 12 Rue de Rivoli, {X} Paris.",
        "Postcode {X}, second floor.",
        "Mail goes to PO Box 44, {X}.",
    ],
    "luhn-invalid 16 digits": [
        "The card number {X} was declined as invalid.",
        "Reference {X} on the voucher.",
        "Try {X} in the test form.",
        "Account ref {X}.",
    ],
    "tracking number": [
        "Tracking: {X}.",
        "Your parcel {X} is out for delivery.",
        "Use {X} on the carrier's site.",
    ],
    "other number": [
        "See ISBN {X} for the edition.",
        "Coordinates {X} mark the spot.",
        "The value is {X}.",
        "Distance travelled: {X}.",
        "Serial {X} on the back plate.",
    ],
    "url without credential": ["Call {X} with your own key.", "Docs example: {X}", "GET {X} returns JSON."],
}

# (type, templates with a context word, templates without)
POSITIVE_TEMPLATES: dict[str, tuple[list[str], list[str]]] = {
    "PHONE_NUMBER": (
        [
            "Call me on {X} after six.",
            "My phone number is {X}.",
            "Mobile: {X}",
            "You can reach the front desk by phone at {X}.",
            "Tel. {X} (office hours only).",
            "Text me at {X} when you land.",
            "Her cell is {X}.",
            "Phone {X}, ask for Maria.",
        ],
        [
            "Maria's details: {X}.",
            "Try {X} tomorrow morning.",
            "{X} — that's the one she gave me.",
            "Details are {X} and the rest is in the file.",
            "Ask for Jonas at {X} before noon.",
            "Contact: Dr. Aiko Tanaka, {X}",
            "The number on his card was {X}, I think.",
            "Reach Priya at {X}; she's expecting you.",
            "Sven left {X} as his contact.",
            "For the flat viewing use {X}.",
        ],
    ),
    "EMAIL_ADDRESS": (
        ["Email me at {X}.", "Her e-mail address is {X}.", "Send the contract to {X} by Friday."],
        ["Contact: {X}", "{X} wrote back yesterday.", "Forward it to {X}, please.", "cc {X} on the thread."],
    ),
    "CREDIT_CARD": (
        [
            "The card on file is {X}.",
            "Charge my Visa {X} for the deposit.",
            "Credit card number: {X}",
            "Use card {X}, expiry 09/28.",
        ],
        [
            "He read out {X} and the code on the back.",
            "Payment details: {X}.",
            "Use {X} for the booking.",
            "Number {X}, exp 11/27, CVV 123.",
        ],
    ),
    "IBAN_CODE": (
        ["Pay to IBAN {X} by Friday.", "Our bank account (IBAN): {X}", "IBAN {X}, BIC DEUTDEFF."],
        ["Transfer the rent to {X}.", "Account {X}, reference rent March.", "Wire it to {X} please."],
    ),
    "IP_ADDRESS": (
        ["The server's IP address is {X}.", "Requests came from IP {X}.", "Host ip: {X}"],
        [
            "SSH into {X} and restart nginx.",
            "The login came from {X} at night.",
            "Blocked {X} after five failures.",
            "ping {X} to check it is up.",
        ],
    ),
    "US_SSN": (
        ["My SSN is {X}.", "Social security number: {X}", "SSN {X} on the W-2."],
        [
            "He wrote {X} on the form.",
            "The applicant's number {X} did not match.",
            "Record: Jane Roe, {X}, Ohio.",
        ],
    ),
    "URL_CREDENTIAL": (
        ["The signed link with the token: {X}", "Here is the URL with your API key: {X}"],
        [
            "Open {X} to download the report.",
            "GET {X}",
            "The webhook posts to {X} every hour.",
            "Paste {X} into the browser.",
        ],
    ),
}


def place(template: str, value: str) -> tuple[str, int, int]:
    start = template.index("{X}")
    text = template.replace("{X}", value, 1)
    return text, start, start + len(value)


def build(rng: Rng) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []

    def add_positive(kind: str, value: str, fmt: str, value_span: tuple[int, int] | None = None) -> None:
        with_context, without = POSITIVE_TEMPLATES[kind]
        template = rng.choice(with_context if rng.random() < 0.5 else without)
        text, start, end = place(template, value)
        if value_span is not None:
            start, end = start + value_span[0], start + value_span[1]
        rows.append(
            {
                "text": text,
                "pii": [{"type": kind, "start": start, "end": end, "format": fmt}],
                "negatives": [],
            }
        )

    for country, fmt, make in PHONE_FORMATS:
        for _ in range(4 if country != "other" else 2):
            add_positive("PHONE_NUMBER", make(rng), f"{country} {fmt}")
    for _ in range(60):
        value, fmt = email(rng)
        add_positive("EMAIL_ADDRESS", value, fmt)
    for _ in range(66):
        value, fmt = card_number(rng)
        add_positive("CREDIT_CARD", value, fmt)
    for _ in range(60):
        value, fmt = iban(rng)
        add_positive("IBAN_CODE", value, fmt)
    for _ in range(64):
        value, fmt = ip(rng)
        add_positive("IP_ADDRESS", value, fmt)
    for _ in range(50):
        value, fmt = ssn(rng)
        add_positive("US_SSN", value, fmt)
    for _ in range(48):
        url, start, end, param = cred_url(rng)
        add_positive("URL_CREDENTIAL", url, param, (start, end))
    for category in NEGATIVE_CATEGORIES:
        for _ in range(24):
            value = negative(rng, category)
            text, start, end = place(rng.choice(NEGATIVE_TEMPLATES[category]), value)
            rows.append(
                {"text": text, "pii": [], "negatives": [{"category": category, "start": start, "end": end}]}
            )
    # Mixed lines: a phone number next to an order id or a date in one sentence.
    for _ in range(40):
        country, fmt, make = rng.choice(PHONE_FORMATS)
        phone = make(rng)
        category = rng.choice(["order id", "date", "invoice number", "price", "zip code"])
        other = negative(rng, category)
        lead = {
            "order id": "Regarding order ",
            "date": "On ",
            "invoice number": "About invoice ",
            "price": "For the refund of ",
            "zip code": "Delivering to ZIP ",
        }[category]
        text = f"{lead}{other}: the courier will ring {phone} first."
        rows.append(
            {
                "text": text,
                "pii": [
                    {
                        "type": "PHONE_NUMBER",
                        "start": text.index(phone),
                        "end": text.index(phone) + len(phone),
                        "format": f"{country} {fmt}",
                    }
                ],
                "negatives": [{"category": category, "start": len(lead), "end": len(lead) + len(other)}],
            }
        )
    rng.shuffle(rows)
    for number, row in enumerate(rows, 1):
        row["id"] = f"g{number:04d}"
    return [{"id": r["id"], "text": r["text"], "pii": r["pii"], "negatives": r["negatives"]} for r in rows]


def render(rows: list[dict[str, object]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="fail if the file differs from what this makes")
    parser.add_argument(
        "--seed", type=int, default=SEED, help="another seed: a fresh sample of the same formats"
    )
    args = parser.parse_args()
    text = render(build(random.Random(args.seed)))
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'up to date' if same else 'differs from the generator'}")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {len(text.splitlines())} lines to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
