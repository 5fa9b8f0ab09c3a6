"""The load path (``providers._loadpath``): its own HTTP/1.1 client against real servers.

Most tests talk to the FakeServer; the few framings and connection behaviours the FakeServer
never produces (a chunked non-streamed reply, a reply ended by closing the connection, a
keep-alive connection the server drops under a reused request) come from a tiny raw asyncio
server below.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from benchroute.config import ModelSpec
from benchroute.providers import (
    CompletionRequest,
    Message,
    ProviderContext,
    ProviderError,
    Secrets,
    create_provider,
)
from benchroute.providers._loadpath import ChatCompletionsSender, LoadSender, prepare_load_sender
from benchroute.testing import FakeServer, Reply

pytestmark = pytest.mark.timeout(60)

KEY = "sk-load-secret-1234567890"


def _sender(base_url: str, stream: bool = False, key: str | None = None, **fields: Any) -> LoadSender:
    spec = ModelSpec(
        name="m",
        provider="openai",
        base_url=base_url,
        model="m",
        stream=stream,
        api_key_env="LOAD_KEY" if key is not None else None,
        **fields,
    )
    context = ProviderContext(secrets=Secrets({"LOAD_KEY": key} if key is not None else {}))
    request = CompletionRequest(messages=[Message(role="user", content="one two three four")])
    return prepare_load_sender(create_provider(spec, context), [request])


def _run(body: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(body())  # type: ignore[arg-type]


async def _error(sender: LoadSender, index: int = 0) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        await sender.send(index)
    return info.value


def test_posts_the_prepared_body_on_one_keep_alive_connection(fake: FakeServer) -> None:
    sender = _sender(fake.base_url, key=KEY)
    assert isinstance(sender, ChatCompletionsSender)

    async def go() -> list[float | None]:
        try:
            return [await sender.send(i) for i in range(5)]
        finally:
            sender.close()

    assert _run(go) == [None] * 5
    assert len(fake.requests) == 5
    first = fake.requests[0]
    assert first.path == "/v1/chat/completions" and first.authorization and first.status == 200
    assert first.body == {"model": "m", "messages": [{"role": "user", "content": "one two three four"}]}
    assert all(r.body == first.body for r in fake.requests)


def test_reuses_connections_and_opens_one_per_concurrent_request(fake: FakeServer) -> None:
    sender = _sender(fake.base_url)
    assert isinstance(sender, ChatCompletionsSender)

    async def go() -> int:
        try:
            for _ in range(3):
                await asyncio.gather(*(sender.send(i) for i in range(4)))
            return len(sender._open)
        finally:
            sender.close()

    assert _run(go) == 4
    assert len(fake.requests) == 12


def test_a_connection_cap_makes_requests_wait_and_reuse_connections(fake: FakeServer) -> None:
    fake.script("m", [Reply(text="ok", delay=0.05) for _ in range(24)])
    spec = ModelSpec(name="m", provider="openai", base_url=fake.base_url, model="m")
    request = CompletionRequest(messages=[Message(role="user", content="hi")])
    sender = prepare_load_sender(create_provider(spec, ProviderContext()), [request], max_connections=3)
    assert isinstance(sender, ChatCompletionsSender)
    most_open = 0

    async def watch() -> None:
        nonlocal most_open
        while True:
            most_open = max(most_open, len(sender._open))
            await asyncio.sleep(0.005)

    async def go() -> float:
        watcher = asyncio.create_task(watch())
        started = asyncio.get_running_loop().time()
        try:
            await asyncio.gather(*(sender.send(i) for i in range(24)))
            return asyncio.get_running_loop().time() - started
        finally:
            watcher.cancel()
            sender.close()

    took = _run(go)
    assert most_open == 3  # never more than the cap
    assert len(fake.requests) == 24
    assert took >= 24 / 3 * 0.05 * 0.9  # 8 rounds of 50 ms: the others waited their turn


def test_a_request_cancelled_while_waiting_for_a_connection_frees_nothing_it_did_not_take(
    fake: FakeServer,
) -> None:
    fake.script("m", [Reply(text="ok", delay=0.1) for _ in range(4)])
    spec = ModelSpec(name="m", provider="openai", base_url=fake.base_url, model="m")
    request = CompletionRequest(messages=[Message(role="user", content="hi")])
    sender = prepare_load_sender(create_provider(spec, ProviderContext()), [request], max_connections=1)

    async def go() -> int:
        try:
            first = asyncio.create_task(sender.send(0))
            await asyncio.sleep(0.02)
            waiting = asyncio.create_task(sender.send(1))
            await asyncio.sleep(0.02)
            waiting.cancel()  # gives up while queued for the only connection
            await first
            await sender.send(2)  # the connection is handed on, not lost
            return len(sender._open)
        finally:
            sender.close()

    assert _run(go) == 1
    assert len(fake.requests) == 2


def test_streamed_reply_gives_the_time_to_first_token(fake: FakeServer) -> None:
    fake.script("m", ["one two three four five six"])
    sender = _sender(fake.base_url, stream=True)

    async def go() -> float | None:
        try:
            return await sender.send(0)
        finally:
            sender.close()

    ttft = _run(go)
    assert isinstance(ttft, float) and ttft > 0
    body = fake.requests[0].body
    assert body is not None and body["stream"] is True


def test_rate_limit_carries_retry_after_and_the_connection_stays_usable(fake: FakeServer) -> None:
    fake.fault("rate_limit", count=1, retry_after=2)
    sender = _sender(fake.base_url)

    async def go() -> tuple[ProviderError, float | None]:
        try:
            error = await _error(sender)
            return error, await sender.send(1)
        finally:
            sender.close()

    error, after = _run(go)
    assert error.kind == "rate_limited" and error.retry_after == 2 and error.status == 429
    assert after is None
    assert [r.status for r in fake.requests] == [429, 200]


@pytest.mark.parametrize(
    ("fault", "stream", "kind"),
    [
        ("server_error", False, "server_error"),
        ("server_error", True, "server_error"),
        ("malformed", True, "malformed_reply"),
        ("garbage", False, "malformed_reply"),
        ("cut_stream", False, "server_error"),
        ("cut_stream", True, "server_error"),
    ],
)
def test_errors_are_classified_like_an_eval(fake: FakeServer, fault: str, stream: bool, kind: str) -> None:
    fake.fault(fault, count=1)
    sender = _sender(fake.base_url, stream=stream)

    async def go() -> tuple[ProviderError, float | None]:
        try:
            error = await _error(sender)
            return error, await sender.send(1)  # the next request is fine again
        finally:
            sender.close()

    error, _ = _run(go)
    assert error.kind == kind, str(error)
    assert len(fake.requests) == 2 and fake.requests[1].status == 200


@pytest.mark.parametrize(
    "body",
    [
        '{"id": "x", "choices": [{"index": 0, "message": {"content": "hi"}}',  # JSON cut off
        '{"id": "x", "choices": []}',  # no choice
        '{"id": "x", "choices": "hi"}',
    ],
)
def test_a_200_that_is_not_a_whole_chat_completion_is_malformed(fake: FakeServer, body: str) -> None:
    fake.script("m", [Reply(body=body), "fine"])
    sender = _sender(fake.base_url)

    async def go() -> tuple[ProviderError, float | None]:
        try:
            return await _error(sender), await sender.send(1)
        finally:
            sender.close()

    error, after = _run(go)
    assert error.kind == "malformed_reply", str(error)
    assert after is None and len(fake.requests) == 2


def test_a_stream_without_done_is_a_cut_reply(fake: FakeServer) -> None:
    fake.script("m", [Reply(body='data: {"choices": []}\n\n')])
    sender = _sender(fake.base_url, stream=True)

    async def go() -> ProviderError:
        try:
            return await _error(sender)
        finally:
            sender.close()

    error = _run(go)
    assert error.kind == "server_error" and "[DONE]" in str(error)


def test_a_wrong_key_is_an_auth_error_that_never_shows_the_key() -> None:
    with FakeServer(api_key="the-right-key") as guarded:
        sender = _sender(guarded.base_url, key=KEY)

        async def go() -> ProviderError:
            try:
                return await _error(sender)
            finally:
                sender.close()

        error = _run(go)
    assert error.kind == "auth"
    assert KEY not in str(error) and KEY not in repr(error) and KEY not in repr(sender)


def test_nothing_listening_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = _sender(f"http://127.0.0.1:{port}/v1")

    async def go() -> ProviderError:
        return await _error(sender)

    error = _run(go)
    assert error.kind == "connection" and "cannot connect" in str(error)


def test_a_request_cut_off_by_the_caller_closes_its_connection(fake: FakeServer) -> None:
    fake.fault("hang", count=1, hang_seconds=5)
    sender = _sender(fake.base_url)
    assert isinstance(sender, ChatCompletionsSender)

    async def go() -> tuple[int, float | None]:
        try:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(sender.send(0), 0.3)
            left = len(sender._open)
            return left, await sender.send(1)
        finally:
            sender.close()

    left, after = _run(go)
    assert left == 0 and after is None


# -- a raw server for framings the FakeServer does not produce ------------------------------

CHAT_OK = b'{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"content":"hi"}}]}'


async def _read_request(reader: asyncio.StreamReader) -> bool:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    await reader.readexactly(length)
    return True


@asynccontextmanager
async def _raw_server(
    answer: Callable[[int, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]],
) -> AsyncIterator[str]:
    """Serve connections with ``answer(request number on this connection, reader, writer)``
    until it returns False; yields the base URL."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = 0
        try:
            while await _read_request(reader):
                if not await answer(number, reader, writer):
                    break
                number += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.close()


def test_chunked_and_until_close_replies_are_read() -> None:
    async def chunked(number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        half = len(CHAT_OK) // 2
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        for part in (CHAT_OK[:half], CHAT_OK[half:]):
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    async def until_close(number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + CHAT_OK
        )
        await writer.drain()
        return False

    async def go() -> list[float | None]:
        results: list[float | None] = []
        for answer in (chunked, until_close):
            async with _raw_server(answer) as url:
                sender = _sender(url)
                try:
                    results += [await sender.send(0), await sender.send(1)]
                finally:
                    assert isinstance(sender, ChatCompletionsSender)
                    sender.close()
        return results

    assert _run(go) == [None] * 4


def test_a_reused_connection_the_server_dropped_is_retried_once_on_a_new_one() -> None:
    answered: list[int] = []

    async def once_per_connection(
        number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        if number > 0:  # read the request, then close without a byte of reply
            return False
        answered.append(number)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(CHAT_OK), CHAT_OK))
        await writer.drain()
        return True

    async def go() -> list[float | None]:
        async with _raw_server(once_per_connection) as url:
            sender = _sender(url)
            try:
                return [await sender.send(i) for i in range(3)]
            finally:
                assert isinstance(sender, ChatCompletionsSender)
                sender.close()

    assert _run(go) == [None] * 3
    assert len(answered) == 3


def test_a_fresh_connection_dropped_before_the_reply_is_an_error() -> None:
    async def never(number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        return False

    async def go() -> ProviderError:
        async with _raw_server(never) as url:
            sender = _sender(url)
            try:
                return await _error(sender)
            finally:
                assert isinstance(sender, ChatCompletionsSender)
                sender.close()

    error = _run(go)
    assert error.kind == "server_error" and "dropped" in str(error)
