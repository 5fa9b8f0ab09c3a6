"""The gateway as a raw ASGI application: no web framework on the hot path.

Routes: ``POST /v1/chat/completions`` (JSON, or server-sent events with ``stream: true``),
``POST /v1/embeddings``, ``GET /v1/models`` (the aliases), ``GET /v1/receipts/{id}``,
``GET /healthz``, ``GET /readyz`` and ``GET /metrics`` (when the metrics module is there).

Per request the hot path parses the body once (orjson), validates it once into the
provider's :class:`~benchroute.types.CompletionRequest`, and forwards the upstream's reply
bytes as they are when the upstream speaks OpenAI (its stream chunk by chunk, each as the
bytes received). Everything else — the request-log row, the receipt JSON, metrics — is a
few dict operations; the database is written by the log's own thread (see ``_log``).

A client that goes away cancels the request, which closes the upstream connection: the
gateway's server calls back when the connection is lost (the ``benchroute.disconnect`` scope
extension, see ``_protocol``); under another ASGI server a small watcher task waits for
``http.disconnect`` instead.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import itertools
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, Final

import orjson
from pydantic import ValidationError

from .._json import loads as loads_json
from ..providers import (
    Completion,
    CompletionRequest,
    PriceBook,
    ProviderContext,
    ProviderError,
    Secrets,
    StreamChunk,
    Usage,
)
from ..resilience import BreakerRegistry, BreakerSettings, Deadline
from ..routing import Decision, RoutingError, is_routed
from ..store import PolicyStore, RequestLog, Store
from . import _hooks
from ._endpoints import Endpoint, build_endpoints
from ._errors import GatewayError, error_body
from ._failover import BREAKER_KINDS, FAILOVER_KINDS, POLICY, Receipt, no_candidate_left
from ._log import RequestLogWriter
from ._routing import EndpointBudgets, RoutingState

if TYPE_CHECKING:
    from ..config import ProjectConfig

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON: Final = (b"content-type", b"application/json")
_SSE: Final = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_POLICY: Final = (b"x-benchroute-policy", POLICY.encode())
_DONE: Final = b"data: [DONE]\n\n"
_RECENT_RECEIPTS: Final = 10_000
_MAX_BODY: Final = 64 * 1024 * 1024


class _Call:
    """Per-request state shared with the disconnect watcher."""

    __slots__ = ("disconnected", "done", "task")

    def __init__(self) -> None:
        self.done = False
        self.disconnected = False
        self.task: asyncio.Task[Any] | None = None


DISCONNECT_EXTENSION: Final = "benchroute.disconnect"
"""A scope extension (a list) of callbacks the server calls when the client's connection is
lost before the response is complete; without it, a task per request watches ``receive``."""


def _on_disconnect(call: _Call) -> None:
    if not call.done and call.task is not None:
        call.disconnected = True
        call.task.cancel()


async def _watch_disconnect(receive: Receive, call: _Call) -> None:
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if not call.done and call.task is not None:
                    call.disconnected = True
                    call.task.cancel()
                return
    except Exception:  # the server tore the connection down: nothing left to watch
        return


class Gateway:
    """The gateway's ASGI application for one project (see the module doc).

    ``store_url`` overrides the project's store (the request log and keys live there);
    ``secrets`` reads provider keys (default: the environment).
    """

    def __init__(
        self, project: ProjectConfig, *, store_url: str | None = None, secrets: Secrets | None = None
    ) -> None:
        self.project = project
        self.spec = project.gateway
        self._store_url = store_url or project.store_url()
        self._secrets = secrets or Secrets()
        self._alias_names = self.spec.candidates(list(project.models))
        self._aliases: dict[str, list[Endpoint]] = {}
        self._endpoints: dict[str, Endpoint] = {}
        self._context: ProviderContext | None = None
        self.store: Store | None = None
        self.writer: RequestLogWriter | None = None
        self._recent: dict[str, dict[str, Any]] = {}
        self._auth: Any = None
        self._metrics: Any = None
        self._tracer: Any = None
        self._ready = False
        self._models_body = b""
        self._pending: set[asyncio.Future[None]] = set()
        self._routing: RoutingState | None = None
        self._budgets: EndpointBudgets | None = None
        self._feedback: RequestLogWriter | None = None
        self._id_prefix = os.urandom(6).hex()
        self._ids = itertools.count(1)
        self.answered = 0

    def _next_id(self) -> str:
        """A request (and receipt) id: this process's random prefix and a counter — unique
        across workers and restarts, without a system call per request."""
        return f"{self._id_prefix}{next(self._ids):012x}"

    # -- lifecycle ---------------------------------------------------------------------------

    async def startup(self) -> None:
        """Build the providers (one shared HTTP session), open the store, start the log."""
        spec = self.spec
        breaker_spec = spec.breaker
        breakers = BreakerRegistry(
            BreakerSettings(
                window_s=breaker_spec.window_s,
                min_requests=breaker_spec.min_requests,
                failure_rate=breaker_spec.failure_rate,
                consecutive_failures=breaker_spec.consecutive_failures,
                open_s=breaker_spec.open_s,
                half_open_probes=breaker_spec.half_open_probes,
            )
        )
        names = {name for candidates in self._alias_names.values() for name in candidates}
        routing = self.project.routing
        routed = routing.enabled or routing.policy_file is not None
        if routed:
            names.update(self.project.models)  # any policy may name any model
        specs = [self.project.models[name] for name in sorted(names)]
        try:
            prices: PriceBook | None = PriceBook(specs)
        except Exception:  # prices are bookkeeping: an unpriced gateway still serves
            prices = None
        self._context = ProviderContext(secrets=self._secrets, connection_limit=1000)
        self._endpoints = build_endpoints(self.project, self._context, breakers, prices, names)
        self._aliases = {
            alias: [self._endpoints[name] for name in candidates]
            for alias, candidates in self._alias_names.items()
        }
        self._models_body = orjson.dumps(
            {
                "object": "list",
                "data": [
                    {"id": alias, "object": "model", "created": 0, "owned_by": "benchroute"}
                    for alias in self._aliases
                ],
            }
        )
        self.store = await asyncio.to_thread(Store, self._store_url)
        log = RequestLog(self.store)
        self.writer = RequestLogWriter(_batch_writer(log), max_queued=spec.log_queue)
        self.writer.start()
        self._feedback = RequestLogWriter(PolicyStore(self.store).add_feedback, max_queued=spec.log_queue)
        self._feedback.start()
        if routed:
            self._budgets = EndpointBudgets(routing.budgets)
            self._routing = RoutingState(self.project, self.store, self._endpoints)
            self._routing.budgets = self._budgets
            await self._routing.start()
        self._auth = await _hooks.make_auth(spec, self.store)
        self._metrics = _hooks.make_metrics(spec, self._aliases, self.writer)
        self._tracer = _hooks.make_tracer(spec, self._endpoints)
        # Everything loaded so far lives as long as the process: keep the collector from
        # walking it again on every full collection.
        gc.collect()
        gc.freeze()
        self._ready = True

    async def shutdown(self) -> None:
        """After the last request was answered: drain the log, close the session."""
        self._ready = False
        if self._routing is not None:
            await self._routing.close()
        if self._pending:
            await asyncio.gather(*self._pending)
        if self.writer is not None:
            await asyncio.to_thread(self.writer.close)
        if self._feedback is not None:
            await asyncio.to_thread(self._feedback.close)
        await _hooks.close(self._auth)
        await _hooks.close(self._tracer)
        if self._context is not None:
            await self._context.aclose()
        if self.store is not None:
            self.store.close()

    # -- ASGI ----------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    text = self._secrets.redact(f"{type(exc).__name__}: {exc}")
                    await send({"type": "lifespan.startup.failed", "message": text})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.shutdown()
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        if path == "/v1/chat/completions" or path == "/chat/completions":
            if method == "POST":
                await self._chat(scope, receive, send)
                return
        elif path == "/v1/embeddings" or path == "/embeddings":
            if method == "POST":
                await self._embeddings(scope, receive, send)
                return
        elif path == "/v1/feedback" or path == "/feedback":
            if method == "POST":
                await self._feedback_post(scope, receive, send)
                return
        elif method == "GET":
            if path == "/v1/models" or path == "/models":
                await _send(send, 200, self._models())
            elif path == "/healthz":
                await _send(send, 200, b'{"status":"ok"}')
            elif path == "/readyz":
                await self._readyz(send)
            elif path.startswith("/v1/receipts/"):
                await self._receipt(path.removeprefix("/v1/receipts/"), send)
            elif path == "/metrics" and self._metrics is not None and hasattr(self._metrics, "render"):
                body, content_type = self._metrics.render()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [(b"content-type", content_type.encode()), _length(body)],
                    }
                )
                await send({"type": "http.response.body", "body": body})
            else:
                await _send(send, 404, error_body(404, "not_found", f"no route GET {path}"))
            return
        await _send(send, 404, error_body(404, "not_found", f"no route {method} {path}"))

    async def _readyz(self, send: Send) -> None:
        if not self._ready:
            await _send(send, 503, b'{"status":"starting or stopping"}')
            return
        body = {
            "status": "ready",
            "aliases": len(self._aliases),
            "log_queue": self.writer.depth if self.writer is not None else None,
            "breakers": {e.name: e.breaker.state for e in self._endpoints.values()},
        }
        if self._routing is not None:
            body["routing"] = self._routing.readiness()
        await _send(send, 200, orjson.dumps(body))

    def _models(self) -> bytes:
        if self._routing is None:
            return self._models_body
        listed = [
            {"id": name, "object": "model", "created": 0, "owned_by": "benchroute"}
            for name in self._routing.models_listed
        ]
        return orjson.dumps({"object": "list", "data": listed + orjson.loads(self._models_body)["data"]})

    async def _receipt(self, rid: str, send: Send) -> None:
        receipt = self._recent.get(rid)
        if receipt is None and self.store is not None and rid.isalnum() and len(rid) <= 32:
            receipt = await asyncio.to_thread(RequestLog(self.store).receipt, rid)
        if receipt is None:
            await _send(send, 404, error_body(404, "receipt_not_found", f"no receipt {rid!r}"))
            return
        await _send(send, 200, orjson.dumps(receipt))

    # -- POST /v1/chat/completions -------------------------------------------------------------

    async def _chat(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        raw = await _read_body(receive)
        if raw is None:
            return
        rid = self._next_id()
        try:
            payload = loads_json(raw)
        except ValueError:
            payload = None
        alias = payload.get("model") if isinstance(payload, dict) else None
        stream = isinstance(payload, dict) and payload.get("stream") is True
        receipt = Receipt(rid, alias if isinstance(alias, str) else "", stream, self.spec.deadline_s)
        call = _Call()
        call.task = asyncio.current_task()
        hooks = scope.get("extensions", {}).get(DISCONNECT_EXTENSION)
        if hooks is not None:
            hooks.append(functools.partial(_on_disconnect, call))
            watcher = None
        else:
            watcher = asyncio.ensure_future(_watch_disconnect(receive, call))
        ctx = None
        try:
            if not isinstance(payload, dict):
                raise GatewayError(400, "invalid_json", "the body must be a JSON object")
            if self._routing is not None and isinstance(alias, str) and is_routed(alias):
                if self._auth is not None:
                    ctx = self._auth.admit(scope["headers"], receipt.alias, len(raw) // 4)
                decision = self._decide(alias, payload, scope["headers"], rid, ctx)
                receipt.decision = decision
                receipt.estimated_tokens = len(raw) // 4
                endpoints = [self._endpoints[name] for name in decision.route]
            else:
                endpoints = self._route(alias)
                if self._auth is not None:
                    ctx = self._auth.admit(scope["headers"], receipt.alias, len(raw) // 4)
            request = _request(payload)
            if stream:
                options = payload.get("stream_options")
                include_usage = isinstance(options, dict) and options.get("include_usage") is True
                ttft = await self._stream(send, endpoints, request, receipt, include_usage, call)
                self._finish(receipt, endpoints, started, ttft, ctx, raw if self.spec.log_payloads else None)
                if receipt.decision is not None and receipt.decision.shadow is not None:
                    self._shadow(receipt, request, raw)
                return
            endpoint, completion = await self._complete(endpoints, request, receipt)
            body = completion.wire_body
            if body is None:
                body = orjson.dumps(completion.to_openai(completion.served_model or endpoint.spec.model))
            receipt.usage = completion.usage
            receipt.served_model = completion.served_model
            receipt.status = 200
            receipt.cost_usd = endpoint.cost(completion.usage, completion.latency_ms)
            # The row is queued before the answer leaves: a client that holds an answer
            # has its row in the log (drained at shutdown), never the other way round.
            self._finish(
                receipt, endpoints, started, None, ctx, (raw, body) if self.spec.log_payloads else None
            )
            call.done = True
            await _send(send, 200, body, _receipt_headers(endpoint, receipt))
            if receipt.decision is not None and receipt.decision.shadow is not None:
                self._shadow(receipt, request, raw)
        except GatewayError as exc:
            receipt.status = exc.status
            receipt.error_kind = receipt.error_kind or exc.code
            self._finish(receipt, self._served_list(receipt), started, None, ctx, None)
            call.done = True
            await self._send_error(send, exc, receipt)
        except asyncio.CancelledError:
            if not call.disconnected:
                raise
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            receipt.status = 499  # the client closed the connection first (nginx's code)
            receipt.error_kind = "client_disconnected"
            self._finish(receipt, self._served_list(receipt), started, None, ctx, None)
        finally:
            call.done = True
            if watcher is not None:
                watcher.cancel()

    def _served_list(self, receipt: Receipt) -> list[Endpoint]:
        decision = receipt.decision
        if decision is not None:
            return [self._endpoints[name] for name in decision.route]
        return self._aliases.get(receipt.alias, [])

    def _decide(self, alias: str, payload: dict[str, Any], raw_headers: Any, rid: str, ctx: Any) -> Decision:
        state = self._routing
        assert state is not None
        router = state.router  # taken once: this request keeps this policy to its end
        if router is None:
            why = f" ({state.rejected})" if state.rejected else ""
            raise GatewayError(
                503,
                "no_routing_policy",
                f"model {alias!r}: no routing policy is active{why}; "
                "build one with `benchroute route build --activate`",
                headers={"retry-after": "1"},
            )
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in raw_headers
            if name[:12].lower() == b"x-benchroute"
        }
        try:
            return router.decide(alias, payload, headers, request_id=rid, key_id=getattr(ctx, "key_id", None))
        except RoutingError as exc:
            raise GatewayError(404, "task_class_not_found", exc.message) from None

    def _route(self, alias: object) -> list[Endpoint]:
        if not isinstance(alias, str):
            raise GatewayError(400, "missing_model", "the body needs a 'model' (one of GET /v1/models)")
        endpoints = self._aliases.get(alias)
        if endpoints is None:
            known = ", ".join(self._aliases) or "(none)"
            raise GatewayError(404, "model_not_found", f"model {alias!r} is not served here; known: {known}")
        return endpoints

    async def _complete(
        self, endpoints: list[Endpoint], request: CompletionRequest, receipt: Receipt
    ) -> tuple[Endpoint, Completion]:
        deadline = Deadline(self.spec.deadline_s)
        errors: list[ProviderError] = []
        retry_in: list[float] = []
        for endpoint in endpoints:
            admitted = _admit(
                endpoint, deadline, receipt, retry_in, self._budgets if receipt.decision else None
            )
            if admitted is None:
                continue
            budget, state = admitted
            started = time.perf_counter()
            try:
                async with asyncio.timeout(budget):
                    completion = await endpoint.provider.complete(request)
            except TimeoutError:
                error = ProviderError(
                    f"model {endpoint.name!r}: no reply within {budget:g} s", kind="timeout"
                )
            except ProviderError as exc:
                error = exc
            except Exception as exc:  # an adapter bug must not take the gateway down
                error = ProviderError(f"model {endpoint.name!r}: {type(exc).__name__}", kind="server_error")
            else:
                endpoint.breaker.record_success()
                self._breaker_changed(endpoint, state)
                receipt.tried(endpoint, state, started)
                receipt.served = endpoint
                receipt.error_kind = None
                return endpoint, completion
            self._failed(endpoint, state, started, error, receipt)
            errors.append(error)
        raise no_candidate_left(receipt, errors, retry_in)

    def _failed(
        self, endpoint: Endpoint, state: str, started: float, error: ProviderError, receipt: Receipt
    ) -> None:
        """Account for a failed attempt; raise at once when no other candidate could help."""
        if error.kind in BREAKER_KINDS:
            endpoint.breaker.record_failure(error.kind)
        else:
            endpoint.breaker.record_success()  # it answered: the request was at fault
        self._breaker_changed(endpoint, state)
        receipt.tried(endpoint, state, started, error)
        receipt.error_kind = error.kind
        if error.kind not in FAILOVER_KINDS:
            status = error.status if error.status is not None and 400 <= error.status < 500 else 400
            raise GatewayError(status, error.kind, self._secrets.redact(str(error)))

    def _breaker_changed(self, endpoint: Endpoint, before: str) -> None:
        after = endpoint.breaker.state
        if after != before and self._metrics is not None:
            self._metrics.set_breaker(endpoint.name, after)

    # -- streams -------------------------------------------------------------------------------

    async def _stream(
        self,
        send: Send,
        endpoints: list[Endpoint],
        request: CompletionRequest,
        receipt: Receipt,
        include_usage: bool,
        call: _Call,
    ) -> float | None:
        """Open a stream on the first candidate that reaches its first content byte, then
        forward it; returns the time to first token (ms)."""
        started_all = time.perf_counter()
        deadline = Deadline(self.spec.deadline_s)
        errors: list[ProviderError] = []
        retry_in: list[float] = []
        for endpoint in endpoints:
            admitted = _admit(
                endpoint, deadline, receipt, retry_in, self._budgets if receipt.decision else None
            )
            if admitted is None:
                continue
            budget, state = admitted
            started = time.perf_counter()
            chunks: AsyncIterator[StreamChunk] = (
                endpoint.provider.stream(request)  # type: ignore[attr-defined]
                if endpoint.streams
                else _one_chunk_stream(endpoint, request)
            )
            head: list[StreamChunk] = []
            ended = False
            error: ProviderError | None = None
            try:
                async with asyncio.timeout(budget):
                    while True:
                        try:
                            chunk = await anext(chunks)
                        except StopAsyncIteration:
                            ended = True
                            break
                        head.append(chunk)
                        if chunk.content:
                            break
            except TimeoutError:
                error = ProviderError(
                    f"model {endpoint.name!r}: no first token within {budget:g} s", kind="timeout"
                )
            except ProviderError as exc:
                error = exc
            except asyncio.CancelledError:
                await _close(chunks)
                raise
            except Exception as exc:
                error = ProviderError(f"model {endpoint.name!r}: {type(exc).__name__}", kind="server_error")
            else:
                if ended and not any(chunk.finish_reason for chunk in head):
                    # Neither content nor an end: a broken stream that can still go elsewhere.
                    error = ProviderError(
                        f"model {endpoint.name!r}: the stream ended without content or a finish reason",
                        kind="malformed_reply",
                    )
            if error is None:
                receipt.tried(endpoint, state, started, outcome="served")
                receipt.served = endpoint
                receipt.error_kind = None
                ttft = (time.perf_counter() - started_all) * 1000
                try:
                    await self._forward(
                        send, endpoint, chunks, head, ended, receipt, include_usage, state, call
                    )
                finally:
                    await _close(chunks)
                return ttft
            await _close(chunks)
            self._failed(endpoint, state, started, error, receipt)
            errors.append(error)
        raise no_candidate_left(receipt, errors, retry_in)

    async def _forward(
        self,
        send: Send,
        endpoint: Endpoint,
        chunks: AsyncIterator[StreamChunk],
        head: list[StreamChunk],
        ended: bool,
        receipt: Receipt,
        include_usage: bool,
        state: str,
        call: _Call,
    ) -> None:
        if head:
            served = head[0].data.get("model")
            receipt.served_model = served if isinstance(served, str) else None
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_SSE, *_receipt_headers(endpoint, receipt)],
            }
        )
        receipt.status = 200
        usage = None
        # Chunks that arrived together (``pending``) leave together: one write, not several.
        held: list[bytes] = []
        for chunk in head:
            if chunk.usage is not None:
                usage = chunk.usage
                if not include_usage and not chunk.data.get("choices"):
                    continue
            held.append(chunk.sse())
        if held:
            await _send_held(send, held)
        error: ProviderError | None = None
        if not ended:
            idle = endpoint.timeout_s
            try:
                while True:
                    async with asyncio.timeout(idle):
                        try:
                            chunk = await anext(chunks)
                        except StopAsyncIteration:
                            break
                    if chunk.usage is not None:
                        usage = chunk.usage
                        if not include_usage and not chunk.data.get("choices"):
                            if held and not chunk.pending:
                                await _send_held(send, held)
                            continue
                    held.append(chunk.sse())
                    if not chunk.pending:
                        await _send_held(send, held)
            except TimeoutError:
                error = ProviderError(
                    f"model {endpoint.name!r}: the stream stalled for {idle:g} s", kind="timeout"
                )
            except ProviderError as exc:
                error = exc
            except asyncio.CancelledError:
                # The client left mid-answer; the endpoint was delivering (and a half-open
                # probe must not stay taken).
                endpoint.breaker.record_success()
                raise
            except Exception as exc:
                error = ProviderError(f"model {endpoint.name!r}: {type(exc).__name__}", kind="server_error")
        # Chunks still held (the stream ended, or broke, right after them) go out with the
        # stream's last write.
        rest = b"".join(held)
        receipt.usage = usage
        if usage is not None:
            receipt.cost_usd = endpoint.cost(usage, (time.perf_counter() - receipt.started) * 1000)
        if error is None:
            endpoint.breaker.record_success()
            self._breaker_changed(endpoint, state)
            call.done = True
            await send({"type": "http.response.body", "body": rest + _DONE, "more_body": False})
            return
        # Content was sent: no failover. The client learns the answer is incomplete from a
        # finish_reason of "error" and an SSE error event, never from a silent end.
        if error.kind in BREAKER_KINDS:
            endpoint.breaker.record_failure(error.kind)
            self._breaker_changed(endpoint, state)
        receipt.error_kind = "stream_cut"
        receipt.candidates[-1]["outcome"] = "cut"
        receipt.candidates[-1]["reason"] = str(error)[:300]
        message = self._secrets.redact(f"the upstream stream broke after content was sent: {error}")
        finish = {
            "id": f"chatcmpl-{receipt.id}",
            "object": "chat.completion.chunk",
            "created": int(receipt.created_ts),
            "model": receipt.served_model or endpoint.spec.model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "error"}],
        }
        tail = (
            rest
            + b"data: "
            + orjson.dumps(finish)
            + b"\n\nevent: error\ndata: "
            + orjson.dumps({"error": {"message": message, "type": "upstream_error", "code": "stream_cut"}})
            + b"\n\n"
        )
        call.done = True
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    # -- shadow copies and feedback ----------------------------------------------------------

    def _shadow(self, primary: Receipt, request: CompletionRequest, raw: bytes) -> None:
        """Send a copy of an answered request to the shadow canary, in the background; its
        reply is logged (arm ``shadow``) and never returned."""
        decision = primary.decision
        assert decision is not None and decision.shadow is not None
        endpoint = self._endpoints.get(decision.shadow)
        if endpoint is None:
            return
        task = asyncio.ensure_future(self._shadow_call(endpoint, request, primary, raw))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _shadow_call(
        self, endpoint: Endpoint, request: CompletionRequest, primary: Receipt, raw: bytes
    ) -> None:
        started = time.perf_counter()
        receipt = Receipt(self._next_id(), primary.alias, False, self.spec.deadline_s)
        receipt.decision = primary.decision
        receipt.arm = "shadow"
        try:
            served, completion = await self._complete([endpoint], request, receipt)
            receipt.usage = completion.usage
            receipt.served_model = completion.served_model
            receipt.status = 200
            receipt.cost_usd = served.cost(completion.usage, completion.latency_ms)
            if self.spec.log_payloads:  # a judge may score the shadow's replies too
                body = completion.wire_body
                if body is None:
                    body = orjson.dumps(completion.to_openai(completion.served_model or served.spec.model))
                payloads: Any = (raw, body)
            else:
                payloads = None
        except GatewayError as exc:
            receipt.status = exc.status
            receipt.error_kind = receipt.error_kind or exc.code
            payloads = None
        except Exception as exc:  # a shadow copy must never disturb the gateway
            receipt.status = 502
            receipt.error_kind = type(exc).__name__
            payloads = None
        self._finish(receipt, [endpoint], started, None, None, payloads)

    async def _feedback_post(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /v1/feedback``: ``{"request_id": ..., "score": 0..1 | "thumbs": "up"|"down",
        "label": ...}`` about a request this gateway logged."""
        raw = await _read_body(receive)
        if raw is None:
            return
        try:
            payload = loads_json(raw)
        except ValueError:
            payload = None
        try:
            key_id = self._auth.identify(scope["headers"]) if self._auth is not None else None
            row = _feedback_row(payload)
            rid = row["request_id"]
            known = self._recent.get(rid)
            if known is not None:
                exists, owner = True, known.get("key_id")
            elif self.store is not None and rid.isalnum() and len(rid) <= 32:
                exists, owner = await asyncio.to_thread(PolicyStore(self.store).request_key, rid)
            else:
                exists, owner = False, None
            # With keys required, a key gives feedback on its own requests only (another
            # key's request ids are neither confirmed nor scored).
            if not exists or (key_id is not None and owner != key_id):
                raise GatewayError(404, "request_not_found", f"no logged request {rid!r} to give feedback on")
            row["id"] = "fb" + self._next_id()
            row["created_ts"] = time.time()
            row["key_id"] = key_id
            writer = self._feedback
            assert writer is not None
            if not writer.put_nowait(row):
                await writer.put(row)
            body = orjson.dumps(
                {"object": "feedback", "id": row["id"], "request_id": rid, "score": row["score"]}
            )
            await _send(send, 200, body)
        except GatewayError as exc:
            body = error_body(exc.status, exc.code, exc.message)
            await _send(send, exc.status, body)

    # -- POST /v1/embeddings -------------------------------------------------------------------

    async def _embeddings(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        raw = await _read_body(receive)
        if raw is None:
            return
        rid = self._next_id()
        try:
            payload = loads_json(raw)
        except ValueError:
            payload = None
        alias = payload.get("model") if isinstance(payload, dict) else None
        receipt = Receipt(rid, alias if isinstance(alias, str) else "", False, self.spec.deadline_s)
        ctx = None
        endpoints: list[Endpoint] = []
        try:
            if not isinstance(payload, dict):
                raise GatewayError(400, "invalid_json", "the body must be a JSON object")
            endpoints = self._route(alias)
            if self._auth is not None:
                ctx = self._auth.admit(scope["headers"], receipt.alias, len(raw) // 4)
            endpoint, reply, body = await self._embed(endpoints, payload, receipt)
            usage = reply.get("usage")
            tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
            if isinstance(tokens, int):
                receipt.usage = Usage(input_tokens=tokens)
                receipt.cost_usd = endpoint.cost(receipt.usage, 0.0)
            served = reply.get("model")
            receipt.served_model = served if isinstance(served, str) else None
            receipt.status = 200
            self._finish(receipt, endpoints, started, None, ctx, None)
            await _send(send, 200, body, _receipt_headers(endpoint, receipt))
        except GatewayError as exc:
            receipt.status = exc.status
            receipt.error_kind = receipt.error_kind or exc.code
            self._finish(receipt, endpoints, started, None, ctx, None)
            await self._send_error(send, exc, receipt)

    async def _embed(
        self, endpoints: list[Endpoint], payload: dict[str, Any], receipt: Receipt
    ) -> tuple[Endpoint, dict[str, Any], bytes]:
        deadline = Deadline(self.spec.deadline_s)
        errors: list[ProviderError] = []
        retry_in: list[float] = []
        for endpoint in endpoints:
            embed = getattr(endpoint.provider, "embeddings", None)
            if embed is None:
                receipt.skipped(endpoint, "no_embeddings_api")
                continue
            admitted = _admit(
                endpoint, deadline, receipt, retry_in, self._budgets if receipt.decision else None
            )
            if admitted is None:
                continue
            budget, state = admitted
            started = time.perf_counter()
            try:
                async with asyncio.timeout(budget):
                    reply, body = await embed(payload)
            except TimeoutError:
                error = ProviderError(
                    f"model {endpoint.name!r}: no reply within {budget:g} s", kind="timeout"
                )
            except ProviderError as exc:
                error = exc
            except Exception as exc:
                error = ProviderError(f"model {endpoint.name!r}: {type(exc).__name__}", kind="server_error")
            else:
                endpoint.breaker.record_success()
                self._breaker_changed(endpoint, state)
                receipt.tried(endpoint, state, started)
                receipt.served = endpoint
                receipt.error_kind = None
                return endpoint, reply, body
            self._failed(endpoint, state, started, error, receipt)
            errors.append(error)
        if not errors and not retry_in:
            raise GatewayError(
                400, "no_embeddings", f"model {receipt.alias!r}: no candidate has an embeddings API"
            )
        raise no_candidate_left(receipt, errors, retry_in)

    # -- after a response ----------------------------------------------------------------------

    async def _send_error(self, send: Send, exc: GatewayError, receipt: Receipt) -> None:
        headers = [_JSON, (b"x-benchroute-receipt", receipt.id.encode()), _policy_header(receipt)]
        headers.append((b"x-benchroute-attempts", str(receipt.attempts).encode()))
        headers.extend((name.encode(), value.encode()) for name, value in exc.headers.items())
        body = error_body(exc.status, exc.code, self._secrets.redact(exc.message))
        headers.append(_length(body))
        await send({"type": "http.response.start", "status": exc.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _finish(
        self,
        receipt: Receipt,
        endpoints: list[Endpoint],
        started: float,
        ttft_ms: float | None,
        ctx: Any,
        payloads: Any,
    ) -> None:
        """Queue the log row, keep the receipt for lookups, feed metrics and the key's spend."""
        latency_ms = (time.perf_counter() - started) * 1000
        document = receipt.to_json(endpoints)
        document["latency_ms"] = round(latency_ms, 3)
        document["ttft_ms"] = None if ttft_ms is None else round(ttft_ms, 3)
        document["key_id"] = getattr(ctx, "key_id", None)
        recent = self._recent
        recent[receipt.id] = document
        if len(recent) > _RECENT_RECEIPTS:
            del recent[next(iter(recent))]
        served = receipt.served
        usage = receipt.usage
        row = {
            "id": receipt.id,
            "receipt_id": receipt.id,
            "created_ts": receipt.created_ts,
            "alias": receipt.alias,
            "endpoint_id": served.id if served is not None else None,
            "served_model": receipt.served_model,
            "model": served.name if served is not None else None,
            "key_id": getattr(ctx, "key_id", None),
            "attempts": receipt.attempts,
            "status": receipt.status,
            "error_kind": receipt.error_kind,
            "latency_ms": latency_ms,
            "ttft_ms": ttft_ms,
            "input_tokens": usage.input_tokens if usage is not None else None,
            "output_tokens": usage.output_tokens if usage is not None else None,
            "cached_tokens": usage.cached_input_tokens if usage is not None else None,
            "cost_usd": receipt.cost_usd,
            "stream": receipt.stream,
            "receipt": document,
        }
        decision = receipt.decision
        if decision is not None:
            row["task_class"] = decision.task_class
            row["policy_version"] = decision.policy_version
            row["arm"] = receipt.arm or decision.arm
            row["first_model"] = decision.shadow if receipt.arm == "shadow" else decision.route[0]
        if self._budgets is not None and served is not None:
            self._budgets.add(served.name, receipt.cost_usd)
        if payloads is not None:
            if isinstance(payloads, tuple):
                row["request_payload"] = _text(payloads[0])
                row["response_payload"] = _text(payloads[1])
            else:
                row["request_payload"] = _text(payloads)
        writer = self.writer
        if writer is not None and not writer.put_nowait(row):
            # The queue is full: the row waits for room in its own task (still never lost;
            # shutdown waits for these before it drains the queue).
            task = asyncio.ensure_future(writer.put(row))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        self.answered += 1
        metrics = self._metrics
        if metrics is not None:
            metrics.observe_request(
                receipt.alias,
                served.name if served is not None else None,
                receipt.status,
                latency_ms / 1000,
                None if ttft_ms is None else ttft_ms / 1000,
                usage.input_tokens if usage is not None else None,
                usage.output_tokens if usage is not None else None,
                receipt.cost_usd,
            )
        if ctx is not None and self._auth is not None:
            tokens = usage.total_tokens if usage is not None else 0
            self._auth.settle(ctx, tokens, receipt.cost_usd)
        tracer = self._tracer
        if tracer is not None:
            tracer.record(receipt, latency_ms, ttft_ms, getattr(receipt, "operation", "chat"))


_THUMBS: Final = {"up": 1, "down": -1, "+1": 1, "-1": -1}


def _feedback_row(payload: object) -> dict[str, Any]:
    """A feedback row from a ``POST /v1/feedback`` body; :class:`GatewayError` (400) naming
    the field otherwise."""
    if not isinstance(payload, dict):
        raise GatewayError(400, "invalid_json", "the body must be a JSON object")
    unknown = sorted(set(payload) - {"request_id", "score", "thumbs", "label"})
    if unknown:
        raise GatewayError(
            400, "invalid_request", f"{unknown[0]}: unknown field; fields: request_id, score, thumbs, label"
        )
    rid = payload.get("request_id")
    if not isinstance(rid, str) or not rid:
        raise GatewayError(
            400, "invalid_request", "request_id: required (the x-benchroute-receipt header of the reply)"
        )
    score = payload.get("score")
    thumbs = payload.get("thumbs")
    label = payload.get("label")
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
            raise GatewayError(400, "invalid_request", "score: a number from 0 (bad) to 1 (good)")
        score = float(score)
    if thumbs is not None:
        if isinstance(thumbs, str):
            thumbs = thumbs.lower()
        if isinstance(thumbs, bool):
            value: int | None = 1 if thumbs else -1
        elif isinstance(thumbs, int):
            value = thumbs if thumbs in (1, -1) else None
        else:
            value = _THUMBS.get(thumbs) if isinstance(thumbs, str) else None
        if value is None:
            raise GatewayError(400, "invalid_request", 'thumbs: "up" or "down"')
        thumbs = value
        if score is None:
            score = 1.0 if value > 0 else 0.0
    if label is not None and (not isinstance(label, str) or not 0 < len(label) <= 200):
        raise GatewayError(400, "invalid_request", "label: a string of 1 to 200 characters")
    if score is None and label is None:
        raise GatewayError(400, "invalid_request", "give a score (0..1), thumbs (up/down) or a label")
    return {"request_id": rid, "score": score, "thumbs": thumbs, "label": label, "source": "user"}


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _request(payload: dict[str, Any]) -> CompletionRequest:
    try:
        return CompletionRequest.from_openai(payload)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "(body)"
        raise GatewayError(400, "invalid_request", f"{where}: {first['msg']}") from None


def _receipt_headers(endpoint: Endpoint, receipt: Receipt) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-benchroute-model", endpoint.name.encode()),
        (b"x-benchroute-endpoint", endpoint.header_value),
        (b"x-benchroute-attempts", str(receipt.attempts).encode()),
        _policy_header(receipt),
        (b"x-benchroute-receipt", receipt.id.encode()),
    ]
    decision = receipt.decision
    if decision is not None:
        headers.append((b"x-benchroute-class", decision.task_class.encode()))
    return headers


def _policy_header(receipt: Receipt) -> tuple[bytes, bytes]:
    decision = receipt.decision
    if decision is None:
        return _POLICY
    return (b"x-benchroute-policy", f"v{decision.policy_version}".encode())


async def _send_held(send: Send, held: list[bytes]) -> None:
    body = held[0] if len(held) == 1 else b"".join(held)
    held.clear()
    await send({"type": "http.response.body", "body": body, "more_body": True})


def _length(body: bytes) -> tuple[bytes, bytes]:
    return (b"content-length", str(len(body)).encode())


async def _send(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [_JSON, _length(body)]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes | None:
    """The request body; None when the client left before sending all of it."""
    message = await receive()
    if message["type"] != "http.request":
        return None
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    parts = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        part = message.get("body", b"")
        size += len(part)
        if size > _MAX_BODY:
            return None
        parts.append(part)
        if not message.get("more_body", False):
            return b"".join(parts)


def _admit(
    endpoint: Endpoint,
    deadline: Deadline,
    receipt: Receipt,
    retry_in: list[float],
    budgets: EndpointBudgets | None = None,
) -> tuple[float, str] | None:
    """The attempt's time budget and its breaker's state before it — or None, recorded in
    the receipt as skipped, when the deadline is spent or the breaker is open; for a routed
    request (``budgets`` given) also when the endpoint is over its day's budget or its
    model's ``rpm`` / ``tpm`` (an alias request keeps the alias behaviour: no such skips)."""
    budget = min(endpoint.timeout_s, deadline.remaining())
    if budget <= 0:
        receipt.skipped(endpoint, "deadline")
        return None
    if budgets is not None:
        spent = budgets.over(endpoint.name)
        if spent is not None:
            receipt.skipped(endpoint, "over_budget", spent_usd=round(spent, 6))
            return None
    breaker = endpoint.breaker
    state = breaker.state
    if not breaker.allow():
        wait = breaker.retry_in()
        retry_in.append(wait if wait is not None else 1.0)
        receipt.skipped(endpoint, "breaker_open", breaker=state, retry_in_s=wait)
        return None
    limiter = endpoint.limiter
    if budgets is not None and limiter is not None:
        rate_wait = limiter.try_acquire(receipt.estimated_tokens)
        if rate_wait > 0.0:
            breaker.release()  # a half-open probe slot taken above goes back unused
            retry_in.append(rate_wait)
            receipt.skipped(endpoint, "over_rate", retry_in_s=round(rate_wait, 3))
            return None
    return budget, state


async def _close(chunks: AsyncIterator[StreamChunk]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # closing a broken upstream stream may raise; it is closed either way
            return


async def _one_chunk_stream(endpoint: Endpoint, request: CompletionRequest) -> AsyncIterator[StreamChunk]:
    """A provider without native streaming (the embedded local model) answered as a stream:
    the whole reply in one content chunk, then the finish and usage chunks."""
    completion = await endpoint.provider.complete(request)
    model = completion.served_model or endpoint.spec.model
    base = {
        "id": completion.id or f"chatcmpl-{os.urandom(8).hex()}",
        "object": "chat.completion.chunk",
        "created": completion.created if completion.created is not None else int(time.time()),
        "model": model,
    }
    delta: dict[str, Any] = {"role": "assistant", "content": completion.text}
    if completion.tool_calls:
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(completion.tool_calls)]
        if not completion.text:
            delta["content"] = None
    yield StreamChunk(
        data={**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}, content=True
    )
    finish = completion.finish_reason or "stop"
    yield StreamChunk(
        data={**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
        content=False,
        finish_reason=finish,
    )
    yield StreamChunk(
        data={**base, "choices": [], "usage": completion.usage.openai()},
        content=False,
        usage=completion.usage,
    )


def _batch_writer(log: RequestLog) -> Callable[[list[Any]], object]:
    def write(rows: list[Any]) -> object:
        for row in rows:
            if not isinstance(row["receipt"], str):
                row["receipt"] = orjson.dumps(row["receipt"]).decode()
        return log.add_requests(rows)

    return write
