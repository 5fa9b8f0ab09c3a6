"""Where a run came from and what exactly it measured, so its figures can be compared.

A run records its trigger (manual, ci, schedule, version-change), the git commit and branch
of the project it ran from, and the host. Each result records the endpoint it measured (the
model spec's ``endpoint_id``: the same endpoint under another alias is the same series), a
fingerprint of the suite spec that determines results (cases, scorers with their args,
prompt template, tier settings; not the name, description, models or gate), and a hash of
its case's content. A change of fingerprint or case hash is a change of the suite, which
drift reports as such instead of as a change of the model.

The commit and branch come from the CI's environment first (a CI checkout is often a
detached HEAD), then from ``git`` in the project directory; None when neither says.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import Case, MediaSpec, ModelSpec, SuiteSpec

TRIGGERS = ("manual", "ci", "schedule", "version-change")

# Where CI systems name the commit being built.
SHA_ENV = ("GITHUB_SHA", "CI_COMMIT_SHA", "BUILDKITE_COMMIT", "CIRCLE_SHA1", "GIT_COMMIT")
# Where CI systems name the branch being built (a pull request's source branch first).
BRANCH_ENV = ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BUILDKITE_BRANCH",
              "CIRCLE_BRANCH", "GIT_BRANCH", "BRANCH_NAME")  # fmt: skip

_GIT_TIMEOUT_S = 5.0


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def case_hash(case: Case) -> str:
    """A hash of what a case asks and expects (input, messages, expected, vars, passages,
    turns, its own assertions); its id and metadata (tags) are not content."""
    dump = case.model_dump(mode="json", exclude={"id", "metadata"})
    if not dump.get("attachments"):
        dump.pop("attachments", None)  # cases without files hash as they did before files existed
    return _digest(dump)


def suite_fingerprint(suite: SuiteSpec) -> str:
    """A hash of the parts of a suite spec that determine its results."""
    spec = suite.model_dump(
        mode="json",
        include={"tier", "prompt", "system", "params", "judge", "scorers", "load", "slo"},
    )
    if suite.media != MediaSpec() or any(case.attachments for case in suite.dataset.cases or []):
        spec["media"] = suite.media.model_dump(mode="json")
    if suite.degrade.variants():
        spec["degrade"] = suite.degrade.model_dump(mode="json")
    spec["cases"] = [[case.id, case_hash(case)] for case in suite.dataset.cases or []]
    return _digest(spec)


def endpoint_id(spec: ModelSpec) -> str:
    """The stable id of a model endpoint (``ModelSpec.endpoint_id``: sha256 of {provider,
    base_url, model, params} as canonical JSON, first 16 hex; the gateway's too)."""
    return spec.endpoint_id


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = done.stdout.strip()
    return text if done.returncode == 0 and text else None


def _from_env(names: tuple[str, ...], env: Mapping[str, str]) -> str | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def detect_git_sha(root: Path, env: Mapping[str, str] | None = None) -> str | None:
    """The commit being built: the CI's variable, else ``git rev-parse HEAD`` in ``root``."""
    env = os.environ if env is None else env
    return _from_env(SHA_ENV, env) or _git(root, "rev-parse", "HEAD")


def detect_branch(
    root: Path | None, explicit: str | None = None, env: Mapping[str, str] | None = None
) -> str | None:
    """``explicit``, else the CI's branch variable (``origin/`` cut), else the checked-out
    branch in ``root`` (None for a detached HEAD or outside a repository)."""
    if explicit:
        return explicit
    env = os.environ if env is None else env
    found = _from_env(BRANCH_ENV, env)
    if found:
        return found.removeprefix("origin/")
    if root is None:
        return None
    name = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    return None if name in (None, "HEAD") else name


def host_name() -> str | None:
    try:
        return socket.gethostname() or None
    except OSError:
        return None
