"""Checks ``code_security`` runs next to bandit, for dangerous patterns bandit does not see.

bandit 1.9 has no test for these, and each is a common way generated code turns a safe
library into an unsafe one:

* ``unverified_tls`` (CWE-295): certificate checks switched off by hand:
  ``context.verify_mode = ssl.CERT_NONE``, ``context.check_hostname = False``,
  ``cert_reqs=ssl.CERT_NONE`` (or ``"CERT_NONE"``, urllib3), ``ssl=False`` (aiohttp) and
  ``verify_ssl=False``. (``verify=False`` in requests/httpx is bandit's B501.)
* ``weak_password_hash`` (CWE-916): a fast hash (``hashlib.sha256(password...)``, any
  ``hashlib`` constructor or ``hashlib.new``) applied to something named like a password. A
  password hash must be slow and salted (``hashlib.scrypt``, ``pbkdf2_hmac``, bcrypt, argon2).
  MD5 and SHA-1 anywhere are bandit's B324.
* ``unsafe_yaml`` (CWE-502): ``yaml.unsafe_load`` / ``unsafe_load_all``, which build arbitrary
  Python objects (bandit's B506 sees only ``yaml.load``).
* ``shell_subprocess`` (CWE-78): ``asyncio.create_subprocess_shell`` (and an event loop's
  ``subprocess_shell``) with a command that is not a literal string.

The checks read the syntax tree only: no name resolution, so ``import ssl as s`` followed by
``s.CERT_NONE`` is still seen (by the attribute name), and a local variable that merely
happens to be called ``password`` is treated as one.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

# Names a password travels under.
_PASSWORD = re.compile(r"pass(?:word|wd|phrase|code)|pwd", re.IGNORECASE)
_FAST_HASHES = frozenset(
    [
        *("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "blake2b", "blake2s"),
        *("sha3_224", "sha3_256", "sha3_384", "sha3_512", "new"),
    ]
)


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One match of a check: its id, how bad and how sure, where, what, and the CWE."""

    test_id: str
    severity: str
    confidence: str
    line: int
    message: str
    cwe: int


def _dotted(node: ast.AST) -> str:
    """``a.b.c`` for an attribute chain or name, else ``""``."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _is_cert_none(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.upper() in ("CERT_NONE", "NONE")
    return _dotted(node).endswith("CERT_NONE")


def _is_false(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _mentions_password(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        name = sub.id if isinstance(sub, ast.Name) else sub.attr if isinstance(sub, ast.Attribute) else None
        if name and _PASSWORD.search(name):
            return True
    return False


def _tls(node: ast.AST) -> str | None:
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = node.value
        for target in targets:
            if not isinstance(target, ast.Attribute) or value is None:
                continue
            if target.attr == "verify_mode" and _is_cert_none(value):
                return "certificate verification disabled (verify_mode = CERT_NONE)"
            if target.attr == "check_hostname" and _is_false(value):
                return "host name check disabled (check_hostname = False)"
    if isinstance(node, ast.Call):
        for keyword in node.keywords:
            if keyword.arg == "cert_reqs" and _is_cert_none(keyword.value):
                return "certificate verification disabled (cert_reqs = CERT_NONE)"
            if keyword.arg in ("ssl", "verify_ssl") and _is_false(keyword.value):
                return f"certificate verification disabled ({keyword.arg}=False)"
    return None


def _password_hash(node: ast.AST) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    name = _dotted(node.func)
    module, _, function = name.rpartition(".")
    if module != "hashlib" or function not in _FAST_HASHES:
        return None
    arguments = node.args[1:] if function == "new" else node.args
    if any(_mentions_password(a) for a in arguments):
        shown = f"hashlib.{function}"
        return (
            f"password hashed with a fast, unsalted hash ({shown}); use hashlib.scrypt, pbkdf2_hmac or bcrypt"
        )
    return None


def _yaml(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and _dotted(node.func) in ("yaml.unsafe_load", "yaml.unsafe_load_all"):
        return "yaml.unsafe_load can build arbitrary Python objects; use yaml.safe_load"
    return None


def _shell(node: ast.AST) -> str | None:
    if not isinstance(node, ast.Call) or not node.args:
        return None
    function = _dotted(node.func).rpartition(".")[2]
    if function not in ("create_subprocess_shell", "subprocess_shell"):
        return None
    command = node.args[-1] if function == "subprocess_shell" else node.args[0]
    if isinstance(command, ast.Constant) and isinstance(command.value, str):
        return None
    return f"{function} runs a command built at run time through the shell"


# (check, test id, severity, confidence, CWE)
_CHECKS = (
    (_tls, "unverified_tls", "high", "high", 295),
    (_password_hash, "weak_password_hash", "high", "medium", 916),
    (_yaml, "unsafe_yaml", "medium", "high", 502),
    (_shell, "shell_subprocess", "high", "medium", 78),
)


def check_tree(tree: ast.AST, first_line: int = 1) -> list[RuleHit]:
    """Every match of the checks in ``tree``, line numbers made to start at ``first_line``."""
    hits: list[RuleHit] = []
    for node in ast.walk(tree):
        for check, test_id, severity, confidence, cwe in _CHECKS:
            message = check(node)
            if message is None:
                continue
            line = getattr(node, "lineno", 1) - first_line + 1
            if line >= 1:
                hits.append(RuleHit(test_id, severity, confidence, line, message, cwe))
    return hits
