"""detect-secrets, run on a piece of text: shared by ``secret_leakage`` (a reply's prose) and
``code_security`` (a reply's code).

* detect-secrets scans files and keeps its configuration in a process-wide singleton. The
  text is written to a private temporary file and scanned with all the default plugins and
  filters inside ``default_settings()`` — which restores whatever configuration was there
  before — under a module-wide lock. The file's name decides which rules apply: as
  ``output.txt`` a keyword's value must be quoted (which keeps prose quiet), as ``.py`` it must
  be a quoted literal (so ``api_key = os.environ["API_KEY"]`` is not a finding).
* Identical lines are scanned once (line numbers still refer to the text): a degenerate reply
  that repeats one line for a megabyte then costs what one line does.
* "Secret Keyword" and "Basic Auth Credentials" findings whose value contains whitespace
  (``password: use a long passphrase``) or is an obvious placeholder (``your-api-key-here``,
  ``<token>``, ``xxxx``, the ``password`` of ``postgres://user:password@localhost/db``) are
  dropped and only counted: such lines are common in helpful answers about credentials.
* A finding carries its type and line, never the secret.
"""

from __future__ import annotations

import locale
import os
import re
import tempfile
import threading
from dataclasses import dataclass

_lock = threading.Lock()
# Findings whose value is checked for prose and placeholders: a keyword's value, and the
# password of a URL ("postgres://user:password@localhost/db" is a template, not a leak).
_CHECKED_TYPES = frozenset({"Secret Keyword", "Basic Auth Credentials"})
_PLACEHOLDER = re.compile(
    r"""^['"]?(?:<[^>]*>|\[[^\]]*\]|\{[^}]*\}|\$\{?\w*\}?|%\w+%|x{3,}|\*{3,}|\.{3,}|…"""
    r"""|(?:your|my)[-_]\S*|\S*(?:here|example|placeholder|changeme|change_me|redacted|dummy|sample)\S*"""
    r"""|(?:your|my|the)?[-_]?(?:password|passwd|pass|pwd|pw|secret|token|api[-_]?key|key)"""
    r"""|none|null|nil|true|false)['"]?$""",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class SecretFinding:
    type: str
    line: int


def _keeps(secret_type: str, value: str | None) -> bool:
    """Whether a detect-secrets finding is worth reporting (see the module docstring)."""
    if secret_type not in _CHECKED_TYPES or value is None:
        return True
    return not (any(c.isspace() for c in value.strip()) or _PLACEHOLDER.match(value.strip()))


def scan_secrets(text: str, filename: str = "output.txt") -> tuple[list[SecretFinding], int]:
    """``(findings, dropped)`` for ``text`` scanned as a file named ``filename``, ordered by
    line; ``dropped`` counts the placeholders left out. Blocking: run in a thread."""
    from detect_secrets.core.secrets_collection import SecretsCollection
    from detect_secrets.settings import default_settings

    unique: dict[str, int] = {}  # line -> number of its first occurrence
    for number, line in enumerate(text.splitlines(), 1):
        unique.setdefault(line, number)
    lines = list(unique)
    numbers = list(unique.values())
    findings: set[SecretFinding] = set()
    dropped = 0
    with tempfile.TemporaryDirectory(prefix="benchroute-secrets-") as folder:
        path = os.path.join(folder, filename)
        # detect-secrets opens the file with the locale's encoding; write in that one.
        encoding = locale.getpreferredencoding(False)
        with open(path, "w", encoding=encoding, errors="replace", newline="\n") as handle:
            handle.write("\n".join(lines))
        with _lock, default_settings():
            collection = SecretsCollection()
            collection.scan_file(path)
            for _, secret in collection:
                if not _keeps(secret.type, secret.secret_value):
                    dropped += 1
                    continue
                index = (secret.line_number or 1) - 1
                where = numbers[index] if 0 <= index < len(numbers) else 0
                findings.add(SecretFinding(str(secret.type), where))
    return sorted(findings, key=lambda f: (f.line, f.type)), dropped
