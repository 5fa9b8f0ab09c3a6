"""What makes two points of a history comparable: the suite fingerprint and case hashes the
runner records (a changed case or scorer is a suite change, a renamed suite is not), and
where a run came from (trigger, commit, branch)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchroute.config import SuiteSpec
from benchroute.runner import TRIGGERS, case_hash, detect_branch, detect_git_sha, suite_fingerprint


def _suite(**changes: object) -> SuiteSpec:
    data: dict[str, object] = {
        "name": "qa",
        "description": "questions",
        "dataset": {"cases": [{"id": "c1", "input": "q1", "expected": "a1"}, {"id": "c2", "input": "q2"}]},
        "scorers": ["exact"],
        **changes,
    }
    return SuiteSpec.model_validate(data)


def test_suite_fingerprint_ignores_what_does_not_change_results() -> None:
    base = suite_fingerprint(_suite())
    assert suite_fingerprint(_suite(name="renamed", description="other words")) == base
    assert suite_fingerprint(_suite(gate={"min_pass_rate": 0.9})) == base
    assert suite_fingerprint(_suite(models=["m"])) == base


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": "Answer: {{ input }}"},
        {"system": "Be brief."},
        {"scorers": [{"name": "contains", "args": {"text": "a"}}]},
        {"params": {"temperature": 0}},
        {"dataset": {"cases": [{"id": "c1", "input": "q1", "expected": "A1"}, {"id": "c2", "input": "q2"}]}},
        {"dataset": {"cases": [{"id": "c1", "input": "q1", "expected": "a1"}]}},
    ],
)
def test_suite_fingerprint_changes_with_cases_scorers_and_prompt(change: dict[str, object]) -> None:
    assert suite_fingerprint(_suite(**change)) != suite_fingerprint(_suite())


def test_case_hash_is_content_not_id_or_tags() -> None:
    [first, second] = _suite().dataset.cases or []
    edited = first.model_copy(update={"expected": "a1!"})
    renamed = first.model_copy(update={"id": "other", "metadata": {"tag": "x"}})
    assert case_hash(first) != case_hash(second)
    assert case_hash(edited) != case_hash(first)
    assert case_hash(renamed) == case_hash(first)
    assert len(case_hash(first)) == 16


def test_commit_and_branch_from_ci_variables_then_git(tmp_path: Path) -> None:
    assert detect_git_sha(tmp_path, {"GITHUB_SHA": "abc"}) == "abc"
    assert detect_git_sha(tmp_path, {"CI_COMMIT_SHA": "def"}) == "def"
    assert detect_git_sha(tmp_path, {}) is None  # not a repository, no CI: unknown
    assert detect_branch(tmp_path, "explicit", {"GITHUB_REF_NAME": "main"}) == "explicit"
    assert detect_branch(tmp_path, None, {"GITHUB_HEAD_REF": "pr", "GITHUB_REF_NAME": "1/merge"}) == "pr"
    assert detect_branch(tmp_path, None, {"GIT_BRANCH": "origin/dev"}) == "dev"
    assert detect_branch(tmp_path, None, {}) is None
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "trunk", str(tmp_path)], check=True)
    subprocess.run([*git, "-C", str(tmp_path), "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    sha = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert detect_git_sha(tmp_path, {}) == sha.stdout.strip()
    assert detect_branch(tmp_path, None, {}) == "trunk"
    subprocess.run(["git", "-C", str(tmp_path), "checkout", "-q", "--detach"], check=True)
    assert detect_branch(tmp_path, None, {}) is None  # a detached HEAD names no branch


def test_triggers() -> None:
    assert TRIGGERS == ("manual", "ci", "schedule", "version-change")
