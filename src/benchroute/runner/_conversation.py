"""Driving one conversation-tier item: a scripted or simulated multi-turn conversation.

Each turn's request carries the whole history: the system prompt(s), the case's ``messages``
(earlier context, if any), then alternating user messages and the model's *real* replies.
Every call goes through the execution context's ``call``, so the model's RPM/TPM limits,
retries with backoff and timeouts apply per turn, exactly as for single requests. Each user message is
rendered through the suite's ``prompt`` template (``{{ input }}`` is the turn's text).

Scripted cases (``turns``) send each user turn and score the reply with the turn's
``assert`` scorers. Simulated cases (``simulated_user``) alternate with a simulator model:
it has its own history (its persona and goal in its system prompt; the assistant's replies
are its "user" messages) and writes the next user message until the stop condition holds
(the goal is reached) or ``max_turns`` assistant replies have been made. Then the
conversation-level assertions run: the suite's ``scorers`` and the case's ``assertions``,
given a :class:`~benchroute.scorers.ConversationCompletion` (the last reply plus the
transcript).

One conversation is one stored ``Result`` (case x model x repeat): ``messages`` is the last
request sent (the full history), ``output`` the last reply, tokens/latency summed over the
model's turns (latency is the conversation's total; per-turn figures are in ``details``;
``e2e_latency_ms`` the model's turns as the caller waited for them, retries and backoff
included), ``cost_usd`` the model's turns plus the simulator's and the judges' calls (None
when one of them is unpriced), ``retries`` the model's retries, and ``details`` the
transcript (see :meth:`Transcript.to_details`).
``passed`` needs every per-turn and every conversation-level assertion to pass; ``score`` is
the mean of the suite scorers' value, the case assertions' value and each asserted turn's.

The response cache is not used for conversations: a cached reply is only valid for the exact
history it answered, and replaying part of a conversation from the cache and the rest live
would mix samples. Every conversation is therefore sent afresh.

With a cost cap (``--max-cost``) a conversation reserves its expected cost like a single
request does (see :mod:`._budget`): the a-priori estimate of its turns and simulator calls
until one conversation of the suite x model has ended, then their mean; what it actually
cost (model, simulator and judges) replaces the reservation when it ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from ..config import GOAL_PHRASE, Case, ModelSpec, ScorerEntry, SimulatedUser, SuiteSpec, is_conversation
from ..providers import FATAL_KINDS, Completion, CompletionRequest, Message, ProviderError, Usage
from ..scorers import (
    DEFAULT_JUDGE,
    ConversationCompletion,
    JudgeFailed,
    Scorer,
    Transcript,
    TranscriptTurn,
    build_scorer,
    default_judge_spec,
)
from ._context import add_costs
from ._prompting import split_params
from ._scoring import Scoring, SuiteScorer
from ._tiers import ItemEstimate, Tier

if TYPE_CHECKING:
    from ._context import ExecutionContext
    from ._estimate import RequestCoster
    from ._prompting import PromptBuilder
    from ._tiers import WorkItem

_KICKOFF = "(The conversation starts now. Write your first message to the assistant.)"


def simulator_system_prompt(user: SimulatedUser) -> str:
    """What the simulator model is told: who it plays, what it wants, how to finish."""
    lines = [
        "You are role-playing a human user who is chatting with an AI assistant. Stay in "
        "character and never say that you are an AI.",
        f"Who you are: {user.persona.strip()}",
        f"Your goal in this conversation: {user.goal.strip()}",
        "Each time, write only your next message to the assistant: one or two short sentences.",
    ]
    if user.user_stop_pattern() is not None and user.stop.user_regex is None:
        lines.append(f"As soon as the assistant has achieved your goal, reply with exactly: {GOAL_PHRASE}")
    return "\n".join(lines)


@dataclass
class _CaseScorers:
    turns: list[SuiteScorer | None]
    case: SuiteScorer | None
    stop: Scorer | None
    simulator: ModelSpec | None
    # The simulator's request settings and extra wire fields (from simulated_user.params).
    simulator_params: tuple[dict[str, Any], dict[str, Any]] = ({}, {})


class _PreparedSuite:
    """A conversation suite's per-turn, per-case and stop scorers, built once per run."""

    def __init__(self, ctx: ExecutionContext, suite: SuiteSpec) -> None:
        context = self.context = ctx.scoring_context(suite)
        self.cases: dict[str, _CaseScorers] = {}
        where = suite.source or suite.name
        base_dir = Path(suite.source).parent if suite.source else None
        for case in suite.dataset.cases or []:
            if case.turns is None and case.simulated_user is None:
                raise ConfigError(
                    f"{where}: case {case.id!r}: a conversation-tier case needs 'turns' or 'simulated_user'",
                    hint="conversations are written inline in the suite file (dataset.cases)",
                )
            turns = [self._scorer(suite, t.assertions) for t in case.turns or []]
            stop: Scorer | None = None
            simulator: ModelSpec | None = None
            simulator_params: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
            if case.simulated_user is not None:
                if case.simulated_user.stop.scorer is not None:
                    stop = build_scorer(case.simulated_user.stop.scorer, where, base_dir, context)
                simulator = _simulator_spec(ctx, case.simulated_user, f"{where}: case {case.id!r}")
                simulator_params = split_params(
                    case.simulated_user.params, f"{where}: case {case.id!r}: simulated_user.params"
                )
            self.cases[case.id] = _CaseScorers(
                turns, self._scorer(suite, case.assertions), stop, simulator, simulator_params
            )

    def _scorer(self, suite: SuiteSpec, entries: list[ScorerEntry]) -> SuiteScorer | None:
        if not entries:
            return None
        # SuiteScorer reads only scorers and source: reuse its weights/thresholds/groups logic.
        return SuiteScorer(suite.model_copy(update={"scorers": entries}), self.context)


def _simulator_spec(ctx: ExecutionContext, user: SimulatedUser, where: str) -> ModelSpec:
    name = user.model or DEFAULT_JUDGE
    spec = ctx.find_model(name)
    if spec is None and name == DEFAULT_JUDGE:
        spec = default_judge_spec()
        ctx.add_model(spec)
    if spec is None:
        known = ", ".join(ctx.project.models) or "none"
        raise ConfigError(
            f"{where}: simulated_user.model {name!r} is not defined",
            hint=f"name a model of benchroute.yaml (known: {known}), or leave 'model' out "
            f"for the embedded {DEFAULT_JUDGE}",
        )
    return spec


@dataclass
class _Outcome:
    transcript: Transcript
    messages: list[dict[str, Any]] = field(default_factory=list)
    last: Completion | None = None
    usage: Usage = field(default_factory=Usage)
    latency_ms: float = 0.0
    e2e_latency_ms: float = 0.0
    ttft_ms: float | None = None
    retries: int = 0
    cost_usd: float | None = 0.0  # None: a call it made is unpriced
    error: ProviderError | None = None
    turn_values: list[float] = field(default_factory=list)  # asserted turns' values
    turn_errors: list[str] = field(default_factory=list)  # turn scorers that failed
    fatal_model: str | None = None  # the endpoint that can no longer be reached


class _Conversation:
    """One conversation of one case with one model."""

    def __init__(self, ctx: ExecutionContext, item: WorkItem, prepared: _PreparedSuite) -> None:
        self.ctx = ctx
        self.item = item
        self.case = item.case
        self.builder = ctx.prompts(item.suite)
        self.scorers = prepared.cases[item.case.id]
        self.context = prepared.context
        self.spec = ctx.model(item.model)
        self.system: list[Message] = []
        self.history: list[Message] = list(self.case.messages or [])
        self.fields: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}
        self._rendered = False

    # -- the model under test -------------------------------------------------------------
    def _user_message(self, text: str) -> Message:
        turn_case = self.case.model_copy(update={"input": text, "messages": None})
        request = self.builder.request(turn_case, self.spec)
        if not self._rendered:  # the system prompt and settings are the same for every turn
            self.system = [m for m in request.messages[:-1] if m.role == "system"]
            self.fields, self.extra = request.set_fields(), dict(request.extra)
            self._rendered = True
        return request.messages[-1]

    async def _ask_model(self, text: str, turn: TranscriptTurn, out: _Outcome) -> Completion | None:
        self.history.append(self._user_message(text))
        request = CompletionRequest(
            messages=[*self.system, *self.history], **self.fields, extra=dict(self.extra)
        )
        out.messages = request.wire_messages()
        call = await self.ctx.call(self.item.model, request)
        completion, retries, error = call.completion, call.retries, call.error
        out.retries += retries
        turn.retries = retries
        if error is not None:
            out.error = error
            if error.kind in FATAL_KINDS:
                out.fatal_model = self.item.model
            return None
        assert completion is not None
        self.history.append(Message(role="assistant", content=completion.text))
        turn.assistant = completion.text
        turn.latency_ms = completion.latency_ms
        turn.ttft_ms = completion.ttft_ms
        turn.input_tokens = completion.usage.input_tokens
        turn.output_tokens = completion.usage.output_tokens
        usage = out.usage
        usage.input_tokens += completion.usage.input_tokens
        usage.output_tokens += completion.usage.output_tokens
        usage.cached_input_tokens += completion.usage.cached_input_tokens
        out.latency_ms += completion.latency_ms
        out.e2e_latency_ms += call.e2e_latency_ms
        if out.ttft_ms is None:
            out.ttft_ms = completion.ttft_ms
        out.cost_usd = add_costs(out.cost_usd, self.ctx.cost(self.item.model, completion))
        out.last = completion
        return completion

    def _turn_case(self, text: str) -> Case:
        """The case as a turn's scorers see it: this turn's text and the history sent."""
        sent = [*self.history[:-1]]
        return self.case.model_copy(update={"input": text, "messages": sent})

    # -- scripted ------------------------------------------------------------------------
    async def scripted(self) -> _Outcome:
        out = _Outcome(Transcript(mode="scripted", stop_reason="script_end"))
        for index, turn_spec in enumerate(self.case.turns or [], start=1):
            turn = TranscriptTurn(turn=index, user=turn_spec.user)
            out.transcript.turns.append(turn)
            completion = await self._ask_model(turn_spec.user, turn, out)
            if completion is None:
                out.transcript.stop_reason = "error"
                break
            scorer = self.scorers.turns[index - 1]
            if scorer is not None:
                scoring = await scorer.score(completion, self._turn_case(turn_spec.user))
                turn.scores, turn.passed = scoring.scores, scoring.passed
                out.turn_values.append(scoring.value)
                out.turn_errors.extend(f"turn {index}: {message}" for message in scoring.errors)
                out.cost_usd = add_costs(out.cost_usd, scoring.cost_usd)
        self._finish_system(out)
        return out

    # -- simulated -----------------------------------------------------------------------
    async def simulated(self) -> _Outcome:
        user = self.case.simulated_user
        assert user is not None and self.scorers.simulator is not None
        simulator = self.scorers.simulator
        transcript = Transcript(mode="simulated", goal_reached=False, simulator_model=simulator.name)
        out = _Outcome(transcript)
        user_stop = user.user_stop_pattern()
        user_pattern = re.compile(user_stop, re.IGNORECASE) if user_stop else None
        reply_pattern = (
            re.compile(user.stop.assistant_regex, re.IGNORECASE) if user.stop.assistant_regex else None
        )
        sim_history = [
            Message(role="system", content=simulator_system_prompt(user)),
            Message(role="user", content=_KICKOFF),
        ]
        sim_fields, sim_extra = dict(self.scorers.simulator_params[0]), self.scorers.simulator_params[1]
        sim_fields.setdefault("max_tokens", user.max_tokens)
        transcript.stop_reason = "max_turns"
        for index in range(1, user.max_turns + 1):
            user_latency: float | None = None
            if index == 1 and user.opening:
                text = user.opening
            else:
                request = CompletionRequest(messages=list(sim_history), **sim_fields, extra=dict(sim_extra))
                call = await self.ctx.call(simulator.name, request)
                completion, error = call.completion, call.error
                if error is not None:
                    out.error = ProviderError(
                        f"simulated user ({simulator.name}): {error}", kind=error.kind, status=error.status
                    )
                    if error.kind in FATAL_KINDS:
                        out.fatal_model = simulator.name
                    transcript.stop_reason = "error"
                    break
                assert completion is not None
                out.cost_usd = add_costs(out.cost_usd, self.context.cost(simulator.name, completion))
                text, user_latency = completion.text.strip(), completion.latency_ms
                if user_pattern is not None and user_pattern.search(text):
                    # The simulated user declares its goal met: that message is not sent.
                    transcript.stop_reason = "goal" if index > 1 else "simulator_ended_early"
                    if index > 1:
                        transcript.goal_reached, transcript.turns_to_goal = True, index - 1
                    break
                if not text:
                    transcript.stop_reason = "empty_user_message"
                    break
            sim_history.append(Message(role="assistant", content=text))
            turn = TranscriptTurn(turn=index, user=text, user_latency_ms=user_latency)
            transcript.turns.append(turn)
            reply = await self._ask_model(text, turn, out)
            if reply is None:
                transcript.stop_reason = "error"
                break
            if await self._goal_holds(reply, reply_pattern, text, out):
                transcript.stop_reason = "goal"
                transcript.goal_reached, transcript.turns_to_goal = True, index
                break
            sim_history.append(Message(role="user", content=reply.text))
        self._finish_system(out)
        return out

    async def _goal_holds(
        self, reply: Completion, pattern: re.Pattern[str] | None, text: str, out: _Outcome
    ) -> bool:
        if pattern is not None and pattern.search(reply.text):
            return True
        if self.scorers.stop is not None:
            stop = self.scorers.stop
            try:
                score = await stop(reply, self._turn_case(text))
            except Exception as exc:  # the measurement failed, not the model
                user = self.case.simulated_user
                spec = user.stop.scorer if user is not None else None
                label = spec.name if spec is not None else "stop"
                out.turn_errors.append(f"scorer {label!r} failed: {type(exc).__name__}: {exc}")
                if isinstance(exc, JudgeFailed):  # what the judge spent before failing is billed
                    out.cost_usd = add_costs(out.cost_usd, exc.cost_usd)
                return False
            out.cost_usd = add_costs(out.cost_usd, score.cost_usd)
            return score.passed
        return False

    def _finish_system(self, out: _Outcome) -> None:
        systems = [m.text() for m in self.system]
        out.transcript.system = "\n\n".join(systems) if systems else None


class ConversationTier(Tier):
    """Multi-turn conversations, scripted or with a simulated user (see module doc)."""

    def __init__(self) -> None:
        self._prepared: dict[str, _PreparedSuite] = {}

    @classmethod
    def check_case(cls, case: Case, where: str) -> None:
        if not is_conversation(case):
            raise ValueError(
                f"{where}: a conversation-tier case needs 'turns' (a list of '- user: ...') "
                "or 'simulated_user' (persona, goal)"
            )

    def prepare(self, ctx: ExecutionContext, suite: SuiteSpec) -> None:
        self._prepared[suite.name] = _PreparedSuite(ctx, suite)

    def cache_request(
        self, builder: PromptBuilder, item: WorkItem, spec: ModelSpec
    ) -> CompletionRequest | None:
        return None  # each turn is a fresh request (see module doc)

    def estimate(
        self, coster: RequestCoster, builder: PromptBuilder, item: WorkItem, spec: ModelSpec
    ) -> ItemEstimate:
        from ._estimate import estimate_conversation

        return estimate_conversation(coster, item, spec)

    async def execute(self, ctx: ExecutionContext, item: WorkItem) -> None:
        reservation = await ctx.reserve(item)
        if reservation is None:
            ctx.skip(budget=True)
            return
        spent: float | None = 0.0
        complete = False
        try:
            spent, complete = await self._converse(ctx, item)
        finally:
            # What the conversation cost (model, simulator, judges) replaces its reservation;
            # one cut short by an error says nothing about what a typical one costs.
            await ctx.settle(reservation, spent, billed=complete)

    async def _converse(self, ctx: ExecutionContext, item: WorkItem) -> tuple[float | None, bool]:
        """Run the conversation and store its Result; returns (USD spent, whether it ended
        without an error)."""
        prepared = self._prepared.get(item.suite.name)
        if prepared is None:
            prepared = self._prepared[item.suite.name] = _PreparedSuite(ctx, item.suite)
        conversation = _Conversation(ctx, item, prepared)
        out = await (
            conversation.simulated() if item.case.simulated_user is not None else conversation.scripted()
        )
        if out.fatal_model is not None and out.error is not None:
            # As for single requests: the endpoint is unusable, so nothing is stored and
            # --resume finishes the conversation once the cause is fixed.
            ctx.mark_broken(out.fatal_model, out.error)
            ctx.skip()
            return out.cost_usd, False
        transcript = out.transcript
        last = out.last
        turn_records: list[dict[str, Any]] = []
        for turn in transcript.turns:
            for record in turn.scores:
                turn_records.append(
                    {**record, "turn": turn.turn, "reason": f"turn {turn.turn}: {record['reason']}"}
                )
        final: ConversationCompletion | None = None
        scoring: Scoring | None = None
        if last is not None:
            final = ConversationCompletion(
                text=last.text,
                tool_calls=last.tool_calls,
                finish_reason=last.finish_reason,
                usage=out.usage,
                served_model=last.served_model,
                system_fingerprint=last.system_fingerprint,
                latency_ms=out.latency_ms,
                ttft_ms=out.ttft_ms,
                transcript=transcript,
            )
        if out.error is None and final is not None:
            final_case = item.case.model_copy(
                update={
                    "input": transcript.turns[-1].user if transcript.turns else None,
                    "messages": conversation.history[:-1],
                }
            )
            outcomes = [await ctx.scorer(item.suite).score(final, final_case)]
            case_scorer = prepared.cases[item.case.id].case
            if case_scorer is not None:
                outcomes.append(await case_scorer.score(final, final_case))
            values = [o.value for o in outcomes] + out.turn_values
            scoring = Scoring(
                scores=[*turn_records, *(record for o in outcomes for record in o.scores)],
                value=sum(values) / len(values),
                passed=all(o.passed for o in outcomes)
                and all(t.passed is not False for t in transcript.turns),
                errors=[*out.turn_errors, *(message for o in outcomes for message in o.errors)],
            )
            out.cost_usd = add_costs(out.cost_usd, *(o.cost_usd for o in outcomes))
        elif out.error is not None:
            scoring = Scoring(scores=turn_records, value=0.0, passed=False)
        result = ctx.result(
            item,
            messages=out.messages,
            completion=final,
            scoring=scoring,
            error=out.error,
            cost_usd=out.cost_usd,
            retries=out.retries,
            e2e_latency_ms=out.e2e_latency_ms if last is not None else None,
            details=transcript.to_details(),
        )
        ctx.write(result)
        return result.cost_usd, out.error is None
