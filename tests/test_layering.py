"""The rule of direction (DESIGN.md) holds in the source tree.

Two checks: the import contract in ``.importlinter`` (layers, the fake server kept apart, no
web framework in scorers or routing), and what import-linter cannot say: no package imports
another package's private ``_module`` or ``_name``. Both count imports under
``TYPE_CHECKING`` and inside functions. The root package's own private modules
(``benchroute._errors``, ``_lazy``, ``_stats``, ...) are the kernel every package shares.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "benchroute"


def _module_parts(path: Path, source_root: Path) -> tuple[list[str], list[str]]:
    """(dotted parts of the module, dotted parts of the package it sits in)."""
    parts = list(path.relative_to(source_root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return parts, parts
    return parts, parts[:-1]


def _imports(tree: ast.AST, package: list[str]) -> list[tuple[int, str]]:
    """Every import in ``tree`` as (line, absolute dotted target); ``from x import y`` gives
    ``x.y`` so that a private module imported by name (``from ..pkg import _mod``) is seen."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def private_imports(source_root: Path) -> list[str]:
    """``file:line: module imports other.package._private`` for each import of another
    package's private module or name under ``source_root`` (the ``benchroute`` folder)."""
    top = source_root.name
    problems: list[str] = []
    for path in sorted(source_root.rglob("*.py")):
        module, package = _module_parts(path, source_root)
        if len(module) < 2:  # the root package's own modules: the kernel, may use anything
            continue
        own = module[1]
        for line, target in _imports(ast.parse(path.read_text(encoding="utf-8")), package):
            parts = target.split(".")
            if parts[0] != top or len(parts) < 3 or parts[1] == own or parts[1].startswith("_"):
                continue
            private = [p for p in parts[2:] if p.startswith("_") and not p.startswith("__")]
            if private:
                where = path.relative_to(source_root.parent.parent)
                problems.append(f"{where}:{line}: {'.'.join(module)} imports {target}")
    return problems


def test_no_package_imports_another_packages_private_module() -> None:
    problems = private_imports(SOURCE)
    assert not problems, "use the package's public names (its __init__ __all__):\n" + "\n".join(problems)


def test_the_import_contract_holds() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    command = str(lint) if lint.exists() else shutil.which("lint-imports")
    if command is None:
        pytest.fail("lint-imports is not installed: pip install -e '.[dev]'")
    done = subprocess.run(
        [command, "--no-cache", "--config", str(ROOT / ".importlinter")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "benchroute"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_checker_finds_private_imports_in_every_form(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "_errors.py": "",
            "core/__init__.py": "",
            "core/_types.py": "",
            "user/__init__.py": "from .._errors import X\nfrom ..core import Public\n",
            "user/_a.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from ..core._types import Message\n"
                "from ..core import _types\n"
                "import benchroute.core._types\n"
                "def later():\n"
                "    from benchroute.core._types import Message\n"
                "from . import _b\n"
                "from ._b import thing\n"
            ),
            "user/_b.py": "",
        },
    )
    problems = private_imports(root)
    lines = sorted(int(p.split(":")[1]) for p in problems)
    assert lines == [3, 4, 5, 7], problems
    assert all("benchroute/user/_a.py" in p for p in problems)
