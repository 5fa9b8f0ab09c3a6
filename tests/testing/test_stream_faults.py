"""The fake server's faults a gateway's failover is tested with: a dropped connection, a
refused one, and a stall inside a stream."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from benchroute.testing import FakeServer

BODY = {"model": "m", "messages": [{"role": "user", "content": "one two three four"}], "stream": True}


async def _post(fake: FakeServer) -> Any:
    async with aiohttp.ClientSession() as session:
        try:
            async with session.post(fake.base_url + "/chat/completions", json=BODY) as response:
                lines = [line async for line in response.content if line.startswith(b"data:")]
                return response.status, len(lines)
        except aiohttp.ClientError as exc:
            return type(exc)


def test_drop_closes_without_a_reply(fake: FakeServer) -> None:
    fake.fault("drop", count=1)
    assert asyncio.run(_post(fake)) is aiohttp.ServerDisconnectedError
    assert [r.status for r in fake.requests] == [0]
    assert asyncio.run(_post(fake))[0] == 200


def test_refused_connections_then_accepted_again(fake: FakeServer) -> None:
    url = fake.url
    fake.refuse_connections()
    assert asyncio.run(_post(fake)) is aiohttp.ClientConnectorError
    fake.accept_connections()
    assert fake.url == url and asyncio.run(_post(fake))[0] == 200


def test_hang_inside_a_stream(fake: FakeServer) -> None:
    fake.fault("hang", count=1, after_chunks=1, hang_seconds=0.3)
    started = time.perf_counter()
    status, frames = asyncio.run(_post(fake))
    assert status == 200 and frames >= 4 and time.perf_counter() - started >= 0.3


def test_after_chunks_applies_to_stream_faults_only(fake: FakeServer) -> None:
    with pytest.raises(ValueError, match="after_chunks"):
        fake.fault("server_error", after_chunks=1)
