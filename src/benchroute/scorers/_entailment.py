"""Lexical and numeric entailment: how much of a claim a passage states, without a model.

Design
------
A faithful answer paraphrases its passages: it swaps words for synonyms ("built" for
"constructed"), inflects them differently ("started" / "begins"), spells numbers as words or
digits ("four" / "4", "1,200" / "1200") and reorders everything. An invented sentence, by
contrast, brings in facts the passages do not have: a number, a date, a name, a file, or
content words from nowhere. So a claim is compared with a passage on two levels:

- **Hard terms** must all occur in the passages checked: numbers (digits or number words,
  ordinals, years, amounts), capitalised names and acronyms that do not open the claim, and
  code-like tokens (``config.yaml``, ``.env``, ``ACME_PORT``, ``--flag``). A name may also come
  from the question (an answer restates the question's subject); a number may not. One missing
  hard term makes the claim unsupported, however close it is in wording.
- **Coverage**: the share of the claim's content words (stopwords and glue words out) that the
  passage has, matched by *concept*: case- and accent-folded, reduced to a crude lemma
  (irregular verb forms, plural and verb endings, British/American spelling, doubled final
  consonants), then mapped to a synonym group of everyday paraphrase pairs; a long word also
  matches a word with the same first six letters ("anticoagulant" / "anticoagulants"). Numbers
  are normalised ("1,200,000" and "1.2 million"; "14 days" also states "2 weeks"). Coverage is
  measured both against the best window of up to three adjacent sentences and against the
  whole passage set, and the window counts more, since invented facts often glue a subject
  from one sentence to a fact from another. Words the question contains count as covered in
  the whole-passage share (restating the question adds no fact), not in a window's.

Negation is compared too: a negated claim whose best window denies nothing (no "not", no
"free", "excluded", "untracked") is a contradiction more often than a paraphrase.

What this cannot see: a relation between words that are all present ("A is larger than B"
against "B is larger than A"), and paraphrases outside the synonym groups. The embedding
checker adds sentence embeddings for the latter; the judge checker sees both as well as its
model can. No offline natural-language-inference model is used: none of the NLI packages on
PyPI that were checked ships its weights inside the wheel (they download them from a model hub
at run time, which an offline install cannot do).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ._claims import STOPWORDS, _fold, _word_set, _words

# Glue that paraphrases add or drop freely: its presence says nothing about support.
LIGHT = _word_set(
    """
    make made makes making located situated lies lie stands stand standing known called named
    became become becomes used uses use using including include includes based also well still
    even approximately about around nearly almost roughly just really actually currently
    generally typically usually mainly mostly primarily widely often able way ways part kind
    type both either such like example instance e.g i.e case cases certain given get gets got
    getting put puts take takes took taken let lets able within without whether however also
    therefore thus hence another further later first next new whole entire overall simply
    basically quite rather fairly pretty lot lots really already always only ever very much
    percent per cent
    """
)

_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
    "eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40",
    "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
    "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000",
    "first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6",
    "seventh": "7", "eighth": "8", "ninth": "9", "tenth": "10", "once": "1", "twice": "2",
    "thrice": "3", "half": "0.5", "dozen": "12", "single": "1", "double": "2", "triple": "3",
    "pair": "2", "couple": "2",
}  # fmt: skip
# Number words that are ordinary words too often to be hard terms ("one of", "second hand").
_SOFT_NUMBER_WORDS = frozenset(
    {"one", "once", "single", "double", "half", "pair", "couple", "second", "first"}
)
_NUMBER = re.compile(r"^\d[\d,.]*(?:st|nd|rd|th|s|k|m|bn|%)?$")
_MONTHS = _word_set("january february march april may june july august september october november december")

_IRREGULAR = {
    "built": "build", "began": "begin", "begun": "begin", "wrote": "write", "written": "write",
    "took": "take", "taken": "take", "gave": "give", "given": "give", "went": "go", "gone": "go",
    "made": "make", "held": "hold", "led": "lead", "left": "leave", "kept": "keep",
    "brought": "bring", "bought": "buy", "sold": "sell", "paid": "pay", "said": "say",
    "told": "tell", "thought": "think", "ran": "run", "grew": "grow", "grown": "grow",
    "knew": "know", "known": "know", "saw": "see", "seen": "see", "came": "come",
    "became": "become", "chose": "choose", "chosen": "choose", "rose": "rise", "risen": "rise",
    "fell": "fall", "fallen": "fall", "drove": "drive", "driven": "drive", "flew": "fly",
    "flown": "fly", "spent": "spend", "sent": "send", "lost": "lose", "won": "win", "met": "meet",
    "sat": "sit", "stood": "stand", "fed": "feed", "felt": "feel", "meant": "mean",
    "taught": "teach", "caught": "catch", "fought": "fight", "sought": "seek", "shown": "show",
    "threw": "throw", "thrown": "throw", "ate": "eat", "eaten": "eat", "spoke": "speak",
    "spoken": "speak", "broke": "break", "broken": "break", "drew": "draw", "drawn": "draw",
    "wore": "wear", "worn": "wear", "hung": "hang", "sang": "sing", "sung": "sing",
    "swam": "swim", "struck": "strike", "hid": "hide", "hidden": "hide", "laid": "lay",
    "lain": "lie", "rode": "ride", "ridden": "ride", "froze": "freeze", "frozen": "freeze",
    "woke": "wake", "shook": "shake", "understood": "understand", "forgot": "forget",
    "forgotten": "forget", "got": "get", "gotten": "get", "is": "be", "are": "be", "was": "be",
    "were": "be", "been": "be", "has": "have", "had": "have", "does": "do", "did": "do",
    "done": "do", "men": "man", "women": "woman", "children": "child", "feet": "foot",
    "teeth": "tooth", "mice": "mouse", "people": "person", "geese": "goose", "lives": "life",
    "wives": "wife", "leaves": "leaf", "halves": "half", "better": "good", "best": "good",
    "worse": "bad", "worst": "bad", "more": "many", "most": "many", "less": "few",
    "least": "few", "further": "far", "farther": "far", "furthest": "far", "larger": "large",
    "largest": "large", "bigger": "big", "biggest": "big", "smaller": "small",
    "smallest": "small", "higher": "high", "highest": "high", "taller": "tall",
    "tallest": "tall", "longer": "long", "longest": "long", "older": "old", "oldest": "old",
    "earlier": "early", "earliest": "early", "faster": "fast", "fastest": "fast",
    "newer": "new", "newest": "new", "later": "late", "latest": "late", "greater": "great",
    "greatest": "great", "lower": "low", "lowest": "low", "wider": "wide", "widest": "wide",
    "heavier": "heavy", "heaviest": "heavy", "deeper": "deep", "deepest": "deep",
    "quicker": "quick", "quickly": "quick", "easier": "easy", "easily": "easy",
}  # fmt: skip

# Everyday paraphrase pairs: the words of a group stand for one concept. Written as lemmas
# (what ``lemma`` returns for each word), so inflected forms join their group too.
_SYNONYM_GROUPS = """
build construct erect; begin start commence launch kick; end finish complete conclude
close; large big huge sizable sizeable vast enormous massive; small little tiny minor;
tall high height; fast quick rapid swift speedy; buy purchase acquire; sell; show display
indicate reveal demonstrate signal signify; use utilize employ; help assist aid support;
need require requirement necessary essential must; allow permit let enable; create make
produce generate form; found establish set; die death dead; contain hold house store;
call name term; famous renowned well-known celebrated notable; city town; car vehicle
automobile motorist driver; road street highway; link connect join; cross span traverse;
choose pick select; discover find identify spot detect; reduce lower decrease lessen cut
ease relieve diminish drop decline alleviate; increase raise boost rise grow climb;
risk chance likelihood danger; doctor physician clinician gp; medicine medication drug
pharmaceutical; pain ache; common frequent usual typical; about approximately roughly
around nearly almost some circa; each every per; day daily; year yearly annual annually;
week weekly; month monthly; hour hourly; submit file lodge send; pay reimburse refund
compensate cover payout; approve accept authorize sign; reject refuse deny decline;
expense cost spending price fee; trip journey travel; worker employee staff; manager
supervisor boss; mix combine blend stir; discard throw remove dispose; fresh new;
ready prepare; twice double; jar container vessel; stay remain keep leave maintain;
colour color; visible see seen; fog mist; override overrule overwrite; setting option
configuration config parameter; directory folder; secret password credential; load read
import parse; change edit modify alter update adjust; version release; state declare
specify say indicate list mention note describe define; field key entry; project package
library module; communicate tell inform convey; location place position; duration length;
distance far; moon satellite; orbit circle revolve; win victory title triumph; rider
cyclist racer; race competition event contest; bicycle bike cycling cycle; organize
organise hold stage host run; mostly mainly largely primarily chiefly predominantly;
withdraw; penalty fine; eligible eligibility qualify; limit cap maximum ceiling
max; contribute contribution deposit; old age aged; gradual gradually; whenever anytime;
leader lead head; good best top; big major; main principal primary chief key; many
numerous lot plenty multiple; often frequently regularly; quick fast quickly; important
significant crucial; problem issue trouble; answer reply response; ask request query;
work job; child kid; woman female; man male; happen occur; protect guard shield defend;
stop halt cease; try attempt; get obtain receive gain; give provide offer supply grant;
keep retain; move relocate; near close nearby; before prior; after following; cause
lead; result outcome; effect impact; rule regulation policy; law legislation; country
nation state; area region zone; person individual; buy; kill; destroy ruin; begin;
research study; scientist researcher; author writer; write pen author; book novel; speak
talk; picture image photo photograph; film movie; music song; sea ocean; river stream;
hill mountain mount; earth world globe; forest wood woods; rock stone; hot warm heat; cold cool chill;
big great; quiet silent; rich wealthy; poor; fix repair; break; grow; plant; animal
creature; illness disease sickness condition; treat treatment therapy; symptom sign;
injury wound; heart cardiac; blood; bleed bleeding hemorrhage; stomach gastric belly;
kidney renal; liver hepatic; lung pulmonary; brain cerebral; skin; bone; tablet pill
capsule; dose dosage; take consume; adult grown-up; safe safely; unsafe dangerous
hazardous; warn warning caution; bear carry; run operate execute; program software
application app; install setup; error failure fault bug; fail crash; file document;
server host; user client customer; default standard; enable activate; disable
deactivate; delete erase; save store persist; request call; reply respond; port;
environment env; variable var; precedence priority; commit; repository repo; source
code; editable; interpreter; compile; fastest; quickest; begin open opening; opened;
free costless complimentary gratis; dispute disagreement conflict argument quarrel;
agree consent; allow; purpose aim goal objective; method approach technique way; rapid;
reach arrive get; leave depart exit; enter access; return come; outside exterior;
inside interior; above over exceed beyond; below under beneath; around surround; part
portion share piece section; whole entire complete full; total overall sum; amount
quantity volume; size dimension; weight mass; speed velocity pace; strong powerful;
weak feeble faint; easy simple straightforward; hard difficult tough; correct right
accurate; wrong incorrect mistaken; likely probable; unlikely improbable; possible
feasible; sure certain; clear evident obvious; similar alike comparable; different
distinct; same identical; first initial earliest original; last final; early premature;
late delay delayed; quickly; slowly gradually; soon shortly; now currently presently;
often; rarely seldom; always constantly; never; sometimes occasionally; usually normally
typically generally ordinarily; mostly; also additionally; only solely merely; very
extremely highly; enough sufficient adequate; too excessive; main central; require;
contain include comprise encompass; consist compose; produce yield; provide; receive get
obtain collect gather; collect; keep preserve conserve; protect safeguard; prevent avoid
stop block; cause trigger induce provoke; affect influence; depend rely; explain clarify;
show; prove confirm verify; suggest propose recommend advise; advise; decide determine;
choose; plan intend; expect anticipate predict forecast; believe think consider; know;
learn study; teach instruct educate; remember recall; forget; lose; win gain earn; spend;
save; cost; price; money cash funds; pay; buy; sell; trade exchange; rent lease hire;
borrow loan; lend; own possess; belong; share; divide split separate; join combine merge
unite; connect attach link; remove eliminate delete; add append insert; replace substitute
swap; repair fix mend restore; damage harm injure hurt; harmful damaging dangerous risky;
destroy demolish; build; design plan; test check examine inspect; measure gauge; count
tally; calculate compute; increase; decrease; grow; shrink; expand extend enlarge;
reduce; rise; fall drop; happen; start; finish; continue proceed; stop; wait; move; carry
transport convey; send; deliver; travel; walk; run; fly; drive; ride; swim; climb ascend;
descend; arrive; depart; stay; live reside dwell inhabit; work; rest; sleep; eat consume;
drink; cook prepare; clean wash; wear; watch observe view; look; see notice; hear listen;
speak; say; ask; answer; call; write; read; talk; discuss debate; argue; agree; refuse;
accept; offer; give; take; bring; hold; put place set position; raise; lower; open; close
shut; begin; end; human person individual people; child; adult; parent; family household;
friend companion; group team; company firm business corporation enterprise; government
state authority; country; city; home house residence dwelling; room chamber; building
structure; road; car; ship vessel boat; plane aircraft airplane; train railway rail; food
meal; water; fire flame; air atmosphere; land ground soil earth; sea; weather climate;
sun sunlight sunshine; light; dark darkness; heat; cold; day; night; morning; evening;
year; time period era age; history past; future; moment instant; minute; hour; week;
month; season; spring; summer; autumn fall; winter; begin
"""


def _build_synonyms() -> dict[str, str]:
    mapping: dict[str, str] = {}
    for group in _SYNONYM_GROUPS.split(";"):
        words = [lemma(w) for w in group.split()]
        if len(words) < 2:
            continue
        head = mapping.get(words[0], words[0])
        for word in words:
            mapping.setdefault(word, head)
    return mapping


def lemma(word: str) -> str:
    """A crude lemma of a folded word: irregular forms, British spellings and common endings
    undone, so that "constructed", "constructing" and "constructs" meet."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3 or not word.isalpha():
        return word
    word = re.sub(r"is(e|ed|es|ing|ation|ations)$", r"iz\1", word)  # organise -> organize
    word = re.sub(r"(colo|flavo|favo|hono|labo|behavio|neighbo|harbo|rumo)ur", r"\1r", word)
    for suffix, replacement in (
        ("ies", "y"), ("ied", "y"), ("ily", "y"), ("ing", ""), ("ed", ""), ("es", ""),
        ("ly", ""), ("s", ""),
    ):  # fmt: skip
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                break
            if suffix == "es" and not word.endswith(("ses", "xes", "zes", "ches", "shes", "oes")):
                continue
            word = word[: -len(suffix)] + replacement
            if suffix in ("ing", "ed") and len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # stopped -> stop
            break
    if len(word) > 4 and word.endswith("e") and not word.endswith(("ee", "ie", "ye")):
        word = word[:-1]  # complete / completed
    return word


_SYNONYMS: dict[str, str] = {}


def concept(word: str) -> str:
    """The synonym-group key of a folded word (its lemma when it belongs to no group)."""
    if not _SYNONYMS:
        _SYNONYMS.update(_build_synonyms())
    base = lemma(word)
    return _SYNONYMS.get(base, base)


def is_number(word: str) -> bool:
    return bool(_NUMBER.match(word))


def number_key(word: str) -> str:
    """``"1,200"``, ``"1200"`` and ``"1200s"`` all give ``"1200"``; ``"3.50"`` gives ``"3.5"``."""
    digits = re.sub(r"(st|nd|rd|th|s|k|m|bn|%)$", "", word.replace(",", "")).rstrip(".")
    if "." in digits:
        digits = digits.rstrip("0").rstrip(".") or "0"
    return digits


_CODE_LIKE = re.compile(r"[._=/\\]|\d[a-z]|[a-z]\d|^-", re.IGNORECASE)


_SCALED = re.compile(r"\b(\d+(?:[.,]\d+)?)\s*(thousand|million|billion|trillion|bn)\b", re.IGNORECASE)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "bn": 10**9, "trillion": 10**12}
_CAPITALISED_RUN = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of|for|and|the|de|du|von|van)?\s*[A-Z][\w'’-]*)+")


def scale_numbers(text: str) -> str:
    """Numbers in one spelling: ``"1,200,000"`` and ``"1.2 million"`` both as ``"1200000"``."""
    text = _THOUSANDS.sub("", text)

    def expand(match: re.Match[str]) -> str:
        try:
            value = float(match.group(1).replace(",", ".")) * _SCALES[match.group(2).casefold()]
        except ValueError:
            return match.group(0)
        return str(round(value))

    return _SCALED.sub(expand, text)


# "14 days" also states "2 weeks", "12 months" "1 year": the units a paraphrase converts to.
_DURATION = re.compile(
    r"\b(\d+(?:\.\d+)?|[a-z]+)[\s-]+(minutes?|hours?|days?|weeks?|months?|years?)\b", re.IGNORECASE
)
_CLOCK = {"minute": 1, "hour": 60, "day": 1440, "week": 10080}
_CALENDAR = {"month": 1, "year": 12}


def _durations(text: str) -> list[str]:
    """Every duration in ``text`` restated in the other units where it is a whole number
    (minutes, hours, days and weeks among themselves; months and years between them)."""
    out = []
    for match in _DURATION.finditer(text):
        amount = match.group(1).casefold()
        if not (amount.replace(".", "", 1).isdigit() or amount in _NUMBER_WORDS):
            continue
        value = float(_NUMBER_WORDS.get(amount, amount))
        unit = match.group(2).casefold().removesuffix("s")
        family = _CALENDAR if unit in _CALENDAR else _CLOCK
        for other, size in family.items():
            converted = value * family[unit] / size
            if other != unit and converted >= 1 and abs(converted - round(converted)) < 1e-9:
                out.append(f"{round(converted)} {other}")
    return out


class Lexicon:
    """The concepts, prefixes and numbers of some text, for matching a claim's words."""

    __slots__ = ("concepts", "name_stems", "numbers", "prefixes", "words")

    def __init__(self, text: str) -> None:
        self.words: set[str] = set()
        self.concepts: set[str] = set()
        self.prefixes: set[str] = set()
        self.numbers: set[str] = set()
        self.name_stems: set[str] = set()  # five-letter starts of capitalised words
        text = scale_numbers(text)
        text = " ".join([text, *_durations(text)])
        # An acronym in a claim may stand for a name the passage spells out ("WHO" for "World
        # Health Organization"): the initials of each run of capitalised words count as words.
        for run in _CAPITALISED_RUN.finditer(text):
            names = run.group(0).split()
            if names[0] in ("The", "A", "An"):
                names = names[1:]
            initials = "".join(w[0] for w in names if w[0].isupper())
            if len(initials) >= 2:
                self.words.add(initials.casefold())
        for raw in _words(text):
            word = _fold(raw)
            if not word:
                continue
            pieces = {word, *(p for p in re.split(r"[-.'/_=]", word) if p)}
            for piece in pieces:
                self.words.add(piece)
                self.concepts.add(concept(piece))
                if len(piece) >= 6:
                    self.prefixes.add(piece[:6])
                if len(piece) >= 6 and raw[:1].isupper():
                    self.name_stems.add(piece[:5])
                if is_number(piece):
                    self.numbers.add(number_key(piece))
                elif piece in _NUMBER_WORDS:
                    self.numbers.add(_NUMBER_WORDS[piece])
        # "24 to 27" also states the range's ends as written with a dash, and vice versa.

    def has(self, word: str) -> bool:
        if is_number(word):
            return number_key(word) in self.numbers
        if word in _NUMBER_WORDS and _NUMBER_WORDS[word] in self.numbers:
            return True
        if word in self.words or concept(word) in self.concepts:
            return True
        if len(word) >= 7 and word.isalpha() and word[:6] in self.prefixes:  # not "secrets.toml"
            return True
        if len(word) >= 6 and word.isalpha() and word[:5] in self.name_stems:
            return True  # a demonym or variant of a name: "Spaniard" / "Spanish", "Peruvian" / "Peru"
        parts = [p for p in re.split(r"[-.'/_=]", word) if p]
        return len(parts) > 1 and all(self.has(p) for p in parts)


_NEGATION = re.compile(
    r"\b(?:not|no|never|none|neither|nor|cannot|without|nothing|nobody|nowhere)\b|n't\b", re.IGNORECASE
)


# Comparisons that only sound negative: "no later than 30 days" is a deadline, not a denial.
_NOT_NEGATION = re.compile(
    r"\b(?:no|not)\s+(?:later|more|fewer|less|earlier|longer|sooner|greater|higher|lower)\s+than\b"
    r"|\bnot\s+only\b|\bno\s+matter\b|\bno\s+doubt\b",
    re.IGNORECASE,
)


# Words that deny without "not": a window that has one may state a negated claim
# ("interest-free" for "no interest", "untracked" for "not tracked").
_DENYING = re.compile(
    r"\b(?:free|lacks?|lacking|absent|absence|refuses?|refused|prevents?|avoids?|fails?|failed|stops?"
    r"|excludes?|excluded|except|instead|rather|only|neither|unless|\w+less|un[a-z]{4,}|non-?\w+)\b"
    r"|-free\b",
    re.IGNORECASE,
)


def denies(text: str) -> bool:
    """Whether passage text denies something, with "not" or with a word such as "free",
    "excluded" or "untracked"."""
    return negated(text) or bool(_DENYING.search(text))


def negated(text: str, strict: bool = True) -> bool:
    """Whether ``text`` denies something (a leading "No," answering a question aside; "no later
    than" is not a denial). ``strict=False`` also ignores "without", which an answer uses for
    conditions ("without that file ...") more often than to deny, and "nothing", "none",
    "nobody" and "nowhere", which state amounts ("costs nothing") as often as they deny."""
    text = _NOT_NEGATION.sub(" ", re.sub(r"^\W*no\b\W*", "", text, flags=re.IGNORECASE))
    if not strict:
        text = re.sub(r"\b(?:without|nothing|none|nobody|nowhere)\b", " ", text, flags=re.IGNORECASE)
    return bool(_NEGATION.search(text))


@dataclass(frozen=True, slots=True)
class Term:
    """A content word of a claim: ``word`` folded, ``raw`` as written, ``hard`` when it must
    occur in the passages (``number`` ones may not come from the question)."""

    word: str
    raw: str
    hard: bool
    number: bool
    weighty: bool = False  # weighs like a hard term in the coverage without being one


def terms(text: str) -> list[Term]:
    """The content words of a claim, hard terms marked (see the module docstring)."""
    out: list[Term] = []
    for position, raw in enumerate(_words(scale_numbers(text))):
        word = _fold(raw)
        if not word or word in STOPWORDS or (len(word) == 1 and not word.isdigit()):
            continue
        # Digits must be found; a number word ("four riders") may be a count the passage
        # shows by listing, so it only weighs like a hard term in the coverage.
        number = is_number(word)
        counted = word in _NUMBER_WORDS and word not in _SOFT_NUMBER_WORDS
        # A capital opening the claim is grammar, not a name; a month is a date anywhere.
        name = raw[:1].isupper() and (position > 0 or word in _MONTHS)
        acronym = len(raw) >= 2 and raw.isupper() and raw.isalpha()
        code = (
            bool(_CODE_LIKE.search(raw))
            and not number
            and any(c.isalpha() for c in raw)
            and not re.fullmatch(r"(?:[a-z]\.)+[a-z]?", word)  # "e.g", "i.e", "U.S" are not code
        )
        if word in LIGHT and not (name or acronym or code):
            continue
        out.append(Term(word, raw, number or name or acronym or code, number, counted))
    return out


@dataclass(frozen=True, slots=True)
class Entailment:
    """How well some passage text states a claim."""

    coverage: float  # share of the claim's content words found, window and passage blended
    window: float  # best share found in one window of adjacent sentences
    missing: tuple[str, ...]  # hard terms found in neither the passages nor (names) the question
    best_window: int  # index of the window that covered most, -1 without windows


def entail(
    claim: str, passages: Lexicon, windows: Sequence[Lexicon], question: Lexicon | None = None
) -> Entailment:
    """Compare a claim with the passages it may rely on (``passages``: all their words;
    ``windows``: runs of adjacent sentences) and the question."""
    found = terms(claim)
    missing = []
    for term in found:
        if not term.hard or passages.has(term.word):
            continue
        if question is not None and not term.number and question.has(term.word):
            continue
        missing.append(term.raw)
    if not found:
        return Entailment(1.0, 1.0, tuple(missing), -1)
    from_question = [question is not None and not t.hard and question.has(t.word) for t in found]
    weights = [2.0 if t.hard or t.weighty else 1.0 for t in found]
    total = sum(weights)

    def share(lexicon: Lexicon, questioned: bool) -> float:
        got = sum(
            w
            for t, q, w in zip(found, from_question, weights, strict=True)
            if (q and questioned) or lexicon.has(t.word)
        )
        return got / total

    # The question's words are free in the whole-passage share only: in a window they must be
    # found next to the rest, or an answer that pins the question's words on a distractor from
    # elsewhere in the passage would pass.
    whole = share(passages, True)
    best, best_index = 0.0, -1
    for index, window in enumerate(windows):
        value = share(window, False)
        if value > best:
            best, best_index = value, index
    if not windows:
        best = whole
    coverage = 0.6 * best + 0.4 * whole
    return Entailment(coverage, best, tuple(dict.fromkeys(missing)), best_index)


def anchored_share(answer: str, question: str, windows: Sequence[Lexicon]) -> tuple[float, int]:
    """For a bare answer: the share of its content words found in a window that also has
    (nearly) the most of the question's words, and that window's index. The right answer sits
    next to what the question asks about; a distractor taken from elsewhere in the passage
    does not."""
    answer_terms = [t.word for t in terms(answer)]
    question_terms = [t.word for t in terms(question)]
    if not answer_terms or not windows:
        return 1.0, -1
    if question_terms:
        asked = [sum(w.has(q) for q in question_terms) / len(question_terms) for w in windows]
    else:
        asked = [1.0] * len(windows)
    top = max(asked)
    best, best_index = 0.0, -1
    for index, window in enumerate(windows):
        if asked[index] >= top - 0.2:
            value = sum(window.has(a) for a in answer_terms) / len(answer_terms)
            if value > best:
                best, best_index = value, index
    return best, best_index


def novel_share(claim: str, question: Lexicon | None, windows: Sequence[Lexicon]) -> tuple[float, int]:
    """The share of the claim's content words that the question does not have (what the claim
    adds to it) found in one window, the best, and how many such words there are. A claim that
    restates the question's subject and adds a vague or invented predicate ("worked on a
    top-secret mission") is close to the passage in meaning, but what it adds is not there."""
    new = [t.word for t in terms(claim) if question is None or not question.has(t.word)]
    if not new or not windows:
        return 1.0, len(new)
    best = max(sum(w.has(word) for word in new) for w in windows)
    return best / len(new), len(new)


def windows_of(sentences: Iterable[str], size: int = 3) -> list[str]:
    """Runs of up to ``size`` adjacent sentences (each sentence alone included)."""
    items = [s for s in sentences if s.strip()]
    out: list[str] = []
    for width in range(1, size + 1):
        out.extend(" ".join(items[i : i + width]) for i in range(len(items) - width + 1))
    return out or [""]
