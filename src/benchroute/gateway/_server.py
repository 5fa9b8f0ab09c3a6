"""Running the gateway: uvicorn with uvloop and httptools (both in the core dependencies).

One worker binds its socket itself (so ``--port 0`` works and the line
``benchroute gateway: serving on http://HOST:PORT`` names the real port once it accepts
connections). Several workers are uvicorn's own process manager: each worker loads the
project again from the file named in the environment and keeps its own breakers and log
writer (they share the store).

SIGTERM (or Ctrl-C) is a graceful stop: the listening socket closes, requests in flight are
answered, then the request log is drained before the process exits — every answered request
is in the log.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._app import Gateway

if TYPE_CHECKING:
    from ..config import ProjectConfig

CONFIG_ENV = "BENCHROUTE_GATEWAY_CONFIG"
STORE_ENV = "BENCHROUTE_GATEWAY_STORE"


def _uvicorn_config(app: Any, project: ProjectConfig, **extra: Any) -> Any:
    import uvicorn

    from ._protocol import GatewayHttpToolsProtocol

    return uvicorn.Config(
        app,
        loop="uvloop",
        http=GatewayHttpToolsProtocol,
        ws="none",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        proxy_headers=False,
        date_header=False,
        backlog=4096,
        # A stream that never ends must not hold a shutdown forever; past the request deadline
        # nothing in flight is still being answered.
        timeout_graceful_shutdown=int(project.gateway.deadline_s) + 5,
        timeout_keep_alive=30,
        **extra,
    )


def serve(
    project: ProjectConfig,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    store_url: str | None = None,
    config_path: Path | None = None,
) -> None:
    """Serve ``project``'s gateway until SIGTERM/SIGINT (blocking)."""
    import uvicorn

    listen = project.gateway.listen
    host = listen.host if host is None else host
    port = listen.port if port is None else port
    workers = listen.workers if workers is None else workers
    if workers > 1:
        if config_path is not None:
            os.environ[CONFIG_ENV] = str(config_path.resolve())
        if store_url is not None:
            os.environ[STORE_ENV] = store_url
        config = _uvicorn_config(
            "benchroute.gateway._server:app_from_environment",
            project,
            factory=True,
            host=host,
            port=port,
            workers=workers,
        )
        _announce(host, port, f"{workers} workers")
        uvicorn.Server(config).run()
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    bound = sock.getsockname()[1]
    listening: str = host
    app = Gateway(project, store_url=store_url)
    config = _uvicorn_config(app, project)

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if not self.should_exit:
                aliases = ", ".join(app.project.gateway.candidates(list(app.project.models))) or "none"
                _announce(listening, bound, f"aliases: {aliases}")

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            await super().shutdown(sockets)
            # A graceful stop is a normal end: exit 0 instead of uvicorn re-raising SIGTERM.
            self._captured_signals.clear()

    _Server(config).run(sockets=[sock])


def _announce(host: str, port: int, detail: str) -> None:
    shown = f"[{host}]" if ":" in host else host
    print(f"benchroute gateway: serving on http://{shown}:{port} ({detail})", file=sys.stderr, flush=True)


def app_from_environment() -> Gateway:
    """The app of one worker process (``--workers N``): the project named by the
    environment, loaded again in this process."""
    from ..config import load_project

    path = os.environ.get(CONFIG_ENV)
    project = load_project(Path(path) if path else None)
    return Gateway(project, store_url=os.environ.get(STORE_ENV) or None)
