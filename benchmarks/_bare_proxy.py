"""The floor of a Python gateway on benchroute's stack, for the overhead benchmark's ``bare``
row: the same server (uvicorn with uvloop and httptools, no access log) and the same client
(one shared aiohttp session), with nothing in between — no parsing, no validation, no
failover, no receipt, no log, no metrics. It forwards the request body to the upstream and
the reply's bytes back (a stream chunk by chunk as they arrive).

What benchroute adds over this row is the cost of its own work; what this row adds over
``direct`` is the cost of one more process and two more loopback hops on this machine.

    python benchmarks/_bare_proxy.py --upstream http://127.0.0.1:PORT --port 0
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Any

import aiohttp
import uvicorn


class BareProxy:
    def __init__(self, upstream: str, key: str) -> None:
        self.target = upstream.rstrip("/") + "/v1/chat/completions"
        self.headers = {"content-type": "application/json", "authorization": f"Bearer {key}"}
        self.session: aiohttp.ClientSession | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    connector = aiohttp.TCPConnector(limit=1000)
                    self.session = aiohttp.ClientSession(connector=connector)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.session is not None:
                        await self.session.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":  # the readiness probe
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        parts = []
        while True:
            message = await receive()
            parts.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        assert self.session is not None
        async with self.session.post(self.target, data=b"".join(parts), headers=self.headers) as reply:
            kind = reply.headers.get("content-type", "application/json").encode()
            if kind.startswith(b"text/event-stream"):
                start = {"type": "http.response.start", "status": reply.status}
                await send({**start, "headers": [(b"content-type", kind)]})
                async for chunk in reply.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
                return
            body = await reply.read()
        headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def from_environment() -> BareProxy:
    """The app for another ASGI server (``granian --factory _bare_proxy:from_environment``):
    upstream and key from ``BARE_UPSTREAM`` and ``BARE_KEY``."""
    import os

    return BareProxy(os.environ["BARE_UPSTREAM"], os.environ.get("BARE_KEY", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--key", default="")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    config = uvicorn.Config(
        BareProxy(args.upstream, args.key),
        loop="uvloop",
        http="httptools",
        ws="none",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        date_header=False,
        backlog=4096,
    )
    print(f"bare proxy: serving on http://127.0.0.1:{sock.getsockname()[1]}", file=sys.stderr, flush=True)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
