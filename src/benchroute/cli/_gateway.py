"""``benchroute gateway serve``: the OpenAI-compatible gateway (see docs/gateway.md).

The ``gateway`` group is shared: ``gateway keys ...`` (gateway API keys) registers itself on
``gateway_app`` from ``_gateway_keys`` when that module is present.
"""

from __future__ import annotations

import importlib.util
from typing import Annotated

import typer

from .._errors import BenchrouteError
from ._app import ConfigOption, DbOption, app, err_console, fail, load_project_checked

gateway_app = typer.Typer(
    help="The OpenAI-compatible gateway: aliases, failover, receipts, request log.",
    no_args_is_help=True,
)
app.add_typer(gateway_app, name="gateway")


@gateway_app.command("serve")
def gateway_serve(
    config: ConfigOption = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (default: gateway.listen.host).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port", min=0, max=65535, help="Port (default: gateway.listen.port; 0: any free port)."
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Worker processes (default: 1).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Serve the project's models behind one OpenAI-compatible endpoint until SIGTERM."""
    try:
        import orjson  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        fail(
            BenchrouteError(
                f"the gateway needs {exc.name or 'its server'}, which is not installed",
                hint="pip install 'benchroute[gateway]'",
            )
        )
        return
    from ..config import find_project_file
    from ..gateway import serve

    try:
        project = load_project_checked(config)
    except BenchrouteError as exc:
        fail(exc)
        return
    if not project.models:
        fail(
            BenchrouteError(
                "no models to serve: benchroute.yaml defines none", hint="add models: (see docs/gateway.md)"
            )
        )
        return
    path = config or find_project_file()
    store_url = None
    if db is not None:
        store_url = db if "://" in db else f"sqlite:///{db}"
    try:
        serve(project, host=host, port=port, workers=workers, store_url=store_url, config_path=path)
    except OSError as exc:
        listen = project.gateway.listen
        where = f"{host or listen.host}:{listen.port if port is None else port}"
        fail(
            BenchrouteError(f"cannot listen on {where}: {exc.strerror or exc}", hint="choose another --port")
        )
    except BenchrouteError as exc:
        fail(exc)
    err_console.print("benchroute gateway: stopped", highlight=False)


# `gateway keys ...` lives in its own module (gateway API keys); it registers on gateway_app.
if importlib.util.find_spec(f"{__package__}._gateway_keys") is not None:
    importlib.import_module(f"{__package__}._gateway_keys")
