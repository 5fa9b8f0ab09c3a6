"""Figures of conversation-tier results: goal rate, turns to goal, per-turn latency.

They are read from each result's ``details`` (the stored transcript, see
:meth:`benchroute.scorers.Transcript.to_details`); results without a conversation transcript
are ignored, so the functions can be given a whole run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..store import Result
from ._leaderboard import is_conversation as is_conversation  # defined with the leaderboard
from ._leaderboard import percentile


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """One model's conversations. ``goal_rate`` and ``mean_turns_to_goal`` are over the
    simulated-user conversations (``None`` when there were none, or no goal was reached);
    ``turn_pass_rate`` is over the turns that had assertions (``None`` when none had);
    latencies are of single assistant turns."""

    model: str
    conversations: int
    passed: int
    mean_turns: float
    simulated: int
    goals_reached: int
    goal_rate: float | None
    mean_turns_to_goal: float | None
    turn_pass_rate: float | None
    turn_latency_p50_ms: float | None
    turn_latency_p95_ms: float | None


def turn_latencies(results: list[Result]) -> list[float]:
    """Every assistant turn's latency (ms) across the conversation results."""
    values: list[float] = []
    for result in results:
        if is_conversation(result):
            values.extend(float(v) for v in (result.details or {}).get("turn_latencies_ms") or [])
    return values


def _asserted_turns(details: dict[str, Any]) -> list[bool]:
    return [
        bool(m.get("passed"))
        for m in details.get("transcript") or []
        if m.get("role") == "assistant" and m.get("passed") is not None
    ]


def conversation_summary(results: list[Result]) -> list[ConversationSummary]:
    """Per model (sorted by name): conversations, pass count, goal rate, mean turns to goal,
    per-turn assertion pass rate and per-turn latency p50/p95. Empty without conversations."""
    by_model: dict[str, list[Result]] = {}
    for result in results:
        if is_conversation(result):
            by_model.setdefault(result.model, []).append(result)
    summaries: list[ConversationSummary] = []
    for model in sorted(by_model):
        rows = by_model[model]
        details = [r.details or {} for r in rows]
        simulated = [d for d in details if d.get("mode") == "simulated"]
        reached = [d for d in simulated if d.get("goal_reached")]
        to_goal = [int(d["turns_to_goal"]) for d in reached if d.get("turns_to_goal") is not None]
        asserted = [ok for d in details for ok in _asserted_turns(d)]
        latencies = turn_latencies(rows)
        summaries.append(
            ConversationSummary(
                model=model,
                conversations=len(rows),
                passed=sum(1 for r in rows if r.passed),
                mean_turns=sum(int(d.get("turns") or 0) for d in details) / len(rows),
                simulated=len(simulated),
                goals_reached=len(reached),
                goal_rate=len(reached) / len(simulated) if simulated else None,
                mean_turns_to_goal=sum(to_goal) / len(to_goal) if to_goal else None,
                turn_pass_rate=sum(asserted) / len(asserted) if asserted else None,
                turn_latency_p50_ms=percentile(latencies, 50),
                turn_latency_p95_ms=percentile(latencies, 95),
            )
        )
    return summaries
