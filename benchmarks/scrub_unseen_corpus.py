"""Seeded generator of labelled production-style log lines for ``benchmarks/scrub_unseen.py``.

Written without looking at the recognisers (``benchroute.scorers._pii``, ``benchroute.suites._scrub``,
``benchroute.suites._names``) or at the other PII corpora, so its phrasing, formats and values were never
used to tune them. Styles: nginx combined access logs, key=value app access logs, syslog/sshd/firewall
lines, Slack-style chat exports, JSON structured logs, SQL audit rows, e-mail headers with signatures,
call-centre transcripts, config/env dumps, CSV billing exports and multi-turn chat cases (``messages``).

Each case carries labels ``(tag, value, path, form)``: the raw text of one entity, the string of the case
it sits in (``input`` or ``messages[i].content``) and a sub-kind (format, country, scheme, culture).
Decoys ``(kind, value, path)`` are strings that look like an entity but are not one (order ids, UUIDs,
versions, dates, timestamps, prices, Luhn-invalid card numbers, IBANs with a wrong checksum, SSNs of an
unissued area, URLs whose credential is a placeholder); a scrubber must leave them as they are.

Phone numbers come from randomised national numbers kept only when ``phonenumbers.is_valid_number`` holds;
IBANs have correct mod-97 check digits (and the national check digits of BE, ES and FR); cards are
Luhn-valid; SSNs avoid area 000, 666 and 900-999, group 00 and serial 0000.
"""

from __future__ import annotations

import ipaddress
import json
import random
import string
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

TAGS = ("EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "IP_ADDRESS", "SSN", "URL_CREDENTIAL", "PERSON")


@dataclass(frozen=True)
class Label:
    tag: str
    value: str
    path: str
    form: str


@dataclass(frozen=True)
class Decoy:
    kind: str
    value: str
    path: str


@dataclass
class UnseenCase:
    case: dict[str, Any]
    style: str
    labels: list[Label] = field(default_factory=list)
    decoys: list[Decoy] = field(default_factory=list)


def text_at(case: dict[str, Any], path: str) -> str:
    """The string of ``case`` at ``path`` (``input`` or ``messages[i].content``)."""
    if path == "input":
        return str(case.get("input", ""))
    index = int(path[len("messages[") : path.index("]")])
    return str(case["messages"][index].get("content", ""))


# --------------------------------------------------------------------------------------------- names

_NAME_LISTS: dict[str, tuple[str, str]] = {
    "english": (
        "James Olivia Michael Emily Daniel Hannah Thomas Charlotte George Amelia",
        "Whitfield Carter Donnelly Hughes Pemberton Ashworth Fletcher Brennan Harrington Lockwood",
    ),
    "spanish": (
        "Alejandro Lucía Javier Carmen Mateo Valentina Diego Ximena Rodrigo Paula",
        "Castillo Moreno Jiménez Navarro Ortega Delgado Herrera Vargas Medina Quintero",
    ),
    "german": (
        "Jürgen Katrin Matthias Anja Florian Sabine Tobias Ursula Lukas Franziska",
        "Schneider Hoffmann Becker Krüger Zimmermann Schulze Wagner Vogel Lehmann Brandt",
    ),
    "french": (
        "Étienne Camille Julien Margaux Mathieu Inès Guillaume Élodie Benoît Chloé",
        "Lefebvre Moreau Girard Rousseau Fontaine Chevalier Mercier Lambert Bonnet Dupuis",
    ),
    "italian": (
        "Giuseppe Chiara Lorenzo Francesca Matteo Giulia Alessandro Federica Davide Martina",
        "Esposito Colombo Ricci Marino Greco Bruno Gallo Conti De_Luca Mancini",
    ),
    "indian": (
        "Aarav Priya Vikram Ananya Rohan Kavya Arjun Sneha Siddharth Lakshmi",
        "Raman Iyer Chatterjee Deshpande Menon Bhattacharya Reddy Nair Kulkarni Venkatesan",
    ),
    "chinese": (
        "Wei Xiaoling Jun Meiling Hao Yuting Zhiwei Lijuan Jianguo Shu",
        "Zhang Liu Chen Huang Zhao Wu Zhou Xu Sun Guo",
    ),
    "japanese": (
        "Haruto Yui Sota Aoi Ren Sakura Takumi Hina Kenji Mei",
        "Takahashi Watanabe Yamamoto Nakamura Kobayashi Yoshida Yamaguchi Matsumoto Inoue Kimura",
    ),
    "korean": (
        "Minjun Seoyeon Jihoon Yuna Hyunwoo Jiwoo Dohyun Eunji Seojun Haeun",
        "Kim Lee Park Choi Jung Kang Cho Yoon Jang Lim",
    ),
    "arabic": (
        "Omar Fatima Yousef Layla Karim Noor Hassan Amira Tariq Salma",
        "Haddad Al-Masri Khalil Nasser Farouk Mansour Saleh Aziz Hamdan El-Sayed",
    ),
    "nigerian": (
        "Chinedu Ngozi Oluwaseun Adaeze Emeka Funmilayo Tunde Chiamaka Babatunde Ifeoma",
        "Okafor Adeyemi Nwosu Balogun Okonkwo Eze Adebayo Obi Ogunleye Chukwu",
    ),
    "polish": (
        "Łukasz Agnieszka Krzysztof Małgorzata Piotr Katarzyna Wojciech Zofia Tomasz Joanna",
        "Wiśniewski Kowalczyk Zieliński Szymańska Woźniak Dąbrowski Kamińska Lewandowski Jankowska Mazur",
    ),
    "nordic": (
        "Lars Ingrid Anders Sofia Magnus Astrid Henrik Maja Erik Linnea",
        "Nilsson Lindqvist Johansson Bergström Eriksson Sandberg Holm Lundgren Forsberg Åkesson",
    ),
    "portuguese": (
        "João Ana Thiago Beatriz Rafael Mariana Gustavo Larissa Felipe Camila",
        "Silva Oliveira Souza Ferreira Carvalho Almeida Ribeiro Gonçalves Barbosa Rocha",
    ),
    "turkish": (
        "Mehmet Elif Emre Zeynep Burak Ayşe Can Defne Murat Selin",
        "Yılmaz Kaya Demir Şahin Çelik Yıldız Aydın Öztürk Arslan Doğan",
    ),
    "vietnamese": (
        "Minh Thu Tuan Lan Quang Hoa Duc Mai Khanh Linh",
        "Nguyen Tran Le Pham Hoang Vu Dang Bui Do Ngo",
    ),
}
# culture -> (first names, last names); "_" joins a two-word last name
NAMES: dict[str, tuple[list[str], list[str]]] = {
    culture: (firsts.split(), [last.replace("_", " ") for last in lasts.split()])
    for culture, (firsts, lasts) in _NAME_LISTS.items()
}

_ASCII_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "ı": "i", "đ": "d"})


def ascii_fold(text: str) -> str:
    text = text.translate(_ASCII_FOLD)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


# -------------------------------------------------------------------------------------------- phones

PHONE_REGIONS: dict[str, tuple[str, list[str]]] = {
    "US": ("USA", ["New York", "Chicago", "Austin", "Denver"]),
    "GB": ("UK", ["London", "Leeds", "Bristol", "Glasgow"]),
    "DE": ("Germany", ["Berlin", "Munich", "Hamburg", "Cologne"]),
    "FR": ("France", ["Paris", "Lyon", "Lille"]),
    "IN": ("India", ["Bengaluru", "Pune", "Mumbai"]),
    "BR": ("Brazil", ["São Paulo", "Recife", "Curitiba"]),
    "ES": ("Spain", ["Madrid", "Valencia", "Bilbao"]),
    "IT": ("Italy", ["Milan", "Rome", "Turin"]),
    "NL": ("Netherlands", ["Amsterdam", "Utrecht", "Rotterdam"]),
    "PL": ("Poland", ["Warsaw", "Kraków", "Gdańsk"]),
    "SE": ("Sweden", ["Stockholm", "Malmö", "Gothenburg"]),
    "JP": ("Japan", ["Tokyo", "Osaka", "Fukuoka"]),
    "AU": ("Australia", ["Sydney", "Melbourne", "Perth"]),
    "ZA": ("South Africa", ["Johannesburg", "Cape Town", "Durban"]),
    "MX": ("Mexico", ["Mexico City", "Monterrey", "Guadalajara"]),
    "CA": ("Canada", ["Toronto", "Vancouver", "Montreal"]),
    "CH": ("Switzerland", ["Zurich", "Geneva", "Basel"]),
    "KR": ("South Korea", ["Seoul", "Busan", "Incheon"]),
}

_PERSONAL_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
PHONE_FORMS = ("international", "national", "e164", "hand")
# where "+44 (0)20 ..." (the trunk 0 kept in brackets) is a common hand-written form
_TRUNK_ZERO_REGIONS = {"GB", "DE", "CH", "NL", "AU", "FR", "ZA", "SE"}


# --------------------------------------------------------------------------------------------- IBANs

# country -> BBAN layout: (count, kind) with kind n = digit, a = upper-case letter, c = alphanumeric
IBAN_LAYOUT: dict[str, list[tuple[int, str]]] = {
    "DE": [(18, "n")],
    "GB": [(4, "a"), (14, "n")],
    "FR": [(23, "n")],
    "ES": [(20, "n")],
    "IT": [(1, "a"), (10, "n"), (12, "c")],
    "NL": [(4, "a"), (10, "n")],
    "BE": [(12, "n")],
    "CH": [(5, "n"), (12, "c")],
    "AT": [(16, "n")],
    "PL": [(24, "n")],
    "SE": [(20, "n")],
    "PT": [(21, "n")],
    "IE": [(4, "a"), (14, "n")],
    "DK": [(14, "n")],
    "FI": [(14, "n")],
    "NO": [(11, "n")],
    "LU": [(3, "n"), (13, "c")],
    "BR": [(23, "n"), (1, "a"), (1, "c")],
    "TR": [(6, "n"), (16, "c")],
    "SA": [(2, "n"), (18, "c")],
    "AE": [(19, "n")],
    "GR": [(7, "n"), (16, "c")],
    "CZ": [(20, "n")],
    "HU": [(24, "n")],
    "RO": [(4, "a"), (16, "c")],
    "IL": [(19, "n")],
    "MT": [(4, "a"), (5, "n"), (18, "c")],
    "HR": [(17, "n")],
    "SK": [(20, "n")],
    "LT": [(16, "n")],
    "EE": [(16, "n")],
    "BG": [(4, "a"), (6, "n"), (8, "c")],
    "QA": [(4, "a"), (21, "c")],
    "KW": [(4, "a"), (22, "c")],
}


def iban_mod97(text: str) -> int:
    return int("".join(str(int(ch, 36)) for ch in text)) % 97


def iban_check_digits(country: str, bban: str) -> str:
    return f"{98 - iban_mod97(bban + country + '00'):02d}"


def iban_is_valid(iban: str) -> bool:
    compact = iban.replace(" ", "")
    return iban_mod97(compact[4:] + compact[:4]) == 1


def _es_control(digits: str) -> str:
    weights = (1, 2, 4, 8, 5, 10, 9, 7, 3, 6)
    value = 11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return str({11: 0, 10: 1}.get(value, value))


# --------------------------------------------------------------------------------------------- cards


def luhn_check_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_is_valid(number: str) -> bool:
    digits = "".join(ch for ch in number if ch.isdigit())
    return luhn_check_digit(digits[:-1]) == digits[-1]


# ------------------------------------------------------------------------------------------ builders

_TOKEN_ALPHABET = string.ascii_letters + string.digits
_PLACEHOLDER_SECRETS = (
    "<redacted>",
    "${TOKEN}",
    "xxx",
    "XXXXXXXX",
    "***",
    "REDACTED",
    "{{api_key}}",
    "YOUR_API_KEY",
    "<token>",
    "$API_KEY",
    "%TOKEN%",
    "[FILTERED]",
)


class Gen:
    """Entity and decoy factories over one seeded ``random.Random``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._phone_pool: dict[str, list[phonenumbers.PhoneNumber]] = {}
        self.epoch = datetime(2024, 1, 1, tzinfo=UTC)

    # --- small helpers
    def pick(self, seq: Any) -> Any:
        return self.rng.choice(seq)

    def digits(self, n: int) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(n))

    def token(self, n: int, alphabet: str = _TOKEN_ALPHABET) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def moment(self) -> datetime:
        return self.epoch + timedelta(seconds=self.rng.randrange(0, 365 * 86400), microseconds=0)

    # --- phones
    def phone_number(self, region: str) -> phonenumbers.PhoneNumber:
        pool = self._phone_pool.setdefault(region, [])
        if len(pool) < 60 or self.rng.random() < 0.3:
            number = self._fresh_phone(region)
            pool.append(number)
            return number
        return self.pick(pool)

    def _fresh_phone(self, region: str) -> phonenumbers.PhoneNumber:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        cc = meta.country_code
        descs = [d for d in (meta.mobile, meta.fixed_line) if d is not None and d.possible_length]
        for _ in range(20000):
            desc = self.pick(descs)
            lengths = [n for n in desc.possible_length if n > 0] or list(meta.general_desc.possible_length)
            example = desc.example_number or ""
            # the library accepts extreme lengths for some plans (6-digit Italian fixed lines, 13-digit
            # German ones with a direct-dial extension): mostly keep the typical length of the example
            near = [n for n in lengths if abs(n - len(example)) <= 1] or lengths
            length = len(example) if example and self.rng.random() < 0.8 else self.pick(near)
            keep = self.rng.choice((0, 0, 1, 2, 3)) if example else 0
            national = example[:keep] + self.digits(max(0, length - keep))
            national = national[:length]
            try:
                number = phonenumbers.parse(f"+{cc}{national}")
            except phonenumbers.NumberParseException:
                continue
            if (
                phonenumbers.is_valid_number(number)
                and phonenumbers.region_code_for_number(number) == region
                and phonenumbers.number_type(number) in _PERSONAL_TYPES
            ):
                return number
        raise RuntimeError(f"no valid phone number generated for {region}")

    def phone(self, region: str | None = None, form: str | None = None) -> tuple[str, str, str]:
        """(text, form, region) of a valid personal number of ``region``."""
        region = region or self.pick(list(PHONE_REGIONS))
        form = form or self.pick(PHONE_FORMS)
        number = self.phone_number(region)
        cc = number.country_code
        nsn = phonenumbers.national_significant_number(number)
        if form == "international":
            text = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
        elif form == "national":
            text = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        elif form == "e164":
            text = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        else:
            styles = ["spaces", "dashes", "dots", "00-prefix"]
            if region in _TRUNK_ZERO_REGIONS:
                styles.append("trunk-0")
            style = self.pick(styles)
            intl = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
            groups = intl.split(" ", 1)[1].replace("-", " ").split()
            if style == "spaces":
                groups = self._split(nsn)
            if style == "spaces":
                text = f"+{cc} " + " ".join(groups)
            elif style == "dashes":
                text = f"+{cc}-" + "-".join(groups)
            elif style == "dots":
                text = f"+{cc}." + ".".join(groups)
            elif style == "00-prefix":
                text = f"00{cc} " + self.pick(("", " ")).join(groups)
            else:
                text = f"+{cc} (0)" + " ".join(groups)
            form = f"hand-{style}"
            digits = "".join(ch for ch in text if ch.isdigit())
            expect = (
                ("00" if style == "00-prefix" else "") + str(cc) + ("0" if style == "trunk-0" else "")
            ) + nsn
            assert digits == expect, (text, expect)
        return text, f"{form}/{region}", region

    def _split(self, digits: str) -> list[str]:
        groups, i = [], 0
        while i < len(digits):
            size = self.rng.choice((2, 3, 3, 4, 4))
            if len(digits) - i - size == 1:
                size += 1
            groups.append(digits[i : i + size])
            i += size
        return groups

    def phone_context(self, region: str) -> tuple[str, str]:
        country, cities = PHONE_REGIONS[region]
        return country, self.pick(cities)

    # --- IBANs
    def _bban(self, country: str) -> str:
        parts = []
        for count, kind in IBAN_LAYOUT[country]:
            for _ in range(count):
                if kind == "n":
                    parts.append(self.pick(string.digits))
                elif kind == "a":
                    parts.append(self.pick(string.ascii_uppercase))
                else:
                    pool = string.digits * 3 + string.ascii_uppercase
                    parts.append(self.pick(pool))
        bban = "".join(parts)
        if country == "BE":
            head = bban[:10]
            bban = head + f"{int(head) % 97 or 97:02d}"
        elif country == "ES":
            bank_branch, account = bban[:8], bban[10:]
            bban = bank_branch + _es_control("00" + bank_branch) + _es_control(account) + account
        elif country == "FR":
            bank, branch, account = bban[:5], bban[5:10], bban[10:21]
            key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
            bban = bank + branch + account + f"{key:02d}"
        return bban

    def iban(self, country: str | None = None, grouped: bool | None = None, valid: bool = True) -> str:
        country = country or self.pick(list(IBAN_LAYOUT))
        bban = self._bban(country)
        check = iban_check_digits(country, bban)
        if not valid:
            good = int(check)
            check = f"{self.pick([n for n in range(2, 99) if n != good]):02d}"
        compact = country + check + bban
        assert iban_is_valid(compact) == valid, compact
        if grouped is None:
            grouped = self.rng.random() < 0.5
        if grouped:
            return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
        return compact

    # --- cards
    def card(self, scheme: str | None = None, sep: str | None = None, valid: bool = True) -> tuple[str, str]:
        scheme = scheme or self.pick(("visa", "mastercard", "amex", "discover", "jcb"))
        if scheme == "visa":
            prefix, length = "4", 16
        elif scheme == "mastercard":
            prefix = (
                str(self.rng.randint(51, 55))
                if self.rng.random() < 0.7
                else str(self.rng.randint(2221, 2720))
            )
            length = 16
        elif scheme == "amex":
            prefix, length = self.pick(("34", "37")), 15
        elif scheme == "discover":
            prefix = self.pick(("6011", "65", str(self.rng.randint(644, 649))))
            length = 16
        else:
            prefix, length = str(self.rng.randint(3528, 3589)), 16
        body = prefix + self.digits(length - len(prefix) - 1)
        check = luhn_check_digit(body)
        if not valid:
            check = self.pick([d for d in string.digits if d != check])
        number = body + check
        assert luhn_is_valid(number) == valid
        if sep is None:
            sep = self.pick((" ", "-", ""))
        if length == 15:
            groups = [number[:4], number[4:10], number[10:]]
        else:
            groups = [number[i : i + 4] for i in range(0, 16, 4)]
        name = {" ": "spaces", "-": "dashes", "": "plain"}[sep]
        return sep.join(groups), f"{scheme}/{name}"

    # --- SSNs
    def ssn(self, sep: str | None = None, valid: bool = True) -> tuple[str, str]:
        if sep is None:
            sep = self.pick(("-", "-", "-", " ", ""))
        if valid:
            area = self.pick([a for a in range(1, 900) if a != 666])
            group = self.rng.randint(1, 99)
        else:
            area = self.pick((0, 666, self.rng.randint(900, 999)))
            # 9xx with group 50-65, 70-88, 90-92 or 94-99 is an ITIN (personal data): keep the others
            group = (
                self.pick([*range(1, 50), *range(66, 70), 89, 93]) if area >= 900 else self.rng.randint(1, 99)
            )
        serial = self.rng.randint(1, 9999)
        text = f"{area:03d}{sep}{group:02d}{sep}{serial:04d}"
        return text, {"-": "dashes", " ": "spaces", "": "plain"}[sep]

    # --- IPs
    def ipv4(self) -> str:
        while True:
            addr = ipaddress.IPv4Address(self.rng.getrandbits(32))
            if addr.is_global and not addr.is_multicast and addr.packed[0] not in (0, 255):
                return str(addr)

    def ipv4_private(self) -> str:
        return self.pick(
            (
                f"10.{self.rng.randint(0, 255)}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}",
                f"192.168.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}",
                f"172.{self.rng.randint(16, 31)}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}",
            )
        )

    def ipv6(self, form: str | None = None) -> tuple[str, str]:
        form = form or self.pick(("compressed", "compressed", "full", "exploded", "mapped", "upper"))
        if form == "mapped":
            return f"::ffff:{self.ipv4()}", form
        while True:
            groups = [self.rng.getrandbits(16) for _ in range(8)]
            groups[0] = self.pick((0x2001, 0x2A00, 0x2A01, 0x2A02, 0x2600, 0x2604, 0x2406, 0x2800, 0x2C0F))
            groups[0] |= self.rng.getrandbits(4) if groups[0] != 0x2001 else 0
            if form == "compressed" or form == "upper":
                start = self.rng.randint(2, 6)
                for i in range(start, min(8, start + self.rng.randint(1, 4))):
                    groups[i] = 0
            addr = ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups))
            if addr.is_global:
                break
        if form == "exploded":
            return addr.exploded, form
        if form == "full":
            return ":".join(f"{g:x}" for g in groups), form
        text = addr.compressed
        return (text.upper() if form == "upper" else text), form

    # --- URL credentials
    def secret(self) -> str:
        kind = self.pick(("hex", "b64", "sk", "ghp", "jwt", "password"))
        if kind == "hex":
            return self.token(32, "0123456789abcdef")
        if kind == "b64":
            return self.token(self.rng.randint(24, 43), _TOKEN_ALPHABET + "-_")
        if kind == "sk":
            return self.pick(("sk_live_", "rk_live_", "pk_test_")) + self.token(24)
        if kind == "ghp":
            return "ghp_" + self.token(36)
        if kind == "jwt":
            return "eyJhbGciOiJIUzI1NiJ9." + self.token(36, _TOKEN_ALPHABET + "-_") + "." + self.token(43)
        words = ("Tr0ub4dor", "Sunflower", "Winter", "Kx9", "pa55", "Qwerty", "Marmot", "Zeppelin")
        return (
            self.pick(words)
            + self.pick(("-", "_", ".", ""))
            + self.digits(self.rng.randint(2, 5))
            + self.token(3)
        )

    def host(self) -> str:
        return self.pick(
            (
                "api.tradewind.io",
                "hooks.parcelhub.net",
                "files.nordwind-logistik.de",
                "edge.cloudkit.app",
                "sso.brightpath.co.uk",
                "graph.meridian-health.com",
                "cdn2.shopvista.com.br",
                "internal.api.kestrel.jp",
            )
        )

    def url_credential(self, secret: str | None = None) -> tuple[str, str, str]:
        """(url, secret, form)."""
        secret = secret or self.secret()
        form = self.pick(("query", "query-amp", "fragment", "postgres", "dsn", "userinfo"))
        host = self.host()
        if form == "query":
            param = self.pick(("api_key", "apikey", "key", "access_token", "auth_token", "client_secret"))
            path = self.pick(("v1/reports/export", "v2/items", "api/search", "download/invoice.pdf"))
            url = f"https://{host}/{path}?{param}={secret}"
            form = f"query-{param}"
        elif form == "query-amp":
            param = self.pick(("token", "sig", "password", "access_token"))
            url = f"https://{host}/v3/events?page={self.rng.randint(1, 40)}&limit=100&{param}={secret}"
            form = f"amp-{param}"
        elif form == "fragment":
            url = (
                f"https://{host}/oauth/callback#access_token={secret}&token_type=Bearer"
                f"&expires_in={self.pick((3600, 7200, 86400))}"
            )
        elif form == "postgres":
            user = self.pick(("app", "svc_orders", "reporting", "postgres", "etl_user"))
            db_host = self.pick(
                ("db-prod-1.internal", "10.4.2.17", "pg.cluster.local", "orders-db.rds.amazonaws.com")
            )
            url = f"postgres://{user}:{secret}@{db_host}:5432/{self.pick(('orders', 'crm', 'billing'))}"
        elif form == "dsn":
            scheme = self.pick(("mysql", "mongodb+srv", "redis", "amqp", "postgresql"))
            user = "" if scheme == "redis" else self.pick(("app", "worker", "admin"))
            where = self.pick(("cache-2", "mq.internal", "cluster0.ab1cd.mongodb.net"))
            url = f"{scheme}://{user}:{secret}@{where}/"
            url += self.pick(("0", "prod", "vhost1"))
            form = f"dsn-{scheme}"
        else:
            url = (
                f"https://{self.pick(('deploy', 'ci-bot', 'backup'))}:{secret}@{host}/artifacts/latest.tar.gz"
            )
        return url, secret, form

    def placeholder_url(self) -> str:
        ph = self.pick(_PLACEHOLDER_SECRETS)
        host = self.host()
        return self.pick(
            (
                f"https://{host}/v1/reports/export?api_key={ph}",
                f"https://{host}/v3/events?page=2&token={ph}",
                f"https://{host}/oauth/callback#access_token={ph}&token_type=Bearer",
                f"postgres://app:{ph}@db-prod-1.internal:5432/orders",
                f"https://{host}/api/search?q=shoes&access_token={ph}",
            )
        )

    # --- people and e-mail
    def person(self, culture: str | None = None) -> tuple[str, str, str, str]:
        """(full name, first, last, culture)."""
        culture = culture or self.pick(list(NAMES))
        firsts, lasts = NAMES[culture]
        first, last = self.pick(firsts), self.pick(lasts)
        return f"{first} {last}", first, last, culture

    def email(self, first: str | None = None, last: str | None = None) -> str:
        if first is None or last is None:
            _, first, last, _ = self.person()
        f, la = ascii_fold(first).lower(), ascii_fold(last).lower().replace(" ", "").replace("-", "")
        local = self.pick(
            (
                f"{f}.{la}",
                f"{f[0]}{la}",
                f"{f}_{la}",
                f"{f}.{la}{self.rng.randint(1, 99)}",
                f"{f}+{self.pick(('orders', 'billing', 'test', 'newsletter'))}",
                f"{la}.{f[0]}",
                f"{f}{la[0]}{self.rng.randint(70, 99)}",
            )
        )
        domain = self.pick(
            (
                "gmail.com",
                "outlook.com",
                "yahoo.co.jp",
                "web.de",
                "orange.fr",
                "libero.it",
                "uol.com.br",
                "naver.com",
                "qq.com",
                "rediffmail.com",
                "t-online.de",
                "icloud.com",
                "proton.me",
                "hotmail.es",
                "wp.pl",
                "nordwind-logistik.de",
                "brightpath.co.uk",
                "meridian-health.com",
                "mail.tradewind.io",
                "kestrel.co.jp",
            )
        )
        return f"{local}@{domain}"

    # --- decoy values
    def order_id(self) -> str:
        return self.pick(
            (
                f"ORD-{self.moment():%Y%m%d}-{self.digits(6)}",
                f"#A-{self.digits(5)}",
                f"PO {self.pick('45')}{self.digits(9)}",
                f"INV-{self.moment():%Y}-{self.digits(5)}",
                f"SO{self.digits(8)}",
                f"1Z{self.token(6, string.ascii_uppercase + string.digits)}{self.digits(10)}",
            )
        )

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def version(self) -> str:
        return self.pick(
            (
                f"v{self.rng.randint(1, 4)}.{self.rng.randint(0, 30)}.{self.rng.randint(0, 20)}",
                f"{self.rng.randint(1, 3)}.{self.rng.randint(0, 30)}.{self.rng.randint(0, 9)}"
                f"-rc{self.rng.randint(1, 4)}",
                f"1.{self.rng.randint(24, 30)}.{self.rng.randint(1, 15)}-gke.{self.rng.randint(100, 2400)}",
                f"10.0.{self.rng.randint(17000, 22631)}.{self.rng.randint(100, 4000)}",
                f"build {self.moment():%Y.%m}.{self.rng.randint(1, 9)}",
            )
        )

    def date(self) -> str:
        m = self.moment()
        return self.pick(
            (f"{m:%Y-%m-%d}", f"{m:%d/%m/%Y}", f"{m:%m/%d/%Y}", f"{m:%d.%m.%Y}", f"{m:%b %d, %Y}")
        )

    def timestamp(self) -> str:
        m = self.moment()
        ms = self.rng.randint(0, 999)
        return self.pick(
            (
                f"{m:%Y-%m-%dT%H:%M:%S}.{ms:03d}Z",
                f"{m:%Y-%m-%d %H:%M:%S},{ms:03d}",
                f"{int(m.timestamp())}",
                f"{int(m.timestamp()) * 1000 + ms}",
                f"{m:%a, %d %b %Y %H:%M:%S} +0000",
            )
        )

    def price(self) -> str:
        amount = self.rng.randint(100, 999999) / 100
        return self.pick(
            (
                f"${amount:,.2f}",
                f"USD {amount:.2f}",
                f"€{amount:,.2f}".replace(",", " "),
                f"{amount:.2f} EUR",
                f"R$ {amount:,.2f}".replace(",", "X").replace(".", ",").replace("X", "."),
                f"¥{int(amount * 100):,}",
                f"£{amount:.2f}",
            )
        )


class Part:
    """The labels and decoys of one string of a case."""

    def __init__(self, gen: Gen) -> None:
        self.g = gen
        self.labels: list[tuple[str, str, str]] = []
        self.decoys: list[tuple[str, str]] = []

    def ent(self, tag: str, value: str, form: str = "") -> str:
        self.labels.append((tag, value, form))
        return value

    def dec(self, kind: str, value: str) -> str:
        self.decoys.append((kind, value))
        return value

    # entities
    def email(self, first: str | None = None, last: str | None = None) -> str:
        return self.ent("EMAIL", self.g.email(first, last), "email")

    def phone(self, region: str | None = None, form: str | None = None, context: bool = True) -> str:
        text, form_name, region = self.g.phone(region, form)
        self.ent("PHONE", text, form_name)
        if context and form_name.startswith("national/"):
            country, city = self.g.phone_context(region)
            return self.g.pick((f"{text} ({city}, {country})", f"{text} [{country}]", f"{city} {text}"))
        return text

    def phone_raw(self, region: str | None = None, form: str | None = None) -> tuple[str, str]:
        text, form_name, region = self.g.phone(region, form)
        self.ent("PHONE", text, form_name)
        return text, region

    def iban(self, **kw: Any) -> str:
        value = self.g.iban(**kw)
        return self.ent("IBAN", value, f"{value[:2]}/{'grouped' if ' ' in value else 'compact'}")

    def card(self, **kw: Any) -> str:
        value, form = self.g.card(**kw)
        return self.ent("CREDIT_CARD", value, form)

    def ssn(self, **kw: Any) -> str:
        value, form = self.g.ssn(**kw)
        return self.ent("SSN", value, form)

    def ipv4(self, port: bool = False) -> str:
        value = self.ent("IP_ADDRESS", self.g.ipv4(), "ipv4-port" if port else "ipv4")
        return f"{value}:{self.g.rng.randint(1024, 65535)}" if port else value

    def ipv6(self, form: str | None = None, port: bool = False) -> str:
        value, form = self.g.ipv6(form)
        self.ent("IP_ADDRESS", value, f"ipv6-{form}{'-port' if port else ''}")
        return f"[{value}]:{self.g.rng.randint(1024, 65535)}" if port else value

    def ip(self, port: bool = False) -> str:
        return self.ipv4(port) if self.g.rng.random() < 0.6 else self.ipv6(port=port)

    def url(self) -> str:
        url, secret, form = self.g.url_credential()
        self.ent("URL_CREDENTIAL", secret, form)
        return url

    def person(self, culture: str | None = None) -> tuple[str, str, str]:
        full, first, last, culture = self.g.person(culture)
        self.ent("PERSON", full, culture)
        return full, first, last

    # decoys
    def order(self) -> str:
        return self.dec("order_id", self.g.order_id())

    def uuid(self) -> str:
        return self.dec("uuid", self.g.uuid())

    def version(self) -> str:
        return self.dec("version", self.g.version())

    def date(self) -> str:
        return self.dec("date", self.g.date())

    def ts(self) -> str:
        return self.dec("timestamp", self.g.timestamp())

    def price(self) -> str:
        return self.dec("price", self.g.price())

    def bad_card(self) -> str:
        value, _ = self.g.card(valid=False)
        return self.dec("luhn_invalid_card", value)

    def bad_iban(self) -> str:
        return self.dec("bad_checksum_iban", self.g.iban(valid=False))

    def bad_ssn(self) -> str:
        value, _ = self.g.ssn(valid=False, sep=self.g.pick(("-", "-", " ")))
        return self.dec("unissued_ssn", value)

    def ph_url(self) -> str:
        return self.dec("placeholder_url", self.g.placeholder_url())


# ------------------------------------------------------------------------------------------ styles

_METHODS = ("GET", "GET", "GET", "POST", "PUT", "DELETE", "PATCH")
_UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "curl/8.5.0",
    "python-requests/2.31.0",
    "okhttp/4.12.0",
    "Go-http-client/2.0",
)


def _path_of(url: str) -> str:
    """The path and query of an absolute http(s) URL, as an access log records it."""
    return url[url.index("/", url.index("//") + 2) :]


def style_nginx(g: Gen) -> str | list:
    p = Part(g)
    m = g.moment()
    client = p.ip()
    ts = p.dec("timestamp", f"{m:%d/%b/%Y:%H:%M:%S} +0000")
    roll = g.rng.random()
    if roll < 0.3:
        url, secret, form = g.url_credential()
        # a request line has no fragment and no user-info: keep forms whose secret is in the path
        while not url.startswith("https://") or "#" in url or secret not in _path_of(url):
            url, secret, form = g.url_credential()
        path = _path_of(url)
        p.ent("URL_CREDENTIAL", secret, f"path-{form}")
    elif roll < 0.45:
        url = g.placeholder_url()
        while not url.startswith("https://") or "#" in url:
            url = g.placeholder_url()
        path = p.dec("placeholder_url", _path_of(url))
    else:
        path = g.pick(
            (
                lambda: (
                    f"/api/v2/orders/{p.dec('order_id', g.order_id().replace(' ', '-').replace('#', ''))}"
                ),
                lambda: f"/static/app.{g.token(8, '0123456789abcdef')}.js",
                lambda: f"/api/v1/sessions/{p.uuid()}",
                lambda: "/healthz",
                lambda: f"/download/releases/{p.dec('version', g.version().replace(' ', '-'))}/setup.exe",
            )
        )()
    status = g.pick((200, 200, 200, 201, 204, 301, 304, 400, 401, 403, 404, 499, 500, 502))
    ua = g.pick(_UAS)
    # status and body size: two plain numbers side by side, in every access log line
    sent = p.dec("http_status_bytes", f"{status} {g.rng.randint(0, 90000)}")
    line = f'{client} - - [{ts}] "{g.pick(_METHODS)} {path} HTTP/1.1" {sent} '
    line += f'"-" "{ua}" rt={g.rng.random():.3f} upstream={g.ipv4_private()}:{g.pick((8080, 9000, 3000))}'
    return [("input", line, p)]


def style_app_access(g: Gen) -> str | list:
    p = Part(g)
    ts = p.ts()
    client = p.ip(port=True)
    fields = [
        f"{ts} INFO [http-nio-8080-exec-{g.rng.randint(1, 40)}] c.a.web.AccessLog -",
        f"client={client}",
        f"method={g.pick(_METHODS)}",
        f"uri=/api/v2/{g.pick(('login', 'checkout', 'profile', 'payments/confirm'))}",
        f"status={g.pick((200, 201, 401, 403, 422, 500))}",
    ]
    if g.rng.random() < 0.6:
        fields.append(f"user={p.email()}")
    if g.rng.random() < 0.4:
        fields.append(f'xff="{p.ip()}, {g.ipv4_private()}"')
    fields.append(f"req_id={p.uuid()}")
    fields.append(f"rt_ms={g.rng.randint(1, 4000)}")
    if g.rng.random() < 0.3:
        fields.append(f"app_version={p.version()}")
    return [("input", " ".join(fields), p)]


def style_syslog(g: Gen) -> str | list:
    p = Part(g)
    m = g.moment()
    host = g.pick(("bastion-2", "web-03", "edge-fw1", "mail-relay", "vpn-gw"))
    roll = g.rng.random()
    if roll < 0.35:
        msg = (
            f"sshd[{g.rng.randint(1000, 60000)}]: Failed password for invalid user "
            f"{g.pick(('admin', 'oracle', 'test', 'ubuntu'))} from {p.ipv4()} "
            f"port {g.rng.randint(1024, 65535)} ssh2"
        )
    elif roll < 0.55:
        msg = f"sshd[{g.rng.randint(1000, 60000)}]: Accepted publickey for deploy from {p.ip()} port "
        msg += f"{g.rng.randint(1024, 65535)} ssh2: ED25519 SHA256:{g.token(43)}"
    elif roll < 0.8:
        src = p.ipv6(g.pick(("exploded", "full"))) if g.rng.random() < 0.5 else p.ipv4()
        msg = (
            f"kernel: [{g.rng.randint(1000, 99999)}.{g.digits(6)}] [UFW BLOCK] IN=eth0 OUT= "
            f"MAC={':'.join(g.token(2, '0123456789abcdef') for _ in range(14))} SRC={src} "
            f"DST={g.ipv4_private()} LEN={g.rng.randint(40, 1500)} PROTO=TCP "
            f"SPT={g.rng.randint(1024, 65535)} "
            f"DPT={g.pick((22, 23, 445, 3389, 8080))}"
        )
    else:
        msg = (
            f"postfix/smtpd[{g.rng.randint(1000, 60000)}]: NOQUEUE: reject: RCPT from unknown[{p.ip()}]: "
            f"554 5.7.1 <{p.email()}>: Relay access denied; proto=ESMTP"
        )
    return [("input", f"{m:%b %d %H:%M:%S} {host} {msg}", p)]


def _chat_sentence(p: Part) -> str:
    g = p.g
    roll = g.rng.random()
    if roll < 0.2:
        return f"customer asked for a callback on {p.phone()} before {g.rng.randint(2, 6)}pm"
    if roll < 0.32:
        return f"can someone check why {p.email()} still gets the reset mail? ticket {p.order()}"
    if roll < 0.42:
        card = p.card()
        expiry = f"{g.rng.randint(1, 12):02d}/{g.rng.randint(25, 31)}"
        return f"she pasted her card in the widget again 🙄 {card} exp {expiry}"
    if roll < 0.52:
        return f"refund goes to {p.iban()} — amount {p.price()}"
    if roll < 0.6:
        return f"payroll form for the new hire has SSN {p.ssn()}, moving it to the vault"
    if roll < 0.7:
        return f"here's the export link, works until tonight: {p.url()}"
    if roll < 0.78:
        return f"abuse reports keep coming from {p.ip()}, blocked it at {p.ts()}"
    if roll < 0.86:
        full, _, _ = p.person()
        return f"escalating to {full}, she owns the {g.pick(('billing', 'KYC', 'fraud'))} queue"
    if roll < 0.93:
        return f"fyi the doc says use {p.ph_url()} — don't paste real keys here"
    return (
        f"deployed {p.version()} at {p.ts()}, order {p.order()} processed fine, "
        f"card {p.bad_card()} was rejected (bad number)"
    )


def style_slack(g: Gen) -> str | list:
    p = Part(g)
    full, _, _ = p.person()
    m = g.moment()
    head = g.pick(
        (
            f"[{m:%Y-%m-%d %H:%M}] {full}: ",
            f"#support-escalations | {full} | {m:%I:%M %p} | ",
            f"{full}  {m:%I:%M %p}\n",
        )
    )
    text = head + _chat_sentence(p)
    if g.rng.random() < 0.4:
        text += f"\n[{m:%H:%M}] {g.pick(('bot', 'Jira', 'PagerDuty'))}: linked {p.order()}"
    return [("input", text, p)]


def style_json(g: Gen) -> str | list:
    p = Part(g)
    full, first, last = p.person()
    record: dict[str, Any] = {
        "ts": p.ts(),
        "level": g.pick(("info", "warn", "error")),
        "logger": g.pick(("payments.capture", "crm.sync", "auth.session", "kyc.verify")),
        "trace_id": p.uuid(),
        "msg": g.pick(("payment authorised", "profile updated", "login failed", "document uploaded")),
        "customer": {"name": full, "email": p.email(first, last)},
    }
    roll = g.rng.random()
    if roll < 0.3:
        record["customer"]["msisdn"] = p.phone(form=g.pick(("e164", "international")))
    elif roll < 0.45:
        number, region = p.phone_raw(form="national")
        record["customer"]["phone"] = number
        record["customer"]["country"] = region
    if g.rng.random() < 0.35:
        record["payment"] = {"pan": p.card(sep=g.pick(("", " "))), "amount": p.price()}
    elif g.rng.random() < 0.35:
        record["payout"] = {"iban": p.iban(), "amount": p.price()}
    if g.rng.random() < 0.5:
        record["remote_addr"] = p.ip()
    if g.rng.random() < 0.2:
        record["customer"]["ssn"] = p.ssn(sep="-")
    if g.rng.random() < 0.2:
        record["callback"] = p.url()
    if g.rng.random() < 0.25:
        record["rejected"] = g.pick((p.bad_card, p.bad_iban))()
    record["service_version"] = p.version()
    return [("input", json.dumps(record, ensure_ascii=False), p)]


def style_sql(g: Gen) -> str | list:
    p = Part(g)
    m = g.moment()
    ts = p.dec("timestamp", f"{m:%Y-%m-%d %H:%M:%S}.{g.rng.randint(0, 999):03d}")
    pid = g.rng.randint(1000, 65000)
    roll = g.rng.random()
    if roll < 0.3:
        stmt = (
            f"UPDATE customers SET email = '{p.email()}', "
            f"phone = '{p.phone(form=g.pick(('e164', 'international')))}', "
            f"updated_at = '{p.date()}' WHERE customer_id = {g.rng.randint(1000, 999999)};"
        )
    elif roll < 0.55:
        full, _, _ = p.person()
        stmt = (
            f"INSERT INTO payouts (id, holder, iban, amount, currency) VALUES ({g.rng.randint(1000, 99999)}, "
            f"'{full}', '{p.iban(grouped=False)}', {g.rng.randint(100, 999999) / 100}, 'EUR');"
        )
    elif roll < 0.75:
        full, _, _ = p.person()
        stmt = (
            f"INSERT INTO patients(ssn, full_name, dob) VALUES ('{p.ssn(sep='-')}', '{full}', '{p.date()}');"
        )
        session = g.rng.randint(1, 99)
        stmt = f'AUDIT: SESSION,{session},1,WRITE,INSERT,TABLE,public.patients,"{stmt}",<not logged>'
    elif roll < 0.9:
        stmt = (
            f"SELECT * FROM card_tokens WHERE pan = '{p.card(sep='')}' OR pan = '{p.bad_card()}' "
            f"AND merchant_ref = '{p.order()}';"
        )
    else:
        stmt = (
            f"UPDATE tax_profiles SET ssn = '{p.ssn(sep='-')}' WHERE ssn = '{p.bad_ssn()}'; "
            f"-- migration {p.version()}"
        )
    who = f"{g.pick(('app', 'dba', 'etl'))}@{g.pick(('crm', 'billing', 'ehr'))}"
    line = f"{ts} UTC [{pid}] {who} LOG:  statement: {stmt}"
    if "AUDIT:" in stmt:
        line = f"{ts} UTC [{pid}] LOG:  {stmt}"
    return [("input", line, p)]


_COMPANIES = (
    ("Nordwind Logistik GmbH", "DE"),
    ("Brightpath Ltd", "GB"),
    ("Meridian Health Inc.", "US"),
    ("Kestrel Trading K.K.", "JP"),
    ("Tradewind BV", "NL"),
    ("Vista Comércio Ltda", "BR"),
    ("Soluciones Ibéricas S.L.", "ES"),
    ("Alpenblick AG", "CH"),
    ("Maple Freight Corp.", "CA"),
    ("Southern Cross Pty Ltd", "AU"),
)


def style_email(g: Gen) -> str | list:
    p = Part(g)
    full, first, last = p.person()
    to_full, to_first, to_last = p.person()
    company, region = g.pick(_COMPANIES)
    sender = p.email(first, last)
    m = g.moment()
    lines = [
        f"From: {full} <{sender}>",
        f"To: {to_full} <{p.email(to_first, to_last)}>",
        f"Date: {m:%a, %d %b %Y %H:%M:%S} +0100",
        f"Subject: Re: Invoice {p.order()} overdue",
        f"Message-ID: <{m:%Y%m%d%H%M%S}.{g.digits(5)}@mail.example.net>",
        f"X-Originating-IP: [{p.ipv4()}]",
        "",
        f"Hi {to_first},",
        "",
        g.pick(
            (
                lambda: f"please find attached the statement dated {p.date()} for {p.price()}.",
                lambda: f"the transfer should go to our account {p.iban()}, reference {p.order()}.",
                lambda: f"our old account {p.bad_iban()} is closed, please do not use it any more.",
                lambda: f"you can also pull the files here: {p.url()}",
            )
        )(),
        "",
        "Kind regards,",
        "--",
        full,
        f"{g.pick(('Head of Accounts Payable', 'Customer Success Manager', 'Operations Lead'))} | {company}",
    ]
    phone_lines = []
    phone_lines.append(f"Tel. {p.phone(region, form=g.pick(('international', 'hand')))}")
    if g.rng.random() < 0.6:
        phone_lines.append(f"Mobile: {p.phone(region, context=False)}")
    lines.append(" | ".join(phone_lines))
    return [("input", "\n".join(lines), p)]


def style_callcentre(g: Gen) -> str | list:
    p = Part(g)
    agent, _, _ = p.person()
    caller, c_first, c_last = p.person()
    t = 0

    def stamp() -> str:
        nonlocal t
        t += g.rng.randint(3, 25)
        return f"[{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}]"

    lines = [
        f"{stamp()} AGENT ({agent}): Thank you for calling, who am I speaking with?",
        f"{stamp()} CALLER: Hi, yes, this is {caller}.",
        f"{stamp()} AGENT: Thanks. For security, can you confirm the number on the account?",
        f"{stamp()} CALLER: It should be {p.phone()}.",
    ]
    roll = g.rng.random()
    if roll < 0.35:
        lines.append(f"{stamp()} AGENT: And the card you used?")
        lines.append(
            f"{stamp()} CALLER: Uh, {p.card(sep=g.pick((' ', '-')))}, "
            f"expiry {g.rng.randint(1, 12)}/{g.rng.randint(25, 30)}."
        )
    elif roll < 0.6:
        lines.append(f"{stamp()} AGENT: I need your social security number to continue.")
        lines.append(f"{stamp()} CALLER: Sure, {p.ssn(sep=g.pick(('-', ' ')))}.")
    elif roll < 0.8:
        lines.append(f"{stamp()} CALLER: And send the confirmation to {p.email(c_first, c_last)} please.")
    else:
        lines.append(f"{stamp()} CALLER: The refund should go to {p.iban(grouped=True)}.")
    lines.append(f"{stamp()} AGENT: Great, I see order {p.order()} from {p.date()} for {p.price()}.")
    if g.rng.random() < 0.3:
        lines.append(f"{stamp()} AGENT: The number {p.bad_ssn()} you gave earlier isn't valid, by the way.")
    return [("input", "\n".join(lines), p)]


def style_env(g: Gen) -> str | list:
    p = Part(g)
    lines = [
        f"# crash dump {p.uuid()} at {p.ts()}",
        f"APP_VERSION={p.version()}",
        f"DATABASE_URL={p.url() if g.rng.random() < 0.7 else p.ph_url()}",
        f"WEBHOOK_URL={p.url() if g.rng.random() < 0.5 else p.ph_url()}",
        f"SUPPORT_EMAIL={p.email()}",
        f"BIND_ADDR={p.ip(port=True)}",
    ]
    return [("input", "\n".join(lines), p)]


def style_csv(g: Gen) -> str | list:
    p = Part(g)
    full, first, last = p.person()
    number, region = p.phone_raw(form=g.pick(("e164", "international", "national")))
    row = [
        p.date(),
        p.order(),
        f'"{full}"',
        p.email(first, last),
        number,
        region,
        p.iban(grouped=False) if g.rng.random() < 0.6 else p.card(sep=""),
        f'"{p.price()}"',
    ]
    return [("input", ",".join(row), p)]


def style_chat(g: Gen) -> str | list:
    system = Part(g)
    sys_text = f"You are the support assistant for ShopVista (build {system.version()}). Be concise."
    out: list[tuple[str, str, Part]] = [("system", sys_text, system)]
    u1 = Part(g)
    full, first, last = u1.person()
    parts = [f"Hi, I'm {full}.", f"My order {u1.order()} from {u1.date()} never arrived."]
    if g.rng.random() < 0.7:
        parts.append(f"You can reach me at {u1.phone()} or {u1.email(first, last)}.")
    else:
        parts.append(f"Email me at {u1.email(first, last)}.")
    out.append(("user", " ".join(parts), u1))
    a1 = Part(g)
    a1_text = f"Thanks {first}! I see order {a1.order()} for {a1.price()}. How would you like to be refunded?"
    out.append(("assistant", a1_text, a1))
    u2 = Part(g)
    roll = g.rng.random()
    if roll < 0.4:
        u2_text = f"To my bank account please: {u2.iban()}. The account holder is {u2.person()[0]}."
    elif roll < 0.7:
        u2_text = f"Back to the card, it's {u2.card()}. Not {u2.bad_card()}, that one I mistyped earlier."
    else:
        u2_text = f"Whatever is faster. My SSN is {u2.ssn()} if you need to verify me."
    out.append(("user", u2_text, u2))
    if g.rng.random() < 0.4:
        a2 = Part(g)
        out.append(("assistant", f"Done — refund of {a2.price()} queued at {a2.ts()}.", a2))
    return out


STYLES = {
    "nginx": (style_nginx, 12),
    "app_access": (style_app_access, 10),
    "syslog": (style_syslog, 7),
    "slack": (style_slack, 13),
    "json": (style_json, 12),
    "sql": (style_sql, 10),
    "email": (style_email, 8),
    "callcentre": (style_callcentre, 8),
    "env": (style_env, 5),
    "csv": (style_csv, 5),
    "chat": (style_chat, 12),
}


def build_corpus(lines: int = 1200, seed: int = 99) -> list[UnseenCase]:
    """``lines`` labelled cases, the same for the same seed."""
    g = Gen(seed)
    names = list(STYLES)
    weights = [STYLES[n][1] for n in names]
    cases: list[UnseenCase] = []
    for i in range(lines):
        style = g.rng.choices(names, weights)[0]
        parts = STYLES[style][0](g)
        case: dict[str, Any] = {"id": f"unseen-{i:05d}"}
        if parts[0][0] == "input":
            case["input"] = parts[0][1]
            strings = [("input", parts[0][1], parts[0][2])]
        else:
            case["messages"] = [{"role": role, "content": text} for role, text, _ in parts]
            strings = [(f"messages[{j}].content", text, part) for j, (_, text, part) in enumerate(parts)]
        item = UnseenCase(case=case, style=style)
        for path, text, part in strings:
            seen: set[tuple[str, str]] = set()
            for tag, value, form in part.labels:
                assert value in text, (style, value, text)
                if (tag, value) not in seen:
                    seen.add((tag, value))
                    item.labels.append(Label(tag, value, path, form))
            values = [v for _, v, _ in part.labels]
            for kind, value in part.decoys:
                assert value in text, (style, kind, value, text)
                # a decoy overlapping a labelled value could not be judged on its own
                if any(value in v or v in value for v in values):
                    continue
                item.decoys.append(Decoy(kind, value, path))
        cases.append(item)
    return cases


if __name__ == "__main__":
    corpus = build_corpus(20)
    for c in corpus[:20]:
        print(c.style, json.dumps(c.case, ensure_ascii=False)[:300])
        for lab in c.labels:
            print("   ", lab)
        for d in c.decoys:
            print("    decoy", d)
