"""Code extraction: :func:`extract_code` takes the code out of a chat reply, for the
``code_tests`` scorer (:mod:`._code`) and the ``code_security`` scanner alike. It needs no
sandbox, so importing it never pulls the sandbox in.

Design
------
A leading ``<think>...</think>`` block is dropped. Fenced blocks (``` or ~~~, three or more)
tagged ``python``/``py``/``python3``/``py3`` or untagged are candidates; an unterminated last
fence (a reply cut off by ``max_tokens``) runs to the end of the text. Of several candidates
the one that defines the entry point (``def name(`` at column 0) wins, else the longest: models
often add a usage example or a test run in a second block. When no block has an acceptable tag
the longest fenced block of any language is taken (a block tagged ``python3.11`` or ``Python
code`` is still more likely code than the prose around it). Without fences the reply is the
code, minus leading and trailing prose, best effort: if the whole reply parses it is kept as
it is; otherwise everything before the first line that looks like code (an indented line, or
one starting with ``def``/``class``/``import``/``from``/a decorator/an assignment/a call) and
after the last such line is dropped. Indentation is never stripped: HumanEval completions are
often only the indented body of the function.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

# Replies longer than this are not parsed while looking for where the code starts and ends.
_PARSE_LIMIT = 400_000

_THINK = re.compile(r"^\s*<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_OPEN_FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,})[ \t]*([^\n]*)$")
_PYTHON_TAGS = frozenset({"", "python", "py", "python3", "py3", "python 3"})
_CODE_LINE = re.compile(
    r"""^(?:(?:async[ \t]+)?def[ \t]|class[ \t]|import[ \t]|from[ \t]+[\w.]+[ \t]+import\b|@\w"""
    r"""|if[ \t]+__name__\b"""
    r"""|for[ \t].*:$|while[ \t].*:$|with[ \t].*:$|try:|\#|print\(|return\b"""
    r"""|[A-Za-z_][\w.]*(?:\[[^\]]*\])?[ \t]*(?::[^=\n]+)?(?:[-+*/%&|^]|//|\*\*|<<|>>)?=(?!=)"""
    r"""|[A-Za-z_][\w.]*\(.*\)[ \t]*$|['"]{3})"""
)


@dataclass(frozen=True, slots=True)
class _Block:
    tag: str
    text: str


def _fenced_blocks(text: str) -> list[_Block]:
    """Every fenced block of ``text``, in order; an unterminated last one runs to the end."""
    blocks: list[_Block] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        opening = _OPEN_FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence, info = opening.groups()
        # The info string's first word is the language ("```python title=x.py").
        tag = info.strip().split()[0].lower() if info.strip() else ""
        if fence[0] == "`" and "`" in info:
            index += 1  # inline code such as ```x``` on one line, not a fence
            continue
        body: list[str] = []
        index += 1
        while index < len(lines):
            line = lines[index]
            stripped = line.strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            body.append(line[len(indent) :] if indent and line.startswith(indent) else line)
            index += 1
        index += 1
        blocks.append(_Block(tag, "\n".join(body)))
    return blocks


def _accepts(tag: str, language: str) -> bool:
    if language.lower() in {"python", "py"}:
        return tag in _PYTHON_TAGS or tag.startswith("python")
    return tag in {"", language.lower()}


def defines(code: str, name: str) -> bool:
    """Whether ``code`` defines ``name`` at top level (a ``def``, ``class`` or assignment)."""
    quoted = re.escape(name)
    pattern = rf"^(?:(?:async[ \t]+)?def[ \t]+{quoted}[ \t]*\(|class[ \t]+{quoted}\b|{quoted}[ \t]*=(?!=))"
    return re.search(pattern, code, re.MULTILINE) is not None


def _parses(code: str) -> bool:
    if len(code) > _PARSE_LIMIT:
        return False
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _looks_like_code(line: str) -> bool:
    if not line.strip():
        return False
    if line[0] in " \t":
        return True
    return _CODE_LINE.match(line) is not None or line.rstrip() in {")", "]", "}", "pass"}


def _strip_prose(text: str) -> str:
    """``text`` without the prose before and after its code (see the module docstring)."""
    if _parses(text):
        return text
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if _looks_like_code(line)), None)
    if first is None:
        return text
    last = max(i for i, line in enumerate(lines) if _looks_like_code(line))
    # A prose line between code lines stays: it may be inside a string, and cutting there
    # would break more than it fixes.
    return "\n".join(lines[first : last + 1])


def _trim_blank_lines(text: str) -> str:
    """``text`` without blank lines around it; unlike ``strip()`` this keeps the first line's
    indentation."""
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def extract_code(text: str, language: str = "python", *, entry_point: str | None = None) -> str:
    """The code in a reply: its best fenced block, else the reply without its surrounding prose.

    Blocks tagged ``python``/``py`` (any ``python*`` tag) or untagged count for Python; of
    several, the one defining ``entry_point`` wins, then the longest. Without an acceptable
    block the longest block of any language is used; without fences, the reply minus leading
    and trailing lines that do not look like code (best effort; see the module docstring).
    Indentation is kept, so a function body stays a function body.
    """
    text = text.replace("\r\n", "\n")
    text = _THINK.sub("", text, count=1)
    blocks = _fenced_blocks(text)
    if blocks:
        candidates = [b for b in blocks if _accepts(b.tag, language) and b.text.strip()] or [
            b for b in blocks if b.text.strip()
        ]
        if candidates:
            if entry_point:
                defining = [b for b in candidates if defines(b.text, entry_point)]
                candidates = defining or candidates
            best = max(candidates, key=lambda b: len(b.text.strip()))
            return _trim_blank_lines(best.text)
    return _trim_blank_lines(_strip_prose(text))
