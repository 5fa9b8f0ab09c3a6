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
    def on_message_begin(self) -> None:
        super().on_message_begin()
        scope: dict[str, Any] = self.scope  # type: ignore[assignment]
        scope["extensions"] = {DISCONNECT_EXTENSION: []}

    def connection_lost(self, exc: Exception | None) -> None:
        cycle = self.cycle
        super().connection_lost(exc)
        if cycle is not None and not cycle.response_complete:
            scope: dict[str, Any] = cycle.scope  # type: ignore[assignment]
            for callback in scope.get("extensions", {}).get(DISCONNECT_EXTENSION, ()):
                callback()
