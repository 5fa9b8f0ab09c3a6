"""A local webhook receiver (aiohttp on port 0) for alert tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web


class Receiver:
    """Answers each POST with the next status of ``statuses`` (then 200) and keeps the bodies."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.bodies: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(json.loads(await request.read()))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="ok" if status < 300 else "nope")


@asynccontextmanager
async def receiving(*receivers: Receiver) -> AsyncIterator[list[str]]:
    """Serve each receiver at its own secret-bearing URL; yields the URLs."""
    app = web.Application()
    for index, receiver in enumerate(receivers):
        app.router.add_post(f"/hook/{index}/T0SECRET", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield [f"http://127.0.0.1:{port}/hook/{index}/T0SECRET" for index in range(len(receivers))]
    finally:
        await runner.cleanup()
