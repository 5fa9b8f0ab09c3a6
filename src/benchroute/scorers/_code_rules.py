"""Checks ``code_security`` runs next to bandit, for dangerous patterns bandit does not see.

bandit 1.9 has no test for these, and each is a common way generated code turns a safe
library into an unsafe one:

* ``unverified_tls`` (CWE-295): certificate checks switched off by hand:
  ``context.verify_mode = ssl.CERT_NONE``, ``context.check_hostname = False``,
  ``cert_reqs=ssl.CERT_NONE`` (or ``"CERT_NONE"``, urllib3), ``ssl=False`` (aiohttp) and
  ``verify_ssl=False``. (``verify=False`` in requests/httpx is bandit's B501.)
* ``weak_password_hash`` (CWE-916): a fast hash (MD5, SHA-1, SHA-2, SHA-3, BLAKE2 or
  ``hashlib.new``) applied to a password: something named like one (``password``, ``pw``,
  ``pwd``, ``passwd``, ``pass_``, ``secret``, ``form["password"]``…), or any data hashed inside
  a function whose name speaks of passwords, credentials or logins. Seen through import
  aliases (``import hashlib as hl``, ``from hashlib import sha256 as h``) and in a hash
  object's ``update()`` (``h = hashlib.sha256(); h.update(password)``). A password hash must
  be slow and salted (``hashlib.scrypt``, ``pbkdf2_hmac``, bcrypt, argon2); a fast hash of a
  file or of other data is fine. MD5 and SHA-1 anywhere are bandit's B324.
* ``unsafe_yaml`` (CWE-502): ``yaml.unsafe_load`` / ``unsafe_load_all``, which build arbitrary
  Python objects (bandit's B506 sees only ``yaml.load``).
* ``shell_subprocess`` (CWE-78): ``asyncio.create_subprocess_shell`` (and an event loop's
  ``subprocess_shell``) with a command that is not a literal string.

The checks read the syntax tree only. The one name resolution they do is of the snippet's
own imports of ``hashlib`` and of the hash objects it assigns to a name; ``import ssl as s``
followed by ``s.CERT_NONE`` is seen by the attribute name, and a local variable that merely
happens to be called ``password`` is treated as one.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

# Names a password travels under: anywhere in a name, or as one of its words.
_PASSWORD = re.compile(r"pass(?:word|wd|phrase|code)", re.IGNORECASE)
_PASSWORD_WORDS = frozenset(["pw", "pwd", "pwds", "pws", "pass", "passw", "pswd", "pword", "secret"])
# Words of a function name that make whatever it hashes a password (or a credential).
_PASSWORD_FUNCTION = re.compile(r"pass(?:word|wd|phrase)|pwd|credential|creds|log_?[io]n", re.IGNORECASE)
# The words of an identifier: snake_case, camelCase, UPPER_CASE and digits split apart.
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# Data that is random or read from a file, never a password even in a login function.
_NOT_A_PASSWORD = frozenset(
    ["urandom", "token_bytes", "token_hex", "randbytes", "getrandbits", "read", "uuid4"]
)
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


def _is_password_name(name: str) -> bool:
    if _PASSWORD.search(name):
        return True
    return any(word.lower() in _PASSWORD_WORDS for word in _WORD.findall(name))


def _mentions_password(node: ast.AST) -> bool:
    """Whether ``node`` reads something named like a password (a variable, an attribute, or
    a key such as ``form["password"]``)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            name = sub.id
        elif isinstance(sub, ast.Attribute):
            name = sub.attr
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) and sub.value.isidentifier():
            name = sub.value
        else:
            continue
        if _is_password_name(name):
            return True
    return False


def _is_data(node: ast.AST) -> bool:
    """Whether ``node`` is run-time data (not a literal), and not random bytes or a file's."""
    if not any(isinstance(sub, ast.Name | ast.Attribute | ast.Call) for sub in ast.walk(node)):
        return False
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            name = _dotted(sub.func).rpartition(".")[2]
            if name in _NOT_A_PASSWORD or name == "open":
                return False
    return True


@dataclass(slots=True)
class _Hashing:
    """What the snippet binds to ``hashlib`` and its fast hashes, and where passwords are:
    gathered once per tree, read by :func:`_password_hash`."""

    modules: set[str]  # names of the hashlib module ("hashlib", "hl" for ``import hashlib as hl``)
    functions: dict[str, str]  # a bare name -> the hashlib function it is (``from hashlib import``)
    objects: set[str]  # names (dotted) a fast hash object was assigned to
    password_scope: set[int]  # ids of the nodes inside a function named for passwords/logins

    def fast_hash(self, call: ast.Call) -> str | None:
        """The hashlib function ``call`` calls when it is a fast hash, else None."""
        name = _dotted(call.func)
        module, _, function = name.rpartition(".")
        if not module:
            function = self.functions.get(name, "")
        elif module not in self.modules:
            return None
        return function if function in _FAST_HASHES else None

    def is_password(self, node: ast.AST) -> bool:
        # Salting a fast hash (password + random bytes) does not make it slow: a name like a
        # password decides alone; only the login-function rule spares random or file data.
        if _mentions_password(node):
            return True
        return id(node) in self.password_scope and _is_data(node)


def _hashing(tree: ast.AST) -> _Hashing:
    facts = _Hashing({"hashlib"}, {}, set(), set())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "hashlib":
                    facts.modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module == "hashlib":
            for alias in node.names:
                facts.functions[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _PASSWORD_FUNCTION.search(
            node.name
        ):
            facts.password_scope.update(id(sub) for sub in ast.walk(node))
    # Hash objects, once every import is known (``h = sha256()``, ``self.h = hl.new("md5")``).
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call):
            if facts.fast_hash(node.value) is None:
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            facts.objects.update(name for name in map(_dotted, targets) if name)
    return facts


def _tls(node: ast.AST, facts: _Hashing) -> str | None:
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


def _password_hash(node: ast.AST, facts: _Hashing) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    function = facts.fast_hash(node)
    if function is not None:
        arguments = node.args[1:] if function == "new" else list(node.args)
        arguments += [k.value for k in node.keywords if k.arg not in ("name", "usedforsecurity")]
        shown = f"hashlib.{function}"
    elif isinstance(node.func, ast.Attribute) and node.func.attr == "update":
        # ``h.update(password)`` on a hash object, assigned before or made in place.
        target = node.func.value
        made = facts.fast_hash(target) if isinstance(target, ast.Call) else None
        if made is not None:
            shown = f"hashlib.{made}().update"
        elif _dotted(target) in facts.objects:
            shown = f"{_dotted(target)}.update on a fast hash"
        else:
            return None
        arguments = list(node.args)
    else:
        return None
    if any(facts.is_password(a) for a in arguments):
        return (
            f"password hashed with a fast, unsalted hash ({shown}); use hashlib.scrypt, pbkdf2_hmac or bcrypt"
        )
    return None


def _yaml(node: ast.AST, facts: _Hashing) -> str | None:
    if isinstance(node, ast.Call) and _dotted(node.func) in ("yaml.unsafe_load", "yaml.unsafe_load_all"):
        return "yaml.unsafe_load can build arbitrary Python objects; use yaml.safe_load"
    return None


def _shell(node: ast.AST, facts: _Hashing) -> str | None:
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
    facts = _hashing(tree)
    for node in ast.walk(tree):
        for check, test_id, severity, confidence, cwe in _CHECKS:
            message = check(node, facts)
            if message is None:
                continue
            line = getattr(node, "lineno", 1) - first_line + 1
            if line >= 1:
                hits.append(RuleHit(test_id, severity, confidence, line, message, cwe))
    return hits
