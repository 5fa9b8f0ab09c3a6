"""Judging a sample of production replies (``benchroute route judge``), so canary arms and
endpoints can be compared on a judge's score where users give little feedback.

From the request log (the gateway must keep payloads: ``gateway.log_payloads: true``) it
samples up to ``sample`` answered routed requests per (class, arm, model) that no judge has
scored yet — seeded, so a sample can be drawn again — asks the rubric judge (the scorers'
``rubric``, any model of the project, the embedded SmolLM2 by default) about each reply
against the request, and stores each verdict as feedback of source ``judge`` (0..1). A judge
that fails is an error of the measurement: it is counted and reported, never stored as a
score.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._errors import BenchrouteError
from ..config import Case, ScorerSpec
from ..store import PolicyStore, RequestLog
from ..types import Completion

if TYPE_CHECKING:
    from ..config import ProjectConfig
    from ..store import Store

DEFAULT_CRITERIA = (
    "The reply answers the user's last message correctly, completely and helpfully, without inventing facts."
)


@dataclass(slots=True)
class JudgeReport:
    judged: int = 0
    failed: int = 0
    skipped_no_payload: int = 0
    by_arm: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)


def _json_object(payload: str | None) -> dict[str, Any] | None:
    if not payload:
        return None
    try:
        body = json.loads(payload)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _reply_text(payload: str | None) -> str | None:
    body = _json_object(payload)
    try:
        content = body["choices"][0]["message"]["content"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None


def _messages(payload: str | None) -> list[dict[str, Any]] | None:
    body = _json_object(payload)
    messages = body.get("messages") if body is not None else None
    return messages if isinstance(messages, list) else None


async def judge_sample(
    store: Store,
    project: ProjectConfig,
    *,
    task_class: str | None = None,
    policy_version: int | None = None,
    sample: int = 50,
    judge: str | None = None,
    criteria: str = DEFAULT_CRITERIA,
    seed: int = 0,
    since_ts: float | None = None,
) -> JudgeReport:
    """Judge a stratified sample of logged replies and store the scores (see the module doc)."""
    from ..scorers import JudgeFailed, ScoringContext, build_scorer

    policies = PolicyStore(store)
    routed = policies.routed_requests(task_class=task_class, policy_version=policy_version, since_ts=since_ts)
    candidates = [row for row in routed if row["status"] == 200 and row.get("judge_score") is None]
    if not candidates:
        raise BenchrouteError(
            "no answered routed request to judge"
            + (f" in class {task_class!r}" if task_class else "")
            + (f" under policy v{policy_version}" if policy_version else ""),
            hint="route traffic through the gateway with model 'benchroute' first",
        )
    strata: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in candidates:
        strata[(row["task_class"], row.get("arm") or "-", row.get("model") or "?")].append(row)
    rng = random.Random(seed)
    chosen: list[dict[str, Any]] = []
    for key in sorted(strata):
        rows = strata[key]
        chosen.extend(rows if len(rows) <= sample else rng.sample(rows, sample))
    log = {row["id"]: row for row in RequestLog(store).requests_by_id([row["id"] for row in chosen])}
    report = JudgeReport()
    context = ScoringContext(project.models, judge_model=judge or project.judge)
    try:
        scorer = build_scorer(
            ScorerSpec(name="rubric", args={"criteria": criteria, "include_reference": False}),
            "route judge",
            context=context,
        )
        rows_out = []
        for row in chosen:
            full = log.get(row["id"])
            text = _reply_text(full.get("response_payload") if full else None)
            messages = _messages(full.get("request_payload") if full else None)
            if text is None or messages is None:
                report.skipped_no_payload += 1
                continue
            case = Case.model_validate({"id": row["id"], "messages": _case_messages(messages)})
            try:
                score = await scorer(Completion(text=text), case)
            except (JudgeFailed, BenchrouteError) as exc:
                report.failed += 1
                if len(report.errors) < 5:
                    report.errors.append(str(exc)[:200])
                continue
            if score.value is None:
                report.failed += 1
                continue
            report.judged += 1
            report.by_arm[f"{row['task_class']}/{row.get('arm') or '-'}/{row.get('model')}"].append(
                score.value
            )
            rows_out.append(
                {
                    "id": f"judge-{row['id']}",
                    "request_id": row["id"],
                    "created_ts": time.time(),
                    "score": float(score.value),
                    "label": "rubric",
                    "source": "judge",
                }
            )
        policies.add_feedback(rows_out)
    finally:
        await context.aclose()
    if report.skipped_no_payload and not report.judged and not report.failed:
        raise BenchrouteError(
            f"{report.skipped_no_payload} sampled request(s) have no stored request or reply",
            hint="set gateway.log_payloads: true so the log keeps what a judge needs",
        )
    return report


def _case_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, list):
            content = "\n".join(
                part.get("text", "")
                for part in content
                if isinstance(part, dict) and part.get("type") == "text"
            )
        if isinstance(content, str) and message.get("role") in ("system", "user", "assistant"):
            out.append({"role": message["role"], "content": content})
    return out
