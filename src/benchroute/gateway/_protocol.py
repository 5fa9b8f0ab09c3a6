"""The gateway's HTTP protocol: uvicorn's httptools protocol, each request's scope carrying
the ``benchroute.disconnect`` extension — a list of callbacks called when the client's
connection is lost before the response is complete. The gateway cancels the upstream call
from there instead of keeping a watcher task per request (see ``_app``).

A module of its own, importing uvicorn: the class must be importable by name for
``--workers N`` (uvicorn hands its config to each worker process).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ._app import DISCONNECT_EXTENSION

__all__ = ["GatewayHttpToolsProtocol"]


class GatewayHttpToolsProtocol(HttpToolsProtocol):
    # The cycle whose app runs: with pipelined requests uvicorn's ``self.cycle`` is the
    # newest request parsed, which may still wait its turn.
    running: Any = None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        scope: dict[str, Any] = self.scope  # type: ignore[assignment]
        scope["extensions"] = {DISCONNECT_EXTENSION: []}

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        self.running = cycle
        super()._start_asgi_task(cycle, app)

    def connection_lost(self, exc: Exception | None) -> None:
        cycles = [c for c in dict.fromkeys((self.running, self.cycle)) if c is not None]
        super().connection_lost(exc)
        self.running = None
        for cycle in cycles:
            if cycle.response_complete:
                continue
            scope: dict[str, Any] = cycle.scope
            for callback in scope.get("extensions", {}).get(DISCONNECT_EXTENSION, ()):
                callback()
