# ruff: noqa: E501  (hand-written passages and answers)
"""Builds ``rag_labelled.jsonl``: labelled cases for ``benchmarks/rag_agreement.py``.

Every topic is written by hand: passages, a question, and a paraphrased answer whose sentences
are annotated by hand. A sentence's annotation is the list of its atomic claims, each with the
set of passages (1-based) that support it (empty: the claim is invented), and the citations the
sentence carries. Filler sentences have no claims. From one topic five variants are made:

- ``faithful``: the paraphrased answer with its citations;
- ``fabricated``: the same with one invented sentence added, or one sentence replaced by a
  version with invented facts (a wrong number, a name or date the passages do not have);
- ``wrong_citation``: one sentence cites a passage that does not support it;
- ``no_citations``: every marker removed;
- ``filler``: pleasantries and content-free meta sentences added around the content.

The expected figures follow from the annotations and the scorers' definitions (nothing here
runs a scorer):

- factuality = supported claims / claims;
- citation precision = citations ``[n]`` whose passage supports at least one claim of their
  sentence / all citations (0 when the answer has none);
- citation recall = claim-bearing sentences each of whose claims is supported by a passage the
  sentence cites / claim-bearing sentences.

Topics marked ``held_out`` were written after the scorers were tuned and are reported apart.

    python benchmarks/data/rag_labelled_build.py     # rewrites rag_labelled.jsonl
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

OUT = Path(__file__).with_name("rag_labelled.jsonl")


@dataclass(frozen=True)
class S:
    """One answer sentence: ``text`` with ``{c}`` where its citation markers go, the passages
    it cites, and per atomic claim the passages that support it."""

    text: str
    cites: tuple[int, ...] = ()
    claims: tuple[frozenset[int], ...] = ()


def s(text: str, cites: tuple[int, ...] | list[int], *claims: set[int] | frozenset[int]) -> S:
    return S(text, tuple(cites), tuple(frozenset(c) for c in claims))


def filler(text: str) -> S:
    return S(text)


@dataclass
class Topic:
    name: str
    question: str
    passages: list[str]
    answer: list[S]
    fabricated: tuple[str, int, S]  # ("insert" | "replace", position, sentence)
    wrong: tuple[int, tuple[int, ...]]  # sentence index, the wrong citations it gets instead
    fillers: tuple[list[S], list[tuple[int, S]], list[S]]  # before, (position, middle), after
    marker: str = "num"  # num: " [1][2]", doc: " [doc1]", list: " [1, 2]"
    split: str = "tune"
    notes: list[str] = field(default_factory=list)


def render_markers(cites: tuple[int, ...], style: str) -> str:
    if not cites:
        return ""
    if style == "doc":
        return " " + "".join(f"[doc{n}]" for n in cites)
    if style == "list":
        return " [" + ", ".join(str(n) for n in cites) + "]"
    return " " + "".join(f"[{n}]" for n in cites)


def render(sentences: list[S], style: str, cited: bool = True) -> str:
    parts = []
    for sentence in sentences:
        markers = render_markers(sentence.cites, style) if cited else ""
        text = sentence.text.replace("{c}", markers)
        if "{c}" not in sentence.text and markers:
            text = text + markers
        parts.append(text.replace("  ", " ").strip())
    return " ".join(parts)


def expected(sentences: list[S], cited: bool = True) -> dict[str, float]:
    claims = [c for x in sentences for c in x.claims]
    supported = sum(1 for c in claims if c)
    citations = correct = 0
    bearing = covered = 0
    for x in sentences:
        cites = x.cites if cited else ()
        for n in cites:
            citations += 1
            correct += any(n in c for c in x.claims)
        if x.claims:
            bearing += 1
            covered += bool(cites) and all(c & set(cites) for c in x.claims)
    return {
        "factuality": round(supported / len(claims), 4) if claims else 0.0,
        "citation_precision": round(correct / citations, 4) if citations else 0.0,
        "citation_recall": round(covered / bearing, 4) if bearing else 0.0,
    }


def annotations(sentences: list[S], cited: bool = True) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for x in sentences:
        out.append(
            {
                "text": x.text.replace("{c}", ""),
                "cites": list(x.cites) if cited else [],
                "claims": [sorted(c) for c in x.claims],
            }
        )
    return out


def variants(topic: Topic) -> list[dict[str, object]]:
    base = list(topic.answer)
    kind, position, invented = topic.fabricated
    fabricated = list(base)
    if kind == "insert":
        fabricated.insert(position, invented)
    else:
        fabricated[position] = invented
    wrong = list(base)
    index, cites = topic.wrong
    wrong[index] = S(wrong[index].text, cites, wrong[index].claims)
    before, middle, after = topic.fillers
    padded = list(base)
    for at, sentence in sorted(middle, key=lambda m: -m[0]):
        padded.insert(at, sentence)
    padded = before + padded + after
    rows = []
    for variant, sentences, cited in (
        ("faithful", base, True),
        ("fabricated", fabricated, True),
        ("wrong_citation", wrong, True),
        ("no_citations", base, False),
        ("filler", padded, True),
    ):
        rows.append(
            {
                "id": f"{topic.name}-{variant}",
                "topic": topic.name,
                "variant": variant,
                "split": topic.split,
                "input": topic.question,
                "passages": topic.passages,
                "output": render(sentences, topic.marker, cited),
                "expected": expected(sentences, cited),
                "sentences": annotations(sentences, cited),
            }
        )
    return rows


P1, P2, P3 = {1}, {2}, {3}

TOPICS: list[Topic] = [
    Topic(
        "golden-gate",
        "What should I know about the Golden Gate Bridge?",
        [
            "The Golden Gate Bridge is a suspension bridge spanning the Golden Gate strait, the "
            "one-mile-wide channel between San Francisco Bay and the Pacific Ocean. Construction began "
            "on January 5, 1933, and the bridge opened to vehicle traffic on May 28, 1937. Its main span "
            "is 4,200 feet (1,280 m) long.",
            "The bridge's chief engineer was Joseph Strauss, although much of the design work was done "
            "by Charles Ellis and Leon Moisseiff. The color of the bridge is an orange vermilion called "
            "International Orange, chosen by consulting architect Irving Morrow because it complements "
            "the natural surroundings and is visible in fog.",
            "About 112,000 vehicles cross the bridge each day. Tolls are collected only from southbound "
            "drivers entering San Francisco.",
        ],
        [
            s(
                "The Golden Gate Bridge is a suspension bridge crossing the strait that links San Francisco "
                "Bay with the Pacific{c}.",
                [1],
                P1,
            ),
            s("Work on it started in January 1933, and cars could use it from May 1937{c}.", [1], P1, P1),
            s(
                "Joseph Strauss led the engineering, while Charles Ellis and Leon Moisseiff did a large part "
                "of the design{c}.",
                [2],
                P2,
                P2,
            ),
            s(
                "Its distinctive colour, International Orange, was picked by Irving Morrow partly so that it "
                "stays visible in fog{c}.",
                [2],
                P2,
            ),
            s(
                "Roughly 112,000 vehicles use it daily, and only drivers heading south into San Francisco "
                "pay a toll{c}.",
                [3],
                P3,
                P3,
            ),
        ],
        (
            "insert",
            2,
            s(
                "The bridge was painted gold until 1965, when the city switched to the current colour{c}.",
                [2],
                set(),
            ),
        ),
        (3, (1,)),
        (
            [filler("Great question!")],
            [(3, filler("Let me explain the design side."))],
            [filler("I hope this helps.")],
        ),
    ),
    Topic(
        "acme-config",
        "How do I configure Acme Server?",
        [
            "Acme Server reads its settings from a file named config.yaml in the working directory. If "
            "the file is missing, built-in defaults are used. The default HTTP port is 8080, and the "
            "default log level is info.",
            "Secrets such as the database password and API keys must not be stored in config.yaml. Put "
            "them in a .env file instead; Acme Server loads .env at start-up, before it reads "
            "config.yaml. The .env file should be listed in .gitignore so it is never committed.",
            "Any setting can be overridden with an environment variable prefixed ACME_, for example "
            "ACME_PORT=9090. Environment variables take precedence over both .env and config.yaml.",
        ],
        [
            s(
                "Acme Server takes its configuration from config.yaml in the directory it is started from; "
                "without that file it falls back to built-in defaults{c}.",
                [1],
                P1,
                P1,
            ),
            s("Out of the box it listens on port 8080 and logs at the info level{c}.", [1], P1, P1),
            s(
                "Keep passwords and API keys out of config.yaml and place them in a .env file, which is "
                "loaded before config.yaml{c}.",
                [2],
                P2,
                P2,
            ),
            s("Remember to add .env to .gitignore so that it never ends up in a commit{c}.", [2], P2),
            s(
                "You can override any option with an ACME_-prefixed environment variable such as "
                "ACME_PORT=9090, and these win over both files{c}.",
                [3],
                P3,
                P3,
            ),
        ],
        (
            "insert",
            2,
            s("The server also reloads config.yaml automatically every 60 seconds{c}.", [1], set()),
        ),
        (4, (2,)),
        (
            [filler("Sure, let me walk you through it.")],
            [],
            [filler("Let me know if you have any other questions!"), filler("Happy configuring!")],
        ),
    ),
    Topic(
        "ibuprofen",
        "How should adults take ibuprofen safely?",
        [
            "Ibuprofen is a nonsteroidal anti-inflammatory drug (NSAID) used to relieve pain, fever and "
            "inflammation. For adults, the usual over-the-counter dose is 200 to 400 mg every 4 to 6 "
            "hours. Without medical advice, adults should not take more than 1,200 mg in 24 hours.",
            "Common side effects include heartburn, nausea and stomach pain. Taking ibuprofen with food "
            "or milk can reduce stomach upset. People with a history of stomach ulcers should talk to a "
            "doctor before using it.",
            "Ibuprofen can interact with blood thinners such as warfarin and increase the risk of "
            "bleeding. It may also reduce the effect of some blood pressure medicines.",
        ],
        [
            s(
                "Ibuprofen is an NSAID that eases pain, brings down fever and reduces inflammation{c}.",
                [1],
                P1,
            ),
            s(
                "Adults typically take 200–400 mg every four to six hours, and should stay under 1,200 mg a "
                "day unless a doctor says otherwise{c}.",
                [1],
                P1,
                P1,
            ),
            s(
                "Heartburn, nausea and stomach pain are frequent side effects, which can be lessened by "
                "taking the tablets with a meal or with milk{c}.",
                [2],
                P2,
                P2,
            ),
            s("Anyone who has had stomach ulcers should check with a doctor first{c}.", [2], P2),
            s(
                "It can also interact with warfarin and other anticoagulants, raising the chance of "
                "bleeding{c}.",
                [3],
                P3,
            ),
        ],
        (
            "replace",
            1,
            s(
                "Adults typically take 200–400 mg every four to six hours, and can safely go up to "
                "3,200 mg a day without a prescription{c}.",
                [1],
                P1,
                set(),
            ),
        ),
        (4, (2,)),
        (
            [filler("Good question!")],
            [(2, filler("Now, on to side effects."))],
            [filler("I hope that clarifies things.")],
        ),
    ),
    Topic(
        "mars",
        "Tell me some facts about Mars.",
        [
            "Mars is the fourth planet from the Sun. A day on Mars, called a sol, lasts about 24 hours "
            "and 37 minutes. A Martian year is 687 Earth days long.",
            "Mars has two small moons, Phobos and Deimos, discovered by Asaph Hall in 1877. Phobos "
            "orbits so close to Mars that it circles the planet three times a day.",
            "Olympus Mons, a shield volcano on Mars, is about 22 km high, nearly three times the height "
            "of Mount Everest.",
        ],
        [
            s(
                "Mars is the fourth planet out from the Sun, and one of its days (a sol) is roughly 24 hours "
                "37 minutes long{c}.",
                [1],
                P1,
                P1,
            ),
            s("It takes 687 Earth days to complete a year{c}.", [1], P1),
            s("Asaph Hall found its two moons, Phobos and Deimos, in 1877{c}.", [2], P2),
            s("Phobos is so close that it goes around Mars three times each day{c}.", [2], P2),
            s(
                "The volcano Olympus Mons rises about 22 km, almost three times as tall as Everest{c}.",
                [3],
                P3,
                P3,
            ),
        ],
        (
            "insert",
            5,
            s(
                "Mars also has a faint ring of dust that the Viking 2 lander first photographed in 1976{c}.",
                [2],
                set(),
            ),
        ),
        (1, (3,)),
        (
            [filler("What a fun topic!"), filler("Let me share a few highlights.")],
            [],
            [filler("Is there anything else you would like to know about the Red Planet?")],
        ),
        marker="doc",
    ),
    Topic(
        "expenses",
        "What are the rules for expense claims?",
        [
            "Employees must submit expense claims within 30 days of the purchase date. Claims are filed "
            "through the Concur portal and need an itemised receipt for any expense above $25.",
            "Meals while travelling are reimbursed up to $60 per day. Alcohol is not reimbursable. "
            "Economy class is required for flights under six hours.",
            "Approved claims are paid with the next monthly payroll. Managers must approve or reject a "
            "claim within 10 working days.",
        ],
        [
            s(
                "Claims have to be submitted no later than 30 days after the purchase, using the Concur "
                "portal{c}.",
                [1],
                P1,
                P1,
            ),
            s("Any expense over $25 needs an itemised receipt{c}.", [1], P1),
            s(
                "While travelling you can claim up to $60 a day for meals, but alcohol is never covered{c}.",
                [2],
                P2,
                P2,
            ),
            s("For flights shorter than six hours you must fly economy{c}.", [2], P2),
            s(
                "Your manager has 10 working days to approve or reject the claim, and approved claims are "
                "paid out with the next monthly payroll{c}.",
                [3],
                P3,
                P3,
            ),
        ],
        ("insert", 3, s("Taxi fares are reimbursed only for trips that start after 9 pm{c}.", [2], set())),
        (0, (3,)),
        (
            [filler("Here's a quick summary of the policy.")],
            [(2, filler("This is an important point."))],
            [filler("Feel free to reach out if anything is unclear.")],
        ),
    ),
    Topic(
        "honeybees",
        "How do honey bees live and work?",
        [
            "A honey bee colony has one queen, thousands of female workers and, in summer, a few hundred "
            "male drones. The queen can lay up to 2,000 eggs a day.",
            "Worker bees communicate the location of flowers with the waggle dance. The angle of the "
            "dance relative to vertical indicates the direction of the food source relative to the sun, "
            "and the duration of the waggle run indicates its distance.",
            "To make one pound of honey, bees visit about two million flowers. Honey is stored in wax "
            "cells and sealed with a wax cap.",
        ],
        [
            s(
                "Each colony is headed by a single queen and includes thousands of female workers, plus a few "
                "hundred drones during the summer.{c}",
                [1],
                P1,
                P1,
            ),
            s("A queen may lay as many as 2,000 eggs in a day.{c}", [1], P1),
            s("Workers tell each other where flowers are by performing the waggle dance.{c}", [2], P2),
            s(
                "The dance's angle from vertical shows the direction relative to the sun; how long the waggle "
                "lasts shows how far away the food is.{c}",
                [2],
                P2,
                P2,
            ),
            s("Producing a single pound of honey takes visits to roughly two million flowers.{c}", [3], P3),
        ],
        ("insert", 2, s("A worker bee lives for about five years in the wild.{c}", [1], set())),
        (2, (3,)),
        (
            [filler("Great question!")],
            [(3, filler("Let me explain how the dance works."))],
            [filler("Hope this helps!")],
        ),
    ),
    Topic(
        "roth-ira",
        "What are the Roth IRA rules for 2024?",
        [
            "For 2024, the total annual contribution limit for Roth IRAs is $7,000, or $8,000 for people "
            "aged 50 or older.",
            "Eligibility depends on modified adjusted gross income (MAGI). For single filers in 2024, the "
            "ability to contribute phases out between $146,000 and $161,000.",
            "Contributions to a Roth IRA can be withdrawn at any time without tax or penalty. Earnings can "
            "be withdrawn tax-free after age 59½ if the account has been open for at least five years.",
        ],
        [
            s(
                "In 2024 you can put up to $7,000 into a Roth IRA, or $8,000 if you are 50 or over{c}.",
                [1],
                P1,
                P1,
            ),
            s(
                "Whether you qualify depends on your MAGI; single filers lose eligibility gradually between "
                "$146,000 and $161,000{c}.",
                [2],
                P2,
                P2,
            ),
            s(
                "You can take your contributions back out whenever you like with no tax or penalty{c}.",
                [3],
                P3,
            ),
            s(
                "Earnings come out tax-free once you are 59½ and the account is at least five years old{c}.",
                [3],
                P3,
            ),
        ],
        (
            "replace",
            0,
            s(
                "In 2024 you can put up to $7,500 into a Roth IRA, or $8,500 if you are 50 or over{c}.",
                [1],
                set(),
                set(),
            ),
        ),
        (2, (1,)),
        (
            [filler("Happy to help with that!")],
            [(1, filler("That said, there is a bit more to it."))],
            [filler("Thanks for asking, and good luck with your savings!")],
        ),
        marker="list",
    ),
    Topic(
        "sourdough",
        "How do I make and look after a sourdough starter?",
        [
            "To make a sourdough starter, mix equal weights of flour and water, for example 50 g of each, "
            "in a clean jar. Leave it loosely covered at room temperature, ideally 24 to 27 °C.",
            "Feed the starter once a day by discarding half of it and adding fresh flour and water. After "
            "5 to 7 days it should double in size within 4 to 8 hours of a feeding, which shows it is "
            "ready to bake with.",
            "A starter kept in the refrigerator only needs feeding about once a week. Whole-grain rye "
            "flour makes a starter become active faster than white flour.",
        ],
        [
            s(
                "Combine flour and water in equal amounts by weight, such as 50 g each, in a clean jar{c}.",
                [1],
                P1,
            ),
            s("Keep it at room temperature with a loose lid, preferably between 24 and 27 °C{c}.", [1], P1),
            s("Every day, throw away half and top it up with new flour and water{c}.", [2], P2),
            s(
                "It is ready for baking when, after about 5–7 days, it doubles within 4 to 8 hours of being "
                "fed{c}.",
                [2],
                P2,
            ),
            s(
                "Rye flour gets a starter going more quickly than white flour, and a refrigerated starter can "
                "be fed roughly weekly{c}.",
                [3],
                P3,
                P3,
            ),
        ],
        (
            "insert",
            2,
            s(
                "Adding a teaspoon of sugar on the first day doubles the speed of fermentation{c}.",
                [1],
                set(),
            ),
        ),
        (1, (3,)),
        (
            [filler("Let me break this down for you.")],
            [],
            [filler("Happy baking, and let me know how it goes!")],
        ),
    ),
    Topic(
        "tour-de-france",
        "What is the Tour de France?",
        [
            "The Tour de France is an annual men's multiple-stage bicycle race held mainly in France. It "
            "was first organised in 1903 by the newspaper L'Auto. The race usually has 21 stages over 23 "
            "days and covers about 3,500 km.",
            "The leader of the general classification wears the yellow jersey (maillot jaune). The green "
            "jersey goes to the leader of the points classification, and the polka-dot jersey to the best "
            "climber.",
            "Eddy Merckx, Bernard Hinault, Jacques Anquetil and Miguel Induráin share the record of five "
            "overall wins.",
        ],
        [
            s(
                "It is a yearly multi-stage cycling race for men, held mostly in France, that the newspaper "
                "L'Auto first organised in 1903{c}.",
                [1],
                P1,
                P1,
            ),
            s("A typical edition has 21 stages across 23 days and covers roughly 3,500 km{c}.", [1], P1, P1),
            s(
                "The overall leader rides in the yellow jersey, the points leader in green, and the top "
                "climber in the polka-dot jersey{c}.",
                [2],
                P2,
                P2,
                P2,
            ),
            s(
                "Four riders, among them Eddy Merckx and Miguel Induráin, hold the record of five overall "
                "victories{c}.",
                [3],
                P3,
            ),
        ],
        (
            "insert",
            4,
            s("The 2020 edition was won by Chris Froome, who finished 59 seconds ahead.", [], set(), set()),
        ),
        (3, (1,)),
        (
            [filler("Sure!"), filler("Here's an overview.")],
            [],
            [filler("I hope this gives you a good picture.")],
        ),
    ),
    Topic(
        "pyproject",
        "How does packaging with pyproject.toml work?",
        [
            "A pyproject.toml file describes a Python project's build system and metadata. The "
            "build-system table names the build backend, for example setuptools or hatchling, and the "
            "project table holds the name, version and dependencies.",
            "Running pip install -e . installs the project in editable mode, so changes to the source are "
            "picked up without reinstalling. Editable installs of pyproject-only projects require pip "
            "21.3 or newer.",
            'The requires-python field, such as requires-python = ">=3.9", declares which Python versions '
            "are supported. pip refuses to install a package on an interpreter that does not satisfy it.",
        ],
        [
            s(
                "pyproject.toml holds both the build configuration and the metadata of a Python project{c}.",
                [1],
                P1,
            ),
            s(
                "Its build-system table picks a backend such as hatchling or setuptools, while the project "
                "table lists the name, the version and the dependencies{c}.",
                [1],
                P1,
                P1,
            ),
            s(
                "With pip install -e . the package is installed in editable mode, so edits to the code take "
                "effect without a reinstall{c}.",
                [2],
                P2,
                P2,
            ),
            s("This needs pip 21.3 or later for projects that only have a pyproject.toml{c}.", [2], P2),
            s(
                "The requires-python key states the supported Python versions, and pip will not install the "
                "package on an interpreter that does not match{c}.",
                [3],
                P3,
                P3,
            ),
        ],
        (
            "insert",
            4,
            s(
                "Since pip 23.1, editable installs also compile the package to bytecode in a .pyc "
                "cache by default{c}.",
                [2],
                set(),
            ),
        ),
        (0, (3,)),
        (
            [filler("Okay, let me explain.")],
            [(3, filler("Let's look at editable installs next."))],
            [filler("Let me know if you need an example file.")],
        ),
    ),
]

# Written after the scorers were tuned on the topics above; reported separately.
HELD_OUT: list[Topic] = [
    Topic(
        "great-barrier-reef",
        "Tell me about the Great Barrier Reef.",
        [
            "The Great Barrier Reef, off the coast of Queensland, Australia, is the world's largest coral "
            "reef system. It is made up of more than 2,900 individual reefs and 900 islands stretching "
            "over 2,300 kilometres. It was added to the World Heritage List in 1981.",
            "Rising sea temperatures cause coral bleaching, in which corals expel the algae living in "
            "their tissues and turn white. Mass bleaching events affected the reef in 1998, 2002, 2016 "
            "and 2017.",
            "The reef is home to about 1,500 species of fish and 411 species of hard coral. It supports a "
            "tourism industry worth several billion Australian dollars a year.",
        ],
        [
            s(
                "Lying off Queensland in Australia, the Great Barrier Reef is the biggest coral reef system on "
                "Earth{c}.",
                [1],
                P1,
            ),
            s(
                "It consists of over 2,900 separate reefs and 900 islands spread across more than 2,300 km{c}.",
                [1],
                P1,
                P1,
            ),
            s("UNESCO listed it as a World Heritage Site in 1981{c}.", [1], P1),
            s(
                "When the sea warms, corals push out the algae in their tissue and go white, which is known as "
                "bleaching{c}.",
                [2],
                P2,
            ),
            s("Around 1,500 kinds of fish and 411 kinds of hard coral live there{c}.", [3], P3),
        ],
        (
            "insert",
            4,
            s(
                "Scientists expect the reef to recover fully by 2030 because bleaching has become rarer{c}.",
                [2],
                set(),
            ),
        ),
        (4, (2,)),
        (
            [filler("Great question!"), filler("Let me give you an overview.")],
            [],
            [filler("I hope you find this useful.")],
        ),
    ),
    Topic(
        "git-ignore",
        "How do I stop Git from tracking files?",
        [
            "A .gitignore file lists patterns of files that Git should not track. Each line holds one "
            "pattern, such as *.log or build/, and lines starting with # are comments.",
            "Patterns in .gitignore only affect untracked files. To stop tracking a file that is already "
            "committed, run git rm --cached <file> and then commit the change; the file stays on disk.",
            "Ignore rules that should apply only to your own clone can go in .git/info/exclude, which is "
            "never shared with others.",
        ],
        [
            s(
                "You list the files Git should leave alone in a .gitignore file, one pattern per line, e.g. "
                "*.log or build/{c}.",
                [1],
                P1,
                P1,
            ),
            s("Lines that begin with # are treated as comments{c}.", [1], P1),
            s(
                "The patterns only apply to files Git is not tracking yet; for a file that is already "
                "committed you need git rm --cached followed by a commit{c}.",
                [2],
                P2,
                P2,
            ),
            s("That command keeps the file on your disk{c}.", [2], P2),
            s(
                "For rules that are just for your own copy of the repository, use .git/info/exclude, which is "
                "not shared{c}.",
                [3],
                P3,
                P3,
            ),
        ],
        (
            "replace",
            3,
            s(
                "That command keeps the file on your disk and also deletes it from every earlier commit{c}.",
                [2],
                P2,
                set(),
            ),
        ),
        (1, (3,)),
        (
            [filler("Sure, here's how it works.")],
            [(2, filler("Now let's look at files that are already tracked."))],
            [filler("Let me know if you run into any problems!")],
        ),
        marker="doc",
    ),
    Topic(
        "marie-curie",
        "Who was Marie Curie?",
        [
            "Marie Curie (born Maria Sklodowska in Warsaw in 1867) was a physicist and chemist who "
            "conducted pioneering research on radioactivity. She moved to Paris in 1891 to study at the "
            "Sorbonne.",
            "In 1903 she shared the Nobel Prize in Physics with Pierre Curie and Henri Becquerel. In 1911 "
            "she received the Nobel Prize in Chemistry for discovering the elements polonium and radium.",
            "She was the first woman to win a Nobel Prize and remains the only person to have won Nobel "
            "Prizes in two different sciences. She died in 1934 of aplastic anaemia, probably caused by "
            "long exposure to radiation.",
        ],
        [
            s(
                "Marie Curie, originally Maria Sklodowska, was born in Warsaw in 1867 and became a physicist "
                "and chemist known for her early work on radioactivity.{c}",
                [1],
                P1,
                P1,
            ),
            s("She went to Paris in 1891 to attend the Sorbonne.{c}", [1], P1),
            s(
                "She won the 1903 Physics prize together with Pierre Curie and Henri Becquerel, and the 1911 "
                "Chemistry prize for finding polonium and radium.{c}",
                [2],
                P2,
                P2,
            ),
            s(
                "No other person has won Nobel Prizes in two separate sciences, and she was the first woman "
                "to receive one.{c}",
                [3],
                P3,
                P3,
            ),
            s(
                "Her death in 1934 was from aplastic anaemia, most likely the result of years of exposure to "
                "radiation.{c}",
                [3],
                P3,
            ),
        ],
        ("insert", 2, s("She also founded the Curie Institute in Lyon in 1920.{c}", [1], set())),
        (4, (2,)),
        (
            [filler("What a great person to ask about!")],
            [(3, filler("This is an important point."))],
            [filler("I hope this helps.")],
        ),
    ),
    Topic(
        "ev-warranty",
        "What does the Voltra EV battery warranty cover?",
        [
            "The Voltra Model S battery is covered for 8 years or 160,000 km, whichever comes first. The "
            "warranty guarantees that the battery keeps at least 70% of its original capacity during that "
            "period.",
            "The warranty does not cover damage caused by accidents, flooding or unauthorised repairs. "
            "Normal gradual capacity loss above the 70% threshold is not a defect.",
            "To make a claim, owners must book an inspection at an authorised Voltra service centre. "
            "Replacement batteries are covered for the remainder of the original warranty.",
        ],
        [
            s("Coverage lasts 8 years or 160,000 km, whichever is reached sooner{c}.", [1], P1),
            s(
                "During that time Voltra promises the pack will retain no less than 70% of its capacity when "
                "new{c}.",
                [1],
                P1,
            ),
            s(
                "Accident or flood damage is excluded, as is damage from repairs that were not authorised{c}.",
                [2],
                P2,
            ),
            s(
                "Owners who want to claim have to book an inspection at an authorised Voltra service centre, "
                "and a replacement battery is only covered for what remains of the original warranty{c}.",
                [3],
                P3,
                P3,
            ),
        ],
        (
            "insert",
            2,
            s("The warranty can be extended to 12 years for a one-off fee of €1,500{c}.", [3], set()),
        ),
        (1, (2,)),
        (
            [filler("Good question!")],
            [(2, filler("Let me explain what is not covered."))],
            [filler("Feel free to ask if you need more details.")],
        ),
    ),
    Topic(
        "photosynthesis",
        "How does photosynthesis work?",
        [
            "Photosynthesis is the process by which plants, algae and some bacteria convert light energy "
            "into chemical energy. It takes place mainly in the chloroplasts of leaf cells, which contain "
            "the green pigment chlorophyll.",
            "In the light-dependent reactions, water molecules are split, releasing oxygen as a by-product. "
            "The Calvin cycle then uses carbon dioxide from the air to build glucose.",
            "Globally, photosynthesis produces most of the oxygen in the atmosphere. Land plants and ocean "
            "phytoplankton each account for roughly half of the planet's photosynthesis.",
        ],
        [
            s(
                "Plants, algae and certain bacteria use photosynthesis to turn the energy of light into "
                "chemical energy{c}.",
                [1],
                P1,
            ),
            s(
                "Most of it happens inside chloroplasts in the cells of leaves, which hold the green pigment "
                "chlorophyll{c}.",
                [1],
                P1,
                P1,
            ),
            s("First, the light-dependent reactions break water apart and give off oxygen{c}.", [2], P2),
            s(
                "Next, the Calvin cycle takes carbon dioxide from the air and makes glucose from it{c}.",
                [2],
                P2,
            ),
            s(
                "About half of all photosynthesis on the planet is done by ocean phytoplankton, the rest by "
                "land plants{c}.",
                [3],
                P3,
            ),
        ],
        ("insert", 3, s("This step only works at temperatures above 15 °C{c}.", [2], set())),
        (2, (1,)),
        (
            [filler("Sure!"), filler("Let me walk you through the basics.")],
            [],
            [filler("Hope that makes it clearer.")],
        ),
        marker="list",
    ),
]
for _topic in HELD_OUT:
    _topic.split = "held_out"

# Written last, after every change to the scorers, and scored once.
HELD_OUT_2: list[Topic] = [
    Topic(
        "apollo-11",
        "What happened on the Apollo 11 mission?",
        [
            "Apollo 11 launched from Kennedy Space Center on July 16, 1969, carrying Neil Armstrong, "
            "Buzz Aldrin and Michael Collins. The lunar module Eagle landed in the Sea of Tranquility on "
            "July 20, 1969.",
            "Armstrong became the first person to step onto the Moon, followed about 19 minutes later by "
            "Aldrin. Collins stayed in lunar orbit aboard the command module Columbia.",
            "The two astronauts spent about two and a quarter hours outside the spacecraft and collected "
            "21.5 kg of lunar material. The crew splashed down in the Pacific Ocean on July 24.",
        ],
        [
            s(
                "The mission lifted off from Kennedy Space Center on 16 July 1969 with Neil Armstrong, Buzz "
                "Aldrin and Michael Collins on board{c}.",
                [1],
                P1,
            ),
            s(
                "Four days later, on July 20, the lunar module Eagle touched down in the Sea of "
                "Tranquility{c}.",
                [1],
                P1,
            ),
            s(
                "Armstrong was the first human to walk on the Moon, and Aldrin joined him roughly 19 minutes "
                "after{c}.",
                [2],
                P2,
                P2,
            ),
            s(
                "Meanwhile Collins remained in orbit around the Moon in the command module Columbia{c}.",
                [2],
                P2,
            ),
            s(
                "On the surface they gathered 21.5 kg of lunar samples, and the crew came down in the "
                "Pacific on July 24{c}.",
                [3],
                P3,
                P3,
            ),
        ],
        (
            "insert",
            4,
            s(
                "Armstrong's first words were broadcast live to an estimated 600 million viewers{c}.",
                [2],
                set(),
            ),
        ),
        (3, (1,)),
        (
            [filler("Great question!")],
            [(2, filler("Now, on to the moonwalk itself."))],
            [filler("I hope this helps with your project.")],
        ),
    ),
    Topic(
        "tenancy-deposit",
        "What are the rules for tenancy deposits?",
        [
            "Landlords in England must protect a tenant's deposit in a government-approved tenancy "
            "deposit scheme within 30 days of receiving it. For most tenancies, the deposit is capped "
            "at five weeks' rent when the annual rent is under £50,000.",
            "At the end of the tenancy, the landlord and tenant should agree how much of the deposit is "
            "returned. Deductions can be made for damage beyond normal wear and tear or unpaid rent.",
            "If there is a dispute, the scheme offers a free dispute resolution service. Once both sides "
            "agree, the deposit must be returned within 10 days.",
        ],
        [
            s(
                "In England a landlord has 30 days from receiving the deposit to place it in a "
                "government-backed protection scheme{c}.",
                [1],
                P1,
            ),
            s(
                "Where the yearly rent is below £50,000, the deposit can be no more than five weeks' "
                "rent{c}.",
                [1],
                P1,
            ),
            s(
                "Money can be kept back for unpaid rent or for damage that goes beyond ordinary wear and "
                "tear{c}.",
                [2],
                P2,
            ),
            s("Disagreements can go to the scheme's dispute service, which costs nothing{c}.", [3], P3),
            s("After both parties agree, the deposit has to be paid back within 10 days{c}.", [3], P3),
        ],
        (
            "replace",
            1,
            s(
                "Where the yearly rent is below £50,000, the deposit can be no more than five "
                "weeks' rent, and landlords who break this rule face a fine of £5,000{c}.",
                [1],
                P1,
                set(),
            ),
        ),
        (4, (2,)),
        (
            [filler("Sure, let me explain.")],
            [],
            [filler("Let me know if you need anything else."), filler("Good luck with the move!")],
        ),
        marker="doc",
    ),
    Topic(
        "docker-compose",
        "How do I use Docker Compose?",
        [
            "Docker Compose defines multi-container applications in a YAML file, by default named "
            "compose.yaml. Each service lists the image to run or a build context, plus ports, volumes "
            "and environment variables.",
            "Running docker compose up -d starts all services in the background. docker compose down "
            "stops and removes the containers and networks, but named volumes are kept unless you add "
            "the -v flag.",
            "Services on the same Compose network can reach each other using the service name as the "
            "hostname, for example postgres:5432.",
        ],
        [
            s(
                "Compose describes an application made of several containers in one YAML file, "
                "compose.yaml by default{c}.",
                [1],
                P1,
            ),
            s(
                "For every service you give an image or a build context, along with its ports, volumes and "
                "environment variables{c}.",
                [1],
                P1,
            ),
            s("docker compose up -d brings everything up in the background{c}.", [2], P2),
            s(
                "docker compose down removes the containers and networks; named volumes survive unless you "
                "pass -v{c}.",
                [2],
                P2,
                P2,
            ),
            s(
                "Containers on the same network find each other by service name, such as postgres:5432{c}.",
                [3],
                P3,
            ),
        ],
        (
            "insert",
            3,
            s(
                "You can also scale a service to 50 replicas with the --replicas flag of docker "
                "compose up{c}.",
                [2],
                set(),
            ),
        ),
        (2, (3,)),
        (
            [filler("Happy to help!"), filler("Here's a quick rundown.")],
            [],
            [filler("Feel free to ask about specific services.")],
        ),
    ),
    Topic(
        "vitamin-d",
        "Why do we need vitamin D?",
        [
            "Vitamin D helps the body absorb calcium and phosphate, which are needed to keep bones, teeth "
            "and muscles healthy. A lack of vitamin D can lead to rickets in children and osteomalacia in "
            "adults.",
            "Most vitamin D is made in the skin when it is exposed to sunlight. Between October and early "
            "March in the UK, sunlight is not strong enough for the body to make it.",
            "Adults are advised to consider a daily supplement of 10 micrograms of vitamin D in autumn "
            "and winter. Taking more than 100 micrograms a day for a long time can be harmful.",
        ],
        [
            s(
                "The body needs vitamin D to take up calcium and phosphate, which keep bones, teeth and "
                "muscles in good health.{c}",
                [1],
                P1,
            ),
            s("Too little of it can cause rickets in children and osteomalacia in adults.{c}", [1], P1),
            s("The skin produces most of our vitamin D when sunlight falls on it.{c}", [2], P2),
            s("In the UK the sun is too weak for this from October until early March.{c}", [2], P2),
            s(
                "In autumn and winter adults should think about a 10-microgram supplement each day, but "
                "regularly taking over 100 micrograms daily may do harm.{c}",
                [3],
                P3,
                P3,
            ),
        ],
        ("insert", 2, s("Oily fish such as salmon contain about 15 micrograms per 100 g.{c}", [1], set())),
        (1, (2,)),
        (
            [filler("Good question!")],
            [(2, filler("Let me explain where it comes from."))],
            [filler("Hope that clarifies it.")],
        ),
    ),
]
for _topic in HELD_OUT_2:
    _topic.split = "held_out_2"

# Written after the last change to the scorers and scored once, with no change after it.
HELD_OUT_3: list[Topic] = [
    Topic(
        "caffeine",
        "How much caffeine is safe?",
        [
            "For most healthy adults, up to 400 mg of caffeine a day is not associated with harmful "
            "effects. That is roughly the amount in four cups of brewed coffee.",
            "Caffeine has a half-life of about 5 hours in adults, so half of a dose is still in the body "
            "5 hours after it is consumed. Drinking coffee late in the day can disturb sleep.",
            "Pregnant women are advised to limit caffeine to 200 mg a day. Energy drinks can contain up "
            "to 300 mg per can.",
        ],
        [
            s(
                "Healthy adults can generally have as much as 400 mg of caffeine daily without ill "
                "effects{c}.",
                [1],
                P1,
            ),
            s("That corresponds to about four cups of brewed coffee{c}.", [1], P1),
            s(
                "Its half-life is around five hours, which is why a late coffee can keep you awake{c}.",
                [2],
                P2,
                P2,
            ),
            s("During pregnancy the recommended ceiling is 200 mg per day{c}.", [3], P3),
            s("A single can of energy drink may hold up to 300 mg{c}.", [3], P3),
        ],
        ("insert", 3, s("Decaffeinated coffee still contains about 30 mg per cup{c}.", [2], set())),
        (1, (3,)),
        (
            [filler("Great question!")],
            [(3, filler("Let me explain the pregnancy advice."))],
            [filler("I hope this helps you plan your coffee breaks.")],
        ),
    ),
    Topic(
        "k8s-probes",
        "What are Kubernetes liveness and readiness probes?",
        [
            "A liveness probe tells the kubelet when to restart a container. If the liveness probe fails "
            "more times than failureThreshold, which defaults to 3, the container is killed and "
            "restarted.",
            "A readiness probe decides whether a Pod receives traffic. While the readiness probe fails, "
            "the Pod is removed from the endpoints of every matching Service, but it is not restarted.",
            "Probes can run an HTTP GET request, open a TCP socket or execute a command. periodSeconds "
            "sets how often the probe runs and defaults to 10 seconds.",
        ],
        [
            s(
                "The kubelet uses the liveness probe to decide when a container should be restarted{c}.",
                [1],
                P1,
            ),
            s(
                "After more consecutive failures than failureThreshold (3 unless you change it), the "
                "container is killed and started again{c}.",
                [1],
                P1,
            ),
            s(
                "A readiness probe controls whether the Pod gets traffic; a failing one takes the Pod out of "
                "the Service endpoints without restarting it{c}.",
                [2],
                P2,
                P2,
            ),
            s("A probe can be an HTTP GET, a TCP socket check or a command{c}.", [3], P3),
            s("How often it runs is set by periodSeconds, which is 10 seconds by default{c}.", [3], P3),
        ],
        (
            "insert",
            4,
            s(
                "Probes also send an alert to the cluster's Prometheus server after every failure{c}.",
                [3],
                set(),
            ),
        ),
        (3, (2,)),
        (
            [filler("Sure! Here's an overview.")],
            [],
            [filler("Let me know if you want a YAML example.")],
        ),
        marker="doc",
    ),
    Topic(
        "amazon-river",
        "Tell me about the Amazon River.",
        [
            "The Amazon River in South America is about 6,400 km long and carries more water than any "
            "other river, discharging around 209,000 cubic metres per second into the Atlantic Ocean.",
            "Its drainage basin covers roughly 7 million square kilometres, about 40 percent of South "
            "America, and includes parts of Brazil, Peru, Colombia and other countries.",
            "The Amazon has no bridges along its main stem. The Spanish explorer Francisco de Orellana "
            "made the first known descent of the river in 1542.",
        ],
        [
            s(
                "Stretching some 6,400 km across South America, the Amazon discharges more water than any "
                "other river, about 209,000 m³ per second, into the Atlantic{c}.",
                [1],
                P1,
                P1,
            ),
            s("The river's basin spans around 7 million km², roughly 40% of the continent{c}.", [2], P2),
            s("It drains parts of Brazil, Peru and Colombia, among other countries{c}.", [2], P2),
            s("Not a single bridge crosses its main channel{c}.", [3], P3),
            s(
                "Francisco de Orellana, a Spaniard, was the first known person to travel down it, in "
                "1542{c}.",
                [3],
                P3,
            ),
        ],
        (
            "replace",
            4,
            s(
                "Francisco de Orellana, a Spaniard, was the first known person to travel down it, "
                "in 1542, and he named it after the warrior women of Greek myth{c}.",
                [3],
                P3,
                set(),
            ),
        ),
        (2, (1,)),
        (
            [filler("What a fascinating topic!")],
            [(3, filler("Now, on to its history."))],
            [filler("Hope you enjoyed this!")],
        ),
    ),
    Topic(
        "parental-leave",
        "What is the company's parental leave policy?",
        [
            "All employees who have worked at Northwind for at least six months are entitled to 16 "
            "weeks of paid parental leave at full salary. The leave can be taken within 12 months of "
            "the birth or adoption.",
            "Leave may be split into up to three blocks, each at least two weeks long. Employees must "
            "notify HR at least 8 weeks before their first block starts.",
            "During parental leave, pension contributions and health insurance continue as normal.",
        ],
        [
            s(
                "After six months at Northwind, every employee can take 16 weeks of parental leave on full "
                "pay{c}.",
                [1],
                P1,
            ),
            s("It has to be used within a year of the child's birth or adoption{c}.", [1], P1),
            s("You can divide it into as many as three periods of two weeks or more{c}.", [2], P2),
            s("HR needs at least 8 weeks' notice before the first period begins{c}.", [2], P2),
            s(
                "Your pension contributions and health cover carry on unchanged while you are away{c}.",
                [3],
                P3,
            ),
        ],
        ("insert", 2, s("Partners of the birth parent get an extra 4 weeks at half pay{c}.", [1], set())),
        (4, (1,)),
        (
            [filler("Happy to help!")],
            [(2, filler("That said, there's a bit more to it."))],
            [filler("Feel free to reach out to HR with any questions.")],
        ),
        marker="list",
    ),
]
for _topic in HELD_OUT_3:
    _topic.split = "held_out_3"

# Written after the fixes prompted by the misses of held_out_3, and scored once.
HELD_OUT_4: list[Topic] = [
    Topic(
        "python-venv",
        "How do I create a Python virtual environment?",
        [
            "The venv module creates lightweight virtual environments. Run python -m venv .venv to create "
            "one in a folder named .venv in the current directory.",
            "On Linux and macOS, activate it with source .venv/bin/activate; on Windows, run "
            ".venv\\Scripts\\activate. Once activated, pip installs packages into the environment instead "
            "of the system Python.",
            "A virtual environment should not be committed to version control. Record dependencies in a "
            "requirements.txt file instead, created with pip freeze > requirements.txt.",
        ],
        [
            s("Python ships a venv module for making lightweight virtual environments{c}.", [1], P1),
            s(
                "Running python -m venv .venv sets one up in a .venv folder in the directory you are in{c}.",
                [1],
                P1,
            ),
            s("To switch it on under Linux or macOS, use source .venv/bin/activate{c}.", [2], P2),
            s(
                "After activation, pip puts packages inside the environment rather than into the system "
                "Python{c}.",
                [2],
                P2,
            ),
            s(
                "Keep the environment out of version control and list your dependencies in "
                "requirements.txt, which pip freeze can generate{c}.",
                [3],
                P3,
                P3,
            ),
        ],
        ("insert", 3, s("Each environment takes about 25 MB of disk space{c}.", [1], set())),
        (3, (3,)),
        (
            [filler("Good question!")],
            [(2, filler("Let's look at activation next."))],
            [filler("Happy coding!")],
        ),
    ),
    Topic(
        "overdraft",
        "How does the arranged overdraft work?",
        [
            "An arranged overdraft lets you borrow up to an agreed limit through your current account. "
            "Interest is charged at 39.9% EAR (variable) on the overdrawn balance.",
            "The first £250 of your arranged overdraft is interest-free. Interest is calculated daily "
            "and taken from your account monthly.",
            "If you go over your limit, payments may be returned unpaid. We will text you before a "
            "payment is refused so you can pay money in.",
        ],
        [
            s(
                "With an arranged overdraft you can borrow through your current account up to a limit "
                "agreed with the bank{c}.",
                [1],
                P1,
            ),
            s("The rate is a variable 39.9% EAR on whatever you are overdrawn by{c}.", [1], P1),
            s("You pay no interest on the first £250{c}.", [2], P2),
            s("Interest is worked out every day and collected once a month{c}.", [2], P2),
            s(
                "Going past the limit can mean payments bounce, though you will get a text first so you can "
                "add funds{c}.",
                [3],
                P3,
                P3,
            ),
        ],
        ("replace", 2, s("You pay no interest on the first £500{c}.", [2], set())),
        (4, (1,)),
        (
            [filler("Sure, here's how it works.")],
            [],
            [filler("Let me know if you have questions about your own account.")],
        ),
    ),
    Topic(
        "kilimanjaro",
        "What is Mount Kilimanjaro?",
        [
            "Mount Kilimanjaro in Tanzania is the highest mountain in Africa, rising 5,895 metres above "
            "sea level. It is a dormant volcano with three volcanic cones: Kibo, Mawenzi and Shira.",
            "The first recorded ascent to the summit was made in 1889 by Hans Meyer and Ludwig "
            "Purtscheller, guided by Yohani Kinyala Lauwo.",
            "About 30,000 people attempt the climb every year. Most routes take six to eight days, which "
            "allows climbers to adjust to the altitude.",
        ],
        [
            s("Kilimanjaro, in Tanzania, is Africa's tallest mountain at 5,895 m{c}.", [1], P1),
            s("It is an inactive volcano made up of three cones, Kibo, Mawenzi and Shira{c}.", [1], P1),
            s(
                "Hans Meyer and Ludwig Purtscheller first reached the top in 1889, with Yohani Kinyala Lauwo "
                "as their guide{c}.",
                [2],
                P2,
            ),
            s(
                "Some 30,000 climbers try it each year, and most routes last six to eight days so that the "
                "body can get used to the altitude{c}.",
                [3],
                P3,
                P3,
            ),
        ],
        ("insert", 3, s("Its glaciers are expected to disappear completely by 2040{c}.", [1], set())),
        (0, (2,)),
        (
            [filler("What a great mountain to ask about!")],
            [(2, filler("Now, on to its history."))],
            [filler("I hope this inspires your trip!")],
        ),
        marker="doc",
    ),
    Topic(
        "flu-vaccine",
        "Who should get the flu vaccine?",
        [
            "The flu vaccine is offered every year because flu viruses change. It is recommended for "
            "adults aged 65 and over, pregnant women and people with long-term health conditions.",
            "The vaccine takes about 14 days to give full protection. The best time to have it is in "
            "the autumn, before flu starts spreading.",
            "Common side effects include a sore arm and a slightly raised temperature for a day or two. "
            "The injected vaccine cannot give you flu.",
        ],
        [
            s("Because flu viruses keep changing, the vaccine is given annually{c}.", [1], P1),
            s(
                "It is advised for people 65 or older, for pregnant women and for anyone with a long-term "
                "condition{c}.",
                [1],
                P1,
            ),
            s(
                "Full protection builds up over roughly two weeks, so autumn, before flu begins to spread, is "
                "the ideal time{c}.",
                [2],
                P2,
                P2,
            ),
            s("A sore arm or a slight temperature for a day or so is common{c}.", [3], P3),
            s("You cannot catch flu from the injection{c}.", [3], P3),
        ],
        (
            "insert",
            4,
            s("About 1 in 10 people who get the vaccine still catch flu within a month{c}.", [3], set()),
        ),
        (1, (3,)),
        (
            [filler("Great question!")],
            [(3, filler("This is an important point."))],
            [filler("Stay healthy, and I hope this helps!")],
        ),
        marker="list",
    ),
]
for _topic in HELD_OUT_4:
    _topic.split = "held_out_4"

# Written after the last change to the scorers (no change followed), and scored once.
HELD_OUT_5: list[Topic] = [
    Topic(
        "solar-panels",
        "Are rooftop solar panels worth it?",
        [
            "A typical 4 kW rooftop solar system generates around 3,400 kWh of electricity a year in the "
            "south of England. Output is highest on south-facing roofs with a pitch of about 35 degrees.",
            "Solar panels usually come with a 25-year performance warranty and lose roughly 0.5% of their "
            "output each year. Inverters often need replacing after 10 to 15 years.",
            "Under the Smart Export Guarantee, suppliers pay households for electricity they export to the "
            "grid. Rates vary by supplier, from about 1p to 15p per kWh.",
        ],
        [
            s("In southern England a standard 4 kW system produces about 3,400 kWh per year{c}.", [1], P1),
            s("Roofs that face south and slope at roughly 35 degrees get the most out of them{c}.", [1], P1),
            s(
                "Panels are normally guaranteed for 25 years and their output drops by around half a percent "
                "annually{c}.",
                [2],
                P2,
                P2,
            ),
            s("Expect to replace the inverter at some point between year 10 and year 15{c}.", [2], P2),
            s(
                "Through the Smart Export Guarantee, energy suppliers pay you for power you send back to the "
                "grid, at rates between roughly 1p and 15p per kWh depending on the supplier{c}.",
                [3],
                P3,
                P3,
            ),
        ],
        ("insert", 2, s("Most systems pay for themselves within three years{c}.", [1], set())),
        (1, (3,)),
        (
            [filler("Great question!")],
            [(2, filler("Let me explain the long-term costs."))],
            [filler("I hope this helps you decide.")],
        ),
    ),
    Topic(
        "castling",
        "How does castling work in chess?",
        [
            "Castling is a move in which the king moves two squares towards a rook and the rook jumps to "
            "the square the king crossed. It is the only move in which two pieces move at once.",
            "Castling is not allowed if the king or that rook has already moved, if there are pieces "
            "between them, or if the king is in check.",
            "The king may not pass through or land on a square attacked by an enemy piece. Castling on the "
            "king's side is written O-O and on the queen's side O-O-O.",
        ],
        [
            s(
                "When castling, the king steps two squares toward a rook, which then hops over to the square "
                "the king passed{c}.",
                [1],
                P1,
            ),
            s("No other move shifts two pieces at the same time{c}.", [1], P1),
            s(
                "You cannot castle once the king or the rook in question has moved, when anything stands "
                "between them, or while your king is in check{c}.",
                [2],
                P2,
            ),
            s(
                "The king is also not allowed to cross or end on a square that an opponent's piece "
                "attacks{c}.",
                [3],
                P3,
            ),
            s("Kingside castling is recorded as O-O, queenside as O-O-O{c}.", [3], P3),
        ],
        ("insert", 3, s("Castling was added to the rules in Spain in 1620{c}.", [2], set())),
        (3, (1,)),
        (
            [filler("Sure!"), filler("Let me walk you through the rules.")],
            [],
            [filler("Good luck in your next game!")],
        ),
        marker="doc",
    ),
    Topic(
        "passport-renewal",
        "How do I renew my passport?",
        [
            "You can renew an adult passport online or by post. Applying online costs £88.50 and applying "
            "by post costs £100.",
            "You should allow up to 3 weeks for an online renewal. Do not book travel until you have a "
            "valid passport.",
            "Any time left on your old passport, up to a maximum of 9 months, may be added to your new one. "
            "You must send your old passport back once you have applied.",
        ],
        [
            s("Adults can renew either online, which costs £88.50, or by post for £100{c}.", [1], P1, P1),
            s(
                "Online renewals can take as long as three weeks, so hold off on booking trips until the new "
                "passport arrives{c}.",
                [2],
                P2,
                P2,
            ),
            s("Up to 9 months of unused validity can be carried over to the new passport{c}.", [3], P3),
            s("After applying, you have to return the old passport{c}.", [3], P3),
        ],
        (
            "replace",
            0,
            s("Adults can renew either online, which costs £75, or by post for £100{c}.", [1], set(), P1),
        ),
        (2, (2,)),
        (
            [filler("Happy to help with that!")],
            [(2, filler("Now, on to your old passport."))],
            [filler("Safe travels!")],
        ),
        marker="list",
    ),
]
for _topic in HELD_OUT_5:
    _topic.split = "held_out_5"


def main() -> None:
    rows = [
        row
        for topic in [*TOPICS, *HELD_OUT, *HELD_OUT_2, *HELD_OUT_3, *HELD_OUT_4, *HELD_OUT_5]
        for row in variants(topic)
    ]
    with OUT.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} cases to {OUT}")


if __name__ == "__main__":
    main()
