"""Terminal rendering of conversations: transcripts turn by turn, and the conversation summary.

A transcript is read from a result's ``details`` (see
:meth:`benchroute.scorers.Transcript.to_details`): each message with its role, its text
(clipped), the assistant's latency and tokens, and a mark per assertion of that turn; the
conversation-level assertions follow the last turn.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..analysis import ConversationSummary, conversation_summary, is_conversation
from ..store import Result

_ROLE_STYLE = {"system": "dim", "user": "cyan", "assistant": "green"}


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ms(value: Any) -> str:
    return "" if value is None else f"{float(value):,.0f} ms"


def _mark(score: dict[str, Any]) -> str:
    ok = bool(score.get("passed"))
    name = escape(str(score.get("scorer", "")))
    mark = f"[green]✓[/] {name}" if ok else f"[red]✗[/] {name}"
    reason = str(score.get("reason") or "")
    if not ok and reason:
        mark += f": {escape(_clip(reason, 60))}"
    return mark


def conversation_table(results: list[Result] | list[ConversationSummary]) -> Table | None:
    """Per model: conversations passed, mean turns, goal rate and mean turns to goal (simulated
    users), per-turn assertion pass rate and per-turn latency p50/p95. ``None`` without any
    conversation."""
    summaries = [s for s in results if isinstance(s, ConversationSummary)]
    if not summaries:
        summaries = conversation_summary([r for r in results if isinstance(r, Result)])
    if not summaries:
        return None
    table = Table(title="Conversations", title_justify="left")
    for column in ("model", "passed", "mean turns", "goal reached", "turns to goal", "turns passed"):
        table.add_column(column, justify="right" if column != "model" else "left")
    table.add_column("turn p50", justify="right")
    table.add_column("turn p95", justify="right")
    for s in summaries:
        goal = "—" if s.goal_rate is None else f"{s.goal_rate:.0%} ({s.goals_reached}/{s.simulated})"
        table.add_row(
            s.model,
            f"{s.passed}/{s.conversations}",
            f"{s.mean_turns:.1f}",
            goal,
            "—" if s.mean_turns_to_goal is None else f"{s.mean_turns_to_goal:.1f}",
            "—" if s.turn_pass_rate is None else f"{s.turn_pass_rate:.0%}",
            _ms(s.turn_latency_p50_ms) or "—",
            _ms(s.turn_latency_p95_ms) or "—",
        )
    return table


def transcript_view(result: Result, *, clip: int = 300) -> Group:
    """One conversation, turn by turn (role, text clipped to ``clip`` characters, latency,
    tokens, assertion marks), headed by its case, model, outcome and how it ended."""
    details = result.details or {}
    head = Text.from_markup(
        f"[bold]{escape(result.suite)} · {escape(result.case_id)} · {escape(result.model)}"
        f"{f' · repeat {result.repeat}' if result.repeat else ''}[/] "
        + ("[green]✓ passed[/]" if result.passed else "[red]✗ failed[/]")
        + f" · {details.get('mode', '?')} · {details.get('turns', 0)} turns · ended: "
        + escape(str(details.get("stop_reason") or "?"))
    )
    if details.get("mode") == "simulated":
        reached = details.get("goal_reached")
        head.append_text(
            Text.from_markup(
                f" · goal {'[green]reached[/]' if reached else '[red]not reached[/]'}"
                + (f" in {details.get('turns_to_goal')} turns" if reached else "")
                + f" · simulator {escape(str(details.get('simulator_model')))}"
            )
        )
    table = Table(show_header=True, box=None, pad_edge=False, expand=False)
    table.add_column("turn", justify="right", style="dim")
    table.add_column("role")
    table.add_column("text", overflow="fold", ratio=1)
    table.add_column("latency", justify="right")
    table.add_column("tokens", justify="right")
    table.add_column("checks", overflow="fold")
    for message in details.get("transcript") or []:
        role = str(message.get("role", ""))
        style = _ROLE_STYLE.get(role, "")
        label = role + (" (sim)" if message.get("simulated") else "")
        tokens = ""
        if role == "assistant":
            tokens = f"{message.get('input_tokens', 0)}→{message.get('output_tokens', 0)}"
        checks = "\n".join(_mark(s) for s in message.get("scores") or [])
        table.add_row(
            str(message.get("turn", "")),
            f"[{style}]{label}[/]" if style else label,
            escape(_clip(str(message.get("content") or ""), clip)),
            _ms(message.get("latency_ms")),
            tokens,
            checks,
        )
    parts: list[Any] = [head, table]
    overall = [s for s in result.scores if "turn" not in s]
    if overall:
        parts.append(Text.from_markup("conversation: " + " · ".join(_mark(s) for s in overall)))
    if result.error:
        parts.append(Text.from_markup(f"[red]error:[/] {escape(_clip(result.error, 200))}"))
    return Group(*parts)


def print_transcripts(
    console: Console,
    results: list[Result],
    *,
    case: str | None = None,
    failures_only: bool = False,
    limit: int = 5,
    clip: int = 300,
) -> int:
    """Print up to ``limit`` conversation transcripts (only ``case``'s, or only failed ones,
    if asked); returns how many conversations matched in all."""
    chosen = [
        r
        for r in results
        if is_conversation(r) and (case is None or r.case_id == case) and not (failures_only and r.passed)
    ]
    for result in chosen[:limit]:
        console.print(transcript_view(result, clip=clip))
        console.print()
    if len(chosen) > limit:
        console.print(
            f"[dim]{len(chosen) - limit} more conversation(s) not shown: use --limit or --case[/]",
            highlight=False,
        )
    return len(chosen)


def print_conversation_summary(console: Console, results: list[Result], *, wide: bool = False) -> None:
    """Print the conversation table, fitted to the console (``wide``: every column), when the
    results include conversations."""
    from ._fit import CONVERSATION_DROP_ORDER, print_fitted

    table = conversation_table(results)
    if table is not None:
        print_fitted(console, table, CONVERSATION_DROP_ORDER, wide=wide)
