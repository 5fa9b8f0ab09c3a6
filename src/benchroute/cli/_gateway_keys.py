"""``benchroute gateway keys create|list|revoke``: the gateway's API keys (docs/gateway.md).

Keys live in the project's store (``--db`` overrides), as the gateway reads them; a running
gateway sees a new or revoked key within ``gateway.keys_refresh_s``. ``create`` prints the
secret once, on stdout alone (so ``KEY=$(benchroute gateway keys create ci)`` works); nothing
shows it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from .._errors import BenchrouteError
from ._app import ConfigOption, DbOption, WideOption, _open, console, err_console, fail
from ._gateway import gateway_app


@contextmanager
def _opened(config: Any, db: Any) -> Iterator[tuple[Any, Any]]:
    """The project and its store, the store closed after the block; a problem opening it or
    inside the block is one error line."""
    try:
        project, store = _open(config, db)
    except BenchrouteError as exc:
        fail(exc)
        raise
    try:
        yield project, store
    except BenchrouteError as exc:
        fail(exc)
    finally:
        store.close()


keys_app = typer.Typer(
    help="Gateway API keys: create (the secret is shown once), list, revoke.", no_args_is_help=True
)
gateway_app.add_typer(keys_app, name="keys")


def _key_functions() -> Any:
    """The gateway package (it needs the gateway extra: orjson)."""
    try:
        from .. import gateway
    except ImportError as exc:
        fail(
            BenchrouteError(
                f"gateway keys need {exc.name or 'the gateway extra'}, which is not installed",
                hint="pip install 'benchroute[gateway]'",
            )
        )
    return gateway


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="A name for the key (who or what uses it).")],
    rpm: Annotated[
        int | None, typer.Option("--rpm", min=1, help="Requests per minute (default: no limit).")
    ] = None,
    tpm: Annotated[
        int | None, typer.Option("--tpm", min=1, help="Tokens per minute (default: no limit).")
    ] = None,
    budget_usd: Annotated[
        float | None,
        typer.Option("--budget-usd", min=0, help="Dollars the key may spend (default: no limit)."),
    ] = None,
    alias: Annotated[
        list[str] | None,
        typer.Option("--alias", help="An alias the key may use (repeat it; default: every alias)."),
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Create a key and print its secret (once: only its hash is stored)."""
    gateway = _key_functions()
    with _opened(config, db) as (project, store):
        served = project.gateway.candidates(list(project.models))
        for name_ in alias or []:
            if served and name_ not in served:
                raise BenchrouteError(
                    f"--alias: {name_!r} is not an alias this project serves",
                    hint=f"aliases: {', '.join(served)}",
                )
        key, secret = gateway.create_key(
            store, name, rpm=rpm, tpm=tpm, budget_usd=budget_usd, aliases=alias or None
        )
    typer.echo(secret)
    err_console.print(
        f"created key {key.id} ({escape(key.name)}); the secret above is shown only now: "
        "give it to the client as its API key",
        highlight=False,
    )


def _when(ts: float | None) -> str:
    if ts is None:
        return "—"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")


def _money(value: float | None) -> str:
    if value is None:
        return "—"
    return f"${value:.6f}" if 0 < value < 0.01 else f"${value:.4f}"


@keys_app.command("list")
def keys_list(
    revoked: Annotated[bool, typer.Option("--revoked/--no-revoked", help="Show revoked keys too.")] = True,
    wide: WideOption = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """The keys: id, name, prefix, limits, spend (never a secret)."""
    gateway = _key_functions()
    with _opened(config, db) as (_, store):
        keys = gateway.list_keys(store, include_revoked=revoked)
    if not keys:
        console.print(
            "no gateway keys (with gateway.auth: auto the gateway is open); "
            "create one with `benchroute gateway keys create NAME`",
            highlight=False,
        )
        return
    table = Table(title="Gateway keys", title_justify="left")
    for column in ("id", "name", "prefix", "created", "limits", "budget", "spent", "aliases"):
        table.add_column(column)
    for key in keys:
        limits = " · ".join(
            part
            for part in (
                f"{key.rpm} rpm" if key.rpm is not None else "",
                f"{key.tpm} tpm" if key.tpm is not None else "",
            )
            if part
        )
        table.add_row(
            key.id,
            escape(key.name) + (" [dim](revoked)[/]" if key.revoked else ""),
            key.prefix + "…",
            _when(key.created_ts),
            limits or "—",
            _money(key.budget_usd),
            _money(key.spent_usd),
            "all" if key.allowed_aliases is None else escape(", ".join(key.allowed_aliases)),
        )
    from ..reports import print_fitted

    print_fitted(console, table, ("created", "prefix", "aliases"), wide=wide, keep={"id", "name"})


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key's id (key_...) or name.")],
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Revoke a key: a running gateway refuses it within gateway.keys_refresh_s."""
    gateway = _key_functions()
    with _opened(config, db) as (_, store):
        found = gateway.revoke_key(store, key)
    if not found:
        fail(
            BenchrouteError(f"no unrevoked key with id or name {key!r}", hint="benchroute gateway keys list")
        )
        return
    console.print(f"revoked {escape(key)}", highlight=False)
