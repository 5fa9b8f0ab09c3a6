"""Hallucination on images: POPE yes/no probes and CHAIR object mentions.

``pope`` — POPE (Li et al., 2023) asks yes/no questions about objects that are in an image
and objects that are not ("Is there a dog in the image?"). The case's ``expected`` is
``yes`` or ``no`` (or a boolean). The answer is read as yes or no: its first word when that
is yes/no (``Yes, there is...``), else a negation (``there is no dog``, ``I don't see``) is
no and an affirmation (``there is a dog``, ``I can see``) is yes; anything else is
*unparsed*, scored 0 and counted apart. Per case the value is 1 when the reading matches.
Over a run, :func:`pope_summary` gives accuracy, precision, recall and F1 with "yes" as the
positive class, and the yes-ratio (a model that says yes to everything has a yes-ratio of 1
and a high recall: the probe's point).

``chair`` — CHAIR (Rohrbach et al., 2018) checks a free description for objects that are
not in the image. The case carries the objects present (``expected`` or
``metadata.objects``); the scorer finds every object of its vocabulary the answer mentions
(the 80 COCO categories with their usual synonyms, the generated scenes' shapes, and
``vocabulary`` entries of the suite), singular or plural, and counts a mention *hallucinated*
when its object is not in the image. A mention right after a negation (``no``, ``not``,
``without``, ``neither``/``nor`` within three words) is not a claim and is not counted, and
an object word right before another (``an orange circle``, ``a dog bed``) is read as a
modifier of the second.
Per case the value is ``1 - hallucinated/mentioned`` (1 when nothing is mentioned, with
``mentioned: 0`` in ``details`` so coverage shows it), and it passes only with no
hallucination. Over a run, :func:`chair_summary` gives CHAIR_i (hallucinated mentions over
all mentions) and CHAIR_s (the share of answers with any hallucination), and coverage
(present objects mentioned).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..config import Case
from ..types import Completion
from ._base import Score, Scorer, threshold_passed

# COCO's 80 categories and common synonyms (after CHAIR's synonym list in spirit, written
# here from the category names), and the shapes the project's scene generator draws.
OBJECT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "person": (
        "person",
        "people",
        "man",
        "men",
        "woman",
        "women",
        "boy",
        "girl",
        "child",
        "children",
        "kid",
        "player",
        "human",
        "lady",
        "guy",
        "pedestrian",
    ),
    "bicycle": ("bicycle", "bike", "cycle"),
    "car": ("car", "automobile", "sedan", "taxi"),
    "motorcycle": ("motorcycle", "motorbike", "scooter"),
    "airplane": ("airplane", "plane", "aeroplane", "jet", "aircraft"),
    "bus": ("bus",),
    "train": ("train", "locomotive"),
    "truck": ("truck", "lorry"),
    "boat": ("boat", "ship", "sailboat", "canoe", "kayak"),
    "traffic light": ("traffic light", "stoplight"),
    "fire hydrant": ("fire hydrant", "hydrant"),
    "stop sign": ("stop sign",),
    "parking meter": ("parking meter",),
    "bench": ("bench",),
    "bird": ("bird", "pigeon", "seagull", "duck", "parrot"),
    "cat": ("cat", "kitten", "kitty"),
    "dog": ("dog", "puppy", "pup"),
    "horse": ("horse", "pony"),
    "sheep": ("sheep", "lamb"),
    "cow": ("cow", "cattle", "bull", "calf"),
    "elephant": ("elephant",),
    "bear": ("bear",),
    "zebra": ("zebra",),
    "giraffe": ("giraffe",),
    "backpack": ("backpack", "rucksack"),
    "umbrella": ("umbrella", "parasol"),
    "handbag": ("handbag", "purse"),
    "tie": ("tie", "necktie"),
    "suitcase": ("suitcase", "luggage"),
    "frisbee": ("frisbee",),
    "skis": ("ski", "skis"),
    "snowboard": ("snowboard",),
    "sports ball": ("ball", "football", "soccer ball", "baseball", "basketball", "tennis ball"),
    "kite": ("kite",),
    "baseball bat": ("baseball bat", "bat"),
    "baseball glove": ("baseball glove", "mitt"),
    "skateboard": ("skateboard",),
    "surfboard": ("surfboard",),
    "tennis racket": ("tennis racket", "racket", "racquet"),
    "bottle": ("bottle",),
    "wine glass": ("wine glass",),
    "cup": ("cup", "mug"),
    "fork": ("fork",),
    "knife": ("knife",),
    "spoon": ("spoon",),
    "bowl": ("bowl",),
    "banana": ("banana",),
    "apple": ("apple",),
    "sandwich": ("sandwich",),
    "orange": ("orange",),
    "broccoli": ("broccoli",),
    "carrot": ("carrot",),
    "hot dog": ("hot dog",),
    "pizza": ("pizza",),
    "donut": ("donut", "doughnut"),
    "cake": ("cake", "cupcake"),
    "chair": ("chair", "stool"),
    "couch": ("couch", "sofa"),
    "potted plant": ("potted plant", "houseplant", "plant"),
    "bed": ("bed",),
    "dining table": ("dining table", "table", "desk"),
    "toilet": ("toilet",),
    "tv": ("tv", "television", "monitor"),
    "laptop": ("laptop", "notebook computer"),
    "mouse": ("mouse",),
    "remote": ("remote", "remote control"),
    "keyboard": ("keyboard",),
    "cell phone": ("cell phone", "phone", "smartphone", "mobile phone"),
    "microwave": ("microwave",),
    "oven": ("oven", "stove"),
    "toaster": ("toaster",),
    "sink": ("sink",),
    "refrigerator": ("refrigerator", "fridge"),
    "book": ("book",),
    "clock": ("clock",),
    "vase": ("vase",),
    "scissors": ("scissors",),
    "teddy bear": ("teddy bear", "teddy"),
    "hair drier": ("hair drier", "hair dryer", "hairdryer"),
    "toothbrush": ("toothbrush",),
    # The generated scenes (benchroute dataset generate scenes).
    "circle": ("circle", "disc", "disk", "dot"),
    "square": ("square",),
    "rectangle": ("rectangle",),
    "triangle": ("triangle",),
    "star": ("star",),
    "house": ("house", "building", "hut"),
    "tree": ("tree",),
    "sun": ("sun",),
    "cloud": ("cloud",),
    "flower": ("flower",),
    "fish": ("fish",),
    "heart": ("heart",),
}

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_NEGATIONS = frozenset(
    {
        "no",
        "not",
        "without",
        "neither",
        "nor",
        "never",
        "isn't",
        "aren't",
        "don't",
        "doesn't",
        "cannot",
        "can't",
        "none",
        "nothing",
        "absent",
        "lacks",
        "lack",
    }
)
_NEGATION_REACH = 3


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if word.endswith("knives"):
        return word[:-3] + "fe"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _lexicon(extra: Mapping[str, Iterable[str]] | Iterable[str] | None) -> dict[tuple[str, ...], str]:
    """Synonym word sequences (singular) to their object, longest first when matched."""
    table: dict[str, tuple[str, ...]] = dict(OBJECT_SYNONYMS)
    if isinstance(extra, Mapping):
        for name, synonyms in extra.items():
            table[str(name).lower()] = (str(name).lower(), *(str(s).lower() for s in synonyms))
    elif extra is not None:
        for name in extra:
            table.setdefault(str(name).lower(), (str(name).lower(),))
    lexicon: dict[tuple[str, ...], str] = {}
    for name, synonyms in table.items():
        for synonym in synonyms:
            lexicon[tuple(_singular(w) for w in synonym.split())] = name
    return lexicon


def canonical_object(name: str, lexicon: Mapping[tuple[str, ...], str]) -> str:
    key = tuple(_singular(w) for w in name.lower().split())
    return lexicon.get(key, " ".join(key))


def mentioned_objects(text: str, lexicon: Mapping[tuple[str, ...], str]) -> list[str]:
    """Objects the text affirms, in order of first mention (negated mentions left out)."""
    words = _WORD.findall(text.lower().replace("’", "'"))
    singular = [_singular(w) for w in words]
    longest = max((len(k) for k in lexicon), default=1)
    found: list[str] = []
    i = 0
    while i < len(words):
        for size in range(min(longest, len(words) - i), 0, -1):
            name = lexicon.get(tuple(singular[i : i + size]))
            if name is None:
                continue
            if size == 1 and i + 1 < len(words) and (singular[i + 1],) in lexicon:
                # A modifier of the next object ("an orange circle", "a dog bed"): the claim
                # is the head noun, counted on the next word.
                break
            before = words[max(0, i - _NEGATION_REACH) : i]
            if not any(w in _NEGATIONS or w.endswith("n't") for w in before) and name not in found:
                found.append(name)
            i += size - 1
            break
        i += 1
    return found


def _present(case: Case, objects: Any) -> list[str]:
    value = objects if objects is not None else case.expected
    if value is None:
        value = case.metadata.get("objects")
    if isinstance(value, Mapping):
        value = value.get("objects")
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        raise ValueError(
            f"case {case.id!r}: chair needs the objects in the image as a list "
            "(expected: [dog, ball] or metadata.objects)"
        )
    return [str(item) for item in value]


def chair(
    objects: Any = None,
    *,
    vocabulary: Mapping[str, list[str]] | list[str] | None = None,
    threshold: float = 1.0,
) -> Scorer:
    """Objects the description mentions that are not in the image (CHAIR; see the module)."""
    lexicon = _lexicon(vocabulary)

    async def score(completion: Completion, case: Case) -> Score:
        present = {canonical_object(name, lexicon) for name in _present(case, objects)}
        mentioned = mentioned_objects(completion.text, lexicon)
        hallucinated = [name for name in mentioned if name not in present]
        covered = sorted(name for name in mentioned if name in present)
        value = 1.0 - len(hallucinated) / len(mentioned) if mentioned else 1.0
        if not mentioned:
            reason = "mentions none of the vocabulary's objects"
        elif hallucinated:
            reason = (
                f"{len(hallucinated)} of {len(mentioned)} objects mentioned are not in the image: "
                + ", ".join(hallucinated[:8])
            )
        else:
            reason = f"all {len(mentioned)} objects mentioned are in the image"
        return Score(
            value,
            not hallucinated and threshold_passed(value, threshold),
            reason,
            "chair",
            details={
                "mentioned": len(mentioned),
                "hallucinated": hallucinated,
                "covered": covered,
                "present": sorted(present),
                "coverage": len(covered) / len(present) if present else None,
            },
        )

    return score


_YES = frozenset({"yes", "yeah", "yep", "correct", "true", "affirmative", "certainly", "indeed"})
_NO = frozenset({"no", "nope", "false", "negative"})
_AFFIRM = re.compile(r"\b(?:there (?:is|are)|i (?:can )?see|it (?:is|has)|contains?|shows?|visible)\b")


def read_yes_no(text: str) -> str | None:
    """``"yes"``, ``"no"``, or None when the answer is neither."""
    words = _WORD.findall(text.lower().replace("’", "'"))
    if not words:
        return None
    if words[0] in _YES:
        return "yes"
    if words[0] in _NO:
        return "no"
    first_sentence = re.split(r"[.!?\n]", text.lower(), maxsplit=1)[0]
    sentence_words = _WORD.findall(first_sentence.replace("’", "'"))
    if any(w in _NEGATIONS or w.endswith("n't") for w in sentence_words):
        return "no"
    if any(w in _YES for w in sentence_words) or _AFFIRM.search(first_sentence):
        return "yes"
    if any(w in _NO for w in sentence_words):
        return "no"
    return None


def _truth(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str) and value.strip().lower() in ("yes", "no", "true", "false"):
        return "yes" if value.strip().lower() in ("yes", "true") else "no"
    return None


def pope(expected: Any = None, *, threshold: float = 1.0) -> Scorer:
    """A yes/no probe about an object in the image (POPE; see the module)."""

    async def score(completion: Completion, case: Case) -> Score:
        truth = _truth(case.expected if expected is None else expected)
        if truth is None:
            raise ValueError(f"case {case.id!r}: pope needs expected: yes or no")
        answer = read_yes_no(completion.text)
        value = 1.0 if answer == truth else 0.0
        if answer is None:
            reason = f"the answer is neither yes nor no (expected {truth})"
        else:
            reason = f"answered {answer}, expected {truth}"
        return Score(
            value,
            threshold_passed(value, threshold),
            reason,
            "pope",
            details={"truth": truth, "answer": answer},
        )

    return score


def pope_summary(pairs: Iterable[tuple[str, str | None]]) -> dict[str, Any]:
    """POPE's figures from (truth, answer) pairs: accuracy, precision, recall and F1 with yes
    as positive, the yes-ratio, and the unparsed count (an unparsed answer is wrong, and is
    neither a yes nor a no in the ratio). Figures with no data are None."""
    tp = fp = tn = fn = unparsed = total = 0
    for truth, answer in pairs:
        total += 1
        if answer is None:
            unparsed += 1
            fn += truth == "yes"
            continue
        if truth == "yes":
            tp += answer == "yes"
            fn += answer == "no"
        else:
            fp += answer == "yes"
            tn += answer == "no"
    answered = total - unparsed
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else (0.0 if precision is not None and recall is not None else None)
    )
    return {
        "n": total,
        "accuracy": (tp + tn) / total if total else None,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "yes_ratio": (tp + fp) / answered if answered else None,
        "unparsed": unparsed,
    }


def chair_summary(details: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """CHAIR_i, CHAIR_s and coverage over the ``details`` of ``chair`` scores."""
    mentions = hallucinated = answers = with_hallucination = 0
    covered = present = 0
    for item in details:
        answers += 1
        found = list(item.get("hallucinated") or [])
        mentions += int(item.get("mentioned") or 0)
        hallucinated += len(found)
        with_hallucination += bool(found)
        covered += len(item.get("covered") or [])
        present += len(item.get("present") or [])
    return {
        "n": answers,
        "chair_i": hallucinated / mentions if mentions else None,
        "chair_s": with_hallucination / answers if answers else None,
        "coverage": covered / present if present else None,
    }
