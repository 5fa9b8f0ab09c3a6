"""Filler: the sentences of a reply that say nothing about the question.

Used by ``token_efficiency`` (:mod:`._efficiency`). Deterministic, offline, no model file. A
sentence is judged on three kinds of evidence; the first two are rules (a match counts the
sentence as filler in full), the third a scoring model:

* **Phrases.** Closing offers and reassurance ("Feel free to ask", "You've got this!",
  "...in no time"), pleasantries ("Great question!"), disclaimers ("I am not a lawyer"),
  content-free transitions and meta-commentary ("Let's dive in", "Moving on", "That covers
  the essentials"), sentences that only rate something ("This is an important point"), recap
  openers ("In short", "At the end of the day") and generic hedges ("Of course, there are
  exceptions"). A *strong* phrase makes the sentence filler by itself; a *weak* one (a
  transition or recap opener, words of importance or praise) only together with little new
  content.
* **Content.** The sentence's content words, less a vocabulary of generic words
  (:data:`GENERIC_WORDS`: words of importance, attention, discourse, feeling and vague
  reference such as "point", "keep", "mind", "consider", "aspect", "picture"). What is left
  are its *specific* words; those that occur neither in the question nor in the reply's other
  sentences are *new*. A sentence with no specific word at all is filler; so is, with at most
  one to three new words: a weak-phrase sentence; a short sentence that points back and rates
  ("This is a pivotal moment."); a closing exclamation or reader-addressed rating in the last
  two sentences; an opening interjection ("Ah, a classic!"); a rhetorical question; and a
  short sentence made mostly of generic and rating words (:data:`EVALUATIVE_WORDS`) that
  rates something ("Learning a language is such a rewarding journey.").

* **The sentence model** (for what the rules leave as content). Phrases only catch filler
  worded like filler seen before, so a logistic regression scores every sentence on general
  signals (:data:`FEATURE_NAMES`): few content words, all of them common (Zipf frequency from
  ``wordfreq``) and none rare, technical or a name; no word shared with the question or the
  reply's other sentences, or shared without adding anything; a large share of generic and
  rating words; opening or closing a reply of three sentences or more, an exclamation, the
  reader addressed, a sentence that points back or classes its subject ("X is a ..."); and,
  against filler, an instruction ("Turn the ...") and a longer reply's shape. Its weights were
  fitted by ``benchmarks/fit_filler_model.py`` on the labelled tuning batches only. A sentence
  it is sure of (probability >= :data:`SURE_FROM`) counts in full; one it is unsure of
  (from :data:`UNSURE_BELOW`) counts by its probability, so a wrong call costs half.

Never filler: a sentence with a number, code (backticks), a quotation, or one that answers yes
or no ("No.", "Yes, it does."); and the reply's only content (a reply is never all filler
unless every sentence is a phrase match: the sentence the model least takes for filler stays).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from ._claims import HEDGES, LEAD_INS, PLEASANTRIES, STOPWORDS, content_words, split_sentences


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that carry no content of their own in an answer: how important or interesting
# something is, paying attention, moving through an explanation, feelings and praise, and
# vague nouns that point at "this" without naming it.
GENERIC_WORDS = _words(
    """
    important importance importantly crucial crucially essential essentially vital key critical
    significant significantly fundamental fundamentally central core major primary paramount
    valuable useful helpful handy worth worthwhile relevant noteworthy notable necessary
    interesting fascinating intriguing remarkable incredible incredibly amazing great good nice
    wonderful fantastic excellent perfect awesome lovely brilliant best better really truly
    definitely certainly absolutely surely clearly obviously simply basically generally usually
    often always never ever actually indeed quite rather pretty fairly extremely highly deeply
    point points thing things aspect aspects factor factors element elements detail details
    consideration considerations concept concepts idea ideas topic topics subject matter matters
    issue issues area areas part parts piece side sides kind sort type way ways lot lots bit
    little whole overall general entire various many several numerous plenty variety number
    picture bigger big larger broader broad grand scheme context nuance nuances situation
    situations circumstance circumstances case cases scenario scenarios instance
    information info knowledge understanding insight insights overview summary conclusion
    recap rundown breakdown explanation explanations answer answers question questions
    query queries guide tips tip advice help support resource resources
    keep keeping kept mind minds remember remembering note noting noted mention mentioning
    mentioned bear bearing consider considering considered understand understanding understood
    grasp know knowing aware awareness familiar attention attentive pay paying careful care
    notice overlook overlooked overlooking forget forgetting miss missed missing stress stressed
    emphasise emphasize emphasised emphasized highlight highlighted underline underscore
    look looking explore exploring dive diving delve delving discuss discussing discussed
    cover covering covered covers go going went goes move moving moved turn turning turned
    step steps back break breaking broke next further first finally lastly last now then later
    start started begin begins beginning end ending ended wrap wrapping conclude concluding
    continue continuing proceed proceeding onto along ahead forward take taking took
    explain explaining explained clarify clarifying clarified clear clearer clearly clears
    sense makes make making hope hopefully wish glad happy pleased excited enjoy enjoyed enjoying
    feel free hesitate reach ask asking asked let lets know wonder wondering wondered curious
    luck lucky fun joy proud caring care cares friend friends journey path road success
    successful succeed confident confidence assured rest assure sure set ready prepared equipped
    armed empowered pro expert master pros nature second click clicks fall falls place places
    track right well go-to easy easier simple simpler straightforward tricky subtle complex
    complicated difficult hard challenging depends depend depending dependent vary varies
    varying different differ unique specific particular individual personal own needs need
    needed requirements preferences goals goal priorities approach approaches option options
    choice choices choose choosing method methods solution solutions strategy strategies
    decision decisions practice practices practise practising keep up work working result
    results outcome outcomes difference differences impact impacts effect affects role
    comes come coming down boils boil meets meet eye eyes mind-blowing fascinating unfold
    unfolds world everyone everybody anyone people person someone folks reader readers user users
    you yours time moment day days today tonight soon quickly instant instantly
    thank thanks welcome glad pleasure appreciate appreciated
    think thinking thought believe opinion view perspective view viewpoint
    figure figured sorted covered handled tackle tackled manage managed
    mean means meaning say saying said put putting simply short brief briefly long
    explore exploration learn learning learned learnt knowledge study
    always remember forget get gets getting got surprising surprisingly
    realise realize realised realized realising realizing wrong mistake mistakes gist takeaway
    takeaways wrap wrapped serve serves served trust trusted reflect reflecting reflection
    pivotal profound striking compelling insightful enlightening eye-opening inspiring awe
    awe-inspiring beautiful elegant neat cool powerful invaluable indispensable game changer
    game-changer tried true proven charm charming layers layer considered curiosity curious
    overwhelming daunting intimidating worry worried worries stressful patience patient bit
    hands hand best wishes wishing fine okay shape form rewarding benefit benefits beneficial
    improve improvement progress adventure experience experiences story stories lesson lessons
    fact facts truth reality moment moments
    """
)

# Adjectives, adverbs and abstract nouns of evaluation and feeling: what a sentence says about
# how good, hard, surprising or moving something is, rather than what it is.
EVALUATIVE_WORDS = _words(
    """
    amazing astonishing astounding awesome beautiful brilliant captivating charming clever cool
    delightful elegant enchanting engaging enjoyable excellent exceptional exciting exquisite
    extraordinary fabulous fantastic fascinating fine glorious gorgeous graceful great impressive
    incredible ingenious inspiring interesting intriguing lovely magical magnificent marvellous
    marvelous mesmerising mesmerizing miraculous mysterious nice outstanding phenomenal pleasant
    powerful remarkable rewarding riveting satisfying sensational spectacular splendid striking
    stunning stupendous sublime superb surprising terrific thrilling tremendous unbelievable
    unique valuable versatile wonderful wondrous worthwhile nuanced complex complicated intricate
    deep rich vast endless limitless infinite timeless universal profound meaningful special
    important crucial essential vital key critical significant fundamental invaluable
    indispensable helpful useful handy practical beneficial effective smart wise sensible sound
    solid reliable trusty easy easier simple simpler straightforward hard harder tough tricky
    difficult challenging daunting intimidating overwhelming scary frightening nerve-wracking
    stressful frustrating confusing annoying exhausting fun funny joyful happy glad excited
    grateful thankful proud confident empowered inspired motivated curious amazed
    truly really genuinely incredibly remarkably surprisingly wonderfully deeply highly hugely
    immensely extremely absolutely totally utterly completely entirely pretty quite so such very
    achievement achievements accomplishment accomplishments wonder wonders marvel marvels beauty
    magic mystery mysteries miracle miracles ingenuity creativity brilliance genius power
    creature creatures world universe nature life history science humanity society mankind
    humankind civilisation civilization field discipline art craft skill skills talent gift
    """
)

# Sentences that are filler whatever else they say (unless they hold a number or code).
_STRONG = re.compile(
    r"(?:\b(?:i\s+)?hope\s+(?:this|that|it|my|you|these|the\s+above)\b"
    r"|\bhopefully\b.*\b(?:helps?|clear|clarif|useful|answers?)"
    r"|\bfeel\s+free\b|\bdon'?t\s+hesitate\b|\blet\s+me\s+know\b|\breach\s+out\b"
    r"|\bif\s+you\s+have\s+(?:any\s+)?(?:more|other|further|additional)\s+questions\b"
    r"|\bhappy\s+(?:to\s+help|\w+ing)\b|\bgood\s+luck\b|\bbest\s+of\s+luck\b|\benjoy\s+(?:your|the)\b"
    r"|\bhave\s+(?:a|an)\s+(?:great|wonderful|nice|good|fantastic|lovely|fun|safe)\b|\bhave\s+fun\b"
    r"|\bwishing\s+you\b|\bthanks?\s+(?:for|you)\b|\bin\s+good\s+hands\b|\bsafe\s+travels\b"
    r"|\bfor\s+(?:general\s+)?information(?:al)?\s+purposes\b|\bgeneral\s+information\s+only\b"
    r"|\byou'?(?:ve|\s+have)\s+got\s+this\b|\byou'?re\s+all\s+set\b|\byou'?re\s+(?:now\s+)?(?:ready|equipped)\b"
    r"|\bin\s+no\s+time\b|\bwell\s+on\s+your\s+way\b|\brest\s+assured\b|\bwill\s+thank\s+you\b"
    r"|\bsecond\s+nature\b|\bfall\s+into\s+place\b|\bonce\s+(?:this|it)\s+clicks\b"
    r"|\bkeep\s+up\s+the\s+(?:great|good)\b|\bkeep\s+(?:practi[cs]ing|learning|exploring)\b"
    r"|\byou'?re\s+(?:taking|on|doing)\s+(?:a|the)\s+(?:great|right|good)\b|\bgreat\s+(?:step|job|work)\b"
    r"|\btogether,?\s+we\s+can\b|\bthat'?s\s+all\s+there\s+is\b|\bthat\s+(?:covers|wraps\s+up)\b"
    r"|\bnow\s+you\s+(?:have|know)\s+(?:everything|all)\b|\bmore\s+to\s+it\s+than\s+meets\b"
    r"|\blet'?s\s+(?:dive|delve|explore|break|take\s+a|get\s+started|look|move|turn|begin|start|now|keep\s+going|continue|proceed)\b"
    r"|\bnow\s+that\s+(?:we'?ve|you'?ve|we\s+have|you\s+have)\s+(?:covered|seen|looked|discussed|gone|established)\b"
    r"|^(?:now,?\s+)?(?:moving\s+on|let'?s\s+move\s+on)\b"
    r"|\bhere'?s\s+(?:what|everything|all)\s+you\s+need\s+to\s+know\b"
    r"|\b(?:not\s+(?:a|an|your)\s+(?:lawyer|attorney|solicitor|doctor|physician|medical\s+professional"
    r"|financial\s+advis[eo]r|accountant|professional|expert|specialist|therapist|veterinarian|vet))\b"
    r"|\b(?:legal|medical|financial|professional|tax|investment)\s+advice\b"
    r"|\bconsult\s+(?:with\s+)?(?:a|an|your)\s+(?:\w+\s+){0,2}?(?:professional|doctor|physician|expert|specialist"
    r"|lawyer|attorney|advis[eo]r|accountant|vet|veterinarian|pharmacist|provider)s?\b"
    r"|\bnever\s+look\s+back\b|\byou\s+deserve\b|\bthere\s+you\s+(?:have|go)\b"
    r"|\bcongratulations\b|\bkudos\b|\bwell\s+done\b|\bstay\s+(?:healthy|safe|curious|tuned|positive|motivated)\b"
    r"|\btake\s+care\b|\bbest\s+wishes\b|\bcheers\b|\bhappy\s+(?:learning|reading|cooking|gardening|travels?)\b"
    # Stock idioms that decorate an answer rather than inform.
    r"|\bahead\s+of\s+the\s+(?:game|curve)\b|\bcrystal\s+clear\b|\bpiece\s+of\s+cake\b|\bno[-\s]brainer\b"
    r"|\btip\s+of\s+the\s+iceberg\b|\bunder\s+your\s+belt\b|\bon\s+the\s+right\s+track\b"
    r"|\bhit\s+the\s+ground\s+running\b|\bbest\s+foot\s+forward\b|\bfood\s+for\s+thought\b"
    r"|\bicing\s+on\s+the\s+cake\b|\bpeace\s+of\s+mind\b|\bwin[-\s]win\b|\bget\s+the\s+hang\s+of\b"
    r"|\bcome\s+in\s+handy\b|\bfall\s+short\b|\btrips?\s+(?:up|people\s+up)\b|\bno\s+fun\b"
    r"|\b(?:be|is|isn'?t)\s+a\s+headache\b|\bshift\s+gears\b|\bthe\s+(?:age-old|million-dollar)\s+question\b"
    r"|\bthe\s+sky'?s\s+the\s+limit\b|\bthe\s+world\s+is\s+your\s+oyster\b|\bat\s+your\s+fingertips\b"
    r"|\b(?:great|good|excellent|fascinating|interesting|wonderful|fantastic|thoughtful)\s+question\b"
    r"|\bi'?d\s+be\s+(?:happy|glad|delighted)\b|\bcan'?t\s+be\s+stressed\s+enough\b"
    r"|\bcannot\s+be\s+(?:stressed|overstated|emphasi[sz]ed)\s+enough\b)",
    re.IGNORECASE,
)
# Phrases that make a sentence filler when it also adds little that is new.
_WEAK = re.compile(
    r"(?:^(?:now|overall|ultimately|anyway|basically|essentially|remember|always|just|don'?t\s+forget)\b"
    r"|^(?:that\s+(?:said|being\s+said)|with\s+(?:that|this|all\s+(?:of\s+)?(?:this|that))|having\s+said)"
    r"|^(?:in\s+(?:short|summary|conclusion|the\s+end|a\s+nutshell|essence|general|any\s+case)"
    r"|to\s+(?:sum(?:marise|marize)?\s+up|summari[sz]e|conclude|wrap\s+up)|all\s+in\s+all|at\s+the\s+end\s+of\s+the\s+day"
    r"|the\s+bottom\s+line|bottom\s+line|long\s+story\s+short|of\s+course|as\s+always|as\s+(?:you\s+can\s+see|mentioned))"
    r"|\b(?:important|crucial|essential|vital|key|critical|significant|fundamental|worth|useful|helpful|handy|valuable)\b"
    r"|\bshould\s+(?:know|remember|understand|be\s+aware\s+of)\b"
    r"|\b(?:keep|bear)\w*\s+(?:this|that|these|it)?\s*in\s+mind\b|\bcomes?\s+down\s+to\b|\bgo\s+a\s+long\s+way\b"
    r"|\b(?:fascinating|amazing|incredible|remarkable|interesting)\b|\bisn'?t\s+it\b|\bright\?$"
    r"|\blucky\b|\bproud\b|\bneedless\s+to\s+say\b|\bgoes\s+without\s+saying\b|\bevery\s+(?:situation|case|person|one)\s+is\s+(?:different|unique)\b"
    r"|\b(?:there\s+are\s+)?(?:always\s+)?exceptions\b|\b(?:is|are)\s+(?:all\s+)?(?:different|unique)\b|\bdepends\s+on\s+(?:your|the)\s+(?:specific|individual|particular)\b)",
    re.IGNORECASE,
)
_YES_NO = re.compile(r"^\W*(?:yes|no|nope|yeah|correct|incorrect|true|false)\b", re.IGNORECASE)
_PROTECTED = re.compile(r"\d|`|\"[^\"]+\"|“[^”]+”|‘[^’]+’|(?:^|\s)'[^'\s][^']*'(?!\w)|\w+\(|=|→|->")
_NUMBER_WORDS = _words(
    "zero two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty "
    "hundred thousand million billion half twice double triple once dozen"
)
# "Once" is a count ("once a week") except where it opens a clause ("Once you get the hang of
# it, ..."), which says nothing about how many.
_CLAUSE_ONCE = re.compile(
    r"(?:^|[,;:—–-]\s*|\band\s+|\bbut\s+)once\s+(?:you|we|they|it|this|that|the|your|I)\b", re.IGNORECASE
)
# "Lead-ins" the scorer cuts off a sentence with content: boilerplate before the answer.
_LEAD_INS = re.compile(
    r"^(?:to\s+answer\s+your\s+question\s*,\s*|in\s+(?:short|summary|a\s+nutshell)\s*,\s*"
    r"|(?:great|good)\s+question\s*[,!.]\s*|(?:so|well|basically|essentially)\s*,\s*"
    r"|(?:that\s+(?:said|being\s+said)|having\s+said\s+that)\s*,\s*)",
    re.IGNORECASE,
)
# A weak-phrase sentence is content once it has more new words than this, or more specific
# words (new or not) than _MAX_SPECIFIC_WORDS: a sentence that reasons from what was said
# ("So blue light reaches your eyes from every direction") is not a recap.
_MAX_NEW_WORDS = 2
_MAX_SPECIFIC_WORDS = 3


@dataclass(frozen=True, slots=True)
class Piece:
    """A piece of filler: a whole sentence (``lead_in`` False) or its opening words."""

    text: str
    kind: str
    lead_in: bool = False
    # The share of it that counts as filler: below 1 when the sentence model is unsure.
    weight: float = 1.0


def _stem(word: str, length: int = 6) -> str:
    """A crude stem, so that "boiled" meets "boil" and "conflicting" meets "conflict"; cut to
    ``length`` characters ("benefit" and "beneficial" meet at 6, not at 10)."""
    word = word.lower().strip("'’")
    for suffix in ("ingly", "ing", "edly", "ed", "ies", "es", "s", "ly", "er", "est"):
        if len(word) - len(suffix) >= 4 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]  # "nuance" and "nuanced" alike
    return word[:length]


def _specific(sentence: str) -> list[str]:
    out = []
    for word in content_words(sentence):
        for part in re.split(r"[-'’]", word):
            generic = part in GENERIC_WORDS or part in EVALUATIVE_WORDS or _stem(part) in _GENERIC_STEMS
            if len(part) > 1 and part not in _CONTRACTION_TAILS and not generic:
                out.append(part)
    return out


_GENERIC_STEMS = frozenset(_stem(w) for w in GENERIC_WORDS | EVALUATIVE_WORDS)
# Rating words are matched on a longer stem: a 6-letter one would make "benefit" a rating.
_EVALUATIVE_STEMS = frozenset(_stem(w, 10) for w in EVALUATIVE_WORDS)
# What is left of "you're", "we'll", "they've" once split at the apostrophe.
_CONTRACTION_TAILS = _words("re ll ve")


def _kind(text: str) -> str:
    lowered = text.lower()
    if PLEASANTRIES.match(text) or re.search(r"question|hope|luck|happy|glad|enjoy|thank", lowered):
        return "pleasantry"
    if re.search(r"feel free|let me know|hesitate|reach out|questions", lowered):
        return "offer"
    if HEDGES.match(text) or re.search(
        r"lawyer|doctor|advice|exception|depends|vary|unique|different", lowered
    ):
        return "hedge"
    if re.search(r"let'?s|moving on|move on|now|next|cover|that said|with that|step back", lowered):
        return "transition"
    if re.search(r"important|crucial|essential|vital|key|worth|mind|stress|critical|fundamental", lowered):
        return "importance"
    if re.search(
        r"in short|summary|conclusion|end of the day|in the end|comes down|overall|all in all", lowered
    ):
        return "recap"
    return "reassurance"


def _clean(sentence: str) -> str:
    text = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", sentence)  # a list item's bullet
    text = re.sub(r"[*_]{1,3}|^#+\s*|^>\s*", "", text)
    return text.strip()


# "This is a pivotal moment.", "These methods are tried and true.", "That matters.": a short
# sentence that points back and only rates what it points at.
_DEICTIC = re.compile(
    r"^(?:(?:both|each|all|either|any|none|one)\s+of\s+(?:these|those|them|this|that)"
    r"|(?:this|that|these|those)\s+\w+|this|that|these|those|it|such|which|doing\s+(?:this|so))\b(?:'s)?\s*(?:\w+\s+){0,2}?"
    r"(?:is|are|was|were|'s|matters?|remains?|can|cannot|will|makes?|really|truly|can't|should|has|have"
    r"|might|may|could|seems?|sounds?|looks?|feels?|gets?|goes|helps?|works?|pays?|shows?)\b",
    re.IGNORECASE,
)
# A deictic sentence or a closing exclamation is filler with at most this many new words.
_MAX_DEICTIC_NEW = 1
_MAX_CLOSING_NEW = 3
_MAX_DEICTIC_WORDS = 14
# A short sentence made mostly of generic words ("Learning a language is such a rewarding
# journey.") is filler when this share of its content words is generic and little is new.
_GENERIC_SHARE = 0.6
_MAX_GENERIC_SENTENCE_WORDS = 12
_INTERJECTION = re.compile(
    r"^(?:oh|ah|wow|well|hmm|great|nice|awesome|perfect|sure\s+thing|absolutely|excellent|good\s+one)\b",
    re.IGNORECASE,
)
_READER = re.compile(r"\byou(?:'re|'ll|'ve|r)?\b", re.IGNORECASE)
# Words that rate or feel rather than inform; a sentence of generic words needs one of these
# to be filler, so that a terse instruction ("Put your most recent experience first.") is not.
_EVALUATIVE = re.compile(
    r"\b(?:important|crucial|essential|vital|key|critical|significant|fundamental|worth\w*|useful|helpful"
    r"|handy|valuable|rewarding|fun|great|amazing|wonderful|fascinating|interesting|incredible|remarkable"
    r"|awesome|beautiful|exciting|enjoyable|satisfying|empowering|powerful|invaluable|game[-\s]changer"
    r"|all\s+about|really|truly|such|so\s+much|full\s+of|headache|journey|magic\w*|wonders?|best|perfect"
    r"|easy|simple|breeze|matters?|surpris\w+|lucky|proud|confident|ready)\b",
    re.IGNORECASE,
)


# --- the sentence model: general signals, no phrases ------------------------------------------
#
# Phrases only catch filler worded like filler seen before. The model below scores a sentence on
# signals that hold for filler in any wording: it is short; its content words are common ones
# (high Zipf frequency, from ``wordfreq``) with no rare, technical or proper name among them; it
# shares no word with the question or with the reply's other sentences, or names the question's
# subject without adding to it; it rates rather than states (generic and evaluative word
# classes, "X is a ..."); it opens or closes a reply of three sentences or more, ends with "!",
# addresses the reader or points back ("This is ...", "Both ... have ..."). Against filler: an
# instruction ("Turn the ..."), and a short reply, whose sentences are mostly the answer. The
# weights are a logistic regression fitted by ``benchmarks/fit_filler_model.py`` on the
# labelled tuning batches (never on the held-out ones) and pasted here, so the scorer stays
# deterministic and needs no model file.

# Below this Zipf frequency (about 3 per million words) a word is rare: technical or topical.
_RARE_ZIPF = 3.5
_VERY_RARE_ZIPF = 2.5
_NO_WORDS_ZIPF = 6.0  # a sentence with no content word counts as made of very common words
FEATURE_NAMES = (
    *("log_content_words", "log_rare_words", "log_very_rare_words", "log_question_overlap"),
    *("log_reply_overlap", "mean_zipf", "min_zipf", "proper_names", "addresses_reader"),
    *("exclamation", "question_mark", "opens_reply", "closes_reply", "second_to_last"),
    *("points_back", "generic_share", "evaluative_words", "log_words", "log_reply_sentences"),
    *("rates_by_copula", "instruction", "generic_instruction", "adds_to_question"),
)
_WEIGHTS = (
    *(-3.25, 0.67, -0.47, -0.19, -1.10, 0.39, 0.36, -0.04, 0.02),
    *(2.09, 0.07, 1.71, 3.32, 1.76, 1.05, 3.66, 1.69, -1.38),
    *(1.84, 1.72, -1.96, -2.15, -1.22),
)
_BIAS = 3.93
# A sentence the model gives a probability from UNSURE_BELOW to SURE_FROM counts as that share
# of filler (see model_weight).
UNSURE_BELOW = 0.3
SURE_FROM = 0.7


@lru_cache(maxsize=65_536)
def zipf(word: str) -> float:
    """How common an English word is: log10 of its frequency per billion words (0 = unseen)."""
    # Imported on first use: loading wordfreq takes a fifth of a second, which commands that
    # score nothing should not pay.
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "en"))


def is_protected(text: str) -> bool:
    """A sentence that is never filler: it holds a number, code, a quotation or a formula, or
    answers yes or no."""
    text = _clean(text)
    if _PROTECTED.search(text) or _YES_NO.match(text):
        return True
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", _CLAUSE_ONCE.sub(" ", text))]
    return any(w in _NUMBER_WORDS for w in words)


def sentence_features(sentences: Sequence[str], question: str | None) -> list[tuple[float, ...]]:
    """The model's features (:data:`FEATURE_NAMES`) of each sentence of a reply."""
    question_stems = {_stem(w) for w in content_words(question or "")}
    cleaned = [_clean(s) for s in sentences]
    words_of = [content_words(t) for t in cleaned]
    stems_of = [{_stem(w) for w in ws} for ws in words_of]
    # In how many sentences each stem occurs: "in another sentence" is a count above one.
    occurrences = Counter(stem for stems in stems_of for stem in stems)
    count = len(sentences)
    out: list[tuple[float, ...]] = []
    for index, text in enumerate(cleaned):
        words = words_of[index]
        stems = [_stem(w) for w in words]
        frequencies = [zipf(w) for w in words] or [_NO_WORDS_ZIPF]
        tokens = text.split()
        names = sum(1 for t in tokens[1:] if t[:1].isupper() and t.strip(".,;:!?'’\"") not in _PRONOUN_I)
        specific = _specific(text)
        first = tokens[0].lower().strip(",") if tokens else ""
        instruction = first not in STOPWORDS and not first.endswith("s") and bool(_IMPERATIVE.match(text))
        generic_verb = first in GENERIC_WORDS or first in EVALUATIVE_WORDS
        out.append(
            (
                math.log1p(len(words)),
                math.log1p(sum(1 for f in frequencies if f < _RARE_ZIPF)),
                math.log1p(sum(1 for f in frequencies if f < _VERY_RARE_ZIPF)),
                math.log1p(sum(1 for st in stems if st in question_stems)),
                math.log1p(sum(1 for st in stems if occurrences[st] > 1 and st not in question_stems)),
                sum(frequencies) / len(frequencies) - 4.5,
                min(frequencies) - 4.0,
                float(min(names, 3)),
                float(bool(_READER.search(text))),
                float(text.endswith("!")),
                float(text.endswith("?")),
                float(index == 0 and count > 2),
                float(index == count - 1 and count > 2),
                float(index == count - 2 and count > 2),
                float(bool(_DEICTIC.match(text))),
                1 - len(specific) / len(words) if words else 1.0,
                float(min(sum(1 for w in words if w in EVALUATIVE_WORDS), 2)),
                math.log1p(len(tokens)),
                math.log(count),
                float(bool(_COPULA_RATING.match(text))),
                float(instruction and not generic_verb),
                float(instruction and generic_verb),
                # It speaks of the question's subject and says something new about it.
                float(
                    any(st in question_stems for st in stems)
                    and any(_stem(w) not in question_stems for w in specific)
                ),
            )
        )
    return out


def filler_probability(features: Sequence[float]) -> float:
    """The model's probability that a sentence with these features is filler."""
    logit = _BIAS + sum(w * x for w, x in zip(_WEIGHTS, features, strict=True))
    return 1 / (1 + math.exp(-max(-50.0, min(50.0, logit))))


# "X is a/an/one of/the most ...": a sentence that classes or rates its subject.
_COPULA_RATING = re.compile(
    r"^(?:[\w'’-]+,?\s+){1,5}?(?:is|are|was|were|has\s+become|have\s+become|remains?|can\s+be|becomes?)\s+"
    r"(?:(?:often|truly|really|such|always|usually|also|just|still|quite|so|called|considered)\s+)*"
    r"(?:a|an|one\s+of|the\s+most|the\s+best|such)\b",
    re.IGNORECASE,
)
# An imperative: a verb, then its object or particle ("Turn the ...", "Save your ...").
_IMPERATIVE = re.compile(
    r"^[A-Za-z]+\s+(?:the|your|a|an|it|this|that|them|its|each|every|some|all|any)\b", re.IGNORECASE
)
_PRONOUN_I = frozenset(["I", "I'm", "I've", "I'll", "I'd", "I’m", "I’ve", "I’ll", "I’d"])


def model_weight(probability: float) -> float:
    """How much of a sentence counts as filler, given the model's probability that it is:
    none below :data:`UNSURE_BELOW`, all from :data:`SURE_FROM`, the probability between. An
    unsure sentence counted by its probability costs part of it, not all, when the call is wrong."""
    if probability < UNSURE_BELOW:
        return 0.0
    return 1.0 if probability >= SURE_FROM else probability


def classify(sentences: list[str], question: str | None) -> list[str | None]:
    """The filler kind of each sentence, or None for content."""
    return [kind for kind, _ in classify_weighted(sentences, question)]


def classify_weighted(sentences: list[str], question: str | None) -> list[tuple[str | None, float]]:
    """The filler kind of each sentence (None for content) and the share of it that counts as
    filler: 1 for a phrase or rule match, :func:`model_weight` for the model's."""
    features = sentence_features(sentences, question)
    weights = [1.0] * len(sentences)
    question_stems = {_stem(w) for w in _specific(question or "")}
    specifics = [_specific(_clean(s)) for s in sentences]
    # How many sentences each stem occurs in: "in another sentence" is then a count above the
    # sentence's own, linear in the reply's length.
    sentence_stems = [{_stem(w) for w in ws} for ws in specifics]
    occurrences = Counter(stem for stems in sentence_stems for stem in stems)
    kinds: list[str | None] = []
    strong: list[bool] = []
    for index, sentence in enumerate(sentences):
        text = _clean(sentence)
        if not text:
            kinds.append(None)
            strong.append(False)
            continue
        protected = is_protected(text)
        is_strong = bool(PLEASANTRIES.match(text) or HEDGES.match(text) or _STRONG.search(text))
        kind: str | None = None
        if is_strong and not re.search(r"\d|`", text):
            kind = _kind(text)
        elif not protected:
            new = [
                w for w in specifics[index] if occurrences[_stem(w)] <= 1 and _stem(w) not in question_stems
            ]
            words = len(text.split())
            content = content_words(text)
            generic_share = 1 - len(specifics[index]) / len(content) if content else 0.0
            new_allowed = _MAX_NEW_WORDS if generic_share >= _GENERIC_SHARE else 1
            rates = bool(_EVALUATIVE.search(text)) or any(_stem(w, 10) in _EVALUATIVE_STEMS for w in content)
            evaluative = generic_share >= _GENERIC_SHARE - 0.1 and rates
            closing = index >= len(sentences) - 2 and (
                text.endswith("!") or (evaluative and bool(_READER.search(text)))
            )
            if not specifics[index] and (content or words >= 3):
                kind = _kind(text)
            elif (
                _DEICTIC.match(text)
                and words <= _MAX_DEICTIC_WORDS
                and len(new) <= _MAX_DEICTIC_NEW + evaluative
            ):
                kind = "importance"
            elif closing and index > 0 and len(new) <= _MAX_CLOSING_NEW and words <= _MAX_DEICTIC_WORDS:
                kind = "reassurance"
            elif (
                index == 0
                and text.endswith("!")
                and _INTERJECTION.match(text)
                and words <= 6
                and len(new) <= 1
            ):
                kind = "pleasantry"
            elif text.endswith("?") and len(new) <= 1 and words <= _MAX_GENERIC_SENTENCE_WORDS:
                kind = "reassurance"  # a rhetorical question in an answer
            elif (evaluative and len(new) <= new_allowed and words <= _MAX_GENERIC_SENTENCE_WORDS) or (
                _WEAK.search(text)
                and len(new) <= _MAX_NEW_WORDS
                and len(specifics[index]) <= _MAX_SPECIFIC_WORDS
            ):
                kind = _kind(text)
        if kind is None and not protected:
            weights[index] = model_weight(filler_probability(features[index]))
            if weights[index] > 0:
                kind = _kind(text)
        kinds.append(kind)
        strong.append(is_strong and kind is not None)
    if kinds and all(k is not None for k in kinds) and not all(strong):
        # A reply is not all filler: keep the sentence the model least takes for filler.
        probabilities = [filler_probability(f) for f in features]
        best = max(range(len(sentences)), key=lambda i: (not strong[i], -probabilities[i]))
        kinds[best] = None
    return [(kind, weight if kind is not None else 0.0) for kind, weight in zip(kinds, weights, strict=True)]


def find_pieces(text: str, question: str | None) -> tuple[list[str], list[Piece | None]]:
    """The sentences of ``text`` and, for each, the filler it is or starts with (or None)."""
    sentences = split_sentences(text)
    pieces: list[Piece | None] = []
    for sentence, (kind, weight) in zip(sentences, classify_weighted(sentences, question), strict=True):
        if kind is not None:
            pieces.append(Piece(sentence, kind, weight=weight))
            continue
        lead = LEAD_INS.match(sentence) or _LEAD_INS.match(sentence)
        if lead and lead.end() < len(sentence) and content_words(sentence[lead.end() :]):
            pieces.append(Piece(lead.group(0).strip(), "lead-in", lead_in=True))
        else:
            pieces.append(None)
    return sentences, pieces
