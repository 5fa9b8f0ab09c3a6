"""Claims: the text pipeline that turns an answer into atomic, checkable claims, for the RAG
scorers (:mod:`._rag`); its sentence splitter and filler patterns also serve
``token_efficiency`` (:mod:`._efficiency`). No NLP dependency, no model.

Design
------
1. **Sentences.** The answer is split at ``.``/``!``/``?`` followed by white space (not after a
   known abbreviation or an initial such as "J." or "A.C."), at line breaks that start a list
   item, a heading or a new paragraph, and at a period glued to the next sentence
   ("century.First", common in scraped passages). A word that starts with a dot (".env",
   "pip install -e .") ends no sentence, and a unit after a number ("3.5 m.") is no initial.
   Citation markers ``[1]``, ``[1, 2]``, ``[1-3]``, ``[1][2]``, ``[doc2]``, ``[Source 1]`` stay
   with their sentence: a marker written after the period ("... capital. [1] It ...") belongs
   to the sentence before it.
2. **Claims.** Each sentence loses its markers and markdown. Questions are dropped, and so are
   pleasantries ("Great question!", "I hope this helps", "Let me know if..."), hedges that
   state nothing ("I may be wrong.", "Please verify this information."), sentences without a
   content word, headings and list lead-ins ("Key facts:"), and sentences about the answer
   rather than its subject ("Let me explain.", "Now, on to pricing.", "This is an important
   point.", "The passages do not say."). Boilerplate lead-ins ("As an AI language model,
   ...", "It's important to note that ...", "Based on the passages, ...") are cut off and the
   rest is kept. A sentence is then split into atomic claims at semicolons where both sides
   are clauses, and at the conjunctions *and, but, while, whereas, although, though, yet, so*
   (and *or* after a comma), only where both sides look like clauses: each has a verb (from a
   closed list, an ``-ed`` form, or an ``-s`` form after "also", "then", ...), opens with a
   subject pronoun, or is at least eight words long, so "Paris and Lyon are cities" stays
   whole. A right side that starts with a verb borrows the left side's subject ("X was born
   in A and died in B" gives "X was born in A" and "X died in B"). A relative clause about a
   name ("..., who was a friend of Y") becomes its own claim about that name. A claim split
   from a longer sentence keeps that sentence (``sentence_text``) for the checkers.
3. **Short answers.** An answer with one sentence of content of at most eight words ("Delhi",
   "Yes", "In 1998") says nothing checkable on its own. With the case's input, its single
   claim is ``Q: <input> A: <answer>``: the embedding compares the question plus the answer
   with the passages, the judge sees the pair, and only the answer's words must be grounded.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Answers this short are checked as "Q: <input> A: <answer>".
SHORT_ANSWER_WORDS = 8
# A pathological reply (a 1 MB dump) is analysed on its start, so splitting stays cheap.
_MAX_SENTENCE_CHARS = 2000
_MAX_TEXT_CHARS = 200_000

# --- words -----------------------------------------------------------------------------------


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


STOPWORDS = _word_set(
    """
    a about above after again against all also although am an and any are as at be because been
    before being below between both but by can could did do does doing down during each either
    else ever every few for from further had has have having he her here hers herself him himself
    his how however i if in into is it its itself just let me more most my myself neither no nor
    not now of off on once only or other ought our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through
    thus to too under until up upon very was we were what when where whether which while who whom
    whose why will with would yet you your yours yourself yourselves yes ok okay sure indeed
    one ones thing things something anything nothing everything someone anyone may might must
    shall many much several via per etc
    """
)

# Verbs and auxiliaries that mark a clause (a closed list; ``-ed`` forms are added by rule).
_VERBS = _word_set(
    """
    is are was were be been being am isn't aren't wasn't weren't has have had hasn't haven't
    hadn't does do did doesn't don't didn't can could will would shall should may might must
    can't couldn't won't wouldn't shouldn't 's 're 've 'd 'll
    became become becomes began begins begin won wins win wrote writes write made makes make
    took takes take gave gives give found finds find led leads lead left leaves held holds hold
    built builds build born known called named lies lie lives live contains contain includes
    include consists consist means mean shows show says said say runs ran run sits sat stands
    stood goes went go came comes come got gets get grew grows grow knew knows know saw sees see
    told tells tell thought thinks think uses use used seems seem appears appear remains remain
    serves serve served plays play played houses hosts host flows flow borders border covers
    cover measures measure weighs weigh costs cost equals equal refers refer belongs belong
    requires require provides provide produces produce allows allow causes cause helps help
    """
)
_WORD = re.compile(r"[^\W_](?:[\w'’.-]*[^\W_])?")


def _fold(word: str) -> str:
    """Case- and accent-insensitive form of a word, without a possessive ``'s``."""
    word = unicodedata.normalize("NFKD", word.casefold())
    word = "".join(c for c in word if not unicodedata.combining(c)).replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    return word.strip("'.-")


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry meaning (folded; stopwords and one-letter words out)."""
    out = []
    for raw in _words(text):
        word = _fold(raw)
        if word and word not in STOPWORDS and (len(word) > 1 or word.isdigit()):
            out.append(word)
    return out


# After these adverbs an -s word is a verb: "... and also deletes it from every commit".
_VERB_ADVERBS = _word_set("also then still never often always usually later now sometimes only just even")


def _has_verb(text: str) -> bool:
    previous = ""
    for raw in _words(text):
        word = _fold(raw)
        if word in _VERBS or (len(word) >= 4 and word.endswith("ed")):
            return True
        if previous in _VERB_ADVERBS and len(word) >= 4 and word.endswith("s"):
            return True
        previous = word
        if "'" in raw and _fold(raw[raw.find("'") :]) in _VERBS:
            return True
    return False


def _starts_with_verb(text: str) -> bool:
    words = _words(text)
    if not words:
        return False
    first = _fold(words[0])
    return first in _VERBS or (len(first) >= 4 and first.endswith("ed"))


# --- sentences and citations -----------------------------------------------------------------

# "[1]", "[1, 2]", "[2-4]", and the named forms "[doc2]", "[Source 1]", "[passage 3]".
_MARKER_NUMBER = r"(?:(?i:doc(?:ument)?|source|passage|ref(?:erence)?|context|chunk|p)\s*[-_#:]?\s*)?\d+"
_MARKER = rf"\[\s*{_MARKER_NUMBER}(?:\s*[,;–-]\s*{_MARKER_NUMBER})*\s*\]"
_MARKERS = re.compile(rf"(?:\s*{_MARKER})+")
_ONE_MARKER = re.compile(_MARKER)
_LEADING_MARKERS = re.compile(rf"^\s*((?:{_MARKER}\s*)+)")
# Sentence end: terminal punctuation, closing quotes/brackets, optional trailing markers, space.
_BOUNDARY = re.compile(rf"([.!?…]+[\"'”’)\]]*(?:\s*{_MARKER})*)(\s+)")
# "century.First": a period glued to a capitalised word (not "U.S.A" or "3.5").
_GLUED = re.compile(r"(?<=[a-z0-9\)][a-z\)]\.)(?=[A-Z][a-z])")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•+]|\d{1,3}[.)]|#{1,6})\s+")
_ABBREVIATIONS = _word_set(
    """mr mrs ms dr prof sr jr st mt ft vs etc e.g i.e cf al approx no vol fig inc ltd co corp
    jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n a.m p.m ph.d"""
)


def parse_citations(marker_text: str) -> list[int]:
    """The passage numbers in markers such as ``[1]``, ``[1, 3]``, ``[2-4]`` (ranges capped)."""
    numbers: list[int] = []
    for marker in _ONE_MARKER.findall(marker_text):
        for part in re.split(r"\s*[,;]\s*", marker.strip("[] \t")):
            # "doc2-doc4" is a range; the "-" of "doc-2" is not (no digit before it).
            bounds = [int(x) for x in re.findall(r"\d+", part)] if re.search(r"\d\s*[–-]", part) else []
            bounds = bounds or [int(x) for x in re.findall(r"\d+", part)][:1]
            if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] <= 20:
                numbers.extend(range(bounds[0], bounds[1] + 1))
            elif bounds:
                numbers.extend(bounds)
    return numbers


def _ends_with_abbreviation(text: str) -> bool:
    match = re.search(r"(\S+)\.$", text)
    if match is None:
        return False
    token = match.group(1).lstrip("([\"'“").casefold()
    if re.search(r"\d\s+\S\.$", text):
        return False  # "3.5 m." is a unit, not an initial
    # "J." and "A.C." are initials, not sentence ends.
    return token in _ABBREVIATIONS or bool(re.fullmatch(r"(?:[^\W\d_]\.)*[^\W\d_]", token))


def _lines(text: str) -> list[str]:
    """Paragraphs and list items; a soft line break inside a paragraph is joined back."""
    # Lists of pieces joined once at the end: repeated string concatenation would make a
    # reply of many short lines quadratic.
    paragraphs: list[list[str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            paragraphs.append([])
            continue
        starts_block = bool(_LIST_ITEM.match(stripped)) or stripped.startswith(("|", ">"))
        previous = paragraphs[-1] if paragraphs else []
        if previous and not starts_block and not previous[-1].endswith((".", "!", "?", ":", "]")):
            previous.append(stripped)
        else:
            paragraphs.append([stripped])
    return [" ".join(parts) for parts in paragraphs if parts]


def _dot_word(line: str, dot: int, after: int) -> bool:
    """Whether the period at ``dot`` stands alone after a space and before a lower-case word:
    a path or a file name ("pip install -e . then", "the . directory"), not a sentence end."""
    if line[dot : dot + 1] != "." or dot == 0 or not line[dot - 1].isspace():
        return False
    following = line[after : after + 1]
    return following.islower() or following in "-./`'\""


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, citation markers kept at the end of the sentence they follow."""
    text = text[:_MAX_TEXT_CHARS]
    sentences: list[str] = []
    for line in _lines(_GLUED.sub(" ", text)):
        line = _LIST_ITEM.sub("", line, count=1)
        start = 0
        for match in _BOUNDARY.finditer(line):
            candidate = line[start : match.end(1)]
            # Only the word before the period matters; a bounded window keeps this linear.
            before = line[max(start, match.start(1) - 40) : match.start(1) + 1]
            if match.group(1).startswith(".") and _ends_with_abbreviation(before):
                continue
            if _dot_word(line, match.start(1), match.end()):
                continue
            sentences.append(candidate.strip())
            start = match.end()
        if line[start:].strip():
            sentences.append(line[start:].strip())
    # Markers that open a sentence were written after the previous one's period.
    merged: list[str] = []
    for sentence in sentences:
        lead = _LEADING_MARKERS.match(sentence)
        if lead and merged:
            merged[-1] = merged[-1] + " " + lead.group(1).strip()
            sentence = sentence[lead.end() :].strip()
        if sentence:
            merged.append(sentence)
    return merged


# Markers with the space before a following punctuation mark: "tall [1] ." is "tall.".
_MARKERS_BEFORE_PUNCTUATION = re.compile(rf"(?:\s*{_MARKER})+\s*(?=[.,;:!?](?:\s|$))")


def strip_citations(text: str) -> str:
    """``text`` without its citation markers. Only the space a marker leaves is closed up, so
    a word that starts with a dot (".env", "pip install -e .") keeps the space before it."""
    return _MARKERS.sub("", _MARKERS_BEFORE_PUNCTUATION.sub("", text)).strip()


# --- filler: shared with the token_efficiency scorer --------------------------------------------

# Whole sentences that carry no content.
PLEASANTRIES = re.compile(
    r"^(?:(?:what\s+an?\s+|that'?s\s+an?\s+|a\s+)?(?:great|good|excellent|interesting|fantastic|wonderful)"
    r"\s+question|(?:i\s+)?hope\s+(?:this|that|it|my\s+answer)\s+(?:helps|was\s+helpful|is\s+helpful|clarifies)"
    r"|(?:please\s+)?(?:let\s+me\s+know|feel\s+free)|(?:thanks|thank\s+you)\b|(?:i'?m|i\s+am|i'?d\s+be|i\s+would\s+be)"
    r"\s+(?:happy|glad|delighted)\s+to|happy\s+to\s+help|glad\s+to\s+help|is\s+there\s+anything\s+else"
    r"|(?:good\s+luck|cheers|best\s+regards|have\s+a\s+(?:great|nice|good)\s+day)"
    r"|(?:(?:sure|certainly|of\s+course|absolutely|okay|ok|great|alright|no\s+problem)\s*[,!.]*\s*)?"
    r"here(?:'s|\s+is|\s+are)\s+(?:the|a|an|your|my|some)\b[^.!?:]{0,80}[:.!]?$"
    r"|(?:sure|certainly|of\s+course|absolutely|okay|ok|great|alright|no\s+problem)\s*[,!.]*$)",
    re.IGNORECASE,
)
# Whole sentences that only hedge.
HEDGES = re.compile(
    r"^(?:as\s+an\s+ai(?:\s+language\s+model|\s+assistant|\s+model)?\W*$"
    r"|i\s+(?:cannot|can'?t|am\s+unable\s+to|am\s+not\s+able\s+to)\s+(?:browse|access|provide|verify|give)"
    r"|(?:i'?m|i\s+am)\s+not\s+(?:sure|certain|100%)|i\s+(?:may|might|could)\s+be\s+wrong"
    r"|(?:please\s+)?(?:verify|double[-\s]check|consult)\b|it(?:'s|\s+is)\s+(?:always\s+)?"
    r"(?:a\s+good\s+idea|best|advisable|recommended)\s+to\s+(?:verify|check|consult|double[-\s]check)"
    r"|(?:this|the)\s+(?:information|answer)\s+(?:may|might|could)\s+(?:not\s+)?(?:be|change)"
    r"|i\s+(?:don'?t|do\s+not)\s+have\s+(?:access|personal|real[-\s]time|opinions|feelings|beliefs|the\s+ability))",
    re.IGNORECASE,
)
# Boilerplate at the start of a sentence: cut off, the rest is the content.
LEAD_INS = re.compile(
    r"^(?:as\s+an\s+ai(?:\s+language\s+model|\s+assistant|\s+model)?\s*,\s*(?:i\s+can\s+(?:say|tell\s+you)\s+that\s+)?"
    r"|it(?:'s|\s+is)\s+(?:important|worth)\s+(?:to\s+(?:note|mention|remember)|noting|mentioning)\s+that\s+"
    r"|(?:please\s+)?note\s+that\s+|keep\s+in\s+mind\s+that\s+|to\s+answer\s+your\s+question\s*,\s*"
    r"|(?:sure|certainly|of\s+course|absolutely)\s*[,!]\s*"
    r"|here(?:'s|\s+is|\s+are)\s+(?:the|a|an|your|my)\s+[^:.!?]{0,60}:\s*)",
    re.IGNORECASE,
)
# Lead-ins that are not filler for efficiency but are not part of the claim either.
_CLAIM_LEAD_INS = re.compile(
    r"^(?:(?:i\s+(?:think|believe|guess)|in\s+my\s+(?:opinion|view))\s*(?:that\s+|,\s*)?"
    r"|(?:based\s+on|according\s+to)\s+the\s+(?:provided\s+|given\s+|retrieved\s+)?"
    r"(?:passages?|context|information|documents?|sources?)(?:\s+provided)?\s*,\s*"
    r"|in\s+(?:summary|conclusion|short)\s*,\s*)",
    re.IGNORECASE,
)


# Sentences about the answer rather than its subject: announcements ("Let me explain how the
# dance works."), signposts ("Now, on to side effects."), remarks on the question or the point
# ("This is an important point.", "What a fun topic!"), closing wishes, and statements about
# the passages themselves ("The documents do not say."). They state nothing a passage could
# support, so they are not claims. (RAG only: token_efficiency has its own filler patterns.)
_META = re.compile(
    r"""^(?:
    (?:(?:okay|ok|so|now|well|alright|sure|first|next|then|finally|great)\s*[,!.]?\s*)*
    (?:let\s+me|let'?s|let\s+us|allow\s+me\s+to|i'?ll|i\s+will|i'?d\s+like\s+to|i\s+want\s+to|we'?ll|we\s+will)\s+
    (?:explain|walk|break|share|look|go|start|begin|summari[sz]e|cover|outline|describe|discuss|dive|turn
      |move|clarify|show|give|tell|recap|review|elaborate|take|answer|help|focus|highlight|list|run|point)\b
  | (?:now|next|finally|lastly|moving\s+on)\s*,?\s*(?:on\s+)?to\b
  | moving\s+on\b
  | (?:this|that|it)(?:\s+is|'s)\s+(?:a|an)\s+(?:\w+\s+)?(?:important|key|crucial|good|great|interesting
      |common|excellent|fair|tricky|fun|popular)\s+(?:point|question|topic|one|consideration|thing|area|subject)\b
  | (?:what|such)\s+an?\s+(?:\w+\s+)?(?:fun|great|good|interesting|fascinating|excellent|wonderful|important
      |cool)\s+(?:topic|question|subject|point)\b
  | (?:that\s+said|having\s+said\s+that|with\s+that\s+(?:said|in\s+mind))\s*,?\s*there(?:\s+is|'s)\s+
      (?:a\s+(?:bit|little|lot)\s+|much\s+|even\s+)?more\b
  | happy\s+\w+ing\b
  | (?:stay\s+(?:healthy|safe|well|tuned)|take\s+care|have\s+fun|(?:best\s+of\s+|good\s+)luck|enjoy)\b
  | (?:i\s+)?hope\s+(?:this|that|it|my\s+answer|you)\b
  | (?:and\s+)?that'?s\s+(?:it|all|about\s+it)\b
  | (?:the\s+)?(?:provided\s+|given\s+|retrieved\s+|available\s+)?
      (?:passages?|documents?|sources?|context|texts?|excerpts?)\s+(?:do(?:es)?\s*(?:n't|not)|did\s*(?:n't|not)|never|make\s+no)\s+(?:\w+\s+)?(?:mention|say
      |state|specify|cover|include|contain|provide|discuss|address|give)
  | i\s+(?:could\s*(?:n't|not)|can\s*(?:n't|not)|cannot|did\s*(?:n't|not)|was\s+(?:not\s+|un)able\s+to)\s+
      (?:\w+\s+)?find
  | there(?:\s+is|'s)\s+no\s+(?:\w+\s+)?(?:information|mention|data|details?)\s+(?:about|on|regarding|in)
  | here(?:'s|\s+is|\s+are)\s+(?:an?\s+|the\s+|some\s+)?(?:\w+\s+){0,2}(?:overview|summary|rundown|breakdown
      |answer|highlights|details|explanation)\b[^.!?:]{0,60}[.!]?$
  | (?:(?:sure|okay|ok|so)\s*,?\s*)?here(?:'s|\s+is)\s+(?:how|what|why)\s+(?:it|this|that)\s+\w+[.!]?$
  | what\s+an?\s+[^.?]{0,60}!$
)""",
    re.IGNORECASE | re.VERBOSE,
)
# An announcement before a colon ("Let me explain: ...", "Here's what the passages say: ...")
# is cut off, and what follows the colon is the claim.
_META_LEAD = re.compile(
    r"^(?:[^:]{0,80}\b(?:let\s+me|let'?s|here(?:'s|\s+is|\s+are)|to\s+sum\s+up|in\s+short|in\s+brief|briefly)"
    r"\b[^:]{0,60}:\s+)(?=\S)",
    re.IGNORECASE,
)


def _is_heading(raw: str) -> bool:
    """A markdown heading, a bold label or a short lead-in to a list ("Key facts:"): a title
    for what follows, not a claim."""
    text = strip_citations(raw).strip()
    if text.startswith("#") or re.fullmatch(r"\*\*[^*]+\*\*:?|__[^_]+__:?", text):
        return True
    return text.endswith(":") and len(_words(text)) <= 8


def is_meta_sentence(sentence: str) -> bool:
    """A sentence about the answer, not its subject (see ``_META``): not a claim."""
    return bool(_META.match(sentence.strip()))


def _clean(sentence: str) -> str:
    text = strip_citations(sentence)
    # Emphasis marks go, but not the underscores of a name such as ACME_PORT or ACME_-prefixed:
    # an underscore is emphasis only in a pair around text.
    text = re.sub(r"(?<![\w*])(_{1,3})(?=\S)(.+?)(?<=\S)\1(?!\w)", r"\2", text)
    text = re.sub(r"`|\*{1,3}|^#+\s*|^>\s*", "", text)
    return text.strip().strip('"“”').strip()


def _drop_lead_ins(text: str) -> str:
    for _ in range(3):  # "Sure, as an AI, I think ..." stacks several
        stripped = _CLAIM_LEAD_INS.sub("", LEAD_INS.sub("", text, count=1), count=1)
        if stripped == text:
            break
        text = stripped
    return text[:1].upper() + text[1:] if text else text


def is_filler_sentence(sentence: str) -> bool:
    """A pleasantry or a hedge that states nothing: the whole sentence, or what is left of it
    once boilerplate lead-ins ("As an AI language model, ...") are cut off."""
    text = _clean(sentence)
    if PLEASANTRIES.match(text) or HEDGES.match(text):
        return True
    rest = LEAD_INS.sub("", text, count=1).strip()
    return rest != text and (not content_words(rest) or bool(PLEASANTRIES.match(rest) or HEDGES.match(rest)))


# --- claims ----------------------------------------------------------------------------------

# "or" only after a comma: "$7,000, or $8,000 if ..." states two amounts; "red or blue" does not.
_CONJUNCTION = re.compile(
    r"(?:\s*,\s*|\s+)\b(and|but|while|whereas|although|though|yet|so)\s+|\s*,\s*\b(or)\s+", re.I
)


@dataclass(frozen=True, slots=True)
class Claim:
    """An atomic claim: ``text`` is what is checked, ``answer_text`` the part of the answer it
    came from (whose words must be grounded), ``sentence`` the index of its sentence."""

    text: str
    answer_text: str
    sentence: int
    citations: tuple[int, ...] = ()
    with_question: bool = False
    # The whole sentence the claim was split from (when it was split): a clause that leans on
    # its sentence ("... and these win over both files") is checked with it as well.
    sentence_text: str = ""


_SUBJECT_PRONOUNS = _word_set("i he she it we they this these those there")


def _clause_like(text: str) -> bool:
    words = _words(text)
    # A subject pronoun and a word after it is a clause even when the verb is not in the list.
    pronoun_clause = len(words) >= 2 and _fold(words[0]) in _SUBJECT_PRONOUNS
    return pronoun_clause or _has_verb(text) or len(words) >= 8


def _semicolon_clause(text: str) -> bool:
    """A right side of a semicolon that can stand alone: a clause with a subject of its own
    (it does not open with a verb) and more than two words."""
    return len(_words(text)) > 2 and not _starts_with_verb(text)


def _subject(clause: str) -> str | None:
    """The words before the clause's first verb, if they look like a subject (1-8 words)."""
    for match in _WORD.finditer(clause):
        word = _fold(match.group(0))
        if word in _VERBS or (len(word) >= 4 and word.endswith("ed")):
            subject = clause[: match.start()].strip(" ,")
            count = len(_words(subject))
            return subject if 1 <= count <= 8 else None
    return None


# ", who was a friend of X" after a name: a claim about that name.
_RELATIVE = re.compile(
    r"(?P<name>(?:[A-Z][\w'’.-]*\s+(?:(?:of|de|van|von|der|den|la|le|da|del)\s+)?){0,5}[A-Z][\w'’.-]*)"
    r",\s+(?:who|which)\s+(?P<clause>[^,;]+?)(?=\s*,|\s*[.!]?$)"
)


def _split_relative(clause: str) -> list[str]:
    match = _RELATIVE.search(clause)
    if match is None or not _has_verb(match.group("clause")):
        return [clause]
    main = (clause[: match.end("name")] + clause[match.end("clause") :]).strip()
    main = re.sub(r"\s*,\s*([.!]?)$", r"\1", main)
    return [main, f"{match.group('name')} {match.group('clause').strip()}"]


def _split_clauses(sentence: str) -> list[str]:
    """Atomic clauses of a sentence: split at semicolons, at conjunctions joining two clauses
    (a right side without a subject of its own gets the left side's subject: "X was born in A
    and died in B" gives "X was born in A" and "X died in B"), and at a relative clause about
    a name ("..., who was a friend of Y")."""
    pieces: list[str] = []
    # A semicolon joins two claims only when both sides are clauses; "Python 3.11; older
    # versions too" is one claim, and its right side alone would be an unsupported fragment.
    parts: list[str] = []
    for part in re.split(r"\s*;\s*", sentence):
        if parts and not (_clause_like(parts[-1]) and _clause_like(part) and _semicolon_clause(part)):
            parts[-1] = f"{parts[-1]}; {part}"
        else:
            parts.append(part)
    for part in parts:
        start = 0
        buffer = ""
        for match in _CONJUNCTION.finditer(part):
            left = buffer + part[start : match.start()]
            right = part[match.end() :]
            split, carried = False, ""
            if _clause_like(left) and _clause_like(right):
                if not _starts_with_verb(right):
                    split = True
                elif (match.group(1) or match.group(2)).casefold() in ("and", "but", "yet", "or"):
                    subject = _subject(left)
                    split, carried = subject is not None, (subject or "") + " "
            if split:
                pieces.append(left)
                buffer = carried.lstrip()
            else:
                buffer = left + part[match.start() : match.end()]
            start = match.end()
        pieces.append(buffer + part[start:])
    # A piece with at most one content word ("... while you are away") is a condition of the
    # claim before it, not a claim of its own: alone it could only be unsupported.
    merged: list[str] = []
    for piece in pieces:
        if merged and len(content_words(piece)) <= 1:
            merged[-1] = f"{merged[-1].rstrip(' ,')} {piece.strip()}"
        else:
            merged.append(piece)
    out = []
    for piece in merged:
        out.extend(_split_relative(piece.strip(" ,")))
    return [p.strip(" ,") for p in out if p.strip(" ,")]


@dataclass(frozen=True, slots=True)
class _Sentence:
    text: str  # cleaned, markers removed
    body: str  # without lead-ins; "" for questions and filler
    citations: tuple[int, ...]
    claims: tuple[str, ...]


def _analyse(answer: str) -> list[_Sentence]:
    out = []
    for raw in split_sentences(answer):
        citations = tuple(dict.fromkeys(parse_citations(raw)))
        # A "sentence" of thousands of characters is a dump, not prose: its start is enough,
        # and clause splitting stays linear.
        text = _clean(raw[:_MAX_SENTENCE_CHARS])
        body = ""
        claims: tuple[str, ...] = ()
        if _is_heading(raw):
            out.append(_Sentence(text, body, citations, claims))
            continue
        text = _META_LEAD.sub("", text, count=1)
        if text and not text.endswith("?") and not is_filler_sentence(text) and not is_meta_sentence(text):
            body = _drop_lead_ins(text)
            claims = tuple(
                c
                for c in _split_clauses(body)
                if content_words(c) and not is_filler_sentence(c) and not is_meta_sentence(c)
            )
        out.append(_Sentence(text, body, citations, claims))
    return out


def split_claims(answer: str, question: str | None = None) -> list[Claim]:
    """The atomic claims of ``answer`` (see the module docstring for the heuristic).

    With a ``question``, a short answer (one sentence of content, at most eight words) becomes
    the single claim ``Q: <question> A: <answer>``, even one without content words ("Yes").
    """
    sentences = _analyse(answer)
    content = [(i, s) for i, s in enumerate(sentences) if s.body]
    if question and len(content) == 1 and len(_words(content[0][1].body)) <= SHORT_ANSWER_WORDS:
        index, sentence = content[0]
        text = f"Q: {' '.join(question.split())} A: {sentence.body}"
        return [Claim(text, sentence.body, index, sentence.citations, with_question=True)]
    claims = []
    for index, sentence in enumerate(sentences):
        for text in sentence.claims:
            whole = sentence.body if len(sentence.claims) > 1 else ""
            claims.append(Claim(text, text, index, sentence.citations, sentence_text=whole))
    return claims
